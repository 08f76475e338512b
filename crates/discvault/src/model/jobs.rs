//! Publishing jobs: a volume × its copies on one target, with the state of every copy and the
//! discs burned for a copy that do not hold it. How the catalog keeps them is in
//! `catalog/jobs.rs`.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Where a copy of a job is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JobCopy {
    pub copy_id: String,
    pub role: String,
    pub state: JobCopyState,
    pub attempts: u32,
    /// The disc it was burned on (an image file, a drive).
    pub medium: String,
    pub detail: String,
    /// A replacement disc for a copy that exists: the copy's state when the replacement was
    /// asked for (`damaged`, `missing` ...); empty for a new copy.
    #[serde(default)]
    pub replaces: String,
    /// Discs burned for this copy that do not hold it, with what to do with each.
    #[serde(default)]
    pub rejected: Vec<RejectedDisc>,
}

/// A disc burned for a copy of a job that does not hold the copy: the publisher failed it, or
/// discvault's read-back found damage. It may carry the copy's label, so it is named with
/// where it is and what to do with it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RejectedDisc {
    pub job_id: String,
    pub copy_id: String,
    /// Which disc of the copy (1 for the first).
    pub attempt: u32,
    /// The disc: the publisher's job id for it, the drive, the image file.
    pub disc: String,
    /// Why it does not count.
    pub reason: String,
    /// Where it is: `output stacker 2`, `reject bin`, the drive, the file.
    pub place: String,
    /// What it carries that tells it apart: the printed label, the publisher's job id.
    pub label: String,
    /// What to do with it, in a sentence.
    pub action: String,
    pub at: i64,
}

/// A copy to put in a new job.
#[derive(Debug, Clone, Default)]
pub struct NewJobCopy {
    /// The copy's row id.
    pub copy: i64,
    /// For a replacement disc of an existing copy: the copy's state now; empty for a new copy.
    pub replaces: String,
}

/// A publishing job.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
