//! The audit log: the newest events of the hash chain (who did what, to which volume, copy or
//! collection), the chain checked on demand (it reads every event), and the PREMIS export.

use super::{layout, Page};
use crate::api::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use discvault::model::Duty;
use maud::html;

/// Events on the page, the newest.
const SHOWN: i64 = 200;

pub async fn page(State(s): State<AppState>, p: Page) -> Response {
    let events = match s
        .call(&p.caller(), Duty::Read, |v| {
            let (head, _) = v.catalog.event_head()?;
            v.catalog.event_records_after((head - SHOWN).max(0), SHOWN)
        })
        .await
    {
        Ok(axum::Json(e)) => e,
        Err(e) => return e.into_response(),
    };
    let content = html! {
        p {
            button #check type="button" hx-get="/audit/verify" hx-target="#chain" { (p.t("audit.check")) }
            " "
            a #premis href="/api/v1/audit/premis" download="premis.xml" { (p.t("audit.premis")) }
        }
        div #chain aria-live="polite" {}
        h2 { (p.t("audit.latest")) }
        table.results #events {
            thead { tr {
                th scope="col" { "#" }
                th scope="col" { (p.t("audit.at")) }
                th scope="col" { (p.t("audit.type")) }
                th scope="col" { (p.t("audit.agent")) }
                th scope="col" { (p.t("audit.about")) }
                th scope="col" { (p.t("audit.detail")) }
            } }
            tbody { @for e in events.iter().rev() { tr {
                td.num { (e.id) }
                td { (discvault::rfc3339(e.at)) }
                td { (e.event_type) @if e.outcome != "success" { " (" (e.outcome) ")" } }
                td { (e.agent) }
                td { (e.volume_id.clone().or(e.copy_id.clone()).or(e.collection.clone()).unwrap_or_default()) }
                td { (e.detail) }
            } } }
        }
    };
    layout(&p, p.t("audit.title"), content)
}

/// The whole chain recomputed: intact, or every break found.
pub async fn verify(State(s): State<AppState>, p: Page) -> Response {
    match s
        .call(&p.caller(), Duty::Read, |v| v.catalog.verify_chain())
        .await
    {
        Ok(axum::Json(r)) => html! {
            @if r.intact {
                p #chain-state.ok role="status" { span.badge.ok { (p.t("audit.intact")) } " " (r.events) " " (p.t("audit.events")) }
            } @else {
                div #chain-state role="alert" {
                    p.error { (p.t("audit.broken")) }
                    ul { @for x in &r.problems { li { (x) } } }
                }
            }
        }
        .into_response(),
        Err(e) => super::refused(&p, "audit", &e),
    }
}
