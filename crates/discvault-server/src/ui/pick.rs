//! The pick list of the files ticked in a search: the discs to fetch from the cabinets, in
//! the order a person walks them, printed for the reading room; and a restore of those files
//! (archivist), to a folder on the server or kept for download.

use super::{layout, Page};
use crate::api::AppState;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use discvault::copies::CopyView;
use discvault::model::{CopyState, Duty, TaskKind};
use discvault::restore::{PickFile, Selection};
use maud::html;
use serde::Serialize;

/// Files on one pick list at most (a search's page).
const MAX: usize = 100;

/// The files of a pick list as the form sends them: `f=collection/path`, repeated.
fn files_of(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        if k == "f" && !v.trim().is_empty() && !out.iter().any(|o| *o == v) {
            out.push(v.into_owned());
        }
    }
    out.truncate(MAX);
    out
}

/// A file ticked names one file exactly; a restore's pattern would take `*`, `?` and `[` as
/// wildcards and match more, so such names are refused here.
fn wildcard(f: &str) -> bool {
    f.contains(['*', '?', '['])
}

/// One value of a form field sent as `name=...` (the last one).
fn field(raw: &str, name: &str) -> String {
    form_urlencoded::parse(raw.as_bytes())
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_string())
        .last()
        .unwrap_or_default()
}

/// A pick list's discs: each volume needed and its copies.
#[derive(Serialize)]
struct Picked {
    files: Vec<PickFile>,
    /// Files asked for that are on no disc yet.
    unplaced: Vec<String>,
    /// Volumes never mastered (no disc yet).
    unmastered: Vec<String>,
    volumes: Vec<(String, Vec<CopyView>)>,
    /// The patterns that matched nothing.
    missing: Vec<String>,
}

pub async fn page(State(s): State<AppState>, p: Page, RawQuery(raw): RawQuery) -> Response {
    let asked = files_of(raw.as_deref().unwrap_or_default());
    let names = asked.clone();
    let picked = match s
        .call(&p.caller(), Duty::Read, move |v| {
            let mut out = Picked {
                files: Vec::new(),
                unplaced: Vec::new(),
                unmastered: Vec::new(),
                volumes: Vec::new(),
                missing: Vec::new(),
            };
            let mut volumes: Vec<String> = Vec::new();
            for f in names {
                if wildcard(&f) {
                    out.missing.push(f);
                    continue;
                }
                let list = discvault::restore::pick_for_restore(
                    Some(v),
                    &Selection::Pattern(f.clone()),
                    None,
                    &[],
                )?;
                // The file ticked only: a pattern also matches the paths under it, and the
                // same path in other collections.
                let files: Vec<PickFile> = list
                    .files
                    .into_iter()
                    .filter(|p| format!("{}/{}", p.collection, p.path) == f)
                    .collect();
                let unplaced: Vec<String> = list
                    .unplaced
                    .into_iter()
                    .filter(|u| {
                        u.strip_prefix(f.as_str())
                            .is_some_and(|r| r.starts_with(" v"))
                    })
                    .collect();
                if files.is_empty() && unplaced.is_empty() {
                    out.missing.push(f);
                }
                for file in &files {
                    for part in &file.parts {
                        volumes.push(part.volume_id.clone());
                        if list.unmastered.contains(&part.volume_id) {
                            out.unmastered.push(part.volume_id.clone());
                        }
                    }
                }
                out.files.extend(files);
                out.unplaced.extend(unplaced);
            }
            volumes.sort();
            volumes.dedup();
            out.unmastered.sort();
            out.unmastered.dedup();
            let now = discvault::now_unix();
            for vol in volumes {
                // The copies to take first on top: trusted, then the others in place order.
                let mut copies = discvault::copies::list_at(v, Some(&vol), now)?;
                copies.sort_by_key(|c| !c.trusted);
                out.volumes.push((vol, copies));
            }
            // In the order of the cabinets: by the place of each volume's first copy.
            out.volumes.sort_by(|a, b| {
                let place = |c: &[CopyView]| c.first().map(|c| c.place_text.clone());
                (place(&a.1), &a.0).cmp(&(place(&b.1), &b.0))
            });
            Ok(out)
        })
        .await
    {
        Ok(axum::Json(x)) => x,
        Err(e) => return e.into_response(),
    };
    let content = html! {
        @if asked.is_empty() {
            p { (p.t("pick.none")) " " a href="/search" { (p.t("nav.search")) } }
        } @else {
            p.noprint { button #print type="button" data-print="" { (p.t("pick.print")) } }
            section aria-labelledby="discs-title" {
                h2 #discs-title { (p.t("pick.discs")) " (" (picked.volumes.len()) ")" }
                @if picked.volumes.is_empty() { p { (p.t("pick.no_discs")) } }
                @else {
                    table.pick #pick-discs {
                        thead { tr {
                            th scope="col" { (p.t("pick.volume")) }
                            th scope="col" { (p.t("pick.barcode")) }
                            th scope="col" { (p.t("pick.place")) }
                            th scope="col" { (p.t("pick.trust")) }
                            th scope="col" class="tick" { (p.t("pick.fetched")) }
                        } }
                        tbody {
                            @for (vol, copies) in &picked.volumes {
                                @if copies.is_empty() {
                                    tr { td { strong { (vol) } } td colspan="4" { (p.t("search.no_copy")) } }
                                }
                                @for (k, c) in copies.iter().enumerate() {
                                    tr {
                                        td { @if k == 0 { strong { (vol) } } }
                                        td { code { (c.copy.barcode) } }
                                        td { (c.place_text) }
                                        td {
                                            @if matches!(c.copy.state, CopyState::Missing | CopyState::Damaged | CopyState::Retired) {
                                                span.badge.bad { (p.t(&format!("copy.state.{}", c.copy.state.as_str()))) }
                                            } @else if c.trusted { span.badge.ok { (p.t("copy.trusted")) } }
                                            @else { span.badge.warn { (p.t("copy.not_trusted")) } }
                                        }
                                        td.tick { "☐" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="files-title" {
                h2 #files-title { (p.t("pick.files")) " (" (picked.files.len()) ")" }
                table.pick #pick-files {
                    thead { tr {
                        th scope="col" { (p.t("search.path")) }
                        th scope="col" { (p.t("search.collection")) }
                        th scope="col" { (p.t("search.version")) }
                        th scope="col" { (p.t("pick.on")) }
                    } }
                    tbody {
                        @for f in &picked.files {
                            tr {
                                td.path { (f.path) }
                                td { (f.collection) }
                                td.num { (f.version) }
                                td {
                                    @for (k, part) in f.parts.iter().enumerate() {
                                        @if k > 0 { ", " }
                                        (part.volume_id)
                                    }
                                }
                            }
                        }
                    }
                }
                @if !picked.unplaced.is_empty() {
                    p.warn { (p.t("pick.unplaced")) " " (picked.unplaced.join("、")) }
                }
                @if !picked.unmastered.is_empty() {
                    p.warn { (p.t("pick.unmastered")) " " (picked.unmastered.join("、")) }
                }
                @if !picked.missing.is_empty() {
                    p.warn { (p.t("pick.missing")) " " (picked.missing.join("、")) }
                }
            }
            @if p.who.may(Duty::Archive) && !picked.files.is_empty() {
                section.noprint aria-labelledby="restore-title" {
                    h2 #restore-title { (p.t("pick.restore")) }
                    form.restore hx-post="/pick/restore" hx-target="#restore-result" {
                        @for f in &asked { input type="hidden" name="f" value=(f); }
                        p {
                            label for="from" { (p.t("pick.from")) }
                            textarea #from name="from" rows="2" required aria-describedby="from-hint" {}
                            span.hint #from-hint { (p.t("pick.from_hint")) }
                        }
                        p {
                            label for="to" { (p.t("pick.to")) }
                            input #to type="text" name="to" aria-describedby="to-hint";
                            span.hint #to-hint { (p.t("pick.to_hint")) }
                        }
                        p { button type="submit" { (p.t("pick.restore_submit")) } }
                    }
                    div #restore-result aria-live="polite" {}
                }
            }
        }
    };
    layout(&p, p.t("pick.title"), content)
}

/// Restores the files of a pick list: a `restore` task for each, from the discs or images
/// named (server paths inside the roots), to a folder inside the roots or kept for download.
pub async fn restore(State(s): State<AppState>, p: Page, body: String) -> Response {
    let files = files_of(&body);
    let from: Vec<String> = field(&body, "from")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let to = field(&body, "to");
    if files.is_empty() || from.is_empty() {
        return super::refusal(&p, "pick", p.t("pick.need_from"));
    }
    if let Some(f) = files.iter().find(|f| wildcard(f)) {
        return super::refusal(&p, "pick", &format!("{}: {f}", p.t("pick.wildcard")));
    }
    let mut queued: Vec<String> = Vec::new();
    for f in files {
        let mut params = serde_json::json!({ "pattern": f, "from": from });
        if !to.is_empty() {
            params["to"] = serde_json::Value::String(to.clone());
        }
        match s
            .call(&p.caller(), Duty::Archive, move |v| {
                discvault::tasks::queue(v, TaskKind::Restore, params)
            })
            .await
        {
            Ok(axum::Json(t)) => queued.push(t.task_id),
            // Those queued before are said too: asking again would queue them twice.
            Err(e) if queued.is_empty() => return super::refused(&p, "pick", &e),
            Err(e) => {
                let said = format!(
                    "{} ({} {})",
                    e.message,
                    p.t("pick.queued"),
                    queued.join(", ")
                );
                return super::refusal(&p, "pick", &said);
            }
        }
    }
    html! {
        p #queued role="status" {
            (p.t("pick.queued")) " "
            @for (k, id) in queued.iter().enumerate() {
                @if k > 0 { ", " }
                a href=(format!("/tasks/{id}")) { (id) }
            }
        }
    }
    .into_response()
}
