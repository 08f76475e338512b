//! The catalog snapshot a disc carries, and the inputs of its tag files.

use super::*;

/// The catalog snapshot a volume carries: the catalog as planned up to this volume, or, when
/// that exceeds `budget` bytes, the index of all volumes plus this volume's own records.
pub(crate) fn snapshot(
    vault: &Vault,
    volume: &Volume,
    contents: &[ContentEntry],
    budget: u64,
) -> Result<Vec<u8>> {
    let cat = &vault.catalog;
    let collections = cat.collections()?;
    let by_id: BTreeMap<i64, &Collection> = collections.iter().map(|c| (c.id, c)).collect();
    let volumes: Vec<Volume> = cat
        .volumes()?
        .into_iter()
        .filter(|v| v.id <= volume.id)
        .collect();
    let vault_id = (volume.format_version >= format::VAULT_ID_SINCE).then(|| vault.id.clone());
    let header = |scope: &str| SnapshotLine::Header {
        format: "discvault-catalog-snapshot".into(),
        format_version: volume.format_version,
        vault_id: vault_id.clone(),
        volume_id: volume.volume_id.clone(),
        scope: scope.into(),
    };
    // Only what was fixed when this volume was planned: the collections of the records on it
    // and on the volumes before it (a collection added later would change a re-mastered image).
    let mut used = cat.collections_on_volumes_upto(volume.id)?;
    used.extend(contents.iter().map(|e| e.file.collection_id));
    let mut base = Vec::new();
    for c in collections.iter().filter(|c| used.contains(&c.id)) {
        base.push(SnapshotLine::Collection(format::CollectionRecord {
            name: c.name.clone(),
            fonds: c.fonds.clone(),
            series: c.series.clone(),
            retention: c.retention.clone(),
            metadata: c.metadata.clone(),
        }));
    }
    for v in &volumes {
        base.push(SnapshotLine::Volume {
            volume_id: v.volume_id.clone(),
            plan_id: v.plan_id,
            seq: v.seq,
            seq_count: v.seq_count,
            media: v.media.clone(),
            created_at: v.created_at,
            file_systems: (v.format_version >= format::FILE_SYSTEMS_SINCE)
                .then(|| v.file_systems.as_str().into()),
        });
    }
    let content_line = |vid: &str, c: &Content| SnapshotLine::Content {
        volume_id: vid.to_string(),
        file_id: c.file_id,
        part: c.part,
        parts: c.parts,
        offset: c.part_offset,
        length: c.length,
    };
    // The records and contents are compressed as the catalog gives them (a million records
    // are never held at once), and given up as soon as they are over the budget.
    let mut full = format::GzipLines::new();
    full.push(&header("all volumes up to this one"));
    for l in &base {
        full.push(l);
    }
    let mut within = true;
    cat.each_file_on_volumes_upto(volume.id, |f| {
        let cname = by_id
            .get(&f.collection_id)
            .map(|c| c.name.as_str())
            .unwrap_or("");
        full.push(&format::snapshot_file(cname, &f));
        within = full.compressed_len() <= budget;
        within
    })?;
    if within {
        cat.each_content_upto(volume.id, |vid, c| {
            full.push(&content_line(vid, &c));
            within = full.compressed_len() <= budget;
            within
        })?;
    }
    if within {
        let data = full.finish();
        if data.len() as u64 <= budget {
            return Ok(data);
        }
    } else {
        // Over the budget: its compressor and bytes go before the fallback is made.
        drop(full);
    }
    let mut own = format::GzipLines::new();
    own.push(&header("index of all volumes; files of this volume only"));
    for l in &base {
        own.push(l);
    }
    for e in contents {
        own.push(&format::snapshot_file(&e.collection, &e.file));
        own.push(&content_line(&volume.volume_id, &e.content));
    }
    let data = own.finish();
    if data.len() as u64 > budget {
        return Err(Error::Volume {
            volume: volume.volume_id.clone(),
            detail: format!(
                "catalog snapshot needs {} bytes, more than the {} reserved for it",
                data.len(),
                budget
            ),
        });
    }
    Ok(data)
}

/// Bytes reserved on a disc for the catalog snapshot.
pub(crate) fn snapshot_budget(capacity_bytes: u64, share_percent: f64, files: u64) -> u64 {
    let cap = (capacity_bytes as f64 * share_percent / 100.0) as u64;
    (256 * 1024 + 160 * files).min(cap)
}

/// The tag-file inputs of a volume: its items, and the collections they belong to.
pub(crate) fn volume_context<'a>(
    vault: &'a Vault,
    volume: &'a Volume,
    collections: &'a [Collection],
    items: Vec<VolumeItem<'a>>,
    snapshot: Vec<u8>,
) -> VolumeContext<'a> {
    let used: BTreeSet<&str> = items.iter().map(|i| i.collection).collect();
    VolumeContext {
        volume,
        vault_id: (volume.format_version >= crate::format::VAULT_ID_SINCE)
            .then_some(vault.id.as_str()),
        organization: &vault.config.vault.organization,
        volume_prefix: &vault.config.vault.volume_prefix,
        collections: collections
            .iter()
            .filter(|c| used.contains(c.name.as_str()))
            .collect(),
        items,
        snapshot,
        parity: Vec::new(),
        parity_discs: Vec::new(),
        covered_by: None,
    }
}
