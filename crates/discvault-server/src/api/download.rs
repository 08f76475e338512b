//! A restore's files downloaded as one tar or zip stream: written on a worker thread into a
//! channel as they are read, so that neither the archive nor a file is held whole in memory.

use super::{AppState, Binary};
use crate::auth::Caller;
use crate::error::{ApiError, ApiPath, ApiQuery, ErrorBody};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use discvault::model::Duty;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// An archive's form.
#[derive(Deserialize, Serialize, Clone, Copy, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ArchiveForm {
    Tar,
    Zip,
}

/// An archive's form.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DownloadParams {
    /// `tar` (default) or `zip`.
    format: Option<ArchiveForm>,
}

/// Bytes written into the answer's body, a chunk at a time.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
    /// A client that takes nothing for this long is cut off.
    idle: std::time::Duration,
    runtime: tokio::runtime::Handle,
}

const CHUNK: usize = 256 << 10;

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        use tokio::sync::mpsc::error::SendTimeoutError;
        match self
            .runtime
            .block_on(self.tx.send_timeout(Ok(chunk), self.idle))
        {
            Ok(()) => Ok(()),
            Err(SendTimeoutError::Closed(_)) => Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the client stopped the download",
            )),
            Err(SendTimeoutError::Timeout(_)) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("the client took nothing for {} s", self.idle.as_secs()),
            )),
        }
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// The entries of `dir`, sorted, with their names inside the archive (`/` separated).
fn entries(dir: &Path) -> std::io::Result<Vec<(PathBuf, String)>> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
        .min_depth(1)
    {
        let e = e.map_err(std::io::Error::other)?;
        let rel = e.path().strip_prefix(dir).map_err(std::io::Error::other)?;
        let name = rel
            .to_str()
            .ok_or_else(|| {
                std::io::Error::other(format!("{}: a name that is not UTF-8", rel.display()))
            })?
            .to_string();
        out.push((e.path().to_path_buf(), name));
    }
    Ok(out)
}

fn write_tar(dir: &Path, w: ChannelWriter) -> std::io::Result<()> {
    let mut b = tar::Builder::new(w);
    // Links stay links, as they were restored.
    b.follow_symlinks(false);
    for (path, name) in entries(dir)? {
        b.append_path_with_name(&path, &name)?;
    }
    let mut w = b.into_inner()?;
    w.flush()
}

fn write_zip(dir: &Path, w: ChannelWriter) -> std::io::Result<()> {
    use zip::write::SimpleFileOptions;
    let mut z = zip::ZipWriter::new_stream(w);
    let zerr = |e: zip::result::ZipError| std::io::Error::other(e.to_string());
    for (path, name) in entries(dir)? {
        let md = std::fs::symlink_metadata(&path)?;
        let opts = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(md.len() >= u32::MAX as u64)
            .unix_permissions({
                use std::os::unix::fs::PermissionsExt;
                md.permissions().mode() & 0o777
            });
        if md.file_type().is_symlink() {
            let target = std::fs::read_link(&path)?;
            z.add_symlink(name, target.to_string_lossy(), opts)
                .map_err(zerr)?;
        } else if md.is_dir() {
            z.add_directory(name, opts).map_err(zerr)?;
        } else {
            z.start_file(name, opts).map_err(zerr)?;
            std::io::copy(&mut std::fs::File::open(&path)?, &mut z)?;
        }
    }
    let mut w = z.finish().map_err(zerr)?.into_inner();
    w.flush()
}

/// A restore's files as one tar or zip stream: a task of kind `restore` asked for without
/// `to`, once done. Needs role archivist or admin.
#[utoipa::path(get, path = "/api/v1/tasks/{task_id}/download", params(("task_id" = String, Path, description = "T-000001"), DownloadParams), responses(
    (status = 200, description = "the restored files", content(
        (Binary = "application/x-tar"),
        (Binary = "application/zip"),
    )),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody, description = "the task has not finished"),
))]
pub async fn download(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(p): ApiQuery<DownloadParams>,
) -> Result<Response, ApiError> {
    let seen = id.clone();
    let Json(dir) = s
        .call(&c, Duty::Archive, move |v| {
            discvault::tasks::download(v, &seen)
        })
        .await?;
    let form = p.format.unwrap_or(ArchiveForm::Tar);
    // The place is the writer's until the archive is written (or the client went away).
    let place = s.vaults.transfer()?;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let idle = std::time::Duration::from_secs(s.vaults.server.transfer_idle_seconds);
    let runtime = tokio::runtime::Handle::current();
    // Set once the archive is written whole: a body whose writer stopped before ends with an
    // error, so that the client sees a broken download, never a short archive taken for whole
    // (the error itself may not fit in the channel of a client that stopped reading).
    let whole = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let written = whole.clone();
    tokio::task::spawn_blocking(move || {
        let _place = place;
        let w = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
            idle,
            runtime,
        };
        let res = match form {
            ArchiveForm::Tar => write_tar(&dir, w),
            ArchiveForm::Zip => write_zip(&dir, w),
        };
        match res {
            Ok(()) => written.store(true, std::sync::atomic::Ordering::SeqCst),
            Err(e) => {
                let _ = tx.try_send(Err(e));
            }
        }
    });
    let body = Body::from_stream(futures_util::stream::unfold(Some(rx), move |rx| {
        let whole = whole.clone();
        async move {
            let mut rx = rx?;
            match rx.recv().await {
                Some(item) => Some((item, Some(rx))),
                None if whole.load(std::sync::atomic::Ordering::SeqCst) => None,
                None => Some((Err(std::io::Error::other("the download broke off")), None)),
            }
        }
    }));
    let (mime, ext) = match form {
        ArchiveForm::Tar => ("application/x-tar", "tar"),
        ArchiveForm::Zip => ("application/zip", "zip"),
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{id}.{ext}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// Deletes a restore's files kept for download. Needs role archivist or admin.
#[utoipa::path(delete, path = "/api/v1/tasks/{task_id}/download", params(("task_id" = String, Path, description = "T-000001")), responses(
    (status = 204, description = "deleted"),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody),
))]
pub async fn delete_download(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::http::StatusCode, ApiError> {
    let Json(()) = s
        .call(&c, Duty::Archive, move |v| {
            discvault::tasks::delete_download(v, &id)
        })
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
