//! Moving a whole catalog to another database: SQLite into PostgreSQL when an archive grows to
//! several stations, and back for a single PC. Rows are copied as they are (ids, digests, the
//! event chain's hashes), in one transaction on the target, and checked afterwards.

use super::{db, Catalog};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// The catalog's tables, parents before children (foreign keys).
pub const TABLES: &[&str] = &[
    "catalog_settings",
    "collections",
    "collection_metadata",
    "files",
    "plans",
    "volumes",
    "volume_contents",
    "parity_members",
    "volume_lineage",
    "sector_maps",
    "copies",
    "quality_measurements",
    "jobs",
    "job_copies",
    "job_rejects",
    "events",
    "event_head",
    "users",
    "tokens",
    "tasks",
    "webhooks",
    "deliveries",
    "sessions",
];

/// The columns of `files` (PostgreSQL adds `path_chars`, derived from `path`).
const FILE_COLUMNS: &str = "id, collection_id, path, path_raw, version, kind, size, mtime, mode, link_target, source, staged, sha256, sm3, md5, blake3, current, ingested_at";

/// What a copy moved and how it was checked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransferReport {
    /// Rows per table, the same on both sides.
    pub tables: Vec<(String, u64)>,
    /// A SHA-256 over every record's id, size and digests, the same on both sides.
    pub digests_sha256: String,
    /// Events in the audit trail, whose hash chain was verified on the target.
    pub events: u64,
}

impl Catalog {
    /// Copies every row of this catalog into `to`, which must be empty (just created: no file,
    /// volume or event), then checks the target: the row count of every table, every record's
    /// digests and the audit trail's hash chain. The target takes this catalog's vault id.
    /// Nothing is left in the target when the copy fails.
    pub fn copy_to(&self, to: &Catalog) -> Result<TransferReport> {
        let busy: i64 = db::query_scalar(
            "SELECT (SELECT COUNT(*) FROM files) + (SELECT COUNT(*) FROM volumes) + (SELECT COUNT(*) FROM events)",
        )
        .fetch_one(&to.db)?;
        if busy > 0 {
            return Err(Error::Invalid {
                field: "--to".into(),
                detail: format!(
                    "the target catalog is not empty ({busy} files, volumes and events): copy into a new, empty database"
                ),
            });
        }
        // The source does not change meanwhile: its writers wait for this transaction.
        let src = self.db.begin()?;
        let tx = to.db.begin()?;
        db::query("DELETE FROM file_totals").execute(&*tx)?;
        for t in TABLES.iter().rev() {
            db::query(&format!("DELETE FROM {t}")).execute(&*tx)?;
        }
        let mut tables = Vec::new();
        for t in TABLES {
            // The records without columns one backend derives for its own indexes.
            let select = if *t == "files" {
                format!("SELECT {FILE_COLUMNS} FROM files")
            } else if *t == "catalog_settings" {
                // Not who holds what on this catalog now.
                format!(
                    "SELECT * FROM catalog_settings WHERE {}",
                    super::claims::TRANSIENT_SETTINGS
                )
            } else {
                format!("SELECT * FROM {t}")
            };
            let rows = db::query(&select).fetch_all(&*src)?;
            for r in &rows {
                let names = r.names();
                let marks: Vec<String> = (1..=names.len()).map(|k| format!("${k}")).collect();
                let mut q = db::query(&format!(
                    "INSERT INTO {t} ({}) VALUES ({})",
                    names.join(", "),
                    marks.join(", ")
                ));
                for v in r.values() {
                    q = q.bind(v.clone());
                }
                q.execute(&*tx)?;
            }
            tables.push((t.to_string(), rows.len() as u64));
        }
        to.index_paths_after(&tx, 0)?;
        // Totals derived from the rows, counted again there.
        super::totals::recount(&*tx)?;
        tx.commit()?;
        drop(src);

        // Checked on both sides, from the databases themselves.
        for (t, n) in &tables {
            let there: i64 =
                db::query_scalar(&format!("SELECT COUNT(*) FROM {t}")).fetch_one(&to.db)?;
            if there as u64 != *n {
                return Err(Error::CatalogData {
                    what: format!("copy of table {t}"),
                    detail: format!("{n} rows copied, {there} in the target"),
                });
            }
        }
        let (here, there) = (self.digest_of_records()?, to.digest_of_records()?);
        if here != there {
            return Err(Error::CatalogData {
                what: "copy of files".into(),
                detail: format!("the records' digests differ: {here} here, {there} in the target"),
            });
        }
        let chain = to.verify_chain()?;
        if !chain.problems.is_empty() {
            return Err(Error::CatalogData {
                what: "copy of events".into(),
                detail: chain.problems.join("; "),
            });
        }
        let events = tables
            .iter()
            .find(|(t, _)| t == "events")
            .map_or(0, |x| x.1);
        Ok(TransferReport {
            tables,
            digests_sha256: here,
            events,
        })
    }

    /// A SHA-256 over every record's id, version, size and digests, in id order.
    fn digest_of_records(&self) -> Result<String> {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        let rows = db::query(
            "SELECT id, version, size, sha256, sm3, md5, blake3, path_raw FROM files ORDER BY id",
        )
        .fetch_all(&self.db)?;
        for r in &rows {
            h.update(r.text().as_bytes());
            h.update(b"\n");
        }
        Ok(hex::encode(h.finalize()))
    }
}
