//! Totals of the current files per collection and state (table `file_totals`, schema 8): what
//! `status` and `report` show, kept by the transactions that change them instead of counted
//! over every file at each call (seconds at a million files, a minute at ten million).
//!
//! A file is counted `current` when it is the current version of its record, and among those
//! `unplanned` (on no volume), `planned` (on a volume not yet mastered) and `mastered` (on a
//! mastered volume): a file on both kinds of volume counts in both, as `status` always said.
//! A change subtracts what the files it touches counted before it and adds what they count
//! after it, both measured by the same query ([`adjust`]); [`recount`] counts every file
//! (the migration to schema 8, a catalog copy) and [`Catalog::totals_problems`] compares the
//! kept totals with a recount (`discvault check`).

use super::db::{self, Value};
use super::Catalog;
use crate::Result;
use std::collections::BTreeMap;

/// The states counted, in the order of [`Catalog::counts`].
pub(super) const STATES: [&str; 4] = ["current", "unplanned", "planned", "mastered"];

/// (files, bytes) of each state, per collection.
type Totals = BTreeMap<i64, [(i64, i64); 4]>;

/// The totals of the current files matching `set` (an SQL condition over `files f`, its
/// parameters from `$1`), ignoring volume placements that `ignore` (a condition over
/// `volume_contents vc`, or empty) leaves out.
fn measure<E: db::Executor + Copy>(
    e: E,
    set: &str,
    params: &[Value],
    ignore: &str,
) -> Result<Totals> {
    let ig = if ignore.is_empty() {
        String::new()
    } else {
        format!(" AND NOT ({ignore})")
    };
    // Each file's placements joined and folded once (no correlated subqueries, whose plans go
    // quadratic when the tables' statistics lag behind a bulk change in the same transaction).
    let sql = format!(
        "SELECT collection_id, COUNT(*) AS n, SUM(size) AS b, SUM(u) AS nu, SUM(u * size) AS bu,
                SUM(p) AS np, SUM(p * size) AS bp, SUM(m) AS nm, SUM(m * size) AS bm
         FROM (SELECT f.id, f.collection_id, f.size,
                 CASE WHEN COUNT(vc.file_id) = 0 THEN 1 ELSE 0 END AS u,
                 MAX(CASE WHEN v.state = 'planned' THEN 1 ELSE 0 END) AS p,
                 MAX(CASE WHEN v.state = 'mastered' THEN 1 ELSE 0 END) AS m
               FROM files f
               LEFT JOIN volume_contents vc ON vc.file_id = f.id{ig}
               LEFT JOIN volumes v ON v.id = vc.volume
               WHERE f.current = 1 AND ({set})
               GROUP BY f.id, f.collection_id, f.size) x
         GROUP BY collection_id"
    );
    let mut q = db::query(&sql);
    for p in params {
        q = q.bind(p.clone());
    }
    let mut out = Totals::new();
    for r in q.fetch_all(e)? {
        let g = |c: &str| r.try_get::<i64, _>(c);
        out.insert(
            g("collection_id")?,
            [
                (g("n")?, g("b")?),
                (g("nu")?, g("bu")?),
                (g("np")?, g("bp")?),
                (g("nm")?, g("bm")?),
            ],
        );
    }
    Ok(out)
}

/// Adds `sign` times `totals` to the kept totals.
fn add<E: db::Executor + Copy>(e: E, totals: &Totals, sign: i64) -> Result<()> {
    for (collection, states) in totals {
        for (state, (files, bytes)) in STATES.iter().zip(states) {
            if *files == 0 && *bytes == 0 {
                continue;
            }
            db::query(
                "INSERT INTO file_totals (collection_id, state, files, bytes) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (collection_id, state) DO UPDATE
                 SET files = file_totals.files + excluded.files, bytes = file_totals.bytes + excluded.bytes",
            )
            .bind(*collection)
            .bind(*state)
            .bind(sign * files)
            .bind(sign * bytes)
            .execute(e)?;
        }
    }
    Ok(())
}

/// A change of the files matching `set` (see [`measure`]): call [`Change::before`] before it and
/// [`Change::after`] after it, in the same transaction.
pub(super) struct Change<'a> {
    pub set: &'a str,
    pub params: Vec<Value>,
}

impl Change<'_> {
    /// Takes the files' totals out, as they are before the change.
    pub fn before<E: db::Executor + Copy>(&self, e: E) -> Result<()> {
        add(e, &measure(e, self.set, &self.params, "")?, -1)
    }

    /// Puts the files' totals back, as they are after the change.
    pub fn after<E: db::Executor + Copy>(&self, e: E) -> Result<()> {
        add(e, &measure(e, self.set, &self.params, "")?, 1)
    }
}

/// Adjusts the totals for placements just added (the volume contents that `added`, a condition
/// over `volume_contents vc` with `params`, selects): the files they place counted as they were
/// without them are taken out, and counted with them put back.
pub(super) fn placed<E: db::Executor + Copy>(e: E, added: &str, params: &[Value]) -> Result<()> {
    let set = format!("f.id IN (SELECT vc.file_id FROM volume_contents vc WHERE {added})");
    add(e, &measure(e, &set, params, added)?, -1)?;
    add(e, &measure(e, &set, params, "")?, 1)
}

/// Counts every current file again into the kept totals.
pub(super) fn recount<E: db::Executor + Copy>(e: E) -> Result<()> {
    db::query("DELETE FROM file_totals").execute(e)?;
    add(e, &measure(e, "1 = 1", &[], "")?, 1)
}

impl Catalog {
    /// The files and bytes of each collection on mastered volumes (from the kept totals, not a
    /// count of the files), by collection id.
    pub fn mastered_by_collection(&self) -> Result<BTreeMap<i64, (u64, u64)>> {
        const MASTERED: usize = 3;
        debug_assert_eq!(STATES[MASTERED], "mastered");
        let k = MASTERED;
        Ok(self
            .kept_totals()?
            .into_iter()
            .map(|(id, t)| (id, (t[k].0.max(0) as u64, t[k].1.max(0) as u64)))
            .collect())
    }

    /// The kept totals, per collection.
    fn kept_totals(&self) -> Result<Totals> {
        let mut out = Totals::new();
        for r in db::query("SELECT collection_id, state, files, bytes FROM file_totals")
            .fetch_all(&self.db)?
        {
            let state: String = r.try_get("state")?;
            let k = STATES.iter().position(|s| *s == state).ok_or_else(|| {
                crate::Error::CatalogData {
                    what: "file_totals.state".into(),
                    detail: format!("unknown state {state:?}"),
                }
            })?;
            out.entry(r.try_get("collection_id")?)
                .or_insert([(0, 0); 4])[k] = (r.try_get("files")?, r.try_get("bytes")?);
        }
        Ok(out)
    }

    /// Where the kept totals differ from a recount of the files (`discvault check`).
    pub fn totals_problems(&self) -> Result<Vec<String>> {
        let kept = self.kept_totals()?;
        let counted = measure(&self.db, "1 = 1", &[], "")?;
        let mut out = Vec::new();
        let keys: std::collections::BTreeSet<i64> =
            kept.keys().chain(counted.keys()).copied().collect();
        for c in keys {
            let k = kept.get(&c).copied().unwrap_or([(0, 0); 4]);
            let n = counted.get(&c).copied().unwrap_or([(0, 0); 4]);
            for (i, state) in STATES.iter().enumerate() {
                if k[i] != n[i] {
                    out.push(format!(
                        "collection {c}, {state}: {} files, {} bytes kept; {} files, {} bytes counted",
                        k[i].0, k[i].1, n[i].0, n[i].1
                    ));
                }
            }
        }
        Ok(out)
    }

    /// Counts for `status`: (files, bytes) current; unplanned; on planned volumes; on mastered
    /// volumes; from the kept totals.
    pub(crate) fn counts(&self) -> Result<[(u64, u64); 4]> {
        let mut out = [(0u64, 0u64); 4];
        for t in self.kept_totals()?.values() {
            for (o, (files, bytes)) in out.iter_mut().zip(t) {
                o.0 += *files as u64;
                o.1 += *bytes as u64;
            }
        }
        Ok(out)
    }
}
