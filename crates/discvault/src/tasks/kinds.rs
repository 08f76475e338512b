//! The kinds of task: the options each takes (the library's options types, the CLI's flags as
//! JSON), checked and confined to `[server] roots` when a task is queued and again when it
//! runs, and the library call that runs it.

use super::confine;
use crate::ingest::AddOptions;
use crate::master::MasterOptions;
use crate::migrate::MigrateOptions;
use crate::model::{Task, TaskKind};
use crate::plan::PlanOptions;
use crate::progress::Progress;
use crate::publish::{PublishOptions, Target};
use crate::readback::ReadbackOptions;
use crate::repair::RepairOptions;
use crate::restore::{RestoreOptions, Selection};
use crate::verify::VerifyOptions;
use crate::{Error, Result, Vault};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The options of an `add` task: paths on the server, inside its roots.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AddTask {
    pub paths: Vec<PathBuf>,
    /// The upload whose records these are (`uploads.rs`): the paths lie in its folder, not
    /// in the roots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<String>,
    #[serde(flatten)]
    pub options: AddOptions,
}

/// The options of a `verify` task: images, pseudo drives, drives or mounted discs on the
/// server; with `copy`, one source, the result recorded against that copy.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VerifyTask {
    pub sources: Vec<PathBuf>,
    pub copy: Option<String>,
    #[serde(flatten)]
    pub options: VerifyOptions,
}

/// The options of a `readback` task: one source, read into `to`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ReadbackTask {
    pub source: PathBuf,
    #[serde(flatten)]
    pub options: ReadbackOptions,
}

/// The options of a `restore` task: what to restore (a `pattern` or a `volume`, and the
/// `version`), the discs or images to read (`from`) and the folder to restore into (`to`;
/// none: a folder of the vault's, for downloading as tar or zip).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RestoreTask {
    pub pattern: Option<String>,
    pub volume: Option<String>,
    pub version: Option<i64>,
    #[serde(flatten)]
    pub options: RestoreOptions,
}

/// The options of a `repair` task; with `dry_run`, only what could be repaired is told.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RepairTask {
    pub dry_run: bool,
    #[serde(flatten)]
    pub options: RepairOptions,
}

/// The options of a `migrate` task: the plan's options, the discs or images to read (`from`)
/// and the folder the new images are written to (`out`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MigrateTask {
    pub from: Vec<PathBuf>,
    pub out: PathBuf,
    #[serde(flatten)]
    pub options: MigrateOptions,
}

/// The keys each kind takes, for refusing a key it does not know (serde cannot refuse unknown
/// keys of a struct with a flattened part). Made from the options' defaults, so a key added to
/// an options type is known here at once.
fn known_keys<T: Default + Serialize>(always: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = always.iter().map(|s| s.to_string()).collect();
    if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(T::default()) {
        keys.extend(m.keys().cloned());
    }
    keys
}

fn parse<T: DeserializeOwned + Default + Serialize>(
    kind: TaskKind,
    params: serde_json::Value,
    optional: &[&str],
) -> Result<T> {
    let known = known_keys::<T>(optional);
    if let serde_json::Value::Object(m) = &params {
        if let Some(k) = m.keys().find(|k| !known.contains(k)) {
            return Err(Error::Invalid {
                field: "params".into(),
                detail: format!(
                    "a {} task takes no option {k:?} (it takes {})",
                    kind.name(),
                    known.join(", ")
                ),
            });
        }
    }
    serde_path_to_error::deserialize(params).map_err(|e| Error::Invalid {
        field: "params".into(),
        detail: format!("for a {} task: {e}", kind.name()),
    })
}

fn required(field: &str, detail: &str) -> Error {
    Error::Invalid {
        field: field.into(),
        detail: detail.into(),
    }
}

fn confine_all(roots: &[PathBuf], paths: &mut [PathBuf]) -> Result<()> {
    for p in paths.iter_mut() {
        *p = confine(roots, p)?;
    }
    Ok(())
}

/// Reading options a request may not set as the library may: the threads at most 16, and no
/// sector list (the library's own later passes make those).
fn tame(o: &mut VerifyOptions) {
    o.scan.threads = o.scan.threads.min(16);
    o.scan.only = None;
}

/// A publish target with its folder or drives confined to the roots.
fn confine_target(roots: &[PathBuf], target: &str) -> Result<String> {
    if target.is_empty() {
        return Err(required(
            "target",
            "name where to publish: images:DIR, xorriso:DEVICE[,DEVICE...], tdbridge:FOLDER or ptburn:FOLDER",
        ));
    }
    let shown = |p: PathBuf| p.display().to_string();
    Ok(match Target::parse(target)? {
        Target::Images(d) => format!("images:{}", shown(confine(roots, &d)?)),
        Target::TdBridge(d) => format!("tdbridge:{}", shown(confine(roots, &d)?)),
        Target::PtBurn(d) => format!("ptburn:{}", shown(confine(roots, &d)?)),
        Target::Xorriso(devs) => {
            let mut out = Vec::new();
            for d in devs {
                // `stdio:FILE` is a pseudo drive over a file; the file is confined.
                let (prefix, path) = match d.strip_prefix("stdio:") {
                    Some(p) => ("stdio:", p),
                    None => ("", d.as_str()),
                };
                out.push(format!(
                    "{prefix}{}",
                    shown(confine(roots, &PathBuf::from(path))?)
                ));
            }
            format!("xorriso:{}", out.join(","))
        }
    })
}

/// A task's options checked, its paths confined: the value kept in the catalog. The same check
/// runs again when the task starts, so that a folder swapped for a link since is refused.
pub(super) fn check(
    vault: &Vault,
    kind: TaskKind,
    params: serde_json::Value,
) -> Result<serde_json::Value> {
    let roots = &vault.config.server.roots;
    let value = |v: serde_json::Result<serde_json::Value>| {
        v.map_err(|e| Error::Invalid {
            field: "params".into(),
            detail: e.to_string(),
        })
    };
    match kind {
        TaskKind::Add => value(serde_json::to_value(add_task(vault, kind, params)?)),
        TaskKind::Plan => value(serde_json::to_value(parse::<PlanOptions>(
            kind,
            params,
            &[],
        )?)),
        TaskKind::Master => value(serde_json::to_value(master_task(kind, params, roots)?)),
        TaskKind::Publish => value(serde_json::to_value(publish_task(kind, params, roots)?)),
        TaskKind::Verify => value(serde_json::to_value(verify_task(kind, params, roots)?)),
        TaskKind::Readback => value(serde_json::to_value(readback_task(kind, params, roots)?)),
        TaskKind::Restore => value(serde_json::to_value(restore_task(kind, params, roots)?)),
        TaskKind::Repair => value(serde_json::to_value(repair_task(kind, params, roots)?)),
        TaskKind::Migrate => value(serde_json::to_value(migrate_task(kind, params, roots)?)),
    }
}

fn add_task(vault: &Vault, kind: TaskKind, params: serde_json::Value) -> Result<AddTask> {
    let mut t: AddTask = parse(kind, params, &["upload"])?;
    let roots = match &t.upload {
        Some(id) => {
            // An upload's records are all of them, staged: its folder goes after.
            t.paths = crate::uploads::records_of(vault, id)?;
            t.options.copy = true;
            vec![crate::uploads::records_folder(vault, id)?]
        }
        None => vault.config.server.roots.clone(),
    };
    let roots = &roots;
    if t.paths.is_empty() {
        return Err(required("paths", "name at least one folder or file to add"));
    }
    if t.options.follow {
        return Err(required(
            "follow",
            "not through the server: a link followed could lead outside the folders requests may use",
        ));
    }
    confine_all(roots, &mut t.paths)?;
    Ok(t)
}

fn master_task(
    kind: TaskKind,
    params: serde_json::Value,
    roots: &[PathBuf],
) -> Result<MasterOptions> {
    let mut t: MasterOptions = parse(kind, params, &[])?;
    t.out = confine(roots, &t.out)?;
    Ok(t)
}

fn publish_task(
    kind: TaskKind,
    params: serde_json::Value,
    roots: &[PathBuf],
) -> Result<PublishOptions> {
    let mut t: PublishOptions = parse(kind, params, &[])?;
    t.target = confine_target(roots, &t.target)?;
    Ok(t)
}

fn verify_task(kind: TaskKind, params: serde_json::Value, roots: &[PathBuf]) -> Result<VerifyTask> {
    let mut t: VerifyTask = parse(kind, params, &["copy"])?;
    tame(&mut t.options);
    if t.sources.is_empty() {
        return Err(required(
            "sources",
            "name at least one image, drive or mounted disc to verify",
        ));
    }
    if t.copy.is_some() && t.sources.len() != 1 {
        return Err(required(
            "sources",
            "with copy, name exactly one source: the disc of that copy",
        ));
    }
    confine_all(roots, &mut t.sources)?;
    Ok(t)
}

fn readback_task(
    kind: TaskKind,
    params: serde_json::Value,
    roots: &[PathBuf],
) -> Result<ReadbackTask> {
    let mut t: ReadbackTask = parse(kind, params, &["copy"])?;
    tame(&mut t.options.verify);
    if t.source.as_os_str().is_empty() || t.options.to.as_os_str().is_empty() {
        return Err(required(
            "source/to",
            "name the disc to read (source) and the folder to read it into (to)",
        ));
    }
    t.source = confine(roots, &t.source)?;
    t.options.to = confine(roots, &t.options.to)?;
    Ok(t)
}

fn restore_task(
    kind: TaskKind,
    params: serde_json::Value,
    roots: &[PathBuf],
) -> Result<RestoreTask> {
    let mut t: RestoreTask = parse(kind, params, &["pattern", "volume", "version"])?;
    if t.pattern.is_some() == t.volume.is_some() {
        return Err(required(
            "pattern/volume",
            "give either a pattern (a glob or path prefix) or a volume",
        ));
    }
    if t.options.from.is_empty() {
        return Err(required(
            "from",
            "name the discs or images to read; the pick list is GET /api/v1/restore/pick",
        ));
    }
    confine_all(roots, &mut t.options.from)?;
    // No folder: restored for download, into the vault's own (`downloads_folder`).
    if !t.options.to.as_os_str().is_empty() {
        t.options.to = confine(roots, &t.options.to)?;
    }
    Ok(t)
}

fn repair_task(kind: TaskKind, params: serde_json::Value, roots: &[PathBuf]) -> Result<RepairTask> {
    let mut t: RepairTask = parse(kind, params, &[])?;
    if t.options.sources.is_empty() || t.options.to.as_os_str().is_empty() {
        return Err(required(
            "sources/to",
            "name the copies to read (sources) and the folder the repaired image goes to (to)",
        ));
    }
    confine_all(roots, &mut t.options.sources)?;
    t.options.to = confine(roots, &t.options.to)?;
    Ok(t)
}

fn migrate_task(
    kind: TaskKind,
    params: serde_json::Value,
    roots: &[PathBuf],
) -> Result<MigrateTask> {
    let mut t: MigrateTask = parse(kind, params, &[])?;
    if t.from.is_empty() || t.out.as_os_str().is_empty() {
        return Err(required(
            "from/out",
            "name the discs or images to read (from) and the folder for the new images (out); the plan alone is GET /api/v1/migrate/plan",
        ));
    }
    confine_all(roots, &mut t.from)?;
    t.out = confine(roots, &t.out)?;
    Ok(t)
}

/// Runs a task: its options checked and confined again, then the library call; the result is
/// what the CLI prints with `--json`.
pub(super) fn execute(
    vault: &Vault,
    task: &Task,
    progress: &dyn Progress,
) -> Result<serde_json::Value> {
    let roots = &vault.config.server.roots;
    let kind = task.kind;
    let params = task.params.clone();
    let value = |v: serde_json::Result<serde_json::Value>| {
        v.map_err(|e| Error::Invalid {
            field: "result".into(),
            detail: e.to_string(),
        })
    };
    match kind {
        TaskKind::Add => {
            let t = add_task(vault, kind, params)?;
            let report = crate::ingest::add(vault, &t.paths, &t.options, progress)?;
            // An upload's records are staged in the vault now: its folder goes.
            if let (Some(id), true) = (&t.upload, report.errors.is_empty()) {
                if let Ok(dir) = crate::uploads::records_folder(vault, id) {
                    if let Some(up) = dir.parent() {
                        let _ = std::fs::remove_dir_all(up);
                    }
                }
            }
            value(serde_json::to_value(report))
        }
        TaskKind::Plan => {
            let t: PlanOptions = parse(kind, params, &[])?;
            value(serde_json::to_value(crate::plan::plan_and_record(
                vault, &t, false, progress,
            )?))
        }
        TaskKind::Master => {
            let t = master_task(kind, params, roots)?;
            value(serde_json::to_value(crate::master::master(
                vault, &t, progress,
            )?))
        }
        TaskKind::Publish => {
            let t = publish_task(kind, params, roots)?;
            // No one to ask for blank discs: a publisher waiting for them ends the task with
            // its job left open, for a rerun.
            value(serde_json::to_value(crate::publish::publish(
                vault, &t, progress, None,
            )?))
        }
        TaskKind::Verify => {
            let t = verify_task(kind, params, roots)?;
            let reports = match &t.copy {
                Some(c) => vec![crate::verify::verify_copy(
                    vault,
                    &t.sources[0],
                    c,
                    &t.options,
                    progress,
                )?],
                None => crate::orchestrate::verify(vault, &t.sources, &t.options, progress)?,
            };
            value(serde_json::to_value(reports))
        }
        TaskKind::Readback => {
            let t = readback_task(kind, params, roots)?;
            value(serde_json::to_value(crate::readback::readback(
                vault, &t.source, &t.options, progress,
            )?))
        }
        TaskKind::Restore => {
            let mut t = restore_task(kind, params, roots)?;
            if t.options.to.as_os_str().is_empty() {
                t.options.to = super::downloads_folder(vault, &task.task_id);
            }
            let sel = match (&t.pattern, &t.volume) {
                (Some(p), _) => Selection::Pattern(p.clone()),
                (None, Some(v)) => Selection::Volume(v.clone()),
                (None, None) => unreachable!("restore_task requires one"),
            };
            let list =
                crate::restore::pick_for_restore(Some(vault), &sel, t.version, &t.options.from)?;
            if list.files.is_empty() {
                let why = crate::restore::no_match(Some(vault), &sel, t.version)?;
                return Err(Error::NotFound(why.to_string()));
            }
            value(serde_json::to_value(crate::restore::restore(
                Some(vault),
                &list,
                &t.options,
                progress,
            )?))
        }
        TaskKind::Repair => {
            let t = repair_task(kind, params, roots)?;
            value(serde_json::to_value(if t.dry_run {
                crate::repair::analyse(vault, &t.options, progress)?
            } else {
                crate::repair::repair(vault, &t.options, progress)?
            }))
        }
        TaskKind::Migrate => {
            let t = migrate_task(kind, params, roots)?;
            let plan = crate::migrate::plan(vault, &t.options)?;
            let r = crate::migrate::execute(vault, &plan, &t.from, &t.out, progress)?;
            value(Ok(serde_json::json!({"plan": plan, "result": r})))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn takes_its_own<T: DeserializeOwned + Default + Serialize + std::fmt::Debug>(kind: TaskKind) {
        // Every option the type has, as it writes them, is taken back ...
        let all = serde_json::to_value(T::default()).unwrap();
        parse::<T>(kind, all.clone(), &[]).unwrap_or_else(|e| panic!("{}: {e}", kind.name()));
        // ... and a misspelt one is refused, named.
        let mut wrong = all;
        wrong
            .as_object_mut()
            .unwrap()
            .insert("colection".into(), "x".into());
        let e = parse::<T>(kind, wrong, &[]).unwrap_err().to_string();
        assert!(e.contains("colection"), "{}: {e}", kind.name());
    }

    #[test]
    fn each_kind_takes_its_options_and_refuses_others() {
        takes_its_own::<AddTask>(TaskKind::Add);
        takes_its_own::<PlanOptions>(TaskKind::Plan);
        takes_its_own::<MasterOptions>(TaskKind::Master);
        takes_its_own::<PublishOptions>(TaskKind::Publish);
        takes_its_own::<VerifyTask>(TaskKind::Verify);
        takes_its_own::<ReadbackTask>(TaskKind::Readback);
        takes_its_own::<RestoreTask>(TaskKind::Restore);
        takes_its_own::<RepairTask>(TaskKind::Repair);
        takes_its_own::<MigrateTask>(TaskKind::Migrate);
        // Options left out take their defaults.
        let v: VerifyTask = parse(
            TaskKind::Verify,
            serde_json::json!({"sources": ["/x"]}),
            &[],
        )
        .unwrap();
        assert_eq!(
            v.options.scan.retries,
            crate::scan::ScanOptions::default().retries
        );
    }

    #[test]
    fn a_publish_target_is_confined_to_the_roots() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("out");
        std::fs::create_dir_all(&root).unwrap();
        let real = root.canonicalize().unwrap();
        let roots = vec![root.clone()];
        assert_eq!(
            confine_target(&roots, &format!("images:{}", root.display())).unwrap(),
            format!("images:{}", real.display())
        );
        assert_eq!(
            confine_target(&roots, &format!("xorriso:stdio:{}/a.iso", root.display())).unwrap(),
            format!("xorriso:stdio:{}/a.iso", real.display())
        );
        for bad in [
            "images:/tmp",
            "xorriso:/dev/sr0",
            "xorriso:stdio:/etc/x",
            "",
        ] {
            assert!(confine_target(&roots, bad).is_err(), "{bad}");
        }
    }
}
