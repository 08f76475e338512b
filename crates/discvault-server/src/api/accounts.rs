//! The server's users and tokens (admin only): what `discvault user` and `discvault token` do.

use super::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use discvault::model::{Duty, NewToken, Role, TokenInfo, User};
use serde::Deserialize;

/// A user to add.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserRequest {
    pub name: String,
    pub role: Role,
    /// For the web UI's login; records systems use tokens.
    #[serde(default)]
    pub password: Option<String>,
}

/// Adds a user with a role (`discvault user add NAME --role ROLE --json`). Admin only.
#[utoipa::path(post, path = "/api/v1/users", request_body = UserRequest, responses(
    (status = 201, body = User),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
))]
pub async fn add_user(
    State(s): State<AppState>,
    c: Caller,
    ApiJson(req): ApiJson<UserRequest>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let Json(u) = s
        .call(&c, Duty::Administer, move |v| {
            discvault::accounts::add_user(v, &req.name, req.role, req.password.as_deref())
        })
        .await?;
    Ok((StatusCode::CREATED, Json(u)))
}

/// Disables a user: their tokens and password let no one in (`discvault user disable NAME
/// --json`). Admin only.
#[utoipa::path(post, path = "/api/v1/users/{name}/disable", params(("name" = String, Path)), responses(
    (status = 200, body = User),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn disable_user(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<User>, ApiError> {
    s.call(&c, Duty::Administer, move |v| {
        discvault::accounts::set_disabled(v, &name, true)
    })
    .await
}

/// Enables a disabled user (`discvault user enable NAME --json`). Admin only.
#[utoipa::path(post, path = "/api/v1/users/{name}/enable", params(("name" = String, Path)), responses(
    (status = 200, body = User),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn enable_user(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<User>, ApiError> {
    s.call(&c, Duty::Administer, move |v| {
        discvault::accounts::set_disabled(v, &name, false)
    })
    .await
}

/// A token to make.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub user: String,
    /// Days until it expires (none: never; revoke it).
    #[serde(default)]
    pub expires_days: Option<u32>,
    /// What it may be used for (`read`, `archive`, `operate`, `administer`), each within the
    /// user's role; none: all the role may.
    #[serde(default)]
    pub scopes: Vec<Duty>,
}

/// Makes a token for a user; the answer holds it, shown this once (`discvault token create
/// --user NAME --json`). Admin only.
#[utoipa::path(post, path = "/api/v1/tokens", request_body = TokenRequest, responses(
    (status = 201, body = NewToken),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn create_token(
    State(s): State<AppState>,
    c: Caller,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<(StatusCode, Json<NewToken>), ApiError> {
    let Json(t) = s
        .call(&c, Duty::Administer, move |v| {
            discvault::accounts::create_token(v, &req.user, req.expires_days, &req.scopes)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(t)))
}

/// Whose tokens to list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokensParams {
    /// Only this user's.
    user: Option<String>,
}

/// Every token (of one user): handle, user, dates; never the secret (`discvault token list
/// --json`). Admin only.
#[utoipa::path(get, path = "/api/v1/tokens", params(TokensParams), responses(
    (status = 200, body = [TokenInfo]),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
))]
pub async fn list_tokens(
    State(s): State<AppState>,
    c: Caller,
    ApiQuery(p): ApiQuery<TokensParams>,
) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    s.call(&c, Duty::Administer, move |v| {
        v.catalog.tokens(p.user.as_deref())
    })
    .await
}

/// Revokes a token by its handle (`discvault token revoke ID --json`). Admin only.
#[utoipa::path(delete, path = "/api/v1/tokens/{token_id}", params(("token_id" = String, Path, description = "the 8 hex digits after dvt_")), responses(
    (status = 200, body = TokenInfo),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn revoke_token(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TokenInfo>, ApiError> {
    s.call(&c, Duty::Administer, move |v| {
        discvault::accounts::revoke_token(v, &id)
    })
    .await
}
