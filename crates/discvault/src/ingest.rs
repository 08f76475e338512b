//! Ingest: walk the given paths, read every file once computing all configured digests (in
//! parallel across files), and record files and new versions in the catalog.

use crate::catalog::display_path;
use crate::digest::{Digests, HashAlg, MultiHasher};
use crate::error::IoContext;
use crate::model::{FileKind, FileRecord, NewFile};
use crate::progress::{Message, Progress};
use crate::{Error, Result, Vault};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Options of `discvault add`. With the `clap` feature, the command line's options but the
/// metadata and the digests (`--meta KEY=VALUE`, `--hash ALGS` there).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default)]
pub struct AddOptions {
    /// Collection to add to (default: each folder is its own collection, named after it).
    #[cfg_attr(feature = "clap", arg(long, short))]
    pub collection: Option<String>,
    /// Metadata merged into the collection (`fonds`, `series`, `retention` or free keys).
    #[cfg_attr(feature = "clap", arg(skip))]
    pub metadata: BTreeMap<String, String>,
    /// Digests to compute; the vault's configured list when empty.
    #[cfg_attr(feature = "clap", arg(skip))]
    pub digests: Vec<HashAlg>,
    /// Stage a copy of every record in the vault (for sources that will go away).
    #[cfg_attr(feature = "clap", arg(long))]
    pub copy: bool,
    /// Follow symbolic links instead of recording them as links.
    #[cfg_attr(feature = "clap", arg(long))]
    pub follow: bool,
    /// Change the retention period (retention, 保管期限) of a collection whose records are
    /// already on volumes.
    #[cfg_attr(feature = "clap", arg(long))]
    #[serde(default)]
    pub force: bool,
}

/// Metadata keys that are the catalog's own fields of a collection, as given (Chinese or
/// English) and as kept.
const FIELD_KEYS: [(&str, &str); 4] = [
    ("全宗号", "fonds"),
    ("保管期限", "retention"),
    ("fonds", "fonds"),
    ("retention", "retention"),
];
/// The retention periods (保管期限) a collection may have (DA/T 22, GB/T 18894).
pub const RETENTIONS: [&str; 7] = [
    "永久",
    "长期",
    "短期",
    "定期30年",
    "定期10年",
    "30年",
    "10年",
];
/// The classifications (密级) a collection may have.
pub const CLASSIFICATIONS: [&str; 6] = ["公开", "非密", "内部", "秘密", "机密", "绝密"];

/// Metadata given as (key, value) pairs, by a records system (a sidecar file) or a person (the
/// web UI's form), checked: keys of 1 to 64 characters, values on one line of at most 1000,
/// 年度 a year, 保管期限 and 密级 from their lists, no key twice; 全宗号 and 保管期限 kept as
/// `fonds` and `retention`. The collection named (`collection` or `类别`) comes apart. The
/// error says what is wrong with which key.
pub fn checked_metadata(
    pairs: Vec<(String, String)>,
) -> std::result::Result<(Option<String>, BTreeMap<String, String>), String> {
    let mut collection = None;
    let mut meta = BTreeMap::new();
    for (k, v) in pairs {
        let (k, v) = (k.trim().to_string(), v.trim().to_string());
        if k.is_empty() || k.chars().count() > 64 || k.chars().any(char::is_control) {
            return Err(format!("{k:?}: a key is 1 to 64 characters"));
        }
        if v.chars().count() > 1000 || v.chars().any(char::is_control) {
            return Err(format!(
                "{k}: a value is at most 1000 characters, on one line"
            ));
        }
        if k == "collection" || k == "类别" {
            collection = Some(v).filter(|c| !c.is_empty());
            continue;
        }
        match k.as_str() {
            "年度" if !(v.len() == 4 && v.bytes().all(|b| b.is_ascii_digit())) => {
                return Err(format!("年度 {v:?}: a year of four digits"))
            }
            "保管期限" | "retention" if !RETENTIONS.contains(&v.as_str()) => {
                return Err(format!("{k} {v:?}: one of {}", RETENTIONS.join("、")))
            }
            "密级" if !CLASSIFICATIONS.contains(&v.as_str()) => {
                return Err(format!("密级 {v:?}: one of {}", CLASSIFICATIONS.join("、")))
            }
            _ => {}
        }
        let key = FIELD_KEYS
            .iter()
            .find(|(given, _)| *given == k)
            .map(|(_, field)| field.to_string())
            .unwrap_or(k);
        if meta.insert(key.clone(), v).is_some() {
            return Err(format!("{key}: given twice"));
        }
    }
    Ok((collection, meta))
}

/// A file that was not recorded, or recorded with a remark, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub path: String,
    pub reason: String,
}

/// What `add` did, per collection.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AddReport {
    pub collections: Vec<String>,
    pub added: u64,
    pub new_versions: u64,
    pub unchanged: u64,
    pub links: u64,
    pub bytes_read: u64,
    /// Not recorded: unreadable, changed while read.
    pub errors: Vec<Problem>,
    /// Not recorded on purpose: devices, fifos, sockets.
    pub skipped: Vec<Problem>,
    /// Recorded, with a remark (non-UTF-8 name kept byte-exact, empty file).
    pub warnings: Vec<Problem>,
    /// Collection metadata changed by this run (each one an event).
    #[serde(default)]
    pub metadata_changes: Vec<crate::model::MetadataChange>,
}

/// Digests and the path the bytes will be read from, or why the file was refused.
type Hashed = std::result::Result<(Digests, Vec<u8>), String>;

struct Candidate {
    abs: PathBuf,
    rel: Vec<u8>,
    kind: FileKind,
    link_target: Option<Vec<u8>>,
    size: u64,
    mtime: i64,
    mode: u32,
}

/// Adds `paths` to the vault.
pub fn add(
    vault: &Vault,
    paths: &[PathBuf],
    opts: &AddOptions,
    progress: &dyn Progress,
) -> Result<AddReport> {
    // Adds follow one another; master, publish ... go on beside them.
    let _claim = vault.claim_waiting("ingest", "add", progress)?;
    let mut algs = if opts.digests.is_empty() {
        vault.config.ingest.digests.clone()
    } else {
        opts.digests.clone()
    };
    // SHA-256 always (the discs' manifests), and BLAKE3 always: what `master` checks each
    // record's bytes against, at a quarter of SHA-256's cost, while the image gets its SHA-256.
    if !algs.contains(&HashAlg::Sha256) {
        algs.insert(0, HashAlg::Sha256);
    }
    if !algs.contains(&HashAlg::Blake3) {
        algs.push(HashAlg::Blake3);
    }
    if paths.is_empty() {
        return Err(Error::Invalid {
            field: "PATH".into(),
            detail: "nothing to add".into(),
        });
    }
    let mut report = AddReport::default();
    // Group the paths by collection.
    let mut groups: BTreeMap<String, Vec<(PathBuf, bool)>> = BTreeMap::new();
    for p in paths {
        let abs = std::path::absolute(p).at(p)?;
        let md = std::fs::symlink_metadata(&abs).at(&abs)?;
        let name = abs
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "root".into());
        let (collection, keep_top) = match &opts.collection {
            Some(c) => (c.clone(), true),
            None if md.is_dir() => (name, false),
            None => ("default".to_string(), true),
        };
        if collection.trim().is_empty() || collection.contains('/') {
            return Err(Error::Invalid {
                field: "collection".into(),
                detail: format!("{collection:?}: a collection name is non-empty and has no '/'"),
            });
        }
        groups.entry(collection).or_default().push((abs, keep_top));
    }
    for (collection, roots) in groups {
        add_collection(
            vault,
            &collection,
            &roots,
            &algs,
            opts,
            progress,
            &mut report,
        )?;
        report.collections.push(collection);
    }
    Ok(report)
}

fn walk(
    root: &Path,
    keep_top: bool,
    follow: bool,
    out: &mut Vec<Candidate>,
    report: &mut AddReport,
) {
    let base = if keep_top {
        root.parent().unwrap_or(root).to_path_buf()
    } else {
        root.to_path_buf()
    };
    let walker = walkdir::WalkDir::new(root)
        .follow_links(follow)
        .sort_by_file_name();
    for item in walker {
        let e = match item {
            Ok(e) => e,
            Err(err) => {
                let path = err
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                let reason = match err.io_error() {
                    Some(io) => io.to_string(),
                    None => err.to_string(),
                };
                report.errors.push(Problem { path, reason });
                continue;
            }
        };
        let abs = e.path().to_path_buf();
        let rel = match abs.strip_prefix(&base) {
            Ok(r) => r.as_os_str().as_bytes().to_vec(),
            Err(_) => continue,
        };
        let ft = e.file_type();
        if ft.is_dir() {
            continue;
        }
        let md = match if follow {
            std::fs::metadata(&abs)
        } else {
            std::fs::symlink_metadata(&abs)
        } {
            Ok(m) => m,
            Err(err) => {
                report.errors.push(Problem {
                    path: abs.display().to_string(),
                    reason: err.to_string(),
                });
                continue;
            }
        };
        if std::str::from_utf8(&rel).is_err() {
            report.warnings.push(Problem {
                path: display_path(abs.as_os_str().as_bytes()),
                reason: "name is not valid UTF-8: kept byte-exact (Rock Ridge), shown with \\xNN escapes, and replaced in Joliet and UDF names".into(),
            });
        }
        let (kind, link_target, size) = if ft.is_symlink() {
            match std::fs::read_link(&abs) {
                Ok(t) => (
                    FileKind::Symlink,
                    Some(t.as_os_str().as_bytes().to_vec()),
                    0,
                ),
                Err(err) => {
                    report.errors.push(Problem {
                        path: abs.display().to_string(),
                        reason: format!("cannot read symbolic link: {err}"),
                    });
                    continue;
                }
            }
        } else if ft.is_file() {
            (FileKind::File, None, md.len())
        } else {
            let what = if ft.is_fifo() {
                "a named pipe (fifo)"
            } else if ft.is_socket() {
                "a socket"
            } else if ft.is_block_device() || ft.is_char_device() {
                "a device"
            } else {
                "not a regular file"
            };
            report.skipped.push(Problem {
                path: abs.display().to_string(),
                reason: format!("skipped: {what}"),
            });
            continue;
        };
        if rel.is_empty() {
            continue;
        }
        out.push(Candidate {
            abs,
            rel,
            kind,
            link_target,
            size,
            mtime: md.mtime(),
            mode: md.mode() & 0o7777,
        });
    }
}

#[allow(clippy::too_many_arguments)]
fn add_collection(
    vault: &Vault,
    collection: &str,
    roots: &[(PathBuf, bool)],
    algs: &[HashAlg],
    opts: &AddOptions,
    progress: &dyn Progress,
    report: &mut AddReport,
) -> Result<()> {
    let (col, changes) = vault
        .catalog
        .ensure_collection(collection, &opts.metadata, opts.force)?;
    report.metadata_changes.extend(changes);
    let current = vault.catalog.current_files(col.id)?;
    let mut candidates = Vec::new();
    for (root, keep_top) in roots {
        walk(root, *keep_top, opts.follow, &mut candidates, report);
    }
    // The same path given twice (overlapping arguments) is taken once.
    candidates.sort_by(|a, b| a.rel.cmp(&b.rel));
    candidates.dedup_by(|a, b| a.rel == b.rel);

    let unchanged = |c: &Candidate, old: &FileRecord| {
        old.kind == c.kind
            && old.size == c.size
            && old.mtime == c.mtime
            && old.mode == c.mode
            && old.link_target == c.link_target
            // A record staged in the vault (by `add --copy`, or read back from its disc by a
            // migration) stays as it is when its file is added again unchanged; one read from
            // its source is added again when `--copy` asks for it to be staged.
            && (old.staged || !opts.copy)
            && (old.staged || old.source.as_deref() == Some(c.abs.as_os_str().as_bytes()))
    };
    let mut todo = Vec::new();
    for c in candidates {
        match current.get(&c.rel) {
            Some(old) if unchanged(&c, old) => report.unchanged += 1,
            _ => todo.push(c),
        }
    }
    let total: u64 = todo.iter().map(|c| c.size).sum();
    progress.start(&Message::Hashing, todo.len() as u64, total);
    let staging = vault.staging_dir();
    let results: Vec<(Candidate, Hashed)> = todo
        .into_par_iter()
        .map(|c| {
            if progress.cancelled() {
                return (c, Err("cancelled".to_string()));
            }
            let r = match c.kind {
                FileKind::Symlink => {
                    Ok((Digests::default(), c.abs.as_os_str().as_bytes().to_vec()))
                }
                FileKind::File => {
                    hash_file(&c, algs, opts.copy.then_some(staging.as_path()), progress)
                }
            };
            progress.advance(1, 0);
            (c, r)
        })
        .collect();
    progress.finish();
    if progress.cancelled() {
        return Err(Error::Cancelled("add: no file was recorded".to_string()));
    }

    let mut new_files = Vec::new();
    for (c, r) in results {
        match r {
            Err(reason) => report.errors.push(Problem {
                path: c.abs.display().to_string(),
                reason,
            }),
            Ok((digests, source)) => {
                report.bytes_read += c.size;
                let replaces = current.get(&c.rel).map(|old| (old.id, old.version));
                if replaces.is_some() {
                    report.new_versions += 1;
                } else {
                    report.added += 1;
                }
                if c.kind == FileKind::Symlink {
                    report.links += 1;
                }
                new_files.push((
                    NewFile {
                        path_raw: c.rel,
                        kind: c.kind,
                        size: c.size,
                        mtime: c.mtime,
                        mode: c.mode,
                        link_target: c.link_target,
                        source,
                        staged: opts.copy && c.kind == FileKind::File,
                        digests,
                    },
                    replaces,
                ));
            }
        }
    }
    let detail = format!(
        "collection {collection}: {} files recorded ({} new versions), {} unchanged, {} refused; digests {}",
        new_files.len(),
        report.new_versions,
        report.unchanged,
        report.errors.len(),
        algs.iter().map(|a| a.name()).collect::<Vec<_>>().join(",")
    );
    vault.catalog.record_ingest(col.id, &new_files, &detail)?;
    Ok(())
}

/// Reads a file once, computing every digest, optionally copying it into `staging`. Refuses a
/// file whose size or mtime changed while it was read.
fn hash_file(
    c: &Candidate,
    algs: &[HashAlg],
    staging: Option<&Path>,
    progress: &dyn Progress,
) -> Hashed {
    let mut f = std::fs::File::open(&c.abs).map_err(|e| format!("cannot open: {e}"))?;
    let before = f.metadata().map_err(|e| e.to_string())?;
    if before.len() != c.size || before.mtime() != c.mtime {
        return Err("changed between listing and reading; add it again when it is complete".into());
    }
    let mut hasher = MultiHasher::new(algs);
    let mut stage = match staging {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("staging {}: {e}", dir.display()))?;
            let tmp = tempfile::NamedTempFile::new_in(dir)
                .map_err(|e| format!("staging {}: {e}", dir.display()))?;
            Some(tmp)
        }
        None => None,
    };
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("read error after {n} bytes: {e}")),
        };
        hasher.update(&buf[..k]);
        if let Some(t) = stage.as_mut() {
            t.write_all(&buf[..k])
                .map_err(|e| format!("staging copy: {e}"))?;
        }
        n += k as u64;
        progress.advance(0, k as u64);
    }
    let after = std::fs::metadata(&c.abs).map_err(|e| e.to_string())?;
    if n != c.size || after.len() != c.size || after.mtime() != c.mtime {
        return Err(format!(
            "changed while being read (size {} → {}, read {n} bytes); refused, add it again when it is complete",
            c.size,
            after.len()
        ));
    }
    let digests = hasher.finish();
    let source = match (stage, staging) {
        (Some(tmp), Some(dir)) => {
            let sha = digests.get(HashAlg::Sha256).unwrap_or_default().to_string();
            let sub = dir.join(&sha[..2]);
            std::fs::create_dir_all(&sub).map_err(|e| format!("staging {}: {e}", sub.display()))?;
            let dest = sub.join(&sha);
            tmp.persist(&dest)
                .map_err(|e| format!("staging {}: {e}", dest.display()))?;
            dest.as_os_str().as_bytes().to_vec()
        }
        _ => c.abs.as_os_str().as_bytes().to_vec(),
    };
    Ok((digests, source))
}
