//! Jobs: the tasks of the server (add, plan, master, publish, ...), newest first, and one
//! task's page, its state and progress followed live (the API's server-sent events, read by
//! `app.js`), with its cancel button for those who may ask for its kind.

use super::{layout, Page};
use crate::api::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use discvault::model::{Duty, Task, TaskState};
use maud::{html, Markup};

fn state(p: &Page, s: TaskState) -> Markup {
    let class = match s {
        TaskState::Done => "badge ok",
        TaskState::Failed | TaskState::Interrupted => "badge bad",
        TaskState::Cancelled => "badge warn",
        TaskState::Queued | TaskState::Running => "badge info",
    };
    html! { span class=(class) { (p.t(&format!("task.state.{}", s.name()))) } }
}

pub async fn list(State(s): State<AppState>, p: Page) -> Response {
    let tasks = match s
        .call(&p.caller(), Duty::Read, |v| v.catalog.tasks(None, 100))
        .await
    {
        Ok(axum::Json(t)) => t,
        Err(e) => return e.into_response(),
    };
    let content = html! {
        @if tasks.is_empty() {
            p { (p.t("task.none")) }
        } @else {
            table.results #tasks {
                thead { tr {
                    th scope="col" { (p.t("task.id")) }
                    th scope="col" { (p.t("task.kind")) }
                    th scope="col" { (p.t("task.state")) }
                    th scope="col" { (p.t("task.by")) }
                    th scope="col" { (p.t("task.progress")) }
                    th scope="col" { (p.t("task.updated")) }
                } }
                tbody {
                    @for t in &tasks {
                        tr {
                            td { a href=(format!("/tasks/{}", t.task_id)) { (t.task_id) } }
                            td { (p.t(&format!("task.kind.{}", t.kind.name()))) }
                            td { (state(&p, t.state)) }
                            td { (t.requested_by) }
                            td { (t.progress) }
                            td { (discvault::rfc3339(t.updated_at)) }
                        }
                    }
                }
            }
        }
    };
    layout(&p, p.t("task.title"), content)
}

fn details(p: &Page, t: &Task) -> Markup {
    let ended = !matches!(t.state, TaskState::Queued | TaskState::Running);
    html! {
        dl.task #task data-task=(t.task_id) data-ended=(ended)
            data-queued=(p.t("task.state.queued")) data-running=(p.t("task.state.running"))
            data-done=(p.t("task.state.done")) data-failed=(p.t("task.state.failed"))
            data-cancelled=(p.t("task.state.cancelled")) data-interrupted=(p.t("task.state.interrupted")) {
            dt { (p.t("task.kind")) } dd { (p.t(&format!("task.kind.{}", t.kind.name()))) }
            dt { (p.t("task.state")) } dd #task-state { (state(p, t.state)) }
            dt { (p.t("task.progress")) } dd #task-progress aria-live="polite" { (t.progress) }
            dt { (p.t("task.by")) } dd { (t.requested_by) }
            @if !t.error.is_empty() {
                dt { (p.t("task.error")) } dd #task-error.error { (t.error) }
            }
        }
        @if !ended && p.who.may(t.kind.duty()) {
            button #cancel type="button" hx-post=(format!("/api/v1/tasks/{}/cancel", t.task_id))
                hx-swap="none" { (p.t("task.cancel")) }
        }
        @if t.kind == discvault::model::TaskKind::Restore && t.state == TaskState::Done
            && p.who.may(Duty::Archive)
            && t.params.get("to").and_then(|v| v.as_str()).unwrap_or_default().is_empty() {
            p #download {
                (p.t("task.download")) " "
                a href=(format!("/api/v1/tasks/{}/download?format=zip", t.task_id)) download="" { "ZIP" } " · "
                a href=(format!("/api/v1/tasks/{}/download?format=tar", t.task_id)) download="" { "TAR" }
            }
        }
        @if let Some(rejected) = rejected_discs(t) {
            section #rejected aria-labelledby="rejected-title" {
                h2 #rejected-title { (p.t("task.rejected")) " (" (rejected.len()) ")" }
                p.hint { (p.t("task.rejected_hint")) }
                table.results {
                    thead { tr {
                        th scope="col" { (p.t("task.disc")) }
                        th scope="col" { (p.t("task.reason")) }
                        th scope="col" { (p.t("pick.place")) }
                        th scope="col" { (p.t("task.label")) }
                        th scope="col" { (p.t("task.action")) }
                    } }
                    tbody { @for d in rejected { tr {
                        td { code { (field(d, "disc")) } br; (field(d, "copy_id")) }
                        td { (field(d, "reason")) }
                        td { (field(d, "place")) }
                        td { (field(d, "label")) }
                        td { strong { (field(d, "action")) } }
                    } } }
                }
            }
        }
        @if let Some(r) = &t.result {
            details #task-result {
                summary { (p.t("task.result")) }
                pre { (serde_json::to_string_pretty(r).unwrap_or_default()) }
            }
        }
    }
}

pub async fn one(State(s): State<AppState>, p: Page, Path(id): Path<String>) -> Response {
    let task = match s
        .call(&p.caller(), Duty::Read, move |v| v.catalog.task(&id))
        .await
    {
        Ok(axum::Json(t)) => t,
        Err(e) => return e.into_response(),
    };
    let title = format!("{} {}", p.t("task.one"), task.task_id);
    layout(&p, &title, details(&p, &task))
}

/// The discs a publish task burned that do not hold their copy (its result's
/// `rejected_discs`): where each is and what to do with it.
fn rejected_discs(t: &Task) -> Option<&Vec<serde_json::Value>> {
    t.result
        .as_ref()?
        .get("rejected_discs")?
        .as_array()
        .filter(|a| !a.is_empty())
}

fn field<'a>(v: &'a serde_json::Value, name: &str) -> &'a str {
    v.get(name).and_then(|x| x.as_str()).unwrap_or_default()
}
