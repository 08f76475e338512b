//! Copies of volumes in the catalog: registering them, their changes of state and place, the
//! inspection rule (interval, due date, as Rust and as SQL) and the one-disc-per-slot rule. The
//! copy records and places are the model's (`model/copies.rs`).

use super::db::{self, Row};
use super::events::insert_event;
use super::Catalog;
use crate::model::NewEvent;
use crate::{now_unix, Error, Result};

pub use crate::model::copies::{
    canonical_number, check_barcode, normalize_rfid, CopyChange, CopyState, DiscCopy, NewCopy,
    Place, PLACE_FORM,
};

const COPY_COLS: &str = "k.id, k.copy_id, v.volume_id, k.barcode, k.rfid, k.role, k.medium, k.brand, k.batch, k.state, k.site, k.room, k.cabinet, k.shelf, k.slot, k.verified_at, k.created_at, k.grade, k.graded_at, k.replaces";

fn copy_from_row(r: &Row) -> Result<DiscCopy> {
    Ok(DiscCopy {
        id: r.try_get("id")?,
        copy_id: r.try_get("copy_id")?,
        volume_id: r.try_get("volume_id")?,
        barcode: r.try_get("barcode")?,
        rfid: r.try_get("rfid")?,
        role: r.try_get("role")?,
        medium: r.try_get("medium")?,
        brand: r.try_get("brand")?,
        batch: r.try_get("batch")?,
        state: CopyState::parse(&r.try_get::<String, _>("state")?)?,
        place: Place {
            site: r.try_get("site")?,
            room: r.try_get("room")?,
            cabinet: r.try_get("cabinet")?,
            shelf: r.try_get("shelf")?,
            slot: r.try_get("slot")?,
        },
        verified_at: r.try_get("verified_at")?,
        created_at: r.try_get("created_at")?,
        grade: r.try_get("grade")?,
        graded_at: r.try_get("graded_at")?,
        replaces: r.try_get("replaces")?,
    })
}

const DAY: i64 = 86_400;

/// The inspection interval of a copy under `policy`, in seconds: the medium's (or the
/// default), shortened to the warning interval when the copy's last quality grade was "watch".
pub fn interval(policy: &crate::config::InspectionSection, c: &DiscCopy) -> i64 {
    let base = policy
        .interval_days_by_medium
        .get(&c.medium)
        .copied()
        .unwrap_or(policy.interval_days);
    let days = if c.grade == "watch" {
        base.min(policy.warning_interval_days)
    } else {
        base
    };
    days as i64 * DAY
}

/// When a copy falls due under `policy`: its last clean check (or its writing) plus its
/// interval.
pub fn due_at(policy: &crate::config::InspectionSection, c: &DiscCopy) -> i64 {
    c.verified_at.unwrap_or(c.created_at) + interval(policy, c)
}

/// Copies that take part in inspection: written or verified (damaged, missing and retired
/// copies are for repair or migration).
pub fn active(c: &DiscCopy) -> bool {
    matches!(c.state, CopyState::Written | CopyState::Verified)
}

/// The interval of a copy in days as an SQL expression over `copies k`, from the policy.
pub fn interval_sql(cfg: &crate::config::InspectionSection) -> String {
    let mut base = String::from("CASE k.medium");
    for (m, d) in &cfg.interval_days_by_medium {
        base.push_str(&format!(" WHEN '{}' THEN {d}", m.replace('\'', "''")));
    }
    base.push_str(&format!(" ELSE {} END", cfg.interval_days));
    if cfg.interval_days_by_medium.is_empty() {
        base = cfg.interval_days.to_string();
    }
    // The shorter of the two for a copy graded "watch" (portable SQL: SQLite's MIN(a, b) is
    // PostgreSQL's LEAST).
    format!(
        "CASE WHEN k.grade = 'watch' AND {w} < ({base}) THEN {w} ELSE {base} END",
        w = cfg.warning_interval_days
    )
}

impl Catalog {
    /// Registers copies of a volume in one transaction, each with a replication event.
    pub fn add_copies(&self, volume_id: &str, copies: &[NewCopy]) -> Result<Vec<DiscCopy>> {
        let volume = self.volume(volume_id)?;
        let rule = self.due_rule.read().unwrap().clone();
        let ids = self.scoped(|| {
            let tx = self.db.begin()?;
            let n: i64 = db::query_scalar("SELECT COUNT(*) FROM copies WHERE volume = $1")
                .bind(volume.id)
                .fetch_one(&*tx)?;
            let mut ids = Vec::new();
            for (k, c) in copies.iter().enumerate() {
                let copy_id = format!("{}-C{}", volume.volume_id, n + k as i64 + 1);
                let barcode = c.barcode.clone().unwrap_or_else(|| copy_id.clone());
                check_barcode(&barcode)?;
                let rfid = c.rfid.as_deref().map(normalize_rfid).transpose()?;
                for (col, val) in [("barcode", Some(&barcode)), ("rfid", rfid.as_ref())] {
                    if let Some(val) = val {
                        let other: Option<String> = db::query_scalar(&format!(
                            "SELECT copy_id FROM copies WHERE {col} = $1"
                        ))
                        .bind(val)
                        .fetch_optional(&*tx)?;
                        if let Some(o) = other {
                            return Err(Error::Invalid {
                                field: col.into(),
                                detail: format!("{val} already belongs to copy {o}"),
                            });
                        }
                    }
                }
                let state = c.state.unwrap_or(CopyState::Written);
                if holds_slot(state) {
                    if let Some(o) = slot_holder(&tx, &c.place, 0)? {
                        return Err(slot_taken(&copy_id, &c.place, &o));
                    }
                }
                let id: i64 = db::query_scalar(
                    "INSERT INTO copies (copy_id, volume, barcode, rfid, role, medium, brand, batch, state, site, room, cabinet, shelf, slot, created_at, replaces)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
                )
                .bind(&copy_id)
                .bind(volume.id)
                .bind(&barcode)
                .bind(rfid.clone())
                .bind(&c.role)
                .bind(&c.medium)
                .bind(&c.brand)
                .bind(&c.batch)
                .bind(state.as_str())
                .bind(&c.place.site)
                .bind(&c.place.room)
                .bind(&c.place.cabinet)
                .bind(&c.place.shelf)
                .bind(&c.place.slot)
                .bind(now_unix())
                .bind(c.replaces.clone())
                .fetch_one(&*tx)?;
                store_due(&tx, &rule, id)?;
                let detail = format!(
                    "copy {copy_id} of {} registered: role {}, barcode {barcode}, state {}, place {}{}",
                    volume.volume_id,
                    c.role,
                    state.as_str(),
                    c.place,
                    c.replaces
                        .as_deref()
                        .map(|r| format!(", replaces {r}"))
                        .unwrap_or_default()
                );
                insert_event(
                    &tx,
                    &NewEvent {
                        event_type: "replication",
                        outcome: "success",
                        detail: &detail,
                        volume: Some(volume.id),
                        copy: Some(id),
                        ..Default::default()
                    },
                )?;
                ids.push(copy_id);
            }
            tx.commit()?;
            Ok::<_, Error>(ids)
        })?;
        ids.iter().map(|id| self.copy(id)).collect()
    }

    /// A copy by its id, barcode or RFID tag id.
    pub fn copy(&self, key: &str) -> Result<DiscCopy> {
        let key = key.trim();
        let rfid = normalize_rfid(key).ok();
        // One indexed lookup per column (an OR over three columns would scan the table).
        for (col, val) in [
            ("copy_id", Some(key)),
            ("barcode", Some(key)),
            ("rfid", rfid.as_deref()),
        ] {
            let Some(val) = val else { continue };
            let row = db::query(&format!(
                "SELECT {COPY_COLS} FROM copies k JOIN volumes v ON v.id = k.volume WHERE k.{col} = $1"
            ))
            .bind(val)
            .fetch_optional(&self.db)?;
            if let Some(r) = row {
                return copy_from_row(&r);
            }
        }
        Err(Error::NotFound(format!(
            "a copy with the id, barcode or RFID {key:?}"
        )))
    }

    /// Copies, optionally of one volume, in place order (site, room, cabinet, shelf, slot).
    pub fn copies(&self, volume: Option<&str>) -> Result<Vec<DiscCopy>> {
        let copies = match volume {
            Some(v) => db::query(&format!(
                "SELECT {COPY_COLS} FROM copies k JOIN volumes v ON v.id = k.volume
                     WHERE v.volume_id = $1"
            ))
            .bind(v)
            .fetch_map(&self.db, copy_from_row)?,
            None => db::query(&format!(
                "SELECT {COPY_COLS} FROM copies k JOIN volumes v ON v.id = k.volume"
            ))
            .fetch_map(&self.db, copy_from_row)?,
        };
        Ok(in_place_order(copies))
    }

    /// The copies whose place is in a cabinet of this name (any site or room; "" for copies not
    /// placed), in the order of [`Catalog::copies`].
    pub fn copies_in_cabinet(&self, cabinet: &str) -> Result<Vec<DiscCopy>> {
        let copies = db::query(&format!(
            "SELECT {COPY_COLS} FROM copies k JOIN volumes v ON v.id = k.volume WHERE k.cabinet = $1"
        ))
        .bind(cabinet)
        .fetch_map(&self.db, copy_from_row)?;
        Ok(in_place_order(copies))
    }

    /// Each cabinet name with the number of copies in it ("" for copies not placed), by name.
    pub fn cabinets(&self) -> Result<Vec<(String, u64)>> {
        let mut out: Vec<(String, u64)> =
            db::query("SELECT cabinet, COUNT(*) AS n FROM copies GROUP BY cabinet")
                .fetch_map(&self.db, |r| {
                    Ok((r.try_get("cabinet")?, r.try_get::<i64, _>("n")? as u64))
                })?;
        // By the bytes of the name, as SQLite orders text, whatever the database's locale.
        out.sort();
        Ok(out)
    }

    /// The copies of each of `volumes` (by volume id), in the order of [`Catalog::copies`]; one
    /// query per hundred volumes.
    pub fn copies_of_volumes(
        &self,
        volumes: &[&str],
    ) -> Result<std::collections::HashMap<String, Vec<DiscCopy>>> {
        let mut out: std::collections::HashMap<String, Vec<DiscCopy>> = Default::default();
        for chunk in volumes.chunks(db::LIST) {
            let n = db::list_len(chunk.len());
            let mut q = db::query(&format!(
                "SELECT {COPY_COLS} FROM copies k JOIN volumes v ON v.id = k.volume
                 WHERE v.volume_id IN ({})",
                db::list_params_n(1, n)
            ));
            for k in 0..n {
                q = q.bind(chunk.get(k).copied().unwrap_or(""));
            }
            for r in q.fetch_all(&self.db)? {
                let c = copy_from_row(&r)?;
                out.entry(c.volume_id.clone()).or_default().push(c);
            }
        }
        Ok(out
            .into_iter()
            .map(|(v, cs)| (v, in_place_order(cs)))
            .collect())
    }

    /// Every quality measurement's date and grade, oldest first.
    pub fn quality_grades(&self) -> Result<Vec<(i64, String)>> {
        let rows = db::query(
            "SELECT measured_at, grade FROM quality_measurements ORDER BY measured_at, id",
        )
        .fetch_all(&self.db)?;
        rows.iter()
            .map(|r| Ok((r.try_get("measured_at")?, r.try_get("grade")?)))
            .collect()
    }

    /// Records quality measurements and the copies' new grades in one transaction.
    pub fn record_quality(
        &self,
        rows: &[(i64, i64, String, f64, String)],
        changes: &[CopyChange],
    ) -> Result<()> {
        let tx = self.db.begin()?;
        for (copy, at, metric, value, grade) in rows {
            db::query(
                "INSERT INTO quality_measurements (copy, measured_at, metric, value, grade, imported_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(*copy)
            .bind(*at)
            .bind(metric)
            .bind(*value)
            .bind(grade)
            .bind(now_unix())
            .execute(&*tx)?;
        }
        let rule = self.due_rule.read().unwrap().clone();
        apply_changes(&tx, &rule, changes)?;
        tx.commit()?;
        Ok(())
    }

    /// Sets the inspection interval rule (an SQL expression over `copies k`, in days); when it
    /// differs from the rule the stored due dates were computed with, recomputes them all, and
    /// fills in the due dates of active copies that have none (inserted by other tools).
    pub fn set_due_rule(&self, rule: &str) -> Result<()> {
        *self.due_rule.write().unwrap() = rule.to_string();
        let stored: Option<String> =
            db::query_scalar("SELECT value FROM catalog_settings WHERE key = 'due_rule'")
                .fetch_optional(&self.db)?;
        let only_missing = if stored.as_deref() == Some(rule) {
            // Copies written into the table by other tools have no due date yet.
            let missing: Option<i64> = db::query_scalar(
                "SELECT id FROM copies WHERE due_at IS NULL AND state IN ('written', 'verified') LIMIT 1",
            )
            .fetch_optional(&self.db)?;
            if missing.is_none() {
                return Ok(());
            }
            " WHERE k.due_at IS NULL"
        } else {
            ""
        };
        let tx = self.db.begin()?;
        db::query(&format!(
            "UPDATE copies AS k SET due_at = {}{only_missing}",
            due_expr(rule)
        ))
        .execute(&*tx)?;
        db::query(
            "INSERT INTO catalog_settings (key, value) VALUES ('due_rule', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(rule)
        .execute(&*tx)?;
        tx.commit()?;
        Ok(())
    }

    /// The copies an inspection round picks at `now`, with the time each falls due: every active
    /// copy past due, and the `quota` active copies due soonest. Returns the count of active
    /// copies too. Reads the stored, indexed due dates.
    pub(crate) fn due_copies(
        &self,
        now: i64,
        sample_percent: f64,
    ) -> Result<(u64, Vec<(DiscCopy, i64)>)> {
        let active: i64 =
            db::query_scalar("SELECT COUNT(due_at) FROM copies WHERE due_at IS NOT NULL")
                .fetch_one(&self.db)?;
        let quota = ((active as f64) * sample_percent / 100.0).ceil() as i64;
        let base =
            format!("SELECT {COPY_COLS}, k.due_at FROM copies k JOIN volumes v ON v.id = k.volume");
        // Every copy past due; then, only when they are fewer than the quota, the copies
        // due soonest after them (index ranges both).
        let mut rows = db::query(&format!("{base} WHERE k.due_at <= $1"))
            .bind(now)
            .fetch_all(&self.db)?;
        let missing = quota - rows.len() as i64;
        if missing > 0 {
            rows.extend(
                db::query(&format!(
                    "{base} WHERE k.due_at > $1 ORDER BY k.due_at, k.id LIMIT $2"
                ))
                .bind(now)
                .bind(missing)
                .fetch_all(&self.db)?,
            );
        }
        let out = rows
            .iter()
            .map(|r| Ok((copy_from_row(r)?, r.try_get::<i64, _>("due_at")?)))
            .collect::<Result<Vec<_>>>()?;
        Ok((active as u64, out))
    }

    /// Changes places and states of copies in one transaction, with one event each.
    pub fn update_copies(&self, changes: &[CopyChange]) -> Result<()> {
        let tx = self.db.begin()?;
        let rule = self.due_rule.read().unwrap().clone();
        apply_changes(&tx, &rule, changes)?;
        tx.commit()?;
        Ok(())
    }
}

/// The due date of a copy (over `copies k`) under an interval rule: NULL when the copy takes no
/// part in inspection (planned, damaged, missing, retired).
fn due_expr(rule: &str) -> String {
    format!(
        "CASE WHEN k.state IN ('written', 'verified') THEN COALESCE(k.verified_at, k.created_at) + 86400 * ({rule}) END"
    )
}

/// Stores the due date of one copy, after a change.
fn store_due(tx: &db::Tx<'_>, rule: &str, id: i64) -> Result<()> {
    db::query(&format!(
        "UPDATE copies AS k SET due_at = {} WHERE k.id = $1",
        due_expr(rule)
    ))
    .bind(id)
    .execute(&**tx)?;
    Ok(())
}

/// Whether a copy in this state stands in its slot: a missing or retired copy does not.
pub fn holds_slot(state: CopyState) -> bool {
    !matches!(state, CopyState::Missing | CopyState::Retired)
}

/// The copy, other than the one of row `id`, that stands in the slot of `place`.
fn slot_holder(tx: &db::Tx<'_>, place: &Place, id: i64) -> Result<Option<String>> {
    if place.slot.is_empty() {
        return Ok(None);
    }
    db::query_scalar(
        "SELECT copy_id FROM copies WHERE site = $1 AND room = $2 AND cabinet = $3 AND shelf = $4 AND slot = $5
         AND state NOT IN ('missing', 'retired') AND id <> $6 ORDER BY copy_id LIMIT 1",
    )
    .bind(&place.site)
    .bind(&place.room)
    .bind(&place.cabinet)
    .bind(&place.shelf)
    .bind(&place.slot)
    .bind(id)
    .fetch_optional(&**tx)
}

fn slot_taken(copy_id: &str, place: &Place, holder: &str) -> Error {
    Error::Invalid {
        field: "place".into(),
        detail: format!(
            "copy {copy_id} cannot go to {place}: that slot holds copy {holder}, and a slot holds one disc (move {holder} elsewhere first, or mark it missing or retired)"
        ),
    }
}

/// Applies changes of copies; a copy that comes into a slot (moved there, or found again) must
/// find it free once all the changes are made (so that two copies can swap slots).
fn apply_changes(tx: &db::Tx<'_>, rule: &str, changes: &[CopyChange]) -> Result<()> {
    let mut arriving = Vec::new();
    for CopyChange {
        copy: c,
        event_type,
        outcome,
        detail,
    } in changes
    {
        let before =
            db::query("SELECT site, room, cabinet, shelf, slot, state FROM copies WHERE id = $1")
                .bind(c.id)
                .fetch_one(&**tx)?;
        let was = Place {
            site: before.try_get("site")?,
            room: before.try_get("room")?,
            cabinet: before.try_get("cabinet")?,
            shelf: before.try_get("shelf")?,
            slot: before.try_get("slot")?,
        };
        let was_state = CopyState::parse(&before.try_get::<String, _>("state")?)?;
        if holds_slot(c.state) && (was != c.place || !holds_slot(was_state)) {
            arriving.push(c);
        }
        db::query(
            "UPDATE copies SET state = $1, site = $2, room = $3, cabinet = $4, shelf = $5, slot = $6, verified_at = $7, grade = $8, graded_at = $9 WHERE id = $10",
        )
        .bind(c.state.as_str())
        .bind(&c.place.site)
        .bind(&c.place.room)
        .bind(&c.place.cabinet)
        .bind(&c.place.shelf)
        .bind(&c.place.slot)
        .bind(c.verified_at)
        .bind(&c.grade)
        .bind(c.graded_at)
        .bind(c.id)
        .execute(&**tx)?;
        store_due(tx, rule, c.id)?;
        let vol: i64 = db::query_scalar("SELECT volume FROM copies WHERE id = $1")
            .bind(c.id)
            .fetch_one(&**tx)?;
        insert_event(
            tx,
            &NewEvent {
                event_type,
                outcome,
                detail,
                volume: Some(vol),
                copy: Some(c.id),
                ..Default::default()
            },
        )?;
    }
    for c in arriving {
        if let Some(o) = slot_holder(tx, &c.place, c.id)? {
            return Err(slot_taken(&c.copy_id, &c.place, &o));
        }
    }
    Ok(())
}

/// Copies in the order a person walks the cabinets: site, room, cabinet, shelf, slot, then
/// copy id, each by its bytes (as SQLite orders text). Sorted here, not by the database: at a
/// million files PostgreSQL took 50-160 ms to sort the ten thousand copies in its locale's
/// order, which also differed from SQLite's outside C locales.
pub(crate) fn in_place_order(mut copies: Vec<DiscCopy>) -> Vec<DiscCopy> {
    fn key(c: &DiscCopy) -> [&str; 6] {
        let p = &c.place;
        [&p.site, &p.room, &p.cabinet, &p.shelf, &p.slot, &c.copy_id]
    }
    copies.sort_by(|a, b| key(a).cmp(&key(b)));
    copies
}
