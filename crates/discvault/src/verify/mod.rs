//! Verify: identify the volume from the disc itself, then check every file against the
//! catalog's digests (not only against the disc's own manifest).

use crate::digest::{HashAlg, MultiHasher};
use crate::format::{self, VOLUME_JSON};
pub use crate::identify::identify;
use crate::identify::resolve;
use crate::model::{FileKind, Volume};
use crate::progress::{Message, NoProgress, Progress};
use crate::scan::{
    self, FileDevice, ScanItem, ScanOptions, SectorDevice, SectorMap, SectorRanges, SECTOR,
};
use crate::source::{self, DiscSource};
use crate::{Result, Vault};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

const TAG_MANIFEST: &[u8] = b"tagmanifest-sha256.txt";

mod medium;
use medium::check_medium;
mod udf;

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
    /// Files not read again in a resumed pass, good in the earlier one.
    pub files_carried: u64,
    pub bytes_read: u64,
    /// The sector scan, for images, pseudo drives and devices.
    pub sectors: Option<SectorSummary>,
    pub findings: Vec<FileFinding>,
    pub clean: bool,
    /// Old copies retired because this check verified their replacement (a migration).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired_copies: Vec<String>,
    /// For a damaged volume: whether `repair` can rebuild it from the sources verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair: Option<RepairOutlook>,
}

/// Whether a damaged volume can be repaired, and from which of the sources verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairOutlook {
    pub repairable: bool,
    /// The sources a repair reads: copies of the volume, its parity disc and the other discs of
    /// its group, among those verified (images and drives; a mounted folder cannot serve).
    pub sources: Vec<String>,
    /// The parity volume a repair needs, when the copies alone are not enough.
    pub from_parity: Option<String>,
    /// Records beyond repair from these sources.
    pub lost: Vec<String>,
    /// Why repair could not even be tried, if so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl RepairOutlook {
    /// Not repairable, and why repair could not be tried at all.
    pub(crate) fn not_tried(sources: Vec<String>, detail: String) -> RepairOutlook {
        RepairOutlook {
            repairable: false,
            sources,
            from_parity: None,
            lost: Vec::new(),
            detail: Some(detail),
        }
    }
}

/// How to verify. Files the catalog has no digest of the kind asked for are checked with
/// sha256.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default)]
pub struct VerifyOptions {
    /// Digest to check files with: sha256 (default), or any other the catalog holds
    /// (blake3 is the fastest).
    #[cfg_attr(feature = "clap", arg(long, default_value = "sha256"))]
    pub digest: HashAlg,
    /// Retries, time limit and threads of the sector scan (images, pseudo drives, devices).
    #[cfg_attr(feature = "clap", command(flatten))]
    pub scan: ScanOptions,
    /// Re-read only the sectors an earlier pass over this copy or source could not read.
    #[cfg_attr(feature = "clap", arg(long))]
    pub resume: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            digest: HashAlg::Sha256,
            scan: ScanOptions::default(),
            resume: false,
        }
    }
}

/// What the sector scan of an image or a device found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SectorSummary {
    pub total_sectors: u64,
    /// Sector ranges `[start, end)` that could not be read.
    pub bad: SectorRanges,
    /// Sector ranges not reached before the time limit.
    pub unread: SectorRanges,
    /// Passes over this medium (a resumed scan adds one).
    pub passes: u32,
    /// Bytes read in this pass.
    pub bytes_read: u64,
}

/// What is stored in the catalog after a scan, so a later pass can resume it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredScan {
    map: SectorMap,
    findings: Vec<FileFinding>,
}

/// Verifies every source; records a fixity-check event per volume. (The orchestration's
/// `verify` adds, for a damaged volume, whether the sources can repair it.)
pub fn verify(
    vault: &Vault,
    sources: &[std::path::PathBuf],
    opts: &VerifyOptions,
    progress: &dyn Progress,
) -> Result<Vec<VerifyReport>> {
    let mut out = Vec::new();
    for s in sources {
        out.push(check(vault, s, None, opts, &NoWrite, progress)?);
    }
    Ok(out)
}

/// One file the catalog expects on the volume, with the digest to check it against.
struct Expected {
    disc_path: Vec<u8>,
    length: u64,
    alg: HashAlg,
    digest: Option<String>,
}

fn expected_files(contents: &[crate::model::ContentEntry], alg: HashAlg) -> Vec<Expected> {
    contents
        .iter()
        .filter(|e| e.file.kind == FileKind::File)
        .map(|e| {
            let digests = match &e.content.part_digests {
                Some(d) => Some(d),
                None if e.content.parts <= 1 => Some(&e.file.digests),
                None => None,
            };
            let (alg, digest) = match digests {
                Some(d) => match d.get(alg) {
                    Some(x) => (alg, Some(x.to_string())),
                    None => (HashAlg::Sha256, d.get(HashAlg::Sha256).map(str::to_string)),
                },
                None => (HashAlg::Sha256, None),
            };
            Expected {
                disc_path: format::disc_path(&e.collection, &e.file, &e.content),
                length: e.content.length,
                alg,
                digest,
            }
        })
        .collect()
}

/// The finding for a file read whole: its length and digest against what is expected.
fn judge(e: &Expected, got_len: u64, got: &str) -> Option<FileFinding> {
    let shown = crate::catalog::display_path(&e.disc_path);
    let detail = if got_len != e.length {
        format!("{got_len} bytes on the disc, {} in the catalog", e.length)
    } else {
        match &e.digest {
            None => "the catalog has no digest for this part (volume never mastered?)".into(),
            Some(want) if want != got => {
                format!("{} {got} on the disc, {want} in the catalog", e.alg)
            }
            Some(_) => return None,
        }
    };
    Some(FileFinding {
        disc_path: shown,
        finding: Finding::Changed,
        detail,
    })
}

/// Where the bytes of checked files go besides the hashers: nowhere for verify, files for
/// read-back. `open` is called for each file before it is read; `close` after it was judged.
///
/// A sink's own failure (a file it cannot write: disk full, permission, a name too long for
/// the target file system) is no damage of the disc: the sink keeps it, [`DiscSink::failure`]
/// returns it, and the check ends with that error instead of a report, recording nothing.
pub(crate) trait DiscSink: Sync {
    fn open(&self, disc_path: &[u8]) -> std::io::Result<Option<Box<dyn std::io::Write>>>;
    fn close(&self, disc_path: &[u8], good: bool) -> std::io::Result<()>;
    /// The first failure of the sink itself, if any.
    fn failure(&self) -> Option<crate::Error> {
        None
    }
}

struct NoWrite;

impl DiscSink for NoWrite {
    fn open(&self, _: &[u8]) -> std::io::Result<Option<Box<dyn std::io::Write>>> {
        Ok(None)
    }
    fn close(&self, _: &[u8], _: bool) -> std::io::Result<()> {
        Ok(())
    }
}

/// Checks one source against the catalog: identifies the volume, reads every file (an image or
/// device sector by sector), records the result. `copy` is the copy the source is (the key of
/// its stored sector map).
pub(crate) fn check(
    vault: &Vault,
    path: &Path,
    copy: Option<&str>,
    opts: &VerifyOptions,
    sink: &dyn DiscSink,
    progress: &dyn Progress,
) -> Result<VerifyReport> {
    let md = std::fs::metadata(path).map_err(|e| crate::Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let (volume, mut report, stored) = if md.is_dir() {
        let mut src = source::open(path)?;
        let volume = identify(vault, src.as_mut())?;
        let report = check_dir(vault, src.as_mut(), &volume, opts, sink, progress)?;
        (volume, report, None)
    } else {
        check_medium(vault, path, copy, opts, sink, progress)?
    };
    if let Some(e) = sink.failure() {
        return Err(e);
    }
    report.clean = report.findings.is_empty();
    let mut detail = if report.clean {
        format!(
            "{} from {}: {} files match the catalog's {}",
            volume.volume_id, report.source, report.files_ok, opts.digest
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
            volume.volume_id, report.source, report.files_ok, counts
        )
    };
    if let Some(s) = &report.sectors {
        detail.push_str(&format!(
            "; pass {}: {} of {} sectors unreadable, {} not reached",
            s.passes,
            s.bad.count(),
            s.total_sectors,
            s.unread.count()
        ));
    }
    let stored = stored.map(|(key, st)| (key, serde_json::to_string(&st).unwrap_or_default()));
    vault.catalog.record_fixity_check(
        &volume,
        stored.as_ref().map(|(k, m)| (k.as_str(), m.as_str())),
        if report.clean { "success" } else { "failure" },
        &detail,
    )?;
    Ok(report)
}

/// A mounted disc: every file read through the file system.
fn check_dir(
    vault: &Vault,
    src: &mut dyn DiscSource,
    volume: &Volume,
    opts: &VerifyOptions,
    sink: &dyn DiscSink,
    progress: &dyn Progress,
) -> Result<VerifyReport> {
    let contents = vault.catalog.volume_contents(volume)?;
    let on_disc: BTreeMap<Vec<u8>, u64> =
        src.files()?.into_iter().map(|f| (f.path, f.size)).collect();
    let expected = expected_files(&contents, opts.digest);
    let mut findings = Vec::new();
    let payload: u64 = expected.iter().map(|e| e.length).sum();
    progress.start(
        &Message::Verifying {
            volume: volume.volume_id.clone(),
        },
        expected.len() as u64,
        payload,
    );
    let (mut ok, mut bytes) = (0u64, 0u64);
    for e in &expected {
        let shown = crate::catalog::display_path(&e.disc_path);
        if !on_disc.contains_key(&e.disc_path) {
            findings.push(FileFinding {
                disc_path: shown,
                finding: Finding::Missing,
                detail: "not on the disc".into(),
            });
            progress.advance(1, 0);
            continue;
        }
        let (res, got) = read_checked(src, &e.disc_path, e.alg, sink, progress);
        progress.advance(1, 0);
        let finding = match res {
            Err(err) => Some(FileFinding {
                disc_path: shown,
                finding: Finding::Unreadable,
                detail: err.to_string(),
            }),
            Ok(n) => {
                bytes += n;
                judge(e, n, &got)
            }
        };
        close(sink, &e.disc_path, finding.is_none(), &mut findings);
        match finding {
            Some(f) => findings.push(f),
            None => ok += 1,
        }
    }
    progress.finish();
    let known: std::collections::BTreeSet<&[u8]> =
        expected.iter().map(|e| e.disc_path.as_slice()).collect();
    extra_findings(on_disc.keys(), &known, &mut findings);
    tag_findings(src, &on_disc, sink, &mut findings);
    Ok(VerifyReport {
        source: src.name(),
        volume_id: volume.volume_id.clone(),
        files_checked: expected.len() as u64,
        files_ok: ok,
        files_carried: 0,
        bytes_read: bytes,
        sectors: None,
        findings,
        clean: false,
        retired_copies: Vec::new(),
        repair: None,
    })
}

fn read_checked(
    src: &mut dyn DiscSource,
    path: &[u8],
    alg: HashAlg,
    sink: &dyn DiscSink,
    progress: &dyn Progress,
) -> (std::io::Result<u64>, String) {
    let mut h = MultiHasher::new(&[alg]);
    let res = (|| {
        let mut out = sink.open(path)?;
        let mut tee = Tee {
            hasher: &mut h,
            out: out.as_deref_mut(),
            progress,
        };
        let n = src.read(path, &mut tee)?;
        if let Some(o) = out.as_mut() {
            o.flush()?;
        }
        Ok(n)
    })();
    (res, h.finish().0.remove(0).1)
}

fn close(sink: &dyn DiscSink, path: &[u8], good: bool, findings: &mut Vec<FileFinding>) {
    if let Err(e) = sink.close(path, good) {
        findings.push(FileFinding {
            disc_path: crate::catalog::display_path(path),
            finding: Finding::Unreadable,
            detail: format!("cannot write the copy: {e}"),
        });
    }
}

fn extra_findings<'a>(
    on_disc: impl Iterator<Item = &'a Vec<u8>>,
    known: &std::collections::BTreeSet<&[u8]>,
    findings: &mut Vec<FileFinding>,
) {
    for p in on_disc {
        if p.starts_with(b"data/") && !known.contains(p.as_slice()) {
            findings.push(FileFinding {
                disc_path: crate::catalog::display_path(p),
                finding: Finding::Extra,
                detail: "on the disc but not in the catalog".into(),
            });
        }
    }
}

/// Parses `tagmanifest-sha256.txt`: (path, sha256) per line.
pub fn parse_tag_manifest(tm: &[u8]) -> Vec<(Vec<u8>, String)> {
    tm.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(|line| {
            let sp = line.iter().position(|&b| b == b' ')?;
            let want = String::from_utf8_lossy(&line[..sp]).to_string();
            Some((line[sp..].trim_ascii_start().to_vec(), want))
        })
        .collect()
}

/// The tag manifest could not be read: missing, or unreadable.
fn manifest_finding(on_disc: &BTreeMap<Vec<u8>, u64>, e: &std::io::Error) -> FileFinding {
    FileFinding {
        disc_path: "tagmanifest-sha256.txt".into(),
        finding: if on_disc.contains_key(TAG_MANIFEST) {
            Finding::Unreadable
        } else {
            Finding::Missing
        },
        detail: e.to_string(),
    }
}

fn volume_record_finding(on_disc: &BTreeMap<Vec<u8>, u64>) -> Option<FileFinding> {
    (!on_disc.contains_key(VOLUME_JSON.as_bytes())).then(|| FileFinding {
        disc_path: VOLUME_JSON.into(),
        finding: Finding::Missing,
        detail: "volume record missing".into(),
    })
}

/// Checks the tag files of a mounted disc against its own tag manifest.
fn tag_findings(
    src: &mut dyn DiscSource,
    on_disc: &BTreeMap<Vec<u8>, u64>,
    sink: &dyn DiscSink,
    findings: &mut Vec<FileFinding>,
) {
    let mut tm = source::Capped::new(source::TAG_MANIFEST_BUDGET, "tag manifest");
    use std::io::Write;
    let read = src.read(TAG_MANIFEST, &mut tm).and_then(|_| {
        if let Some(mut out) = sink.open(TAG_MANIFEST)? {
            out.write_all(&tm.buf)?;
            out.flush()?;
        }
        Ok(())
    });
    close(sink, TAG_MANIFEST, read.is_ok(), findings);
    if let Err(e) = read {
        findings.push(manifest_finding(on_disc, &e));
        return;
    }
    for (path, want) in parse_tag_manifest(&tm.buf) {
        let shown = crate::catalog::display_path(&path);
        let (res, got) = read_checked(src, &path, HashAlg::Sha256, sink, &NoProgress);
        let f = match res {
            Err(e) => Some(FileFinding {
                disc_path: shown,
                finding: if on_disc.contains_key(&path) {
                    Finding::Unreadable
                } else {
                    Finding::Missing
                },
                detail: e.to_string(),
            }),
            Ok(_) => (got != want).then(|| FileFinding {
                disc_path: shown,
                finding: Finding::Changed,
                detail: format!("sha256 {got}, tag manifest says {want}"),
            }),
        };
        close(sink, &path, f.is_none(), findings);
        findings.extend(f);
    }
    findings.extend(volume_record_finding(on_disc));
}

/// Hashes what passes through, copies it to a sink and counts it as progress.
struct Tee<'a> {
    hasher: &'a mut MultiHasher,
    out: Option<&'a mut (dyn std::io::Write + 'static)>,
    progress: &'a dyn Progress,
}

impl std::io::Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.hasher.update(buf);
        if let Some(o) = self.out.as_mut() {
            o.write_all(buf)?;
        }
        self.progress.advance(0, buf.len() as u64);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Verifies one source as a given copy (by id, barcode or RFID): the copy must belong to the
/// volume on the disc; a clean result marks it verified (and trusted anew), damage marks it
/// damaged.
pub fn verify_copy(
    vault: &Vault,
    source: &Path,
    copy_key: &str,
    opts: &VerifyOptions,
    progress: &dyn Progress,
) -> Result<VerifyReport> {
    check_copy(vault, source, copy_key, opts, &NoWrite, progress)
}

/// Checks a source as a given copy (refusing a disc of another volume before reading it) and
/// records the result against the copy.
pub(crate) fn check_copy(
    vault: &Vault,
    source: &Path,
    copy_key: &str,
    opts: &VerifyOptions,
    sink: &dyn DiscSink,
    progress: &dyn Progress,
) -> Result<VerifyReport> {
    let copy = vault.catalog.copy(copy_key)?;
    let on_disc = identify(vault, source::open(source)?.as_mut())?;
    if on_disc.volume_id != copy.volume_id {
        return Err(crate::Error::Invalid {
            field: "copy".into(),
            detail: format!(
                "{} holds {}, but copy {} is a copy of {}",
                source.display(),
                on_disc.volume_id,
                copy.copy_id,
                copy.volume_id
            ),
        });
    }
    let report = check(vault, source, Some(&copy.copy_id), opts, sink, progress)?;
    // A scan cut short by its time limit, with nothing found wrong in what it read, says
    // nothing about the copy yet: its state stays until a pass reads the rest.
    let cut_short = report.sectors.as_ref().is_some_and(|s| {
        !s.unread.is_empty()
            && s.bad.is_empty()
            && report
                .findings
                .iter()
                .all(|f| f.finding == Finding::Unreadable && f.detail.contains("time limit"))
    });
    let mut c = copy.clone();
    c.state = if report.clean {
        crate::model::CopyState::Verified
    } else if cut_short {
        copy.state
    } else {
        crate::model::CopyState::Damaged
    };
    if report.clean {
        c.verified_at = Some(crate::now_unix());
    }
    let detail = format!(
        "copy {} read back from {}: {} ({} of {} files ok)",
        c.copy_id,
        report.source,
        if report.clean {
            "clean"
        } else if cut_short {
            "not finished before the time limit"
        } else {
            "DAMAGED"
        },
        report.files_ok,
        report.files_checked
    );
    vault.catalog.update_copies(&[crate::model::CopyChange {
        copy: c,
        event_type: "fixity check",
        outcome: if report.clean { "success" } else { "failure" },
        detail,
    }])?;
    let mut report = report;
    if report.clean {
        // A verified copy may complete a migration: the copies it replaces retire now.
        report.retired_copies = crate::copies::settle(vault)?;
    }
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
