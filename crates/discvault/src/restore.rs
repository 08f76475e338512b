//! Restore: bring files back from images or mounted discs, joining split files and checking
//! every digest while writing, never outside the target directory.
//!
//! [`pick`] computes the [`PickList`] (which volumes are needed for what was asked) without
//! touching any disc; [`restore`] executes it with the sources at hand.

use crate::catalog::{display_path, FileKind, Volume, VolumeState};
use crate::digest::{HashAlg, MultiHasher};
use crate::format::{self, VolumeRecord};
use crate::locate::Query;
use crate::progress::Progress;
use crate::source::{self, DiscSource};
use crate::{Error, Result, Vault};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};

/// What to restore.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Selection {
    /// Files whose `collection/path` or `path` matches: a glob (`*`, `?`) or a path prefix.
    Pattern(String),
    /// Every file of a volume (whole files, all their parts).
    Volume(String),
}

/// One part of a file to read.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PickPart {
    pub volume_id: String,
    pub part: u32,
    pub parts: u32,
    pub offset: u64,
    pub length: u64,
    pub disc_path: String,
    #[serde(skip)]
    pub disc_path_raw: Vec<u8>,
    /// sha256 of the part's bytes (parts of split files only).
    pub sha256: Option<String>,
}

/// One file to restore.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PickFile {
    pub collection: String,
    pub path: String,
    #[serde(skip)]
    pub path_raw: Vec<u8>,
    pub version: i64,
    pub kind: FileKind,
    pub size: u64,
    pub mtime: i64,
    pub mode: u32,
    pub sha256: Option<String>,
    pub link_target: Option<String>,
    #[serde(skip)]
    pub link_target_raw: Option<Vec<u8>>,
    pub parts: Vec<PickPart>,
}

/// The pick list: files asked for and the volumes that hold them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct PickList {
    pub files: Vec<PickFile>,
    /// Volumes needed, in order.
    pub volumes: Vec<String>,
    /// Volumes needed that were never mastered (no disc exists yet).
    pub unmastered: Vec<String>,
    /// Files asked for that are on no volume yet (`collection/path vN`): not planned.
    #[serde(default)]
    pub unplaced: Vec<String>,
    /// Made from the discs' own volume records, not from this vault's catalog.
    #[serde(default)]
    pub from_discs: bool,
}

/// Which version of each file a pick list takes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PickOptions {
    /// This version of every file matched (else the current one).
    pub version: Option<i64>,
    /// The volumes at hand: a file with versions on them is taken in the newest of those
    /// (restoring from a disc gives what that disc holds), and read from them.
    pub from_volumes: Vec<String>,
}

/// Options of `restore`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RestoreOptions {
    pub to: PathBuf,
    pub from: Vec<PathBuf>,
    pub overwrite: bool,
    /// Keep setuid, setgid and sticky bits (dropped by default).
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

fn glob_match(pat: &[u8], s: &[u8]) -> bool {
    // Iterative glob with backtracking on the last '*'.
    let (mut p, mut i) = (0usize, 0usize);
    let (mut star, mut mark) = (None, 0usize);
    while i < s.len() {
        if p < pat.len() && (pat[p] == b'?' || pat[p] == s[i]) {
            p += 1;
            i += 1;
        } else if p < pat.len() && pat[p] == b'*' {
            star = Some(p);
            mark = i;
            p += 1;
        } else if let Some(sp) = star {
            p = sp + 1;
            mark += 1;
            i = mark;
        } else {
            return false;
        }
    }
    while p < pat.len() && pat[p] == b'*' {
        p += 1;
    }
    p == pat.len()
}

fn matches(pattern: &str, collection: &str, path: &[u8]) -> bool {
    let mut full = collection.as_bytes().to_vec();
    full.push(b'/');
    full.extend_from_slice(path);
    let pat = pattern.trim_matches('/').as_bytes();
    if pattern.contains(['*', '?']) {
        return glob_match(pat, &full) || glob_match(pat, path);
    }
    let prefix = |s: &[u8]| s == pat || (s.starts_with(pat) && s.get(pat.len()) == Some(&b'/'));
    prefix(&full) || prefix(path)
}

/// Computes the pick list from the catalog: the current version of each file.
pub fn pick(vault: &Vault, sel: &Selection) -> Result<PickList> {
    pick_with(vault, sel, &PickOptions::default())
}

/// Computes the pick list from the catalog, choosing versions by `opts`.
pub fn pick_with(vault: &Vault, sel: &Selection, opts: &PickOptions) -> Result<PickList> {
    let cat = &vault.catalog;
    let candidates = match sel {
        Selection::Pattern(p) => {
            // Narrow the search in the catalog by the longest literal piece of the pattern's
            // path (without a leading collection name), then match exactly here.
            let trimmed = p.trim_matches('/');
            let names: Vec<String> = cat.collections()?.into_iter().map(|c| c.name).collect();
            let path_part = names
                .iter()
                .find_map(|n| {
                    if trimmed == n {
                        Some("")
                    } else {
                        trimmed
                            .strip_prefix(n.as_str())
                            .and_then(|r| r.strip_prefix('/'))
                    }
                })
                .unwrap_or(trimmed);
            let literal = path_part
                .split(['*', '?'])
                .max_by_key(|s| s.len())
                .unwrap_or("")
                .to_string();
            let found: Vec<_> = cat
                .find_files(&Query::Path(literal), i64::MAX, true)?
                .into_iter()
                .filter(|(c, f)| matches(p, c, &f.path_raw))
                .collect();
            choose_versions(vault, found, opts)?
        }
        Selection::Volume(id) => {
            let v = cat.volume(id)?;
            if v.kind == crate::catalog::VolumeKind::Parity {
                return Err(Error::Volume {
                    volume: v.volume_id.clone(),
                    detail: "is a parity volume: it holds no records, only recovery data for the images of its group (discvault repair uses it)".into(),
                });
            }
            let mut seen = BTreeSet::new();
            cat.volume_contents(&v)?
                .into_iter()
                .filter(|e| seen.insert(e.file.id))
                .map(|e| (e.collection, e.file))
                .collect()
        }
    };
    // A record on several volumes (a migration copied it onto new ones) is read from one
    // volume per part: a mastered one, with the most trusted copies, the newest on a tie.
    let now = crate::now_unix();
    let mut trusted: BTreeMap<String, usize> = BTreeMap::new();
    for c in cat.copies(None)? {
        if crate::copies::trusted(vault, &c, now) {
            *trusted.entry(c.volume_id).or_default() += 1;
        }
    }
    let mut list = PickList::default();
    let mut vols = BTreeMap::new();
    for (collection, f) in candidates {
        let mut parts = Vec::new();
        let mut best: BTreeMap<u32, (Volume, crate::catalog::Content)> = BTreeMap::new();
        for (v, c) in cat.placements(f.id)? {
            let rank = |v: &Volume| {
                (
                    opts.from_volumes.contains(&v.volume_id),
                    v.state == VolumeState::Mastered,
                    trusted.get(&v.volume_id).copied().unwrap_or(0),
                    v.id,
                )
            };
            match best.get(&c.part) {
                Some((b, _)) if rank(b) >= rank(&v) => {}
                _ => {
                    best.insert(c.part, (v, c));
                }
            }
        }
        if best.is_empty() {
            list.unplaced
                .push(format!("{collection}/{} v{}", f.path, f.version));
        }
        for (v, c) in best.into_values() {
            if v.state != VolumeState::Mastered && !list.unmastered.contains(&v.volume_id) {
                list.unmastered.push(v.volume_id.clone());
            }
            vols.insert(v.id, v.volume_id.clone());
            let raw = format::disc_path(&collection, &f, &c);
            parts.push(PickPart {
                volume_id: v.volume_id.clone(),
                part: c.part,
                parts: c.parts,
                offset: c.part_offset,
                length: c.length,
                disc_path: display_path(&raw),
                disc_path_raw: raw,
                sha256: c
                    .part_digests
                    .as_ref()
                    .and_then(|d| d.get(HashAlg::Sha256).map(str::to_string)),
            });
        }
        list.files.push(PickFile {
            collection,
            path: f.path.clone(),
            path_raw: f.path_raw.clone(),
            version: f.version,
            kind: f.kind,
            size: f.size,
            mtime: f.mtime,
            mode: f.mode,
            sha256: f.digests.get(HashAlg::Sha256).map(str::to_string),
            link_target: f.link_target.as_deref().map(display_path),
            link_target_raw: f.link_target.clone(),
            parts,
        });
    }
    list.volumes = vols.into_values().collect();
    Ok(list)
}

/// Of every version of the files found, the one to restore: `opts.version`, else the newest on
/// the volumes at hand, else the current one.
fn choose_versions(
    vault: &Vault,
    found: Vec<(String, crate::catalog::FileRecord)>,
    opts: &PickOptions,
) -> Result<Vec<(String, crate::catalog::FileRecord)>> {
    let mut by_path: BTreeMap<(String, Vec<u8>), Vec<crate::catalog::FileRecord>> = BTreeMap::new();
    for (c, f) in found {
        by_path.entry((c, f.path_raw.clone())).or_default().push(f);
    }
    let mut out = Vec::new();
    for ((c, _), mut versions) in by_path {
        versions.sort_by_key(|f| std::cmp::Reverse(f.version));
        let chosen = if let Some(n) = opts.version {
            versions.into_iter().find(|f| f.version == n)
        } else {
            let mut on_hand = None;
            if !opts.from_volumes.is_empty() {
                for f in &versions {
                    let here = vault
                        .catalog
                        .placements(f.id)?
                        .iter()
                        .any(|(v, _)| opts.from_volumes.contains(&v.volume_id));
                    if here {
                        on_hand = Some(f.clone());
                        break;
                    }
                }
            }
            on_hand.or_else(|| {
                let current = versions.iter().position(|f| f.current).unwrap_or(0);
                Some(versions.swap_remove(current))
            })
        };
        if let Some(f) = chosen {
            out.push((c, f));
        }
    }
    Ok(out)
}

/// A pick list made from the discs' own volume records, for volumes the catalog does not know
/// (a disc from another archive, or a catalog being rebuilt).
pub fn pick_from_records(records: &[VolumeRecord], sel: &Selection) -> Result<PickList> {
    let mut list = PickList {
        from_discs: true,
        ..Default::default()
    };
    let mut by_file: BTreeMap<(String, Vec<u8>, i64), PickFile> = BTreeMap::new();
    for rec in records {
        if let Selection::Volume(v) = sel {
            if &rec.volume_id != v {
                continue;
            }
        }
        for fe in &rec.files {
            let raw = match &fe.path_hex {
                Some(h) => hex::decode(h).map_err(|e| Error::Source {
                    source_name: rec.volume_id.clone(),
                    detail: format!("path_hex of {:?}: {e}", fe.path),
                })?,
                None => fe.path.as_bytes().to_vec(),
            };
            if let Selection::Pattern(p) = sel {
                if !matches(p, &fe.collection, &raw) {
                    continue;
                }
            }
            let link_raw = match &fe.link_target_hex {
                Some(h) => Some(hex::decode(h).map_err(|e| Error::Source {
                    source_name: rec.volume_id.clone(),
                    detail: format!("link_target_hex of {:?}: {e}", fe.path),
                })?),
                None => fe.link_target.as_ref().map(|t| t.as_bytes().to_vec()),
            };
            let entry = by_file
                .entry((fe.collection.clone(), raw.clone(), fe.version))
                .or_insert_with(|| PickFile {
                    collection: fe.collection.clone(),
                    path: fe.path.clone(),
                    path_raw: raw.clone(),
                    version: fe.version,
                    kind: fe.kind,
                    size: fe.size,
                    mtime: fe.mtime,
                    mode: fe.mode,
                    sha256: fe.digests.get("sha256").cloned(),
                    link_target: fe.link_target.clone(),
                    link_target_raw: link_raw,
                    parts: Vec::new(),
                });
            if let Some(dp) = &fe.disc_path {
                let (part, parts, offset, length, sha) = match &fe.part {
                    Some(p) => (
                        p.index,
                        p.count,
                        p.offset,
                        p.length,
                        p.digests.get("sha256").cloned(),
                    ),
                    None => (1, 1, 0, fe.size, None),
                };
                entry.parts.push(PickPart {
                    volume_id: rec.volume_id.clone(),
                    part,
                    parts,
                    offset,
                    length,
                    disc_path: dp.clone(),
                    // A name that is not UTF-8 is shown with \xNN in `disc_path`: its bytes
                    // come from `path_hex`.
                    disc_path_raw: if fe.path_hex.is_some() {
                        format::disc_path_of(&fe.collection, &raw, part, parts)
                    } else {
                        dp.as_bytes().to_vec()
                    },
                    sha256: sha,
                });
            }
            if !list.volumes.contains(&rec.volume_id) {
                list.volumes.push(rec.volume_id.clone());
            }
        }
    }
    list.files = by_file.into_values().collect();
    for f in &mut list.files {
        f.parts.sort_by_key(|p| p.part);
    }
    Ok(list)
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

struct Tee<'a> {
    file: &'a mut std::fs::File,
    whole: &'a mut MultiHasher,
    part: MultiHasher,
    progress: &'a dyn Progress,
    /// A write to our own file that failed (disk full, file too large): not the disc's fault.
    failed: Option<std::io::Error>,
}

impl Write for Tee<'_> {
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
    progress.start("restoring", list.files.len() as u64, total);
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
    let mut tmp = tempfile::Builder::new()
        .prefix(".discvault-restore-")
        .tempfile_in(dir)
        .map_err(|e| ours(dir, e))?;
    use std::io::{Seek, SeekFrom};
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
                file: tmp.as_file_mut(),
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
                    let file = tmp.as_file_mut();
                    if let Err(e) = file
                        .set_len(written)
                        .and_then(|_| file.seek(SeekFrom::Start(written)).map(|_| ()))
                    {
                        return Err(ours(target, e));
                    }
                }
            }
        }
        if !done {
            return Err(Failed::Damaged(failures.join("; ")));
        }
    }
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
    fn globs_and_prefixes() {
        assert!(matches("col/a", "col", b"a/b.txt"));
        assert!(matches("a/b.txt", "col", b"a/b.txt"));
        assert!(!matches("a/b", "col", b"a/bc.txt"));
        assert!(matches("*.txt", "col", b"a/b.txt"));
        assert!(matches("col/*/b.?xt", "col", b"a/b.txt"));
        assert!(!matches("*.pdf", "col", b"a/b.txt"));
    }

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
