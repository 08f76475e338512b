//! Collections and file records: ingest, versions, metadata changes, staged sources.

use super::events::insert_event;
use super::records::{file_from_row, FILE_COLS};
use super::search::char_vector;
use super::{db, display_path, totals, Catalog, Dialect};
use crate::digest::HashAlg;
use crate::model::{
    Collection, FileRecord, MetadataChange, NewEvent, NewFile, METADATA_EVENT, RETENTION_KEYS,
};
use crate::{now_unix, Error, Result};
use std::collections::BTreeMap;

impl Catalog {
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

    /// The changes of collections' metadata recorded since the last plan, as their events say
    /// them (not the server's accounts, recorded under the same event type with no collection).
    pub fn metadata_changes_since_last_plan(&self) -> Result<Vec<String>> {
        let rows = db::query(
            "SELECT detail FROM events WHERE event_type = $1 AND collection_id IS NOT NULL
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
    ///
    /// The ids are taken once, as the largest plus one, in the write transaction (which one
    /// writer holds at a time): the files get the next ones in order. SQLite inserts row by
    /// row (a prepared statement, microseconds a row) and then fills its path indexes in
    /// bulk; PostgreSQL loads the rows through one `COPY`, with `path_chars` computed here.
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
        let replaced: Vec<i64> = files
            .iter()
            .filter_map(|(_, r)| r.map(|(id, _)| id))
            .collect();
        for chunk in replaced.chunks(db::LIST) {
            let ids: Vec<db::Value> = (0..db::LIST)
                .map(|k| db::Value::Int(chunk.get(k).copied().unwrap_or(-1)))
                .collect();
            // The versions replaced stop counting as current.
            totals::Change {
                set: &format!("f.id IN ({})", db::list_params(1)),
                params: ids.clone(),
            }
            .before(&*tx)?;
            let mut q = db::query(&format!(
                "UPDATE files SET current = 0 WHERE id IN ({})",
                db::list_params(1)
            ));
            for id in ids {
                q = q.bind(id);
            }
            q.execute(&*tx)?;
        }
        let version = |r: &Option<(i64, i64)>| r.map(|(_, v)| v + 1).unwrap_or(1);
        if self.dialect == Dialect::Postgres {
            let mut buf = Vec::with_capacity(1 << 20);
            db::copy_in(
                &*tx,
                "COPY files (id, collection_id, path, path_raw, version, kind, size, mtime, mode, link_target, source, staged, sha256, sm3, md5, blake3, current, ingested_at, path_chars) FROM STDIN",
                &mut |w| {
                    for (k, (f, replaces)) in files.iter().enumerate() {
                        let path = display_path(&f.path_raw);
                        let b = &mut buf;
                        b.extend_from_slice(
                            format!("{}\t{collection_id}\t", first_new + 1 + k as i64).as_bytes(),
                        );
                        db::copy_text(b, &path);
                        b.push(b'\t');
                        db::copy_bytes(b, &f.path_raw);
                        b.extend_from_slice(
                            format!(
                                "\t{}\t{}\t{}\t{}\t{}\t",
                                version(replaces),
                                f.kind.as_str(),
                                f.size as i64,
                                f.mtime,
                                f.mode as i64
                            )
                            .as_bytes(),
                        );
                        for blob in [f.link_target.as_deref(), Some(&f.source[..])] {
                            match blob {
                                Some(x) => db::copy_bytes(b, x),
                                None => b.extend_from_slice(b"\\N"),
                            }
                            b.push(b'\t');
                        }
                        b.extend_from_slice(format!("{}\t", f.staged as i64).as_bytes());
                        for alg in [HashAlg::Sha256, HashAlg::Sm3, HashAlg::Md5, HashAlg::Blake3] {
                            match f.digests.get(alg) {
                                Some(d) => db::copy_text(b, d),
                                None => b.extend_from_slice(b"\\N"),
                            }
                            b.push(b'\t');
                        }
                        b.extend_from_slice(format!("1\t{now}\t").as_bytes());
                        db::copy_text(b, &char_vector(&path));
                        b.push(b'\n');
                        if b.len() >= 1 << 20 {
                            w.write_all(b).map_err(copy_error)?;
                            b.clear();
                        }
                    }
                    w.write_all(&buf).map_err(copy_error)?;
                    buf.clear();
                    Ok(())
                },
            )?;
        } else {
            for (k, (f, replaces)) in files.iter().enumerate() {
                db::query(
                    "INSERT INTO files (id, collection_id, path, path_raw, version, kind, size, mtime, mode, link_target, source, staged, sha256, sm3, md5, blake3, current, ingested_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 1, $17)",
                )
                .bind(first_new + 1 + k as i64)
                .bind(collection_id)
                .bind(display_path(&f.path_raw))
                .bind(f.path_raw.clone())
                .bind(version(replaces))
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
        }
        totals::Change {
            set: "f.id > $1",
            params: vec![db::Value::Int(first_new)],
        }
        .after(&*tx)?;
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

    pub fn unplanned_files(&self) -> Result<Vec<(String, FileRecord)>> {
        db::query(&format!(
            "SELECT {FILE_COLS}, c.name AS collection FROM files f JOIN collections c ON c.id = f.collection_id
             WHERE f.current = 1 AND NOT EXISTS (SELECT 1 FROM volume_contents vc WHERE vc.file_id = f.id)
             ORDER BY c.name, f.path_raw"
        ))
        .fetch_map(&self.db, |r| Ok((r.try_get("collection")?, file_from_row(r)?)))
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

    /// Every file that is on a volume numbered up to `max_volume`, for the catalog snapshot.
    /// How many records [`Catalog::each_file_on_volumes_upto`] gives, without reading them.
    pub(crate) fn count_files_on_volumes_upto(&self, max_volume: i64) -> Result<u64> {
        let n: i64 = db::query_scalar(
            "SELECT COUNT(DISTINCT vc.file_id) FROM volume_contents vc WHERE vc.volume <= $1",
        )
        .bind(max_volume)
        .fetch_one(&self.db)?;
        Ok(n as u64)
    }

    /// Calls `f` on each record on the volumes up to `max_volume` (by id), in id order, as the
    /// rows come, until it returns false (`f` must not use the catalog).
    pub(crate) fn each_file_on_volumes_upto(
        &self,
        max_volume: i64,
        mut f: impl FnMut(FileRecord) -> bool,
    ) -> Result<()> {
        db::query(&format!(
            "SELECT {FILE_COLS} FROM files f WHERE EXISTS (SELECT 1 FROM volume_contents vc WHERE vc.file_id = f.id AND vc.volume <= $1) ORDER BY f.id"
        ))
        .bind(max_volume)
        .for_each(&self.db, |r| Ok(f(file_from_row(r)?)))
    }

    /// The collections of the records on the volumes up to `max_volume`.
    pub(crate) fn collections_on_volumes_upto(
        &self,
        max_volume: i64,
    ) -> Result<std::collections::BTreeSet<i64>> {
        let ids = db::query(
            "SELECT DISTINCT f.collection_id FROM files f JOIN volume_contents vc ON vc.file_id = f.id WHERE vc.volume <= $1",
        )
        .bind(max_volume)
        .fetch_map(&self.db, |r| r.try_get::<i64, _>("collection_id"))?;
        Ok(ids.into_iter().collect())
    }
}

fn copy_error(e: std::io::Error) -> Error {
    Error::Catalog(format!("COPY into files: {e}"))
}
