//! Plan: pack every unplanned file into volumes.
//!
//! A collection, or failing that a directory, stays together on one disc whenever it fits;
//! otherwise units are packed first-fit-decreasing. A file larger than a disc is split into parts.
//! Each volume's real image size (file system and tag files, as the image writer will lay them
//! out) is computed, not guessed: a volume whose exact layout would not fit gives back units
//! until it does. The result is a [`VolumePlan`] that can be shown before it is recorded.

use crate::digest::Digests;
use crate::format::{self, VolumeItem};
use crate::master::{add_parity, add_recovery, build_spec, snapshot_budget, volume_context};
use crate::media::{MediaProfile, SECTOR};
use crate::model::{
    Collection, Content, FileKind, FileRecord, FileSystems, NewVolume, Volume, VolumeKind,
    VolumeState,
};
use crate::{Error, Result, Vault};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

mod probe;
use probe::{exact_image_bytes, parity_image_bytes};

/// Options of `discvault plan`.
///
/// Each `None` takes the vault's setting (`[plan]` and `[recovery]` in discvault.toml). With
/// the `clap` feature these are the command line's options, their help the comments below.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default, deny_unknown_fields)]
pub struct PlanOptions {
    /// Media profile: cd74 cd80 dvd5 dvd9 bd25 bd50 bd100 bd128 custom:<bytes>.
    #[cfg_attr(feature = "clap", arg(long))]
    pub media: Option<String>,
    /// Share of each disc kept free, in percent.
    #[cfg_attr(feature = "clap", arg(long = "reserve", value_name = "RESERVE"))]
    pub reserve_percent: Option<f64>,
    /// PAR2 recovery data on every disc, in percent of the bytes it protects (0: none;
    /// default from [recovery] in discvault.toml, 10).
    #[cfg_attr(feature = "clap", arg(long = "redundancy", value_name = "REDUNDANCY"))]
    pub redundancy_percent: Option<f64>,
    /// A parity volume after every N data volumes: a disc that rebuilds any one of them
    /// lost whole (0: none; default recovery.parity_group).
    #[cfg_attr(feature = "clap", arg(long, value_name = "N"))]
    pub parity_group: Option<u32>,
    /// Parity volumes per group: any K discs of a group lost whole are rebuilt (default
    /// recovery.parity_volumes, 1).
    #[cfg_attr(feature = "clap", arg(long, value_name = "K"))]
    pub parity_volumes: Option<u32>,
    /// File systems of the new discs: bridge (ISO 9660 and UDF, full names on Windows and
    /// macOS) or iso9660 (ISO 9660 only); default plan.file_systems, bridge.
    #[cfg_attr(feature = "clap", arg(long, value_enum, value_name = "FILE_SYSTEMS"))]
    pub file_systems: Option<FileSystems>,
}

/// One file or part in a planned volume.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlannedItem {
    pub collection: String,
    pub path: String,
    #[serde(skip)]
    pub file_id: i64,
    pub part: u32,
    pub parts: u32,
    pub offset: u64,
    pub length: u64,
}

/// A volume of a plan.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlannedVolume {
    /// The id the volume will get when the plan is recorded.
    pub volume_id: String,
    pub seq: u32,
    pub seq_count: u32,
    pub files: u64,
    pub payload_bytes: u64,
    /// Exact image size (with the catalog snapshot at its reserved size).
    pub image_bytes: u64,
    /// Of which recovery data (PAR2).
    pub recovery_bytes: u64,
    pub fill_ratio: f64,
    /// `data`, or `parity` for a volume of PAR2 data over the images of `parity_of`.
    #[serde(default)]
    pub kind: VolumeKind,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parity_of: Vec<String>,
    pub items: Vec<PlannedItem>,
}

/// The result of planning: shown by `--dry-run`, recorded by [`execute`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VolumePlan {
    pub media: MediaProfile,
    pub reserve_percent: f64,
    /// PAR2 recovery data on every disc, in percent of the bytes it protects.
    pub redundancy_percent: f64,
    /// Slices (and files at most) of each recovery set.
    pub recovery_slices_per_set: u32,
    /// Data volumes per parity group (0: no parity volumes), and parity volumes per group.
    #[serde(default)]
    pub parity_group: u32,
    #[serde(default)]
    pub parity_volumes: u32,
    /// File systems of every volume of the plan.
    #[serde(default)]
    pub file_systems: FileSystems,
    pub capacity_bytes: u64,
    /// Bytes per disc available to the image after the reserve.
    pub usable_bytes: u64,
    pub files: u64,
    pub payload_bytes: u64,
    pub volumes: Vec<PlannedVolume>,
    /// Collection metadata changed since the last plan was recorded (the discs already written
    /// keep the values they were planned with).
    #[serde(default)]
    pub metadata_changes: Vec<String>,
}

/// One file or part placed in a volume: (index in the unplanned files, part, parts, offset,
/// length).
type Slot = (usize, u32, u32, u64, u64);

struct Unit {
    key: Vec<u8>,
    items: Vec<Slot>,
    cost: u64,
    /// The unit's versions of records of which several versions are planned at once (a
    /// migration's): (record path number, file index). Two versions of one record cannot share
    /// a disc, where they would have one path.
    versions: Vec<(usize, usize)>,
}

/// Whether `u` would put a second version of a record on the volume holding `list`.
fn clash(list: &[Unit], u: &Unit) -> bool {
    !u.versions.is_empty()
        && list.iter().any(|x| {
            x.versions
                .iter()
                .any(|(k, f)| u.versions.iter().any(|(k2, f2)| k == k2 && f != f2))
        })
}

/// What a file costs besides its data depends on: the digests recorded, and the UDF tree.
#[derive(Clone, Copy)]
struct Costs {
    algs: usize,
    udf: bool,
}

impl Costs {
    /// Sectors a folder takes: its extents in the ISO 9660 and Joliet trees, and in the UDF
    /// tree its entry (holding the identifiers of a small folder).
    fn dir_sectors(self) -> u64 {
        if self.udf {
            3
        } else {
            2
        }
    }
}

fn meta_cost(path_len: usize, c: Costs) -> u64 {
    // Directory records in both trees, Rock Ridge names, manifest lines, the volume record;
    // in the UDF tree a file entry (a block) and an identifier.
    let udf = if c.udf { 2048 + 64 + path_len } else { 0 };
    (700 + 4 * path_len + c.algs * (80 + path_len) + udf) as u64
}

fn data_cost(len: u64) -> u64 {
    len.div_ceil(SECTOR) * SECTOR
}

/// Computes a plan for every unplanned file, writing nothing.
pub fn plan(vault: &Vault, opts: &PlanOptions) -> Result<VolumePlan> {
    plan_files(vault, opts, vault.catalog.unplanned_files()?)
}

/// Computes a plan for the given files (with their collection names, in collection and path
/// order), writing nothing. A migration plans the records of old volumes this way.
pub fn plan_files(
    vault: &Vault,
    opts: &PlanOptions,
    files: Vec<(String, crate::model::FileRecord)>,
) -> Result<VolumePlan> {
    let media = MediaProfile::parse(opts.media.as_deref().unwrap_or(&vault.config.plan.media))?;
    let reserve = opts
        .reserve_percent
        .unwrap_or(vault.config.plan.reserve_percent);
    if !(0.0..90.0).contains(&reserve) {
        return Err(Error::Invalid {
            field: "reserve".into(),
            detail: format!("{reserve}% is outside 0..90"),
        });
    }
    let redundancy = opts
        .redundancy_percent
        .unwrap_or_else(|| vault.config.recovery.percent_for(&media.name));
    if !(0.0..=100.0).contains(&redundancy) {
        return Err(Error::Invalid {
            field: "redundancy".into(),
            detail: format!("{redundancy}% is outside 0..100"),
        });
    }
    let recovery = (
        (redundancy * 10.0).round() as i64,
        vault.config.recovery.slices_per_set as i64,
    );
    let parity_group = opts
        .parity_group
        .unwrap_or(vault.config.recovery.parity_group);
    let parity_volumes = match parity_group {
        0 => 0,
        _ => opts
            .parity_volumes
            .unwrap_or(vault.config.recovery.parity_volumes),
    };
    if parity_group > 0 && !(1..=8).contains(&parity_volumes) {
        return Err(Error::Invalid {
            field: "parity_volumes".into(),
            detail: format!("{parity_volumes} parity volumes per group: 1 to 8"),
        });
    }
    let file_systems = opts.file_systems.unwrap_or(vault.config.plan.file_systems);
    let collections = vault.catalog.collections()?;
    let capacity = media.bytes();
    let usable = ((capacity as f64) * (1.0 - reserve / 100.0)) as u64 / SECTOR * SECTOR;
    let existing = vault.catalog.volumes()?;
    let known_files = vault.catalog.count_files_on_volumes_upto(i64::MAX)?;
    let budget = snapshot_budget(
        capacity,
        vault.config.plan.index_share_percent,
        known_files + files.len() as u64,
    );
    let parity_bytes = |members: &[u64], seq_count: u32| {
        parity_image_bytes(
            vault,
            &collections,
            (&media, file_systems),
            budget,
            seq_count,
            members,
        )
    };
    // A parity disc holds about one image of its group and its own file system and tag files:
    // the data volumes leave room for those.
    let usable = if parity_group > 0 {
        let overhead = parity_bytes(&vec![usable; parity_group as usize], 999)?.0 - usable;
        usable.checked_sub(overhead).ok_or_else(|| Error::Invalid {
            field: "media".into(),
            detail: format!("{} is too small for parity volumes", media.name),
        })? / SECTOR
            * SECTOR
    } else {
        usable
    };
    let costs = Costs {
        algs: vault.config.ingest.digests.len(),
        udf: file_systems.udf(),
    };
    let payload_bytes: u64 = files.iter().map(|(_, f)| f.size).sum();

    // Fixed overhead of an image: descriptors, path tables, root directories, tag files.
    let probe_sizes = |items: &[Slot], seq_count: u32| -> Result<(u64, u64)> {
        exact_image_bytes(
            vault,
            &collections,
            &files,
            items,
            (&media, file_systems),
            budget,
            seq_count,
            recovery,
            parity_group > 0,
        )
    };
    let probe = |items: &[Slot], seq_count: u32| probe_sizes(items, seq_count).map(|s| s.0);
    let empty = probe(&[], 999)?;
    if empty + 64 * SECTOR > usable {
        return Err(Error::Invalid {
            field: "media".into(),
            detail: format!(
                "{} with {reserve}% reserve leaves {usable} bytes, less than a disc needs: {empty} bytes of its own metadata and room for 64 sectors of records ({} bytes)",
                media.name,
                empty + 64 * SECTOR
            ),
        });
    }
    // Room for records: what is left once the recovery data that protect them are counted
    // (the exact check below corrects the estimate).
    let room = if recovery.0 > 0 {
        // Per byte protected: the redundancy share, and per slice its checksums in both PAR2
        // files and a recovery packet header per recovery slice; a few slices for rounding.
        let slice = ((usable / recovery.1.max(1) as u64).div_ceil(SECTOR).max(1) * SECTOR) as f64;
        let r = recovery.0 as f64 / 1000.0;
        let factor = 1.0 + r + (40.0 + 68.0 * r) / slice;
        (((usable - empty) as f64 / factor) as u64).saturating_sub(3 * slice as u64)
    } else {
        usable - empty
    };

    // Several versions of one record (a migration plans old versions beside newer ones): each
    // is a unit of its own, and no volume takes two of them.
    let mut record_paths: BTreeMap<(&str, &[u8]), Vec<usize>> = BTreeMap::new();
    for (i, (c, f)) in files.iter().enumerate() {
        record_paths
            .entry((c.as_str(), f.path_raw.as_slice()))
            .or_default()
            .push(i);
    }
    let mut version_of: BTreeMap<usize, usize> = BTreeMap::new();
    for (k, idx) in record_paths.values().filter(|v| v.len() > 1).enumerate() {
        version_of.extend(idx.iter().map(|&i| (i, k)));
    }
    // Units: whole collections when they fit, else directories, else files and parts.
    let mut by_collection: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, (c, _)) in files.iter().enumerate() {
        if !version_of.contains_key(&i) {
            by_collection.entry(c.as_str()).or_default().push(i);
        }
    }
    let mut units = Vec::new();
    for (c, idx) in &by_collection {
        split_units(&files, c, idx, 0, room, costs, &mut units);
    }
    for (&i, &k) in &version_of {
        let from = units.len();
        split_units(&files, &files[i].0, &[i], 0, room, costs, &mut units);
        for u in &mut units[from..] {
            u.versions.push((k, i));
        }
    }
    // First-fit decreasing, ties broken by path so the result is deterministic.
    units.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.key.cmp(&b.key)));
    let mut bins: Vec<(u64, Vec<Unit>)> = Vec::new();
    let mut pending = units;
    loop {
        for u in pending.drain(..) {
            match bins
                .iter_mut()
                .find(|(used, list)| used + u.cost <= room && !clash(list, &u))
            {
                Some((used, list)) => {
                    *used += u.cost;
                    list.push(u);
                }
                None => bins.push((u.cost, vec![u])),
            }
        }
        // Exact check of every bin; a bin that would not fit gives back its smallest units.
        let mut spilled = Vec::new();
        for (used, list) in bins.iter_mut() {
            loop {
                let items: Vec<_> = list.iter().flat_map(|u| u.items.clone()).collect();
                let exact = probe(&items, 999)?;
                if exact <= usable || list.len() <= 1 {
                    if exact > usable {
                        return Err(Error::Invalid {
                            field: "plan".into(),
                            detail: format!(
                                "{} does not fit on {} even alone ({exact} bytes, {usable} usable)",
                                String::from_utf8_lossy(&list[0].key),
                                media.name
                            ),
                        });
                    }
                    break;
                }
                let u = list.pop().unwrap();
                *used -= u.cost;
                spilled.push(u);
            }
        }
        if spilled.is_empty() {
            break;
        }
        // Spilled units go to new volumes only, so the loop ends.
        let mut fresh: Vec<(u64, Vec<Unit>)> = Vec::new();
        spilled.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.key.cmp(&b.key)));
        for u in spilled {
            match fresh
                .iter_mut()
                .find(|(used, list)| used + u.cost <= room && !clash(list, &u))
            {
                Some((used, list)) => {
                    *used += u.cost;
                    list.push(u);
                }
                None => fresh.push((u.cost, vec![u])),
            }
        }
        bins.extend(fresh);
    }
    // Volumes in path order: the first volume holds the first paths.
    let mut vols: Vec<Vec<Slot>> = bins
        .into_iter()
        .map(|(_, list)| {
            let mut items: Vec<_> = list.into_iter().flat_map(|u| u.items).collect();
            items.sort_by(|a, b| {
                (files[a.0].0.as_str(), &files[a.0].1.path_raw, a.1).cmp(&(
                    files[b.0].0.as_str(),
                    &files[b.0].1.path_raw,
                    b.1,
                ))
            });
            items
        })
        .collect();
    vols.sort_by(|a, b| {
        let k = |v: &Vec<Slot>| {
            v.first()
                .map(|i| (files[i.0].0.clone(), files[i.0].1.path_raw.clone(), i.1))
        };
        k(a).cmp(&k(b))
    });
    let groups = match parity_group {
        0 => 0,
        g => vols.len().div_ceil(g as usize) * parity_volumes as usize,
    };
    let count = (vols.len() + groups) as u32;
    let first_number = existing.iter().map(|v| v.id).max().unwrap_or(0) + 1;
    let prefix = &vault.config.vault.volume_prefix;
    let id_at = |k: usize| format!("{prefix}-{:06}", first_number + k as i64);
    let mut volumes: Vec<PlannedVolume> = Vec::new();
    let mut group: Vec<usize> = Vec::new();
    let last = vols.len();
    for (k, items) in vols.into_iter().enumerate() {
        let (image_bytes, recovery_bytes) = probe_sizes(&items, count)?;
        let payload: u64 = items.iter().map(|i| i.4).sum();
        group.push(volumes.len());
        volumes.push(PlannedVolume {
            volume_id: id_at(volumes.len()),
            seq: volumes.len() as u32 + 1,
            seq_count: count,
            files: items
                .iter()
                .filter(|i| files[i.0].1.kind == FileKind::File)
                .count() as u64,
            payload_bytes: payload,
            image_bytes,
            recovery_bytes,
            fill_ratio: image_bytes as f64 / capacity as f64,
            kind: VolumeKind::Data,
            parity_of: Vec::new(),
            items: items
                .iter()
                .map(|&(i, part, parts, offset, length)| PlannedItem {
                    collection: files[i].0.clone(),
                    path: files[i].1.path.clone(),
                    file_id: files[i].1.id,
                    part,
                    parts,
                    offset,
                    length,
                })
                .collect(),
        });
        if parity_group > 0 && (group.len() == parity_group as usize || k + 1 == last) {
            let sizes: Vec<u64> = group.iter().map(|&g| volumes[g].image_bytes).collect();
            let (image_bytes, recovery_bytes) = parity_bytes(&sizes, count)?;
            let members: Vec<String> = group
                .iter()
                .map(|&g| volumes[g].volume_id.clone())
                .collect();
            group.clear();
            for _ in 0..parity_volumes {
                volumes.push(PlannedVolume {
                    volume_id: id_at(volumes.len()),
                    seq: volumes.len() as u32 + 1,
                    seq_count: count,
                    files: 0,
                    payload_bytes: 0,
                    image_bytes,
                    recovery_bytes,
                    fill_ratio: image_bytes as f64 / capacity as f64,
                    kind: VolumeKind::Parity,
                    parity_of: members.clone(),
                    items: Vec::new(),
                });
            }
        }
    }
    Ok(VolumePlan {
        media,
        reserve_percent: reserve,
        redundancy_percent: recovery.0 as f64 / 10.0,
        recovery_slices_per_set: recovery.1 as u32,
        parity_group,
        parity_volumes,
        file_systems,
        capacity_bytes: capacity,
        usable_bytes: usable,
        files: files.len() as u64,
        payload_bytes,
        volumes,
        metadata_changes: vault.catalog.metadata_changes_since_last_plan()?,
    })
}

/// Splits the files `idx` (all under the same directory prefix of `depth` components) into
/// units that fit in `room`.
fn split_units(
    files: &[(String, FileRecord)],
    collection: &str,
    idx: &[usize],
    depth: usize,
    room: u64,
    costs: Costs,
    out: &mut Vec<Unit>,
) {
    let cost_of = |i: usize| {
        let f = &files[i].1;
        data_cost(f.size) + meta_cost(collection.len() + f.path_raw.len(), costs)
    };
    let mut dirs = std::collections::BTreeSet::new();
    for &i in idx {
        let p = &files[i].1.path_raw;
        for (k, b) in p.iter().enumerate() {
            if *b == b'/' {
                dirs.insert(&p[..k]);
            }
        }
    }
    let total: u64 = idx.iter().map(|&i| cost_of(i)).sum::<u64>()
        + dirs.len() as u64 * costs.dir_sectors() * SECTOR;
    let key_of = |i: usize| {
        let mut k = collection.as_bytes().to_vec();
        k.push(b'/');
        k.extend_from_slice(&files[i].1.path_raw);
        k
    };
    if total <= room {
        out.push(Unit {
            key: key_of(idx[0]),
            items: idx.iter().map(|&i| (i, 1, 1, 0, files[i].1.size)).collect(),
            cost: total,
            versions: Vec::new(),
        });
        return;
    }
    // Group by the next path component: subdirectories become candidate units, files are units.
    let mut groups: BTreeMap<&[u8], Vec<usize>> = BTreeMap::new();
    let mut singles = Vec::new();
    for &i in idx {
        let p = &files[i].1.path_raw;
        let comps: Vec<&[u8]> = p.split(|&b| b == b'/').collect();
        if comps.len() > depth + 1 {
            let end: usize = comps[..=depth].iter().map(|c| c.len() + 1).sum::<usize>() - 1;
            groups.entry(&p[..end]).or_default().push(i);
        } else {
            singles.push(i);
        }
    }
    for (_, g) in groups {
        split_units(files, collection, &g, depth + 1, room, costs, out);
    }
    for i in singles {
        let f = &files[i].1;
        let c = cost_of(i);
        if c <= room {
            out.push(Unit {
                key: key_of(i),
                items: vec![(i, 1, 1, 0, f.size)],
                cost: c,
                versions: Vec::new(),
            });
            continue;
        }
        // Larger than a disc: parts that fill a disc each, the rest packed like any file. A
        // part alone on a disc brings its folders: each level a directory extent in both ISO
        // trees, and an entry in the UDF tree.
        let levels = f.path_raw.iter().filter(|&&b| b == b'/').count() as u64;
        let meta = meta_cost(collection.len() + f.path_raw.len() + 16, costs)
            + (2 + levels) * costs.dir_sectors() * SECTOR;
        let part_len = (room - meta) / SECTOR * SECTOR;
        let parts = f.size.div_ceil(part_len) as u32;
        for p in 0..parts {
            let offset = p as u64 * part_len;
            let length = part_len.min(f.size - offset);
            out.push(Unit {
                key: {
                    let mut k = key_of(i);
                    k.extend_from_slice(format!("#{p:06}").as_bytes());
                    k
                },
                items: vec![(i, p + 1, parts, offset, length)],
                cost: data_cost(length) + meta,
                versions: Vec::new(),
            });
        }
    }
}

/// Records a plan: creates its volumes in the catalog.
/// Plans the records on no volume yet and records the plan (unless `dry_run`), holding the
/// vault from planning to recording so that no other plan (of another station on a shared
/// catalog, say) is recorded in between.
pub fn plan_and_record(
    vault: &Vault,
    opts: &PlanOptions,
    dry_run: bool,
    progress: &dyn crate::progress::Progress,
) -> Result<VolumePlan> {
    let _lock = if dry_run {
        None
    } else {
        Some(vault.claim_waiting("plan", "plan", progress)?)
    };
    let p = plan(vault, opts)?;
    if !dry_run {
        execute(vault, &p)?;
    }
    Ok(p)
}

pub fn execute(vault: &Vault, plan: &VolumePlan) -> Result<Vec<Volume>> {
    execute_with_lineage(vault, plan, &[])
}

/// Records a plan whose volumes take over the records of older ones (a migration):
/// `lineage[i]` lists the (volume row id, reason) the i-th new volume takes over from.
pub fn execute_with_lineage(
    vault: &Vault,
    plan: &VolumePlan,
    lineage: &[Vec<(i64, String)>],
) -> Result<Vec<Volume>> {
    if plan.volumes.is_empty() {
        return Ok(Vec::new());
    }
    let _claim = vault.claim_waiting("plan", "plan", &crate::progress::NoProgress)?;
    let new: Vec<NewVolume> = plan
        .volumes
        .iter()
        .enumerate()
        .map(|(i, v)| NewVolume {
            volume_id: v.volume_id.clone(),
            payload_bytes: v.payload_bytes,
            image_bytes: v.image_bytes,
            recovery_permille: match v.kind {
                VolumeKind::Data => (plan.redundancy_percent * 10.0).round() as i64,
                VolumeKind::Parity => 0,
            },
            recovery_slices: match v.kind {
                VolumeKind::Data => plan.recovery_slices_per_set as i64,
                VolumeKind::Parity => crate::recovery::PARITY_SLICES,
            },
            parity_of: (v.kind == VolumeKind::Parity).then(|| {
                let members = v
                    .parity_of
                    .iter()
                    .filter_map(|m| plan.volumes.iter().position(|x| &x.volume_id == m))
                    .collect();
                // Its place among the parity volumes of the same group, before it in the plan.
                let index = plan.volumes[..i]
                    .iter()
                    .filter(|x| x.kind == VolumeKind::Parity && x.parity_of == v.parity_of)
                    .count() as i64;
                (members, index)
            }),
            contents: v
                .items
                .iter()
                .map(|i| Content {
                    file_id: i.file_id,
                    part: i.part,
                    parts: i.parts,
                    part_offset: i.offset,
                    length: i.length,
                    part_digests: None,
                    lba: None,
                })
                .collect(),
            lineage: lineage.get(i).cloned().unwrap_or_default(),
            file_systems: plan.file_systems,
        })
        .collect();
    let volumes = vault.catalog.record_plan(
        &plan.media,
        (plan.reserve_percent * 10.0).round() as i64,
        &vault.config.vault.volume_prefix,
        &new,
    )?;
    Ok(volumes)
}
