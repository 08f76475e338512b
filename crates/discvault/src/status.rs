//! Status: what is ingested, planned, mastered, and what is on no disc yet.

use crate::catalog::VolumeState;
use crate::{Result, Vault};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Count {
    pub files: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VolumeSummary {
    pub volume_id: String,
    pub state: VolumeState,
    pub media: String,
    pub seq: i64,
    pub seq_count: i64,
    pub payload_bytes: u64,
    pub image_bytes: u64,
    pub image_sha256: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Status {
    pub vault: String,
    pub collections: Vec<String>,
    /// Current versions of all files.
    pub ingested: Count,
    /// On no volume yet.
    pub unplanned: Count,
    /// On a planned volume that has no image yet.
    pub planned: Count,
    /// On a mastered volume.
    pub mastered: Count,
    pub volumes: Vec<VolumeSummary>,
}

pub fn status(vault: &Vault) -> Result<Status> {
    let [ingested, unplanned, planned, mastered] = vault.catalog.counts()?;
    let c = |(files, bytes)| Count { files, bytes };
    Ok(Status {
        vault: vault.root.display().to_string(),
        collections: vault
            .catalog
            .collections()?
            .into_iter()
            .map(|c| c.name)
            .collect(),
        ingested: c(ingested),
        unplanned: c(unplanned),
        planned: c(planned),
        mastered: c(mastered),
        volumes: vault
            .catalog
            .volumes()?
            .into_iter()
            .map(|v| VolumeSummary {
                volume_id: v.volume_id,
                state: v.state,
                media: v.media,
                seq: v.seq,
                seq_count: v.seq_count,
                payload_bytes: v.payload_bytes,
                image_bytes: v.image_bytes,
                image_sha256: v.image_sha256,
            })
            .collect(),
    })
}
