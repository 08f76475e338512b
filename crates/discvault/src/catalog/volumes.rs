//! Plans and volumes: recording a plan, mastering, contents, parity groups, lineage, fixity
//! checks and sector maps.

use super::events::insert_event;
use super::records::{
    content_from_row, file_from_row, volume_cols, volume_from_row, FILE_COLS, VOLUME_COLS,
};
use super::{db, totals, Catalog};
use crate::model::{Content, ContentEntry, NewEvent, NewVolume, Volume, VolumeState};
use crate::{now_unix, Error, Result};

/// Where one part of a file lies: (volume id, volume state, part, parts).
pub type PlacedPart = (String, VolumeState, u32, u32);

impl Catalog {
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
            let first_volume = number;
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
                    "INSERT INTO volumes (id, volume_id, plan_id, seq, seq_count, media, capacity_sectors, payload_bytes, image_bytes, state, format_version, created_at, recovery_permille, recovery_slices, kind, parity_index, file_systems)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'planned', $10, $11, $12, $13, $14, $15, $16) RETURNING id",
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
                .bind(v.file_systems.as_str())
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
                // A hundred rows a statement (one statement text, prepared once), the rest
                // one by one: a round trip per row is what a server-side catalog pays for.
                let mut chunks = v.contents.chunks_exact(db::LIST);
                let many = {
                    let rows: Vec<String> = (0..db::LIST)
                        .map(|k| {
                            let b = 6 * k;
                            format!("(${}, ${}, ${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6)
                        })
                        .collect();
                    format!(
                        "INSERT INTO volume_contents (volume, file_id, part, parts, part_offset, length) VALUES {}",
                        rows.join(", ")
                    )
                };
                for chunk in chunks.by_ref() {
                    let mut q = db::query(&many);
                    for c in chunk {
                        q = q
                            .bind(id)
                            .bind(c.file_id)
                            .bind(c.part as i64)
                            .bind(c.parts as i64)
                            .bind(c.part_offset as i64)
                            .bind(c.length as i64);
                    }
                    q.execute(&*tx)?;
                }
                for c in chunks.remainder() {
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
            // The files placed on the new volumes leave `unplanned` for `planned`.
            totals::placed(&*tx, "vc.volume > $1", &[db::Value::Int(first_volume)])?;
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
        db::query(&format!(
            "SELECT vc.file_id, vc.part, vc.parts, vc.part_offset, vc.length, vc.part_digests, vc.lba, {FILE_COLS}, c.name AS collection
             FROM volume_contents vc JOIN files f ON f.id = vc.file_id JOIN collections c ON c.id = f.collection_id
             WHERE vc.volume = $1 ORDER BY c.name, f.path_raw, vc.part"
        ))
        .bind(volume.id)
        .fetch_map(&self.db, |r| {
            Ok(ContentEntry {
                content: content_from_row(r)?,
                file: file_from_row(r)?,
                collection: r.try_get("collection")?,
            })
        })
    }

    /// How many contents (files, a split file once per part) each of `volumes` holds, in one
    /// query per hundred volumes over the contents' primary key. Counts read before are not
    /// read again: a volume's contents are recorded with it, in one transaction, and never
    /// change (at a million files the counts of 3,400 volumes took 175 ms on PostgreSQL).
    pub fn content_counts(&self, volumes: &[i64]) -> Result<std::collections::HashMap<i64, u64>> {
        let mut out = std::collections::HashMap::new();
        let mut ask = Vec::new();
        {
            let known = self
                .shared
                .content_counts
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            for v in volumes {
                match known.get(v) {
                    Some(n) => {
                        out.insert(*v, *n);
                    }
                    None => ask.push(*v),
                }
            }
        }
        let mut read = std::collections::HashMap::new();
        for chunk in ask.chunks(db::LIST) {
            let n = db::list_len(chunk.len());
            let mut q = db::query(&format!(
                "SELECT volume, COUNT(*) AS n FROM volume_contents WHERE volume IN ({}) GROUP BY volume",
                db::list_params_n(1, n)
            ));
            for k in 0..n {
                q = q.bind(chunk.get(k).copied().unwrap_or(-1));
            }
            for r in q.fetch_all(&self.db)? {
                read.insert(r.try_get("volume")?, r.try_get::<i64, _>("n")? as u64);
            }
        }
        // Only volumes that exist are kept (a volume with no contents has no row, and may be a
        // volume not yet visible to this reader).
        self.shared
            .content_counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(read.iter().map(|(k, v)| (*k, *v)));
        out.extend(read);
        Ok(out)
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

    /// Where each of these files lies: (volume id, volume state, part, parts) for each part,
    /// by file id, in part then volume order. Only what `locate` shows: a query per hundred
    /// files, five columns a row (the volume's and the part's other columns, with the part
    /// digests, made a locate on a shared catalog spend its time decoding them).
    pub fn placements_of(
        &self,
        file_ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, Vec<PlacedPart>>> {
        let mut out: std::collections::HashMap<i64, Vec<_>> = Default::default();
        for chunk in file_ids.chunks(db::LIST) {
            let n = db::list_len(chunk.len());
            let mut q = db::query(&format!(
                "SELECT vc.file_id, vc.part, vc.parts, v.volume_id, v.state
                 FROM volume_contents vc JOIN volumes v ON v.id = vc.volume
                 WHERE vc.file_id IN ({}) ORDER BY vc.file_id, vc.part, vc.volume",
                db::list_params_n(1, n)
            ));
            for k in 0..n {
                q = q.bind(chunk.get(k).copied().unwrap_or(-1));
            }
            for r in q.fetch_all(&self.db)? {
                out.entry(r.try_get("file_id")?).or_default().push((
                    r.try_get("volume_id")?,
                    VolumeState::parse(&r.try_get::<String, _>("state")?)?,
                    r.try_get::<i64, _>("part")? as u32,
                    r.try_get::<i64, _>("parts")? as u32,
                ));
            }
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
        // Its files move from planned to mastered in the totals.
        let on_volume = totals::Change {
            set: "f.id IN (SELECT vc.file_id FROM volume_contents vc WHERE vc.volume = $1)",
            params: vec![db::Value::Int(volume.id)],
        };
        on_volume.before(&*tx)?;
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
        on_volume.after(&*tx)?;
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

    /// Contents of every volume numbered up to `max_volume`: (volume id text, content).
    /// Calls `f` on each content of the volumes up to `max_volume` (by id) with its volume's
    /// id, as the rows come, until it returns false (`f` must not use the catalog).
    pub(crate) fn each_content_upto(
        &self,
        max_volume: i64,
        mut f: impl FnMut(&str, Content) -> bool,
    ) -> Result<()> {
        db::query(
            "SELECT v.volume_id, vc.file_id, vc.part, vc.parts, vc.part_offset, vc.length, vc.part_digests, vc.lba
             FROM volume_contents vc JOIN volumes v ON v.id = vc.volume WHERE vc.volume <= $1 ORDER BY vc.volume, vc.file_id, vc.part",
        )
        .bind(max_volume)
        .for_each(&self.db, |r| {
            let vid: String = r.try_get("volume_id")?;
            Ok(f(&vid, content_from_row(r)?))
        })
    }
}
