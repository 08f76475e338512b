//! Tasks: long operations asked for through the server (add, plan, master), kept in the
//! catalog and run by workers (a pool inside `discvault serve`, or `discvault worker` on another
//! station sharing the catalog). One worker claims a task; a task outlives a restart of the
//! server: a running task whose worker is gone is marked interrupted, with the reason.

use serde::{Deserialize, Serialize};

/// What a task does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TaskKind {
    /// Ingest paths on the server inside its configured roots (`discvault add`).
    Add,
    /// Plan the unplanned records into volumes and record the plan (`discvault plan`).
    Plan,
    /// Master the planned volumes into images (`discvault master`).
    Master,
}

impl TaskKind {
    pub fn name(self) -> &'static str {
        match self {
            TaskKind::Add => "add",
            TaskKind::Plan => "plan",
            TaskKind::Master => "master",
        }
    }

    pub fn parse(s: &str) -> Option<TaskKind> {
        [TaskKind::Add, TaskKind::Plan, TaskKind::Master]
            .into_iter()
            .find(|k| k.name() == s)
    }
}

/// Where a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    /// Waiting for a worker.
    Queued,
    Running,
    /// Finished; its result is kept.
    Done,
    /// Ended with an error, kept in `error`.
    Failed,
    /// Cancelled before it finished: nothing of it was recorded (add) or the volumes done before
    /// the cancel are kept (master).
    Cancelled,
    /// Its worker stopped (a restart of the server, a crash) while it ran.
    Interrupted,
}

impl TaskState {
    pub fn name(self) -> &'static str {
        match self {
            TaskState::Queued => "queued",
            TaskState::Running => "running",
            TaskState::Done => "done",
            TaskState::Failed => "failed",
            TaskState::Cancelled => "cancelled",
            TaskState::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> Option<TaskState> {
        [
            TaskState::Queued,
            TaskState::Running,
            TaskState::Done,
            TaskState::Failed,
            TaskState::Cancelled,
            TaskState::Interrupted,
        ]
        .into_iter()
        .find(|k| k.name() == s)
    }

    /// Whether the task is over.
    pub fn ended(self) -> bool {
        !matches!(self, TaskState::Queued | TaskState::Running)
    }
}

/// A task as the catalog keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    /// `T-000001`.
    pub task_id: String,
    pub kind: TaskKind,
    /// The options it was asked with (the library's options type of its kind, as JSON).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub params: serde_json::Value,
    pub state: TaskState,
    /// Who asked (the agent of its events).
    pub requested_by: String,
    /// The worker that claimed it (`HOST/PID`), empty while queued.
    pub worker: String,
    /// The last progress message.
    pub progress: String,
    /// The result once done: the value the CLI prints with `--json`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub result: Option<serde_json::Value>,
    /// Why it failed, was cancelled or interrupted.
    pub error: String,
    pub cancel_requested: bool,
    pub created_at: i64,
    pub updated_at: i64,
}
