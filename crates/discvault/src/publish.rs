//! Publishing: every copy of a volume burned on a target, read back and verified before it
//! counts, as a job kept in the catalog.
//!
//! Targets are [`Publisher`]s: `images:DIR` (image files, for burning elsewhere and for tests)
//! and `xorriso:DEVICE[,DEVICE...]` (drives through xorriso/libburn; `stdio:FILE` pseudo drives
//! in tests). A job records each copy's state (pending, burning, verifying, done, failed) and
//! the disc it went to, in its own transaction at every step: after a crash or a kill a rerun
//! of `publish` resumes only what is left, reading back a disc that was burned but not yet
//! verified instead of burning another. A copy is registered `planned` and becomes `verified`
//! only by the read-back check ([`crate::verify`]); a failed check marks the disc damaged and
//! the copy is burned again on the next disc, up to the configured attempts.

use crate::catalog::copies::{CopyState, DiscCopy, NewCopy, Place};
use crate::catalog::jobs::{Job, JobCopyState};
use crate::catalog::{Volume, VolumeState};
use crate::error::IoContext;
use crate::master::MasterOptions;
use crate::progress::Progress;
use crate::verify::VerifyOptions;
use crate::{Error, Result, Vault};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where discs are published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// Image files in a folder: `<copy id>.iso`.
    Images(PathBuf),
    /// Drives driven by xorriso: `/dev/sr0`, or `stdio:FILE` pseudo drives.
    Xorriso(Vec<String>),
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
            Some(("tdbridge" | "ptburn", _)) => Err(bad(
                "disc publisher hot folders (TD Bridge, PTBurn) are not supported yet",
            )),
            _ => Err(bad("use images:DIR or xorriso:DEVICE[,DEVICE...]")),
        }
    }

    fn publisher(&self, interactive: bool) -> Box<dyn Publisher> {
        match self {
            Target::Images(d) => Box::new(ImagesPublisher { dir: d.clone() }),
            Target::Xorriso(devs) => Box::new(XorrisoPublisher {
                devices: devs.clone(),
                next: 0,
                used: vec![false; devs.len()],
                interactive,
            }),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Images(d) => write!(f, "images:{}", d.display()),
            Target::Xorriso(d) => write!(f, "xorriso:{}", d.join(",")),
        }
    }
}

/// Something that burns images onto discs.
pub trait Publisher {
    /// Burns `image` (of `volume`) onto a blank disc for `copy`; returns the medium it went to,
    /// as [`Publisher::read_path`] understands it.
    fn burn(
        &mut self,
        image: &Path,
        volume: &Volume,
        copy: &DiscCopy,
        progress: &dyn Progress,
    ) -> Result<String>;
    /// Where a medium can be read back (an image file, a block device, a pseudo drive's file).
    fn read_path(&self, medium: &str) -> PathBuf;
}

struct ImagesPublisher {
    dir: PathBuf,
}

impl Publisher for ImagesPublisher {
    fn burn(
        &mut self,
        image: &Path,
        _volume: &Volume,
        copy: &DiscCopy,
        progress: &dyn Progress,
    ) -> Result<String> {
        std::fs::create_dir_all(&self.dir).at(&self.dir)?;
        let dest = self.dir.join(format!("{}.iso", copy.copy_id));
        let tmp = self.dir.join(format!(".{}.iso.part", copy.copy_id));
        let mut from = std::fs::File::open(image).at(image)?;
        let mut to = std::fs::File::create(&tmp).at(&tmp)?;
        let mut buf = vec![0u8; 4 << 20];
        loop {
            let n = from.read(&mut buf).at(image)?;
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

    fn read_path(&self, medium: &str) -> PathBuf {
        PathBuf::from(medium)
    }
}

struct XorrisoPublisher {
    devices: Vec<String>,
    next: usize,
    used: Vec<bool>,
    interactive: bool,
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

impl XorrisoPublisher {
    /// A drive with a blank disc in it, asking for one on a terminal.
    fn blank_drive(&mut self, vault_hint: &str) -> Result<String> {
        loop {
            // Each drive takes one disc per run unless a person can change discs.
            let k = self.next % self.devices.len();
            let dev = self.devices[k].clone();
            if self.used[k] && !self.interactive {
                return Err(Error::Source {
                    source_name: dev,
                    detail: "holds the disc just burned; give more drives, or run on a terminal to be asked for the next disc".into(),
                });
            }
            if self.used[k] {
                eprint!("{vault_hint}: put a blank disc into {dev} and press Enter ");
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).ok();
            }
            let status = media_status(&dev)?;
            if status.starts_with("is blank") {
                self.used[k] = true;
                self.next = k + 1;
                return Ok(dev);
            }
            let holds = crate::source::open_image(&self.read_path(&dev))
                .ok()
                .and_then(|mut s| crate::source::volume_id(&mut s).ok());
            let detail = format!(
                "the disc is not blank ({status}{}); insert a blank disc",
                holds.map(|h| format!(", holds {h}")).unwrap_or_default()
            );
            if !self.interactive {
                return Err(Error::Source {
                    source_name: dev,
                    detail,
                });
            }
            eprintln!("{dev}: {detail}");
            self.used[k] = true;
        }
    }
}

impl Publisher for XorrisoPublisher {
    fn burn(
        &mut self,
        image: &Path,
        volume: &Volume,
        copy: &DiscCopy,
        progress: &dyn Progress,
    ) -> Result<String> {
        let dev = self.blank_drive(&copy.copy_id)?;
        let mut child = Command::new("xorriso")
            .args(["-as", "cdrecord", "-v"])
            .arg(format!("dev={dev}"))
            .arg(image)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .at("xorriso")?;
        // "xorriso : UPDATE : 12 of 130 MB written" lines give the progress.
        let mut last_mb = 0u64;
        let mut tail = Vec::new();
        if let Some(err) = child.stderr.take() {
            for line in std::io::BufReader::new(err).lines().map_while(|l| l.ok()) {
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
                    volume.volume_id,
                    tail.join(" | ")
                ),
            });
        }
        Ok(dev)
    }

    fn read_path(&self, medium: &str) -> PathBuf {
        PathBuf::from(medium.strip_prefix("stdio:").unwrap_or(medium))
    }
}

/// Options of `publish`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PublishOptions {
    /// Volumes to publish; every mastered volume with an open job, when empty.
    pub volumes: Vec<String>,
    pub target: String,
    /// Copies per volume; the configured roles' count when `None`.
    pub copies: Option<u32>,
    /// Roles of the copies, in order; the configured roles when empty.
    pub roles: Vec<String>,
    /// Burns per copy before it is given up (a failed read-back takes the next disc).
    pub attempts: u32,
    /// Ask for discs on the terminal.
    pub interactive: bool,
}

/// What `publish` did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PublishReport {
    pub jobs: Vec<Job>,
    /// Copies verified in this run.
    pub verified: u64,
    /// Copies that failed in this run.
    pub failed: u64,
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

/// Publishes volumes: resumes their open jobs on the target, or starts new ones.
pub fn publish(
    vault: &Vault,
    opts: &PublishOptions,
    progress: &dyn Progress,
) -> Result<PublishReport> {
    let target = Target::parse(&opts.target)?;
    let target_text = target.to_string();
    let mut publisher = target.publisher(opts.interactive);
    let attempts = opts.attempts.max(1);
    let mut report = PublishReport::default();
    let volumes: Vec<Volume> = if opts.volumes.is_empty() {
        vault
            .catalog
            .volumes()?
            .into_iter()
            .filter(|v| {
                vault
                    .catalog
                    .open_jobs(&v.volume_id)
                    .map(|j| j.iter().any(|j| j.target == target_text))
                    .unwrap_or(false)
            })
            .collect()
    } else {
        opts.volumes
            .iter()
            .map(|v| vault.catalog.volume(v))
            .collect::<Result<_>>()?
    };
    for volume in volumes {
        if volume.state != VolumeState::Mastered {
            return Err(Error::Volume {
                volume: volume.volume_id.clone(),
                detail: "not mastered yet: run `discvault master` first".into(),
            });
        }
        let job = match vault
            .catalog
            .open_jobs(&volume.volume_id)?
            .into_iter()
            .find(|j| j.target == target_text)
        {
            Some(j) => j,
            None => new_job(vault, &volume, &target_text, &roles_for(vault, opts))?,
        };
        let image = spool_image(vault, &volume, progress)?;
        for jc in &job.copies {
            if matches!(jc.state, JobCopyState::Done | JobCopyState::Failed) {
                continue;
            }
            let mut tries = jc.attempts;
            // A disc burned before discvault stopped is read back, not burned again.
            let mut medium = if matches!(jc.state, JobCopyState::Burning | JobCopyState::Verifying)
                && !jc.medium.is_empty()
            {
                Some(jc.medium.clone())
            } else {
                None
            };
            loop {
                let copy = vault.catalog.copy(&jc.copy_id)?;
                let m = match medium.take() {
                    Some(m) => m,
                    None => {
                        tries += 1;
                        vault.catalog.set_job_copy(
                            &job.job_id,
                            &copy.copy_id,
                            JobCopyState::Burning,
                            tries,
                            "",
                            "",
                        )?;
                        progress.start(
                            &format!("burning {} ({})", copy.copy_id, copy.role),
                            0,
                            volume.image_bytes,
                        );
                        let burned = publisher.burn(&image, &volume, &copy, progress);
                        progress.finish();
                        match burned {
                            Ok(m) => m,
                            Err(e) => {
                                // No disc could be burned: the job stays open for a rerun.
                                vault.catalog.set_job_copy(
                                    &job.job_id,
                                    &copy.copy_id,
                                    JobCopyState::Pending,
                                    tries - 1,
                                    "",
                                    &e.to_string(),
                                )?;
                                report.jobs.push(vault.catalog.job(&job.job_id)?);
                                return Err(e);
                            }
                        }
                    }
                };
                vault.catalog.set_job_copy(
                    &job.job_id,
                    &copy.copy_id,
                    JobCopyState::Verifying,
                    tries,
                    &m,
                    "",
                )?;
                crash_point(&copy.copy_id);
                let checked = crate::verify::verify_copy(
                    vault,
                    &publisher.read_path(&m),
                    &copy.copy_id,
                    &VerifyOptions::default(),
                    progress,
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
                    Err(e) => (false, format!("read-back failed: {e}")),
                };
                if clean {
                    let mut c = vault.catalog.copy(&copy.copy_id)?;
                    if c.place == Place::default() {
                        c.place.cabinet = "待上架 to be shelved".into();
                        vault
                            .catalog
                            .update_copies(&[crate::catalog::copies::CopyChange {
                                detail: format!(
                                "copy {} written by {target_text} to {m}, verified; to be shelved",
                                c.copy_id
                            ),
                                copy: c,
                                event_type: "replication",
                                outcome: "success",
                            }])?;
                    }
                    vault.catalog.set_job_copy(
                        &job.job_id,
                        &copy.copy_id,
                        JobCopyState::Done,
                        tries,
                        &m,
                        &detail,
                    )?;
                    report.verified += 1;
                    break;
                }
                if tries >= attempts {
                    vault.catalog.set_job_copy(
                        &job.job_id,
                        &copy.copy_id,
                        JobCopyState::Failed,
                        tries,
                        &m,
                        &detail,
                    )?;
                    report.failed += 1;
                    break;
                }
                // The disc is bad: burn the copy again on the next one.
                vault.catalog.set_job_copy(
                    &job.job_id,
                    &copy.copy_id,
                    JobCopyState::Pending,
                    tries,
                    &m,
                    &detail,
                )?;
                let mut c = vault.catalog.copy(&copy.copy_id)?;
                if c.state == CopyState::Damaged {
                    c.state = CopyState::Planned;
                    vault
                        .catalog
                        .update_copies(&[crate::catalog::copies::CopyChange {
                            detail: format!(
                                "copy {}: the disc on {m} failed its read-back; burning it again",
                                c.copy_id
                            ),
                            copy: c,
                            event_type: "replication",
                            outcome: "failure",
                        }])?;
                }
            }
        }
        report.jobs.push(vault.catalog.job(&job.job_id)?);
    }
    Ok(report)
}

/// Starts a job: the volume's planned copies not in another job take the roles first; new
/// copies are registered (planned) for the rest.
fn new_job(vault: &Vault, volume: &Volume, target: &str, roles: &[String]) -> Result<Job> {
    let in_jobs: std::collections::BTreeSet<String> = vault
        .catalog
        .jobs()?
        .into_iter()
        .filter(|j| j.volume_id == volume.volume_id)
        .flat_map(|j| j.copies.into_iter().map(|c| c.copy_id))
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
    vault.catalog.create_job(volume, target, &ids)
}

/// The volume's image in the vault's spool folder, mastered again (byte-identical, checked)
/// unless the spool holds it unchanged since it was written.
fn spool_image(vault: &Vault, volume: &Volume, progress: &dyn Progress) -> Result<PathBuf> {
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

/// Test hook: `DISCVAULT_CRASH_AFTER_BURN=<copy id>` aborts the process right after that copy
/// was burned and recorded, before its read-back, as a kill or a power cut would.
fn crash_point(copy_id: &str) {
    if std::env::var("DISCVAULT_CRASH_AFTER_BURN").as_deref() == Ok(copy_id) {
        std::process::abort();
    }
}
