//! The dashboard: what waits for whom, and the holdings at a glance (the status the API's
//! `/api/v1/status` answers, kept between changes).

use super::{format, layout, raw, Page};
use crate::api::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use discvault::model::{Duty, VolumeState};
use maud::{html, Markup};

/// One bar chart as inline SVG: a row per (label, value), scaled to the largest; with a title
/// and the values written out, so that it reads without the picture too.
pub(super) fn bars(title: &str, rows: &[(String, u64, String)]) -> Markup {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let (w, row_h, label_w) = (560u64, 28u64, 170u64);
    let h = row_h * rows.len() as u64 + 8;
    let mut svg = format!(
        r#"<svg class="chart" role="img" aria-label="{}" viewBox="0 0 {w} {h}" width="100%" xmlns="http://www.w3.org/2000/svg">"#,
        html_escape(title)
    );
    for (i, (label, v, shown)) in rows.iter().enumerate() {
        let y = i as u64 * row_h + 4;
        let bw = (w - label_w - 120) * v / max;
        svg.push_str(&format!(
            r#"<text x="0" y="{}" class="label">{}</text><rect x="{label_w}" y="{y}" width="{bw}" height="{}" class="bar bar{i}"/><text x="{}" y="{}" class="value">{}</text>"#,
            y + 17,
            html_escape(label),
            row_h - 8,
            label_w + bw + 6,
            y + 17,
            html_escape(shown),
        ));
    }
    svg.push_str("</svg>");
    html! { figure { figcaption { (title) } (raw(svg)) } }
}

fn html_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

fn card(p: &Page, key: &str, value: String, detail: Option<String>, id: &str) -> Markup {
    html! {
        div.card #(id) {
            h3 { (p.t(key)) }
            p.value { (value) }
            @if let Some(d) = detail { p.detail { (d) } }
        }
    }
}

pub async fn page(State(s): State<AppState>, p: Page) -> Response {
    let st = match super::status(&s, &p).await {
        Ok(st) => st,
        Err(r) => return r,
    };
    let planned = st
        .volumes
        .iter()
        .filter(|v| v.state == VolumeState::Planned)
        .count() as u64;
    let mastered = st.volumes.len() as u64 - planned;
    let files = |n: u64, b: u64| {
        format!(
            "{} {} · {}",
            format::count(n),
            p.t("dash.files"),
            format::size(b)
        )
    };
    let (by_year, records_years, checks) = match s
        .call(&p.caller(), Duty::Read, |v| {
            Ok((
                discvault::report::mastered_by_year(v)?,
                discvault::report::holdings_by_records_year(v)?,
                discvault::report::checks_by_year(v)?,
            ))
        })
        .await
    {
        Ok(axum::Json(x)) => x,
        Err(e) => return e.into_response(),
    };
    let content = html! {
        section aria-labelledby="waiting" {
            h2 #waiting { (p.t("dash.waiting")) }
            div.cards {
                @if p.who.may(Duty::Archive) {
                    (card(&p, "dash.unplanned", format::size(st.unplanned.bytes),
                        Some(files(st.unplanned.files, st.unplanned.bytes)), "unplanned"))
                    (card(&p, "dash.to_master", format::count(planned), None, "to-master"))
                }
                @if p.who.may(Duty::Operate) {
                    (card(&p, "dash.shortfalls", format::count(st.shortfalls.len() as u64), None, "shortfalls"))
                    (card(&p, "dash.overdue", format::count(st.copies.overdue), None, "overdue"))
                    (card(&p, "dash.to_migrate", format::count(st.copies.to_migrate), None, "to-migrate"))
                }
                @if !p.who.may(Duty::Archive) && !p.who.may(Duty::Operate) {
                    (card(&p, "dash.shortfalls", format::count(st.shortfalls.len() as u64), None, "shortfalls"))
                    (card(&p, "dash.overdue", format::count(st.copies.overdue), None, "overdue"))
                }
            }
        }
        section aria-labelledby="holdings" {
            h2 #holdings { (p.t("dash.holdings")) }
            div.cards {
                (card(&p, "dash.ingested", format::size(st.ingested.bytes), Some(files(st.ingested.files, st.ingested.bytes)), "ingested"))
                (card(&p, "dash.mastered", format::size(st.mastered.bytes), Some(files(st.mastered.files, st.mastered.bytes)), "mastered"))
                (card(&p, "dash.copies", format::count(st.copies.total),
                    Some(format!("{} {}", p.t("dash.trusted"), format::count(st.copies.trusted))), "copies"))
            }
            (bars(p.t("dash.by_state"), &[
                (p.t("state.unplanned").to_string(), st.unplanned.bytes, format::size(st.unplanned.bytes)),
                (p.t("state.planned").to_string(), st.planned.bytes, format!("{} · {} {}", format::size(st.planned.bytes), format::count(planned), p.t("dash.volumes"))),
                (p.t("state.mastered").to_string(), st.mastered.bytes, format!("{} · {} {}", format::size(st.mastered.bytes), format::count(mastered), p.t("dash.volumes"))),
            ]))
            div.charts {
                section #holdings-by-year aria-labelledby="holdings-by-year-title" {
                    h3 #holdings-by-year-title { (p.t("reports.holdings")) }
                    (super::reports::holdings_chart(&p, &by_year))
                }
                section #holdings-by-records-year aria-labelledby="holdings-by-records-year-title" {
                    h3 #holdings-by-records-year-title { (p.t("reports.records_year")) }
                    (super::reports::records_year_chart(&p, &records_years))
                }
                section #checks-by-year aria-labelledby="checks-by-year-title" {
                    h3 #checks-by-year-title { (p.t("reports.checks")) }
                    (super::reports::checks_chart(&p, &checks))
                }
            }
        }
    };
    layout(&p, p.t("dash.title"), content)
}
