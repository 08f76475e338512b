//! Publishing: every copy of a volume burned on a target, read back and verified before it
//! counts, as a job kept in the catalog.
//!
//! Targets are [`Publisher`]s:
//! - `images:DIR`: image files, for burning elsewhere and for tests;
//! - `xorriso:DEVICE[,DEVICE...]`: drives through xorriso/libburn (`stdio:FILE` pseudo drives in
//!   tests);
//! - `tdbridge:FOLDER`: Epson Discproducer TD Bridge's hot folder (one `.JDF` per disc, with
//!   the volume's files, the label's merge data; followed through its renamed states and
//!   `TDBStatus.txt`);
//! - `ptburn:FOLDER`: Primera PTBurn's job folder (one `.JRQ` per disc with the image and the
//!   rendered label; `LoadUnloadOverride` holds the disc in the robot's drive so discvault reads
//!   it back before the robot prints and stacks it, or rejects it).
//!
//! A job records each copy's state (pending, burning, verifying, readback, done, failed,
//! cancelled) and its disc or publisher job, in its own transaction at every step: after a
//! crash or a kill a rerun of `publish` resumes only what is left, following a publisher job
//! already submitted and reading back a disc already burned instead of burning another. A copy
//! is registered `planned` and becomes `verified` only by a read-back check against the catalog
//! ([`crate::verify`]); a failed disc (at the publisher or in the read-back) is burned again on
//! the next disc, up to the configured attempts.

use crate::catalog::copies::{CopyChange, CopyState, DiscCopy, NewCopy, Place};
use crate::catalog::jobs::{Job, JobCopyState, NewJobCopy, RejectedDisc};
use crate::catalog::{Volume, VolumeState};
use crate::config::{PtBurnSection, TdBridgeSection};
use crate::error::IoContext;
use crate::master::MasterOptions;
use crate::progress::Progress;
use crate::verify::VerifyOptions;
use crate::{Error, Result, Vault};
use discpublisher::{ptburn, tdbridge, CodePage};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where discs are published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// Image files in a folder: `<copy id>.iso`.
    Images(PathBuf),
    /// Drives driven by xorriso: `/dev/sr0`, or `stdio:FILE` pseudo drives.
    Xorriso(Vec<String>),
    /// Epson TD Bridge's monitoring folder.
    TdBridge(PathBuf),
    /// Primera PTBurn's job request folder.
    PtBurn(PathBuf),
}

impl Target {
    pub fn parse(s: &str) -> Result<Target> {
        let bad = |detail: &str| Error::Invalid {
            field: "--to".into(),
            detail: format!("{s:?}: {detail}"),
        };
        match s.split_once(':') {
            Some(("images", dir)) if !dir.is_empty() => Ok(Target::Images(PathBuf::from(dir))),
            Some(("xorriso", devs)) if !devs.is_empty() => Ok(Target::Xorriso(
                devs.split(',').map(|d| d.trim().to_string()).collect(),
            )),
            Some((kind @ ("tdbridge" | "ptburn"), dir)) if !dir.is_empty() => {
                let dir = PathBuf::from(dir);
                if !dir.is_dir() {
                    return Err(bad("no such folder (the publisher's hot folder)"));
                }
                Ok(if kind == "tdbridge" {
                    Target::TdBridge(dir)
                } else {
                    Target::PtBurn(dir)
                })
            }
            _ => Err(bad(
                "use images:DIR, xorriso:DEVICE[,DEVICE...], tdbridge:FOLDER or ptburn:FOLDER",
            )),
        }
    }

    fn publisher<'a>(
        &self,
        vault: &Vault,
        opts: &PublishOptions,
        operator: Option<&'a dyn Operator>,
    ) -> Result<Box<dyn Publisher + 'a>> {
        let p = &vault.config.publish;
        let cp = code_page(vault)?;
        let follow = Follow {
            poll: Duration::from_millis(p.poll_ms.max(10)),
            give_up: opts.give_up_after.map(Duration::from_secs),
        };
        Ok(match self {
            Target::Images(d) => Box::new(ImagesPublisher { dir: d.clone() }),
            Target::Xorriso(devs) => Box::new(XorrisoPublisher {
                devices: devs.clone(),
                next: 0,
                used: vec![false; devs.len()],
                operator,
            }),
            Target::TdBridge(folder) => Box::new(TdBridgePublisher {
                target: self.to_string(),
                folder: folder.clone(),
                cfg: p.tdbridge.clone(),
                cp,
                follow,
            }),
            Target::PtBurn(folder) => Box::new(PtBurnPublisher {
                target: self.to_string(),
                folder: folder.clone(),
                cfg: p.ptburn.clone(),
                cp,
                follow,
                held: Default::default(),
            }),
        })
    }
}

/// The configured code page of the publisher's PC; a name that is none is an error naming the
/// setting (never a silent GBK: the job files would name paths that do not exist).
fn code_page(vault: &Vault) -> Result<CodePage> {
    let name = &vault.config.publish.code_page;
    CodePage::parse(name).ok_or_else(|| config_error(
        vault,
        format!(
            "publish.code_page = {name:?} is not a code page (gbk, cp936, gb18030, big5, windows-1252, utf-8 ...)"
        ),
    ))
}

fn config_error(vault: &Vault, detail: String) -> Error {
    Error::Config {
        path: vault.root.join(crate::config::CONFIG_FILE),
        detail,
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Images(d) => write!(f, "images:{}", d.display()),
            Target::Xorriso(d) => write!(f, "xorriso:{}", d.join(",")),
            Target::TdBridge(d) => write!(f, "tdbridge:{}", d.display()),
            Target::PtBurn(d) => write!(f, "ptburn:{}", d.display()),
        }
    }
}

/// One disc to burn.
pub struct BurnRequest<'a> {
    pub job_id: &'a str,
    /// 1 for the first disc of the copy, 2 after a failed one ...
    pub attempt: u32,
    pub image: &'a Path,
    pub volume: &'a Volume,
    pub copy: &'a DiscCopy,
}

/// How a burn ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Burned {
    /// The disc can be read back here now.
    Readable(PathBuf),
    /// The robot holds the disc in its drive, readable here, until [`Publisher::release`].
    Held(PathBuf),
    /// The disc left the robot (its output stacker, described): a person reads it back.
    Away(String),
    /// The publisher failed the disc (a write error, a rejected disc): burn it again.
    DiscFailed(String),
    /// The job was cancelled at the publisher.
    Cancelled(String),
    /// The publisher did not take the job (nothing was burned): the copy waits for a rerun once
    /// the cause is fixed.
    Refused(String),
}

/// Why a burned disc does not hold its copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectKind {
    /// The publisher failed it (a write error, a disc it rejected).
    AtPublisher,
    /// Burned, but discvault's read-back found damage (a disc the robot held has been sent to
    /// its reject bin).
    ReadBack,
}

/// Where a rejected disc is, what tells it apart, and what to do with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disposition {
    pub place: String,
    pub label: String,
    pub action: String,
}

/// Something that burns images onto discs. A burn is started, then followed to its end; both
/// halves are recorded in the job so that a rerun follows a burn started before a crash.
pub trait Publisher {
    /// Checks what the publisher needs before anything is registered or burned (a label
    /// template, a stacker folder): an error here leaves no job and no disc.
    fn preflight(&self, _vault: &Vault) -> Result<()> {
        Ok(())
    }
    /// Prepares what the discs of a volume are burned from (TD Bridge: the volume's files as a
    /// folder), before its job is registered: a volume that cannot be prepared leaves no job.
    fn prepare(
        &mut self,
        _vault: &Vault,
        _volume: &Volume,
        _image: &Path,
        _progress: &dyn Progress,
    ) -> Result<()> {
        Ok(())
    }
    /// Where a disc of `copy` that does not hold it (`handle` as [`Publisher::start`] returned
    /// it) is now, and what a person does with it.
    fn rejected(&self, handle: &str, copy: &DiscCopy, kind: RejectKind) -> Disposition;
    /// Starts burning a disc; returns the handle that [`Publisher::finish`] follows (the disc
    /// for a drive, the job file for a hot folder).
    fn start(
        &mut self,
        vault: &Vault,
        req: &BurnRequest,
        progress: &dyn Progress,
    ) -> Result<String>;
    /// Follows a started burn to its end; the device's percentage is reported as a share of
    /// `total` bytes.
    fn finish(
        &mut self,
        vault: &Vault,
        handle: &str,
        total: u64,
        progress: &dyn Progress,
    ) -> Result<Burned>;
    /// Lets a held disc go: to the printer and the output stacker when `good`, else to the
    /// reject bin.
    fn release(&mut self, _handle: &str, _good: bool) -> Result<()> {
        Ok(())
    }
    /// Asks the publisher to stop a started burn.
    fn cancel(&mut self, _handle: &str) -> Result<()> {
        Ok(())
    }
}

struct ImagesPublisher {
    dir: PathBuf,
}

impl Publisher for ImagesPublisher {
    fn start(
        &mut self,
        _vault: &Vault,
        req: &BurnRequest,
        progress: &dyn Progress,
    ) -> Result<String> {
        std::fs::create_dir_all(&self.dir).at(&self.dir)?;
        let dest = self.dir.join(format!("{}.iso", req.copy.copy_id));
        let tmp = self.dir.join(format!(".{}.iso.part", req.copy.copy_id));
        let mut from = std::fs::File::open(req.image).at(req.image)?;
        let mut to = std::fs::File::create(&tmp).at(&tmp)?;
        let mut buf = vec![0u8; 4 << 20];
        loop {
            let n = from.read(&mut buf).at(req.image)?;
            if n == 0 {
                break;
            }
            to.write_all(&buf[..n]).at(&tmp)?;
            progress.advance(0, n as u64);
        }
        to.sync_all().at(&tmp)?;
        std::fs::rename(&tmp, &dest).at(&dest)?;
        Ok(dest.display().to_string())
    }

    fn finish(
        &mut self,
        _vault: &Vault,
        handle: &str,
        _total: u64,
        _p: &dyn Progress,
    ) -> Result<Burned> {
        Ok(Burned::Readable(PathBuf::from(handle)))
    }

    fn rejected(&self, handle: &str, copy: &DiscCopy, _kind: RejectKind) -> Disposition {
        Disposition {
            place: handle.to_string(),
            label: format!("the image file of copy {}", copy.copy_id),
            action: format!(
                "the file does not read back clean: the next attempt writes it again; if the copy failed, delete {handle}"
            ),
        }
    }
}

/// A person at the drives, asked to do something (put a blank disc into a drive) before a burn
/// goes on. The library itself never prints nor reads a terminal.
pub trait Operator {
    /// Tells the person what to do; returns once they say it is done (an error stops the run).
    fn ask(&self, request: &str) -> Result<()>;
}

struct XorrisoPublisher<'a> {
    devices: Vec<String>,
    next: usize,
    used: Vec<bool>,
    /// Who changes discs; without one, each drive takes one disc per run.
    operator: Option<&'a dyn Operator>,
}

/// What xorriso says of the medium in a drive.
fn media_status(dev: &str) -> Result<String> {
    let out = Command::new("xorriso")
        .args(["-outdev", dev, "-toc"])
        .stdin(Stdio::null())
        .output()
        .at("xorriso")?;
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    text.lines()
        .find_map(|l| {
            l.strip_prefix("Media status :")
                .map(|s| s.trim().to_string())
        })
        .ok_or_else(|| Error::Source {
            source_name: dev.to_string(),
            detail: format!(
                "no disc, or the drive cannot be opened: {}",
                text.lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
            ),
        })
}

fn drive_path(dev: &str) -> PathBuf {
    PathBuf::from(dev.strip_prefix("stdio:").unwrap_or(dev))
}

impl XorrisoPublisher<'_> {
    /// A drive with a blank disc in it, asking the operator for one when there is one.
    fn blank_drive(&mut self, vault_hint: &str) -> Result<String> {
        loop {
            // Each drive takes one disc per run unless a person can change discs.
            let k = self.next % self.devices.len();
            let dev = self.devices[k].clone();
            if self.used[k] {
                let Some(op) = self.operator else {
                    return Err(Error::Source {
                        source_name: dev,
                        detail: "holds the disc just burned; give more drives, or run on a terminal to be asked for the next disc".into(),
                    });
                };
                op.ask(&format!("{vault_hint}: put a blank disc into {dev}"))?;
                self.used[k] = false;
            }
            let status = media_status(&dev)?;
            if status.starts_with("is blank") {
                self.used[k] = true;
                self.next = k + 1;
                return Ok(dev);
            }
            let holds = crate::source::open_image(&drive_path(&dev))
                .ok()
                .and_then(|mut s| crate::source::volume_id(&mut s).ok());
            let detail = format!(
                "the disc is not blank ({status}{}); insert a blank disc",
                holds.map(|h| format!(", holds {h}")).unwrap_or_default()
            );
            let Some(op) = self.operator else {
                return Err(Error::Source {
                    source_name: dev,
                    detail,
                });
            };
            op.ask(&format!("{dev}: {detail}"))?;
        }
    }
}

impl Publisher for XorrisoPublisher<'_> {
    fn start(
        &mut self,
        _vault: &Vault,
        req: &BurnRequest,
        progress: &dyn Progress,
    ) -> Result<String> {
        let dev = self.blank_drive(&req.copy.copy_id)?;
        let mut child = Command::new("xorriso")
            .args(["-as", "cdrecord", "-v"])
            .arg(format!("dev={dev}"))
            .arg(req.image)
            .stdin(Stdio::null())
            // Not read: a full pipe would stop xorriso mid-burn. Its messages are on stderr.
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .at("xorriso")?;
        // "xorriso : UPDATE : 12 of 130 MB written" lines give the progress.
        let mut last_mb = 0u64;
        let mut tail = Vec::new();
        if let Some(err) = child.stderr.take() {
            // Every byte is drained (a line that is not UTF-8 is read lossily, not a reason to
            // stop reading while xorriso writes on).
            for line in std::io::BufReader::new(err).split(b'\n') {
                let line = String::from_utf8_lossy(&line.at("xorriso")?).into_owned();
                if let Some((done, _)) = line
                    .split_once(" of ")
                    .and_then(|(a, b)| Some((a.split_whitespace().last()?.parse::<u64>().ok()?, b)))
                {
                    if done > last_mb {
                        progress.advance(0, (done - last_mb) << 20);
                        last_mb = done;
                    }
                }
                tail.push(line);
                if tail.len() > 20 {
                    tail.remove(0);
                }
            }
        }
        let status = child.wait().at("xorriso")?;
        if !status.success() {
            return Err(Error::Source {
                source_name: dev,
                detail: format!(
                    "burning {} failed ({status}): {}",
                    req.volume.volume_id,
                    tail.join(" | ")
                ),
            });
        }
        Ok(dev)
    }

    fn finish(
        &mut self,
        _vault: &Vault,
        handle: &str,
        _total: u64,
        _p: &dyn Progress,
    ) -> Result<Burned> {
        Ok(Burned::Readable(drive_path(handle)))
    }

    fn rejected(&self, handle: &str, copy: &DiscCopy, _kind: RejectKind) -> Disposition {
        Disposition {
            place: format!("drive {handle}"),
            label: "unlabelled".into(),
            action: format!(
                "take the disc out of {handle} and destroy it: it is not a good disc of copy {}",
                copy.copy_id
            ),
        }
    }
}

/// How a hot-folder job is followed.
#[derive(Debug, Clone, Copy)]
struct Follow {
    poll: Duration,
    /// Stop following a job paused (or not taken) this long; it stays open for a rerun.
    give_up: Option<Duration>,
}

/// Counts how long a job has been stuck, and says so once per reason.
struct Stuck {
    since: Option<Instant>,
    said: String,
}

impl Stuck {
    fn new() -> Stuck {
        Stuck {
            since: None,
            said: String::new(),
        }
    }

    /// The job is stuck for `why`: an error once it has been so for longer than allowed.
    fn check(
        &mut self,
        follow: &Follow,
        target: &str,
        job: &str,
        why: &str,
        progress: &dyn Progress,
    ) -> Result<()> {
        let since = *self.since.get_or_insert_with(Instant::now);
        if self.said != why {
            progress.note(&format!("{job}: {why}"));
            self.said = why.to_string();
        }
        if let Some(limit) = follow.give_up {
            if since.elapsed() > limit {
                return Err(Error::Publisher {
                    target: target.to_string(),
                    job: job.to_string(),
                    detail: format!(
                        "{why} for {} s; the job stays open: rerun `discvault publish` to follow it again",
                        since.elapsed().as_secs()
                    ),
                });
            }
        }
        Ok(())
    }

    fn moving(&mut self) {
        self.since = None;
        self.said.clear();
    }
}

/// Reports a device percentage as a share of the image's bytes.
struct Percent {
    last: u64,
    total: u64,
}

impl Percent {
    fn to(&mut self, pct: i64, progress: &dyn Progress) {
        let now = self.total * pct.clamp(0, 100) as u64 / 100;
        if now > self.last {
            progress.advance(0, now - self.last);
            self.last = now;
        }
    }
}

fn pub_err(target: &str, job: &str, e: discpublisher::Error) -> Error {
    Error::Publisher {
        target: target.to_string(),
        job: job.to_string(),
        detail: e.to_string(),
    }
}

/// A path as the publisher's PC sees it: `LOCAL=REMOTE` maps a prefix (Windows separators
/// after a remote prefix with a drive letter or a backslash).
fn map_path(map: &str, p: &Path) -> String {
    if let Some((local, remote)) = map.split_once('=') {
        if let Ok(rest) = p.strip_prefix(local.trim()) {
            let windows = remote.contains('\\') || remote.get(1..2) == Some(":");
            let sep = if windows { '\\' } else { '/' };
            let mut r = remote.trim().trim_end_matches(['\\', '/']).to_string();
            for c in rest.components() {
                r.push(sep);
                r.push_str(&c.as_os_str().to_string_lossy());
            }
            return r;
        }
    }
    p.display().to_string()
}

/// The publisher job id of one disc: `<job>-<copy>-<attempt>` (TD Bridge: at most 40 of
/// `[A-Za-z0-9_-]`).
fn disc_job_id(req: &BurnRequest) -> String {
    let id: String = format!("{}-{}-{}", req.job_id, req.copy.copy_id, req.attempt)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    id.chars()
        .rev()
        .take(40)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

/// The merge fields of a copy's label: the label's own fields plus its barcode and QR payload.
fn merge_fields(vault: &Vault, copy: &DiscCopy) -> Result<Vec<(String, String)>> {
    let d = crate::label::label_data(vault, &copy.copy_id)?;
    let mut f: Vec<(String, String)> = d
        .fields
        .into_iter()
        .filter(|(k, _)| !k.starts_with("outer_") && !k.starts_with("inner_"))
        .collect();
    f.push(("barcode".into(), d.barcode));
    f.push(("qr".into(), d.qr));
    Ok(f)
}

fn jobs_dir(vault: &Vault) -> Result<PathBuf> {
    let d = vault.root.join("spool").join("jobs");
    std::fs::create_dir_all(&d).at(&d)?;
    Ok(d)
}

fn disc_type(media: &str) -> &'static str {
    match media {
        m if m.starts_with("cd") => "CD",
        "dvd9" => "DVD-DL",
        m if m.starts_with("dvd") => "DVD",
        "bd25" => "BD",
        m if m.starts_with("bd") => "BD-DL",
        _ => "DVD",
    }
}

struct TdBridgePublisher {
    target: String,
    folder: PathBuf,
    cfg: TdBridgeSection,
    cp: CodePage,
    follow: Follow,
}

impl TdBridgePublisher {
    fn status_path(&self) -> PathBuf {
        if self.cfg.status_file.is_empty() {
            self.folder.join("TDBStatus.txt")
        } else {
            PathBuf::from(&self.cfg.status_file)
        }
    }

    /// Where finished discs can be read as image files: the configured `stacker_dir`, else
    /// the simulator's stacker when there is one.
    fn stacker_dir(&self) -> Option<PathBuf> {
        if self.cfg.stacker_dir.is_empty() {
            let sim = self.folder.join("Simulator").join("Stacker");
            sim.is_dir().then_some(sim)
        } else {
            Some(PathBuf::from(&self.cfg.stacker_dir))
        }
    }

    /// The finished disc as an image file, where discs can be read so (`None`: the disc left
    /// the robot for a person to read back). A stacker folder that cannot be read is an error.
    fn stacked_disc(&self, id: &str) -> Result<Option<PathBuf>> {
        let Some(dir) = self.stacker_dir() else {
            return Ok(None);
        };
        let prefix = format!("{id}-");
        let mut found: Option<(std::time::SystemTime, PathBuf)> = None;
        for e in std::fs::read_dir(&dir).at(&dir)? {
            let p = e.at(&dir)?.path();
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if n.starts_with(&prefix)
                && n.ends_with(".iso")
                && n[prefix.len()..n.len() - 4]
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            {
                let t = std::fs::metadata(&p).and_then(|m| m.modified()).at(&p)?;
                if found.as_ref().is_none_or(|(f, _)| t >= *f) {
                    found = Some((t, p));
                }
            }
        }
        Ok(found.map(|(_, p)| p))
    }

    /// The output stacker discs go to, as a person finds it.
    fn out_stacker(&self) -> String {
        if self.cfg.out_stacker > 0 {
            format!("出料仓 output stacker {}", self.cfg.out_stacker)
        } else {
            "出料仓 TD Bridge's output stacker".into()
        }
    }
}

/// The local path of a file named as a publisher's PC sees it (`LOCAL=REMOTE` mapped back), when
/// this PC can see it: `None` for a path on the publisher's PC only.
fn local_path(map: &str, remote: &str) -> Option<PathBuf> {
    if let Some((local, prefix)) = map.split_once('=') {
        let prefix = prefix.trim().trim_end_matches(['\\', '/']);
        if !prefix.is_empty() && remote.len() > prefix.len() {
            let (head, rest) = remote.split_at(prefix.len());
            if head.eq_ignore_ascii_case(prefix) && rest.starts_with(['\\', '/']) {
                let mut p = PathBuf::from(local.trim());
                for part in rest.split(['\\', '/']).filter(|c| !c.is_empty()) {
                    p.push(part);
                }
                return Some(p);
            }
        }
    }
    let p = Path::new(remote);
    p.is_absolute().then(|| p.to_path_buf())
}

impl Publisher for TdBridgePublisher {
    fn prepare(
        &mut self,
        vault: &Vault,
        volume: &Volume,
        image: &Path,
        progress: &dyn Progress,
    ) -> Result<()> {
        spool_tree(vault, volume, image, progress).map(|_| ())
    }

    fn preflight(&self, vault: &Vault) -> Result<()> {
        let t = &self.cfg.label_template;
        if !t.is_empty() {
            if let Some(local) = local_path(&self.cfg.path_map, t) {
                if !local.is_file() {
                    return Err(config_error(
                        vault,
                        format!(
                            "publish.tdbridge.label_template = {t:?}: no such label file ({}); nothing was burned: design the label in Total Disc Maker and save it there, or set label_template = \"\" for unprinted discs",
                            local.display()
                        ),
                    ));
                }
            }
        }
        let d = &self.cfg.stacker_dir;
        if !d.is_empty() && !Path::new(d).is_dir() {
            return Err(config_error(
                vault,
                format!(
                    "publish.tdbridge.stacker_dir = {d:?}: no such folder; nothing was burned (set it to \"\" when discs cannot be read back as image files)"
                ),
            ));
        }
        Ok(())
    }

    fn rejected(&self, handle: &str, copy: &DiscCopy, kind: RejectKind) -> Disposition {
        match kind {
            RejectKind::AtPublisher => {
                let sim = self.folder.join("Simulator").join("Reject");
                Disposition {
                    place: if sim.is_dir() {
                        format!("TD Bridge's error discs ({})", sim.display())
                    } else {
                        "where TD Bridge puts the discs it failed (see Total Disc Monitor)".into()
                    },
                    label: format!("TD Bridge job {handle}, not printed"),
                    action: format!(
                        "destroy the disc of TD Bridge job {handle}: TD Bridge failed it, it holds no copy"
                    ),
                }
            }
            RejectKind::ReadBack => {
                let place = self.out_stacker();
                let label = if self.cfg.label_template.is_empty() {
                    format!("not printed; TD Bridge job {handle}")
                } else {
                    format!(
                        "printed as copy {} (barcode {}); TD Bridge job {handle}",
                        copy.copy_id, copy.barcode
                    )
                };
                Disposition {
                    action: format!(
                        "discard the disc of TD Bridge job {handle} in {place}: its read-back found damage; it {} but is not that copy",
                        if self.cfg.label_template.is_empty() {
                            "looks like the good disc of the copy".to_string()
                        } else {
                            format!("carries the label of copy {}", copy.copy_id)
                        }
                    ),
                    place,
                    label,
                }
            }
        }
    }

    fn start(
        &mut self,
        vault: &Vault,
        req: &BurnRequest,
        progress: &dyn Progress,
    ) -> Result<String> {
        let id = disc_job_id(req);
        let tree = spool_tree(vault, req.volume, req.image, progress)?;
        let map = |p: &Path| map_path(&self.cfg.path_map, p);
        let (label, replace_field) = if self.cfg.label_template.is_empty() {
            (None, None)
        } else {
            let merge = jobs_dir(vault)?.join(format!("{id}.dat"));
            let lines = tdbridge::merge_lines(&merge_fields(vault, req.copy)?);
            let bytes = self
                .cp
                .encode(&merge.display().to_string(), &discpublisher::crlf(&lines))
                .map_err(|e| pub_err(&self.target, &id, e))?;
            discpublisher::write_atomic(&merge, &bytes)
                .map_err(|e| pub_err(&self.target, &id, e))?;
            (Some(self.cfg.label_template.clone()), Some(map(&merge)))
        };
        let jdf = tdbridge::Jdf {
            job_id: id.clone(),
            publisher: (!self.cfg.publisher.is_empty()).then(|| self.cfg.publisher.clone()),
            copies: 1,
            out_stacker: (self.cfg.out_stacker > 0).then_some(self.cfg.out_stacker),
            disc_type: if self.cfg.disc_type.is_empty() {
                disc_type(&req.volume.media).to_string()
            } else {
                self.cfg.disc_type.clone()
            },
            format: self.cfg.format.clone(),
            data: vec![(map(&tree), None)],
            volume_label: Some(req.volume.volume_id.clone()),
            label,
            replace_field,
            priority_high: false,
            extra: self
                .cfg
                .extra
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        tdbridge::submit(&self.folder, &jdf, self.cp).map_err(|e| pub_err(&self.target, &id, e))?;
        Ok(id)
    }

    fn finish(
        &mut self,
        _vault: &Vault,
        id: &str,
        total: u64,
        progress: &dyn Progress,
    ) -> Result<Burned> {
        let err = |e| pub_err(&self.target, id, e);
        let mut stuck = Stuck::new();
        let mut pct = Percent { last: 0, total };
        loop {
            let file = tdbridge::job_file(&self.folder, id).map_err(err)?;
            let status = tdbridge::read_status(&self.status_path(), self.cp).map_err(err)?;
            let js = match &status {
                Some(s) => s.job(id).map_err(err)?,
                None => None,
            };
            match file.map(|f| f.0) {
                None => {
                    return Err(Error::Publisher {
                        target: self.target.clone(),
                        job: id.to_string(),
                        detail: format!(
                            "the job file {id}.JDF (or its renamed states) is gone from {}",
                            self.folder.display()
                        ),
                    })
                }
                Some(tdbridge::JobFile::Done | tdbridge::JobFile::Error) => {
                    let Some(js) = js else {
                        return Err(Error::Publisher {
                            target: self.target.clone(),
                            job: id.to_string(),
                            detail: format!(
                                "finished, but {} does not tell how: read the disc back with `discvault verify DRIVE --copy COPY`",
                                self.status_path().display()
                            ),
                        });
                    };
                    if js.completion >= 1 {
                        return Ok(match self.stacked_disc(id)? {
                            Some(p) => Burned::Readable(p),
                            None => Burned::Away(self.out_stacker()),
                        });
                    }
                    if js.status == tdbridge::job_status::NOT_ACCEPTED && js.error_discs <= 0 {
                        return Ok(Burned::Refused(format!(
                            "TD Bridge did not accept the job {id} (nothing was burned): {}",
                            js.error
                        )));
                    }
                    if js.status == tdbridge::job_status::COMPLETED && js.error_discs <= 0 {
                        return Ok(Burned::Cancelled(format!(
                            "cancelled at TD Bridge{}",
                            if js.error.is_empty() {
                                String::new()
                            } else {
                                format!(": {}", js.error)
                            }
                        )));
                    }
                    return Ok(Burned::DiscFailed(format!(
                        "TD Bridge: {} disc(s) failed (status {}): {}",
                        js.error_discs.max(0),
                        js.status,
                        js.error
                    )));
                }
                Some(tdbridge::JobFile::Paused) => {
                    let why = js
                        .map(|j| j.error)
                        .filter(|e| !e.is_empty())
                        .unwrap_or_else(|| "paused".into());
                    stuck.check(
                        &self.follow,
                        &self.target,
                        id,
                        &format!("paused at the publisher: {why}"),
                        progress,
                    )?;
                }
                Some(tdbridge::JobFile::Submitted) => {
                    stuck.check(
                        &self.follow,
                        &self.target,
                        id,
                        "waiting for TD Bridge to take the job",
                        progress,
                    )?;
                }
                Some(tdbridge::JobFile::Received | tdbridge::JobFile::InProgress) => {
                    stuck.moving();
                    if let Some(s) = &status {
                        if let Some(p) = s.drive_progress().map_err(err)? {
                            pct.to(p, progress);
                        }
                    }
                }
            }
            std::thread::sleep(self.follow.poll);
        }
    }

    fn cancel(&mut self, id: &str) -> Result<()> {
        tdbridge::cancel(&self.folder, id, self.cp).map_err(|e| pub_err(&self.target, id, e))?;
        Ok(())
    }
}

struct PtBurnPublisher {
    target: String,
    folder: PathBuf,
    cfg: PtBurnSection,
    cp: CodePage,
    follow: Follow,
    /// Disc id (`X` of `LoadDiscStateX`) of each job's held disc.
    held: std::collections::BTreeMap<String, u32>,
}

impl PtBurnPublisher {
    fn status_dir(&self) -> PathBuf {
        if self.cfg.status_dir.is_empty() {
            self.folder.join("Status")
        } else {
            PathBuf::from(&self.cfg.status_dir)
        }
    }

    /// Where this PC reads the robot's drive `letter`.
    fn drive(&self, id: &str, letter: &str) -> Result<PathBuf> {
        let l = letter.trim_end_matches([':', '\\']);
        if let Some(d) = self.cfg.drives.get(l) {
            return Ok(drive_path(d));
        }
        let sim = self.folder.join("Simulator").join("Drives").join(l);
        if sim.exists() {
            return Ok(sim);
        }
        Err(Error::Publisher {
            target: self.target.clone(),
            job: id.to_string(),
            detail: format!(
                "the robot holds the disc in its drive {l}:, which this PC does not know: map it in [publish.ptburn.drives], e.g. {l} = \"/dev/sr1\""
            ),
        })
    }

    fn send(&self, id: &str, msg: &ptburn::Message) -> Result<()> {
        let t0 = Instant::now();
        loop {
            if ptburn::send(&self.folder, id, msg, self.cp)
                .map_err(|e| pub_err(&self.target, id, e))?
            {
                return Ok(());
            }
            if t0.elapsed() > Duration::from_secs(120) {
                return Err(Error::Publisher {
                    target: self.target.clone(),
                    job: id.to_string(),
                    detail: "PTBurn has not taken the previous message for 120 s".into(),
                });
            }
            std::thread::sleep(self.follow.poll);
        }
    }
}

impl Publisher for PtBurnPublisher {
    fn preflight(&self, vault: &Vault) -> Result<()> {
        let d = &self.cfg.status_dir;
        if !d.is_empty() && !Path::new(d).is_dir() {
            return Err(config_error(
                vault,
                format!("publish.ptburn.status_dir = {d:?}: no such folder; nothing was burned"),
            ));
        }
        Ok(())
    }

    fn rejected(&self, handle: &str, _copy: &DiscCopy, kind: RejectKind) -> Disposition {
        let sim = self.folder.join("Simulator").join("Reject");
        Disposition {
            place: if sim.is_dir() {
                format!("PTBurn's reject bin ({})", sim.display())
            } else {
                "PTBurn's reject bin".into()
            },
            label: format!("not printed; PTBurn job {handle}"),
            action: format!(
                "destroy the disc of PTBurn job {handle} in the reject bin: {}",
                match kind {
                    RejectKind::AtPublisher => "PTBurn failed it, it holds no copy",
                    RejectKind::ReadBack => "its read-back found damage",
                }
            ),
        }
    }

    fn start(
        &mut self,
        vault: &Vault,
        req: &BurnRequest,
        _progress: &dyn Progress,
    ) -> Result<String> {
        let id = disc_job_id(req);
        let map = |p: &Path| map_path(&self.cfg.path_map, p);
        let print_label = match self.cfg.print_label.as_str() {
            "none" => None,
            ext => {
                let format = if ext == "bmp" {
                    crate::label::LabelFormat::Bmp
                } else {
                    crate::label::LabelFormat::Jpg
                };
                let bytes = crate::label::render(
                    vault,
                    &crate::label::LabelOptions {
                        subject: crate::label::LabelSubject::Face(req.copy.copy_id.clone()),
                        format,
                        template: None,
                    },
                )?;
                let p = jobs_dir(vault)?.join(format!("{id}.{ext}"));
                discpublisher::write_atomic(&p, &bytes)
                    .map_err(|e| pub_err(&self.target, &id, e))?;
                Some(map(&p))
            }
        };
        let jrq = ptburn::Jrq {
            job_id: id.clone(),
            client_id: self.cfg.client_id.clone(),
            image_file: map(req.image),
            copies: 1,
            volume_name: req.volume.volume_id.chars().take(32).collect(),
            verify_disc: true,
            reject_if_not_blank: true,
            print_label,
            merge_fields: Vec::new(),
            load_unload_override: true,
            extra: Vec::new(),
        };
        ptburn::submit(&self.folder, &jrq, self.cp).map_err(|e| pub_err(&self.target, &id, e))?;
        Ok(id)
    }

    fn finish(
        &mut self,
        _vault: &Vault,
        id: &str,
        total: u64,
        progress: &dyn Progress,
    ) -> Result<Burned> {
        let err = |e| pub_err(&self.target, id, e);
        let mut stuck = Stuck::new();
        let mut pct = Percent { last: 0, total };
        let mut processed = false;
        loop {
            let file = ptburn::job_file(&self.folder, id).map_err(err)?;
            let js = ptburn::job_status(&self.status_dir(), id, self.cp).map_err(err)?;
            let sys = ptburn::system_error(&self.status_dir(), self.cp).map_err(err)?;
            if let Some(js) = &js {
                for (x, state, letter) in &js.loaded {
                    match *state {
                        ptburn::load_state::LOADED_HOLD if !processed => {
                            self.send(id, &ptburn::Message::ProcessDisc { disc: *x })?;
                            processed = true;
                        }
                        ptburn::load_state::PROCESSED_HOLD => {
                            self.held.insert(id.to_string(), *x);
                            return Ok(Burned::Held(self.drive(id, letter)?));
                        }
                        ptburn::load_state::PROCESSING => processed = false,
                        _ => {}
                    }
                }
            }
            match file.map(|f| f.0) {
                None => {
                    return Err(Error::Publisher {
                        target: self.target.clone(),
                        job: id.to_string(),
                        detail: format!(
                            "the job request {id}.JRQ (or its renamed states) is gone from {}",
                            self.folder.display()
                        ),
                    })
                }
                Some(end @ (ptburn::JobFile::Done | ptburn::JobFile::Error)) if js.is_none() => {
                    // Nothing tells whether a disc was burned: not a guess either way.
                    return Err(Error::Publisher {
                        target: self.target.clone(),
                        job: id.to_string(),
                        detail: format!(
                            "PTBurn ended the job ({}), but no status file in {} has its section: read a disc of it back with `discvault verify DRIVE --copy COPY`, or cancel the job (`discvault jobs --cancel`)",
                            end.ext(),
                            self.status_dir().display()
                        ),
                    });
                }
                Some(ptburn::JobFile::Done) => {
                    let good = js.as_ref().map_or(0, |j| j.good_discs);
                    return Ok(if good >= 1 {
                        // Stacked without the hold: read it back from the output bin.
                        Burned::Away("出料仓 PTBurn output bin".into())
                    } else {
                        Burned::DiscFailed("PTBurn finished the job without a good disc".into())
                    });
                }
                Some(ptburn::JobFile::Error) => {
                    let js = js.unwrap_or_default();
                    if js.current_state == ptburn::status_state::ABORTED {
                        return Ok(Burned::Cancelled(format!(
                            "aborted at PTBurn: {}",
                            js.error_string
                        )));
                    }
                    if js.bad_discs <= 0 && js.good_discs <= 0 && js.loaded.is_empty() {
                        // The job failed before a disc was loaded (PTBurn refused it).
                        return Ok(Burned::Refused(format!(
                            "PTBurn did not run the job {id} (nothing was burned): error {}: {}",
                            js.error_number, js.error_string
                        )));
                    }
                    return Ok(Burned::DiscFailed(format!(
                        "PTBurn: error {}: {} ({} bad disc(s))",
                        js.error_number,
                        js.error_string,
                        js.bad_discs.max(0)
                    )));
                }
                Some(ptburn::JobFile::Submitted) => {
                    stuck.check(
                        &self.follow,
                        &self.target,
                        id,
                        "waiting for PTBurn to take the job",
                        progress,
                    )?;
                }
                Some(ptburn::JobFile::Seen | ptburn::JobFile::InProgress) => {
                    let paused =
                        js.as_ref().map(|j| j.current_state) == Some(ptburn::status_state::PAUSED);
                    if paused {
                        let why = sys
                            .map(|(n, t)| format!("{t} (system error {n})"))
                            .or_else(|| js.as_ref().map(|j| j.current_status.clone()))
                            .unwrap_or_else(|| "paused".into());
                        stuck.check(
                            &self.follow,
                            &self.target,
                            id,
                            &format!("paused at the publisher: {why}"),
                            progress,
                        )?;
                    } else {
                        stuck.moving();
                        if let Some(p) = js.as_ref().and_then(|j| j.percent) {
                            pct.to(p, progress);
                        }
                    }
                }
            }
            std::thread::sleep(self.follow.poll);
        }
    }

    fn release(&mut self, id: &str, good: bool) -> Result<()> {
        // Only a disc this run saw held is let go: another DiscID would unload the wrong disc.
        let disc = self.held.remove(id).ok_or_else(|| Error::Publisher {
            target: self.target.clone(),
            job: id.to_string(),
            detail: "no disc of this job is known to be held in the robot's drive".into(),
        })?;
        self.send(
            id,
            &if good {
                ptburn::Message::UnloadDisc { disc }
            } else {
                ptburn::Message::RejectDisc { disc }
            },
        )
    }

    fn cancel(&mut self, id: &str) -> Result<()> {
        // An abort goes through whatever message is waiting.
        let waiting = ptburn::message_path(&self.folder, id);
        match std::fs::remove_file(&waiting) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::Io {
                    path: waiting,
                    source: e,
                })
            }
            _ => {}
        }
        self.send(
            id,
            &ptburn::Message::Abort {
                client_id: self.cfg.client_id.clone(),
            },
        )
    }
}

/// Options of `publish`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PublishOptions {
    /// Volumes to publish. When empty: the open jobs on the target, or when there are none, the
    /// mastered volumes short of trusted copies under the policy.
    pub volumes: Vec<String>,
    pub target: String,
    /// Copies per volume; the configured roles' count when `None`.
    pub copies: Option<u32>,
    /// Roles of the copies, in order; the configured roles when empty.
    pub roles: Vec<String>,
    /// Copies to burn again (a replacement disc keeps the copy's id, role and place): copy ids,
    /// barcodes, or `C2` when one volume is named.
    pub replace: Vec<String>,
    /// Burns per copy before it is given up (a failed disc takes the next one).
    pub attempts: u32,
    /// Stop following a publisher job paused (or not taken) this many seconds; the job stays
    /// open. `None`: wait.
    pub give_up_after: Option<u64>,
}

/// A volume `publish` took up or left, and why.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct VolumeReason {
    pub volume_id: String,
    pub reason: String,
}

/// What `publish` did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PublishReport {
    pub jobs: Vec<Job>,
    /// The volumes published in this run, and why each was.
    pub published: Vec<VolumeReason>,
    /// Volumes short of the policy that this run did not publish, and why.
    pub not_published: Vec<VolumeReason>,
    /// Set when the run had nothing to do, saying why.
    pub nothing_to_do: Option<String>,
    /// Copies verified in this run.
    pub verified: u64,
    /// Copies that failed in this run.
    pub failed: u64,
    /// Copies burned that wait for a person to read them back.
    pub awaiting_readback: u64,
    /// Copies cancelled (at the publisher) in this run.
    pub cancelled: u64,
    /// Discs burned in this run that do not hold their copy: where each is, what to do.
    pub rejected_discs: Vec<RejectedDisc>,
}

/// Roles of the copies to make: the given ones, or the configured set, cut or repeated (with
/// `access`) to the count.
fn roles_for(vault: &Vault, opts: &PublishOptions) -> Vec<String> {
    let mut roles = if opts.roles.is_empty() {
        vault.config.copies.roles.clone()
    } else {
        opts.roles.clone()
    };
    if let Some(n) = opts.copies {
        roles.resize(n as usize, "access".into());
    }
    roles
}

/// What is done for one volume.
enum Work {
    Resume(Job),
    New(Vec<String>),
    Replace(Vec<DiscCopy>),
}

/// The open job of a volume on a target.
fn open_job_on(vault: &Vault, volume_id: &str, target: &str) -> Result<Option<Job>> {
    Ok(vault
        .catalog
        .open_jobs(volume_id)?
        .into_iter()
        .find(|j| j.target == target))
}

fn mastered(vault: &Vault, volume_id: &str) -> Result<Volume> {
    let volume = vault.catalog.volume(volume_id)?;
    if volume.state != VolumeState::Mastered {
        return Err(Error::Volume {
            volume: volume.volume_id.clone(),
            detail: "not mastered yet: run `discvault master` first".into(),
        });
    }
    Ok(volume)
}

/// The copies `--replace` names, by volume, each checked: not retired, not in an open job.
fn replacements(
    vault: &Vault,
    opts: &PublishOptions,
    target: &str,
) -> Result<Vec<(Volume, Work, String)>> {
    if opts.copies.is_some() || !opts.roles.is_empty() {
        return Err(Error::Invalid {
            field: "--replace".into(),
            detail: "burns the copies named again; --copies and --roles make new copies: give one or the other".into(),
        });
    }
    let open: Vec<Job> = vault
        .catalog
        .jobs()?
        .into_iter()
        .filter(|j| j.state == "open")
        .collect();
    let mut by_volume: Vec<(Volume, Vec<DiscCopy>)> = Vec::new();
    for key in &opts.replace {
        let key = key.trim();
        let short = key.len() >= 2
            && key.starts_with(['C', 'c'])
            && key[1..].bytes().all(|b| b.is_ascii_digit());
        let copy = match (&opts.volumes[..], short) {
            ([v], true) => vault.catalog.copy(&format!("{v}-{}", key.to_ascii_uppercase()))?,
            (_, true) => {
                return Err(Error::Invalid {
                    field: "--replace".into(),
                    detail: format!(
                        "{key:?}: name the volume (`publish VOLUME --replace {key}`) or give the whole copy id"
                    ),
                })
            }
            _ => vault.catalog.copy(key)?,
        };
        if !opts.volumes.is_empty() && !opts.volumes.contains(&copy.volume_id) {
            return Err(Error::Invalid {
                field: "--replace".into(),
                detail: format!(
                    "copy {} is a copy of {}, which is not among the volumes named",
                    copy.copy_id, copy.volume_id
                ),
            });
        }
        if copy.state == CopyState::Retired {
            return Err(Error::Invalid {
                field: "--replace".into(),
                detail: format!(
                    "copy {} is retired; publish a new copy of {} instead",
                    copy.copy_id, copy.volume_id
                ),
            });
        }
        if let Some(j) = open.iter().find(|j| {
            j.copies.iter().any(|c| {
                c.copy_id == copy.copy_id
                    && !matches!(
                        c.state,
                        JobCopyState::Done | JobCopyState::Failed | JobCopyState::Cancelled
                    )
            })
        }) {
            return Err(Error::Invalid {
                field: "--replace".into(),
                detail: format!(
                    "copy {} is in the open job {} on {}: finish it (`discvault publish --to {}`) or cancel it (`discvault jobs --cancel {}`)",
                    copy.copy_id, j.job_id, j.target, j.target, j.job_id
                ),
            });
        }
        match by_volume
            .iter_mut()
            .find(|(v, _)| v.volume_id == copy.volume_id)
        {
            Some((_, cs)) => {
                if !cs.iter().any(|c| c.copy_id == copy.copy_id) {
                    cs.push(copy)
                }
            }
            None => by_volume.push((mastered(vault, &copy.volume_id)?, vec![copy])),
        }
    }
    let mut out = Vec::new();
    for (volume, copies) in by_volume {
        if let Some(j) = open_job_on(vault, &volume.volume_id, target)? {
            return Err(Error::Invalid {
                field: "--replace".into(),
                detail: format!(
                    "{} has the open job {} on {target}: finish it first (`discvault publish --to {target}`) or cancel it",
                    volume.volume_id, j.job_id
                ),
            });
        }
        let reason = format!(
            "replacement disc{} of {}",
            if copies.len() > 1 { "s" } else { "" },
            copies
                .iter()
                .map(|c| format!("copy {} ({}, {})", c.copy_id, c.state.as_str(), c.place))
                .collect::<Vec<_>>()
                .join(", ")
        );
        out.push((volume, Work::Replace(copies), reason));
    }
    Ok(out)
}

/// The roles a volume lacks: the configured roles not held by its copies that count (or will,
/// once inspected), then `access`, to `lacking` copies.
fn lacking_roles(vault: &Vault, holding: &[&DiscCopy], lacking: usize) -> Vec<String> {
    let mut roles = vault.config.copies.roles.clone();
    for c in holding {
        if let Some(k) = roles.iter().position(|r| *r == c.role) {
            roles.remove(k);
        }
    }
    roles.truncate(lacking);
    roles.resize(lacking, "access".into());
    roles
}

/// Volumes short of trusted copies under the policy (as `status` counts them), with the copies
/// each lacks; volumes publishing cannot help are named in `report.not_published`.
fn short_of_policy(
    vault: &Vault,
    report: &mut PublishReport,
) -> Result<Vec<(Volume, Work, String)>> {
    let now = crate::now_unix();
    let open: Vec<Job> = vault
        .catalog
        .jobs()?
        .into_iter()
        .filter(|j| j.state == "open")
        .collect();
    let mut out = Vec::new();
    for s in crate::status::status(vault)?.shortfalls {
        let why = s.problems.join("; ");
        let skip = |reason: String| VolumeReason {
            volume_id: s.volume_id.clone(),
            reason,
        };
        if s.trusted_copies >= s.required_copies as u64 {
            report.not_published.push(skip(format!(
                "{why}: more discs do not change the sites; move a trusted copy to another site (`discvault copies move`)"
            )));
            continue;
        }
        if let Some(j) = open.iter().find(|j| j.volume_id == s.volume_id) {
            report.not_published.push(skip(format!(
                "{why}; its open job {} on {} will add copies: run `discvault publish --to {}`",
                j.job_id, j.target, j.target
            )));
            continue;
        }
        let copies = vault.catalog.copies(Some(&s.volume_id))?;
        let trusted: Vec<&DiscCopy> = copies
            .iter()
            .filter(|c| crate::copies::trusted(vault, c, now))
            .collect();
        // Copies past their inspection but otherwise sound count again once read back.
        let overdue: Vec<&DiscCopy> = copies
            .iter()
            .filter(|c| {
                crate::inspect::active(c)
                    && c.grade != "act_now"
                    && !crate::copies::trusted(vault, c, now)
            })
            .collect();
        let lacking = (s.required_copies as usize).saturating_sub(trusted.len() + overdue.len());
        let overdue_text = if overdue.is_empty() {
            String::new()
        } else {
            format!(
                "; {} overdue for inspection (verify {} before burning more)",
                overdue
                    .iter()
                    .map(|c| c.copy_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                if overdue.len() > 1 { "them" } else { "it" }
            )
        };
        if lacking == 0 {
            report
                .not_published
                .push(skip(format!("{why}{overdue_text}")));
            continue;
        }
        let holding: Vec<&DiscCopy> = trusted.iter().chain(overdue.iter()).copied().collect();
        let roles = lacking_roles(vault, &holding, lacking);
        let reason = format!(
            "{why} (policy): {} new cop{} ({}){overdue_text}",
            roles.len(),
            if roles.len() > 1 { "ies" } else { "y" },
            roles.join(", ")
        );
        out.push((mastered(vault, &s.volume_id)?, Work::New(roles), reason));
    }
    Ok(out)
}

/// What to publish: the copies `--replace` names; else the volumes named (their open job on
/// the target resumed, or a new one); else the open jobs on the target; else the volumes short
/// of the policy.
fn select(
    vault: &Vault,
    opts: &PublishOptions,
    target: &str,
    report: &mut PublishReport,
) -> Result<Vec<(Volume, Work, String)>> {
    if !opts.replace.is_empty() {
        return replacements(vault, opts, target);
    }
    let explicit = opts.copies.is_some() || !opts.roles.is_empty();
    if !opts.volumes.is_empty() {
        let mut out = Vec::new();
        for v in &opts.volumes {
            let volume = mastered(vault, v)?;
            match open_job_on(vault, v, target)? {
                Some(job) => {
                    let roles: Vec<String> = job.copies.iter().map(|c| c.role.clone()).collect();
                    if explicit && roles != roles_for(vault, opts) {
                        return Err(Error::Invalid {
                            field: "--copies/--roles".into(),
                            detail: format!(
                                "{v} has the open job {} on {target} for copies {}: rerun without --copies and --roles to resume it, or cancel it (`discvault jobs --cancel {}`)",
                                job.job_id,
                                roles.join(","),
                                job.job_id
                            ),
                        });
                    }
                    let reason = format!("its open job {} on {target} resumed", job.job_id);
                    out.push((volume, Work::Resume(job), reason));
                }
                None => {
                    let roles = roles_for(vault, opts);
                    let reason = format!("named: new copies ({})", roles.join(", "));
                    out.push((volume, Work::New(roles), reason));
                }
            }
        }
        return Ok(out);
    }
    if explicit {
        return Err(Error::Invalid {
            field: "--copies/--roles".into(),
            detail: "name the volumes they are for; without volumes, publish resumes the open jobs on the target or makes the copies the policy lacks".into(),
        });
    }
    let mut out = Vec::new();
    for job in vault.catalog.jobs()? {
        if job.state == "open" && job.target == target {
            let volume = mastered(vault, &job.volume_id)?;
            let reason = format!("its open job {} on {target} resumed", job.job_id);
            out.push((volume, Work::Resume(job), reason));
        }
    }
    if out.is_empty() {
        out = short_of_policy(vault, report)?;
    }
    if out.is_empty() {
        let p = &vault.config.policy;
        report.nothing_to_do = Some(format!(
            "nothing to publish: no open job on {target}, and no mastered volume lacks trusted copies under the policy (min_trusted_copies = {}{}){}",
            p.min_trusted_copies,
            if p.collections.is_empty() { "" } else { ", more for some collections" },
            if report.not_published.is_empty() {
                String::new()
            } else {
                format!(
                    "; short of the policy in ways discs do not fix: {}",
                    report
                        .not_published
                        .iter()
                        .map(|v| format!("{} ({})", v.volume_id, v.reason))
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            }
        ));
    }
    Ok(out)
}

/// Publishes volumes: resumes their open jobs on the target, or starts new ones; without
/// volumes, makes the copies the policy lacks. A run that does nothing says why. `operator`,
/// when there is a person to ask, changes discs in drives.
pub fn publish(
    vault: &Vault,
    opts: &PublishOptions,
    progress: &dyn Progress,
    operator: Option<&dyn Operator>,
) -> Result<PublishReport> {
    let target = Target::parse(&opts.target)?;
    let target_text = target.to_string();
    let mut publisher = target.publisher(vault, opts, operator)?;
    // What the publisher needs is checked before a job is registered or a disc burned.
    publisher.preflight(vault)?;
    let attempts = opts.attempts.max(1);
    let mut report = PublishReport::default();
    let work = select(vault, opts, &target_text, &mut report)?;
    for (volume, work, reason) in work {
        report.published.push(VolumeReason {
            volume_id: volume.volume_id.clone(),
            reason,
        });
        // The image (and what the publisher burns from it) first: a volume that cannot be
        // spooled leaves no job behind.
        let image = spool_image(vault, &volume, progress)?;
        publisher.prepare(vault, &volume, &image, progress)?;
        let job = match work {
            Work::Resume(j) => j,
            Work::New(roles) => new_job(vault, &volume, &target_text, &roles)?,
            Work::Replace(copies) => vault.catalog.create_job(
                &volume,
                &target_text,
                &copies
                    .iter()
                    .map(|c| NewJobCopy {
                        copy: c.id,
                        replaces: c.state.as_str().to_string(),
                    })
                    .collect::<Vec<_>>(),
            )?,
        };
        let run = Run {
            vault,
            job: &job,
            volume: &volume,
            image: &image,
            target: &target_text,
            attempts,
            progress,
        };
        for jc in &job.copies {
            if let Err(e) = run.copy(publisher.as_mut(), jc, &mut report) {
                report.jobs.push(vault.catalog.job(&job.job_id)?);
                return Err(e);
            }
        }
        report.jobs.push(vault.catalog.job(&job.job_id)?);
    }
    Ok(report)
}

/// One job being worked on.
struct Run<'a> {
    vault: &'a Vault,
    job: &'a Job,
    volume: &'a Volume,
    image: &'a Path,
    target: &'a str,
    attempts: u32,
    progress: &'a dyn Progress,
}

impl Run<'_> {
    fn set(
        &self,
        copy: &str,
        state: JobCopyState,
        tries: u32,
        medium: &str,
        detail: &str,
    ) -> Result<()> {
        self.vault
            .catalog
            .set_job_copy(&self.job.job_id, copy, state, tries, medium, detail)
    }

    /// The copy was verified since this job began (by the job's read-back, or a person's).
    fn verified_since_start(&self, c: &DiscCopy) -> bool {
        c.state == CopyState::Verified && c.verified_at.is_some_and(|t| t >= self.job.created_at)
    }

    /// Burns, reads back and records one copy of the job, resuming where it was left.
    fn copy(
        &self,
        publisher: &mut dyn Publisher,
        jc: &crate::catalog::jobs::JobCopy,
        report: &mut PublishReport,
    ) -> Result<()> {
        let vault = self.vault;
        if matches!(
            jc.state,
            JobCopyState::Done | JobCopyState::Failed | JobCopyState::Cancelled
        ) {
            return Ok(());
        }
        let mut tries = jc.attempts;
        let mut handle = None;
        let current = vault.catalog.copy(&jc.copy_id)?;
        match jc.state {
            JobCopyState::Readback => {
                if self.verified_since_start(&current) {
                    // A person read it back (`verify --copy`) since.
                    self.done(jc, &current, tries, &jc.medium, "verified by a read-back")?;
                    report.verified += 1;
                    return Ok(());
                }
                if current.state == CopyState::Damaged {
                    if !self.failed(
                        &*publisher,
                        jc,
                        &current,
                        tries,
                        &jc.medium,
                        "its read-back found damage",
                        RejectKind::ReadBack,
                        report,
                    )? {
                        return Ok(());
                    }
                } else {
                    report.awaiting_readback += 1;
                    return Ok(());
                }
            }
            JobCopyState::Burning | JobCopyState::Verifying if !jc.medium.is_empty() => {
                if self.verified_since_start(&current) {
                    // Verified just before discvault stopped.
                    self.done(jc, &current, tries, &jc.medium, "verified")?;
                    report.verified += 1;
                    return Ok(());
                }
                // A disc burned (or a publisher job started) before discvault stopped is
                // followed, not burned again.
                handle = Some(jc.medium.clone());
            }
            _ => {}
        }
        loop {
            let copy = vault.catalog.copy(&jc.copy_id)?;
            let h = match handle.take() {
                Some(h) => h,
                None => {
                    tries += 1;
                    self.set(&copy.copy_id, JobCopyState::Burning, tries, "", "")?;
                    self.progress.start(
                        &format!("burning {} ({}), disc {tries}", copy.copy_id, copy.role),
                        0,
                        self.volume.image_bytes,
                    );
                    let started = publisher.start(
                        vault,
                        &BurnRequest {
                            job_id: &self.job.job_id,
                            attempt: tries,
                            image: self.image,
                            volume: self.volume,
                            copy: &copy,
                        },
                        self.progress,
                    );
                    self.progress.finish();
                    match started {
                        Ok(h) => {
                            self.set(&copy.copy_id, JobCopyState::Burning, tries, &h, "")?;
                            h
                        }
                        Err(e) => {
                            // No disc could be burned: the job stays open for a rerun.
                            self.set(
                                &copy.copy_id,
                                JobCopyState::Pending,
                                tries - 1,
                                "",
                                &e.to_string(),
                            )?;
                            return Err(e);
                        }
                    }
                }
            };
            crash_point(&copy.copy_id);
            self.progress.start(
                &format!("following {} ({}) at {h}", copy.copy_id, copy.role),
                0,
                self.volume.image_bytes,
            );
            let burned = publisher.finish(vault, &h, self.volume.image_bytes, self.progress);
            self.progress.finish();
            let (path, held) = match burned? {
                Burned::Readable(p) => (p, false),
                Burned::Held(p) => (p, true),
                Burned::Away(place) => {
                    let mut c = vault.catalog.copy(&copy.copy_id)?;
                    let detail = if jc.replaces.is_empty() {
                        c.place = Place {
                            cabinet: place.clone(),
                            ..Place::default()
                        };
                        format!(
                            "copy {} burned by {} (job {h}), in {place}: to be read back",
                            c.copy_id, self.target
                        )
                    } else {
                        // The copy keeps its place; until the new disc is read back it does
                        // not count (its old disc was {replaces}).
                        c.state = CopyState::Planned;
                        format!(
                            "replacement disc of copy {} burned by {} (job {h}), in {place}: to be read back; the copy keeps its place {}, its old disc ({}) is to be destroyed once the new one is verified",
                            c.copy_id, self.target, c.place, jc.replaces
                        )
                    };
                    vault.catalog.update_copies(&[CopyChange {
                        detail,
                        copy: c,
                        event_type: "replication",
                        outcome: "success",
                    }])?;
                    self.set(
                        &copy.copy_id,
                        JobCopyState::Readback,
                        tries,
                        &h,
                        &format!(
                            "burned, in {place}: read it back with `discvault verify DRIVE --copy {}`, then rerun publish",
                            copy.copy_id
                        ),
                    )?;
                    report.awaiting_readback += 1;
                    return Ok(());
                }
                Burned::Cancelled(d) => {
                    self.set(&copy.copy_id, JobCopyState::Cancelled, tries, &h, &d)?;
                    report.cancelled += 1;
                    return Ok(());
                }
                Burned::Refused(d) => {
                    // Nothing burned: the copy waits, with the publisher's word, for a rerun.
                    self.set(&copy.copy_id, JobCopyState::Pending, tries - 1, "", &d)?;
                    return Err(Error::Publisher {
                        target: self.target.to_string(),
                        job: h,
                        detail: format!("{d}; the job {} stays open for a rerun", self.job.job_id),
                    });
                }
                Burned::DiscFailed(d) => {
                    if !self.failed(
                        &*publisher,
                        jc,
                        &copy,
                        tries,
                        &h,
                        &d,
                        RejectKind::AtPublisher,
                        report,
                    )? {
                        return Ok(());
                    }
                    continue;
                }
            };
            self.set(&copy.copy_id, JobCopyState::Verifying, tries, &h, "")?;
            let checked = crate::verify::verify_copy(
                vault,
                &path,
                &copy.copy_id,
                &VerifyOptions::default(),
                self.progress,
            );
            let (clean, detail) = match checked {
                Ok(r) if r.clean => (true, format!("verified, {} files", r.files_ok)),
                Ok(r) => (
                    false,
                    format!(
                        "read-back found damage: {}",
                        r.findings
                            .iter()
                            .map(|f| f.disc_path.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
                // discvault's own failure (the catalog, its configuration) says nothing of the
                // disc: the job stays where it is, and a rerun reads the disc back again.
                Err(e @ (Error::Catalog(_) | Error::CatalogData { .. } | Error::Config { .. })) => {
                    return Err(e)
                }
                Err(e) => (false, format!("read-back failed: {e}")),
            };
            if held {
                publisher.release(&h, clean)?;
            }
            if clean {
                let c = vault.catalog.copy(&copy.copy_id)?;
                self.done(jc, &c, tries, &h, &detail)?;
                report.verified += 1;
                return Ok(());
            }
            if !self.failed(
                &*publisher,
                jc,
                &copy,
                tries,
                &h,
                &detail,
                RejectKind::ReadBack,
                report,
            )? {
                return Ok(());
            }
        }
    }

    /// The copy's disc is verified: the copy counts; a new copy waits to be shelved, a
    /// replacement keeps its place (the old disc's quality grade goes with the old disc).
    fn done(
        &self,
        jc: &crate::catalog::jobs::JobCopy,
        c: &DiscCopy,
        tries: u32,
        medium: &str,
        detail: &str,
    ) -> Result<()> {
        let mut c = c.clone();
        if !jc.replaces.is_empty() {
            c.grade = String::new();
            c.graded_at = None;
            if c.place == Place::default() {
                c.place.cabinet = "待上架 to be shelved".into();
            }
            self.vault.catalog.update_copies(&[CopyChange {
                detail: format!(
                    "copy {} replaced: a new disc written by {} ({medium}, job {}) verified; the copy keeps its id, role and place {}; the old disc (it was {}) is to be destroyed",
                    c.copy_id, self.target, self.job.job_id, c.place, jc.replaces
                ),
                copy: c.clone(),
                event_type: "replication",
                outcome: "success",
            }])?;
        } else if c.place == Place::default() {
            c.place.cabinet = "待上架 to be shelved".into();
            self.vault.catalog.update_copies(&[CopyChange {
                detail: format!(
                    "copy {} written by {} to {medium}, verified; to be shelved",
                    c.copy_id, self.target
                ),
                copy: c.clone(),
                event_type: "replication",
                outcome: "success",
            }])?;
        }
        self.set(&c.copy_id, JobCopyState::Done, tries, medium, detail)
    }

    /// A disc of the copy failed: it is recorded with where it is and what to do with it;
    /// `true` when another disc is to be burned, `false` when the copy is given up.
    #[allow(clippy::too_many_arguments)]
    fn failed(
        &self,
        publisher: &dyn Publisher,
        jc: &crate::catalog::jobs::JobCopy,
        copy: &DiscCopy,
        tries: u32,
        medium: &str,
        detail: &str,
        kind: RejectKind,
        report: &mut PublishReport,
    ) -> Result<bool> {
        let d = publisher.rejected(medium, copy, kind);
        let rejected = RejectedDisc {
            job_id: self.job.job_id.clone(),
            copy_id: copy.copy_id.clone(),
            attempt: tries,
            disc: medium.to_string(),
            reason: detail.to_string(),
            place: d.place,
            label: d.label,
            action: d.action,
            at: crate::now_unix(),
        };
        self.vault.catalog.reject_disc(&rejected)?;
        report.rejected_discs.push(rejected);
        let again = tries < self.attempts;
        if again {
            self.set(&copy.copy_id, JobCopyState::Pending, tries, medium, detail)?;
            self.progress
                .note(&format!("{}: {detail}; burning it again", copy.copy_id));
        } else {
            self.set(&copy.copy_id, JobCopyState::Failed, tries, medium, detail)?;
            report.failed += 1;
        }
        let mut c = self.vault.catalog.copy(&copy.copy_id)?;
        if jc.replaces.is_empty() {
            // A new copy has no disc yet.
            if c.state != CopyState::Planned || c.place != Place::default() {
                c.state = CopyState::Planned;
                c.place = Place::default();
                self.vault.catalog.update_copies(&[CopyChange {
                    detail: format!(
                        "copy {}: the disc ({medium}) failed: {detail}{}",
                        c.copy_id,
                        if again { "; burning it again" } else { "" }
                    ),
                    copy: c,
                    event_type: "replication",
                    outcome: "failure",
                }])?;
            }
        } else {
            // A replacement: the copy is what it was before (its old disc), in its place.
            let before = CopyState::parse(&jc.replaces)?;
            if c.state != before {
                c.state = before;
                self.vault.catalog.update_copies(&[CopyChange {
                    detail: format!(
                        "copy {}: the replacement disc ({medium}) failed: {detail}; the copy is {} again (its old disc){}",
                        c.copy_id,
                        before.as_str(),
                        if again { "; burning another" } else { "" }
                    ),
                    copy: c,
                    event_type: "replication",
                    outcome: "failure",
                }])?;
            }
        }
        Ok(again)
    }
}

/// What `jobs --cancel` did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CancelReport {
    pub job: Job,
    /// Publisher jobs asked to stop.
    pub stopped: Vec<String>,
}

/// Cancels a job: its copies not done are cancelled (they stay planned, free for a new job),
/// and burns under way at a publisher are asked to stop.
pub fn cancel(vault: &Vault, job_id: &str) -> Result<CancelReport> {
    let job = vault.catalog.job(job_id)?;
    if job.state != "open" {
        return Err(Error::Invalid {
            field: "job".into(),
            detail: format!("{job_id} is {} already", job.state),
        });
    }
    let target = Target::parse(&job.target)?;
    let mut publisher = target.publisher(vault, &PublishOptions::default(), None)?;
    let mut stopped = Vec::new();
    for jc in &job.copies {
        if matches!(
            jc.state,
            JobCopyState::Done | JobCopyState::Failed | JobCopyState::Cancelled
        ) {
            continue;
        }
        if jc.state == JobCopyState::Burning && !jc.medium.is_empty() {
            publisher.cancel(&jc.medium)?;
            stopped.push(jc.medium.clone());
        }
        vault.catalog.set_job_copy(
            job_id,
            &jc.copy_id,
            JobCopyState::Cancelled,
            jc.attempts,
            &jc.medium,
            &format!("cancelled by {}", crate::catalog::agent()),
        )?;
        // A replacement whose new disc was out for a read-back: the copy is what it was.
        if !jc.replaces.is_empty() {
            let mut c = vault.catalog.copy(&jc.copy_id)?;
            let before = CopyState::parse(&jc.replaces)?;
            if c.state == CopyState::Planned && before != CopyState::Planned {
                c.state = before;
                vault.catalog.update_copies(&[CopyChange {
                    detail: format!(
                        "copy {}: its replacement (job {job_id}) cancelled; the copy is {} again (its old disc)",
                        c.copy_id,
                        before.as_str()
                    ),
                    copy: c,
                    event_type: "replication",
                    outcome: "cancelled",
                }])?;
            }
        }
    }
    vault.catalog.add_event(
        "replication",
        "cancelled",
        &format!(
            "publishing job {job_id} of {} on {} cancelled{}",
            job.volume_id,
            job.target,
            if stopped.is_empty() {
                String::new()
            } else {
                format!("; publisher jobs asked to stop: {}", stopped.join(", "))
            }
        ),
        Some(&vault.catalog.volume(&job.volume_id)?),
    )?;
    Ok(CancelReport {
        job: vault.catalog.job(job_id)?,
        stopped,
    })
}

/// Starts a job: the volume's planned copies not in another job (but a cancelled one) take
/// the roles first; new copies are registered (planned) for the rest.
fn new_job(vault: &Vault, volume: &Volume, target: &str, roles: &[String]) -> Result<Job> {
    let in_jobs: std::collections::BTreeSet<String> = vault
        .catalog
        .jobs()?
        .into_iter()
        .filter(|j| j.volume_id == volume.volume_id)
        .flat_map(|j| {
            j.copies
                .into_iter()
                .filter(|c| c.state != JobCopyState::Cancelled)
                .map(|c| c.copy_id)
        })
        .collect();
    let mut free: Vec<DiscCopy> = vault
        .catalog
        .copies(Some(&volume.volume_id))?
        .into_iter()
        .filter(|c| c.state == CopyState::Planned && !in_jobs.contains(&c.copy_id))
        .collect();
    let mut ids = Vec::new();
    let mut new = Vec::new();
    for r in roles {
        match free.iter().position(|c| &c.role == r) {
            Some(k) => ids.push(free.remove(k).id),
            None => new.push(NewCopy {
                role: r.clone(),
                medium: volume.media.clone(),
                state: Some(CopyState::Planned),
                ..Default::default()
            }),
        }
    }
    if !new.is_empty() {
        ids.extend(
            vault
                .catalog
                .add_copies(&volume.volume_id, &new)?
                .into_iter()
                .map(|c| c.id),
        );
    }
    let copies: Vec<NewJobCopy> = ids
        .into_iter()
        .map(|copy| NewJobCopy {
            copy,
            replaces: String::new(),
        })
        .collect();
    vault.catalog.create_job(volume, target, &copies)
}

/// The volume's image in the vault's spool folder, mastered again (byte-identical, checked)
/// unless the spool holds it unchanged since it was written.
pub(crate) fn spool_image(
    vault: &Vault,
    volume: &Volume,
    progress: &dyn Progress,
) -> Result<PathBuf> {
    let dir = vault.root.join("spool");
    let image = dir.join(format!("{}.iso", volume.volume_id));
    let stamp = dir.join(format!("{}.iso.stamp", volume.volume_id));
    let fingerprint = |p: &Path| -> Option<String> {
        let m = std::fs::metadata(p).ok()?;
        use std::os::unix::fs::MetadataExt;
        Some(format!(
            "{} {} {}.{}",
            volume.image_sha256.as_deref()?,
            m.len(),
            m.mtime(),
            m.mtime_nsec()
        ))
    };
    if let (Some(now), Ok(then)) = (fingerprint(&image), std::fs::read_to_string(&stamp)) {
        if now == then.trim() {
            return Ok(image);
        }
    }
    crate::master::master(
        vault,
        &MasterOptions {
            volumes: vec![volume.volume_id.clone()],
            out: dir.clone(),
            again: true,
        },
        progress,
    )?;
    if let Some(f) = fingerprint(&image) {
        std::fs::write(&stamp, f).at(&stamp)?;
    }
    Ok(image)
}

/// The volume's files as a folder, for publishers that write a disc's file system themselves
/// (TD Bridge): read back from the spooled image, every file checked against the catalog;
/// kept while the image is unchanged.
fn spool_tree(
    vault: &Vault,
    volume: &Volume,
    image: &Path,
    progress: &dyn Progress,
) -> Result<PathBuf> {
    let dir = vault
        .root
        .join("spool")
        .join(format!("{}.tree", volume.volume_id));
    let root = dir.join(&volume.volume_id);
    let stamp = vault
        .root
        .join("spool")
        .join(format!("{}.tree.stamp", volume.volume_id));
    let want = std::fs::read_to_string(
        vault
            .root
            .join("spool")
            .join(format!("{}.iso.stamp", volume.volume_id)),
    )
    .unwrap_or_default();
    if !want.is_empty()
        && std::fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str())
        && root.is_dir()
    {
        return Ok(root);
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).at(&dir)?;
    }
    let r = crate::readback::readback(
        vault,
        image,
        &crate::readback::ReadbackOptions {
            to: dir.clone(),
            copy: None,
            overwrite: true,
            verify: VerifyOptions::default(),
        },
        progress,
    )?;
    if !r.not_written.is_empty() {
        return Err(Error::Volume {
            volume: volume.volume_id.clone(),
            detail: format!(
                "the spooled image {} does not read back clean ({}); run `discvault verify` on it",
                image.display(),
                r.not_written.join(", ")
            ),
        });
    }
    std::fs::write(&stamp, want).at(&stamp)?;
    Ok(root)
}

/// Test hook: `DISCVAULT_CRASH_AFTER_BURN=<copy id>` aborts the process right after that copy's
/// burn was started and recorded (the disc burned, or the publisher job submitted), before it
/// is followed and read back, as a kill or a power cut would.
fn crash_point(copy_id: &str) {
    if std::env::var("DISCVAULT_CRASH_AFTER_BURN").as_deref() == Ok(copy_id) {
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_code_page_is_an_error_naming_the_setting_not_gbk() {
        let t = tempfile::tempdir().unwrap();
        let mut vault = Vault::init(t.path()).unwrap();
        // The config checks it when loaded; a vault whose config was changed since must not
        // quietly write GBK either.
        vault.config.publish.code_page = "klingon".into();
        let out = t.path().join("out");
        let e = publish(
            &vault,
            &PublishOptions {
                target: format!("images:{}", out.display()),
                ..Default::default()
            },
            &crate::progress::NoProgress,
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("publish.code_page")
                && e.contains("klingon")
                && e.contains("discvault.toml"),
            "{e}"
        );
    }

    /// Asks nothing of a terminal: records the request and puts a blank disc in (removes the
    /// pseudo drive's file).
    struct Hands {
        asked: std::sync::Mutex<Vec<String>>,
        drive: PathBuf,
    }

    impl Operator for Hands {
        fn ask(&self, request: &str) -> Result<()> {
            self.asked.lock().unwrap().push(request.to_string());
            std::fs::remove_file(&self.drive).at(&self.drive)
        }
    }

    #[test]
    fn a_drive_that_needs_another_disc_asks_the_operator_or_says_why_it_cannot() {
        let t = tempfile::tempdir().unwrap();
        let drive = t.path().join("drive");
        std::fs::write(&drive, vec![1u8; 64 << 10]).unwrap();
        let dev = format!("stdio:{}", drive.display());
        // Without an operator: the used drive, then the written disc, are errors naming it.
        let mut x = XorrisoPublisher {
            devices: vec![dev.clone()],
            next: 0,
            used: vec![true],
            operator: None,
        };
        let e = x.blank_drive("DV-000001-C2").unwrap_err().to_string();
        assert!(e.contains("holds the disc just burned"), "{e}");
        x.used[0] = false;
        let e = x.blank_drive("DV-000001-C2").unwrap_err().to_string();
        assert!(e.contains("not blank") && e.contains(&dev), "{e}");
        // With one: asked (through the trait, not a terminal), and the blank disc taken.
        let hands = Hands {
            asked: Default::default(),
            drive: drive.clone(),
        };
        let mut x = XorrisoPublisher {
            devices: vec![dev.clone()],
            next: 0,
            used: vec![true],
            operator: Some(&hands),
        };
        assert_eq!(x.blank_drive("DV-000001-C2").unwrap(), dev);
        assert_eq!(
            *hands.asked.lock().unwrap(),
            [format!("DV-000001-C2: put a blank disc into {dev}")]
        );
    }

    #[test]
    fn paths_of_the_publishers_pc_map_back_to_this_pc() {
        assert_eq!(
            local_path("/srv/vault=D:\\vault", "D:\\vault\\labels\\档案.tdd"),
            Some(PathBuf::from("/srv/vault/labels/档案.tdd"))
        );
        assert_eq!(
            local_path("/srv/vault=D:\\vault", "d:\\VAULT\\a.tdd"),
            Some(PathBuf::from("/srv/vault/a.tdd"))
        );
        assert_eq!(
            local_path("/srv/vault=D:\\vault", "D:\\vaults\\a.tdd"),
            None
        );
        assert_eq!(local_path("", "E:\\labels\\a.tdd"), None);
        assert_eq!(
            local_path("", "/opt/labels/a.tdd"),
            Some(PathBuf::from("/opt/labels/a.tdd"))
        );
    }
}
