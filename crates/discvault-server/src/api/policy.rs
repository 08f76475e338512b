//! The preservation policy in force (`discvault policy`): read by any role; set in the
//! catalog, for every station, or reset to each station's `discvault.toml`, by an admin.

use super::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ErrorBody};
use axum::extract::State;
use axum::Json;
use discvault::config::{CollectionPolicy, PolicySection};
use discvault::model::Duty;
use discvault::policy::PolicyView;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The whole policy to set: every key given (none falls back to a default, so that a
/// partial body never wipes the collections' rules).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyRequest {
    min_trusted_copies: u32,
    min_sites: u32,
    /// Collections that differ, by name (`{}` for none).
    collections: BTreeMap<String, CollectionPolicy>,
}

/// The policy in force: trusted copies and sites each mastered volume needs, generally and per
/// collection, and whether it is the catalog's or this station's `discvault.toml`'s
/// (`discvault policy show`).
#[utoipa::path(get, path = "/api/v1/policy", responses(
    (status = 200, body = PolicyView),
    (status = 401, body = ErrorBody),
))]
pub async fn show(State(s): State<AppState>, c: Caller) -> Result<Json<PolicyView>, ApiError> {
    s.call(&c, Duty::Read, discvault::policy::show).await
}

/// Sets the policy in the catalog, the same for every station: the whole policy, every key
/// given, `{"min_trusted_copies": 3, "min_sites": 2, "collections": {"文书档案":
/// {"min_trusted_copies": 4, "min_sites": 3}}}`. An event says what changed. Needs role admin.
#[utoipa::path(put, path = "/api/v1/policy", request_body = PolicyRequest, responses(
    (status = 200, body = PolicyView),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
))]
pub async fn set(
    State(s): State<AppState>,
    c: Caller,
    ApiJson(req): ApiJson<PolicyRequest>,
) -> Result<Json<PolicyView>, ApiError> {
    let policy = PolicySection {
        min_trusted_copies: req.min_trusted_copies,
        min_sites: req.min_sites,
        collections: req.collections,
    };
    s.call(&c, Duty::Administer, move |v| {
        discvault::policy::set(v, &policy)
    })
    .await
}

/// Removes the catalog's policy: each station follows its `discvault.toml` again
/// (`discvault policy reset`). Needs role admin.
#[utoipa::path(delete, path = "/api/v1/policy", responses(
    (status = 200, body = PolicyView),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
))]
pub async fn reset(State(s): State<AppState>, c: Caller) -> Result<Json<PolicyView>, ApiError> {
    s.call(&c, Duty::Administer, discvault::policy::reset).await
}
