//! Protection of state-changing requests (SPEC §13): JSON bodies only (a cross-site form cannot
//! send one), same-origin, and with `web.token` set either `Authorization: Bearer <token>` or the
//! session cookie from `/api/login` plus its CSRF token in `X-CSRF-Token`. Also the security
//! headers of every response.

use super::AppState;
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The token and the key that turns it into session cookies.
pub struct Security {
    token: String,
    key: [u8; 32],
}

fn random_key() -> [u8; 32] {
    let mut seed = Vec::new();
    seed.extend_from_slice(&std::process::id().to_le_bytes());
    seed.extend_from_slice(format!("{:?}", std::time::SystemTime::now()).as_bytes());
    seed.extend_from_slice(format!("{:?}", std::time::Instant::now()).as_bytes());
    if let Ok(bytes) = std::fs::read("/proc/sys/kernel/random/uuid") {
        seed.extend_from_slice(&bytes);
    }
    *blake3::hash(&seed).as_bytes()
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Security {
    pub fn new(token: &str) -> Security {
        Security {
            token: token.to_string(),
            key: random_key(),
        }
    }

    fn session_value(&self) -> String {
        blake3::keyed_hash(&self.key, self.token.as_bytes())
            .to_hex()
            .to_string()
    }

    fn csrf_value(&self) -> String {
        blake3::keyed_hash(&self.key, format!("csrf:{}", self.token).as_bytes())
            .to_hex()
            .to_string()
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Checks a state-changing request; `Err` is the response to send instead.
pub fn check_write(state: &AppState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    check(state, headers).map_err(|(status, message)| Box::new(error(status, message)))
}

fn check(state: &AppState, headers: &HeaderMap) -> Result<(), (StatusCode, &'static str)> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        });
    if !json {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "state-changing requests must send a JSON body (Content-Type: application/json)",
        ));
    }
    if let (Some(origin), Some(host)) = (headers.get(header::ORIGIN), headers.get(header::HOST)) {
        let origin = origin.to_str().unwrap_or("");
        let host = host.to_str().unwrap_or("");
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
        if origin_host != host {
            return Err((StatusCode::FORBIDDEN, "cross-origin request refused"));
        }
    }
    let security = &state.security;
    if security.token.is_empty() {
        return Ok(());
    }
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let given = auth
            .to_str()
            .unwrap_or("")
            .strip_prefix("Bearer ")
            .unwrap_or("");
        return if same(given.as_bytes(), security.token.as_bytes()) {
            Ok(())
        } else {
            Err((StatusCode::FORBIDDEN, "wrong token"))
        };
    }
    match cookie(headers, "duro_session") {
        None => Err((
            StatusCode::UNAUTHORIZED,
            "this server needs a token: send Authorization: Bearer <token>, or log in",
        )),
        Some(session) if !same(session.as_bytes(), security.session_value().as_bytes()) => {
            Err((StatusCode::FORBIDDEN, "session expired: log in again"))
        }
        Some(_) => {
            let csrf = headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if same(csrf.as_bytes(), security.csrf_value().as_bytes()) {
                Ok(())
            } else {
                Err((StatusCode::FORBIDDEN, "missing or wrong CSRF token"))
            }
        }
    }
}

#[derive(serde::Deserialize)]
pub struct Login {
    token: String,
}

/// `POST /api/login {"token"}`: sets the session cookie (HttpOnly) and the CSRF cookie.
pub async fn login(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send {\"token\": \"…\"} as JSON",
        );
    }
    let Ok(Login { token }) = serde_json::from_slice::<Login>(&body) else {
        return error(StatusCode::BAD_REQUEST, "send {\"token\": \"…\"} as JSON");
    };
    let security = &state.security;
    if security.token.is_empty() {
        return Json(serde_json::json!({ "ok": true, "token_required": false })).into_response();
    }
    if !same(token.as_bytes(), security.token.as_bytes()) {
        return error(StatusCode::FORBIDDEN, "wrong token");
    }
    let mut response =
        Json(serde_json::json!({ "ok": true, "token_required": true })).into_response();
    let headers = response.headers_mut();
    for value in [
        format!(
            "duro_session={}; Path=/; HttpOnly; SameSite=Strict",
            security.session_value()
        ),
        format!(
            "duro_csrf={}; Path=/; SameSite=Strict",
            security.csrf_value()
        ),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    response
}

/// Whether the UI must ask for a token before writing.
pub fn token_required(state: &AppState) -> bool {
    !state.security.token.is_empty()
}

/// Security headers on every response.
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}
