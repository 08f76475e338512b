//! Restore: bring files back from images or mounted discs, joining split files and checking
//! every digest while writing, never outside the target directory.
//!
//! [`pick`] computes the [`PickList`] (which volumes are needed for what was asked) without
//! touching any disc; [`restore`] executes it with the sources at hand.

use crate::digest::{HashAlg, MultiHasher};
use crate::model::FileKind;
use crate::progress::{Message, Progress};
use crate::source::{self, DiscSource};
use crate::sparse::SparseFile;
use crate::{Error, Result, Vault};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};

mod pick;

pub use pick::{
    no_match, open_vault, pick, pick_for_restore, pick_from_records, pick_with, NoMatch, PickFile,
    PickList, PickOptions, PickPart, Selection,
};

/// Options of `restore`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default)]
pub struct RestoreOptions {
    #[cfg_attr(feature = "clap", arg(long))]
    pub to: PathBuf,
    /// Images or mounted discs to read from; without them the pick list is printed. A file
    /// with a version on these discs is restored in that version (the newest of them).
    #[cfg_attr(feature = "clap", arg(long, num_args = 1..))]
    pub from: Vec<PathBuf>,
    #[cfg_attr(feature = "clap", arg(long))]
    pub overwrite: bool,
    /// Keep setuid, setgid and sticky bits (dropped by default).
    #[cfg_attr(feature = "clap", arg(long))]
    #[serde(default)]
    pub keep_special_modes: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RestoreProblem {
    pub path: String,
    pub reason: String,
}

/// What `restore` did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RestoreReport {
    pub restored: u64,
    /// Files already in the target with the same bytes (checked by sha256): left as they are.
    #[serde(default)]
    pub already_present: u64,
    pub links: u64,
    pub bytes: u64,
    /// Volumes needed but not among the sources.
    pub missing_volumes: Vec<String>,
    /// Files not restored: damaged, refused, or not overwritten.
    pub problems: Vec<RestoreProblem>,
    /// True when some file could not be restored because its data was damaged.
    pub damaged: bool,
}

/// Joins `rel` (collection / path) under `root`, refusing anything that could leave it.
pub fn safe_target(
    root: &Path,
    collection: &str,
    path: &[u8],
) -> std::result::Result<PathBuf, String> {
    let mut rel = collection.as_bytes().to_vec();
    rel.push(b'/');
    rel.extend_from_slice(path);
    if path.first() == Some(&b'/') || collection.is_empty() {
        return Err("absolute path refused".into());
    }
    for c in rel.split(|&b| b == b'/') {
        if c.is_empty() || c == b"." || c == b".." || c.contains(&0) {
            return Err(format!(
                "unsafe path component {:?} refused",
                String::from_utf8_lossy(c)
            ));
        }
    }
    let p = PathBuf::from(std::ffi::OsString::from_vec(rel));
    if p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err("path leaves the target directory".into());
    }
    Ok(root.join(p))
}

/// Creates the parent directories of `target` under `root`, refusing to pass through a
/// symbolic link (a disc could otherwise point a directory outside the target).
pub(crate) fn make_parents(root: &Path, target: &Path) -> std::result::Result<(), String> {
    let parent = target.parent().ok_or("no parent directory")?;
    let rel = parent
        .strip_prefix(root)
        .map_err(|_| "outside the target")?;
    let mut cur = root.to_path_buf();
    for c in rel.components() {
        cur.push(c);
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(format!("{} is a symbolic link; refused", cur.display()))
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(format!("{} exists and is not a directory", cur.display())),
            Err(_) => match std::fs::create_dir(&cur) {
                Ok(()) => {}
                // Another reader made it meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && cur.is_dir() => {}
                Err(e) => return Err(format!("{}: {e}", cur.display())),
            },
        }
    }
    Ok(())
}

struct Tee<'a, 'f> {
    file: &'a mut SparseFile<&'f std::fs::File>,
    whole: &'a mut MultiHasher,
    part: MultiHasher,
    progress: &'a dyn Progress,
    /// A write to our own file that failed (disk full, file too large): not the disc's fault.
    failed: Option<std::io::Error>,
}

impl Write for Tee<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = match self.file.write(buf) {
            Ok(n) => n,
            Err(e) => {
                let kind = e.kind();
                self.failed = Some(e);
                return Err(std::io::Error::new(kind, "cannot write the restored file"));
            }
        };
        self.whole.update(&buf[..n]);
        self.part.update(&buf[..n]);
        self.progress.advance(0, n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Restores the files of a pick list from the given sources.
pub fn restore(
    vault: Option<&Vault>,
    list: &PickList,
    opts: &RestoreOptions,
    progress: &dyn Progress,
) -> Result<RestoreReport> {
    let mut report = RestoreReport::default();
    // Every source of a volume, in the order given: when one copy is damaged, the next is read.
    let mut sources: BTreeMap<String, Vec<Box<dyn DiscSource>>> = BTreeMap::new();
    for s in &opts.from {
        let mut src = source::open(s)?;
        let volume_id = match vault {
            // A pick list from this catalog is read from this vault's discs only.
            Some(v) if !list.from_discs => {
                let said = source::identity(src.as_mut());
                let label = src.label();
                crate::identify::resolve(v, &src.name(), said, label)?.volume_id
            }
            _ => source::volume_id(src.as_mut())?,
        };
        sources.entry(volume_id).or_default().push(src);
    }
    report.missing_volumes = list
        .volumes
        .iter()
        .filter(|v| !sources.contains_key(*v))
        .cloned()
        .collect();
    std::fs::create_dir_all(&opts.to).map_err(|e| Error::Io {
        path: opts.to.clone(),
        source: e,
    })?;
    let root = opts.to.canonicalize().map_err(|e| Error::Io {
        path: opts.to.clone(),
        source: e,
    })?;
    let total: u64 = list.files.iter().map(|f| f.size).sum();
    progress.start(&Message::Restoring, list.files.len() as u64, total);
    let mut links = Vec::new();
    for f in &list.files {
        let shown = format!("{}/{}", f.collection, f.path);
        let problem = |reason: String| RestoreProblem {
            path: shown.clone(),
            reason,
        };
        let target = match safe_target(&root, &f.collection, &f.path_raw) {
            Ok(t) => t,
            Err(r) => {
                report.problems.push(problem(r));
                continue;
            }
        };
        if f.kind == FileKind::Symlink {
            links.push((f, target));
            continue;
        }
        if f.parts.iter().any(|p| !sources.contains_key(&p.volume_id)) {
            continue; // Listed in missing_volumes.
        }
        if !opts.overwrite && std::fs::symlink_metadata(&target).is_ok() {
            if same_file(&target, f) {
                report.already_present += 1;
                progress.advance(1, 0);
                continue;
            }
            report.problems.push(problem(
                "exists with other contents; not overwritten (use --overwrite)".into(),
            ));
            continue;
        }
        if let Err(r) = make_parents(&root, &target) {
            report.problems.push(problem(r));
            continue;
        }
        match restore_file(f, &target, &mut sources, opts, progress) {
            Ok(()) => {
                report.restored += 1;
                report.bytes += f.size;
            }
            Err(Failed::Damaged(r)) => {
                report.damaged = true;
                report.problems.push(problem(r));
            }
            Err(Failed::Problem(r)) => report.problems.push(problem(r)),
            // Our own failure (disk full, file too large): it would fail the next file too.
            Err(Failed::Ours(e)) => return Err(e),
        }
        progress.advance(1, 0);
    }
    for (f, target) in links {
        let shown = format!("{}/{}", f.collection, f.path);
        let t = f.link_target_raw.clone().unwrap_or_default();
        let res = make_parents(&root, &target).and_then(|_| {
            if opts.overwrite && std::fs::symlink_metadata(&target).is_ok() {
                let _ = std::fs::remove_file(&target);
            }
            std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(&t), &target)
                .map_err(|e| e.to_string())
        });
        match res {
            Ok(()) => report.links += 1,
            Err(reason) => report.problems.push(RestoreProblem {
                path: shown,
                reason,
            }),
        }
    }
    progress.finish();
    if let Some(v) = vault {
        if report.restored + report.links > 0 || !report.problems.is_empty() {
            v.catalog.add_event(
                "replication",
                if report.problems.is_empty() {
                    "success"
                } else {
                    "failure"
                },
                &format!(
                    "restored {} files and {} links ({} bytes) to {}; {} problems",
                    report.restored,
                    report.links,
                    report.bytes,
                    root.display(),
                    report.problems.len()
                ),
                None,
            )?;
        }
    }
    Ok(report)
}

/// Why a file was not restored.
enum Failed {
    /// Its data on the discs is damaged.
    Damaged(String),
    /// Something else about this file (the target exists, its time cannot be set).
    Problem(String),
    /// Our own failure writing it: the restore stops with this error.
    Ours(Error),
}

/// Writes one file from its parts into a temporary file beside `target`, checks every digest,
/// then moves it into place.
fn restore_file(
    f: &PickFile,
    target: &Path,
    sources: &mut BTreeMap<String, Vec<Box<dyn DiscSource>>>,
    opts: &RestoreOptions,
    progress: &dyn Progress,
) -> std::result::Result<(), Failed> {
    let overwrite = opts.overwrite;
    let dir = target.parent().unwrap_or(Path::new("."));
    let ours = |path: &Path, e: std::io::Error| {
        Failed::Ours(Error::Io {
            path: path.to_path_buf(),
            source: e,
        })
    };
    let tmp = tempfile::Builder::new()
        .prefix(".discvault-restore-")
        .tempfile_in(dir)
        .map_err(|e| ours(dir, e))?;
    // Blocks of zeros stay holes: a sparse recording is restored sparse.
    let mut out = SparseFile::new(tmp.as_file());
    let mut whole = MultiHasher::new(&[HashAlg::Sha256]);
    let mut written = 0u64;
    let mut parts = f.parts.clone();
    parts.sort_by_key(|p| p.part);
    for p in &parts {
        if p.offset != written {
            return Err(Failed::Damaged(format!(
                "part {} of {} starts at {} but {} bytes were written",
                p.part, p.parts, p.offset, written
            )));
        }
        // A whole file is checked by the file's digest, a part by its own.
        let want = if p.parts == 1 {
            f.sha256.clone()
        } else {
            p.sha256.clone()
        };
        let mut failures = Vec::new();
        let mut done = false;
        for src in sources.get_mut(&p.volume_id).expect("checked by caller") {
            let name = src.name();
            let mut attempt = whole.clone();
            let mut tee = Tee {
                file: &mut out,
                whole: &mut attempt,
                part: MultiHasher::new(&[HashAlg::Sha256]),
                progress,
                failed: None,
            };
            let res = src.read(&p.disc_path_raw, &mut tee);
            if let Some(e) = tee.failed.take() {
                return Err(ours(target, e));
            }
            let part_sha = tee.part.finish();
            let problem = match res {
                Err(e) => Some(format!("unreadable: {e}")),
                Ok(n) if n != p.length => Some(format!("{n} bytes, expected {}", p.length)),
                Ok(_) => match (&want, part_sha.get(HashAlg::Sha256)) {
                    (Some(w), Some(g)) if w != g => Some(format!("sha256 {g}, expected {w}")),
                    _ => None,
                },
            };
            match problem {
                None => {
                    whole = attempt;
                    written += p.length;
                    done = true;
                    break;
                }
                Some(why) => {
                    failures.push(format!(
                        "{} on {} ({name}): {why}",
                        p.disc_path, p.volume_id
                    ));
                    // Forget what this source wrote and try the next copy.
                    if let Err(e) = out.truncate(written) {
                        return Err(ours(target, e));
                    }
                }
            }
        }
        if !done {
            return Err(Failed::Damaged(failures.join("; ")));
        }
    }
    if let Err(e) = out.flush() {
        return Err(ours(target, e));
    }
    drop(out);
    if written != f.size {
        return Err(Failed::Damaged(format!(
            "{written} bytes restored, expected {}",
            f.size
        )));
    }
    let got = whole.finish();
    let got = got.get(HashAlg::Sha256).unwrap_or_default();
    if let Some(want) = &f.sha256 {
        if want != got {
            return Err(Failed::Damaged(format!(
                "sha256 {got}, catalog says {want}; not written"
            )));
        }
    }
    let file = tmp.as_file();
    let unset = |what: &str, e: std::io::Error| {
        Failed::Problem(format!("{}: {what}: {e}", target.display()))
    };
    file.set_modified(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(f.mtime.max(0) as u64),
    )
    .map_err(|e| unset("cannot set the modification time", e))?;
    use std::os::unix::fs::PermissionsExt;
    let mask = if opts.keep_special_modes {
        0o7777
    } else {
        0o777
    };
    file.set_permissions(std::fs::Permissions::from_mode(f.mode & mask))
        .map_err(|e| unset("cannot set the permissions", e))?;
    let res = if overwrite {
        tmp.persist(target).map(|_| ())
    } else {
        tmp.persist_noclobber(target).map(|_| ())
    };
    res.map_err(|e| match e.error.kind() {
        std::io::ErrorKind::AlreadyExists => {
            Failed::Problem(format!("{}: {}", target.display(), e.error))
        }
        _ => ours(target, e.error),
    })
}

/// Whether `target` is a regular file with the bytes `f` asks for (size and sha256).
fn same_file(target: &Path, f: &PickFile) -> bool {
    let Some(want) = &f.sha256 else {
        return false;
    };
    match std::fs::symlink_metadata(target) {
        Ok(m) if m.is_file() && m.len() == f.size => {}
        _ => return false,
    }
    let Ok(mut file) = std::fs::File::open(target) else {
        return false;
    };
    let mut h = MultiHasher::new(&[HashAlg::Sha256]);
    if std::io::copy(&mut file, &mut h).is_err() {
        return false;
    }
    h.finish().get(HashAlg::Sha256) == Some(want.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_targets_are_refused() {
        let root = Path::new("/tmp/r");
        assert!(safe_target(root, "c", b"../../etc/passwd").is_err());
        assert!(safe_target(root, "c", b"/etc/passwd").is_err());
        assert!(safe_target(root, "..", b"x").is_err());
        assert!(safe_target(root, "c", b"a//b").is_err());
        assert!(safe_target(root, "c", b"a/./b").is_err());
        assert_eq!(
            safe_target(root, "c", "档案/a b.txt".as_bytes()).unwrap(),
            Path::new("/tmp/r/c/档案/a b.txt")
        );
    }
}
