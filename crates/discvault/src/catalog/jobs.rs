//! Publishing jobs in the catalog: a volume × its copies on one target, with the state of every
//! copy, so that a crash, an error or a cancel at any moment leaves a record a rerun resumes
//! from. The job records are the model's (`model/jobs.rs`).

use super::db::{self, Row};
use super::events::insert_event;
use super::{now_unix, Catalog};
use crate::model::{agent, NewEvent, Volume};
use crate::{Error, Result};

pub use crate::model::jobs::{Job, JobCopy, JobCopyState, NewJobCopy, RejectedDisc};

impl Catalog {
    /// Creates a job for copies already registered, in one transaction; a replacement disc of
    /// an existing copy is recorded as an event of the copy.
    pub fn create_job(&self, volume: &Volume, target: &str, copies: &[NewJobCopy]) -> Result<Job> {
        let job_id = self.scoped(|| {
            let tx = self.db.begin()?;
            let last: Option<i64> = db::query_scalar("SELECT MAX(id) FROM jobs")
                .fetch_one(&*tx)?;
            let job_id = format!("J-{:06}", last.unwrap_or(0) + 1);
            let now = now_unix();
            let id: i64 = db::query_scalar(
                "INSERT INTO jobs (job_id, volume, target, state, requested_by, created_at, updated_at)
                 VALUES ($1, $2, $3, 'open', $4, $5, $5) RETURNING id",
            )
            .bind(&job_id)
            .bind(volume.id)
            .bind(target)
            .bind(agent())
            .bind(now)
            .fetch_one(&*tx)?;
            for c in copies {
                db::query(
                    "INSERT INTO job_copies (job, copy, state, attempts, updated_at, replaces) VALUES ($1, $2, 'pending', 0, $3, $4)",
                )
                .bind(id)
                .bind(c.copy)
                .bind(now)
                .bind(c.replaces.as_str())
                .execute(&*tx)?;
                if !c.replaces.is_empty() {
                    let copy_id: String =
                        db::query_scalar("SELECT copy_id FROM copies WHERE id = $1")
                            .bind(c.copy)
                            .fetch_one(&*tx)?;
                    let detail = format!(
                        "a replacement disc of copy {copy_id} (now {}) is to be burned by {target} in job {job_id}; the copy keeps its id, role and place",
                        c.replaces
                    );
                    insert_event(
                        &tx,
                        &NewEvent {
                            event_type: "replication",
                            outcome: "started",
                            detail: &detail,
                            volume: Some(volume.id),
                            copy: Some(c.copy),
                            ..Default::default()
                        },
                    )?;
                }
            }
            tx.commit()?;
            Ok::<_, Error>(job_id)
        })?;
        self.job(&job_id)
    }

    /// A job by its id.
    pub fn job(&self, job_id: &str) -> Result<Job> {
        self.jobs_where("j.job_id = $1", job_id)?
            .pop()
            .ok_or_else(|| Error::Invalid {
                field: "job".into(),
                detail: format!("no job {job_id:?}"),
            })
    }

    /// Open jobs of a volume.
    pub fn open_jobs(&self, volume_id: &str) -> Result<Vec<Job>> {
        self.jobs_where("v.volume_id = $1 AND j.state = 'open'", volume_id)
    }

    /// Every job, newest last.
    pub fn jobs(&self) -> Result<Vec<Job>> {
        self.jobs_where("$1 = ''", "")
    }

    fn jobs_where(&self, cond: &str, arg: &str) -> Result<Vec<Job>> {
        let rows = db::query(&format!(
            "SELECT j.id, j.job_id, v.volume_id, j.target, j.state, j.requested_by, j.created_at
             FROM jobs j JOIN volumes v ON v.id = j.volume WHERE {cond} ORDER BY j.id"
        ))
        .bind(arg)
        .fetch_all(&self.db)?;
        let mut out = Vec::new();
        for r in &rows {
            let id: i64 = r.try_get("id")?;
            let copies = db::query(
                "SELECT k.copy_id, k.role, jc.state, jc.attempts, jc.medium, jc.detail, jc.replaces
                 FROM job_copies jc JOIN copies k ON k.id = jc.copy WHERE jc.job = $1 ORDER BY k.id",
            )
            .bind(id)
            .fetch_all(&self.db)?;
            let job_id: String = r.try_get("job_id")?;
            let rejects = db::query(
                "SELECT k.copy_id, d.attempt, d.disc, d.reason, d.place, d.label, d.action, d.at
                 FROM job_rejects d JOIN copies k ON k.id = d.copy WHERE d.job = $1 ORDER BY k.id, d.attempt",
            )
            .bind(id)
            .fetch_all(&self.db)?;
            let mut rejected = Vec::new();
            for d in &rejects {
                rejected.push(RejectedDisc {
                    job_id: job_id.clone(),
                    copy_id: d.try_get("copy_id")?,
                    attempt: d.try_get::<i64, _>("attempt")? as u32,
                    disc: d.try_get("disc")?,
                    reason: d.try_get("reason")?,
                    place: d.try_get("place")?,
                    label: d.try_get("label")?,
                    action: d.try_get("action")?,
                    at: d.try_get("at")?,
                });
            }
            let mut copies = copies
                .iter()
                .map(job_copy_from_row)
                .collect::<Result<Vec<_>>>()?;
            for c in &mut copies {
                c.rejected = rejected
                    .iter()
                    .filter(|d| d.copy_id == c.copy_id)
                    .cloned()
                    .collect();
            }
            out.push(Job {
                job_id,
                volume_id: r.try_get("volume_id")?,
                target: r.try_get("target")?,
                state: r.try_get("state")?,
                requested_by: r.try_get("requested_by")?,
                created_at: r.try_get("created_at")?,
                copies,
            });
        }
        Ok(out)
    }

    /// Records a disc of a job's copy that does not hold the copy, with an event of the copy
    /// naming it, where it is and what to do with it, in one transaction.
    pub fn reject_disc(&self, d: &RejectedDisc) -> Result<()> {
        let tx = self.db.begin()?;
        let row = db::query(
            "SELECT j.id AS job, k.id AS copy, k.volume AS volume FROM jobs j JOIN job_copies jc ON jc.job = j.id
             JOIN copies k ON k.id = jc.copy WHERE j.job_id = $1 AND k.copy_id = $2",
        )
        .bind(d.job_id.as_str())
        .bind(d.copy_id.as_str())
        .fetch_optional(&*tx)?
        .ok_or_else(|| Error::CatalogData {
            what: "job_copies".into(),
            detail: format!("job {} has no copy {}", d.job_id, d.copy_id),
        })?;
        let (job, copy, volume): (i64, i64, i64) = (
            row.try_get("job")?,
            row.try_get("copy")?,
            row.try_get("volume")?,
        );
        db::query(
            "INSERT INTO job_rejects (job, copy, attempt, disc, reason, place, label, action, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (job, copy, attempt) DO UPDATE SET disc = $4, reason = $5, place = $6, label = $7, action = $8, at = $9",
        )
        .bind(job)
        .bind(copy)
        .bind(d.attempt as i64)
        .bind(d.disc.as_str())
        .bind(d.reason.as_str())
        .bind(d.place.as_str())
        .bind(d.label.as_str())
        .bind(d.action.as_str())
        .bind(now_unix())
        .execute(&*tx)?;
        let detail = format!(
            "disc {} of copy {} (job {}, {}) rejected: {}; it is in {}, {}: {}",
            d.attempt, d.copy_id, d.job_id, d.disc, d.reason, d.place, d.label, d.action
        );
        insert_event(
            &tx,
            &NewEvent {
                event_type: "replication",
                outcome: "failure",
                detail: &detail,
                volume: Some(volume),
                copy: Some(copy),
                ..Default::default()
            },
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records the progress of one copy of a job (and closes the job when no copy is left).
    pub fn set_job_copy(
        &self,
        job_id: &str,
        copy_id: &str,
        state: JobCopyState,
        attempts: u32,
        medium: &str,
        detail: &str,
    ) -> Result<()> {
        let tx = self.db.begin()?;
        let job: i64 = db::query_scalar("SELECT id FROM jobs WHERE job_id = $1")
            .bind(job_id)
            .fetch_one(&*tx)?;
        db::query(
            "UPDATE job_copies SET state = $1, attempts = $2, medium = $3, detail = $4, updated_at = $5
             WHERE job = $6 AND copy = (SELECT id FROM copies WHERE copy_id = $7)",
        )
        .bind(state.as_str())
        .bind(attempts as i64)
        .bind(medium)
        .bind(detail)
        .bind(now_unix())
        .bind(job)
        .bind(copy_id)
        .execute(&*tx)?;
        let open: i64 = db::query_scalar(
            "SELECT COUNT(*) FROM job_copies WHERE job = $1 AND state NOT IN ('done', 'failed', 'cancelled')",
        )
        .bind(job)
        .fetch_one(&*tx)?;
        if open == 0 {
            let count = |state: &'static str| {
                db::query_scalar::<i64>(
                    "SELECT COUNT(*) FROM job_copies WHERE job = $1 AND state = $2",
                )
                .bind(job)
                .bind(state)
            };
            let failed = count("failed").fetch_one(&*tx)?;
            let cancelled = count("cancelled").fetch_one(&*tx)?;
            db::query("UPDATE jobs SET state = $1, updated_at = $2 WHERE id = $3")
                .bind(if failed > 0 {
                    "failed"
                } else if cancelled > 0 {
                    "cancelled"
                } else {
                    "done"
                })
                .bind(now_unix())
                .bind(job)
                .execute(&*tx)?;
        }
        tx.commit()?;
        Ok(())
    }
}

fn job_copy_from_row(r: &Row) -> Result<JobCopy> {
    Ok(JobCopy {
        copy_id: r.try_get("copy_id")?,
        role: r.try_get("role")?,
        state: JobCopyState::parse(&r.try_get::<String, _>("state")?)?,
        attempts: r.try_get::<i64, _>("attempts")? as u32,
        medium: r.try_get("medium")?,
        detail: r.try_get("detail")?,
        replaces: r.try_get("replaces")?,
        rejected: Vec::new(),
    })
}
