//! The catalog: which file is on which disc, with fixity and events.
//!
//! SQLite or PostgreSQL (migrations, every change in one transaction) through [`db`]; the SQL
//! is written once for both. The catalog API is synchronous, so the stages stay plain code that
//! a server can call from its worker threads. This file opens the catalog, migrates it and
//! holds the vault's identity; the stations' holds are in `claims.rs`. The records are the
//! model's ([`crate::model`]): `records.rs` makes them from rows (and keeps their old paths,
//! `catalog::Volume` ...), their queries are in `files.rs`, `volumes.rs`, `search.rs`,
//! `copies.rs`, `jobs.rs` and `events.rs`.

pub mod accounts;
pub mod check;
pub mod claims;
pub mod copies;
pub mod db;
pub mod events;
mod files;
pub mod jobs;
mod policy;
pub mod postgres;
mod records;
pub mod schema;
mod search;
pub mod search_cache;
pub mod sqlite;
pub mod tasks;
mod totals;
pub mod transfer;
mod volumes;
pub mod webhooks;

use events::insert_event;

use crate::model::NewEvent;
use crate::{now_unix, Error, Result};
use db::Db;
use std::path::Path;

pub use db::Dialect;
pub use policy::PolicyWrite;

/// A handle on the catalog database.
pub struct Catalog {
    db: Db,
    dialect: Dialect,
    /// SQL expression (over `copies k`) of a copy's inspection interval in days, from the
    /// vault's policy: every change of a copy stores its due date with it.
    pub(crate) due_rule: std::sync::RwLock<String>,
    /// What this process keeps of the catalog between calls, shared by a server's
    /// connections ([`Catalog::share`]).
    shared: std::sync::Arc<Shared>,
}

/// What a long-running process keeps of its catalog in memory, shared by its connections.
#[derive(Default)]
pub struct Shared {
    /// PostgreSQL's paths for locate (see `search_cache.rs`); none in a command's short run.
    search_cache: Option<search_cache::SearchCache>,
    /// How many contents each volume holds, as read (a volume's contents are recorded once,
    /// with the volume, and never change): a server's status counts them once.
    content_counts: std::sync::Mutex<std::collections::HashMap<i64, u64>>,
}

pub use records::*;
pub use search::display_path;

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
            shared: Default::default(),
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
                            "CREATE TRIGGER {table}_next_id BEFORE INSERT ON {table} FOR EACH ROW WHEN (NEW.id IS NULL) EXECUTE FUNCTION discvault_next_id()"
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
            if i == 7 {
                totals::recount(&*tx)?;
            }
            db::query("INSERT INTO schema_version (version) VALUES ($1)")
                .bind(i as i64 + 1)
                .execute(&*tx)?;
        }
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

    pub fn close(self) {
        drop(self);
    }
}
