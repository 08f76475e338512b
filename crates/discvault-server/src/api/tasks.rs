//! Long operations as tasks (queue, list, follow, cancel), and the previews shown before one
//! is asked for: a plan, a restore's pick list, a migration plan.

use super::{AppState, ObjectBody};
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use discvault::model::{Duty, Task, TaskKind, TaskState};
use serde::{Deserialize, Serialize};

/// A long operation to run: its kind and its options.
#[derive(Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskRequest {
    pub kind: TaskKind,
    /// The options of the kind, as the library (and the CLI) takes them. `add`: `paths` (on the
    /// server, inside `[server] roots`), `collection`, `metadata` (`{"fonds": "J001", ...}`),
    /// `copy`, `follow`, `force`. `plan`: `media`, `reserve_percent`, `redundancy_percent`,
    /// `parity_group`, `parity_volumes`, `file_systems` (`bridge` or `iso9660`). `master`:
    /// `out` (a folder inside the roots), `volumes`, `again`. `publish`: `target` (`images:DIR`, `xorriso:DEVICE`, `tdbridge:FOLDER`,
    /// `ptburn:FOLDER`), `volumes`, `copies`, `roles`, `replace`, `attempts`, `give_up_after`.
    /// `verify`: `sources`, `copy`, `digest`, `resume`, `scan`. `readback`: `source`, `to`,
    /// `copy`, `overwrite`, `verify`. `restore`: `pattern` or `volume`, `version`, `from`, `to`,
    /// `overwrite`, `keep_special_modes`. `repair`: `sources`, `to`, `volume`, `retries`,
    /// `dry_run`. `migrate`: `from`, `out`, `obsolete_media`, `to_media`, `consolidate`. Every
    /// path must lie inside `[server] roots`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
}

/// Queues a long operation for the workers; its progress and result are read with `GET
/// /api/v1/tasks/{task_id}`, or followed with `GET /api/v1/tasks/{task_id}/events`. Add, plan,
/// master, restore, repair and migrate need role archivist or admin; publish, verify and
/// readback operator or admin.
#[utoipa::path(post, path = "/api/v1/tasks", request_body = TaskRequest, responses(
    (status = 202, body = Task),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
))]
pub async fn queue_task(
    State(s): State<AppState>,
    c: Caller,
    ApiJson(req): ApiJson<TaskRequest>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    let who = c.may(req.kind.duty())?;
    let t = s
        .vaults
        .run(Some(who), move |v| {
            discvault::tasks::queue(v, req.kind, req.params)
        })
        .await?;
    Ok((StatusCode::ACCEPTED, Json(t)))
}

/// Which tasks to list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskListParams {
    /// Only tasks in this state.
    state: Option<TaskState>,
    /// At most this many, newest first (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// Tasks, newest first.
#[utoipa::path(get, path = "/api/v1/tasks", params(TaskListParams), responses(
    (status = 200, body = [Task]),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
))]
pub async fn list_tasks(
    State(s): State<AppState>,
    c: Caller,
    ApiQuery(p): ApiQuery<TaskListParams>,
) -> Result<Json<Vec<Task>>, ApiError> {
    let limit = super::page_limit(p.limit)?;
    s.call(&c, Duty::Read, move |v| v.catalog.tasks(p.state, limit))
        .await
}

/// One task: its state, last progress message, and result once done.
#[utoipa::path(get, path = "/api/v1/tasks/{task_id}", params(("task_id" = String, Path, description = "T-000001")), responses(
    (status = 200, body = Task),
    (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn get_task(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Task>, ApiError> {
    s.call(&c, Duty::Read, move |v| v.catalog.task(&id)).await
}

/// Cancels a task: a queued one at once, a running one at the end of its current stage (an
/// `add` records no file; a `master` keeps the volumes it finished). Needs the role that may ask
/// for a task of its kind.
#[utoipa::path(post, path = "/api/v1/tasks/{task_id}/cancel", params(("task_id" = String, Path, description = "T-000001")), responses(
    (status = 200, body = Task),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody, description = "the task has ended"),
))]
pub async fn cancel_task(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Task>, ApiError> {
    let seen = id.clone();
    let Json(task) = s
        .call(&c, Duty::Read, move |v| v.catalog.task(&seen))
        .await?;
    s.call(&c, task.kind.duty(), move |v| v.catalog.cancel_task(&id))
        .await
}

/// One server-sent event of a task's progress.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TaskEvent {
    /// `task`.
    pub event: String,
    /// The task, as JSON (as `GET /api/v1/tasks/{task_id}` answers).
    pub data: String,
}

/// A task's progress as server-sent events: an event `task` with the task (as `GET
/// /api/v1/tasks/{task_id}`) now and at each change of its state or progress, until it ends;
/// the last event is the ended task with its result or error.
#[utoipa::path(get, path = "/api/v1/tasks/{task_id}/events", params(("task_id" = String, Path, description = "T-000001")), responses(
    (status = 200, description = "server-sent events named `task`, each the task as JSON", content_type = "text/event-stream", body = TaskEvent),
    (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn task_events(
    State(s): State<AppState>,
    c: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<
    axum::response::sse::Sse<
        impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    >,
    ApiError,
> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    // The task must exist (404 before the stream starts).
    let first_id = id.clone();
    let Json(first) = s
        .call(&c, Duty::Read, move |v| v.catalog.task(&first_id))
        .await?;
    let who = c.0.clone();
    struct Follow {
        state: AppState,
        who: discvault::model::Principal,
        id: String,
        last: Option<Task>,
        next: Option<Task>,
        done: bool,
    }
    let start = Follow {
        state: s,
        who,
        id,
        last: None,
        next: Some(first),
        done: false,
    };
    let stream = futures_util::stream::unfold(start, |mut f| async move {
        if f.done {
            return None;
        }
        loop {
            // The server is stopping: the client follows the task again once it is back.
            if f.state.stopping.load(std::sync::atomic::Ordering::Relaxed) {
                return None;
            }
            let t = match f.next.take() {
                Some(t) => t,
                None => {
                    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                    let id = f.id.clone();
                    match f
                        .state
                        .vaults
                        .run(Some(&f.who), move |v| v.catalog.task(&id))
                        .await
                    {
                        Ok(t) => t,
                        // The catalog failing ends the stream; the client may ask again.
                        Err(_) => return None,
                    }
                }
            };
            let changed = f.last.as_ref().is_none_or(|l| {
                l.state != t.state || l.progress != t.progress || l.updated_at != t.updated_at
            });
            if !changed {
                continue;
            }
            f.done = !matches!(t.state, TaskState::Queued | TaskState::Running);
            let ev = Event::default()
                .event("task")
                .json_data(&t)
                .unwrap_or_else(|_| Event::default().event("task"));
            f.last = Some(t);
            return Some((Ok(ev), f));
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// The plan that `plan` would record now, without recording it (`discvault plan --dry-run
/// --json`): the volumes, what each holds, and the records left over. Needs role archivist or
/// admin.
#[utoipa::path(post, path = "/api/v1/plan/preview", request_body(content = Object, description = "the plan's options: media, reserve_percent, redundancy_percent, parity_group, parity_volumes, file_systems"), responses(
    (status = 200, body = ObjectBody),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody),
))]
pub async fn plan_preview(
    State(s): State<AppState>,
    c: Caller,
    ApiJson(opts): ApiJson<discvault::plan::PlanOptions>,
) -> Result<Json<discvault::plan::VolumePlan>, ApiError> {
    s.call(&c, Duty::Archive, move |v| {
        discvault::plan::plan_and_record(v, &opts, true, &discvault::progress::NoProgress)
    })
    .await
}

/// What to restore.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PickParams {
    /// Files whose `collection/path` or `path` matches: a glob (`*`, `?`) or a path prefix.
    pattern: Option<String>,
    /// Every file of this volume.
    volume: Option<String>,
    /// This version of each file (default: the newest).
    version: Option<i64>,
}

/// A restore's pick list: the files, and the volumes (discs) to fetch from the cabinets for
/// them (`discvault restore PATTERN --json` without `--from`). The restore itself is a task
/// of kind `restore`.
#[utoipa::path(get, path = "/api/v1/restore/pick", params(PickParams), responses(
    (status = 200, body = ObjectBody),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn restore_pick(
    State(s): State<AppState>,
    c: Caller,
    ApiQuery(p): ApiQuery<PickParams>,
) -> Result<Json<discvault::restore::PickList>, ApiError> {
    use discvault::restore::Selection;
    let sel = match (p.pattern, p.volume) {
        (Some(p), None) => Selection::Pattern(p),
        (None, Some(v)) => Selection::Volume(v),
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid",
                "give either pattern or volume",
            ))
        }
    };
    let version = p.version;
    s.call(&c, Duty::Read, move |v| {
        let list = discvault::restore::pick_for_restore(Some(v), &sel, version, &[])?;
        if list.files.is_empty() {
            let why = discvault::restore::no_match(Some(v), &sel, version)?;
            return Err(discvault::Error::NotFound(why.to_string()));
        }
        Ok(list)
    })
    .await
}

/// Which volumes to migrate.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MigrateParams {
    /// Media types taken as obsolete, comma separated (default: the configured ones).
    obsolete: Option<String>,
    /// The media to migrate to (default: the configured one).
    to_media: Option<String>,
    /// Put the records of several small volumes on one new disc.
    consolidate: Option<bool>,
}

/// The migration plan: volumes on obsolete media or with failing copies, what to read them
/// from and what to write (`discvault migrate --plan --json`). The migration itself is a task
/// of kind `migrate`.
#[utoipa::path(get, path = "/api/v1/migrate/plan", params(MigrateParams), responses(
    (status = 200, body = ObjectBody),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
))]
pub async fn migrate_plan(
    State(s): State<AppState>,
    c: Caller,
    ApiQuery(p): ApiQuery<MigrateParams>,
) -> Result<Json<discvault::migrate::MigrationPlan>, ApiError> {
    let opts = discvault::migrate::MigrateOptions {
        obsolete_media: p
            .obsolete
            .map(|o| {
                o.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        to_media: p.to_media,
        consolidate: p.consolidate.unwrap_or(false),
        at: None,
    };
    s.call(&c, Duty::Read, move |v| discvault::migrate::plan(v, &opts))
        .await
}
