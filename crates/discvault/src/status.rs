//! Status: what is ingested, planned, mastered, and what is on no disc yet.

use crate::model::VolumeState;
use crate::{Result, Vault};
use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Count {
    pub files: u64,
    pub bytes: u64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    pub copies: CopyCounts,
    /// Mastered volumes that fall short of the policy.
    pub shortfalls: Vec<Shortfall>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CopyCounts {
    pub total: u64,
    pub trusted: u64,
    /// Past due for inspection (still counted as active).
    pub overdue: u64,
    /// Damaged, missing, or graded "act now": to be repaired or migrated.
    pub to_migrate: u64,
}

/// A mastered volume that falls short of the policy, with what it lacks.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Shortfall {
    pub volume_id: String,
    pub trusted_copies: u64,
    pub required_copies: u32,
    pub sites: Vec<String>,
    pub required_sites: u32,
    /// Files whose only copies are on this volume's discs (split files count once per part).
    pub files: u64,
    pub problems: Vec<String>,
}

fn policy(vault: &Vault, volumes: &[crate::model::Volume]) -> Result<(CopyCounts, Vec<Shortfall>)> {
    use crate::model::CopyState;
    let now = crate::now_unix();
    let copies = vault.catalog.copies(None)?;
    let mut counts = CopyCounts {
        total: copies.len() as u64,
        ..Default::default()
    };
    let mut by_volume: std::collections::BTreeMap<&str, Vec<&crate::model::DiscCopy>> =
        Default::default();
    for c in &copies {
        let trusted = crate::copies::trusted(vault, c, now);
        if trusted {
            counts.trusted += 1;
            by_volume.entry(c.volume_id.as_str()).or_default().push(c);
        }
        if crate::inspect::active(c) && crate::inspect::due_at(vault, c) <= now {
            counts.overdue += 1;
        }
        if matches!(c.state, CopyState::Damaged | CopyState::Missing) || c.grade == "act_now" {
            counts.to_migrate += 1;
        }
    }
    let p = &crate::policy::effective(vault)?;
    // What each volume needs: the general rule, or the most any collection on it asks.
    let mut need: std::collections::BTreeMap<String, (u32, u32)> = Default::default();
    if !p.collections.is_empty() {
        for (vid, coll) in vault.catalog.volume_collections()? {
            if let Some(cp) = p.collections.get(&coll) {
                let e = need
                    .entry(vid)
                    .or_insert((cp.min_trusted_copies, cp.min_sites));
                e.0 = e.0.max(cp.min_trusted_copies);
                e.1 = e.1.max(cp.min_sites);
            }
        }
    }
    // A volume whose records were migrated onto new ones and whose copies are all retired is
    // superseded: its records are counted on the new volumes.
    let superseded: std::collections::BTreeSet<String> = {
        let migrated: std::collections::BTreeSet<String> = vault
            .catalog
            .lineage()?
            .into_iter()
            .map(|(_, old, _)| old)
            .collect();
        let mut live: std::collections::BTreeSet<&str> = Default::default();
        for c in &copies {
            if c.state != CopyState::Retired {
                live.insert(c.volume_id.as_str());
            }
        }
        migrated
            .into_iter()
            .filter(|v| !live.contains(v.as_str()))
            .collect()
    };
    let mut shortfalls = Vec::new();
    let mut short_ids = Vec::new();
    for v in volumes
        .iter()
        .filter(|v| v.state == VolumeState::Mastered && !superseded.contains(&v.volume_id))
    {
        let (min_copies, min_sites) = need
            .get(&v.volume_id)
            .copied()
            .unwrap_or((p.min_trusted_copies, p.min_sites));
        let trusted = by_volume
            .get(v.volume_id.as_str())
            .cloned()
            .unwrap_or_default();
        let mut sites: Vec<String> = trusted
            .iter()
            .map(|c| c.place.site.clone())
            .filter(|s| !s.is_empty())
            .collect();
        sites.sort();
        sites.dedup();
        let mut problems = Vec::new();
        if (trusted.len() as u32) < min_copies {
            problems.push(format!(
                "{} trusted copies of {} required",
                trusted.len(),
                min_copies
            ));
        }
        if (sites.len() as u32) < min_sites {
            problems.push(format!(
                "trusted copies in {} sites of {} required",
                sites.len(),
                min_sites
            ));
        }
        if !problems.is_empty() {
            shortfalls.push(Shortfall {
                volume_id: v.volume_id.clone(),
                trusted_copies: trusted.len() as u64,
                required_copies: min_copies,
                sites,
                required_sites: min_sites,
                files: 0,
                problems,
            });
            short_ids.push(v.id);
        }
    }
    // What each falling-short volume holds, counted in a few queries (not read record by
    // record: thousands of volumes may fall short when their checks lapse).
    let held = vault.catalog.content_counts(&short_ids)?;
    for (s, id) in shortfalls.iter_mut().zip(&short_ids) {
        s.files = held.get(id).copied().unwrap_or(0);
    }
    Ok((counts, shortfalls))
}

pub fn status(vault: &Vault) -> Result<Status> {
    let [ingested, unplanned, planned, mastered] = vault.catalog.counts()?;
    let volumes = vault.catalog.volumes()?;
    let (copies, shortfalls) = policy(vault, &volumes)?;
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
        volumes: volumes
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
        copies,
        shortfalls,
    })
}
