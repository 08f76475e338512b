//! Ingest: a folder on the server, inside the configured roots, added to a collection with its
//! metadata (全宗号, 年度, 保管期限, 密级 and free keys, checked as a watched folder's sidecar
//! is); the add runs as a task. The watched folders and what became of their last deliveries.

use super::{layout, Page};
use crate::api::AppState;
use crate::error::ApiError;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Form;
use discvault::ingest::{CLASSIFICATIONS, RETENTIONS};
use discvault::model::{Duty, TaskKind};
use discvault::uploads::{Upload, UploadFile, UploadRequest};
use maud::{html, Markup};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct IngestForm {
    #[serde(default)]
    folder: String,
    collection: String,
    #[serde(default)]
    fonds: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    retention: String,
    #[serde(default)]
    classification: String,
    /// More keys, `KEY=VALUE` a line.
    #[serde(default)]
    more: String,
}

/// The newest entries of a watched folder's `done/` or `error/` (with the first line of each
/// one's REASON.txt).
fn latest(dir: &std::path::Path, n: usize) -> Vec<(String, String)> {
    let mut v: Vec<(std::time::SystemTime, String, String)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let t = e.metadata().ok()?.modified().ok()?;
            let name = e.file_name().to_string_lossy().into_owned();
            let reason = std::fs::read_to_string(e.path().join("REASON.txt"))
                .ok()
                .and_then(|r| r.lines().next().map(str::to_string))
                .unwrap_or_default();
            Some((t, name, reason))
        })
        .collect();
    v.sort_by_key(|x| std::cmp::Reverse(x.0));
    v.into_iter().take(n).map(|(_, a, b)| (a, b)).collect()
}

fn watched(p: &Page, s: &AppState) -> Markup {
    let folders = &s.vaults.server.watched;
    html! {
        section aria-labelledby="watched-title" {
            h2 #watched-title { (p.t("ingest.watched")) }
            @if folders.is_empty() {
                p.hint { (p.t("ingest.no_watched")) }
            }
            @for w in folders {
                div.card.watched {
                    h3 { code { (w.path.display()) } }
                    @for (kind, key) in [("done", "ingest.done"), ("error", "ingest.error")] {
                        @let items = latest(&w.path.join(kind), 5);
                        p { strong { (p.t(key)) } }
                        @if items.is_empty() {
                            p.muted { (p.t("dash.none")) }
                        } @else {
                            ul {
                                @for (name, reason) in items {
                                    li { (name) @if !reason.is_empty() { " — " span.error { (reason) } } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn page(State(s): State<AppState>, p: Page) -> Response {
    if !p.who.may(Duty::Archive) {
        return super::forbidden(&p);
    }
    let collections = match s
        .call(&p.caller(), Duty::Read, |v| v.catalog.collections())
        .await
    {
        Ok(axum::Json(c)) => c,
        Err(e) => return e.into_response(),
    };
    let roots = &s.vaults.server.roots;
    let content = html! {
        p.hint { (p.t("ingest.intro")) }
        form.ingest hx-post="/ingest" hx-target="#ingest-result"
            data-hashing=(p.t("ingest.hashing")) data-sending=(p.t("ingest.sending"))
            data-committing=(p.t("ingest.committing")) data-failed=(p.t("ingest.failed"))
            data-twice=(p.t("ingest.twice")) data-session=(p.t("ingest.session")) {
            p {
                label for="folder" { (p.t("ingest.folder")) }
                input #folder type="text" name="folder" list="roots" aria-describedby="folder-hint";
                datalist #roots { @for r in roots { option value=(r.display()) {} } }
                span.hint #folder-hint {
                    (p.t("ingest.roots")) " "
                    @if roots.is_empty() { (p.t("ingest.no_roots")) }
                    (super::roots_list(roots))
                }
            }
            fieldset.upload {
                legend { (p.t("ingest.or_upload")) }
                p {
                    label for="upload-files" { (p.t("ingest.upload_files")) }
                    input #upload-files type="file" multiple aria-describedby="upload-hint";
                }
                p {
                    label for="upload-folder" { (p.t("ingest.upload_folder")) }
                    input #upload-folder type="file" webkitdirectory multiple aria-describedby="upload-hint";
                }
                span.hint #upload-hint { (p.t("ingest.upload_hint")) }
            }
            p {
                label for="collection" { (p.t("ingest.collection")) }
                input #collection type="text" name="collection" list="collections" required;
                datalist #collections { @for c in &collections { option value=(c.name) {} } }
            }
            fieldset {
                legend { (p.t("ingest.metadata")) }
                p {
                    label for="fonds" { (p.t("ingest.fonds")) }
                    input #fonds type="text" name="fonds";
                }
                p {
                    label for="year" { (p.t("ingest.year")) }
                    input #year type="text" name="year" inputmode="numeric" pattern="[0-9]{4}";
                }
                p {
                    label for="retention" { (p.t("ingest.retention")) }
                    select #retention name="retention" {
                        option value="" { "—" }
                        @for r in RETENTIONS { option value=(r) { (r) } }
                    }
                }
                p {
                    label for="classification" { (p.t("ingest.classification")) }
                    select #classification name="classification" {
                        option value="" { "—" }
                        @for c in CLASSIFICATIONS { option value=(c) { (c) } }
                    }
                }
                p {
                    label for="more" { (p.t("ingest.more")) }
                    textarea #more name="more" rows="3" aria-describedby="more-hint" {}
                    span.hint #more-hint { (p.t("ingest.more_hint")) }
                }
            }
            p { button type="submit" { (p.t("ingest.submit")) } }
        }
        div #ingest-result aria-live="polite" {}
        (watched(&p, &s))
    };
    layout(&p, p.t("ingest.title"), content)
}

fn refused(p: &Page, message: &str) -> Response {
    super::refusal(p, "ingest", message)
}

/// The collection and metadata of the form, checked as a sidecar's are; else why not.
fn collection_and_metadata(
    p: &Page,
    f: IngestForm,
) -> Result<(String, std::collections::BTreeMap<String, String>), String> {
    let mut pairs = vec![
        ("全宗号".to_string(), f.fonds),
        ("年度".to_string(), f.year),
        ("保管期限".to_string(), f.retention),
        ("密级".to_string(), f.classification),
    ];
    pairs.retain(|(_, v)| !v.trim().is_empty());
    for line in f.more.lines().filter(|l| !l.trim().is_empty()) {
        match line.split_once('=') {
            Some((k, v)) => pairs.push((k.to_string(), v.to_string())),
            None => return Err(format!("{line:?}: KEY=VALUE")),
        }
    }
    let (named, metadata) = discvault::ingest::checked_metadata(pairs)?;
    let collection = named.unwrap_or(f.collection);
    if collection.trim().is_empty() {
        return Err(p.t("ingest.collection").to_string());
    }
    Ok((collection.trim().to_string(), metadata))
}

/// The form checked (metadata as a sidecar's), then the add queued as a task; the answer
/// replaces the result under the form.
pub async fn submit(State(s): State<AppState>, p: Page, Form(f): Form<IngestForm>) -> Response {
    let folder = f.folder.trim().to_string();
    if folder.is_empty() {
        return refused(&p, p.t("ingest.nothing_chosen"));
    }
    let (collection, metadata) = match collection_and_metadata(&p, f) {
        Ok(x) => x,
        Err(e) => return refused(&p, &e),
    };
    let params = serde_json::json!({
        "paths": [folder],
        "collection": collection,
        "metadata": metadata,
    });
    super::queue_task(&s, &p, TaskKind::Add, params, "ingest").await
}

/// The form of an upload from the browser: the fields of the page's form, and the files as
/// the page's script hashed them (`manifest`: a JSON list of `{path, size, sha256}`).
#[derive(Deserialize)]
pub struct UploadForm {
    #[serde(flatten)]
    form: IngestForm,
    manifest: String,
}

/// An upload from the browser begun: the form checked as [`submit`] checks it, then the upload
/// made (the API's `POST /api/v1/uploads`); the page's script sends the files and commits it
/// through the API. The answer is the API's JSON: the upload, or the error.
pub async fn upload(
    State(s): State<AppState>,
    p: Page,
    Form(f): Form<UploadForm>,
) -> Result<(axum::http::StatusCode, axum::Json<Upload>), ApiError> {
    let invalid = |m: String| ApiError::new(axum::http::StatusCode::BAD_REQUEST, "invalid", m);
    let files: Vec<UploadFile> =
        serde_json::from_str(&f.manifest).map_err(|e| invalid(format!("manifest: {e}")))?;
    let (collection, metadata) = collection_and_metadata(&p, f.form).map_err(invalid)?;
    let req = UploadRequest {
        collection,
        metadata,
        files,
    };
    let axum::Json(u) = s
        .call(&p.caller(), Duty::Archive, move |v| {
            discvault::uploads::start(&v.root, &req)
        })
        .await?;
    Ok((axum::http::StatusCode::CREATED, axum::Json(u)))
}
