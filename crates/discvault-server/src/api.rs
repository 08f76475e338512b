//! The routes: one handler per operation, each a thin call of the library.

use crate::auth::Caller;
use crate::error::{ApiError, ApiPath, ApiQuery, ErrorBody};
use crate::vaults::Vaults;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use discvault::locate::{BarcodeAnswer, Found};
use discvault::model::{Duty, Principal, User};
use discvault::status::Status;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::OpenApi;

mod accounts;
mod download;
mod holdings;
mod policy;
pub(crate) mod session;
mod tasks;
mod uploads;
mod webhooks;

/// The largest request body taken (a CSV of a cabinet's stocktaking, of quality
/// measurements, a task's options): larger ones are refused with 413.
pub(crate) const MAX_BODY: usize = 16 << 20;

/// A JSON object: the value the CLI prints with `--json` for the same operation.
#[derive(utoipa::ToSchema)]
#[schema(value_type = Object)]
#[allow(dead_code)]
pub struct ObjectBody(serde_json::Value);

/// Bytes of a file: an image, a PDF.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct Binary(Vec<u8>);

#[derive(Clone)]
pub struct AppState {
    pub vaults: Arc<Vaults>,
    /// The last status made, with the audit trail's head it was made at.
    status: Arc<tokio::sync::Mutex<Option<CachedStatus>>>,
    /// The server is stopping: progress streams end.
    pub stopping: Arc<std::sync::atomic::AtomicBool>,
    /// Login attempts, counted to slow password guessing.
    pub logins: Arc<crate::limit::LoginLimit>,
}

struct CachedStatus {
    head: (i64, String),
    made: std::time::Instant,
    /// As JSON: at a million files it lists thousands of volumes (~600 KB).
    json: axum::body::Bytes,
}

/// A page size asked for: 1 to 1000, 100 when none is given.
pub(crate) fn page_limit(given: Option<i64>) -> Result<i64, ApiError> {
    let limit = given.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("invalid limit: {limit} is outside 1..1000"),
        ));
    }
    Ok(limit)
}

/// How long a status stays good while nothing is recorded (inspection due dates move with the
/// clock alone).
const STATUS_FRESH: std::time::Duration = std::time::Duration::from_secs(30);

impl AppState {
    /// The handlers' common step: the caller's role must allow `duty`; then `f` runs with a
    /// vault, as the caller, and its value is the answer.
    pub(crate) async fn call<T: Serialize + Send + 'static>(
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
                       Bodies are the JSON of the CLI's --json. Every path but /api/health and the login \
                       (POST /api/v1/session) needs Authorization: Bearer <token> (discvault \
                       token create), or a browser's session cookie, with its CSRF token in \
                       X-CSRF-Token for any change."
    ),
    paths(
        health, openapi_json, me, status, locate, locate_barcode, copies, inspect_due, report,
        audit_verify, audit_premis, users,
        tasks::queue_task, tasks::list_tasks, tasks::get_task, tasks::cancel_task,
        tasks::task_events, tasks::plan_preview, tasks::restore_pick, tasks::migrate_plan,
        download::download, download::delete_download,
        uploads::start, uploads::get, uploads::put_file, uploads::post_files, uploads::commit,
        uploads::delete,
        holdings::collections, holdings::volumes, holdings::volume, holdings::jobs,
        holdings::cancel_job, holdings::add_copies, holdings::move_copy, holdings::mark_copy,
        holdings::cabinet_inventory, holdings::cabinet_import, holdings::quality_import,
        holdings::label, holdings::label_templates,
        policy::show, policy::set, policy::reset,
        webhooks::add_webhook, webhooks::list_webhooks, webhooks::remove_webhook,
        webhooks::deliveries,
        accounts::add_user, accounts::disable_user, accounts::enable_user,
        accounts::create_token, accounts::list_tokens, accounts::revoke_token,
        session::login, session::current, session::logout, session::sessions,
        session::set_password,
    ),
    components(schemas(
        ErrorBody, Health, tasks::TaskRequest, ReportFormat, ObjectBody, Binary,
        holdings::LabelKind, holdings::LabelForm, download::ArchiveForm,
    )),
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

pub fn router(vaults: Arc<Vaults>, stopping: Arc<std::sync::atomic::AtomicBool>) -> Router {
    Router::new()
        .route("/api/health", get(health))
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/v1/me", get(me))
        .route("/api/v1/status", get(status))
        .route("/api/v1/locate", get(locate))
        .route("/api/v1/locate/barcode/{code}", get(locate_barcode))
        .route("/api/v1/copies", get(copies).post(holdings::add_copies))
        .route("/api/v1/copies/{copy}/move", post(holdings::move_copy))
        .route("/api/v1/copies/{copy}/mark", post(holdings::mark_copy))
        .route("/api/v1/collections", get(holdings::collections))
        .route("/api/v1/volumes", get(holdings::volumes))
        .route("/api/v1/volumes/{volume_id}", get(holdings::volume))
        .route("/api/v1/jobs", get(holdings::jobs))
        .route("/api/v1/jobs/{job_id}/cancel", post(holdings::cancel_job))
        .route(
            "/api/v1/cabinets/{cabinet}/inventory",
            get(holdings::cabinet_inventory),
        )
        .route("/api/v1/cabinets/import", post(holdings::cabinet_import))
        .route("/api/v1/quality/import", post(holdings::quality_import))
        .route("/api/v1/labels/templates", get(holdings::label_templates))
        .route(
            "/api/v1/policy",
            get(policy::show).put(policy::set).delete(policy::reset),
        )
        .route("/api/v1/labels/{kind}/{key}", get(holdings::label))
        .route("/api/v1/uploads", post(uploads::start))
        .route(
            "/api/v1/uploads/{upload_id}",
            get(uploads::get).delete(uploads::delete),
        )
        .route(
            "/api/v1/uploads/{upload_id}/file",
            axum::routing::put(uploads::put_file),
        )
        .route(
            "/api/v1/uploads/{upload_id}/files",
            // A form of files is as large as the files: each part is checked against the
            // manifest as it streams.
            post(uploads::post_files).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/api/v1/uploads/{upload_id}/commit", post(uploads::commit))
        .route("/api/v1/plan/preview", post(tasks::plan_preview))
        .route("/api/v1/restore/pick", get(tasks::restore_pick))
        .route("/api/v1/migrate/plan", get(tasks::migrate_plan))
        .route("/api/v1/inspect/due", get(inspect_due))
        .route("/api/v1/report", get(report))
        .route("/api/v1/audit/verify", get(audit_verify))
        .route("/api/v1/audit/premis", get(audit_premis))
        .route("/api/v1/users", get(users).post(accounts::add_user))
        .route("/api/v1/users/{name}/disable", post(accounts::disable_user))
        .route("/api/v1/users/{name}/enable", post(accounts::enable_user))
        .route("/api/v1/users/{name}/password", post(session::set_password))
        .route(
            "/api/v1/session",
            get(session::current)
                .post(session::login)
                .delete(session::logout),
        )
        .route("/api/v1/sessions", get(session::sessions))
        .route(
            "/api/v1/tokens",
            get(accounts::list_tokens).post(accounts::create_token),
        )
        .route(
            "/api/v1/tokens/{token_id}",
            axum::routing::delete(accounts::revoke_token),
        )
        .route(
            "/api/v1/webhooks",
            post(webhooks::add_webhook).get(webhooks::list_webhooks),
        )
        .route(
            "/api/v1/webhooks/{webhook_id}",
            axum::routing::delete(webhooks::remove_webhook),
        )
        .route(
            "/api/v1/webhooks/{webhook_id}/deliveries",
            get(webhooks::deliveries),
        )
        .route(
            "/api/v1/tasks",
            post(tasks::queue_task).get(tasks::list_tasks),
        )
        .route("/api/v1/tasks/{task_id}", get(tasks::get_task))
        .route("/api/v1/tasks/{task_id}/cancel", post(tasks::cancel_task))
        .route("/api/v1/tasks/{task_id}/events", get(tasks::task_events))
        .route(
            "/api/v1/tasks/{task_id}/download",
            get(download::download).delete(download::delete_download),
        )
        .merge(crate::ui::router())
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this path does not take that method (see /api/openapi.json)",
            )
        })
        .fallback(|uri: axum::http::Uri, headers: HeaderMap| async move {
            use axum::response::IntoResponse;
            // A page of the web UI that is not there: a page that says so, in its language.
            if !uri.path().starts_with("/api") {
                let lang = crate::ui::i18n::Lang::of(&headers);
                return crate::ui::error_page(
                    lang,
                    StatusCode::NOT_FOUND,
                    lang.t("error.not_found"),
                );
            }
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such path in the API (see /api/openapi.json)",
            )
            .into_response()
        })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(AppState {
            vaults,
            status: Default::default(),
            stopping,
            logins: Default::default(),
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
    use axum::response::IntoResponse;
    let bytes = status_json(&s, &c).await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        bytes,
    )
        .into_response())
}

/// The status as JSON, made again only when something was recorded since (every change is
/// an event) or after STATUS_FRESH; one request makes it while the others wait for it, so
/// that a hundred clients polling status cost one computation (0.3 s at a million files), not
/// a hundred. The web UI's dashboard reads the same.
pub(crate) async fn status_json(s: &AppState, c: &Caller) -> Result<axum::body::Bytes, ApiError> {
    let Json(head) = s.call(c, Duty::Read, |v| v.catalog.event_head()).await?;
    let mut cached = s.status.lock().await;
    if let Some(k) = cached.as_ref() {
        if k.head == head && k.made.elapsed() < STATUS_FRESH {
            return Ok(k.json.clone());
        }
    }
    let Json(status) = s.call(c, Duty::Read, discvault::status::status).await?;
    let bytes = axum::body::Bytes::from(serde_json::to_vec(&status).map_err(|e| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
    })?);
    *cached = Some(CachedStatus {
        head,
        made: std::time::Instant::now(),
        json: bytes.clone(),
    });
    Ok(bytes)
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
    let limit = page_limit(p.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX)))? as usize;
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
    /// `json` (default), `html` or `pdf`.
    format: Option<ReportFormat>,
}

/// The form of a report.
#[derive(Deserialize, Serialize, Clone, Copy, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    Json,
    Html,
    /// Printed by a headless Chromium on the server (`[report] browser`).
    Pdf,
}

/// The preservation report: shortfalls, overdue and failing discs, disc health (`discvault
/// report --format json|html|pdf`).
#[utoipa::path(get, path = "/api/v1/report", params(ReportParams), responses(
    (status = 200, description = "the report; with format=html, as a page", content(
        (discvault::report::Report = "application/json"),
        (String = "text/html"),
        (Binary = "application/pdf"),
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
    let format = p.format.unwrap_or(ReportFormat::Json);
    let Json((r, pdf)) = s
        .call(&c, Duty::Read, move |v| {
            let r = discvault::report::build(v, discvault::now_unix())?;
            let pdf = match format {
                ReportFormat::Pdf => Some(discvault::report::pdf_bytes(
                    &discvault::report::html(&r),
                    &v.config.report.browser,
                )?),
                _ => None,
            };
            Ok((r, pdf))
        })
        .await?;
    Ok(match (format, pdf) {
        (ReportFormat::Pdf, Some(pdf)) => {
            ([(axum::http::header::CONTENT_TYPE, "application/pdf")], pdf).into_response()
        }
        (ReportFormat::Html, _) => {
            axum::response::Html(discvault::report::html(&r)).into_response()
        }
        _ => Json(r).into_response(),
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
