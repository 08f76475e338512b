//! Watched folders (`[[server.watched]]`): a records system drops a folder of records (one
//! delivery) into a watched folder; once it is complete (a marker file in it, or nothing in it
//! changed for the settle time) and its sidecar metadata is valid, it is added, staged in the
//! vault, and moved to `done/`; a delivery that cannot be added goes to `error/` with
//! `REASON.txt` beside it.
//!
//! A delivery is claimed by renaming it into `.ingesting/TIME~HOST~PID~N/` first (one station
//! wins when several watch one folder); one left there by a server of this host that stopped
//! (or that failed on its own side: a busy catalog, a full disk) is added again when the server
//! starts: adding what is in the catalog already records nothing, so nothing is added twice.
//! Each delivery moves as a whole into a folder of its own, named after the claim
//! (`done/20261202T210501Z~host~812~0/档案 2024-001`): a record's name is never changed.

use crate::config::WatchedFolder;
use crate::error::IoContext;
use crate::ingest::{AddOptions, AddReport};
use crate::progress::NoProgress;
use crate::{Error, Result, Vault};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// The folders a watched folder keeps for itself: no delivery may be named so.
const INGESTING: &str = ".ingesting";
const DONE: &str = "done";
const ERROR: &str = "error";
/// The sidecar, as JSON (an object of strings) or CSV (`key,value` rows).
const SIDECAR_JSON: &str = "metadata.json";
const SIDECAR_CSV: &str = "metadata.csv";
/// What became of a delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    /// Where it was dropped.
    pub folder: PathBuf,
    /// Where it is now: under `done/` or `error/`.
    pub moved_to: PathBuf,
    pub added: bool,
    /// Why it went to `error/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<AddReport>,
}

/// What a delivery looked like when last seen, to tell when it stopped changing.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Look {
    files: u64,
    bytes: u64,
    newest: Option<SystemTime>,
}

/// The watcher's memory between rounds: each delivery's last look and since when it is so.
#[derive(Default)]
pub struct Watch {
    seen: HashMap<PathBuf, (Look, Instant)>,
    resumed: bool,
}

/// One round over every watched folder: deliveries left in `.ingesting/` by a server that
/// stopped (first round only), then the complete ones. Returns what became of each.
pub fn round(vault: &Vault, watch: &mut Watch) -> Result<Vec<Delivery>> {
    let mut out = Vec::new();
    for w in &vault.config.server.watched {
        if !watch.resumed {
            for claimed in subfolders(&w.path.join(INGESTING))? {
                // Another station's claim, or a live process's, is theirs to finish.
                if !abandoned(&claimed) {
                    continue;
                }
                for d in subfolders(&claimed)? {
                    out.push(finish(vault, w, &d, &claimed));
                }
            }
        }
        for d in subfolders(&w.path)? {
            let name = d.file_name().unwrap_or_default();
            if [INGESTING, DONE, ERROR].iter().any(|r| name == *r) {
                continue;
            }
            if !complete(w, &d, watch)? {
                continue;
            }
            watch.seen.remove(&d);
            let slot = w.path.join(INGESTING).join(stamp());
            std::fs::create_dir_all(&slot).at(&slot)?;
            let claimed = slot.join(name);
            match std::fs::rename(&d, &claimed) {
                Ok(()) => out.push(finish(vault, w, &claimed, &slot)),
                // Another station claimed it first.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let _ = std::fs::remove_dir(&slot);
                }
                Err(e) => return Err(Error::Io { path: d, source: e }),
            }
        }
    }
    watch.resumed = true;
    Ok(out)
}

fn subfolders(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::Io {
                path: dir.to_path_buf(),
                source: e,
            })
        }
    };
    let mut out = Vec::new();
    for e in rd {
        let e = e.at(dir)?;
        // Folders only: a file dropped loose is not a delivery (nor a link to one).
        if e.file_type().at(e.path())?.is_dir() {
            out.push(e.path());
        }
    }
    out.sort();
    Ok(out)
}

/// `20261202T210501Z~HOST~PID~N`: the claim's time and who made it, unique.
fn stamp() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = crate::rfc3339(crate::now_unix()).replace([':', '-'], "");
    format!(
        "{t}~{}~{}~{}",
        host(),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().replace(['~', '/'], "_"))
        .unwrap_or_else(|_| "localhost".into())
}

/// A claim whose process is gone from this host (one of another host is left to it).
fn abandoned(slot: &Path) -> bool {
    let name = slot.file_name().unwrap_or_default().to_string_lossy();
    let parts: Vec<&str> = name.split('~').collect();
    match parts.as_slice() {
        [_, h, pid, _] => *h == host() && !Path::new("/proc").join(pid).exists(),
        _ => false,
    }
}

/// Whether a delivery is complete: its marker is there, or it looked the same for the settle
/// time.
fn complete(w: &WatchedFolder, d: &Path, watch: &mut Watch) -> Result<bool> {
    if !w.marker.is_empty() && d.join(&w.marker).is_file() {
        return Ok(true);
    }
    if w.settle_seconds == 0 {
        return Ok(false);
    }
    let look = look(d)?;
    let now = Instant::now();
    let since = match watch.seen.get(d) {
        Some((l, since)) if *l == look => *since,
        _ => {
            watch.seen.insert(d.to_path_buf(), (look, now));
            now
        }
    };
    Ok(now.duration_since(since) >= Duration::from_secs(w.settle_seconds))
}

fn look(d: &Path) -> Result<Look> {
    let mut l = Look {
        files: 0,
        bytes: 0,
        newest: None,
    };
    for e in walkdir::WalkDir::new(d) {
        let e = e.map_err(|e| Error::Io {
            path: e.path().unwrap_or(d).to_path_buf(),
            source: e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("a loop of links")),
        })?;
        let md = e.metadata().map_err(|e| Error::Io {
            path: d.to_path_buf(),
            source: e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("a loop of links")),
        })?;
        l.files += 1;
        l.bytes += md.len();
        let m = md.modified().ok();
        l.newest = l.newest.max(m);
    }
    Ok(l)
}

/// The sidecar of a delivery, checked: the collection and the metadata to add with.
pub fn sidecar(w: &WatchedFolder, d: &Path) -> Result<(String, BTreeMap<String, String>)> {
    let json = d.join(SIDECAR_JSON);
    let csv = d.join(SIDECAR_CSV);
    let bad = |path: &Path, detail: String| Error::Invalid {
        field: path.display().to_string(),
        detail,
    };
    // A sidecar is a small file of its own: not a link, not a megabyte.
    for p in [&json, &csv] {
        if let Ok(md) = std::fs::symlink_metadata(p) {
            if !md.is_file() || md.len() > 1 << 20 {
                return Err(bad(
                    p,
                    "a sidecar is a file (not a link) of at most 1 MiB".into(),
                ));
            }
        }
    }
    let (path, pairs): (PathBuf, Vec<(String, String)>) = if json.is_file() {
        let text = std::fs::read(&json).at(&json)?;
        let v: serde_json::Value =
            serde_json::from_slice(&text).map_err(|e| bad(&json, format!("not JSON: {e}")))?;
        let serde_json::Value::Object(m) = v else {
            return Err(bad(&json, "not a JSON object of keys and values".into()));
        };
        let mut pairs = Vec::new();
        for (k, v) in m {
            match v {
                serde_json::Value::String(s) => pairs.push((k, s)),
                serde_json::Value::Number(n) => pairs.push((k, n.to_string())),
                other => {
                    return Err(bad(
                        &json,
                        format!("{k:?}: a value is text or a number, not {other}"),
                    ))
                }
            }
        }
        (json, pairs)
    } else if csv.is_file() {
        let (mut rdr, _) = crate::csvfile::reader(&csv, &["key", "value"], "key,value")?;
        let mut pairs = Vec::new();
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| bad(&csv, format!("line {}: {e}", i + 2)))?;
            pairs.push((
                rec.get(0).unwrap_or_default().to_string(),
                rec.get(1).unwrap_or_default().to_string(),
            ));
        }
        (csv, pairs)
    } else {
        (PathBuf::new(), Vec::new())
    };
    let (named, meta) = crate::ingest::checked_metadata(pairs).map_err(|e| bad(&path, e))?;
    let collection = named.or_else(|| w.collection.clone());
    let collection = collection.filter(|c| !c.trim().is_empty()).ok_or_else(|| {
        bad(
            if path.as_os_str().is_empty() {
                d
            } else {
                &path
            },
            format!(
                "no collection: name it in {SIDECAR_JSON} or {SIDECAR_CSV} (\"collection\"), or give the watched folder one"
            ),
        )
    })?;
    Ok((collection, meta))
}

/// Adds a claimed delivery and moves it to `done/` (or `error/`); `slot` is the folder it was
/// claimed into, removed after.
fn finish(vault: &Vault, w: &WatchedFolder, d: &Path, slot: &Path) -> Delivery {
    let name = d.file_name().unwrap_or_default().to_os_string();
    let res = sidecar(w, d).and_then(|(collection, metadata)| {
        if !w.marker.is_empty() {
            let m = d.join(&w.marker);
            if m.is_file() {
                std::fs::remove_file(&m).at(&m)?;
            }
        }
        crate::model::acting_as("watched folder", || {
            crate::ingest::add(
                vault,
                &[d.to_path_buf()],
                &AddOptions {
                    collection: Some(collection),
                    metadata,
                    copy: true,
                    ..Default::default()
                },
                &NoProgress,
            )
        })
    });
    let (to_dir, reason, report) = match res {
        Ok(r) if r.errors.is_empty() => (DONE, None, Some(r)),
        Ok(r) => {
            let why = r
                .errors
                .iter()
                .map(|p| format!("{}: {}", p.path, p.reason))
                .collect::<Vec<_>>()
                .join("\n");
            (
                ERROR,
                Some(format!("not recorded (the others were):\n{why}")),
                Some(r),
            )
        }
        // The delivery's fault (its sidecar, its files): to error/. Ours (a busy catalog, a
        // full disk): it stays claimed, added again when the server next starts.
        Err(e @ (Error::Invalid { .. } | Error::BadRows { .. })) => {
            (ERROR, Some(e.to_string()), None)
        }
        Err(e) => {
            return Delivery {
                folder: w.path.join(&name),
                moved_to: d.to_path_buf(),
                added: false,
                reason: Some(format!(
                    "not added ({e}); it stays in {} and is added again when the server starts",
                    d.display()
                )),
                report: None,
            }
        }
    };
    let target_slot = w
        .path
        .join(to_dir)
        .join(slot.file_name().unwrap_or_default());
    let moved_to = target_slot.join(&name);
    let moved = std::fs::create_dir_all(&target_slot)
        .and_then(|_| std::fs::rename(d, &moved_to))
        .and_then(|_| match &reason {
            Some(r) => std::fs::write(target_slot.join("REASON.txt"), format!("{r}\n")),
            None => Ok(()),
        });
    let _ = std::fs::remove_dir(slot);
    match moved {
        Ok(()) => Delivery {
            folder: w.path.join(&name),
            moved_to,
            added: reason.is_none(),
            reason,
            report,
        },
        Err(e) => Delivery {
            folder: w.path.join(&name),
            moved_to: d.to_path_buf(),
            added: false,
            reason: Some(format!(
                "{}: could not be moved to {}: {e}",
                d.display(),
                moved_to.display()
            )),
            report,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(w: &WatchedFolder, json: &str) -> Result<(String, BTreeMap<String, String>)> {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join(SIDECAR_JSON), json).unwrap();
        sidecar(w, t.path())
    }

    #[test]
    fn a_sidecar_is_checked_before_anything_is_added() {
        let w = WatchedFolder::default();
        let (c, m) = check(
            &w,
            r#"{"collection": "文书档案", "全宗号": "J001", "年度": 2024, "保管期限": "定期30年", "密级": "内部", "案卷号": "12"}"#,
        )
        .unwrap();
        assert_eq!(c, "文书档案");
        assert_eq!(m["fonds"], "J001");
        assert_eq!(m["retention"], "定期30年");
        assert_eq!(m["年度"], "2024");
        assert_eq!(m["案卷号"], "12");
        for (bad, says) in [
            (r#"{"collection": "x", "年度": "24"}"#, "年度"),
            (r#"{"collection": "x", "密级": "top secret"}"#, "密级"),
            (r#"{"collection": "x", "保管期限": "forever"}"#, "保管期限"),
            (
                r#"{"collection": "x", "全宗号": "J1", "fonds": "J2"}"#,
                "twice",
            ),
            (r#"{"collection": "x", "题名": "a\nb"}"#, "one line"),
            (r#"{"collection": "x", "题名": ["a"]}"#, "text or a number"),
            (r#"{"全宗号": "J001"}"#, "no collection"),
            (r#"["collection"]"#, "object"),
            ("{not json", "not JSON"),
        ] {
            let e = check(&w, bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
            assert!(e.contains(SIDECAR_JSON), "{bad}: {e}");
        }
        // The watched folder's collection serves when the sidecar names none.
        let w = WatchedFolder {
            collection: Some("照片档案".into()),
            ..Default::default()
        };
        assert_eq!(check(&w, "{}").unwrap().0, "照片档案");
    }
}
