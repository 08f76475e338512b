//! Verify: identify the volume from the disc itself, then check every file against the
//! catalog's digests (not only against the disc's own manifest).

use crate::catalog::{FileKind, Volume};
use crate::digest::{HashAlg, MultiHasher};
use crate::format::{self, VOLUME_JSON};
use crate::progress::Progress;
use crate::source::{self, DiscSource};
use crate::{Result, Vault};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// What is wrong with one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Finding {
    Missing,
    Extra,
    Changed,
    Unreadable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFinding {
    /// Path on the disc.
    pub disc_path: String,
    pub finding: Finding,
    pub detail: String,
}

/// The result of verifying one source.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifyReport {
    pub source: String,
    pub volume_id: String,
    pub files_checked: u64,
    pub files_ok: u64,
    pub bytes_read: u64,
    pub findings: Vec<FileFinding>,
    pub clean: bool,
}

/// Finds which catalog volume a source holds: from its volume record, else its label.
pub fn identify(vault: &Vault, src: &mut dyn DiscSource) -> Result<Volume> {
    match source::volume_record(src) {
        Ok(rec) => vault.catalog.volume(&rec.volume_id),
        Err(first) => match src.label() {
            Some(label) if vault.catalog.volume(&label).is_ok() => vault.catalog.volume(&label),
            _ => Err(first),
        },
    }
}

/// Verifies every source; records a fixity-check event per volume.
pub fn verify(
    vault: &Vault,
    sources: &[std::path::PathBuf],
    progress: &dyn Progress,
) -> Result<Vec<VerifyReport>> {
    let mut out = Vec::new();
    for s in sources {
        out.push(verify_one(vault, s, progress)?);
    }
    Ok(out)
}

fn verify_one(vault: &Vault, path: &Path, progress: &dyn Progress) -> Result<VerifyReport> {
    let mut src = source::open(path)?;
    let volume = identify(vault, src.as_mut())?;
    let contents = vault.catalog.volume_contents(&volume)?;
    let on_disc: BTreeMap<Vec<u8>, u64> =
        src.files()?.into_iter().map(|f| (f.path, f.size)).collect();
    let mut findings = Vec::new();
    let mut expected_paths = std::collections::BTreeSet::new();
    let payload: u64 = contents.iter().map(|e| e.content.length).sum();
    progress.start(
        &format!("verifying {}", volume.volume_id),
        contents.len() as u64,
        payload,
    );
    let mut checked = 0u64;
    let mut ok = 0u64;
    let mut bytes = 0u64;
    for e in &contents {
        if e.file.kind != FileKind::File {
            continue;
        }
        let dp = format::disc_path(&e.collection, &e.file, &e.content);
        let shown = crate::catalog::display_path(&dp);
        expected_paths.insert(dp.clone());
        checked += 1;
        let expect = match &e.content.part_digests {
            Some(d) => d.get(HashAlg::Sha256).map(str::to_string),
            None if e.content.parts <= 1 => e.file.digests.get(HashAlg::Sha256).map(str::to_string),
            None => None,
        };
        let Some(&size) = on_disc.get(&dp) else {
            findings.push(FileFinding {
                disc_path: shown,
                finding: Finding::Missing,
                detail: "not on the disc".into(),
            });
            progress.advance(1, 0);
            continue;
        };
        let mut h = MultiHasher::new(&[HashAlg::Sha256]);
        let res = src.read(
            &dp,
            &mut ProgressWriter {
                inner: &mut h,
                progress,
            },
        );
        bytes += size;
        progress.advance(1, 0);
        match res {
            Err(err) => findings.push(FileFinding {
                disc_path: shown,
                finding: Finding::Unreadable,
                detail: err.to_string(),
            }),
            Ok(n) => {
                let got = h.finish();
                let got = got.get(HashAlg::Sha256).unwrap_or_default();
                if n != e.content.length {
                    findings.push(FileFinding {
                        disc_path: shown,
                        finding: Finding::Changed,
                        detail: format!(
                            "{n} bytes on the disc, {} in the catalog",
                            e.content.length
                        ),
                    });
                } else if expect.as_deref().is_some_and(|x| x != got) {
                    findings.push(FileFinding {
                        disc_path: shown,
                        finding: Finding::Changed,
                        detail: format!(
                            "sha256 {got} on the disc, {} in the catalog",
                            expect.unwrap_or_default()
                        ),
                    });
                } else if expect.is_none() {
                    findings.push(FileFinding {
                        disc_path: shown,
                        finding: Finding::Changed,
                        detail: "the catalog has no digest for this part (volume never mastered?)"
                            .into(),
                    });
                } else {
                    ok += 1;
                }
            }
        }
    }
    progress.finish();
    for p in on_disc.keys() {
        if p.starts_with(b"data/") && !expected_paths.contains(p) {
            findings.push(FileFinding {
                disc_path: crate::catalog::display_path(p),
                finding: Finding::Extra,
                detail: "on the disc but not in the catalog".into(),
            });
        }
    }
    tag_findings(src.as_mut(), &on_disc, &mut findings);
    let clean = findings.is_empty();
    let report = VerifyReport {
        source: src.name(),
        volume_id: volume.volume_id.clone(),
        files_checked: checked,
        files_ok: ok,
        bytes_read: bytes,
        findings,
        clean,
    };
    let detail = if clean {
        format!(
            "{} from {}: {} files match the catalog's sha256",
            volume.volume_id, report.source, ok
        )
    } else {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for f in &report.findings {
            *counts
                .entry(format!("{:?}", f.finding).to_lowercase())
                .or_default() += 1;
        }
        format!(
            "{} from {}: {} ok, problems {:?}",
            volume.volume_id, report.source, ok, counts
        )
    };
    vault.catalog.add_event(
        "fixity check",
        if clean { "success" } else { "failure" },
        &detail,
        Some(&volume),
    )?;
    Ok(report)
}

/// Checks the tag files against the disc's own tag manifest.
fn tag_findings(
    src: &mut dyn DiscSource,
    on_disc: &BTreeMap<Vec<u8>, u64>,
    findings: &mut Vec<FileFinding>,
) {
    let mut tm = Vec::new();
    if let Err(e) = src.read(b"tagmanifest-sha256.txt", &mut tm) {
        findings.push(FileFinding {
            disc_path: "tagmanifest-sha256.txt".into(),
            finding: if on_disc.contains_key(b"tagmanifest-sha256.txt".as_slice()) {
                Finding::Unreadable
            } else {
                Finding::Missing
            },
            detail: e.to_string(),
        });
        return;
    }
    for line in tm.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let Some(sp) = line.iter().position(|&b| b == b' ') else {
            continue;
        };
        let want = String::from_utf8_lossy(&line[..sp]).to_string();
        let path = line[sp..].trim_ascii_start().to_vec();
        let shown = crate::catalog::display_path(&path);
        let mut h = MultiHasher::new(&[HashAlg::Sha256]);
        match src.read(&path, &mut h) {
            Err(e) => findings.push(FileFinding {
                disc_path: shown,
                finding: if on_disc.contains_key(&path) {
                    Finding::Unreadable
                } else {
                    Finding::Missing
                },
                detail: e.to_string(),
            }),
            Ok(_) => {
                let got = h.finish();
                let got = got.get(HashAlg::Sha256).unwrap_or_default().to_string();
                if got != want {
                    findings.push(FileFinding {
                        disc_path: shown,
                        finding: Finding::Changed,
                        detail: format!("sha256 {got}, tag manifest says {want}"),
                    });
                }
            }
        }
    }
    if !on_disc.contains_key(VOLUME_JSON.as_bytes()) {
        findings.push(FileFinding {
            disc_path: VOLUME_JSON.into(),
            finding: Finding::Missing,
            detail: "volume record missing".into(),
        });
    }
}

struct ProgressWriter<'a, W: std::io::Write> {
    inner: &'a mut W,
    progress: &'a dyn Progress,
}

impl<W: std::io::Write> std::io::Write for ProgressWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.progress.advance(0, n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Verifies one source as a given copy (by id, barcode or RFID): the copy must belong to the
/// volume on the disc; a clean result marks it verified (and trusted anew), damage marks it
/// damaged.
pub fn verify_copy(
    vault: &Vault,
    source: &Path,
    copy_key: &str,
    progress: &dyn Progress,
) -> Result<VerifyReport> {
    let copy = vault.catalog.copy(copy_key)?;
    let report = verify_one(vault, source, progress)?;
    if report.volume_id != copy.volume_id {
        return Err(crate::Error::Invalid {
            field: "copy".into(),
            detail: format!(
                "the disc holds {}, but copy {} is a copy of {}",
                report.volume_id, copy.copy_id, copy.volume_id
            ),
        });
    }
    let mut c = copy.clone();
    c.state = if report.clean {
        crate::catalog::copies::CopyState::Verified
    } else {
        crate::catalog::copies::CopyState::Damaged
    };
    if report.clean {
        c.verified_at = Some(crate::now_unix());
    }
    let detail = format!(
        "copy {} read back from {}: {} ({} of {} files ok)",
        c.copy_id,
        report.source,
        if report.clean { "clean" } else { "DAMAGED" },
        report.files_ok,
        report.files_checked
    );
    vault
        .catalog
        .update_copies(&[crate::catalog::copies::CopyChange {
            copy: c,
            event_type: "fixity check",
            outcome: if report.clean { "success" } else { "failure" },
            detail,
        }])?;
    Ok(report)
}

/// Exit code for a set of reports: 0 clean, 3 anything damaged or missing.
pub fn exit_code(reports: &[VerifyReport]) -> i32 {
    if reports.iter().all(|r| r.clean) {
        0
    } else {
        3
    }
}
