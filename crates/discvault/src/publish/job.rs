//! The job state machine: every copy of a job burned, followed, read back and recorded, each
//! step in its own transaction, resumed where a crash left it; rejected discs named.

use super::*;

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
    let (work, _claims) = claim_work(vault, opts, &target_text, &mut report, progress)?;
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

/// A volume to publish, the work on it, and why.
type Selected = (Volume, Work, String);

/// What to publish (see [`select`]), each volume claimed by this run: a volume another
/// process or station holds (publishing, mastering or repairing it) is left to it and named in
/// `report.not_published`, or waited for when named. The work is selected again once the
/// claims are held, so that it is what the catalog says now, not before another station
/// finished with a volume.
fn claim_work<'a>(
    vault: &'a Vault,
    opts: &PublishOptions,
    target: &str,
    report: &mut PublishReport,
    progress: &dyn Progress,
) -> Result<(Vec<Selected>, Vec<crate::vault::Claim<'a>>)> {
    let named = !opts.volumes.is_empty() || !opts.replace.is_empty();
    let mut claims: Vec<(String, crate::vault::Claim<'a>)> = Vec::new();
    let mut elsewhere: Vec<(String, String)> = Vec::new();
    let mut first = PublishReport::default();
    for (volume, _, _) in select(vault, opts, target, &mut first)? {
        let id = volume.volume_id;
        let key = crate::vault::volume_claim(&id);
        match vault.claim(&key, "publish", named, progress)? {
            Ok(c) => claims.push((id, c)),
            Err(holder) => elsewhere.push((id, holder)),
        }
    }
    let mut work = Vec::new();
    for (volume, w, reason) in select(vault, opts, target, report)? {
        let id = volume.volume_id.clone();
        if !claims.iter().any(|(v, _)| *v == id) {
            match vault.claim(&crate::vault::volume_claim(&id), "publish", false, progress)? {
                Ok(c) => claims.push((id, c)),
                Err(holder) => {
                    elsewhere.push((id, holder));
                    continue;
                }
            }
        }
        work.push((volume, w, reason));
    }
    for (id, holder) in elsewhere {
        if !report.not_published.iter().any(|v| v.volume_id == id) {
            report.not_published.push(VolumeReason {
                volume_id: id,
                reason: format!("held by {holder}: left to it"),
            });
        }
    }
    if work.is_empty() && report.nothing_to_do.is_none() && !report.not_published.is_empty() {
        report.nothing_to_do = Some(format!(
            "nothing to publish here: {} (see not_published)",
            report
                .not_published
                .iter()
                .map(|v| format!("{}, {}", v.volume_id, v.reason))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    Ok((work, claims.into_iter().map(|(_, c)| c).collect()))
}

/// One job being worked on.
pub(super) struct Run<'a> {
    pub(super) vault: &'a Vault,
    pub(super) job: &'a Job,
    pub(super) volume: &'a Volume,
    pub(super) image: &'a Path,
    pub(super) target: &'a str,
    pub(super) attempts: u32,
    pub(super) progress: &'a dyn Progress,
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
        jc: &crate::model::JobCopy,
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
                        &crate::progress::Message::Burning {
                            copy: copy.copy_id.clone(),
                            role: copy.role.clone(),
                            disc: tries,
                        },
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
                &crate::progress::Message::Following {
                    copy: copy.copy_id.clone(),
                    role: copy.role.clone(),
                    at: h.clone(),
                },
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
                // discvault's own failure (the catalog, its configuration, a file of its own)
                // says nothing of the disc: the job stays where it is, and a rerun reads the
                // disc back again.
                Err(e @ (Error::Catalog(_) | Error::CatalogData { .. } | Error::Config { .. })) => {
                    return Err(e)
                }
                Err(e @ Error::Io { .. }) if !matches!(&e, Error::Io { path: p, .. } if *p == path) => {
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
        jc: &crate::model::JobCopy,
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
        jc: &crate::model::JobCopy,
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
            self.progress.note(&crate::progress::Message::BurningAgain {
                copy: copy.copy_id.clone(),
                detail: detail.to_string(),
            });
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
            &format!("cancelled by {}", crate::model::agent()),
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
pub(super) fn new_job(
    vault: &Vault,
    volume: &Volume,
    target: &str,
    roles: &[String],
) -> Result<Job> {
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
