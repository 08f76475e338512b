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
//!
//! Here: targets, the [`Publisher`] and [`Operator`] traits, options and report. `select`: what a
//! run takes up; `job`: the job state machine; `spool`: the images and trees burned; one file
//! per driver (`images`, `xorriso`, `epson` for TD Bridge, `primera` for PTBurn) and what the
//! hot-folder drivers share (`hotfolder`).

mod epson;
mod hotfolder;
mod images;
mod job;
mod primera;
mod select;
mod spool;
mod xorriso;

pub use job::{cancel, publish, CancelReport};

use crate::config::{PtBurnSection, TdBridgeSection};
use crate::error::IoContext;
use crate::master::MasterOptions;
use crate::model::{
    CopyChange, CopyState, DiscCopy, Job, JobCopyState, NewCopy, NewJobCopy, Place, RejectedDisc,
    Volume, VolumeState,
};
use crate::progress::Progress;
use crate::verify::VerifyOptions;
use crate::{Error, Result, Vault};
use discpublisher::{ptburn, tdbridge, CodePage};
use epson::*;
use hotfolder::*;
use images::*;
use primera::*;
use select::*;
use serde::{Deserialize, Serialize};
use spool::*;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use xorriso::*;

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

/// A person at the drives, asked to do something (put a blank disc into a drive) before a burn
/// goes on. The library itself never prints nor reads a terminal.
pub trait Operator {
    /// Tells the person what to do; returns once they say it is done (an error stops the run).
    fn ask(&self, request: &str) -> Result<()>;
}

/// Options of `publish`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default)]
pub struct PublishOptions {
    /// Volumes to publish. When empty: the open jobs on the target, and the mastered volumes
    /// without an open job that are short of trusted copies under the policy.
    #[cfg_attr(
        feature = "clap",
        arg(
            help = "Volumes to publish; without them, the open jobs on the target, and the mastered volumes without an open job that are short of trusted copies under the policy"
        )
    )]
    pub volumes: Vec<String>,
    #[cfg_attr(
        feature = "clap",
        arg(
            long = "to",
            value_name = "TO",
            help = "images:DIR, xorriso:DEVICE[,DEVICE...] (stdio:FILE pseudo drives work too), tdbridge:FOLDER (Epson TD Bridge) or ptburn:FOLDER (Primera PTBurn)"
        )
    )]
    pub target: String,
    /// Copies per volume; the configured roles' count when `None`.
    #[cfg_attr(
        feature = "clap",
        arg(long, help = "Copies per volume (default: one per configured role)")
    )]
    pub copies: Option<u32>,
    /// Roles of the copies, in order; the configured roles when empty.
    #[cfg_attr(
        feature = "clap",
        arg(
            long,
            value_delimiter = ',',
            help = "Roles of the copies, comma separated (default: the configured roles)"
        )
    )]
    pub roles: Vec<String>,
    /// Copies to burn again (a replacement disc keeps the copy's id, role and place): copy ids,
    /// barcodes, or `C2` when one volume is named.
    #[cfg_attr(
        feature = "clap",
        arg(
            long,
            value_delimiter = ',',
            conflicts_with_all = ["copies", "roles"],
            help = "Burn a replacement disc of these copies (copy ids, barcodes, or C2 with one volume named), comma separated: each keeps its id, role and place"
        )
    )]
    pub replace: Vec<String>,
    /// Burns per copy before it is given up (a failed disc takes the next one).
    #[cfg_attr(
        feature = "clap",
        arg(
            long,
            default_value_t = 3,
            help = "Burns per copy before it is given up"
        )
    )]
    pub attempts: u32,
    /// Stop following a publisher job paused (or not taken) this many seconds; the job stays
    /// open. `None`: wait.
    #[cfg_attr(
        feature = "clap",
        arg(
            long,
            help = "Stop waiting for a disc publisher that is paused (out of blanks, cover open) or does not take the job, after this many seconds; the job stays open for a rerun"
        )
    )]
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
