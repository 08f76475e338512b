//! The discs and what is known of them: collections, volumes, publishing jobs, copies (add,
//! move, mark), cabinets (inventory out, stocktaking in), quality measurements, labels.

use super::{AppState, Binary, ObjectBody};
use crate::auth::Caller;
use crate::error::{ApiBytes, ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use discvault::copies::{AddCopiesOptions, CopyView, PlaceInput};
use discvault::model::{Collection, Duty, Job, Volume};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The collections (fonds, series) records were added to.
#[utoipa::path(get, path = "/api/v1/collections", responses(
    (status = 200, body = [Collection]),
    (status = 401, body = ErrorBody),
))]
pub async fn collections(
    State(s): State<AppState>,
    c: Caller,
) -> Result<Json<Vec<Collection>>, ApiError> {
    s.call(&c, Duty::Read, |v| v.catalog.collections()).await
}

/// Every volume, in the order planned.
#[utoipa::path(get, path = "/api/v1/volumes", responses(
    (status = 200, body = [Volume]),
    (status = 401, body = ErrorBody),
))]
pub async fn volumes(State(s): State<AppState>, c: Caller) -> Result<Json<Vec<Volume>>, ApiError> {
    s.call(&c, Duty::Read, |v| v.catalog.volumes()).await
}

/// One volume.
#[utoipa::path(get, path = "/api/v1/volumes/{volume_id}", params(("volume_id" = String, Path, description = "V-000001")), responses(
    (status = 200, body = Volume),
    (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn volume(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Volume>, ApiError> {
    s.call(&c, Duty::Read, move |v| v.catalog.volume(&id)).await
}

/// The publishing jobs, with the state of each copy (`discvault jobs --json`).
#[utoipa::path(get, path = "/api/v1/jobs", responses(
    (status = 200, body = [Job]),
    (status = 401, body = ErrorBody),
))]
pub async fn jobs(State(s): State<AppState>, c: Caller) -> Result<Json<Vec<Job>>, ApiError> {
    s.call(&c, Duty::Read, |v| v.catalog.jobs()).await
}

/// Cancels an open publishing job: the copies not burned yet are cancelled, and the publisher
/// is asked to stop (`discvault jobs --cancel JOB --json`). Needs role operator or admin.
#[utoipa::path(post, path = "/api/v1/jobs/{job_id}/cancel", params(("job_id" = String, Path, description = "J-000001")), responses(
    (status = 200, body = ObjectBody),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn cancel_job(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<discvault::publish::CancelReport>, ApiError> {
    s.call(&c, Duty::Operate, move |v| {
        discvault::publish::cancel(v, &id)
    })
    .await
}

/// Copies to register for a volume (`discvault copies add VOLUME ... --json`).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CopiesAddRequest {
    /// The volume.
    pub volume: String,
    /// The options: `roles` (`["sealed", "access"]`; default: the configured roles),
    /// `medium`, `brand`, `batch`, `place` (`site/room/cabinet/shelf/slot`), `barcode`,
    /// `rfid` (one role only), `state` (`planned` or `written`).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub options: AddCopiesOptions,
}

/// Registers copies of a volume; a copy registered is not trusted until it is read back.
/// Needs role operator or admin.
#[utoipa::path(post, path = "/api/v1/copies", request_body = CopiesAddRequest, responses(
    (status = 200, body = [CopyView]),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn add_copies(
    State(s): State<AppState>,
    c: Caller,
    ApiJson(req): ApiJson<CopiesAddRequest>,
) -> Result<Json<Vec<CopyView>>, ApiError> {
    s.call(&c, Duty::Operate, move |v| {
        Ok(discvault::copies::add(v, &req.volume, &req.options)?
            .into_iter()
            .map(|c| discvault::copies::view(v, c))
            .collect())
    })
    .await
}

/// Where a copy is now.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct MoveRequest {
    /// `site/room/cabinet/shelf/slot` (all five parts; an unknown part left empty), or the
    /// parts one by one: `site`, `room`, `cabinet`, `shelf`, `slot`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub place: PlaceInput,
}

/// Records that a copy moved (`discvault copies move COPY --place ... --json`). Needs role
/// operator or admin.
#[utoipa::path(post, path = "/api/v1/copies/{copy}/move", request_body = MoveRequest, params(("copy" = String, Path, description = "copy id, barcode or RFID tag")), responses(
    (status = 200, body = CopyView),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn move_copy(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(key): ApiPath<String>,
    ApiJson(req): ApiJson<MoveRequest>,
) -> Result<Json<CopyView>, ApiError> {
    s.call(&c, Duty::Operate, move |v| {
        Ok(discvault::copies::view(
            v,
            discvault::copies::move_to(v, &key, &req.place)?,
        ))
    })
    .await
}

/// A copy's new state.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkRequest {
    /// `missing`, `damaged`, `destroyed`, `written` (found again), or `verified` (a clean
    /// read-back done earlier: give `at`).
    pub state: String,
    /// A note for the record.
    #[serde(default)]
    pub note: String,
    /// For `verified`: the date of the read-back (YYYY-MM-DD).
    #[schema(format = Date)]
    pub at: Option<String>,
}

/// Marks the state of a copy, with a note for the record (`discvault copies mark COPY --state
/// ... --json`). Needs role operator or admin.
#[utoipa::path(post, path = "/api/v1/copies/{copy}/mark", request_body = MarkRequest, params(("copy" = String, Path, description = "copy id, barcode or RFID tag")), responses(
    (status = 200, body = CopyView),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn mark_copy(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(key): ApiPath<String>,
    ApiJson(req): ApiJson<MarkRequest>,
) -> Result<Json<CopyView>, ApiError> {
    s.call(&c, Duty::Operate, move |v| {
        let at = req.at.as_deref().map(discvault::parse_date).transpose()?;
        let copy = discvault::copies::mark(v, &key, &req.state, &req.note, at)?;
        Ok(discvault::copies::view(v, copy))
    })
    .await
}

fn csv(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], bytes).into_response()
}

/// A cabinet's inventory as CSV: every copy kept in it, slot by slot (`discvault cabinet
/// export CABINET`), for the cabinet's own software or a stocktaking sheet.
#[utoipa::path(get, path = "/api/v1/cabinets/{cabinet}/inventory", params(("cabinet" = String, Path, description = "the cabinet, as in the copies' places (柜03)")), responses(
    (status = 200, description = "CSV: copy_id, barcode, rfid, cabinet, shelf, slot", content_type = "text/csv", body = String),
    (status = 400, body = ErrorBody, description = "no such cabinet"),
    (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn cabinet_inventory(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(cabinet): ApiPath<String>,
) -> Result<Response, ApiError> {
    let Json(bytes) = s
        .call(&c, Duty::Read, move |v| {
            let mut out = Vec::new();
            discvault::cabinet::export(v, &cabinet, &mut out)?;
            Ok(out)
        })
        .await?;
    Ok(csv(bytes))
}

/// Whether to apply a stocktaking.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// Only compare: change nothing (default false).
    dry_run: Option<bool>,
}

/// A cabinet's stocktaking (CSV with barcode, cabinet, slot and optionally shelf, in UTF-8 or
/// GBK) compared with the catalog; unless `dry_run`, copies found elsewhere are moved, copies
/// not seen are marked missing (`discvault cabinet import FILE --json`). A file with a bad row
/// is refused whole, every bad row named. Needs role operator or admin.
#[utoipa::path(post, path = "/api/v1/cabinets/import", params(ImportParams), request_body(content = String, content_type = "text/csv"), responses(
    (status = 200, body = ObjectBody),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
))]
pub async fn cabinet_import(
    State(s): State<AppState>,
    c: Caller,
    ApiQuery(p): ApiQuery<ImportParams>,
    ApiBytes(body): ApiBytes,
) -> Result<Json<discvault::cabinet::Reconciliation>, ApiError> {
    let apply = !p.dry_run.unwrap_or(false);
    s.call(&c, Duty::Operate, move |v| {
        discvault::cabinet::import_of(v, Path::new("the request's body"), &body, apply)
    })
    .await
}

/// Disc quality measurements (CSV from a disc analyser: copy, metric, value, measured_at, in
/// UTF-8 or GBK), graded and recorded (`discvault quality import FILE --json`). Needs role
/// operator or admin.
#[utoipa::path(post, path = "/api/v1/quality/import", request_body(content = String, content_type = "text/csv"), responses(
    (status = 200, body = [ObjectBody]),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
))]
pub async fn quality_import(
    State(s): State<AppState>,
    c: Caller,
    ApiBytes(body): ApiBytes,
) -> Result<Json<Vec<discvault::quality::Graded>>, ApiError> {
    s.call(&c, Duty::Operate, move |v| {
        discvault::quality::import_of(v, Path::new("the request's body"), &body)
    })
    .await
}

/// What a label shows.
#[derive(Deserialize, Serialize, Clone, Copy, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LabelKind {
    /// The disc face of a volume or copy.
    Face,
    /// The case spine of a volume or copy.
    Spine,
    /// A sheet of slot labels of a cabinet.
    Slots,
}

/// A label's form.
#[derive(Deserialize, Serialize, Clone, Copy, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LabelForm {
    Svg,
    Png,
    Pdf,
}

/// A label's form.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LabelParams {
    /// `svg` (default), `png` or `pdf`.
    format: Option<LabelForm>,
    /// A template by name (`GET /api/v1/labels/templates`; default: the vault's for the kind).
    template: Option<String>,
}

/// The label templates one may choose (`discvault label --list-templates`): the shipped ones,
/// then the vault's own, each with its kind (`face`, `spine`, `slot`) and whether it is the
/// default.
#[utoipa::path(get, path = "/api/v1/labels/templates", responses(
    (status = 200, body = [discvault::label::LabelTemplate]),
    (status = 401, body = ErrorBody),
))]
pub async fn label_templates(
    State(s): State<AppState>,
    c: Caller,
) -> Result<Json<Vec<discvault::label::LabelTemplate>>, ApiError> {
    s.call(&c, Duty::Read, |v| Ok(discvault::label::templates(v)))
        .await
}

/// A label, with the vault's template and fonts (`discvault label KEY [--spine | --slots
/// CABINET] --format F`): the disc face or case spine of a volume or copy (a volume id, copy
/// id or barcode), or a cabinet's slot labels.
#[utoipa::path(get, path = "/api/v1/labels/{kind}/{key}", params(
    ("kind" = LabelKind, Path, description = "face, spine or slots"),
    ("key" = String, Path, description = "a volume id, copy id or barcode; for slots, a cabinet"),
    LabelParams,
), responses(
    (status = 200, description = "the label", content(
        (String = "image/svg+xml"),
        (Binary = "image/png"),
        (Binary = "application/pdf"),
    )),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn label(
    State(s): State<AppState>,
    c: Caller,
    ApiPath((kind, key)): ApiPath<(LabelKind, String)>,
    ApiQuery(p): ApiQuery<LabelParams>,
) -> Result<Response, ApiError> {
    use discvault::label::{LabelFormat, LabelOptions, LabelSubject};
    let (format, mime) = match p.format.unwrap_or(LabelForm::Svg) {
        LabelForm::Svg => (LabelFormat::Svg, "image/svg+xml"),
        LabelForm::Png => (LabelFormat::Png, "image/png"),
        LabelForm::Pdf => (LabelFormat::Pdf, "application/pdf"),
    };
    let subject = match kind {
        LabelKind::Face => LabelSubject::Face(key),
        LabelKind::Spine => LabelSubject::Spine(key),
        LabelKind::Slots => LabelSubject::Slots(key),
    };
    let Json(bytes) = s
        .call(&c, Duty::Read, move |v| {
            discvault::label::render(
                v,
                &LabelOptions {
                    subject,
                    format,
                    template: p.template,
                    template_file: None,
                },
            )
        })
        .await?;
    Ok(([(header::CONTENT_TYPE, mime)], bytes).into_response())
}
