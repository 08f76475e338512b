//! Uploads (`discvault::uploads`): a manifest first, then the files, each streamed to disk as
//! it comes (a raw body, resumable with `Content-Range`, or parts of a multipart form), then
//! the commit that queues their `add`.

use super::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiMultipart, ApiPath, ApiQuery, ErrorBody};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use discvault::model::{Duty, Task};
use discvault::uploads::{Upload, UploadRequest};
use futures_util::StreamExt;
use serde::Deserialize;
use std::io::Read;

type Chunk = Result<Bytes, std::io::Error>;

/// A request's body as the library reads it: chunks handed over from the async side.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Chunk>,
    cur: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur.split_to(n));
        Ok(n)
    }
}

/// Streams `chunks` into one file of an upload on a worker thread. It holds a transfer place,
/// not a catalog connection: uploads do not touch the catalog until they are committed.
async fn receive<S, E>(
    s: &AppState,
    c: &Caller,
    id: String,
    path: String,
    offset: u64,
    mut chunks: S,
) -> Result<Upload, ApiError>
where
    S: futures_util::Stream<Item = Result<Bytes, E>> + Unpin + Send + 'static,
    E: std::fmt::Display,
{
    c.may(Duty::Archive)?;
    let _place = s.vaults.transfer()?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(8);
    // A client that sends nothing for this long gives its place back (it resumes later).
    let idle = std::time::Duration::from_secs(s.vaults.server.transfer_idle_seconds);
    let pump = async move {
        loop {
            let Ok(next) = tokio::time::timeout(idle, chunks.next()).await else {
                let _ = tx
                    .send(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("no byte came for {} s", idle.as_secs()),
                    )))
                    .await;
                break;
            };
            let Some(chunk) = next else { break };
            let item = chunk.map_err(|e| std::io::Error::other(e.to_string()));
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    };
    let root = s.vaults.root().to_path_buf();
    let work = tokio::task::spawn_blocking(move || {
        let mut r = ChannelReader {
            rx,
            cur: Bytes::new(),
        };
        discvault::uploads::receive(&root, &id, &path, offset, &mut r)
    });
    let ((), res) = tokio::join!(pump, work);
    let res = res.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the upload's worker failed: {e}"),
        )
    })?;
    Ok(res?)
}

/// Starts an upload with its manifest: each file's `path` among the records (relative, `/`
/// between names), `size` and `sha256`; and the `collection` (and `metadata`) to add them to.
/// Needs role archivist or admin. An upload that would not fit in the vault's free space, with
/// what the uploads under way still have to receive, is refused at once (413, `no_space`).
#[utoipa::path(post, path = "/api/v1/uploads", request_body = UploadRequest, responses(
    (status = 201, body = Upload),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 413, body = ErrorBody),
))]
pub async fn start(
    State(s): State<AppState>,
    c: Caller,
    ApiJson(req): ApiJson<UploadRequest>,
) -> Result<(StatusCode, Json<Upload>), ApiError> {
    let Json(u) = s
        .call(&c, Duty::Archive, move |v| {
            discvault::uploads::start(&v.root, &req)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(u)))
}

/// An upload: each file's bytes received (where to resume) and whether it is checked.
#[utoipa::path(get, path = "/api/v1/uploads/{upload_id}", params(("upload_id" = String, Path, description = "U-0123456789abcdef")), responses(
    (status = 200, body = Upload),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn get(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Upload>, ApiError> {
    s.call(&c, Duty::Archive, move |v| {
        discvault::uploads::get(&v.root, &id)
    })
    .await
}

/// Which file a body is.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FileParams {
    /// The file's path, as in the manifest.
    path: String,
}

/// Where a body starts: `Content-Range: bytes START-END/TOTAL` (START: the bytes received),
/// else 0.
fn offset(h: &HeaderMap) -> Result<u64, ApiError> {
    let Some(v) = h.get(axum::http::header::CONTENT_RANGE) else {
        return Ok(0);
    };
    v.to_str()
        .ok()
        .and_then(|v| v.strip_prefix("bytes "))
        .and_then(|v| v.split('-').next())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid",
                "Content-Range: give bytes START-END/TOTAL, START the bytes received so far",
            )
        })
}

/// One file's bytes as the body, streamed to disk; resumed from the bytes received with
/// `Content-Range: bytes START-END/TOTAL`. Once whole, its SHA-256 is checked: a file that
/// does not match is dropped (400; send it again). Needs role archivist or admin.
#[utoipa::path(put, path = "/api/v1/uploads/{upload_id}/file", params(("upload_id" = String, Path, description = "U-0123456789abcdef"), FileParams), request_body(content = super::Binary, content_type = "application/octet-stream"), responses(
    (status = 200, body = Upload),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody, description = "not where the file stands: resume from its bytes received"),
))]
pub async fn put_file(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(p): ApiQuery<FileParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Upload>, ApiError> {
    let from = offset(&headers)?;
    let u = receive(&s, &c, id, p.path, from, body.into_data_stream()).await?;
    Ok(Json(u))
}

/// Files as parts of a multipart form: each part's file name is its path in the manifest,
/// each streamed to disk and checked as it ends. Needs role archivist or admin.
#[utoipa::path(post, path = "/api/v1/uploads/{upload_id}/files", params(("upload_id" = String, Path, description = "U-0123456789abcdef")), request_body(content = String, content_type = "multipart/form-data", description = "parts named file, each with filename=\"PATH\""), responses(
    (status = 200, body = Upload),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody),
))]
pub async fn post_files(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(id): ApiPath<String>,
    ApiMultipart(mut form): ApiMultipart,
) -> Result<Json<Upload>, ApiError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("invalid form: {e}"),
        )
    };
    let mut last = None;
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let Some(path) = field
            .file_name()
            .or(field.name())
            .map(str::to_string)
            .filter(|p| !p.is_empty())
        else {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid",
                "a part without a file name: give filename=\"PATH\" as in the manifest",
            ));
        };
        // The part is read here as it streams; its chunks go to the worker.
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, String>>(8);
        let id2 = id.clone();
        let stream =
            futures_util::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|x| (x, rx)) },
            );
        let work = receive(&s, &c, id2, path, 0, Box::pin(stream));
        let mut field = field;
        let feed = async move {
            loop {
                match field.chunk().await {
                    Ok(Some(b)) => {
                        if tx.send(Ok(b)).await.is_err() {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string())).await;
                        break;
                    }
                }
            }
        };
        let ((), u) = tokio::join!(feed, work);
        last = Some(u?);
    }
    match last {
        Some(u) => Ok(Json(u)),
        None => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            "a form without files",
        )),
    }
}

/// Commits an upload whose files are all received and checked: queues the `add` task that
/// records them (follow it as any task). Needs role archivist or admin.
#[utoipa::path(post, path = "/api/v1/uploads/{upload_id}/commit", params(("upload_id" = String, Path, description = "U-0123456789abcdef")), responses(
    (status = 202, body = Task),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody, description = "files still missing, or committed already"),
))]
pub async fn commit(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    let Json(t) = s
        .call(&c, Duty::Archive, move |v| {
            discvault::uploads::commit(v, &id)
        })
        .await?;
    Ok((StatusCode::ACCEPTED, Json(t)))
}

/// Deletes an upload not committed (or whose records were recorded). Needs role archivist or
/// admin.
#[utoipa::path(delete, path = "/api/v1/uploads/{upload_id}", params(("upload_id" = String, Path, description = "U-0123456789abcdef")), responses(
    (status = 204, description = "deleted"),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody),
))]
pub async fn delete(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let Json(()) = s
        .call(&c, Duty::Archive, move |v| {
            discvault::uploads::delete(v, &id)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
