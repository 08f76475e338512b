//! The pick list of a restore: which files, in which versions, on which volumes; from the
//! catalog, or from the discs' own volume records when the catalog does not know them.

use crate::catalog::display_path;
use crate::digest::HashAlg;
use crate::format::{self, VolumeRecord};
use crate::locate::Query;
use crate::model::{FileKind, Volume, VolumeState};
use crate::source;
use crate::{Error, Result, Vault};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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
            if v.kind == crate::model::VolumeKind::Parity {
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
        let mut best: BTreeMap<u32, (Volume, crate::model::Content)> = BTreeMap::new();
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
    found: Vec<(String, crate::model::FileRecord)>,
    opts: &PickOptions,
) -> Result<Vec<(String, crate::model::FileRecord)>> {
    let mut by_path: BTreeMap<(String, Vec<u8>), Vec<crate::model::FileRecord>> = BTreeMap::new();
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

/// The vault a restore takes its catalog from. Without a vault at `root`, when discs are given
/// (`from`), none: the discs' own records are read. A vault that is there but cannot be
/// opened is an error, not an empty catalog.
pub fn open_vault(root: &Path, catalog: Option<&str>, from: &[PathBuf]) -> Result<Option<Vault>> {
    match Vault::open_with(root, catalog) {
        Ok(v) => Ok(Some(v)),
        Err(Error::NoVault(_)) if !from.is_empty() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The pick list of a restore from the discs `from` (none: the catalog alone says which
/// volumes are needed). A file with versions on those discs is taken in the newest of them,
/// unless `version` names one. When the catalog has no such files or does not know the volume,
/// or there is no catalog, and discs are given, the list is made from the discs' own volume
/// records ([`PickList::from_discs`]). An empty list means nothing matches: [`no_match`] says
/// why.
pub fn pick_for_restore(
    vault: Option<&Vault>,
    sel: &Selection,
    version: Option<i64>,
    from: &[PathBuf],
) -> Result<PickList> {
    let mut from_volumes = Vec::new();
    for s in from {
        let mut src = source::open(s)?;
        if let Ok(id) = source::volume_id(src.as_mut()) {
            from_volumes.push(id);
        }
    }
    let opts = PickOptions {
        version,
        from_volumes,
    };
    let list = match vault {
        Some(v) => match pick_with(v, sel, &opts) {
            Ok(l) => l,
            Err(Error::UnknownVolume(_)) if !from.is_empty() => PickList::default(),
            Err(e) => return Err(e),
        },
        None => PickList::default(),
    };
    if !list.files.is_empty() || from.is_empty() {
        return Ok(list);
    }
    // Not in this catalog: read what the discs say about themselves.
    let mut records = Vec::new();
    for s in from {
        let mut src = source::open(s)?;
        records.push(source::volume_record(src.as_mut())?);
    }
    pick_from_records(&records, sel)
}

/// Why a selection picked no file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NoMatch {
    /// Files match the pattern, but none has the version asked for; `example`
    /// (`collection/path`) is one of them, in version `has`.
    NoSuchVersion {
        pattern: String,
        version: i64,
        example: String,
        has: i64,
    },
    /// Files contain the pattern, but it is neither a path (a prefix of folders) nor a glob of
    /// any.
    NotAPath { pattern: String },
    /// No file has the pattern in its path.
    Nothing { pattern: String },
    /// The volume holds no records.
    EmptyVolume { volume: String },
}

impl std::fmt::Display for NoMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoMatch::NoSuchVersion {
                pattern: p,
                version: n,
                example,
                has,
            } => write!(
                f,
                "no version {n} of the files matching {p:?} (e.g. {example} has v{has}; see `discvault locate --all-versions {p:?}`)"
            ),
            NoMatch::NotAPath { pattern: p } => write!(
                f,
                "nothing matches {p:?} as a path (COLLECTION/PATH or PATH, a prefix of folders) or a glob; `discvault locate {p:?}` finds files containing it: restore those with the pattern '*{p}*'"
            ),
            NoMatch::Nothing { pattern: p } => write!(f, "nothing matches {p:?}"),
            NoMatch::EmptyVolume { volume } => write!(f, "volume {volume} holds no records"),
        }
    }
}

/// Why `sel` (with `version`) picked nothing: the hint a person needs, from the files that
/// contain the pattern (see [`crate::locate::locate_versions`]).
pub fn no_match(vault: Option<&Vault>, sel: &Selection, version: Option<i64>) -> Result<NoMatch> {
    let p = match sel {
        Selection::Volume(v) => return Ok(NoMatch::EmptyVolume { volume: v.clone() }),
        Selection::Pattern(p) => p.clone(),
    };
    let hint = match vault {
        Some(v) => crate::locate::locate_versions(v, &p, 1, true)?,
        None => Vec::new(),
    };
    Ok(match (hint.first(), version) {
        (Some(f), Some(n)) => NoMatch::NoSuchVersion {
            example: format!("{}/{}", f.collection, f.path),
            has: f.version,
            pattern: p,
            version: n,
        },
        (Some(_), None) => NoMatch::NotAPath { pattern: p },
        (None, _) => NoMatch::Nothing { pattern: p },
    })
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
}
