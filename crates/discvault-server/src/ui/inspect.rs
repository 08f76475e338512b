//! The inspection round: the copies due (and the sample share) in cabinet order; a barcode
//! scanned or typed confirms the disc in hand, and its read-back on a drive (or an image) of
//! the server is recorded against that copy (a verify task).

use super::{layout, Page};
use crate::api::AppState;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Form;
use discvault::model::{Duty, TaskKind};
use maud::html;
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct At {
    at: Option<String>,
}

pub async fn page(State(s): State<AppState>, p: Page, Query(q): Query<At>) -> Response {
    let at = q.at.filter(|a| !a.trim().is_empty());
    let when = at.clone();
    let pick = match s
        .call(&p.caller(), Duty::Read, move |v| {
            let now = match when.as_deref() {
                Some(a) => discvault::parse_date(a)?,
                None => discvault::now_unix(),
            };
            discvault::inspect::due(v, now)
        })
        .await
    {
        Ok(axum::Json(d)) => d,
        Err(e) => return super::refused(&p, "inspect", &e).into_response(),
    };
    let content = html! {
        form.at method="get" action="/inspect" {
            label for="at" { (p.t("inspect.at")) }
            div.row {
                input #at type="date" name="at" value=(at.clone().unwrap_or_default());
                button type="submit" { (p.t("labels.show")) }
            }
        }
        section aria-labelledby="due-title" {
            h2 #due-title { (p.t("inspect.due")) " (" (pick.copies.len()) ")" }
            p.hint { (p.t("inspect.quota")) " " (pick.quota) " / " (pick.active_copies) }
            @if pick.copies.is_empty() { p { (p.t("dash.none")) } } @else {
                table.results #due {
                    thead { tr {
                        th scope="col" { (p.t("inspect.place")) }
                        th scope="col" { (p.t("inspect.barcode")) }
                        th scope="col" { (p.t("volumes.volume")) }
                        th scope="col" { (p.t("inspect.due_at")) }
                        th scope="col" { (p.t("inspect.reason")) }
                    } }
                    tbody { @for d in &pick.copies { tr {
                        td { (d.copy.place_text) }
                        td { code { (d.copy.copy.barcode) } }
                        td { (d.copy.copy.volume_id) }
                        td { (d.due_at) }
                        td { (p.t(&format!("inspect.reason.{}", d.reason))) }
                    } } }
                }
            }
        }
        section aria-labelledby="scan-title" {
            h2 #scan-title { (p.t("inspect.scan")) }
            form.scan hx-get="/inspect/scan" hx-target="#scan-result" {
                label for="code" { (p.t("inspect.code")) }
                div.row {
                    input #code type="text" name="code" autocomplete="off" required;
                    button type="submit" { (p.t("inspect.confirm")) }
                }
            }
            div #scan-result aria-live="polite" {}
        }
    };
    layout(&p, p.t("inspect.title"), content)
}

#[derive(Deserialize)]
pub struct Code {
    code: String,
}

/// The disc in hand: its copy, volume and place; and, for those who may, the form that reads
/// it back and records the result against it.
pub async fn scan(State(s): State<AppState>, p: Page, Query(q): Query<Code>) -> Response {
    let code = q.code.trim().to_string();
    let found = match s
        .call(&p.caller(), Duty::Read, move |v| {
            discvault::locate::locate_barcode(v, &code)
        })
        .await
    {
        Ok(axum::Json(a)) => a,
        Err(e) => return super::refused(&p, "inspect", &e),
    };
    let c = &found.copy;
    let roots = &s.vaults.server.roots;
    html! {
        div.card #in-hand {
            h3 { (p.t("inspect.in_hand")) " " code { (c.copy.barcode) } }
            p {
                (c.copy.volume_id) " (" (found.seq) "/" (found.seq_count) ") · "
                (c.place_text) " · "
                @if c.trusted {
                    span.badge.ok { (p.t("copy.trusted")) }
                } @else {
                    span.badge.warn { (p.t("copy.not_trusted")) }
                }
            }
            @if p.who.may(Duty::Operate) {
                form.verify hx-post="/inspect/verify" hx-target="#verify-result" {
                    input type="hidden" name="copy" value=(c.copy.copy_id);
                    p {
                        label for="source" { (p.t("inspect.source")) }
                        input #source type="text" name="source" required aria-describedby="source-hint";
                        span.hint #source-hint { (p.t("inspect.source_hint")) " "
                            (super::roots_list(roots)) }
                    }
                    p { button type="submit" { (p.t("inspect.verify")) } }
                }
                div #verify-result aria-live="polite" {}
            }
        }
    }
    .into_response()
}

#[derive(Deserialize)]
pub struct VerifyForm {
    copy: String,
    source: String,
}

pub async fn verify(State(s): State<AppState>, p: Page, Form(f): Form<VerifyForm>) -> Response {
    let params = serde_json::json!({ "sources": [f.source.trim()], "copy": f.copy });
    super::queue_task(&s, &p, TaskKind::Verify, params, "inspect").await
}
