//! Tasks in the store (`model/tasks.rs`): queued by the server, claimed by one worker in a
//! write transaction (one writer at a time on both backends), finished with their result.

use super::db::{self, Row};
use super::{now_unix, Catalog};
use crate::model::{agent, Task, TaskKind, TaskState, TaskStep};
use crate::{Error, Result};

const TASK_COLS: &str = "task_id, kind, params, state, requested_by, worker, progress, progress_step, result, error, cancel_requested, created_at, updated_at";

fn task_from_row(r: &Row) -> Result<Task> {
    let bad = |what: &str, detail: String| Error::CatalogData {
        what: format!("tasks.{what}"),
        detail,
    };
    let kind: String = r.try_get("kind")?;
    let state: String = r.try_get("state")?;
    let params: String = r.try_get("params")?;
    let result: Option<String> = r.try_get("result")?;
    Ok(Task {
        task_id: r.try_get("task_id")?,
        kind: TaskKind::parse(&kind).ok_or_else(|| bad("kind", format!("{kind:?}")))?,
        params: serde_json::from_str(&params).map_err(|e| bad("params", e.to_string()))?,
        state: TaskState::parse(&state).ok_or_else(|| bad("state", format!("{state:?}")))?,
        requested_by: r.try_get("requested_by")?,
        worker: r.try_get("worker")?,
        progress: r.try_get("progress")?,
        // A code this version does not know (a newer station's, on a shared catalog) is
        // left out: the English `progress` says the same.
        step: serde_json::from_str(&r.try_get::<String, _>("progress_step")?).ok(),
        result: match result {
            Some(t) => Some(serde_json::from_str(&t).map_err(|e| bad("result", e.to_string()))?),
            None => None,
        },
        error: r.try_get("error")?,
        cancel_requested: r.try_get::<i64, _>("cancel_requested")? != 0,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

impl Catalog {
    /// Queues a task, asked for by the one acting now.
    pub fn queue_task(&self, kind: TaskKind, params: &serde_json::Value) -> Result<Task> {
        let tx = self.db.begin()?;
        let last: Option<i64> = db::query_scalar("SELECT MAX(id) FROM tasks").fetch_one(&*tx)?;
        let task_id = format!("T-{:06}", last.unwrap_or(0) + 1);
        let now = now_unix();
        db::query(
            "INSERT INTO tasks (task_id, kind, params, state, requested_by, created_at, updated_at)
             VALUES ($1, $2, $3, 'queued', $4, $5, $5)",
        )
        .bind(task_id.as_str())
        .bind(kind.name())
        .bind(params.to_string())
        .bind(agent())
        .bind(now)
        .execute(&*tx)?;
        tx.commit()?;
        self.task(&task_id)
    }

    pub fn task(&self, task_id: &str) -> Result<Task> {
        let r = db::query(&format!("SELECT {TASK_COLS} FROM tasks WHERE task_id = $1"))
            .bind(task_id)
            .fetch_optional(&self.db)?
            .ok_or_else(|| Error::NotFound(format!("task {task_id}")))?;
        task_from_row(&r)
    }

    /// Tasks, newest first (of one state, or all), at most `limit`.
    pub fn tasks(&self, state: Option<TaskState>, limit: i64) -> Result<Vec<Task>> {
        db::query(&format!(
            "SELECT {TASK_COLS} FROM tasks WHERE ($1 = '' OR state = $1) ORDER BY id DESC LIMIT $2"
        ))
        .bind(state.map(TaskState::name).unwrap_or_default())
        .bind(limit)
        .fetch_all(&self.db)?
        .iter()
        .map(task_from_row)
        .collect()
    }

    /// Claims the oldest queued task for `worker`: no other worker gets it.
    pub fn claim_task(&self, worker: &str) -> Result<Option<Task>> {
        // An idle worker looks without taking the write lock.
        let any: i64 = db::query_scalar("SELECT COUNT(*) FROM tasks WHERE state = 'queued'")
            .fetch_one(&self.db)?;
        if any == 0 {
            return Ok(None);
        }
        let tx = self.db.begin()?;
        let id: Option<String> = db::query_scalar(
            "SELECT task_id FROM tasks WHERE state = 'queued' ORDER BY id LIMIT 1",
        )
        .fetch_optional(&*tx)?;
        let Some(id) = id else {
            return Ok(None);
        };
        db::query("UPDATE tasks SET state = 'running', worker = $1, updated_at = $2, heartbeat_at = $2 WHERE task_id = $3 AND state = 'queued'")
            .bind(worker)
            .bind(now_unix())
            .bind(id.as_str())
            .execute(&*tx)?;
        tx.commit()?;
        self.task(&id).map(Some)
    }

    /// The last progress of a running task: in English, and as a code and its arguments.
    pub fn task_progress(&self, task_id: &str, step: &TaskStep) -> Result<()> {
        let text = match step.items {
            Some(n) => format!("{}: {n} items", step.message),
            None => step.message.to_string(),
        };
        let json = serde_json::to_string(step).map_err(|e| Error::Invalid {
            field: "progress".into(),
            detail: e.to_string(),
        })?;
        db::query(
            "UPDATE tasks SET progress = $1, progress_step = $2, updated_at = $3 WHERE task_id = $4",
        )
            .bind(text)
            .bind(json)
            .bind(now_unix())
            .bind(task_id)
            .execute(&self.db)?;
        Ok(())
    }

    /// Ends a task `worker` runs: done with its result, or in `state` with the reason (queued
    /// again: no worker). A task no longer this worker's (marked interrupted meanwhile) is left
    /// as it is.
    pub fn end_task(
        &self,
        task_id: &str,
        worker: &str,
        state: TaskState,
        result: Option<&serde_json::Value>,
        error: &str,
    ) -> Result<Task> {
        let worker_after = if state == TaskState::Queued {
            ""
        } else {
            worker
        };
        db::query("UPDATE tasks SET state = $1, result = $2, error = $3, updated_at = $4, worker = $5 WHERE task_id = $6 AND state = 'running' AND worker = $7")
            .bind(state.name())
            .bind(result.map(|r| r.to_string()))
            .bind(error)
            .bind(now_unix())
            .bind(worker_after)
            .bind(task_id)
            .bind(worker)
            .execute(&self.db)?;
        self.task(task_id)
    }

    /// Asks a task to stop: a queued one is cancelled at once, a running one when its worker
    /// next looks. An ended task is left as it is (an error says so).
    pub fn cancel_task(&self, task_id: &str) -> Result<Task> {
        let tx = self.db.begin()?;
        let t = {
            let r = db::query(&format!("SELECT {TASK_COLS} FROM tasks WHERE task_id = $1"))
                .bind(task_id)
                .fetch_optional(&*tx)?
                .ok_or_else(|| Error::NotFound(format!("task {task_id}")))?;
            task_from_row(&r)?
        };
        if t.state.ended() {
            return Err(Error::Conflict(format!(
                "task {task_id} has ended ({})",
                t.state.name()
            )));
        }
        let now = now_unix();
        if t.state == TaskState::Queued {
            db::query("UPDATE tasks SET state = 'cancelled', cancel_requested = 1, error = $1, updated_at = $2 WHERE task_id = $3")
                .bind(format!("cancelled by {} before it started", agent()))
                .bind(now)
                .bind(task_id)
                .execute(&*tx)?;
        } else {
            db::query("UPDATE tasks SET cancel_requested = 1, updated_at = $1 WHERE task_id = $2")
                .bind(now)
                .bind(task_id)
                .execute(&*tx)?;
        }
        tx.commit()?;
        self.task(task_id)
    }

    /// Whether a task was asked to stop.
    pub fn task_cancel_requested(&self, task_id: &str) -> Result<bool> {
        let n: i64 = db::query_scalar("SELECT cancel_requested FROM tasks WHERE task_id = $1")
            .bind(task_id)
            .fetch_one(&self.db)?;
        Ok(n != 0)
    }

    /// Marks interrupted the running tasks whose worker is one of `gone` (`HOST/PID`).
    pub fn interrupt_tasks_of(&self, gone: &[String], why: &str) -> Result<u64> {
        let mut n = 0;
        for w in gone {
            n += db::query("UPDATE tasks SET state = 'interrupted', error = $1, updated_at = $2 WHERE state = 'running' AND worker = $3")
                .bind(why)
                .bind(now_unix())
                .bind(w.as_str())
                .execute(&self.db)?;
        }
        Ok(n)
    }

    /// A running task's worker is alive; false when the task is no longer its own (marked
    /// interrupted meanwhile).
    pub fn task_heartbeat(&self, task_id: &str, worker: &str) -> Result<bool> {
        let n = db::query("UPDATE tasks SET heartbeat_at = $1 WHERE task_id = $2 AND state = 'running' AND worker = $3")
            .bind(now_unix())
            .bind(task_id)
            .bind(worker)
            .execute(&self.db)?;
        Ok(n > 0)
    }

    /// Marks interrupted the running tasks whose worker sent no heartbeat since `before`.
    pub fn interrupt_silent_tasks(&self, before: i64) -> Result<u64> {
        let silent: Vec<(String, String, i64)> = db::query(
            "SELECT task_id, worker, heartbeat_at FROM tasks WHERE state = 'running' AND heartbeat_at < $1",
        )
        .bind(before)
        .fetch_all(&self.db)?
        .iter()
        .map(|r| Ok((r.try_get("task_id")?, r.try_get("worker")?, r.try_get("heartbeat_at")?)))
        .collect::<Result<_>>()?;
        let mut n = 0;
        for (id, worker, beat) in silent {
            let why = format!(
                "its worker {worker} went silent (no heartbeat since {}): its station stopped or lost the catalog; ask again",
                crate::rfc3339(beat)
            );
            n += db::query("UPDATE tasks SET state = 'interrupted', error = $1, updated_at = $2 WHERE task_id = $3 AND state = 'running' AND worker = $4 AND heartbeat_at = $5")
                .bind(why.as_str())
                .bind(now_unix())
                .bind(id.as_str())
                .bind(worker.as_str())
                .bind(beat)
                .execute(&self.db)?;
        }
        Ok(n)
    }

    /// The workers of running tasks.
    pub fn task_workers(&self) -> Result<Vec<String>> {
        db::query("SELECT DISTINCT worker FROM tasks WHERE state = 'running'")
            .fetch_all(&self.db)?
            .iter()
            .map(|r| r.try_get("worker"))
            .collect()
    }
}
