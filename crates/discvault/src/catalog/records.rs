//! How the catalog's rows become records (the records themselves are the model's:
//! `model/records.rs`).

use super::db::Row;
use crate::digest::{Digests, HashAlg};
use crate::{Error, Result};

pub use crate::model::records::{
    Collection, Content, ContentEntry, FileKind, FileRecord, FileSystems, MetadataChange, NewFile,
    NewVolume, Volume, VolumeKind, VolumeState, METADATA_EVENT, RETENTION_KEYS,
};

pub(super) const FILE_COLS: &str = "f.id, f.collection_id, f.path, f.path_raw, f.version, f.kind, f.size, f.mtime, f.mode, f.link_target, f.source, f.staged, f.sha256, f.sm3, f.md5, f.blake3, f.current, f.ingested_at";
pub(super) const VOLUME_COLS: &str = "id, volume_id, plan_id, seq, seq_count, media, capacity_sectors, payload_bytes, image_bytes, state, image_sha256, mastered_at, format_version, created_at, recovery_permille, recovery_slices, kind, parity_index, file_systems";

/// [`VOLUME_COLS`] of the table aliased `alias` in a join.
pub(super) fn volume_cols(alias: &str) -> String {
    VOLUME_COLS
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn file_from_row(r: &Row) -> Result<FileRecord> {
    let kind: String = r.try_get("kind")?;
    let mut digests = Vec::new();
    for alg in HashAlg::ALL {
        let v: Option<String> = r.try_get(alg.name())?;
        if let Some(v) = v {
            digests.push((alg, v));
        }
    }
    Ok(FileRecord {
        id: r.try_get("id")?,
        collection_id: r.try_get("collection_id")?,
        path: r.try_get("path")?,
        path_raw: r.try_get("path_raw")?,
        version: r.try_get("version")?,
        kind: if kind == "symlink" {
            FileKind::Symlink
        } else {
            FileKind::File
        },
        size: r.try_get::<i64, _>("size")? as u64,
        mtime: r.try_get("mtime")?,
        mode: r.try_get::<i64, _>("mode")? as u32,
        link_target: r.try_get("link_target")?,
        source: r.try_get("source")?,
        staged: r.try_get::<i64, _>("staged")? != 0,
        digests: Digests(digests),
        current: r.try_get::<i64, _>("current")? != 0,
        ingested_at: r.try_get("ingested_at")?,
    })
}

pub(super) fn volume_from_row(r: &Row) -> Result<Volume> {
    Ok(Volume {
        id: r.try_get("id")?,
        volume_id: r.try_get("volume_id")?,
        plan_id: r.try_get("plan_id")?,
        seq: r.try_get("seq")?,
        seq_count: r.try_get("seq_count")?,
        media: r.try_get("media")?,
        capacity_sectors: r.try_get::<i64, _>("capacity_sectors")? as u64,
        payload_bytes: r.try_get::<i64, _>("payload_bytes")? as u64,
        image_bytes: r.try_get::<i64, _>("image_bytes")? as u64,
        state: VolumeState::parse(&r.try_get::<String, _>("state")?)?,
        image_sha256: r.try_get("image_sha256")?,
        mastered_at: r.try_get("mastered_at")?,
        format_version: r.try_get("format_version")?,
        created_at: r.try_get("created_at")?,
        recovery_permille: r.try_get("recovery_permille")?,
        recovery_slices: r.try_get("recovery_slices")?,
        kind: match r.try_get::<String, _>("kind")?.as_str() {
            "parity" => VolumeKind::Parity,
            _ => VolumeKind::Data,
        },
        parity_index: r.try_get("parity_index")?,
        file_systems: {
            let fs: String = r.try_get("file_systems")?;
            FileSystems::parse(&fs).ok_or_else(|| Error::CatalogData {
                what: "volumes.file_systems".into(),
                detail: format!(
                    "volume {}: unknown file systems {fs:?} (iso9660 or bridge)",
                    r.try_get::<String, _>("volume_id").unwrap_or_default()
                ),
            })?
        },
    })
}

pub(super) fn content_from_row(r: &Row) -> Result<Content> {
    let pd: Option<String> = r.try_get("part_digests")?;
    Ok(Content {
        file_id: r.try_get("file_id")?,
        part: r.try_get::<i64, _>("part")? as u32,
        parts: r.try_get::<i64, _>("parts")? as u32,
        part_offset: r.try_get::<i64, _>("part_offset")? as u64,
        length: r.try_get::<i64, _>("length")? as u64,
        part_digests: pd
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|e| Error::CatalogData {
                what: "volume_contents.part_digests".into(),
                detail: e.to_string(),
            })?,
        lba: r.try_get::<Option<i64>, _>("lba")?.map(|x| x as u32),
    })
}
