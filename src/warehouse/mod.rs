//! Warehouses: connecting to PostgreSQL and Redshift (TLS via rustls) or the embedded DuckDB,
//! running statements, and describing their errors so a user sees what failed and whether
//! retrying can help.

#[cfg(feature = "duckdb")]
pub mod duck;
pub mod sql;
pub mod truthy;

use crate::config::{Secret, WarehouseKind};
use sql::Dialect;
use std::sync::Arc;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, SimpleQueryMessage};

/// A warehouse error, already phrased for the user.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct WarehouseError {
    pub message: String,
    /// Retrying may succeed: serialization failure, deadlock, lock timeout, lost connection.
    pub transient: bool,
    /// The connection itself failed (to connect or mid-run).
    pub connection: bool,
    /// Where in the text sent the error is, as PostgreSQL reports it (`position`: 1-based
    /// characters); the creator maps it back to the query file's line and column.
    pub position: Option<usize>,
}

impl WarehouseError {
    pub fn new(message: impl Into<String>) -> WarehouseError {
        WarehouseError {
            message: message.into(),
            transient: false,
            connection: false,
            position: None,
        }
    }

    /// Describes a driver error, with the statement's first line for context.
    pub fn from_pg(error: &tokio_postgres::Error, statement: Option<&str>) -> WarehouseError {
        let Some(db) = error.as_db_error() else {
            // No server error: the connection failed or was lost.
            return WarehouseError {
                message: format!("warehouse connection error: {error}"),
                transient: true,
                connection: true,
                position: None,
            };
        };
        let code = db.code();
        let transient = [
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::LOCK_NOT_AVAILABLE,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
        ]
        .contains(code)
            || db.message().contains("Serializable isolation violation")
            || db.message().contains("1023");
        let mut message = format!("{} ({})", db.message(), code.code());
        if let Some(detail) = db.detail() {
            message.push_str(&format!("\ndetail: {detail}"));
        }
        if let Some(hint) = db.hint() {
            message.push_str(&format!("\nhint: {hint}"));
        }
        if let (Some(statement), Some(tokio_postgres::error::ErrorPosition::Original(position))) =
            (statement, db.position())
        {
            let upto = statement
                .char_indices()
                .nth(*position as usize - 1)
                .map(|(i, _)| i)
                .unwrap_or(statement.len());
            let line = statement[..upto].matches('\n').count() + 1;
            let text = statement.lines().nth(line - 1).unwrap_or_default().trim();
            message.push_str(&format!("\nat line {line} of the statement: {text}"));
        }
        WarehouseError {
            message,
            transient,
            connection: false,
            position: match db.position() {
                Some(tokio_postgres::error::ErrorPosition::Original(p)) => Some(*p as usize),
                _ => None,
            },
        }
    }
}

/// Rows of text values (NULL as `None`).
pub type Rows = Vec<Vec<Option<String>>>;

/// One open connection.
pub struct Connection {
    pub dialect: Dialect,
    backend: Backend,
}

enum Backend {
    Pg(Box<PgConnection>),
    #[cfg(feature = "duckdb")]
    Duck(duck::DuckConnection),
}

/// A connection to PostgreSQL or Redshift.
pub struct PgConnection {
    pub client: Client,
    cancel: tokio_postgres::CancelToken,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    task: tokio::task::JoinHandle<()>,
    /// Statements prepared on this connection, by SQL text.
    prepared: std::sync::Mutex<std::collections::HashMap<&'static str, tokio_postgres::Statement>>,
}

fn tls() -> tokio_postgres_rustls::MakeRustlsConnect {
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the default protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_postgres_rustls::MakeRustlsConnect::new(config)
}

/// Parses a warehouse URL into a driver config; `redshift://` means TLS required and port 5439.
pub fn pg_config(url: &Secret) -> Result<(tokio_postgres::Config, Dialect), WarehouseError> {
    let raw = url.expose();
    let (scheme, rest) = raw
        .split_once("://")
        .ok_or_else(|| WarehouseError::new("warehouse.url has no scheme"))?;
    let (dialect, normalised) = match scheme.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" => (Dialect::Postgres, format!("postgresql://{rest}")),
        "redshift" => (Dialect::Redshift, format!("postgresql://{rest}")),
        other => {
            return Err(WarehouseError::new(format!(
                "warehouse scheme {other}:// is not PostgreSQL or Redshift"
            )));
        }
    };
    let mut config: tokio_postgres::Config = normalised.parse().map_err(|e| {
        WarehouseError::new(format!(
            "warehouse.url is not a valid connection URL ({e}); expected e.g. postgres://user@host:5432/db"
        ))
    })?;
    if dialect == Dialect::Redshift {
        if config.get_ports().is_empty() {
            config.port(5439);
        }
        config.ssl_mode(tokio_postgres::config::SslMode::Require);
    } else if !raw.contains("sslmode=") {
        // TLS to PostgreSQL only when asked for (`?sslmode=require`), with verified certificates.
        config.ssl_mode(tokio_postgres::config::SslMode::Disable);
    }
    if config.get_application_name().is_none() {
        config.application_name("duro");
    }
    config.connect_timeout(std::time::Duration::from_secs(30));
    Ok((config, dialect))
}

/// `host:port/database` of a connection config, for messages (never the user or password).
fn where_of(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", config.get_dbname().unwrap_or(""))
}

/// The dialect of a configured warehouse, if duro can build on it here.
pub fn dialect_of(kind: WarehouseKind) -> Option<Dialect> {
    match kind {
        WarehouseKind::Postgres => Some(Dialect::Postgres),
        WarehouseKind::Redshift => Some(Dialect::Redshift),
        WarehouseKind::DuckDb => cfg!(feature = "duckdb").then_some(Dialect::DuckDb),
    }
}

/// What every session duro opens sets before its first statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Redshift's WLM query group (`warehouse.query_group`, validated by the config).
    pub query_group: String,
}

impl Default for Session {
    fn default() -> Session {
        Session {
            query_group: crate::config::DEFAULT_QUERY_GROUP.into(),
        }
    }
}

impl Session {
    pub fn from_config(warehouse: &crate::config::WarehouseConfig) -> Session {
        Session {
            query_group: warehouse.query_group.clone(),
        }
    }
}

impl Connection {
    /// Connects and prepares the session (on Redshift: its query group).
    pub async fn open(url: &Secret, session: &Session) -> Result<Connection, WarehouseError> {
        let conn = Connection::connect(url).await?;
        if let Some(statement) = sql::query_group(conn.dialect, &session.query_group) {
            conn.execute(&statement).await.map_err(|mut e| {
                e.message = format!(
                    "cannot set the session's query group (warehouse.query_group): {}",
                    e.message
                );
                e
            })?;
        }
        Ok(conn)
    }

    async fn connect(url: &Secret) -> Result<Connection, WarehouseError> {
        #[cfg(feature = "duckdb")]
        if url.expose().starts_with("duckdb://") {
            return Ok(Connection {
                dialect: Dialect::DuckDb,
                backend: Backend::Duck(duck::DuckConnection::open(url.expose()).await?),
            });
        }
        let (config, dialect) = pg_config(url)?;
        let tls = tls();
        let (client, connection) = config.connect(tls.clone()).await.map_err(|e| {
            let mut err = WarehouseError::from_pg(&e, None);
            err.message = format!(
                "cannot connect to the warehouse at {}: {e}",
                where_of(&config)
            );
            err.connection = true;
            err.transient = true;
            err
        })?;
        let task = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("warehouse connection ended: {e}");
            }
        });
        let cancel = client.cancel_token();
        Ok(Connection {
            dialect,
            backend: Backend::Pg(Box::new(PgConnection {
                client,
                cancel,
                tls,
                task,
                prepared: Default::default(),
            })),
        })
    }

    /// The PostgreSQL/Redshift connection, for what only they can do (COPY streams, typed
    /// binary results).
    pub fn pg(&self) -> Option<&PgConnection> {
        match &self.backend {
            Backend::Pg(pg) => Some(pg),
            #[cfg(feature = "duckdb")]
            Backend::Duck(_) => None,
        }
    }

    /// The DuckDB connection.
    #[cfg(feature = "duckdb")]
    pub fn duck(&self) -> Option<&duck::DuckConnection> {
        match &self.backend {
            Backend::Duck(duck) => Some(duck),
            Backend::Pg(_) => None,
        }
    }

    /// Runs statements with the simple-query protocol; returns the row count of the last
    /// command that reported one.
    pub async fn execute(&self, statement: &str) -> Result<u64, WarehouseError> {
        Ok(self
            .execute_each(statement)
            .await?
            .last()
            .copied()
            .unwrap_or(0))
    }

    /// Runs a query and returns its rows as text (NULL as `None`).
    pub async fn query_text(&self, statement: &str) -> Result<Rows, WarehouseError> {
        Ok(self
            .query_each(statement)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Runs several statements in one round trip and returns the rows of each, in order.
    pub async fn query_each(&self, statements: &str) -> Result<Vec<Rows>, WarehouseError> {
        // Without the duckdb feature the match has one arm.
        #[cfg_attr(not(feature = "duckdb"), allow(clippy::infallible_destructuring_match))]
        let pg = match &self.backend {
            Backend::Pg(pg) => pg,
            #[cfg(feature = "duckdb")]
            Backend::Duck(duck) => return duck.query_each(statements).await,
        };
        let messages = pg
            .client
            .simple_query(statements)
            .await
            .map_err(|e| WarehouseError::from_pg(&e, Some(statements)))?;
        let mut results = vec![Vec::new()];
        for message in messages {
            match message {
                SimpleQueryMessage::Row(row) => results.last_mut().expect("never empty").push(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_string))
                        .collect(),
                ),
                SimpleQueryMessage::CommandComplete(_) => results.push(Vec::new()),
                _ => {}
            }
        }
        results.pop();
        Ok(results)
    }

    /// Runs a statement that holds credentials: never logged, never quoted in errors. Returns
    /// its row count.
    pub async fn execute_secret(&self, statement: &str) -> Result<u64, WarehouseError> {
        #[cfg(feature = "duckdb")]
        if let Backend::Duck(duck) = &self.backend {
            return duck.execute_secret(statement).await;
        }
        Ok(self
            .counts(statement, false)
            .await?
            .last()
            .copied()
            .unwrap_or(0))
    }

    /// Runs several statements in one round trip; returns each one's row count.
    pub async fn execute_each(&self, statements: &str) -> Result<Vec<u64>, WarehouseError> {
        tracing::debug!(statements, "execute");
        self.counts(statements, true).await
    }

    async fn counts(
        &self,
        statements: &str,
        quote_in_errors: bool,
    ) -> Result<Vec<u64>, WarehouseError> {
        // Without the duckdb feature the match has one arm.
        #[cfg_attr(not(feature = "duckdb"), allow(clippy::infallible_destructuring_match))]
        let pg = match &self.backend {
            Backend::Pg(pg) => pg,
            #[cfg(feature = "duckdb")]
            Backend::Duck(duck) => return duck.execute_each(statements).await,
        };
        let messages = pg
            .client
            .simple_query(statements)
            .await
            .map_err(|e| WarehouseError::from_pg(&e, quote_in_errors.then_some(statements)))?;
        Ok(messages
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::CommandComplete(n) => Some(*n),
                _ => None,
            })
            .collect())
    }

    /// A handle that cancels the running statement from elsewhere.
    pub fn canceller(&self) -> Canceller {
        match &self.backend {
            Backend::Pg(pg) => Canceller::Pg {
                token: pg.cancel.clone(),
                tls: pg.tls.clone(),
            },
            #[cfg(feature = "duckdb")]
            Backend::Duck(duck) => Canceller::Duck(duck.interrupter()),
        }
    }
}

impl PgConnection {
    /// Runs a statement prepared once per connection (no re-planning), with text parameters.
    pub async fn query_prepared(
        &self,
        statement: &'static str,
        params: &[&str],
    ) -> Result<Rows, WarehouseError> {
        let cached = self
            .prepared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(statement)
            .cloned();
        let prepared = match cached {
            Some(p) => p,
            None => {
                let p = self
                    .client
                    .prepare(statement)
                    .await
                    .map_err(|e| WarehouseError::from_pg(&e, Some(statement)))?;
                self.prepared
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(statement, p.clone());
                p
            }
        };
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        let rows = self
            .client
            .query(&prepared, &params)
            .await
            .map_err(|e| WarehouseError::from_pg(&e, Some(statement)))?;
        Ok(rows
            .iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| {
                        row.try_get::<_, Option<String>>(i)
                            .ok()
                            .flatten()
                            .or_else(|| {
                                row.try_get::<_, Option<bool>>(i)
                                    .ok()
                                    .flatten()
                                    .map(|b| b.to_string())
                            })
                    })
                    .collect()
            })
            .collect())
    }
}

impl Drop for PgConnection {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Cancels the statement running on a connection.
#[derive(Clone)]
pub enum Canceller {
    Pg {
        token: tokio_postgres::CancelToken,
        tls: tokio_postgres_rustls::MakeRustlsConnect,
    },
    #[cfg(feature = "duckdb")]
    Duck(Arc<::duckdb::InterruptHandle>),
}

impl Canceller {
    pub async fn cancel(&self) {
        match self {
            Canceller::Pg { token, tls } => {
                if let Err(e) = token.cancel_query(tls.clone()).await {
                    tracing::warn!("could not cancel the running statement: {e}");
                }
            }
            #[cfg(feature = "duckdb")]
            Canceller::Duck(handle) => handle.interrupt(),
        }
    }
}
