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
                            td { (progress_text(&p, t)) }
                            td { (discvault::rfc3339(t.updated_at)) }
                        }
                    }
                }
            }
        }
    };
    layout(&p, p.t("task.title"), content)
}

/// The codes of a task's progress (`discvault::progress::Message`) the page has words for.
const STEPS: &[&str] = &[
    "hashing",
    "restoring",
    "mastering",
    "mastering_again",
    "burning",
    "following",
    "reading",
    "verifying",
    "left_to_holder",
    "creating_vault",
    "publisher_says",
    "burning_again",
    "vault_busy",
    "catalog_busy",
    "busy",
];

/// A task's progress in the page's language: its code's words with the arguments put in (a
/// copy's role in words too); the library's English where the code has no words here.
pub fn progress_text(p: &Page, t: &Task) -> String {
    let Some(step) = &t.step else {
        return t.progress.clone();
    };
    let Ok(serde_json::Value::Object(args)) = serde_json::to_value(step) else {
        return t.progress.clone();
    };
    let code = args.get("code").and_then(|c| c.as_str()).unwrap_or("");
    let Some(words) = p.lang.words(&format!("step.{code}")) else {
        return t.progress.clone();
    };
    let arg = |k: &str| {
        let v = match args.get(k)? {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match p.lang.words(&format!("settings.role.{v}")) {
            Some(w) if k == "role" => Some(w.to_string()),
            _ => Some(v),
        }
    };
    let text = put_in(words, arg);
    match args.get("items") {
        Some(n) => put_in(p.t("step.items"), |k| match k {
            "step" => Some(text.clone()),
            "items" => Some(n.to_string()),
            _ => None,
        }),
        None => text,
    }
}

/// `words` with each `{name}` replaced by `arg(name)`, in one pass: what is put in is not
/// read again (a publisher's message holding `{job}` stays as it is). A name without a value
/// is left as it is.
fn put_in(words: &str, arg: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(words.len() + 32);
    let mut rest = words;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.find('}') {
            Some(j)
                if after[..j]
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_') =>
            {
                match arg(&after[..j]) {
                    Some(v) => out.push_str(&v),
                    None => out.push_str(&rest[i..i + j + 2]),
                }
                rest = &after[j + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The words of every code and role, for `app.js` to say the progress the same way.
fn step_words(p: &Page) -> String {
    let mut m = serde_json::Map::new();
    for code in STEPS
        .iter()
        .map(|c| format!("step.{c}"))
        .chain(["step.items".into()])
    {
        m.insert(code.clone(), p.t(&code).into());
    }
    for role in ["sealed", "access", "offsite"] {
        let k = format!("settings.role.{role}");
        m.insert(k.clone(), p.t(&k).into());
    }
    serde_json::Value::Object(m).to_string()
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
            dt { (p.t("task.progress")) } dd #task-progress aria-live="polite" data-words=(step_words(p)) { (progress_text(p, t)) }
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

#[cfg(test)]
mod tests {
    use super::STEPS;
    use discvault::progress::Message;

    #[test]
    fn arguments_are_put_in_once() {
        let said = super::put_in("{job}：{detail}", |k| match k {
            "job" => Some("J-1".into()),
            "detail" => Some("tray {job} empty".into()),
            _ => None,
        });
        assert_eq!(said, "J-1：tray {job} empty");
        assert_eq!(super::put_in("{x} {", |_| None), "{x} {");
    }

    /// Every message, once: a new one does not compile here until it is listed.
    fn listed(m: &Message) {
        match m {
            Message::Hashing
            | Message::Restoring
            | Message::Mastering { .. }
            | Message::MasteringAgain { .. }
            | Message::Burning { .. }
            | Message::Following { .. }
            | Message::Reading { .. }
            | Message::Verifying { .. }
            | Message::LeftToHolder { .. }
            | Message::CreatingVault { .. }
            | Message::PublisherSays { .. }
            | Message::BurningAgain { .. }
            | Message::VaultBusy { .. }
            | Message::CatalogBusy { .. }
            | Message::Busy { .. } => {}
        }
    }

    #[test]
    fn every_progress_code_has_words_in_both_languages() {
        let s = || String::from("x");
        let all = [
            Message::Hashing,
            Message::Restoring,
            Message::Mastering { volume: s() },
            Message::MasteringAgain { volume: s() },
            Message::Burning {
                copy: s(),
                role: s(),
                disc: 1,
            },
            Message::Following {
                copy: s(),
                role: s(),
                at: s(),
            },
            Message::Reading { from: s() },
            Message::Verifying { volume: s() },
            Message::LeftToHolder {
                volume: s(),
                holder: s(),
            },
            Message::CreatingVault { path: s() },
            Message::PublisherSays {
                job: s(),
                detail: s(),
            },
            Message::BurningAgain {
                copy: s(),
                detail: s(),
            },
            Message::VaultBusy {
                path: s(),
                holder: s(),
            },
            Message::CatalogBusy { holder: s() },
            Message::Busy {
                what: s(),
                holder: s(),
            },
        ];
        assert_eq!(all.len(), STEPS.len());
        for m in all {
            listed(&m);
            let v = serde_json::to_value(&m).unwrap();
            let code = v["code"].as_str().unwrap();
            assert!(STEPS.contains(&code), "{code}");
            for lang in [super::super::i18n::Lang::Zh, super::super::i18n::Lang::En] {
                let words = lang.words(&format!("step.{code}")).unwrap();
                // Every argument has its place in the words, and the words name no other.
                let args: Vec<&String> = v
                    .as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| *k != "code")
                    .collect();
                for a in &args {
                    assert!(
                        words.contains(&format!("{{{a}}}")),
                        "{code}: {a} in {words}"
                    );
                }
                assert_eq!(words.matches('{').count(), args.len(), "{code}: {words}");
            }
            // The English words are the library's.
            let mut en = super::super::i18n::Lang::En
                .words(&format!("step.{code}"))
                .unwrap()
                .to_string();
            for (k, a) in v.as_object().unwrap() {
                let a = match a {
                    serde_json::Value::String(x) => x.clone(),
                    o => o.to_string(),
                };
                en = en.replace(&format!("{{{k}}}"), &a);
            }
            assert_eq!(en, m.to_string());
        }
    }
}
