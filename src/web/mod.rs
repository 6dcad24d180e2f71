//! `duro serve` (SPEC §13): the web UI and its JSON API over the state database. Routes are listed
//! in [`router`]; pages are static shells whose scripts render everything with `textContent`, so
//! nothing from a table name, query or error is ever interpreted as HTML.

mod api;
mod cache;
mod pages;
mod security;

use crate::config::Config;
use crate::state::{StateError, Store};
use axum::Router;
use axum::routing::{get, post};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Shared state of the server: one state-database connection and the response cache.
pub struct AppState {
    store: Mutex<Store>,
    cache: cache::Cache,
    metrics: cache::Revalidating,
    security: security::Security,
    default_schema: String,
    /// The creator's poll period: the unit of a failing table's retry wait.
    poll: std::time::Duration,
}

impl AppState {
    pub fn new(config: &Config, store: Store) -> AppState {
        AppState {
            store: Mutex::new(store),
            cache: cache::Cache::default(),
            metrics: cache::Revalidating::default(),
            security: security::Security::new(config.web.token.expose()),
            default_schema: config.scheduler.default_schema.clone(),
            poll: std::time::Duration::from_secs(config.creator.poll_seconds),
        }
    }

    /// Runs `f` on the state database.
    fn with_store<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut store)
    }
}

/// Every route of the UI and the API.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(pages::jobs))
        .route("/tables", get(pages::tables))
        .route("/tables/", get(pages::tables))
        .route("/tables/{name}", get(pages::table))
        .route("/graph", get(pages::graph))
        .route("/{from}/", get(pages::jobs_from))
        .route("/{from}/{to}", get(pages::jobs_between))
        .route("/{from}/{to}/", get(pages::jobs_between))
        .route("/assets/{file}", get(pages::asset))
        .route("/api/jobs", get(api::jobs))
        .route("/api/tables", get(api::tables))
        .route("/api/tables/", get(api::tables))
        .route("/api/tables/{name}", get(api::table))
        .route("/api/tables/{name}/force", post(api::force))
        .route("/api/stats", get(api::stats))
        .route("/api/graph", get(api::graph))
        .route("/api/events", get(api::events))
        .route("/api/version", get(api::version))
        .route("/api/schedule", get(api::schedule))
        .route("/api/login", post(security::login))
        .route("/metrics", get(api::metrics))
        .route("/healthz", get(api::healthz))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn(security::headers))
        .with_state(state)
}

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "refusing to listen on {0} without a token: anyone on the network could force rebuilds. Set web.token (or DURO_WEB_TOKEN), or bind 127.0.0.1"
    )]
    NoToken(SocketAddr),
    #[error("web.bind {0:?} is not an address like 127.0.0.1:8080")]
    BadAddress(String),
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
}

/// Checks the bind address against the token rule of SPEC §13.
pub fn bind_address(config: &Config, bind: Option<&str>) -> Result<SocketAddr, ServeError> {
    let text = bind.unwrap_or(&config.web.bind);
    let addr: SocketAddr = text
        .parse()
        .map_err(|_| ServeError::BadAddress(text.to_string()))?;
    if !addr.ip().is_loopback() && config.web.token.is_empty() {
        return Err(ServeError::NoToken(addr));
    }
    Ok(addr)
}

/// Binds and serves until `shutdown` resolves. Calls `ready` with the bound address.
pub async fn serve(
    config: &Config,
    store: Store,
    addr: SocketAddr,
    ready: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| ServeError::Listen(addr, e))?;
    let local = listener
        .local_addr()
        .map_err(|e| ServeError::Listen(addr, e))?;
    ready(local);
    let app = router(Arc::new(AppState::new(config, store)));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| ServeError::Listen(local, e))
}
