//! Tasks: the long operations a records system asks for through the server (add, plan,
//! master, publish, verify, readback, restore, repair, migrate: `kinds.rs`), queued in the catalog and run by workers (`model/tasks.rs`). A request's paths are
//! confined to the folders `[server] roots` names; a task's result is the value the CLI prints
//! with `--json`.

use crate::model::{Task, TaskKind, TaskState, TaskStep};
use crate::progress::{Message, Progress};
use crate::{Error, Result, Vault};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod kinds;
pub use kinds::{AddTask, MigrateTask, ReadbackTask, RepairTask, RestoreTask, VerifyTask};

/// `path` as it is on the server, when it lies inside one of `roots` (both resolved: no `..`,
/// no link leading out); an error naming the path otherwise.
pub fn confine(roots: &[PathBuf], path: &Path) -> Result<PathBuf> {
    let bad = |detail: String| Error::Invalid {
        field: "path".into(),
        detail: format!("{}: {detail}", path.display()),
    };
    if !path.is_absolute() {
        return Err(bad("not an absolute path".into()));
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(bad("\"..\" is not allowed".into()));
    }
    if roots.is_empty() {
        return Err(bad(
            "the server names no folder requests may use ([server] roots in discvault.toml)".into(),
        ));
    }
    let real = resolve(path).map_err(|e| bad(format!("cannot be resolved: {e}")))?;
    for r in roots {
        if let Ok(r) = resolve(r) {
            if real.starts_with(&r) {
                return Ok(real);
            }
        }
    }
    Err(bad(format!(
        "outside the folders requests may use ({})",
        roots
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// `path` with its links and `.` resolved as far as it exists (a folder to master into may not
/// exist yet), the rest appended.
fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    while std::fs::symlink_metadata(&existing).is_err() {
        match (existing.parent(), existing.file_name()) {
            (Some(p), Some(n)) => {
                rest.push(n.to_os_string());
                existing = p.to_path_buf();
            }
            _ => break,
        }
    }
    let mut real = existing.canonicalize()?;
    for n in rest.iter().rev() {
        real.push(n);
    }
    Ok(real)
}

/// Checks a task's options (and confines its paths) and queues it.
pub fn queue(vault: &Vault, kind: TaskKind, params: serde_json::Value) -> Result<Task> {
    let params = match params {
        serde_json::Value::Null => serde_json::Value::Object(Default::default()),
        p @ serde_json::Value::Object(_) => p,
        other => {
            return Err(Error::Invalid {
                field: "params".into(),
                detail: format!(
                    "an object of the {} task's options, not {other}",
                    kind.name()
                ),
            })
        }
    };
    let params = kinds::check(vault, kind, params)?;
    vault.catalog.queue_task(kind, &params)
}

/// Where a restore task without a folder of its own (`to`) restores to: the vault's
/// `downloads/<task id>`, for downloading.
pub fn downloads_folder(vault: &Vault, task_id: &str) -> PathBuf {
    vault.root.join("downloads").join(task_id)
}

/// The folder of a restore task's files to download: the task must be a restore that ended
/// done without a folder of its own, its files not deleted since.
pub fn download(vault: &Vault, task_id: &str) -> Result<PathBuf> {
    let t = vault.catalog.task(task_id)?;
    let own = t
        .params
        .get("to")
        .and_then(|v| v.as_str())
        .is_some_and(|to| !to.is_empty());
    if t.kind != TaskKind::Restore || own {
        return Err(Error::Invalid {
            field: "task".into(),
            detail: format!(
                "task {task_id} is not a restore for downloading (a restore task without \"to\")"
            ),
        });
    }
    if t.state != TaskState::Done {
        return Err(Error::Conflict(format!(
            "task {task_id} is {}: its files can be downloaded once it is done",
            t.state.name()
        )));
    }
    let dir = downloads_folder(vault, task_id);
    if !dir.is_dir() {
        return Err(Error::NotFound(format!(
            "the files of task {task_id} were deleted after their download"
        )));
    }
    Ok(dir)
}

/// Deletes a restore task's files kept for download.
pub fn delete_download(vault: &Vault, task_id: &str) -> Result<()> {
    let dir = download(vault, task_id)?;
    std::fs::remove_dir_all(&dir).map_err(|e| Error::Io {
        path: dir.clone(),
        source: e,
    })
}

/// Deletes the restored files kept for download whose restore ended more than `[server]
/// stale_transfer_days` before `now` (unix seconds) and were not fetched; a restore still
/// running keeps its folder. The task ids whose files were deleted.
pub fn expire_downloads(vault: &Vault, now: i64) -> Result<Vec<String>> {
    let days = vault.config.server.stale_transfer_days as i64;
    let dir = vault.root.join("downloads");
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::Io {
                path: dir,
                source: e,
            })
        }
    };
    let mut gone = Vec::new();
    for e in entries {
        let e = e.map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        let Some(id) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let ended = match vault.catalog.task(&id) {
            Ok(t) if matches!(t.state, TaskState::Queued | TaskState::Running) => continue,
            Ok(t) => t.updated_at,
            // Not a task of this catalog: by the folder's own time.
            Err(Error::NotFound(_)) => e
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs() as i64),
            Err(e) => return Err(e),
        };
        if now - ended >= days * 86_400 {
            let path = e.path();
            std::fs::remove_dir_all(&path).map_err(|source| Error::Io { path, source })?;
            gone.push(id);
        }
    }
    Ok(gone)
}

/// This process as a worker: `HOST/PID`.
pub fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    format!("{host}/{}", std::process::id())
}

/// Marks interrupted the running tasks of workers of this host that are gone (a server or
/// worker that crashed or was killed), and those of any station whose worker sent no
/// heartbeat for `[server] task_lease_seconds`.
pub fn recover(vault: &Vault) -> Result<u64> {
    let me = worker_name();
    let host = me.split('/').next().unwrap_or_default().to_string();
    let gone: Vec<String> = vault
        .catalog
        .task_workers()?
        .into_iter()
        .filter(|w| {
            let mut it = w.splitn(2, '/');
            let (h, pid) = (it.next().unwrap_or_default(), it.next().unwrap_or_default());
            // `HOST/PID`, or `HOST/PID#K` for the K-th worker of a server.
            let pid = pid.split('#').next().unwrap_or_default();
            h == host && !pid.is_empty() && !Path::new("/proc").join(pid).exists()
        })
        .collect();
    let n = vault.catalog.interrupt_tasks_of(
        &gone,
        "its worker stopped while it ran (the server or worker was killed or crashed); ask again",
    )?;
    // Workers of any station that went silent.
    let lease = vault.config.server.task_lease_seconds.max(60) as i64;
    Ok(n + vault
        .catalog
        .interrupt_silent_tasks(crate::now_unix() - lease)?)
}

/// What a task reports to the catalog, and how it learns it should stop.
struct TaskProgress<'a> {
    vault: &'a Vault,
    task_id: String,
    stop: &'a AtomicBool,
    /// When the catalog was last asked (never: `None`), and what it said.
    last: Mutex<(Option<Instant>, bool)>,
    worker: &'a str,
    /// The last heartbeat.
    beat: Mutex<Instant>,
    /// The task was taken from this worker.
    lost: AtomicBool,
}

impl TaskProgress<'_> {
    /// Tells the catalog this worker is alive, every 30 s at most.
    fn beat(&self) {
        let mut b = self.beat.lock().unwrap_or_else(|e| e.into_inner());
        if b.elapsed() >= Duration::from_secs(30) {
            // Not ours any more (another station took it for silent): stop, as if cancelled.
            if let Ok(false) = self
                .vault
                .catalog
                .task_heartbeat(&self.task_id, self.worker)
            {
                self.lost.store(true, Ordering::Relaxed);
            }
            *b = Instant::now();
        }
    }

    fn cancel_asked(&self) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if !last.1
            && last
                .0
                .is_none_or(|t| t.elapsed() >= Duration::from_millis(500))
        {
            last.1 = self
                .vault
                .catalog
                .task_cancel_requested(&self.task_id)
                .unwrap_or(false);
            last.0 = Some(Instant::now());
            self.beat();
        }
        last.1
    }
}

impl Progress for TaskProgress<'_> {
    fn start(&self, stage: &Message, items: u64, _bytes: u64) {
        let step = TaskStep {
            message: stage.clone(),
            items: Some(items),
        };
        let _ = self.vault.catalog.task_progress(&self.task_id, &step);
        self.beat();
    }

    fn advance(&self, _items: u64, _bytes: u64) {
        self.beat();
    }

    fn note(&self, message: &Message) {
        let step = TaskStep {
            message: message.clone(),
            items: None,
        };
        let _ = self.vault.catalog.task_progress(&self.task_id, &step);
        self.beat();
    }

    fn cancelled(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
            || self.lost.load(Ordering::Relaxed)
            || self.cancel_asked()
    }
}

/// Runs the oldest queued task, if any, as `worker`; `stop` set (the server stopping) ends it
/// early and queues it again, to resume when a worker next starts.
pub fn run_next(vault: &Vault, worker: &str, stop: &AtomicBool) -> Result<Option<Task>> {
    let Some(task) = vault.catalog.claim_task(worker)? else {
        return Ok(None);
    };
    let progress = TaskProgress {
        vault,
        task_id: task.task_id.clone(),
        stop,
        last: Mutex::new((None, false)),
        worker,
        beat: Mutex::new(Instant::now()),
        lost: AtomicBool::new(false),
    };
    let agent = task.requested_by.clone();
    let res = crate::model::acting_as(&agent, || kinds::execute(vault, &task, &progress));
    let id = task.task_id.as_str();
    let (state, result, error) = match res {
        Ok(result) => (TaskState::Done, Some(result), String::new()),
        // The worker stopping, not the user: queued again, unless the user cancelled too.
        Err(Error::Cancelled(what))
            if stop.load(Ordering::Relaxed) && !vault.catalog.task_cancel_requested(id)? =>
        {
            (
                TaskState::Queued,
                None,
                format!("{what}: the worker stopped; it resumes when a worker starts"),
            )
        }
        Err(e @ Error::Cancelled(_)) => (TaskState::Cancelled, None, e.to_string()),
        Err(e) => (TaskState::Failed, None, e.to_string()),
    };
    // Recorded even when the catalog is briefly busy: the work is done.
    let mut tries = 0;
    let ended = loop {
        match vault
            .catalog
            .end_task(id, worker, state, result.as_ref(), &error)
        {
            Ok(t) => break t,
            Err(e) if tries < 10 => {
                tries += 1;
                let _ = e;
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => return Err(e),
        }
    };
    if ended.state == TaskState::Failed {
        // Told to the webhooks; a catalog too busy to queue it does not undo the task's end.
        let _ = crate::webhooks::task_failed(vault, &ended);
    }
    Ok(Some(ended))
}

/// A worker: runs queued tasks one after another as `worker` until `stop` is set (or, with
/// `until_idle`, until none is queued), looking for new ones every `poll`. First marks
/// interrupted the tasks of this host's workers that are gone. Returns the tasks run.
pub fn work(
    vault: &Vault,
    worker: &str,
    stop: &AtomicBool,
    until_idle: bool,
    poll: Duration,
) -> Result<u64> {
    recover(vault)?;
    let mut recovered = Instant::now();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        // Silent workers of other stations are looked for now and then.
        if recovered.elapsed() >= Duration::from_secs(60) {
            recover(vault)?;
            recovered = Instant::now();
        }
        match run_next(vault, worker, stop)? {
            Some(_) => n += 1,
            None if until_idle => break,
            None => {
                let until = Instant::now() + poll;
                while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_name_paths_inside_the_roots_only() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("incoming");
        std::fs::create_dir_all(root.join("文书档案")).unwrap();
        std::fs::create_dir_all(t.path().join("elsewhere")).unwrap();
        std::os::unix::fs::symlink(t.path().join("elsewhere"), root.join("out")).unwrap();
        std::os::unix::fs::symlink(root.join("文书档案"), root.join("in")).unwrap();
        let roots = vec![root.clone(), t.path().join("images-not-made-yet")];
        let real = root.canonicalize().unwrap();
        assert_eq!(
            confine(&roots, &root.join("文书档案")).unwrap(),
            real.join("文书档案")
        );
        // A link inside the roots to inside the roots is followed.
        assert_eq!(
            confine(&roots, &root.join("in")).unwrap(),
            real.join("文书档案")
        );
        // A folder not made yet inside a root (one not made yet either).
        let images = t.path().join("images-not-made-yet/2026");
        assert!(confine(&roots, &images)
            .unwrap()
            .ends_with("images-not-made-yet/2026"));
        for bad in [
            root.join("out"),
            root.join("out/x"),
            root.join("../elsewhere"),
            t.path().join("elsewhere"),
            PathBuf::from("relative/path"),
            PathBuf::from("/etc"),
        ] {
            let e = confine(&roots, &bad).unwrap_err().to_string();
            assert!(e.contains(&bad.display().to_string()), "{e}");
        }
        assert!(confine(&[], &root).is_err(), "no roots: no path");
    }
}
