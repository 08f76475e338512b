//! Who asks: the bearer token of a request, checked against the catalog, and what the user's
//! role allows.

use crate::api::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use discvault::model::{Duty, Principal};

/// The user behind a request with valid credentials (401 otherwise).
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .ok_or_else(ApiError::unauthorized)?;
        // The scheme's name is case-insensitive (RFC 7235).
        let token = match header.split_once(' ') {
            Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim().to_string(),
            _ => return Err(ApiError::unauthorized()),
        };
        match state
            .vaults
            .run(None, move |v| {
                discvault::accounts::authenticate_token(v, &token)
            })
            .await?
        {
            Ok(p) => Ok(Caller(p)),
            Err(_) => Err(ApiError::unauthorized()),
        }
    }
}

impl Caller {
    /// The caller, when their role allows `duty` (403 otherwise).
    pub fn may(&self, duty: Duty) -> Result<&Principal, ApiError> {
        if self.0.role.may(duty) {
            Ok(&self.0)
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
