//! Webhook subscriptions and their delivery log (admin only).

use super::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use discvault::model::{Delivery, Duty, NewWebhook, Webhook};
use discvault::webhooks::WebhookRequest;
use serde::Deserialize;

/// Subscribes a URL to events (`volume.mastered`, `copy.verified`, `damage.found`,
/// `inspection.due`, `job.failed`; default all). The answer holds the secret that signs the
/// messages, shown this once (`discvault webhook add URL --json`). Admin only.
#[utoipa::path(post, path = "/api/v1/webhooks", request_body = WebhookRequest, responses(
    (status = 201, body = NewWebhook),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
))]
pub async fn add_webhook(
    State(s): State<AppState>,
    c: Caller,
    ApiJson(req): ApiJson<WebhookRequest>,
) -> Result<(StatusCode, Json<NewWebhook>), ApiError> {
    let Json(w) = s
        .call(&c, Duty::Administer, move |v| {
            discvault::webhooks::add(v, &req)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(w)))
}

/// Every webhook, removed ones too (`discvault webhook list --json`). Admin only.
#[utoipa::path(get, path = "/api/v1/webhooks", responses(
    (status = 200, body = [Webhook]),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
))]
pub async fn list_webhooks(
    State(s): State<AppState>,
    c: Caller,
) -> Result<Json<Vec<Webhook>>, ApiError> {
    s.call(&c, Duty::Administer, discvault::webhooks::list)
        .await
}

/// Removes a webhook: nothing more is sent to it; its log is kept (`discvault webhook remove
/// ID --json`). Admin only.
#[utoipa::path(delete, path = "/api/v1/webhooks/{webhook_id}", params(("webhook_id" = String, Path, description = "W-000001")), responses(
    (status = 200, body = Webhook),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody, description = "removed already"),
))]
pub async fn remove_webhook(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Webhook>, ApiError> {
    s.call(&c, Duty::Administer, move |v| v.catalog.remove_webhook(&id))
        .await
}

/// How many deliveries to list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesParams {
    /// At most this many, newest first (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// A webhook's delivery log: each message, its attempts, the last answer (`discvault webhook
/// deliveries ID --json`). Admin only.
#[utoipa::path(get, path = "/api/v1/webhooks/{webhook_id}/deliveries", params(("webhook_id" = String, Path, description = "W-000001"), DeliveriesParams), responses(
    (status = 200, body = [Delivery]),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn deliveries(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(p): ApiQuery<DeliveriesParams>,
) -> Result<Json<Vec<Delivery>>, ApiError> {
    let limit = super::page_limit(p.limit)?;
    s.call(&c, Duty::Administer, move |v| {
        v.catalog.deliveries(&id, limit)
    })
    .await
}
