//! The routes: one handler per operation, each a thin call of the library.

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use crate::vaults::Vaults;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use discvault::locate::{BarcodeAnswer, Found};
use discvault::model::{Duty, Principal, Task, TaskKind, TaskState, User};
use discvault::status::Status;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::OpenApi;

#[derive(Clone)]
pub struct AppState {
    pub vaults: Arc<Vaults>,
    /// The last status made, with the audit trail's head it was made at.
    status: Arc<tokio::sync::Mutex<Option<CachedStatus>>>,
}

struct CachedStatus {
    head: (i64, String),
    made: std::time::Instant,
    /// As JSON: at a million files it lists thousands of volumes (~600 KB).
    json: axum::body::Bytes,
}

/// How long a status stays good while nothing is recorded (inspection due dates move with the
/// clock alone).
const STATUS_FRESH: std::time::Duration = std::time::Duration::from_secs(30);

impl AppState {
    /// The handlers' common step: the caller's role must allow `duty`; then `f` runs with a
    /// vault, as the caller, and its value is the answer.
    async fn call<T: Serialize + Send + 'static>(
        &self,
        c: &Caller,
        duty: Duty,
        f: impl FnOnce(&discvault::Vault) -> discvault::Result<T> + Send + 'static,
    ) -> Result<Json<T>, ApiError> {
        let who = c.may(duty)?;
        Ok(Json(self.vaults.run(Some(who), f).await?))
    }
}

/// The OpenAPI document of the API, made from the handlers below.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "discvault API",
        description = "The HTTP API of discvault serve: archival storage on write-once optical discs. \
                       Bodies are the JSON of the CLI's --json. Every path but /api/health needs \
                       Authorization: Bearer <token> (discvault token create)."
    ),
    paths(health, openapi_json, me, status, locate, locate_barcode, copies, inspect_due, report, audit_verify, audit_premis, users, queue_task, list_tasks, get_task, cancel_task),
    components(schemas(ErrorBody, Health, TaskRequest, ReportFormat)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("dvt_<id>_<secret>")
                    .build(),
            ),
        );
    }
}

pub fn router(vaults: Arc<Vaults>) -> Router {
    Router::new()
        .route("/api/health", get(health))
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/v1/me", get(me))
        .route("/api/v1/status", get(status))
        .route("/api/v1/locate", get(locate))
        .route("/api/v1/locate/barcode/{code}", get(locate_barcode))
        .route("/api/v1/copies", get(copies))
        .route("/api/v1/inspect/due", get(inspect_due))
        .route("/api/v1/report", get(report))
        .route("/api/v1/audit/verify", get(audit_verify))
        .route("/api/v1/audit/premis", get(audit_premis))
        .route("/api/v1/users", get(users))
        .route("/api/v1/tasks", post(queue_task).get(list_tasks))
        .route("/api/v1/tasks/{task_id}", get(get_task))
        .route("/api/v1/tasks/{task_id}/cancel", post(cancel_task))
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this path does not take that method (see /api/openapi.json)",
            )
        })
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such path in the API (see /api/openapi.json)",
            )
        })
        .with_state(AppState {
            vaults,
            status: Default::default(),
        })
}

/// The server is up.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// The software and its version.
    pub software: String,
}

/// Whether the server is up; needs no credentials.
#[utoipa::path(get, path = "/api/health", security(()), responses((status = 200, body = Health)))]
async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        software: discvault::SOFTWARE.into(),
    })
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", responses(
    (status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json"),
    (status = 401, body = ErrorBody),
))]
async fn openapi_json(_c: Caller) -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Who the credentials belong to, and their role.
#[utoipa::path(get, path = "/api/v1/me", responses(
    (status = 200, body = Principal),
    (status = 401, body = ErrorBody),
))]
async fn me(c: Caller) -> Result<Json<Principal>, ApiError> {
    Ok(Json(c.may(Duty::Read)?.clone()))
}

/// What is ingested, planned, mastered and not yet on a disc; copies and shortfalls
/// (`discvault status --json`).
#[utoipa::path(get, path = "/api/v1/status", responses(
    (status = 200, body = Status),
    (status = 401, body = ErrorBody),
))]
async fn status(
    State(s): State<AppState>,
    c: Caller,
) -> Result<axum::response::Response, ApiError> {
    // Made again only when something was recorded since (every change is an event) or after
    // STATUS_FRESH; one request makes it while the others wait for it, so that a hundred
    // clients polling status cost one computation (0.3 s at a million files), not a hundred.
    use axum::response::IntoResponse;
    let json = |b: axum::body::Bytes| {
        ([(axum::http::header::CONTENT_TYPE, "application/json")], b).into_response()
    };
    let Json(head) = s.call(&c, Duty::Read, |v| v.catalog.event_head()).await?;
    let mut cached = s.status.lock().await;
    if let Some(k) = cached.as_ref() {
        if k.head == head && k.made.elapsed() < STATUS_FRESH {
            return Ok(json(k.json.clone()));
        }
    }
    let Json(status) = s.call(&c, Duty::Read, discvault::status::status).await?;
    let bytes = axum::body::Bytes::from(serde_json::to_vec(&status).map_err(|e| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
    })?);
    *cached = Some(CachedStatus {
        head,
        made: std::time::Instant::now(),
        json: bytes.clone(),
    });
    Ok(json(bytes))
}

/// A locate query, a page at a time.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LocateParams {
    /// Any part of a path, a digest (hex), or KEY=VALUE of collection metadata.
    q: String,
    /// Files per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// Files to skip: the page starts after them (default 0, at most 100000).
    #[param(minimum = 0, maximum = 100000)]
    offset: Option<usize>,
    /// Every version of each file, not only the current one.
    all_versions: Option<bool>,
}

/// Files found by any part of their path, a digest or collection metadata, with the volumes
/// and copies holding them (`discvault locate QUERY --json`). The header `X-More: true` says
/// that more files match after this page.
#[utoipa::path(get, path = "/api/v1/locate", params(LocateParams), responses(
    (status = 200, body = [Found], headers(("X-More" = bool, description = "more files match after this page"))),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
))]
async fn locate(
    State(s): State<AppState>,
    c: Caller,
    ApiQuery(p): ApiQuery<LocateParams>,
) -> Result<(HeaderMap, Json<Vec<Found>>), ApiError> {
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("invalid limit: {limit} is outside 1..1000"),
        ));
    }
    let offset = p.offset.unwrap_or(0);
    if offset > 100_000 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("invalid offset: {offset} is above 100000 (narrow the query)"),
        ));
    }
    let all = p.all_versions.unwrap_or(false);
    let q = p.q;
    let Json(mut found) = s
        .call(&c, Duty::Read, move |v| {
            discvault::locate::locate_versions(v, &q, offset + limit + 1, all)
        })
        .await?;
    let more = found.len() > offset + limit;
    found.truncate(offset + limit);
    let page: Vec<Found> = found.into_iter().skip(offset).collect();
    let mut h = HeaderMap::new();
    h.insert(
        "x-more",
        HeaderValue::from_static(if more { "true" } else { "false" }),
    );
    Ok((h, Json(page)))
}

/// A disc copy by its barcode (or copy id, or RFID tag), its volume and what is on it
/// (`discvault locate --barcode CODE --json`).
#[utoipa::path(get, path = "/api/v1/locate/barcode/{code}", params(("code" = String, Path, description = "barcode, copy id or RFID tag id")), responses(
    (status = 200, body = BarcodeAnswer),
    (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
async fn locate_barcode(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<BarcodeAnswer>, ApiError> {
    s.call(&c, Duty::Read, move |v| {
        discvault::locate::locate_barcode(v, &code)
    })
    .await
}

/// The server's users (`discvault user list --json`); admin only.
#[utoipa::path(get, path = "/api/v1/users", responses(
    (status = 200, body = [User]),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
))]
async fn users(State(s): State<AppState>, c: Caller) -> Result<Json<Vec<User>>, ApiError> {
    s.call(&c, Duty::Administer, |v| v.catalog.users()).await
}

/// A long operation to run: its kind and its options.
#[derive(Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskRequest {
    pub kind: TaskKind,
    /// The options of the kind, as the library (and the CLI) takes them. `add`: `paths` (on the
    /// server, inside `[server] roots`), `collection`, `metadata` (`{"fonds": "J001", ...}`),
    /// `copy`, `follow`, `force`. `plan`: `media`, `reserve_percent`, `redundancy_percent`,
    /// `parity_group`, `parity_volumes`. `master`: `out` (a folder inside the roots), `volumes`,
    /// `again`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
}

/// Queues a long operation (add, plan, master) for the workers; its progress and result are
/// read with `GET /api/v1/tasks/{task_id}`. Needs role archivist or admin.
#[utoipa::path(post, path = "/api/v1/tasks", request_body = TaskRequest, responses(
    (status = 202, body = Task),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
))]
async fn queue_task(
    State(s): State<AppState>,
    c: Caller,
    ApiJson(req): ApiJson<TaskRequest>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    let who = c.may(Duty::Archive)?;
    let t = s
        .vaults
        .run(Some(who), move |v| {
            discvault::tasks::queue(v, req.kind, req.params)
        })
        .await?;
    Ok((StatusCode::ACCEPTED, Json(t)))
}

/// Which tasks to list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskListParams {
    /// Only tasks in this state.
    state: Option<TaskState>,
    /// At most this many, newest first (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// Tasks, newest first.
#[utoipa::path(get, path = "/api/v1/tasks", params(TaskListParams), responses(
    (status = 200, body = [Task]),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
))]
async fn list_tasks(
    State(s): State<AppState>,
    c: Caller,
    ApiQuery(p): ApiQuery<TaskListParams>,
) -> Result<Json<Vec<Task>>, ApiError> {
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("invalid limit: {limit} is outside 1..1000"),
        ));
    }
    s.call(&c, Duty::Read, move |v| v.catalog.tasks(p.state, limit))
        .await
}

/// One task: its state, last progress message, and result once done.
#[utoipa::path(get, path = "/api/v1/tasks/{task_id}", params(("task_id" = String, Path, description = "T-000001")), responses(
    (status = 200, body = Task),
    (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
async fn get_task(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Task>, ApiError> {
    s.call(&c, Duty::Read, move |v| v.catalog.task(&id)).await
}

/// Cancels a task: a queued one at once, a running one at the end of its current stage (an
/// `add` records no file; a `master` keeps the volumes it finished). Needs role archivist or
/// admin.
#[utoipa::path(post, path = "/api/v1/tasks/{task_id}/cancel", params(("task_id" = String, Path, description = "T-000001")), responses(
    (status = 200, body = Task),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody, description = "the task has ended"),
))]
async fn cancel_task(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Task>, ApiError> {
    s.call(&c, Duty::Archive, move |v| v.catalog.cancel_task(&id))
        .await
}

/// A moment: `at` as a date (YYYY-MM-DD), else now.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtParams {
    /// The date to judge at (YYYY-MM-DD; default: now).
    #[param(value_type = Option<String>, format = Date)]
    at: Option<String>,
}

fn moment(at: Option<&str>) -> discvault::Result<i64> {
    match at {
        Some(a) => discvault::parse_date(a),
        None => Ok(discvault::now_unix()),
    }
}

/// Which copies to list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CopiesParams {
    /// Only the copies of this volume.
    volume: Option<String>,
    /// Their trust at this date (YYYY-MM-DD; default: now).
    #[param(value_type = Option<String>, format = Date)]
    at: Option<String>,
}

/// The copies of the volumes (of one volume) with their places and trust, in place order
/// (`discvault copies list --json`).
#[utoipa::path(get, path = "/api/v1/copies", params(CopiesParams), responses(
    (status = 200, body = [discvault::copies::CopyView]),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
async fn copies(
    State(s): State<AppState>,
    c: Caller,
    ApiQuery(p): ApiQuery<CopiesParams>,
) -> Result<Json<Vec<discvault::copies::CopyView>>, ApiError> {
    s.call(&c, Duty::Read, move |v| {
        discvault::copies::list_at(v, p.volume.as_deref(), moment(p.at.as_deref())?)
    })
    .await
}

/// This inspection round's pick list: the copies to read back (`discvault inspect due --json`).
#[utoipa::path(get, path = "/api/v1/inspect/due", params(AtParams), responses(
    (status = 200, body = discvault::inspect::DuePick),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
))]
async fn inspect_due(
    State(s): State<AppState>,
    c: Caller,
    ApiQuery(p): ApiQuery<AtParams>,
) -> Result<Json<discvault::inspect::DuePick>, ApiError> {
    s.call(&c, Duty::Read, move |v| {
        discvault::inspect::due(v, moment(p.at.as_deref())?)
    })
    .await
}

/// The report's form.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// `json` (default) or `html`.
    format: Option<ReportFormat>,
}

/// The form of a report.
#[derive(Deserialize, Serialize, Clone, Copy, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    Json,
    Html,
}

/// The preservation report: shortfalls, overdue and failing discs, disc health (`discvault
/// report --format json|html`).
#[utoipa::path(get, path = "/api/v1/report", params(ReportParams), responses(
    (status = 200, description = "the report; with format=html, as a page", content(
        (discvault::report::Report = "application/json"),
        (String = "text/html"),
    )),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
))]
async fn report(
    State(s): State<AppState>,
    c: Caller,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let html = matches!(p.format, Some(ReportFormat::Html));
    let Json(r) = s
        .call(&c, Duty::Read, |v| {
            discvault::report::build(v, discvault::now_unix())
        })
        .await?;
    Ok(if html {
        axum::response::Html(discvault::report::html(&r)).into_response()
    } else {
        Json(r).into_response()
    })
}

/// The audit trail's hash chain recomputed (`discvault log verify --json`): `intact` false
/// names every break.
#[utoipa::path(get, path = "/api/v1/audit/verify", responses(
    (status = 200, body = discvault::model::ChainReport),
    (status = 401, body = ErrorBody),
))]
async fn audit_verify(
    State(s): State<AppState>,
    c: Caller,
) -> Result<Json<discvault::model::ChainReport>, ApiError> {
    s.call(&c, Duty::Read, |v| v.catalog.verify_chain()).await
}

/// The audit trail as PREMIS 3 XML (`discvault log export --premis`).
#[utoipa::path(get, path = "/api/v1/audit/premis", responses(
    (status = 200, description = "PREMIS 3 XML", content_type = "application/xml", body = String),
    (status = 401, body = ErrorBody),
))]
async fn audit_premis(
    State(s): State<AppState>,
    c: Caller,
) -> Result<([(axum::http::HeaderName, &'static str); 1], String), ApiError> {
    let Json(xml) = s.call(&c, Duty::Read, discvault::audit::premis).await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/xml; charset=utf-8",
        )],
        xml,
    ))
}
