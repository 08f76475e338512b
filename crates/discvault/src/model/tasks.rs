//! Tasks: long operations asked for through the server (add, plan, master, publish, verify,
//! readback, restore, repair, migrate), kept in the
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
    /// Burn copies of mastered volumes, or write them as images (`discvault publish`).
    Publish,
    /// Read discs or images back and check every file (`discvault verify`).
    Verify,
    /// Read a disc back into a folder, checking every file (`discvault readback`).
    Readback,
    /// Restore files from discs or images into a folder (`discvault restore`).
    Restore,
    /// Repair a damaged volume from its copies and recovery data (`discvault repair`).
    Repair,
    /// Move volumes on obsolete media onto new discs (`discvault migrate`).
    Migrate,
}

impl TaskKind {
    pub const ALL: [TaskKind; 9] = [
        TaskKind::Add,
        TaskKind::Plan,
        TaskKind::Master,
        TaskKind::Publish,
        TaskKind::Verify,
        TaskKind::Readback,
        TaskKind::Restore,
        TaskKind::Repair,
        TaskKind::Migrate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TaskKind::Add => "add",
            TaskKind::Plan => "plan",
            TaskKind::Master => "master",
            TaskKind::Publish => "publish",
            TaskKind::Verify => "verify",
            TaskKind::Readback => "readback",
            TaskKind::Restore => "restore",
            TaskKind::Repair => "repair",
            TaskKind::Migrate => "migrate",
        }
    }

    /// What a user's role must allow to ask for (or cancel) a task of this kind: ingest,
    /// planning, mastering, restore, repair and migration are the archivist's; publishing and
    /// reading discs back (inspections) the operator's.
    pub fn duty(self) -> super::Duty {
        match self {
            TaskKind::Publish | TaskKind::Verify | TaskKind::Readback => super::Duty::Operate,
            _ => super::Duty::Archive,
        }
    }

    pub fn parse(s: &str) -> Option<TaskKind> {
        Self::ALL.into_iter().find(|k| k.name() == s)
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
    /// The last progress message, in English.
    pub progress: String,
    /// The same as a code and its arguments, for readers that say it in their own language
    /// (none before the first, and for tasks of older versions).
    pub step: Option<TaskStep>,
    /// The result once done: the value the CLI prints with `--json`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub result: Option<serde_json::Value>,
    /// Why it failed, was cancelled or interrupted.
    pub error: String,
    pub cancel_requested: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A running task's last progress as a code and its arguments (see
/// [`crate::progress::Message`]), with the items of a stage begun.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskStep {
    #[serde(flatten)]
    pub message: crate::progress::Message,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<u64>,
}
