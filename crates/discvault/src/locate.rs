//! Locate: find files by any part of their path, by digest, or by collection metadata, and show
//! which volumes hold them.

use crate::catalog::{FileKind, VolumeState};
use crate::digest::HashAlg;
use crate::{Result, Vault};
use serde::{Deserialize, Serialize};

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// A hex digest of any recorded algorithm (32 or 64 hex characters).
    Digest(String),
    /// `KEY=VALUE` over collection metadata (`fonds`, `series`, `retention`, `collection` or
    /// free keys).
    Metadata(String, String),
    /// Any part of the path, case-insensitive for Latin letters.
    Path(String),
}

impl Query {
    pub fn parse(q: &str) -> Query {
        let t = q.trim();
        if (t.len() == 32 || t.len() == 64) && t.chars().all(|c| c.is_ascii_hexdigit()) {
            return Query::Digest(t.to_ascii_lowercase());
        }
        if let Some((k, v)) = t.split_once('=') {
            if !k.is_empty() && !k.contains('/') {
                return Query::Metadata(k.trim().to_string(), v.trim().to_string());
            }
        }
        Query::Path(t.to_string())
    }
}

/// Where one part of a file is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Placement {
    pub volume_id: String,
    pub part: u32,
    pub parts: u32,
    pub volume_state: VolumeState,
}

/// One file found.
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

/// Finds up to `limit` files.
pub fn locate(vault: &Vault, query: &str, limit: usize) -> Result<Vec<Found>> {
    let q = Query::parse(query);
    let mut rows = vault.catalog.find_files(&q, limit as i64)?;
    rows.sort_by(|a, b| {
        (&a.0, &a.1.path_raw, a.1.version).cmp(&(&b.0, &b.1.path_raw, b.1.version))
    });
    let mut out = Vec::new();
    for (collection, f) in rows {
        let placements = vault.catalog.placements(f.id)?;
        let state = if placements.is_empty() {
            "unplanned"
        } else if placements
            .iter()
            .all(|(v, _)| v.state == VolumeState::Mastered)
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
                .map(|(v, c)| Placement {
                    volume_id: v.volume_id,
                    part: c.part,
                    parts: c.parts,
                    volume_state: v.state,
                })
                .collect(),
        });
    }
    Ok(out)
}
