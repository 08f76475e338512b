//! Migration: rewrite what is failing or obsolete before it is lost.
//!
//! [`plan`] chooses, without touching any disc, what to rewrite and why:
//! - a volume with damaged, missing or failing copies (quality graded "act now") gets new copies
//!   of the same image (re-mastered byte-identical: *recopy*);
//! - a volume on an obsolete medium, or small volumes consolidated with `--consolidate`, has
//!   its records planned onto new volumes of the target medium (*remaster*), with its lineage;
//!
//! and for each, the copies to read from, the healthiest trusted one first. [`execute`] reads the
//! records back from those discs (every digest checked, the next copy tried when one is
//! damaged), stages them in the vault, masters the new images and registers the new copies as
//! planned. [`settle`] retires an old copy only when its replacement has been verified: a
//! replacing copy (`replaces`), or for remastered volumes a verified copy of the same role on
//! every new volume that took over its records.

use crate::master::{MasterOptions, MasteredImage};
use crate::model::{CopyState, DiscCopy, FileKind, NewCopy, Volume, VolumeState};
use crate::plan::{PlanOptions, VolumePlan};
use crate::progress::Progress;
use crate::restore::{PickFile, PickList, RestoreOptions, Selection};
use crate::{Error, Result, Vault};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Options of `migrate --plan`. Without `to_media`, the new volumes take the configured
/// `migration.target_media`, else the plan media.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default)]
pub struct MigrateOptions {
    /// Media to leave (besides migration.obsolete_media in the config), comma separated.
    #[cfg_attr(
        feature = "clap",
        arg(long = "obsolete", value_name = "OBSOLETE", value_delimiter = ',')
    )]
    pub obsolete_media: Vec<String>,
    /// Media of the new volumes.
    #[cfg_attr(feature = "clap", arg(long))]
    pub to_media: Option<String>,
    /// Remaster small volumes together onto fewer discs.
    #[cfg_attr(feature = "clap", arg(long))]
    pub consolidate: bool,
    /// Judge trust at this time (unix seconds); now when `None`.
    #[cfg_attr(feature = "clap", arg(skip))]
    pub at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MigrationAction {
    /// New copies of the same image replace the bad ones.
    Recopy,
    /// The records move onto new volumes; every copy of the old volume is replaced.
    Remaster,
}

/// A copy to read a volume from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceCopy {
    pub copy_id: String,
    pub barcode: String,
    pub place: String,
    pub state: CopyState,
    pub grade: String,
    pub trusted: bool,
}

/// One volume to rewrite.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MigrationItem {
    pub volume_id: String,
    pub media: String,
    pub action: MigrationAction,
    pub reasons: Vec<String>,
    /// Copies retired once their replacements are verified.
    pub replace: Vec<String>,
    /// Copies to read from, the healthiest first.
    pub read_from: Vec<SourceCopy>,
}

/// A volume that needs rewriting but cannot be.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Blocked {
    pub volume_id: String,
    pub reason: String,
}

/// What a migration would do: shown by `migrate --plan`, carried out by [`execute`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MigrationPlan {
    pub items: Vec<MigrationItem>,
    pub blocked: Vec<Blocked>,
    /// New volumes for the remastered records.
    pub new_volumes: Option<VolumePlan>,
    /// Volumes whose discs must be at hand (those above, and any holding other parts of their
    /// split files).
    pub needed_volumes: Vec<String>,
}

/// Plans the migration, writing nothing.
pub fn plan(vault: &Vault, opts: &MigrateOptions) -> Result<MigrationPlan> {
    let now = opts.at.unwrap_or_else(crate::now_unix);
    let cfg = &vault.config.migration;
    let target = opts
        .to_media
        .clone()
        .filter(|m| !m.is_empty())
        .or_else(|| Some(cfg.target_media.clone()).filter(|m| !m.is_empty()))
        .unwrap_or_else(|| vault.config.plan.media.clone());
    let target_profile = crate::media::MediaProfile::parse(&target)?;
    let mut obsolete: BTreeSet<String> = cfg.obsolete_media.iter().cloned().collect();
    for m in &opts.obsolete_media {
        crate::media::MediaProfile::parse(m)?;
        obsolete.insert(m.clone());
    }
    if obsolete.contains(&target_profile.name) {
        return Err(Error::Invalid {
            field: "to-media".into(),
            detail: format!("{} is itself listed as obsolete", target_profile.name),
        });
    }
    let already: BTreeSet<String> = vault
        .catalog
        .lineage()?
        .into_iter()
        .map(|(_, old, _)| old)
        .collect();
    let mut by_volume: BTreeMap<String, Vec<DiscCopy>> = BTreeMap::new();
    let all_copies = vault.catalog.copies(None)?;
    let replaced: BTreeSet<String> = all_copies
        .iter()
        .filter(|c| c.state != CopyState::Retired)
        .filter_map(|c| c.replaces.clone())
        .collect();
    for c in all_copies {
        by_volume.entry(c.volume_id.clone()).or_default().push(c);
    }

    let mut items = Vec::new();
    let mut blocked = Vec::new();
    let mut small = Vec::new();
    let consolidate_below =
        (target_profile.bytes() as f64 * cfg.consolidate_below_percent / 100.0) as u64;
    for v in vault.catalog.volumes()? {
        if v.state != VolumeState::Mastered || already.contains(&v.volume_id) {
            continue;
        }
        let copies: Vec<&DiscCopy> = by_volume
            .get(&v.volume_id)
            .map(|cs| {
                cs.iter()
                    .filter(|c| c.state != CopyState::Retired)
                    .collect()
            })
            .unwrap_or_default();
        let failing = |c: &DiscCopy| {
            matches!(c.state, CopyState::Damaged | CopyState::Missing) || c.grade == "act_now"
        };
        let mut reasons = Vec::new();
        let bad: Vec<&DiscCopy> = copies
            .iter()
            .copied()
            .filter(|c| failing(c) && !replaced.contains(&c.copy_id))
            .collect();
        for c in &bad {
            reasons.push(
                if c.grade == "act_now"
                    && !matches!(c.state, CopyState::Damaged | CopyState::Missing)
                {
                    format!("copy {} fails its quality test (act now)", c.copy_id)
                } else {
                    format!("copy {} is {}", c.copy_id, c.state.as_str())
                },
            );
        }
        let action = if obsolete.contains(&v.media) {
            reasons.push(format!("medium {} is obsolete", v.media));
            Some(MigrationAction::Remaster)
        } else if !bad.is_empty() {
            Some(MigrationAction::Recopy)
        } else {
            None
        };
        if opts.consolidate
            && action != Some(MigrationAction::Remaster)
            && v.image_bytes < consolidate_below
        {
            small.push((
                v,
                copies,
                reasons,
                bad.iter()
                    .map(|c| c.copy_id.clone())
                    .collect::<Vec<String>>(),
            ));
            continue;
        }
        let Some(action) = action else { continue };
        let replace = match action {
            MigrationAction::Recopy => bad.iter().map(|c| c.copy_id.clone()).collect(),
            MigrationAction::Remaster => copies.iter().map(|c| c.copy_id.clone()).collect(),
        };
        push_item(
            vault,
            now,
            &v,
            &copies,
            action,
            reasons,
            replace,
            &mut items,
            &mut blocked,
        );
    }
    // Consolidation pays only when two or more small volumes go together.
    let n_small = small.len();
    for (v, copies, mut reasons, bad) in small {
        if n_small >= 2 {
            reasons.push(format!(
                "fills {:.0}% of a {} disc: consolidated with {} other small volumes",
                v.image_bytes as f64 * 100.0 / target_profile.bytes() as f64,
                target_profile.name,
                n_small - 1
            ));
            let replace = copies.iter().map(|c| c.copy_id.clone()).collect();
            push_item(
                vault,
                now,
                &v,
                &copies,
                MigrationAction::Remaster,
                reasons,
                replace,
                &mut items,
                &mut blocked,
            );
        } else if !bad.is_empty() {
            push_item(
                vault,
                now,
                &v,
                &copies,
                MigrationAction::Recopy,
                reasons,
                bad,
                &mut items,
                &mut blocked,
            );
        }
    }

    // New volumes for the remastered records: every file that has a part on them, whole.
    let mut files = BTreeMap::new();
    for it in items
        .iter()
        .filter(|i| i.action == MigrationAction::Remaster)
    {
        let v = vault.catalog.volume(&it.volume_id)?;
        for e in vault.catalog.volume_contents(&v)? {
            files
                .entry(e.file.id)
                .or_insert((e.collection.clone(), e.file.clone()));
        }
    }
    let new_volumes = if files.is_empty() {
        None
    } else {
        let mut files: Vec<_> = files.into_values().collect();
        files.sort_by(|a, b| (&a.0, &a.1.path_raw).cmp(&(&b.0, &b.1.path_raw)));
        Some(crate::plan::plan_files(
            vault,
            &PlanOptions {
                media: Some(target_profile.name.clone()),
                reserve_percent: None,
                redundancy_percent: None,
                parity_group: None,
                parity_volumes: None,
                // New discs as the vault makes them now.
                file_systems: None,
            },
            files,
        )?)
    };
    let needed_volumes = pick_all(vault, &items)?.volumes;
    Ok(MigrationPlan {
        items,
        blocked,
        new_volumes,
        needed_volumes,
    })
}

#[allow(clippy::too_many_arguments)]
fn push_item(
    vault: &Vault,
    now: i64,
    v: &Volume,
    copies: &[&DiscCopy],
    action: MigrationAction,
    reasons: Vec<String>,
    replace: Vec<String>,
    items: &mut Vec<MigrationItem>,
    blocked: &mut Vec<Blocked>,
) {
    let read_from = healthiest(vault, copies, now);
    if read_from.is_empty() {
        blocked.push(Blocked {
            volume_id: v.volume_id.clone(),
            reason: format!(
                "{}; no readable copy is registered (all damaged, missing or retired)",
                reasons.join("; ")
            ),
        });
        return;
    }
    items.push(MigrationItem {
        volume_id: v.volume_id.clone(),
        media: v.media.clone(),
        action,
        reasons,
        replace,
        read_from,
    });
}

/// Copies worth reading, the healthiest first: trusted before untrusted, verified before
/// written, good quality before unknown before "watch", the most recently verified first.
fn healthiest(vault: &Vault, copies: &[&DiscCopy], now: i64) -> Vec<SourceCopy> {
    let mut ok: Vec<(&DiscCopy, bool)> = copies
        .iter()
        .filter(|c| matches!(c.state, CopyState::Written | CopyState::Verified))
        .filter(|c| c.grade != "act_now")
        .map(|c| (*c, crate::copies::trusted(vault, c, now)))
        .collect();
    let grade_rank = |g: &str| match g {
        "good" => 0,
        "" => 1,
        _ => 2,
    };
    ok.sort_by_key(|(c, t)| {
        (
            !t,
            c.state != CopyState::Verified,
            grade_rank(&c.grade),
            std::cmp::Reverse(c.verified_at.unwrap_or(0)),
            c.copy_id.clone(),
        )
    });
    ok.into_iter()
        .map(|(c, trusted)| SourceCopy {
            copy_id: c.copy_id.clone(),
            barcode: c.barcode.clone(),
            place: c.place.to_string(),
            state: c.state,
            grade: c.grade.clone(),
            trusted,
        })
        .collect()
}

/// One pick list for the records of every item (split files once, whole).
fn pick_all(vault: &Vault, items: &[MigrationItem]) -> Result<PickList> {
    let mut files: BTreeMap<(String, Vec<u8>, i64), PickFile> = BTreeMap::new();
    let mut volumes = BTreeSet::new();
    for it in items {
        let l = crate::restore::pick(vault, &Selection::Volume(it.volume_id.clone()))?;
        volumes.extend(l.volumes);
        for f in l.files {
            files
                .entry((f.collection.clone(), f.path_raw.clone(), f.version))
                .or_insert(f);
        }
    }
    Ok(PickList {
        files: files.into_values().collect(),
        volumes: volumes.into_iter().collect(),
        ..Default::default()
    })
}

/// What a migration did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MigrateReport {
    /// Volumes needed that were not among the sources: nothing was done.
    pub missing_volumes: Vec<String>,
    /// Records read back and staged in the vault.
    pub staged_files: u64,
    pub images: Vec<MasteredImage>,
    /// Copies registered (state planned): burn the images, then `verify --copy` each.
    pub new_copies: Vec<DiscCopy>,
    /// New volumes of an earlier migration that was interrupted after recording them, finished
    /// by this run (mastered, their copies registered).
    #[serde(default)]
    pub resumed: Vec<String>,
}

/// Carries out a plan with the discs at hand (`sources`: images, drives or mounted discs),
/// writing the new images to `out`.
pub fn execute(
    vault: &Vault,
    plan: &MigrationPlan,
    sources: &[PathBuf],
    out: &Path,
    progress: &dyn Progress,
) -> Result<MigrateReport> {
    let _lock = vault.lock("migrate", progress)?;
    let mut report = MigrateReport::default();
    // An earlier run recorded new volumes and stopped (a crash, a kill) before it mastered them
    // or registered their copies: their records are staged, so they are finished first.
    let mut unfinished = Vec::new();
    let mut seen = BTreeSet::new();
    for (new_id, _, _) in vault.catalog.lineage()? {
        if !seen.insert(new_id.clone()) {
            continue;
        }
        let v = vault.catalog.volume(&new_id)?;
        if v.state == VolumeState::Planned || vault.catalog.copies(Some(&new_id))?.is_empty() {
            unfinished.push(v);
        }
    }
    // Staging folders of runs that were killed while reading records back.
    if let Ok(rd) = std::fs::read_dir(vault.staging_dir()) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with("migrate-") {
                let p = e.path();
                std::fs::remove_dir_all(&p).map_err(|e| Error::Io { path: p, source: e })?;
            }
        }
    }
    if !unfinished.is_empty() {
        report.resumed = unfinished.iter().map(|v| v.volume_id.clone()).collect();
        finish_new_volumes(vault, &unfinished, out, progress, &mut report)?;
    }
    if plan.items.is_empty() {
        return Ok(report);
    }
    // Which volumes the sources hold.
    let mut have = BTreeSet::new();
    for s in sources {
        let mut src = crate::source::open(s)?;
        have.insert(crate::identify::identify(vault, src.as_mut())?.volume_id);
    }
    report.missing_volumes = plan
        .needed_volumes
        .iter()
        .filter(|v| !have.contains(*v))
        .cloned()
        .collect();
    if !report.missing_volumes.is_empty() {
        return Ok(report);
    }

    // 1. Read every record back from the discs into the vault's staging area. Versions of one
    // record have one path: each is read into a folder of its own (the k-th version of each
    // path into the k-th folder).
    let list = pick_all(vault, &plan.items)?;
    let tmp = vault.staging_dir().join(format!(
        "migrate-{}-{}",
        std::process::id(),
        crate::now_unix()
    ));
    let mut staged = Ok(0);
    for (k, layer) in version_layers(&list).iter().enumerate() {
        let dir = tmp.join(k.to_string());
        let restored = crate::restore::restore(
            Some(vault),
            layer,
            &RestoreOptions {
                to: dir.clone(),
                from: sources.to_vec(),
                overwrite: false,
                // The records are remastered as they were ingested.
                keep_special_modes: true,
            },
            progress,
        );
        staged = restored.and_then(|r| {
            if r.problems.is_empty() && r.missing_volumes.is_empty() {
                Ok(staged.as_ref().map_or(0, |n| *n) + stage(vault, layer, &dir)?)
            } else {
                Err(Error::Volume {
                    volume: layer.volumes.join(", "),
                    detail: format!(
                        "records could not be read back, nothing migrated: {}",
                        r.problems
                            .iter()
                            .map(|p| format!("{} ({})", p.path, p.reason))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                })
            }
        });
        if staged.is_err() {
            break;
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    report.staged_files = staged?;

    // 2. Recopy: the same image again (mastering checks it comes out identical).
    let recopy: Vec<&MigrationItem> = plan
        .items
        .iter()
        .filter(|i| i.action == MigrationAction::Recopy)
        .collect();
    if !recopy.is_empty() {
        report.images.extend(crate::master::master(
            vault,
            &MasterOptions {
                volumes: recopy.iter().map(|i| i.volume_id.clone()).collect(),
                out: out.to_path_buf(),
                again: true,
            },
            progress,
        )?);
        for it in &recopy {
            let v = vault.catalog.volume(&it.volume_id)?;
            let mut news = Vec::new();
            for id in &it.replace {
                let old = vault.catalog.copy(id)?;
                news.push(NewCopy {
                    role: old.role.clone(),
                    medium: v.media.clone(),
                    state: Some(CopyState::Planned),
                    replaces: Some(old.copy_id.clone()),
                    ..Default::default()
                });
            }
            report
                .new_copies
                .extend(vault.catalog.add_copies(&v.volume_id, &news)?);
        }
    }

    // 3. Remaster: the new volumes, recorded with their lineage, then mastered.
    if let Some(np) = &plan.new_volumes {
        let remastered: BTreeMap<String, &MigrationItem> = plan
            .items
            .iter()
            .filter(|i| i.action == MigrationAction::Remaster)
            .map(|i| (i.volume_id.clone(), i))
            .collect();
        // Which old volumes hold each file.
        let mut old_of: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
        let mut old_ids = BTreeMap::new();
        for id in remastered.keys() {
            let v = vault.catalog.volume(id)?;
            old_ids.insert(v.id, v.clone());
            for e in vault.catalog.volume_contents(&v)? {
                old_of.entry(e.file.id).or_default().insert(v.id);
            }
        }
        let lineage: Vec<Vec<(i64, String)>> = np
            .volumes
            .iter()
            .map(|nv| {
                let olds: BTreeSet<i64> = nv
                    .items
                    .iter()
                    .flat_map(|i| old_of.get(&i.file_id).cloned().unwrap_or_default())
                    .collect();
                olds.into_iter()
                    .map(|o| {
                        let reason = remastered
                            .get(&old_ids[&o].volume_id)
                            .map(|i| i.reasons.join("; "))
                            .unwrap_or_default();
                        (o, reason)
                    })
                    .collect()
            })
            .collect();
        let created = crate::plan::execute_with_lineage(vault, np, &lineage)?;
        finish_new_volumes(vault, &created, out, progress, &mut report)?;
    }
    Ok(report)
}

/// Masters the new volumes of a migration that are still planned, and registers the copies of
/// those that have none.
fn finish_new_volumes(
    vault: &Vault,
    volumes: &[Volume],
    out: &Path,
    progress: &dyn Progress,
    report: &mut MigrateReport,
) -> Result<()> {
    let planned: Vec<String> = volumes
        .iter()
        .filter(|v| v.state == VolumeState::Planned)
        .map(|v| v.volume_id.clone())
        .collect();
    if !planned.is_empty() {
        report.images.extend(crate::master::master(
            vault,
            &MasterOptions {
                volumes: planned,
                out: out.to_path_buf(),
                again: false,
            },
            progress,
        )?);
    }
    for v in volumes {
        if !vault.catalog.copies(Some(&v.volume_id))?.is_empty() {
            continue;
        }
        let news: Vec<NewCopy> = vault
            .config
            .copies
            .roles
            .iter()
            .map(|r| NewCopy {
                role: r.clone(),
                medium: v.media.clone(),
                state: Some(CopyState::Planned),
                ..Default::default()
            })
            .collect();
        report
            .new_copies
            .extend(vault.catalog.add_copies(&v.volume_id, &news)?);
    }
    Ok(())
}

/// The pick list in layers that each hold one version of a record at most: the k-th version
/// of each path (in the list's order) in the k-th layer, with the list's volumes.
fn version_layers(list: &PickList) -> Vec<PickList> {
    let mut seen: BTreeMap<(&str, &[u8]), usize> = BTreeMap::new();
    let mut layers: Vec<PickList> = Vec::new();
    for f in &list.files {
        let n = seen
            .entry((f.collection.as_str(), f.path_raw.as_slice()))
            .or_default();
        if layers.len() <= *n {
            layers.push(PickList {
                files: Vec::new(),
                volumes: list.volumes.clone(),
                unmastered: list.unmastered.clone(),
                unplaced: list.unplaced.clone(),
                from_discs: list.from_discs,
            });
        }
        layers[*n].files.push(f.clone());
        *n += 1;
    }
    layers
}

/// Moves the records restored under `tmp` into the content-addressed staging area and points
/// the catalog at them. Returns how many were staged.
fn stage(vault: &Vault, list: &PickList, tmp: &Path) -> Result<u64> {
    let store = vault.staging_dir();
    let mut ids = BTreeMap::new();
    for f in &list.files {
        if f.kind != FileKind::File {
            continue;
        }
        let Some(sha) = &f.sha256 else { continue };
        let rel = crate::restore::safe_target(tmp, &f.collection, &f.path_raw).map_err(|e| {
            Error::Restore {
                path: tmp.to_path_buf(),
                detail: e,
            }
        })?;
        let sub = store.join(&sha[..2]);
        std::fs::create_dir_all(&sub).map_err(|e| Error::Io {
            path: sub.clone(),
            source: e,
        })?;
        let dest = sub.join(sha);
        if dest.exists() {
            std::fs::remove_file(&rel).ok();
        } else {
            std::fs::rename(&rel, &dest).map_err(|e| Error::Io {
                path: rel.clone(),
                source: e,
            })?;
        }
        ids.insert(
            (f.collection.clone(), f.path_raw.clone(), f.version),
            dest.as_os_str().as_bytes().to_vec(),
        );
    }
    // File ids of the picked records.
    let mut staged = Vec::new();
    let mut seen = BTreeSet::new();
    for v in &list.volumes {
        let vol = vault.catalog.volume(v)?;
        for e in vault.catalog.volume_contents(&vol)? {
            let key = (
                e.collection.clone(),
                e.file.path_raw.clone(),
                e.file.version,
            );
            if let Some(src) = ids.get(&key) {
                if seen.insert(e.file.id) {
                    staged.push((e.file.id, src.clone()));
                }
            }
        }
    }
    vault.catalog.set_staged_sources(&staged)?;
    Ok(staged.len() as u64)
}

pub use crate::copies::settle;
