//! Who asks: the bearer token of a request (records systems), or the session cookie of a
//! browser that logged in with a password, checked against the catalog; and what the user's
//! role allows. A browser's request that changes something (any method but GET, HEAD and
//! OPTIONS) must also carry its session's CSRF token in `X-CSRF-Token`.

use crate::api::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use discvault::model::{Duty, Principal, SessionInfo};

/// The cookie a browser's session is carried in.
pub const SESSION_COOKIE: &str = "discvault_session";
/// The header a browser's change carries its session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The user behind a request with valid credentials (401 otherwise), and their session when
/// they came with a cookie.
pub struct Caller(pub Principal, pub Option<Session>);

/// A browser's session, as its request carried it.
pub struct Session {
    pub cookie: String,
    pub info: SessionInfo,
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// Equal strings, compared in a time that does not tell where they differ.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        if let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) {
            let header = header.to_str().map_err(|_| ApiError::unauthorized())?;
            // The scheme's name is case-insensitive (RFC 7235).
            let token = match header.split_once(' ') {
                Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim().to_string(),
                _ => return Err(ApiError::unauthorized()),
            };
            return match state
                .vaults
                .run(None, move |v| {
                    discvault::accounts::authenticate_token(v, &token)
                })
                .await?
            {
                Ok(p) => Ok(Caller(p, None)),
                Err(_) => Err(ApiError::unauthorized()),
            };
        }
        let Some(cookie) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(ApiError::unauthorized());
        };
        let idle = state.vaults.server.session_idle_minutes as i64 * 60;
        let c = cookie.clone();
        let (who, info) = match state
            .vaults
            .run(None, move |v| {
                discvault::accounts::authenticate_session(v, &c, idle)
            })
            .await?
        {
            Ok(s) => s,
            Err(_) => return Err(ApiError::unauthorized()),
        };
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default();
            if !same(sent, &discvault::accounts::csrf_token(&cookie)) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "a change asked for with a session cookie needs the session's CSRF token in \
                     X-CSRF-Token (GET /api/v1/session gives it)",
                ));
            }
        }
        Ok(Caller(who, Some(Session { cookie, info })))
    }
}

impl Caller {
    /// The caller, when their role allows `duty` (403 otherwise).
    pub fn may(&self, duty: Duty) -> Result<&Principal, ApiError> {
        if self.0.may(duty) {
            Ok(&self.0)
        } else if self.0.role.may(duty) {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "this token of user {} may only {}: it needs {duty}",
                    self.0.user,
                    self.0
                        .scopes
                        .iter()
                        .map(|d| d.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ))
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "user {} ({}) may not do this: it needs {}",
                    self.0.user,
                    self.0.role,
                    match duty {
                        Duty::Read => "any role",
                        Duty::Archive => "role archivist or admin",
                        Duty::Operate => "role operator or admin",
                        Duty::Administer => "role admin",
                    }
                ),
            ))
        }
    }
}
