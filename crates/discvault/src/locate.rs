//! Locate: find files by any part of their path, by digest, or by collection metadata, and show
//! which volumes hold them.

use crate::copies::{self, CopyView};
use crate::digest::HashAlg;
use crate::model::{FileKind, VolumeState};
use crate::{Result, Vault};
use serde::{Deserialize, Serialize};

pub use crate::model::Query;

/// Where one part of a file is: its volume and that volume's copies.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Placement {
    pub volume_id: String,
    pub part: u32,
    pub parts: u32,
    pub volume_state: VolumeState,
    pub copies: Vec<CopyView>,
}

/// The answer to `locate --barcode`: the copy, its volume, and what is on it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BarcodeAnswer {
    pub copy: CopyView,
    pub volume_state: VolumeState,
    pub seq: i64,
    pub seq_count: i64,
    pub files: u64,
    pub payload_bytes: u64,
    pub collections: Vec<String>,
    /// The volume's other copies.
    pub other_copies: Vec<CopyView>,
}

/// Finds a copy by its barcode (or copy id, or RFID tag id).
pub fn locate_barcode(vault: &Vault, code: &str) -> Result<BarcodeAnswer> {
    let copy = vault.catalog.copy(code)?;
    let volume = vault.catalog.volume(&copy.volume_id)?;
    let contents = vault.catalog.volume_contents(&volume)?;
    let mut collections: Vec<String> = contents.iter().map(|e| e.collection.clone()).collect();
    collections.dedup();
    let other_copies = copies::list(vault, Some(&volume.volume_id))?
        .into_iter()
        .filter(|c| c.copy.copy_id != copy.copy_id)
        .collect();
    Ok(BarcodeAnswer {
        copy: copies::view(vault, copy),
        volume_state: volume.state,
        seq: volume.seq,
        seq_count: volume.seq_count,
        files: contents
            .iter()
            .filter(|e| e.file.kind == FileKind::File)
            .count() as u64,
        payload_bytes: volume.payload_bytes,
        collections,
        other_copies,
    })
}

/// One file found.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Found {
    pub collection: String,
    pub path: String,
    pub version: i64,
    pub current: bool,
    pub kind: FileKind,
    pub size: u64,
    pub sha256: Option<String>,
    /// `unplanned`, `planned` or `mastered` (the least advanced of its parts).
    pub state: String,
    pub volumes: Vec<Placement>,
}

/// Finds up to `limit` files (their current versions).
pub fn locate(vault: &Vault, query: &str, limit: usize) -> Result<Vec<Found>> {
    locate_versions(vault, query, limit, false)
}

/// Finds up to `limit` files; with `all_versions`, every version of each (an older version
/// may be on a disc while the current one is not yet).
pub fn locate_versions(
    vault: &Vault,
    query: &str,
    limit: usize,
    all_versions: bool,
) -> Result<Vec<Found>> {
    let q = Query::parse(query);
    let mut rows = vault.catalog.find_files(&q, limit as i64, all_versions)?;
    rows.sort_by(|a, b| {
        (&a.0, &a.1.path_raw, a.1.version).cmp(&(&b.0, &b.1.path_raw, b.1.version))
    });
    // Placements and copies for the whole list at once: a query per hundred results, not
    // one per result (round trips are what a server-side catalog pays for).
    let ids: Vec<i64> = rows.iter().map(|(_, f)| f.id).collect();
    let mut placements_of = vault.catalog.placements_of(&ids)?;
    let mut volume_ids: Vec<&str> = placements_of
        .values()
        .flatten()
        .map(|(v, ..)| v.as_str())
        .collect();
    volume_ids.sort_unstable();
    volume_ids.dedup();
    let now = crate::now_unix();
    let copies_of: std::collections::HashMap<String, Vec<CopyView>> = vault
        .catalog
        .copies_of_volumes(&volume_ids)?
        .into_iter()
        .map(|(v, cs)| {
            let views = cs.into_iter().map(|c| copies::view_at(vault, c, now));
            (v, views.collect())
        })
        .collect();
    let mut out = Vec::new();
    for (collection, f) in rows {
        let placements = placements_of.remove(&f.id).unwrap_or_default();
        let state = if placements.is_empty() {
            "unplanned"
        } else if placements
            .iter()
            .all(|(_, state, ..)| *state == VolumeState::Mastered)
        {
            "mastered"
        } else {
            "planned"
        };
        out.push(Found {
            collection,
            path: f.path.clone(),
            version: f.version,
            current: f.current,
            kind: f.kind,
            size: f.size,
            sha256: f.digests.get(HashAlg::Sha256).map(str::to_string),
            state: state.into(),
            volumes: placements
                .into_iter()
                .map(|(volume_id, volume_state, part, parts)| Placement {
                    copies: copies_of.get(&volume_id).cloned().unwrap_or_default(),
                    volume_id,
                    part,
                    parts,
                    volume_state,
                })
                .collect(),
        });
    }
    Ok(out)
}
