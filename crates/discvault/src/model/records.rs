//! The records: collections, files (one version of one file each), volumes and what they
//! contain. How rows become them is the catalog's (`catalog/records.rs`).

use super::events::agent;
use crate::digest::Digests;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a file record is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    File,
    Symlink,
}

impl FileKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FileKind::File => "file",
            FileKind::Symlink => "symlink",
        }
    }
}

/// Metadata keys that hold a retention period (保管期限).
pub const RETENTION_KEYS: &[&str] = &["retention", "保管期限"];

/// The event type of a change of collection metadata (PREMIS "metadata modification").
pub const METADATA_EVENT: &str = "metadata modification";

/// A value of a collection's metadata changed by `add --meta`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataChange {
    pub collection: String,
    pub key: String,
    /// Empty when the key had no value.
    pub old: String,
    pub new: String,
}

impl MetadataChange {
    /// The event's text: collection, key, old and new value, who changed it.
    pub fn detail(&self) -> String {
        format!(
            "collection {:?}: {} changed from {:?} to {:?} by {}",
            self.collection,
            self.key,
            self.old,
            self.new,
            agent()
        )
    }
}

/// A collection (fonds, series) of records.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collection {
    pub id: i64,
    pub name: String,
    pub fonds: String,
    pub series: String,
    pub retention: String,
    pub metadata: BTreeMap<String, String>,
    pub created_at: i64,
}

/// One version of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub id: i64,
    pub collection_id: i64,
    /// Path inside the collection, for display (non-UTF-8 bytes replaced).
    pub path: String,
    /// Path inside the collection, byte-exact.
    #[serde(with = "bytes_hex")]
    pub path_raw: Vec<u8>,
    pub version: i64,
    pub kind: FileKind,
    pub size: u64,
    pub mtime: i64,
    pub mode: u32,
    #[serde(with = "opt_bytes_hex", default)]
    pub link_target: Option<Vec<u8>>,
    /// Where the bytes are read from when mastering (the original, or the staged copy).
    #[serde(skip)]
    pub source: Option<Vec<u8>>,
    pub staged: bool,
    pub digests: Digests,
    pub current: bool,
    pub ingested_at: i64,
}

/// A file to be recorded by ingest.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub path_raw: Vec<u8>,
    pub kind: FileKind,
    pub size: u64,
    pub mtime: i64,
    pub mode: u32,
    pub link_target: Option<Vec<u8>>,
    pub source: Vec<u8>,
    pub staged: bool,
    pub digests: Digests,
}

/// A volume (one disc image, written as any number of copies).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    #[serde(skip)]
    pub id: i64,
    pub volume_id: String,
    pub plan_id: i64,
    /// Place in its plan: `seq` of `seq_count`.
    pub seq: i64,
    pub seq_count: i64,
    pub media: String,
    pub capacity_sectors: u64,
    pub payload_bytes: u64,
    pub image_bytes: u64,
    pub state: VolumeState,
    pub image_sha256: Option<String>,
    pub mastered_at: Option<i64>,
    pub format_version: i64,
    pub created_at: i64,
    /// PAR2 recovery data on the disc, in permille of the bytes it protects (0: none).
    #[serde(default)]
    pub recovery_permille: i64,
    /// Slices of each PAR2 set of the disc (of each member image, for a parity volume).
    #[serde(default)]
    pub recovery_slices: i64,
    /// A data volume holds records; a parity volume PAR2 data over its group's images.
    #[serde(default)]
    pub kind: VolumeKind,
    /// A parity volume's place among the parity volumes of its group (0, 1, ...): which
    /// recovery slices of the group's set it holds.
    #[serde(default)]
    pub parity_index: i64,
    /// The file systems of the image (format version 3 and later may carry the UDF bridge).
    #[serde(default)]
    pub file_systems: FileSystems,
}

impl Volume {
    /// Whether the volume's image carries a UDF tree: a bridge of format version 3 or later
    /// (an older volume is ISO 9660 only, whatever its row says).
    pub fn has_udf(&self) -> bool {
        self.format_version >= super::FILE_SYSTEMS_SINCE && self.file_systems.udf()
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VolumeKind {
    #[default]
    Data,
    Parity,
}

impl VolumeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VolumeKind::Data => "data",
            VolumeKind::Parity => "parity",
        }
    }
}

/// The file systems of a volume's image, chosen when it is planned and kept with it so that
/// mastering it again gives the same bytes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileSystems {
    /// ISO 9660 with Rock Ridge and Joliet only: every volume before format version 3.
    #[default]
    Iso9660,
    /// ISO 9660 with Rock Ridge and Joliet, and a UDF 1.02 file system over the same file
    /// data: Windows and macOS show the UDF tree, with names of up to 127 characters whole.
    Bridge,
}

impl FileSystems {
    pub fn as_str(self) -> &'static str {
        match self {
            FileSystems::Iso9660 => "iso9660",
            FileSystems::Bridge => "bridge",
        }
    }

    pub fn parse(s: &str) -> Option<FileSystems> {
        match s {
            "iso9660" => Some(FileSystems::Iso9660),
            "bridge" => Some(FileSystems::Bridge),
            _ => None,
        }
    }

    /// Whether the image carries a UDF tree.
    pub fn udf(self) -> bool {
        self == FileSystems::Bridge
    }
}

impl std::fmt::Display for FileSystems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VolumeState {
    Planned,
    Mastered,
}

impl VolumeState {
    pub(crate) fn parse(s: &str) -> Result<Self> {
        match s {
            "planned" => Ok(VolumeState::Planned),
            "mastered" => Ok(VolumeState::Mastered),
            _ => Err(Error::CatalogData {
                what: "volumes.state".into(),
                detail: format!("unknown state {s:?}"),
            }),
        }
    }
}

/// A file, or one part of a split file, on a volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Content {
    pub file_id: i64,
    /// 1-based part number and count; 1 of 1 for a whole file.
    pub part: u32,
    pub parts: u32,
    pub part_offset: u64,
    pub length: u64,
    /// Digests of the part's bytes (only for parts of split files, known once mastered).
    pub part_digests: Option<Digests>,
    pub lba: Option<u32>,
}

/// A volume's content with the file it belongs to.
#[derive(Debug, Clone)]
pub struct ContentEntry {
    pub content: Content,
    pub file: FileRecord,
    pub collection: String,
}

/// A volume to create, as produced by the planner.
#[derive(Debug, Clone)]
pub struct NewVolume {
    /// The id the plan promised; recording fails, changing nothing, when another plan took it.
    pub volume_id: String,
    pub payload_bytes: u64,
    pub image_bytes: u64,
    /// Recovery data: permille of the protected bytes, and slices per set.
    pub recovery_permille: i64,
    pub recovery_slices: i64,
    /// For a parity volume: the data volumes of its group, by their index in the plan, and
    /// its place among the group's parity volumes.
    pub parity_of: Option<(Vec<usize>, i64)>,
    pub contents: Vec<Content>,
    /// Volumes whose records this one takes over (a migration), with the reason.
    pub lineage: Vec<(i64, String)>,
    pub file_systems: FileSystems,
}

mod bytes_hex {
    pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s: String = serde::Deserialize::deserialize(d)?;
        hex::decode(s).map_err(serde::de::Error::custom)
    }
}

mod opt_bytes_hex {
    pub fn serialize<S: serde::Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_some(&hex::encode(v)),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        let s: Option<String> = serde::Deserialize::deserialize(d)?;
        s.map(|s| hex::decode(s).map_err(serde::de::Error::custom))
            .transpose()
    }
}
