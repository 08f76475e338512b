//! Holds on a catalog that several stations share (PostgreSQL), for work made of several
//! transactions:
//! - the station lock, held shared by every operation that claims what it works on (add, plan,
//!   master, publish, repair), and whole by an operation that changes everything at once
//!   (migrate, a catalog copy), which so waits for the others and makes them wait;
//! - claims on one thing each (a volume being mastered, published or repaired; the ingest; the
//!   plan): one holder at a time across all stations, so that two stations never master,
//!   publish or repair the same volume at once, and other work goes on beside it.
//!
//! All are session advisory locks: PostgreSQL lets them go when the process ends however it
//! ends, so a killed station blocks nobody. Who holds what is written beside them in
//! `catalog_settings` (`holder:<backend pid>`, `claim:<key>`) for those who wait; rows left by
//! a killed process are ignored, as its locks are gone. On SQLite (one PC) the vault's lock
//! files do the same (see `Vault::lock`): every call here is then a no-op that succeeds.

use super::{db, postgres, Catalog, Dialect};
use crate::Result;

/// The advisory lock key of a claim: the first 8 bytes of the SHA-256 of its key, kept apart
/// from the station and write locks by their own keys.
fn claim_lock(key: &str) -> i64 {
    use sha2::Digest;
    let h = sha2::Sha256::digest(format!("discvault claim {key}").as_bytes());
    i64::from_be_bytes(h[..8].try_into().expect("8 bytes"))
}

/// The settings keys of this module's rows, left out of a catalog copy.
pub(crate) const TRANSIENT_SETTINGS: &str =
    "key NOT LIKE 'holder:%' AND key NOT LIKE 'claim:%' AND key <> 'lock_holder'";

impl Catalog {
    /// Takes the station lock (see the module): `whole` for an operation that changes
    /// everything, else shared with the other stations' work. Waits up to `wait`, telling
    /// `waiting` the holders once. True when taken; always true on SQLite.
    pub fn take_shared_lock(
        &self,
        holder: &str,
        whole: bool,
        wait: std::time::Duration,
        waiting: &dyn Fn(&str),
    ) -> Result<bool> {
        if self.dialect != Dialect::Postgres {
            return Ok(true);
        }
        let sql = if whole {
            "SELECT pg_try_advisory_lock($1)"
        } else {
            "SELECT pg_try_advisory_lock_shared($1)"
        };
        let deadline = std::time::Instant::now() + wait;
        let mut told = false;
        loop {
            let taken: i64 = db::query_scalar(sql)
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
            "INSERT INTO catalog_settings (key, value) VALUES ('holder:' || pg_backend_pid(), $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(holder)
        .execute(&self.db)?;
        Ok(true)
    }

    /// Who holds the station lock now (see [`Catalog::take_shared_lock`]).
    pub fn shared_lock_holder(&self) -> Result<String> {
        if self.dialect != Dialect::Postgres {
            return Ok("another process".into());
        }
        let rows: Vec<String> = db::query(
            "SELECT s.value FROM catalog_settings s
             JOIN pg_locks l ON s.key = 'holder:' || l.pid
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
               AND l.classid::bigint * 4294967296 + l.objid::bigint = $1
             ORDER BY s.value",
        )
        .bind(postgres::STATION_LOCK)
        .fetch_all(&self.db)?
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<_>>()?;
        Ok(if rows.is_empty() {
            "another station".to_string()
        } else {
            rows.join("; ")
        })
    }

    /// Lets go of the station lock taken by [`Catalog::take_shared_lock`].
    pub fn let_go_shared_lock(&self, whole: bool) -> Result<()> {
        if self.dialect == Dialect::Postgres {
            db::query("DELETE FROM catalog_settings WHERE key = 'holder:' || pg_backend_pid()")
                .execute(&self.db)?;
            let sql = if whole {
                "SELECT pg_advisory_unlock($1)"
            } else {
                "SELECT pg_advisory_unlock_shared($1)"
            };
            db::query(sql)
                .bind(postgres::STATION_LOCK)
                .fetch_all(&self.db)?;
        }
        Ok(())
    }

    /// Claims `key` for this process, if no other holds it (see the module): true when taken.
    /// Always true on SQLite.
    pub fn try_claim(&self, key: &str, holder: &str) -> Result<bool> {
        if self.dialect != Dialect::Postgres {
            return Ok(true);
        }
        let taken: i64 = db::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(claim_lock(key))
            .fetch_one(&self.db)?;
        if taken == 1 {
            db::query(
                "INSERT INTO catalog_settings (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(format!("claim:{key}"))
            .bind(holder)
            .execute(&self.db)?;
        }
        Ok(taken == 1)
    }

    /// Who holds the claim on `key` (see [`Catalog::try_claim`]).
    pub fn claim_holder(&self, key: &str) -> Result<String> {
        Ok(
            db::query_scalar("SELECT value FROM catalog_settings WHERE key = $1")
                .bind(format!("claim:{key}"))
                .fetch_optional(&self.db)?
                .unwrap_or_else(|| "another station".to_string()),
        )
    }

    /// Lets go of the claim on `key`.
    pub fn let_go_claim(&self, key: &str) -> Result<()> {
        if self.dialect == Dialect::Postgres {
            db::query("DELETE FROM catalog_settings WHERE key = $1")
                .bind(format!("claim:{key}"))
                .execute(&self.db)?;
            db::query("SELECT pg_advisory_unlock($1)")
                .bind(claim_lock(key))
                .fetch_all(&self.db)?;
        }
        Ok(())
    }
}
