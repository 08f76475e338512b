//! Uploads: records sent over HTTP by a records system that cannot write to the server's
//! folders. An upload starts with its manifest (every file's path, size and SHA-256, as a
//! BagIt manifest would say them); the files then come in any order, each in one request or
//! resumed from where it broke off, into the vault's `uploads/<id>/` (by their place in the
//! manifest, never by their names); a file whose bytes do not match its digest is dropped.
//! Once every file is there, committing lays them out under their paths and queues an `add`
//! task (staged: the upload's folder goes once they are recorded).
//!
//! An upload's state is its `upload.json`, beside its files: an upload belongs to the server
//! that received it.

use crate::error::IoContext;
use crate::model::{Task, TaskKind};
use crate::{Error, Result, Vault};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

const STATE: &str = "upload.json";
const RECORDS: &str = "records";
/// Files of one upload, at most.
pub const MAX_FILES: usize = 100_000;
/// One file's size, at most (1 PiB: larger is a mistake, not a record).
const MAX_SIZE: u64 = 1 << 50;
/// Space an upload leaves free on the vault's file system, beyond what every open upload
/// still has to receive: the catalog and the images need room too.
pub const KEEP_FREE: u64 = 256 << 20;

/// One file of an upload's manifest, with what has come of it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadFile {
    /// Its path among the records (`2024/卷001/通知.pdf`): relative, `/` separated.
    pub path: String,
    pub size: u64,
    /// SHA-256, hex.
    pub sha256: String,
    /// Bytes received so far: a broken-off upload resumes here.
    #[serde(default)]
    pub received: u64,
    /// All there, its digest checked.
    #[serde(default)]
    pub verified: bool,
}

/// An upload to start: where its records go, and its manifest.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct UploadRequest {
    pub collection: String,
    /// Metadata merged into the collection (`fonds`, `retention`, or free keys).
    pub metadata: BTreeMap<String, String>,
    /// Each file: `path`, `size`, `sha256`.
    pub files: Vec<UploadFile>,
}

/// An upload and where it is.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Upload {
    /// `U-` and 16 hex digits.
    pub upload_id: String,
    pub collection: String,
    pub metadata: BTreeMap<String, String>,
    pub files: Vec<UploadFile>,
    pub created_by: String,
    pub created_at: i64,
    /// Laid out under the records' paths: no more files are taken.
    #[serde(default)]
    pub committed: bool,
    /// The `add` task queued when it was committed.
    pub task_id: Option<String>,
}

fn bad(field: &str, detail: String) -> Error {
    Error::Invalid {
        field: field.into(),
        detail,
    }
}

/// `path` as a record's path: relative, each part a plain name of at most 255 bytes.
fn check_path(path: &str) -> Result<()> {
    let refuse = |why: &str| bad("files.path", format!("{path:?}: {why}"));
    if path.is_empty() || path.len() > 4096 {
        return Err(refuse("a path is 1 to 4096 bytes"));
    }
    if path.chars().any(|c| c.is_control() || c == '\\') {
        return Err(refuse("no control characters or backslashes"));
    }
    for part in path.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return Err(refuse(
                "a relative path of plain names, / between them (no \"..\", \".\", leading or doubled /)",
            ));
        }
        if part.len() > 255 {
            return Err(refuse("a name is at most 255 bytes"));
        }
    }
    Ok(())
}

fn folder(root: &Path, upload_id: &str) -> Result<PathBuf> {
    // The id names a folder: only what `start` makes.
    let ok = upload_id.len() == 18
        && upload_id.starts_with("U-")
        && upload_id[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(Error::NotFound(format!("upload {upload_id}")));
    }
    Ok(root.join("uploads").join(upload_id))
}

fn save(dir: &Path, u: &Upload) -> Result<()> {
    let tmp = dir.join(format!("upload.json.{}.new", std::process::id()));
    let text = serde_json::to_vec_pretty(u).map_err(|e| bad("upload", e.to_string()))?;
    std::fs::write(&tmp, text).at(&tmp)?;
    let to = dir.join(STATE);
    std::fs::rename(&tmp, &to).at(&to)
}

/// Runs `f` on an upload's state under its lock (requests of one upload at once, and several
/// processes), saving what it leaves.
fn with_state<T>(
    root: &Path,
    upload_id: &str,
    f: impl FnOnce(&mut Upload) -> Result<T>,
) -> Result<T> {
    let dir = folder(root, upload_id)?;
    let lock_path = dir.join("upload.lock");
    let lock = match std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
    {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotFound(format!("upload {upload_id}")))
        }
        Err(e) => {
            return Err(Error::Io {
                path: lock_path,
                source: e,
            })
        }
    };
    lock.lock().at(&lock_path)?;
    let mut u = get(root, upload_id)?;
    let out = f(&mut u)?;
    save(&dir, &u)?;
    Ok(out)
}

/// Starts an upload from its manifest, checked whole: every bad entry is named.
pub fn start(root: &Path, req: &UploadRequest) -> Result<Upload> {
    if req.collection.trim().is_empty() || req.collection.contains('/') {
        return Err(bad(
            "collection",
            format!(
                "{:?}: a collection name is non-empty and has no '/'",
                req.collection
            ),
        ));
    }
    if req.files.is_empty() || req.files.len() > MAX_FILES {
        return Err(bad(
            "files",
            format!(
                "an upload has 1 to {MAX_FILES} files, not {}",
                req.files.len()
            ),
        ));
    }
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    let mut dirs = BTreeSet::new();
    for f in &req.files {
        if let Err(e) = check_path(&f.path) {
            errors.push(e.to_string());
        }
        if f.sha256.len() != 64 || !f.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            errors.push(format!("{}: sha256 is 64 hex digits", f.path));
        }
        if f.size > MAX_SIZE {
            errors.push(format!(
                "{}: size {} is more than a record can be",
                f.path, f.size
            ));
        }
        if !seen.insert(f.path.as_str()) {
            errors.push(format!("{}: listed twice", f.path));
        }
        let mut p = Path::new(&f.path).parent();
        while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(d.to_string_lossy().into_owned());
            p = d.parent();
        }
    }
    for f in &req.files {
        if dirs.contains(&f.path) {
            errors.push(format!("{}: both a file and a folder", f.path));
        }
    }
    if !errors.is_empty() {
        return Err(bad("files", errors.join("; ")));
    }
    // Room for it: what it brings, and what the open uploads still have to receive.
    let uploads = root.join("uploads");
    std::fs::create_dir_all(&uploads).at(&uploads)?;
    let size: u64 = req.files.iter().map(|f| f.size).sum();
    let promised: u64 = open_uploads(root)?
        .iter()
        .filter(|u| !u.committed)
        .flat_map(|u| &u.files)
        .map(|f| f.size - f.received.min(f.size))
        .sum();
    let free = free_bytes(&uploads)?;
    if size.saturating_add(promised).saturating_add(KEEP_FREE) > free {
        return Err(Error::NoSpace {
            path: uploads,
            detail: format!(
                "an upload of {size} bytes does not fit: {free} bytes are free, {promised} of them \
                 promised to the uploads under way and {KEEP_FREE} kept free"
            ),
        });
    }
    let mut id = [0u8; 8];
    getrandom::getrandom(&mut id).map_err(|e| bad("upload", e.to_string()))?;
    let u = Upload {
        upload_id: format!("U-{}", hex::encode(id)),
        collection: req.collection.clone(),
        metadata: req.metadata.clone(),
        files: req
            .files
            .iter()
            .map(|f| UploadFile {
                sha256: f.sha256.to_ascii_lowercase(),
                received: 0,
                verified: false,
                ..f.clone()
            })
            .collect(),
        created_by: crate::model::agent(),
        created_at: crate::now_unix(),
        committed: false,
        task_id: None,
    };
    let dir = folder(root, &u.upload_id)?;
    std::fs::create_dir_all(&dir).at(&dir)?;
    save(&dir, &u)?;
    Ok(u)
}

/// An upload as it stands.
pub fn get(root: &Path, upload_id: &str) -> Result<Upload> {
    let path = folder(root, upload_id)?.join(STATE);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotFound(format!("upload {upload_id}")))
        }
        Err(e) => return Err(Error::Io { path, source: e }),
    };
    let mut u: Upload = serde_json::from_slice(&text).map_err(|e| Error::CatalogData {
        what: path.display().to_string(),
        detail: e.to_string(),
    })?;
    // What is on disk: a request that broke off left its bytes, not its count.
    let dir = folder(root, upload_id)?;
    for (k, f) in u.files.iter_mut().enumerate() {
        if !f.verified && !u.committed {
            f.received = std::fs::metadata(dir.join(k.to_string()))
                .map(|m| m.len())
                .unwrap_or(0);
        }
    }
    Ok(u)
}

/// Receives bytes of one file from `offset` (the bytes it has: 0 for a whole file, the
/// `received` of the upload to resume). The file's bytes past its size are refused; once it is
/// whole its digest is checked, and a file that does not match is dropped (sent again whole).
/// Several files of one upload may come at once; one file, one request at a time.
pub fn receive(
    root: &Path,
    upload_id: &str,
    path: &str,
    offset: u64,
    body: &mut dyn Read,
) -> Result<Upload> {
    let dir = folder(root, upload_id)?;
    let (k, size, want) = with_state(root, upload_id, |u| {
        if u.committed {
            return Err(Error::Conflict(format!("upload {upload_id} was committed")));
        }
        let k = u.files.iter().position(|f| f.path == path).ok_or_else(|| {
            Error::NotFound(format!("{path:?} is not in upload {upload_id}'s manifest"))
        })?;
        let f = &u.files[k];
        if f.verified {
            return Err(Error::Conflict(format!(
                "{path}: received and checked already"
            )));
        }
        Ok((k, f.size, f.sha256.clone()))
    })?;
    let data = dir.join(k.to_string());
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&data)
        .at(&data)?;
    match out.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(Error::Conflict(format!(
                "{path}: another request is sending it now"
            )))
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(Error::Io {
                path: data,
                source: e,
            })
        }
    }
    let have = out.metadata().at(&data)?.len();
    if offset != have {
        return Err(Error::Conflict(format!(
            "{path}: {have} bytes are here; send from byte {have}"
        )));
    }
    let room = size - have;
    // One byte more than the file can take tells a body that is too long.
    let n = match copy_in(&mut body.take(room + 1), &mut out, &data)? {
        Ok(n) => n,
        Err((n, e)) => {
            // The request broke off: what came is kept, to resume from.
            return Err(bad(
                "body",
                format!(
                    "{path}: the request broke off after {n} bytes ({e}); resume from byte {}",
                    have + n
                ),
            ));
        }
    };
    if n > room {
        // Back to what was here before this request.
        out.set_len(have).at(&data)?;
        return Err(bad(
            "body",
            format!("{path}: more than its {size} bytes; send from byte {have} again"),
        ));
    }
    if have + n == size {
        let mut h = Sha256::new();
        let mut file = std::fs::File::open(&data).at(&data)?;
        std::io::copy(&mut file, &mut h).at(&data)?;
        let got = hex::encode(h.finalize());
        if got != want {
            out.set_len(0).at(&data)?;
            return Err(bad(
                "sha256",
                format!(
                    "{path}: its bytes have SHA-256 {got}, the manifest says {want}; send it again"
                ),
            ));
        }
        with_state(root, upload_id, |u| {
            u.files[k].verified = true;
            u.files[k].received = size;
            Ok(())
        })?;
    }
    drop(out);
    get(root, upload_id)
}

/// Copies the body into the file: the bytes copied, or how many came before the body failed
/// (`Err` of the outer `Result`: writing the file failed, our side).
fn copy_in(
    body: &mut dyn Read,
    out: &mut std::fs::File,
    data: &Path,
) -> Result<std::result::Result<u64, (u64, std::io::Error)>> {
    use std::io::Write;
    let mut buf = vec![0u8; 256 << 10];
    let mut n = 0u64;
    loop {
        let k = match body.read(&mut buf) {
            Ok(0) => return Ok(Ok(n)),
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Ok(Err((n, e))),
        };
        out.write_all(&buf[..k]).at(data)?;
        n += k as u64;
    }
}

/// Commits an upload whose files are all there and checked: lays them out under their paths
/// and queues the `add` task that records them (staged in the vault). A commit that failed
/// midway (a full disk) may be asked again.
pub fn commit(vault: &Vault, upload_id: &str) -> Result<Task> {
    let root = &vault.root;
    let dir = folder(root, upload_id)?;
    let files = with_state(root, upload_id, |u| {
        if let Some(t) = &u.task_id {
            return Err(Error::Conflict(format!(
                "upload {upload_id} was committed: task {t}"
            )));
        }
        let missing: Vec<&str> = u
            .files
            .iter()
            .filter(|f| !f.verified)
            .map(|f| f.path.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(Error::Conflict(format!(
                "upload {upload_id}: {} files not received whole yet: {}",
                missing.len(),
                missing
                    .iter()
                    .take(10)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        // No file is taken from now on.
        u.committed = true;
        Ok(u.files.clone())
    })?;
    let records = dir.join(RECORDS);
    for (k, f) in files.iter().enumerate() {
        let to = records.join(&f.path);
        let from = dir.join(k.to_string());
        if !from.exists() && to.is_file() {
            continue; // laid out by a commit that stopped midway
        }
        if let Some(p) = to.parent() {
            std::fs::create_dir_all(p).at(p)?;
        }
        std::fs::rename(&from, &to).at(&from)?;
    }
    let u = get(root, upload_id)?;
    let params = serde_json::json!({
        "paths": [],
        "collection": u.collection,
        "metadata": u.metadata,
        "copy": true,
        "upload": u.upload_id,
    });
    let task = vault.catalog.queue_task(TaskKind::Add, &params)?;
    let id = task.task_id.clone();
    with_state(root, upload_id, |u| {
        u.task_id = Some(id);
        Ok(())
    })?;
    Ok(task)
}

/// The records of a committed upload, for its `add` task: each folder or file at the top of
/// the upload (their names are the tops of the records' paths).
pub(crate) fn records_of(vault: &Vault, upload_id: &str) -> Result<Vec<PathBuf>> {
    let u = get(&vault.root, upload_id)?;
    if !u.committed {
        return Err(bad(
            "upload",
            format!("upload {upload_id} is not committed"),
        ));
    }
    let records = folder(&vault.root, upload_id)?.join(RECORDS);
    let tops: BTreeSet<PathBuf> = u
        .files
        .iter()
        .filter_map(|f| f.path.split('/').next())
        .map(|top| records.join(top))
        .collect();
    Ok(tops.into_iter().collect())
}

/// The folder an `add` task of an upload may read: the upload's records, once committed.
pub(crate) fn records_folder(vault: &Vault, upload_id: &str) -> Result<PathBuf> {
    let u = get(&vault.root, upload_id)?;
    if !u.committed {
        return Err(bad(
            "upload",
            format!("upload {upload_id} is not committed"),
        ));
    }
    Ok(folder(&vault.root, upload_id)?.join(RECORDS))
}

/// Bytes free to this process on the file system of `path`.
fn free_bytes(path: &Path) -> Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|e| bad("path", format!("{}: {e}", path.display())))?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `st` a statvfs to fill.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::last_os_error(),
        });
    }
    Ok((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

/// The folders of uploads in the vault's `uploads/`: their ids and paths (anything else there
/// is not ours).
fn upload_folders(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let dir = root.join("uploads");
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).at(&dir),
    };
    let mut out = Vec::new();
    for e in entries {
        let e = e.at(&dir)?;
        let Some(id) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if let Ok(path) = folder(root, &id) {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                out.push((id, path));
            }
        }
    }
    Ok(out)
}

/// The uploads whose state reads (others are left to `expire`).
fn open_uploads(root: &Path) -> Result<Vec<Upload>> {
    Ok(upload_folders(root)?
        .into_iter()
        .filter_map(|(id, _)| get(root, &id).ok())
        .collect())
}

/// When anything of an upload last changed: its state, a file being received.
fn last_change(dir: &Path) -> Option<std::time::SystemTime> {
    std::iter::once(std::fs::metadata(dir))
        .chain(
            std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.metadata()),
        )
        .filter_map(|m| m.ok()?.modified().ok())
        .max()
}

/// Deletes the uploads left alone for `[server] stale_transfer_days` at `now` (unix seconds):
/// not committed, or committed but their `add` task ended without recording them (failed,
/// cancelled). An upload whose task is queued or running is kept. The ids deleted.
pub fn expire(vault: &Vault, now: i64) -> Result<Vec<String>> {
    let days = vault.config.server.stale_transfer_days as i64;
    let mut gone = Vec::new();
    for (id, path) in upload_folders(&vault.root)? {
        let last = last_change(&path)
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs() as i64);
        if now - last < days * 86_400 {
            continue;
        }
        match delete(vault, &id) {
            Ok(()) => gone.push(id),
            Err(Error::Conflict(_)) => {} // its task is queued or running
            // A state that does not read: the folder goes all the same.
            Err(Error::NotFound(_)) | Err(Error::CatalogData { .. }) => {
                std::fs::remove_dir_all(&path).at(&path)?;
                gone.push(id);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(gone)
}

/// Deletes an upload: one not committed, or one whose records are recorded.
pub fn delete(vault: &Vault, upload_id: &str) -> Result<()> {
    let dir = folder(&vault.root, upload_id)?;
    let u = get(&vault.root, upload_id)?;
    if let Some(t) = &u.task_id {
        let task = vault.catalog.task(t)?;
        if matches!(
            task.state,
            crate::model::TaskState::Queued | crate::model::TaskState::Running
        ) {
            return Err(Error::Conflict(format!(
                "upload {upload_id}: task {t} is {}",
                task.state.name()
            )));
        }
    }
    std::fs::remove_dir_all(&dir).at(&dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_paths_are_plain_relative_names() {
        for good in ["a.txt", "2024/卷001/通知.pdf", &"名".repeat(85)] {
            check_path(good).unwrap();
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "./a",
            "a//b",
            "a/",
            "a\\b",
            "a\nb",
            "a/./b",
            "a/.",
            &"名".repeat(86),
        ] {
            assert!(check_path(bad).is_err(), "{bad:?}");
        }
    }

    fn request(size: u64, sha256: &str) -> UploadRequest {
        UploadRequest {
            collection: "文书档案".into(),
            files: vec![UploadFile {
                path: "2024/通知.txt".into(),
                size,
                sha256: sha256.into(),
                received: 0,
                verified: false,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn uploads_that_do_not_fit_are_refused_and_left_ones_expire() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::init(dir.path()).unwrap();
        let hello = hex::encode(Sha256::digest(b"hello"));
        // Larger than the disk: refused before anything is written, naming the folder.
        let e = start(&v.root, &request(1 << 49, &hello)).unwrap_err();
        assert_eq!(e.kind(), "no_space", "{e}");
        assert!(e.to_string().contains("uploads"), "{e}");
        assert_eq!(open_uploads(&v.root).unwrap().len(), 0);

        let now = crate::now_unix();
        let later = now + 8 * 86_400;
        let left = start(&v.root, &request(5, &hello)).unwrap();
        receive(
            &v.root,
            &left.upload_id,
            "2024/通知.txt",
            0,
            &mut &b"hel"[..],
        )
        .unwrap();
        let queued = start(&v.root, &request(5, &hello)).unwrap();
        receive(
            &v.root,
            &queued.upload_id,
            "2024/通知.txt",
            0,
            &mut &b"hello"[..],
        )
        .unwrap();
        let task = commit(&v, &queued.upload_id).unwrap();
        // Not ours: kept whatever its age.
        std::fs::create_dir_all(v.root.join("uploads/notes")).unwrap();
        std::fs::write(v.root.join("uploads/U-0000000000000000"), b"a file").unwrap();

        assert!(expire(&v, now).unwrap().is_empty());
        // A week later: the one left goes; the one whose add is queued stays.
        assert_eq!(expire(&v, later).unwrap(), vec![left.upload_id.clone()]);
        assert!(matches!(
            get(&v.root, &left.upload_id),
            Err(Error::NotFound(_))
        ));
        assert!(get(&v.root, &queued.upload_id).is_ok());
        // Its add cancelled: it goes too.
        v.catalog.cancel_task(&task.task_id).unwrap();
        assert_eq!(expire(&v, later).unwrap(), vec![queued.upload_id.clone()]);
        assert!(v.root.join("uploads/notes").is_dir());
        assert!(v.root.join("uploads/U-0000000000000000").is_file());

        // Downloads: by their task's end, or their folder's time when no task is known.
        let d = v.root.join("downloads/T-999999");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("x.txt"), b"x").unwrap();
        std::fs::write(v.root.join("downloads/README"), b"a file").unwrap();
        assert!(crate::tasks::expire_downloads(&v, now).unwrap().is_empty());
        assert_eq!(
            crate::tasks::expire_downloads(&v, later).unwrap(),
            vec!["T-999999".to_string()]
        );
        assert!(!d.exists());
        assert!(v.root.join("downloads/README").is_file());
    }
}
