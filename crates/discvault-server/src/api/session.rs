//! Browsers log in with a name and a password: the answer sets a session cookie (HttpOnly,
//! Secure, SameSite=Strict) and gives the CSRF token every change must carry. Logins are
//! rate-limited (`limit.rs`); the sessions are the log of logins (admin).

use super::AppState;
use crate::auth::{Caller, SESSION_COOKIE};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use discvault::model::{Duty, Role, SessionInfo, User};
use serde::{Deserialize, Serialize};

/// A login.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub user: String,
    pub password: String,
}

/// The session a browser is in: who, until when, and the token its changes carry.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionAnswer {
    pub user: String,
    pub role: Role,
    /// Sent back in `X-CSRF-Token` with every request but GET, HEAD and OPTIONS.
    pub csrf_token: String,
    pub session_id: String,
    /// Unix seconds: the session ends then at the latest.
    pub expires_at: i64,
    /// It ends sooner after this many seconds without a request.
    pub idle_seconds: i64,
}

/// A new password.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    /// At least 8 characters.
    pub password: String,
}

fn answer(s: &AppState, info: &SessionInfo, csrf_token: String) -> SessionAnswer {
    SessionAnswer {
        user: info.user.clone(),
        role: info.role,
        csrf_token,
        session_id: info.session_id.clone(),
        expires_at: info.expires_at,
        idle_seconds: s.vaults.server.session_idle_minutes as i64 * 60,
    }
}

/// The cookie's `Set-Cookie` header: for `max_age` seconds (0: removes it).
pub(crate) fn set_cookie(value: &str, max_age: i64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict"
    ))
    .expect("a cookie of hex digits is a header value")
}

/// The address a request came from (none when the server was built without it, in tests of
/// the router alone).
pub(crate) fn client_of(parts: &axum::http::Extensions) -> std::net::IpAddr {
    parts
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(std::net::IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED))
}

/// Why a login let no one in.
pub(crate) enum Refused {
    /// Wrong name or password, no password, a disabled user: all alike.
    Wrong,
    /// Too many attempts: wait this long.
    Wait(std::time::Duration),
}

/// Logs `user` in from `addr`, counted by the rate limit: the new session, or why not. The
/// API's login and the web UI's form both come here.
pub(crate) async fn log_in(
    s: &AppState,
    addr: std::net::IpAddr,
    user: String,
    password: String,
) -> Result<Result<discvault::model::NewSession, Refused>, ApiError> {
    // No user name is longer (`accounts.rs`); a long one is not counted, only refused.
    if user.chars().count() > 64 || password.len() > 1024 {
        return Ok(Err(Refused::Wrong));
    }
    let attempt = match s.logins.attempt(&user, addr) {
        Ok(a) => a,
        Err(wait) => return Ok(Err(Refused::Wait(wait))),
    };
    let max = s.vaults.server.session_hours as i64 * 3600;
    let client = addr.to_string();
    let made = s
        .vaults
        .run(None, move |v| {
            discvault::accounts::login(v, &user, &password, &client, max)
        })
        .await?;
    Ok(match made {
        Ok(m) => {
            s.logins.succeeded(attempt);
            Ok(m)
        }
        Err(_) => Err(Refused::Wrong),
    })
}

/// The answer's headers of a new session: its cookie, not to be cached.
pub(crate) fn session_headers(s: &AppState, r: &mut Response, cookie: &str) {
    let max = s.vaults.server.session_hours as i64 * 3600;
    r.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(cookie, max));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// Logs in with a name and a password: sets the session cookie and answers the CSRF token.
/// Wrong credentials of any kind are 401 alike; too many attempts are 429 with `Retry-After`.
#[utoipa::path(post, path = "/api/v1/session", security(()), request_body = LoginRequest, responses(
    (status = 200, body = SessionAnswer, headers(("Set-Cookie" = String, description = "discvault_session=...; HttpOnly; Secure; SameSite=Strict"))),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 429, body = ErrorBody, headers(("Retry-After" = u64, description = "seconds"))),
))]
pub async fn login(
    State(s): State<AppState>,
    ext: axum::http::Extensions,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let made = match log_in(&s, client_of(&ext), req.user, req.password).await? {
        Ok(m) => m,
        Err(Refused::Wrong) => return Err(wrong()),
        Err(Refused::Wait(wait)) => {
            let mut r = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!(
                    "too many login attempts for this user or from this address: try again in {} s",
                    wait.as_secs()
                ),
            )
            .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs()));
            return Ok(r);
        }
    };
    let mut r = Json(answer(&s, &made.info, made.csrf_token)).into_response();
    session_headers(&s, &mut r, &made.cookie);
    Ok(r)
}

fn wrong() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "wrong user name or password, or the user is disabled",
    )
}

fn no_session() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "the request carries no session cookie (a token is no session)",
    )
}

/// The browser's session and its CSRF token (for a page loaded again).
#[utoipa::path(get, path = "/api/v1/session", responses(
    (status = 200, body = SessionAnswer),
    (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn current(State(s): State<AppState>, c: Caller) -> Result<Response, ApiError> {
    let session = c.1.as_ref().ok_or_else(no_session)?;
    let csrf = discvault::accounts::csrf_token(&session.cookie);
    let mut r = Json(answer(&s, &session.info, csrf)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// Logs out: the session ends and its cookie is removed.
#[utoipa::path(delete, path = "/api/v1/session", responses(
    (status = 204),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn logout(State(s): State<AppState>, c: Caller) -> Result<Response, ApiError> {
    let session = c.1.ok_or_else(no_session)?;
    let cookie = session.cookie;
    s.vaults
        .run(None, move |v| discvault::accounts::logout(v, &cookie))
        .await?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, set_cookie("", 0));
    Ok(r)
}

/// Which sessions to list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionsParams {
    /// Only this user's.
    user: Option<String>,
    /// Sessions at most, newest first, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// The log of logins: sessions, newest first (`discvault user sessions --json`). Admin only.
#[utoipa::path(get, path = "/api/v1/sessions", params(SessionsParams), responses(
    (status = 200, body = Vec<SessionInfo>),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
))]
pub async fn sessions(
    State(s): State<AppState>,
    c: Caller,
    ApiQuery(p): ApiQuery<SessionsParams>,
) -> Result<Json<Vec<SessionInfo>>, ApiError> {
    let limit = super::page_limit(p.limit)?;
    s.call(&c, Duty::Administer, move |v| {
        v.catalog.sessions(None, p.user.as_deref(), limit)
    })
    .await
}

/// Sets a user's password (`discvault user password NAME --json`); the user's sessions end.
/// Admin only.
#[utoipa::path(post, path = "/api/v1/users/{name}/password", params(("name" = String, Path)),
    request_body = PasswordRequest, responses(
    (status = 200, body = User),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn set_password(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(name): ApiPath<String>,
    ApiJson(req): ApiJson<PasswordRequest>,
) -> Result<Json<User>, ApiError> {
    s.call(&c, Duty::Administer, move |v| {
        discvault::accounts::set_password(v, &name, &req.password)
    })
    .await
}
