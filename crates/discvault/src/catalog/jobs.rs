//! Publishing jobs: a volume × its copies on one target, with the state of every copy, so that
//! a crash, an error or a cancel at any moment leaves a record a rerun resumes from.

use super::db::{self, Row};
use super::{now_unix, Catalog, Volume};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Where a copy of a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobCopyState {
    /// Not started.
    Pending,
    /// Being burned (or was, when discvault stopped).
    Burning,
    /// Burned, being read back.
    Verifying,
    /// Burned by a publisher that sent the disc out (its output stacker): it counts once a
    /// person has read it back (`discvault verify DRIVE --copy COPY`).
    Readback,
    /// Burned and verified: the copy counts.
    Done,
    /// Gave up after its attempts.
    Failed,
    /// Cancelled (by `jobs --cancel`, or at the publisher).
    Cancelled,
}

impl JobCopyState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobCopyState::Pending => "pending",
            JobCopyState::Burning => "burning",
            JobCopyState::Verifying => "verifying",
            JobCopyState::Readback => "readback",
            JobCopyState::Done => "done",
            JobCopyState::Failed => "failed",
            JobCopyState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Result<JobCopyState> {
        Ok(match s {
            "pending" => JobCopyState::Pending,
            "burning" => JobCopyState::Burning,
            "verifying" => JobCopyState::Verifying,
            "readback" => JobCopyState::Readback,
            "done" => JobCopyState::Done,
            "failed" => JobCopyState::Failed,
            "cancelled" => JobCopyState::Cancelled,
            other => {
                return Err(Error::CatalogData {
                    what: "job_copies.state".into(),
                    detail: format!("unknown state {other:?}"),
                })
            }
        })
    }
}

/// One copy of a job.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JobCopy {
    pub copy_id: String,
    pub role: String,
    pub state: JobCopyState,
    pub attempts: u32,
    /// The disc it was burned on (an image file, a drive).
    pub medium: String,
    pub detail: String,
}

/// A publishing job.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Job {
    pub job_id: String,
    pub volume_id: String,
    pub target: String,
    /// `open` until every copy is done, failed or cancelled, then `failed` if one failed,
    /// else `cancelled` if one was cancelled, else `done`.
    pub state: String,
    pub requested_by: String,
    pub created_at: i64,
    pub copies: Vec<JobCopy>,
}

impl Catalog {
    /// Creates a job for copies already registered (by row id), in one transaction.
    pub fn create_job(&self, volume: &Volume, target: &str, copies: &[i64]) -> Result<Job> {
        let job_id = self.block(async {
            let tx = self.db.begin().await?;
            let last: Option<i64> = db::query_scalar("SELECT MAX(id) FROM jobs")
                .fetch_one(&*tx)
                .await?;
            let job_id = format!("J-{:06}", last.unwrap_or(0) + 1);
            let now = now_unix();
            let id: i64 = db::query_scalar(
                "INSERT INTO jobs (job_id, volume, target, state, requested_by, created_at, updated_at)
                 VALUES ($1, $2, $3, 'open', $4, $5, $5) RETURNING id",
            )
            .bind(&job_id)
            .bind(volume.id)
            .bind(target)
            .bind(super::agent())
            .bind(now)
            .fetch_one(&*tx)
            .await?;
            for c in copies {
                db::query(
                    "INSERT INTO job_copies (job, copy, state, attempts, updated_at) VALUES ($1, $2, 'pending', 0, $3)",
                )
                .bind(id)
                .bind(*c)
                .bind(now)
                .execute(&*tx)
                .await?;
            }
            tx.commit().await?;
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
        self.block(async {
            let rows = db::query(&format!(
                "SELECT j.id, j.job_id, v.volume_id, j.target, j.state, j.requested_by, j.created_at
                 FROM jobs j JOIN volumes v ON v.id = j.volume WHERE {cond} ORDER BY j.id"
            ))
            .bind(arg)
            .fetch_all(&self.db)
            .await?;
            let mut out = Vec::new();
            for r in &rows {
                let id: i64 = r.try_get("id")?;
                let copies = db::query(
                    "SELECT k.copy_id, k.role, jc.state, jc.attempts, jc.medium, jc.detail
                     FROM job_copies jc JOIN copies k ON k.id = jc.copy WHERE jc.job = $1 ORDER BY k.id",
                )
                .bind(id)
                .fetch_all(&self.db)
                .await?;
                out.push(Job {
                    job_id: r.try_get("job_id")?,
                    volume_id: r.try_get("volume_id")?,
                    target: r.try_get("target")?,
                    state: r.try_get("state")?,
                    requested_by: r.try_get("requested_by")?,
                    created_at: r.try_get("created_at")?,
                    copies: copies.iter().map(job_copy_from_row).collect::<Result<_>>()?,
                });
            }
            Ok(out)
        })
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
        self.block(async {
            let tx = self.db.begin().await?;
            let job: i64 = db::query_scalar("SELECT id FROM jobs WHERE job_id = $1")
                .bind(job_id)
                .fetch_one(&*tx)
                .await?;
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
            .execute(&*tx)
            .await?;
            let open: i64 = db::query_scalar(
                "SELECT COUNT(*) FROM job_copies WHERE job = $1 AND state NOT IN ('done', 'failed', 'cancelled')",
            )
            .bind(job)
            .fetch_one(&*tx)
            .await?;
            if open == 0 {
                let count = |state: &'static str| {
                    db::query_scalar::<i64>(
                        "SELECT COUNT(*) FROM job_copies WHERE job = $1 AND state = $2",
                    )
                    .bind(job)
                    .bind(state)
                };
                let failed = count("failed").fetch_one(&*tx).await?;
                let cancelled = count("cancelled").fetch_one(&*tx).await?;
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
                    .execute(&*tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
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
    })
}
