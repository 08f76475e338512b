//! The catalog: which file is on which disc, with fixity and events.
//!
//! SQLite (WAL, migrations, every change in one transaction) through [`db`], whose interface a
//! PostgreSQL backend will implement too; the SQL is kept portable. The catalog API is
//! synchronous, so the stages stay plain code that a server can call from its worker threads.

pub mod check;
pub mod copies;
pub mod db;
pub mod events;
pub mod jobs;
pub mod postgres;
pub mod schema;
pub mod sqlite;
pub mod transfer;

use events::{insert_event, NewEvent};

use crate::digest::{Digests, HashAlg};
use crate::{now_unix, Error, Result};
use db::{Db, Row};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub use db::Dialect;

/// A handle on the catalog database.
pub struct Catalog {
    db: Db,
    dialect: Dialect,
    /// SQL expression (over `copies k`) of a copy's inspection interval in days, from the
    /// vault's policy: every change of a copy stores its due date with it.
    pub(crate) due_rule: std::sync::RwLock<String>,
}

/// What a file record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    File,
    Symlink,
}

impl FileKind {
    fn as_str(self) -> &'static str {
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
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VolumeState {
    Planned,
    Mastered,
}

impl VolumeState {
    fn parse(s: &str) -> Result<Self> {
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
}

pub(crate) fn agent() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into())
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

const FILE_COLS: &str = "f.id, f.collection_id, f.path, f.path_raw, f.version, f.kind, f.size, f.mtime, f.mode, f.link_target, f.source, f.staged, f.sha256, f.sm3, f.md5, f.blake3, f.current, f.ingested_at";
const VOLUME_COLS: &str = "id, volume_id, plan_id, seq, seq_count, media, capacity_sectors, payload_bytes, image_bytes, state, image_sha256, mastered_at, format_version, created_at, recovery_permille, recovery_slices, kind, parity_index";

/// [`VOLUME_COLS`] of the table aliased `alias` in a join.
fn volume_cols(alias: &str) -> String {
    VOLUME_COLS
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn file_from_row(r: &Row) -> Result<FileRecord> {
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

fn volume_from_row(r: &Row) -> Result<Volume> {
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
    })
}

fn content_from_row(r: &Row) -> Result<Content> {
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

/// The text indexed for one- and two-character queries: every non-ASCII letter or digit is a
/// token of its own, ASCII letters and digits form words, everything else separates.
pub(crate) fn char_tokens(path: &str) -> String {
    let mut out = String::with_capacity(path.len() * 2);
    let mut in_word = false;
    for c in path.chars() {
        if c.is_ascii_alphanumeric() {
            if !in_word && !out.is_empty() {
                out.push(' ');
            }
            out.push(c);
            in_word = true;
        } else if c.is_alphanumeric() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push(c);
            in_word = false;
        } else {
            in_word = false;
        }
    }
    out
}

/// The non-ASCII letters of a path as a PostgreSQL tsvector literal, each at its position among
/// the path's [`char_tokens`] (so that a phrase of two characters matches where SQLite's
/// character index matches).
pub(crate) fn char_vector(path: &str) -> String {
    let mut out = String::new();
    for (k, t) in char_tokens(path).split(' ').enumerate() {
        let mut cs = t.chars();
        if let (Some(c), None) = (cs.next(), cs.next()) {
            if !c.is_ascii() && c != '\'' && c != '\\' {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&format!("'{c}':{}", (k + 1).min(16383)));
            }
        }
    }
    out
}

/// Display form of a raw path: UTF-8 as is, other bytes as `\xNN`.
pub fn display_path(raw: &[u8]) -> String {
    let mut out = String::new();
    for chunk in raw.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

impl Catalog {
    /// Opens (creating if needed) the catalog at `url`; a relative SQLite path is taken
    /// relative to `base`. Runs pending migrations.
    pub fn open(url: &str, base: &Path) -> Result<Catalog> {
        let db = if let Some(rest) = url.strip_prefix("sqlite:") {
            let rest = rest.trim_start_matches("//");
            let path = rest.split_once('?').map(|x| x.0).unwrap_or(rest);
            let p = Path::new(path);
            sqlite::open(&if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            })?
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            postgres::open(url)?
        } else {
            return Err(Error::Invalid {
                field: "catalog.url".into(),
                detail: format!(
                    "{:?}: use sqlite:PATH or postgres://USER@HOST[:PORT]/DATABASE",
                    postgres::redact(url)
                ),
            });
        };
        let cat = Catalog {
            dialect: db.dialect(),
            db,
            due_rule: std::sync::RwLock::new(copies::interval_sql(
                &crate::config::InspectionSection::default(),
            )),
        };
        cat.migrate()?;
        cat.ensure_vault_id()?;
        Ok(cat)
    }

    /// The vault's identity: a random UUID made when the catalog is created (or first opened by
    /// a version that knows it), carried by every disc of format version 2 or later, so that a
    /// disc of another vault is told apart from a damaged one.
    pub fn vault_id(&self) -> Result<String> {
        db::query_scalar("SELECT value FROM catalog_settings WHERE key = 'vault_id'")
            .fetch_optional(&self.db)?
            .ok_or_else(|| Error::CatalogData {
                what: "catalog_settings".into(),
                detail: "the vault has no vault_id".into(),
            })
    }

    fn ensure_vault_id(&self) -> Result<()> {
        let mut b = [0u8; 16];
        getrandom::getrandom(&mut b).map_err(|e| Error::CatalogData {
            what: "vault_id".into(),
            detail: format!("no random numbers for a new vault identity: {e}"),
        })?;
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex::encode(b);
        let id = format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        );
        db::query(
            "INSERT INTO catalog_settings (key, value) VALUES ('vault_id', $1)
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(id.as_str())
        .execute(&self.db)?;
        Ok(())
    }

    /// Takes the catalog for a change made of several transactions (add, plan, master ...)
    /// when several stations share it (PostgreSQL: a session advisory lock, let go when the
    /// process ends however it ends), waiting up to `wait` and telling `waiting` the holder
    /// once. True when taken; always true for SQLite, whose vault lock file covers it.
    pub fn take_shared_lock(
        &self,
        holder: &str,
        wait: std::time::Duration,
        waiting: &dyn Fn(&str),
    ) -> Result<bool> {
        if self.dialect != Dialect::Postgres {
            return Ok(true);
        }
        let deadline = std::time::Instant::now() + wait;
        let mut told = false;
        loop {
            let taken: i64 = db::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(postgres::STATION_LOCK)
                .fetch_one(&self.db)?;
            if taken == 1 {
                break;
            }
            if std::time::Instant::now() >= deadline {
                return Ok(false);
            }
            if !told {
                waiting(&self.shared_lock_holder()?);
                told = true;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        db::query(
            "INSERT INTO catalog_settings (key, value) VALUES ('lock_holder', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(holder)
        .execute(&self.db)?;
        Ok(true)
    }

    /// Who holds the shared catalog (see [`Catalog::take_shared_lock`]).
    pub fn shared_lock_holder(&self) -> Result<String> {
        Ok(
            db::query_scalar("SELECT value FROM catalog_settings WHERE key = 'lock_holder'")
                .fetch_optional(&self.db)?
                .unwrap_or_else(|| "another station".to_string()),
        )
    }

    /// Lets go of the shared catalog taken by [`Catalog::take_shared_lock`].
    pub fn let_go_shared_lock(&self) -> Result<()> {
        if self.dialect == Dialect::Postgres {
            db::query("DELETE FROM catalog_settings WHERE key = 'lock_holder'")
                .execute(&self.db)?;
            db::query("SELECT pg_advisory_unlock($1)")
                .bind(postgres::STATION_LOCK)
                .fetch_all(&self.db)?;
        }
        Ok(())
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Runs `f`, a part of a catalog call (a transaction, say) whose `?` and `return` end that
    /// part and not the call.
    fn scoped<T>(&self, f: impl FnOnce() -> T) -> T {
        f()
    }

    fn sql(&self, s: &str) -> String {
        let (id, blob, real) = match self.dialect {
            Dialect::Sqlite => ("INTEGER PRIMARY KEY", "BLOB", "REAL"),
            // Numbered by a trigger (schema::POSTGRES_NEXT_ID), not a sequence.
            Dialect::Postgres => ("BIGINT PRIMARY KEY", "BYTEA", "DOUBLE PRECISION"),
        };
        s.replace("{id}", id)
            .replace("{blob}", blob)
            .replace("{real}", real)
    }

    fn migrate(&self) -> Result<()> {
        let tx = self.db.begin()?;
        db::query("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            .execute(&*tx)?;
        let v: Option<i64> =
            db::query_scalar("SELECT MAX(version) FROM schema_version").fetch_one(&*tx)?;
        let v = v.unwrap_or(0);
        if v > schema::SCHEMA_VERSION {
            return Err(Error::CatalogData {
                what: "schema".into(),
                detail: format!(
                    "catalog schema version {v} is newer than this discvault knows ({}); upgrade discvault",
                    schema::SCHEMA_VERSION
                ),
            });
        }
        if self.dialect == Dialect::Postgres {
            db::query(schema::POSTGRES_NEXT_ID).execute(&*tx)?;
        }
        for (i, m) in schema::MIGRATIONS.iter().enumerate().skip(v as usize) {
            for stmt in *m {
                db::query(&self.sql(stmt)).execute(&*tx)?;
                // A table numbered by the database: on PostgreSQL, by the trigger.
                if let (Dialect::Postgres, Some(rest)) =
                    (self.dialect, stmt.trim().strip_prefix("CREATE TABLE "))
                {
                    if stmt.contains("{id}") {
                        let table: String = rest
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        db::query(&format!(
                            "CREATE TRIGGER {table}_next_id BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION discvault_next_id()"
                        ))
                        .execute(&*tx)?;
                    }
                }
            }
            let extras = match self.dialect {
                Dialect::Sqlite => schema::SQLITE_EXTRAS,
                Dialect::Postgres => schema::POSTGRES_EXTRAS,
            };
            for stmt in extras.get(i).copied().unwrap_or_default() {
                db::query(stmt).execute(&*tx)?;
            }
            if i == 1 {
                events::backfill_chain(&tx)?;
            }
            if i == 6 && self.dialect == Dialect::Postgres {
                self.index_paths_after(&tx, 0)?;
            }
            db::query("INSERT INTO schema_version (version) VALUES ($1)")
                .bind(i as i64 + 1)
                .execute(&*tx)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Finds a collection by name, creating it (and recording its metadata) if needed. Given
    /// metadata is merged into the collection's; every value changed is a "metadata
    /// modification" event (old value, new value, agent) in the same transaction. Changing a
    /// retention period ([`RETENTION_KEYS`]) of a collection with records on volumes is
    /// refused, changing nothing, unless `force`.
    pub fn ensure_collection(
        &self,
        name: &str,
        metadata: &BTreeMap<String, String>,
        force: bool,
    ) -> Result<(Collection, Vec<MetadataChange>)> {
        let before = self.collection_by_name(name)?;
        let changes: Vec<MetadataChange> = match &before {
            None => Vec::new(),
            Some(c) => metadata
                .iter()
                .filter_map(|(k, v)| {
                    let old = match k.as_str() {
                        "fonds" => c.fonds.clone(),
                        "series" => c.series.clone(),
                        "retention" => c.retention.clone(),
                        _ => c.metadata.get(k).cloned().unwrap_or_default(),
                    };
                    (&old != v).then(|| MetadataChange {
                        collection: name.to_string(),
                        key: k.clone(),
                        old,
                        new: v.clone(),
                    })
                })
                .collect(),
        };
        self.scoped(|| {
            let tx = self.db.begin()?;
            let id: Option<i64> = db::query_scalar("SELECT id FROM collections WHERE name = $1")
                .bind(name)
                .fetch_optional(&*tx)?;
            let id = match id {
                Some(id) => id,
                None => {
                    db::query_scalar(
                        "INSERT INTO collections (name, created_at) VALUES ($1, $2) RETURNING id",
                    )
                    .bind(name)
                    .bind(now_unix())
                    .fetch_one(&*tx)?
                }
            };
            let retention: Vec<&MetadataChange> = changes
                .iter()
                .filter(|c| RETENTION_KEYS.contains(&c.key.as_str()) && !c.old.is_empty())
                .collect();
            if !retention.is_empty() && !force {
                let rows = db::query(
                    "SELECT DISTINCT v.volume_id FROM volume_contents vc JOIN files f ON f.id = vc.file_id
                     JOIN volumes v ON v.id = vc.volume WHERE f.collection_id = $1 ORDER BY v.volume_id",
                )
                .bind(id)
                .fetch_all(&*tx)?;
                let on: Vec<String> = rows
                    .iter()
                    .map(|r| r.try_get::<String, _>("volume_id"))
                    .collect::<Result<_>>()?;
                if !on.is_empty() {
                    let c = retention[0];
                    return Err(Error::Invalid {
                        field: format!("--meta {}", c.key),
                        detail: format!(
                            "collection {name:?} has records on {} with {}={:?}; changing it to {:?} is refused without --force (the discs keep the old value; the next plan shows the change)",
                            on.join(", "),
                            c.key,
                            c.old,
                            c.new
                        ),
                    });
                }
            }
            for (k, v) in metadata {
                match k.as_str() {
                    "fonds" | "series" | "retention" => {
                        db::query(&format!("UPDATE collections SET {k} = $1 WHERE id = $2"))
                            .bind(v)
                            .bind(id)
                            .execute(&*tx)?;
                    }
                    _ => {
                        db::query(
                            "DELETE FROM collection_metadata WHERE collection_id = $1 AND key = $2",
                        )
                        .bind(id)
                        .bind(k)
                        .execute(&*tx)?;
                        db::query(
                            "INSERT INTO collection_metadata (collection_id, key, value) VALUES ($1, $2, $3)",
                        )
                        .bind(id)
                        .bind(k)
                        .bind(v)
                        .execute(&*tx)?;
                    }
                }
            }
            for c in &changes {
                let detail = c.detail();
                insert_event(
                    &tx,
                    &NewEvent {
                        event_type: METADATA_EVENT,
                        outcome: "success",
                        detail: &detail,
                        collection: Some(id),
                        ..Default::default()
                    },
                )?;
            }
            tx.commit()?;
            Ok::<_, Error>(())
        })?;
        let c = self
            .collection_by_name(name)?
            .ok_or_else(|| Error::CatalogData {
                what: "collections".into(),
                detail: format!("collection {name:?} vanished"),
            })?;
        Ok((c, changes))
    }

    /// The metadata changes recorded since the last plan, as their events say them.
    pub fn metadata_changes_since_last_plan(&self) -> Result<Vec<String>> {
        let rows = db::query(
            "SELECT detail FROM events WHERE event_type = $1
             AND id > COALESCE((SELECT MAX(id) FROM events WHERE event_type = 'plan'), 0) ORDER BY id",
        )
        .bind(METADATA_EVENT)
        .fetch_all(&self.db)?;
        rows.iter().map(|r| r.try_get("detail")).collect()
    }

    pub fn collection_by_name(&self, name: &str) -> Result<Option<Collection>> {
        Ok(self.collections()?.into_iter().find(|c| c.name == name))
    }

    pub fn collections(&self) -> Result<Vec<Collection>> {
        let rows = db::query(
            "SELECT id, name, fonds, series, retention, created_at FROM collections ORDER BY id",
        )
        .fetch_all(&self.db)?;
        let meta = db::query(
            "SELECT collection_id, key, value FROM collection_metadata ORDER BY collection_id, key",
        )
        .fetch_all(&self.db)?;
        let mut out = Vec::new();
        for r in rows {
            let id: i64 = r.try_get("id")?;
            let mut metadata = BTreeMap::new();
            for m in &meta {
                if m.try_get::<i64, _>("collection_id")? == id {
                    metadata.insert(m.try_get("key")?, m.try_get("value")?);
                }
            }
            out.push(Collection {
                id,
                name: r.try_get("name")?,
                fonds: r.try_get("fonds")?,
                series: r.try_get("series")?,
                retention: r.try_get("retention")?,
                metadata,
                created_at: r.try_get("created_at")?,
            });
        }
        Ok(out)
    }

    /// Current versions of every file of a collection, by raw path.
    pub fn current_files(&self, collection_id: i64) -> Result<BTreeMap<Vec<u8>, FileRecord>> {
        let rows = db::query(&format!(
            "SELECT {FILE_COLS} FROM files f WHERE f.collection_id = $1 AND f.current = 1"
        ))
        .bind(collection_id)
        .fetch_all(&self.db)?;
        rows.iter()
            .map(|r| file_from_row(r).map(|f| (f.path_raw.clone(), f)))
            .collect()
    }

    /// Records new files and new versions in one transaction, with an ingestion event.
    /// `replaces[i]` is the id of the current version that `files[i]` supersedes, if any.
    pub fn record_ingest(
        &self,
        collection_id: i64,
        files: &[(NewFile, Option<(i64, i64)>)],
        event_detail: &str,
    ) -> Result<()> {
        let tx = self.db.begin()?;
        let now = now_unix();
        let first_new: i64 =
            db::query_scalar("SELECT COALESCE(MAX(id), 0) FROM files").fetch_one(&*tx)?;
        for (f, replaces) in files {
            let version = match replaces {
                Some((old_id, old_version)) => {
                    db::query("UPDATE files SET current = 0 WHERE id = $1")
                        .bind(*old_id)
                        .execute(&*tx)?;
                    old_version + 1
                }
                None => 1,
            };
            db::query(
                "INSERT INTO files (collection_id, path, path_raw, version, kind, size, mtime, mode, link_target, source, staged, sha256, sm3, md5, blake3, current, ingested_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1, $16)",
            )
            .bind(collection_id)
            .bind(display_path(&f.path_raw))
            .bind(f.path_raw.clone())
            .bind(version)
            .bind(f.kind.as_str())
            .bind(f.size as i64)
            .bind(f.mtime)
            .bind(f.mode as i64)
            .bind(f.link_target.clone())
            .bind(f.source.clone())
            .bind(f.staged as i64)
            .bind(f.digests.get(HashAlg::Sha256).map(str::to_string))
            .bind(f.digests.get(HashAlg::Sm3).map(str::to_string))
            .bind(f.digests.get(HashAlg::Md5).map(str::to_string))
            .bind(f.digests.get(HashAlg::Blake3).map(str::to_string))
            .bind(now)
            .execute(&*tx)?;
        }
        self.index_paths_after(&tx, first_new)?;
        insert_event(
            &tx,
            &NewEvent {
                event_type: "ingestion",
                outcome: "success",
                detail: event_detail,
                collection: Some(collection_id),
                ..Default::default()
            },
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Current files that are on no volume yet, with their collection names, in collection
    /// and path order.
    /// Adds the files with ids above `first_new` to SQLite's path indexes (FTS5, fast when
    /// written in bulk and slow row by row); PostgreSQL needs nothing.
    pub(crate) fn index_paths_after(&self, tx: &db::Tx<'_>, first_new: i64) -> Result<()> {
        if self.dialect == Dialect::Postgres {
            let rows = db::query("SELECT id, path FROM files WHERE id > $1 ORDER BY id")
                .bind(first_new)
                .fetch_all(&**tx)?;
            for chunk in rows.chunks(250) {
                let values: Vec<String> = (0..chunk.len())
                    .map(|k| format!("(${}::int8, ${}::text)", 2 * k + 1, 2 * k + 2))
                    .collect();
                let sql = format!(
                    "UPDATE files f SET path_chars = v.c::tsvector FROM (VALUES {}) AS v(id, c) WHERE f.id = v.id",
                    values.join(", ")
                );
                let mut q = db::query(&sql);
                for r in chunk {
                    q = q
                        .bind(r.try_get::<i64, _>("id")?)
                        .bind(char_vector(&r.try_get::<String, _>("path")?));
                }
                q.execute(&**tx)?;
            }
            return Ok(());
        }
        // The path indexes of the rows just added, one statement each: FTS5 is
        // fast when written in bulk and slow row by row.
        db::query(
            "INSERT INTO files_path_index (rowid, path) SELECT id, path FROM files WHERE id > $1",
        )
        .bind(first_new)
        .execute(&**tx)?;
        let rows = db::query("SELECT id, path FROM files WHERE id > $1 ORDER BY id")
            .bind(first_new)
            .fetch_all(&**tx)?;
        db::query("CREATE TEMP TABLE IF NOT EXISTS new_char_tokens (id INTEGER PRIMARY KEY, chars TEXT NOT NULL)")
            .execute(&**tx)?;
        for chunk in rows.chunks(250) {
            let values: Vec<String> = (0..chunk.len())
                .map(|k| format!("(${}, ${})", 2 * k + 1, 2 * k + 2))
                .collect();
            let sql = format!(
                "INSERT INTO new_char_tokens (id, chars) VALUES {}",
                values.join(", ")
            );
            let mut q = db::query(&sql);
            for r in chunk {
                q = q
                    .bind(r.try_get::<i64, _>("id")?)
                    .bind(char_tokens(&r.try_get::<String, _>("path")?));
            }
            q.execute(&**tx)?;
        }
        for stmt in [
            "INSERT INTO files_char_index (rowid, chars) SELECT id, chars FROM new_char_tokens",
            "DELETE FROM new_char_tokens",
        ] {
            db::query(stmt).execute(&**tx)?;
        }
        Ok(())
    }

    pub fn unplanned_files(&self) -> Result<Vec<(String, FileRecord)>> {
        let rows = db::query(&format!(
            "SELECT {FILE_COLS}, c.name AS collection FROM files f JOIN collections c ON c.id = f.collection_id
             WHERE f.current = 1 AND NOT EXISTS (SELECT 1 FROM volume_contents vc WHERE vc.file_id = f.id)
             ORDER BY c.name, f.path_raw"
        ))
        .fetch_all(&self.db)?;
        rows.iter()
            .map(|r| Ok((r.try_get("collection")?, file_from_row(r)?)))
            .collect()
    }

    /// Creates a plan and its volumes in one transaction; returns the volumes.
    pub fn record_plan(
        &self,
        media: &crate::media::MediaProfile,
        reserve_permille: i64,
        prefix: &str,
        volumes: &[NewVolume],
    ) -> Result<Vec<Volume>> {
        let ids = self.scoped(|| {
            let tx = self.db.begin()?;
            let now = crate::planning_time();
            let plan_id: i64 = db::query_scalar(
                "INSERT INTO plans (media, capacity_sectors, reserve_permille, volume_count, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(&media.name)
            .bind(media.sectors as i64)
            .bind(reserve_permille)
            .bind(volumes.len() as i64)
            .bind(now)
            .fetch_one(&*tx)?;
            let last: Option<i64> = db::query_scalar("SELECT MAX(id) FROM volumes")
                .fetch_one(&*tx)?;
            let mut number = last.unwrap_or(0);
            let mut ids = Vec::new();
            for (i, v) in volumes.iter().enumerate() {
                number += 1;
                let volume_id = format!("{prefix}-{number:06}");
                if v.volume_id != volume_id {
                    // The transaction is rolled back: nothing of this plan is recorded.
                    return Err(Error::CatalogData {
                        what: "volumes".into(),
                        detail: format!(
                            "planned {} would be recorded as {volume_id}: another plan was recorded meanwhile; plan again",
                            v.volume_id
                        ),
                    });
                }
                let id: i64 = db::query_scalar(
                    "INSERT INTO volumes (id, volume_id, plan_id, seq, seq_count, media, capacity_sectors, payload_bytes, image_bytes, state, format_version, created_at, recovery_permille, recovery_slices, kind, parity_index)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'planned', $10, $11, $12, $13, $14, $15) RETURNING id",
                )
                .bind(number)
                .bind(&volume_id)
                .bind(plan_id)
                .bind(i as i64 + 1)
                .bind(volumes.len() as i64)
                .bind(&media.name)
                .bind(media.sectors as i64)
                .bind(v.payload_bytes as i64)
                .bind(v.image_bytes as i64)
                .bind(crate::model::FORMAT_VERSION)
                .bind(now)
                .bind(v.recovery_permille)
                .bind(v.recovery_slices)
                .bind(if v.parity_of.is_some() { "parity" } else { "data" })
                .bind(v.parity_of.as_ref().map_or(0, |p| p.1))
                .fetch_one(&*tx)?;
                if let Some((members, _)) = &v.parity_of {
                    for (pos, m) in members.iter().enumerate() {
                        let member = *ids.get(*m).ok_or_else(|| Error::CatalogData {
                            what: "plan".into(),
                            detail: format!("parity volume {volume_id} names a later volume"),
                        })?;
                        db::query(
                            "INSERT INTO parity_members (parity, member, position) VALUES ($1, $2, $3)",
                        )
                        .bind(id)
                        .bind(member)
                        .bind(pos as i64)
                        .execute(&*tx)?;
                    }
                }
                for c in &v.contents {
                    db::query(
                        "INSERT INTO volume_contents (volume, file_id, part, parts, part_offset, length) VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(id)
                    .bind(c.file_id)
                    .bind(c.part as i64)
                    .bind(c.parts as i64)
                    .bind(c.part_offset as i64)
                    .bind(c.length as i64)
                    .execute(&*tx)?;
                }
                for (old, reason) in &v.lineage {
                    db::query(
                        "INSERT INTO volume_lineage (volume, source_volume, reason) VALUES ($1, $2, $3)",
                    )
                    .bind(id)
                    .bind(*old)
                    .bind(reason)
                    .execute(&*tx)?;
                    let old_id: String =
                        db::query_scalar("SELECT volume_id FROM volumes WHERE id = $1")
                            .bind(*old)
                            .fetch_one(&*tx)?;
                    let detail = format!(
                        "records of {old_id} planned onto {volume_id} ({}): {reason}",
                        media.name
                    );
                    insert_event(
                        &tx,
                        &NewEvent {
                            event_type: "migration",
                            outcome: "success",
                            detail: &detail,
                            volume: Some(id),
                            ..Default::default()
                        },
                    )?;
                }
                ids.push(id);
            }
            let detail = format!(
                "plan {plan_id}: {} volumes on {} ({} sectors), reserve {}‰",
                volumes.len(),
                media.name,
                media.sectors,
                reserve_permille
            );
            insert_event(
                &tx,
                &NewEvent {
                    event_type: "plan",
                    outcome: "success",
                    detail: &detail,
                    ..Default::default()
                },
            )?;
            tx.commit()?;
            Ok::<_, Error>(ids)
        })?;
        let all = self.volumes()?;
        Ok(all.into_iter().filter(|v| ids.contains(&v.id)).collect())
    }

    pub fn volumes(&self) -> Result<Vec<Volume>> {
        let rows = db::query(&format!("SELECT {VOLUME_COLS} FROM volumes ORDER BY id"))
            .fetch_all(&self.db)?;
        rows.iter().map(volume_from_row).collect()
    }

    pub fn volume(&self, volume_id: &str) -> Result<Volume> {
        let row = db::query(&format!(
            "SELECT {VOLUME_COLS} FROM volumes WHERE volume_id = $1"
        ))
        .bind(volume_id)
        .fetch_optional(&self.db)?;
        match row {
            Some(r) => volume_from_row(&r),
            None => Err(Error::UnknownVolume(volume_id.to_string())),
        }
    }

    /// Contents of a volume with their files, in disc path order.
    pub fn volume_contents(&self, volume: &Volume) -> Result<Vec<ContentEntry>> {
        let rows = db::query(&format!(
            "SELECT vc.file_id, vc.part, vc.parts, vc.part_offset, vc.length, vc.part_digests, vc.lba, {FILE_COLS}, c.name AS collection
             FROM volume_contents vc JOIN files f ON f.id = vc.file_id JOIN collections c ON c.id = f.collection_id
             WHERE vc.volume = $1 ORDER BY c.name, f.path_raw, vc.part"
        ))
        .bind(volume.id)
        .fetch_all(&self.db)?;
        rows.iter()
            .map(|r| {
                Ok(ContentEntry {
                    content: content_from_row(r)?,
                    file: file_from_row(r)?,
                    collection: r.try_get("collection")?,
                })
            })
            .collect()
    }

    /// Where every part of a file is: (volume, content) pairs in part order.
    pub fn placements(&self, file_id: i64) -> Result<Vec<(Volume, Content)>> {
        let rows = db::query(
            "SELECT vc.volume, vc.file_id, vc.part, vc.parts, vc.part_offset, vc.length, vc.part_digests, vc.lba
             FROM volume_contents vc WHERE vc.file_id = $1 ORDER BY vc.part, vc.volume",
        )
        .bind(file_id)
        .fetch_all(&self.db)?;
        let mut out = Vec::new();
        for r in rows {
            let vid: i64 = r.try_get("volume")?;
            let v = db::query(&format!("SELECT {VOLUME_COLS} FROM volumes WHERE id = $1"))
                .bind(vid)
                .fetch_one(&self.db)?;
            out.push((volume_from_row(&v)?, content_from_row(&r)?));
        }
        Ok(out)
    }

    /// Records a mastered volume: image digest and size, data extents and part digests.
    pub fn record_master(
        &self,
        volume: &Volume,
        image_sha256: &str,
        image_bytes: u64,
        contents: &[Content],
        detail: &str,
    ) -> Result<()> {
        let tx = self.db.begin()?;
        db::query(
            "UPDATE volumes SET state = 'mastered', image_sha256 = $1, image_bytes = $2, mastered_at = $3 WHERE id = $4",
        )
        .bind(image_sha256)
        .bind(image_bytes as i64)
        .bind(now_unix())
        .bind(volume.id)
        .execute(&*tx)?;
        for c in contents {
            db::query(
                "UPDATE volume_contents SET lba = $1, part_digests = $2 WHERE volume = $3 AND file_id = $4 AND part = $5",
            )
            .bind(c.lba.map(|x| x as i64))
            .bind(c.part_digests.as_ref().map(|d| serde_json::to_string(d).unwrap()))
            .bind(volume.id)
            .bind(c.file_id)
            .bind(c.part as i64)
            .execute(&*tx)?;
        }
        insert_event(
            &tx,
            &NewEvent {
                event_type: "creation",
                outcome: "success",
                detail,
                volume: Some(volume.id),
                ..Default::default()
            },
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Appends an event.
    pub fn add_event(
        &self,
        event_type: &str,
        outcome: &str,
        detail: &str,
        volume: Option<&Volume>,
    ) -> Result<()> {
        let tx = self.db.begin()?;
        insert_event(
            &tx,
            &NewEvent {
                event_type,
                outcome,
                detail,
                volume: volume.map(|v| v.id),
                ..Default::default()
            },
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The data volumes a parity volume covers, in their order in its PAR2 set.
    pub fn parity_members(&self, parity: &Volume) -> Result<Vec<Volume>> {
        let cols = volume_cols("v");
        let rows = db::query(&format!(
            "SELECT {cols} FROM parity_members p JOIN volumes v ON v.id = p.member WHERE p.parity = $1 ORDER BY p.position"
        ))
        .bind(parity.id)
        .fetch_all(&self.db)?;
        rows.iter().map(volume_from_row).collect()
    }

    /// The parity volumes of the group that holds `member`, in their order (none for a volume
    /// without a parity group).
    pub fn parity_of(&self, member: &Volume) -> Result<Vec<Volume>> {
        let cols = volume_cols("v");
        let row = db::query(&format!(
            "SELECT {cols} FROM parity_members p JOIN volumes v ON v.id = p.parity WHERE p.member = $1 ORDER BY v.parity_index"
        ))
        .bind(member.id)
        .fetch_all(&self.db)?;
        row.iter().map(volume_from_row).collect()
    }

    /// Migration lineage: (new volume id, source volume id, reason), oldest first.
    pub fn lineage(&self) -> Result<Vec<(String, String, String)>> {
        let rows = db::query(
            "SELECT n.volume_id AS new_id, o.volume_id AS old_id, l.reason FROM volume_lineage l
             JOIN volumes n ON n.id = l.volume JOIN volumes o ON o.id = l.source_volume
             ORDER BY n.id, o.id",
        )
        .fetch_all(&self.db)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("new_id")?,
                    r.try_get("old_id")?,
                    r.try_get("reason")?,
                ))
            })
            .collect()
    }

    /// Which collections have records on which volumes: (volume id, collection name).
    pub fn volume_collections(&self) -> Result<Vec<(String, String)>> {
        let rows = db::query(
            "SELECT DISTINCT v.volume_id, c.name FROM volume_contents vc
             JOIN volumes v ON v.id = vc.volume JOIN files f ON f.id = vc.file_id
             JOIN collections c ON c.id = f.collection_id",
        )
        .fetch_all(&self.db)?;
        rows.iter()
            .map(|r| Ok((r.try_get("volume_id")?, r.try_get("name")?)))
            .collect()
    }

    /// Points files at staged copies of their bytes (read back from a disc for a migration),
    /// in one transaction.
    pub fn set_staged_sources(&self, files: &[(i64, Vec<u8>)]) -> Result<()> {
        let tx = self.db.begin()?;
        for (id, source) in files {
            db::query("UPDATE files SET source = $1, staged = 1 WHERE id = $2")
                .bind(source.clone())
                .bind(*id)
                .execute(&*tx)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records a read-back check: the scan's stored state (sector map and findings, JSON) under
    /// its key, when there is one, and a fixity-check event, in one transaction.
    pub fn record_fixity_check(
        &self,
        volume: &Volume,
        scan: Option<(&str, &str)>,
        outcome: &str,
        detail: &str,
    ) -> Result<()> {
        let tx = self.db.begin()?;
        if let Some((key, map)) = scan {
            db::query(
                "INSERT INTO sector_maps (scan_key, volume, map, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (scan_key) DO UPDATE SET volume = excluded.volume, map = excluded.map, updated_at = excluded.updated_at",
            )
            .bind(key)
            .bind(volume.id)
            .bind(map)
            .bind(crate::now_unix())
            .execute(&*tx)?;
        }
        insert_event(
            &tx,
            &NewEvent {
                event_type: "fixity check",
                outcome,
                detail,
                volume: Some(volume.id),
                ..Default::default()
            },
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The stored state of the last scan under a key: (volume id, JSON).
    pub fn sector_map(&self, key: &str) -> Result<Option<(String, String)>> {
        let row = db::query(
            "SELECT v.volume_id, m.map FROM sector_maps m JOIN volumes v ON v.id = m.volume WHERE m.scan_key = $1",
        )
        .bind(key)
        .fetch_optional(&self.db)?;
        row.map(|r| Ok((r.try_get("volume_id")?, r.try_get("map")?)))
            .transpose()
    }

    /// Files matching a query (see `locate`), with their collection names.
    pub(crate) fn find_files(
        &self,
        query: &crate::model::Query,
        limit: i64,
        all_versions: bool,
    ) -> Result<Vec<(String, FileRecord)>> {
        use crate::model::Query;
        // Every version of a file, or only the current one.
        let cur = if all_versions {
            ""
        } else {
            "f.current = 1 AND "
        };
        let and_cur = if all_versions {
            ""
        } else {
            " AND f.current = 1"
        };
        let base = format!(
            "SELECT {FILE_COLS}, c.name AS collection FROM files f JOIN collections c ON c.id = f.collection_id"
        );
        let rows = match query {
            Query::Digest(d) => {
                db::query(&format!(
                    "{base} WHERE {cur}(f.sha256 = $1 OR f.sm3 = $1 OR f.md5 = $1 OR f.blake3 = $1) ORDER BY c.name, f.path_raw, f.version LIMIT $2"
                ))
                .bind(d.to_ascii_lowercase())
                .bind(limit)
                .fetch_all(&self.db)?
            }
            Query::Metadata(k, v) => {
                db::query(&format!(
                    "{base} WHERE {cur}(EXISTS (SELECT 1 FROM collection_metadata m WHERE m.collection_id = c.id AND m.key = $1 AND m.value = $2)
                       OR ($1 = 'fonds' AND c.fonds = $2) OR ($1 = 'series' AND c.series = $2) OR ($1 = 'retention' AND c.retention = $2) OR ($1 = 'collection' AND c.name = $2))
                     ORDER BY c.name, f.path_raw LIMIT $3"
                ))
                .bind(k)
                .bind(v)
                .bind(limit)
                .fetch_all(&self.db)?
            }
            Query::Path(p) if self.dialect == Dialect::Sqlite && p.chars().count() >= 3 => {
                // The trigram index answers any substring of three characters or more;
                // rows come in id order, so LIMIT stops the search early.
                let phrase = format!("\"{}\"", p.replace('"', "\"\""));
                db::query(&format!(
                    "SELECT {FILE_COLS}, c.name AS collection FROM files_path_index ix
                     JOIN files f ON f.id = ix.rowid JOIN collections c ON c.id = f.collection_id
                     WHERE files_path_index MATCH $1{and_cur} LIMIT $2"
                ))
                .bind(phrase)
                .bind(limit)
                .fetch_all(&self.db)?
            }
            Query::Path(p) if self.dialect == Dialect::Sqlite && !p.is_empty() && p.chars().all(|c| !c.is_ascii() && c.is_alphanumeric()) => {
                // One or two Chinese characters: a phrase of single-character tokens.
                let phrase = format!("\"{}\"", char_tokens(p));
                db::query(&format!(
                    "SELECT {FILE_COLS}, c.name AS collection FROM files_char_index ix
                     JOIN files f ON f.id = ix.rowid JOIN collections c ON c.id = f.collection_id
                     WHERE files_char_index MATCH $1{and_cur} LIMIT $2"
                ))
                .bind(phrase)
                .bind(limit)
                .fetch_all(&self.db)?
            }
            Query::Path(p) if self.dialect == Dialect::Postgres && !p.is_empty() && p.chars().count() <= 2 && p.chars().all(|c| !c.is_ascii() && c.is_alphanumeric()) => {
                // One or two Chinese characters: a phrase over the path's characters.
                let phrase: Vec<String> = p.chars().map(|c| format!("'{c}'")).collect();
                db::query(&format!(
                    "{base} WHERE {cur}f.path_chars @@ $1::text::tsquery LIMIT $2"
                ))
                .bind(phrase.join(" <-> "))
                .bind(limit)
                .fetch_all(&self.db)?
            }
            Query::Path(p) => {
                let like = format!(
                    "%{}%",
                    p.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
                );
                let op = match self.dialect {
                    Dialect::Sqlite => "LIKE",
                    Dialect::Postgres => "ILIKE",
                };
                db::query(&format!(
                    "{base} WHERE {cur}f.path {op} $1 ESCAPE '\\' LIMIT $2"
                ))
                .bind(like)
                .bind(limit)
                .fetch_all(&self.db)?
            }
        };
        let mut out: Vec<(String, FileRecord)> = rows
            .iter()
            .map(|r| Ok((r.try_get("collection")?, file_from_row(r)?)))
            .collect::<Result<_>>()?;
        // A piece of a collection's name finds the files of that collection too (the
        // collection is the first folder of a record's path on a disc).
        if let Query::Path(p) = query {
            let needle = p.to_lowercase();
            let names: Vec<(i64, String)> = db::query("SELECT id, name FROM collections")
                .fetch_all(&self.db)?
                .iter()
                .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
                .collect::<Result<_>>()?;
            let seen: std::collections::HashSet<i64> = out.iter().map(|(_, f)| f.id).collect();
            for (id, name) in names {
                if needle.is_empty()
                    || !name.to_lowercase().contains(&needle)
                    || out.len() as i64 >= limit
                {
                    continue;
                }
                let more = db::query(&format!(
                    "{base} WHERE {cur}f.collection_id = $1 ORDER BY f.path_raw, f.version LIMIT $2"
                ))
                .bind(id)
                .bind(limit)
                .fetch_all(&self.db)?;
                for r in &more {
                    let f = file_from_row(r)?;
                    if !seen.contains(&f.id) && (out.len() as i64) < limit {
                        out.push((r.try_get("collection")?, f));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Counts for `status`: (files, bytes) current; unplanned; on planned volumes; on mastered.
    pub(crate) fn counts(&self) -> Result<[(u64, u64); 4]> {
        let q = |w: &'static str| {
            format!(
                "SELECT COUNT(*), COALESCE(SUM(f.size), 0) FROM files f WHERE f.current = 1 {w}"
            )
        };
        let mut out = [(0u64, 0u64); 4];
        let wheres = [
            "",
            "AND NOT EXISTS (SELECT 1 FROM volume_contents vc WHERE vc.file_id = f.id)",
            "AND EXISTS (SELECT 1 FROM volume_contents vc JOIN volumes v ON v.id = vc.volume WHERE vc.file_id = f.id AND v.state = 'planned')",
            "AND EXISTS (SELECT 1 FROM volume_contents vc JOIN volumes v ON v.id = vc.volume WHERE vc.file_id = f.id AND v.state = 'mastered')",
        ];
        for (i, w) in wheres.iter().enumerate() {
            let r = db::query(&q(w)).fetch_one(&self.db)?;
            out[i] = (
                r.try_get::<i64, _>(0)? as u64,
                r.try_get::<i64, _>(1)? as u64,
            );
        }
        Ok(out)
    }

    /// Every file that is on a volume numbered up to `max_volume`, for the catalog snapshot.
    pub(crate) fn files_on_volumes_upto(&self, max_volume: i64) -> Result<Vec<FileRecord>> {
        let rows = db::query(&format!(
            "SELECT {FILE_COLS} FROM files f WHERE EXISTS (SELECT 1 FROM volume_contents vc WHERE vc.file_id = f.id AND vc.volume <= $1) ORDER BY f.id"
        ))
        .bind(max_volume)
        .fetch_all(&self.db)?;
        rows.iter().map(file_from_row).collect()
    }

    /// Contents of every volume numbered up to `max_volume`: (volume id text, content).
    pub(crate) fn contents_upto(&self, max_volume: i64) -> Result<Vec<(String, Content)>> {
        let rows = db::query(
            "SELECT v.volume_id, vc.file_id, vc.part, vc.parts, vc.part_offset, vc.length, vc.part_digests, vc.lba
             FROM volume_contents vc JOIN volumes v ON v.id = vc.volume WHERE vc.volume <= $1 ORDER BY vc.volume, vc.file_id, vc.part",
        )
        .bind(max_volume)
        .fetch_all(&self.db)?;
        rows.iter()
            .map(|r| Ok((r.try_get("volume_id")?, content_from_row(r)?)))
            .collect()
    }

    pub fn close(self) {
        drop(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_tokens_split_chinese_and_keep_words() {
        assert_eq!(
            char_tokens("全宗-J001/卷003/文书-000001-会议纪要.pdf"),
            "全 宗 J001 卷 003 文 书 000001 会 议 纪 要 pdf"
        );
        assert_eq!(char_tokens("a b"), "a b");
        assert_eq!(char_tokens(""), "");
    }

    #[test]
    fn char_vectors_keep_the_positions_of_the_tokens() {
        // 全 宗 J001 卷 003: the ASCII words hold their positions, so 宗 and 卷 are not adjacent.
        assert_eq!(
            char_vector("全宗-J001/卷003/会议.pdf"),
            "'全':1 '宗':2 '卷':4 '会':6 '议':7"
        );
        assert_eq!(char_vector("abc/d.txt"), "");
    }

    #[test]
    fn display_path_escapes_invalid_bytes() {
        assert_eq!(display_path(b"a\xff/\xe6\x96\x87"), "a\\xFF/文");
        assert_eq!(display_path(b"ok-\xff\xfe"), "ok-\\xFF\\xFE");
        assert_eq!(display_path("文".as_bytes()), "文");
    }
}
