//! Reports: the holdings written to disc by year, the read-back results and quality grades by
//! year, the health of each disc batch, and the report itself to download (the API's
//! `/api/v1/report`, as `discvault report` makes it).

use super::dashboard::bars;
use super::{format, layout, Page};
use crate::api::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use discvault::model::Duty;
use discvault::report::{RecordsYear, YearChecks};
use maud::{html, Markup};

/// The bytes written to disc in each year (volumes mastered), as a chart.
pub(super) fn holdings_chart(p: &Page, mastered: &[(i32, u64, u64)]) -> Markup {
    let rows: Vec<(String, u64, String)> = mastered
        .iter()
        .map(|(y, n, b)| {
            (
                y.to_string(),
                *b,
                format!("{} · {} {}", format::size(*b), n, p.t("reports.volumes")),
            )
        })
        .collect();
    html! {
        @if rows.is_empty() { p { (p.t("reports.nothing")) } }
        @else { (bars(p.t("reports.holdings_chart"), &rows)) }
    }
}

/// The records on discs by the year they belong to (年度), as a chart.
pub(super) fn records_year_chart(p: &Page, years: &[RecordsYear]) -> Markup {
    let rows: Vec<(String, u64, String)> = years
        .iter()
        .map(|y| {
            (
                if y.year.is_empty() {
                    p.t("reports.no_year").to_string()
                } else {
                    y.year.clone()
                },
                y.bytes,
                format!(
                    "{} · {} {}",
                    format::size(y.bytes),
                    format::count(y.files),
                    p.t("dash.files")
                ),
            )
        })
        .collect();
    html! {
        @if rows.is_empty() { p { (p.t("reports.nothing")) } }
        @else { (bars(p.t("reports.records_year_chart"), &rows)) }
    }
}

/// The read-backs of each year, passed and failed, as a chart.
pub(super) fn checks_chart(p: &Page, years: &[YearChecks]) -> Markup {
    let mut rows: Vec<(String, u64, String)> = Vec::new();
    for y in years {
        rows.push((
            format!("{} {}", y.year, p.t("reports.passed")),
            y.success,
            format::count(y.success),
        ));
        rows.push((
            format!("{} {}", y.year, p.t("reports.failed")),
            y.failure,
            format::count(y.failure),
        ));
    }
    html! {
        @if rows.is_empty() { p { (p.t("reports.nothing")) } }
        @else { (bars(p.t("reports.checks_chart"), &rows)) }
    }
}

pub async fn page(State(s): State<AppState>, p: Page) -> Response {
    let (r, mastered) = match s
        .call(&p.caller(), Duty::Read, |v| {
            let report = discvault::report::build(v, discvault::now_unix())?;
            Ok((report, discvault::report::mastered_by_year(v)?))
        })
        .await
    {
        Ok(axum::Json(x)) => x,
        Err(e) => return e.into_response(),
    };
    let content = html! {
        p #report-files {
            (p.t("reports.download")) " "
            a href="/api/v1/report?format=pdf" download="report.pdf" { "PDF" } " · "
            a href="/api/v1/report?format=html" { "HTML" } " · "
            a href="/api/v1/report?format=json" { "JSON" }
        }
        div.cards {
            div.card #overdue { h3 { (p.t("reports.overdue")) } p.value { (format::count(r.overdue.len() as u64)) } }
            div.card #to-migrate { h3 { (p.t("reports.to_migrate")) } p.value { (format::count(r.to_migrate.len() as u64)) } }
        }
        section #holdings aria-labelledby="holdings-title" {
            h2 #holdings-title { (p.t("reports.holdings")) }
            (holdings_chart(&p, &mastered))
        }
        section #records-years aria-labelledby="records-years-title" {
            h2 #records-years-title { (p.t("reports.records_year")) }
            (records_year_chart(&p, &r.holdings_by_records_year))
        }
        section #checks aria-labelledby="checks-title" {
            h2 #checks-title { (p.t("reports.checks")) }
            (checks_chart(&p, &r.checks_by_year))
        }
        section #quality aria-labelledby="quality-title" {
            h2 #quality-title { (p.t("reports.quality")) }
            @if r.quality_by_year.is_empty() { p { (p.t("reports.nothing")) } }
            @else {
                table.results {
                    thead { tr {
                        th scope="col" { (p.t("reports.year")) }
                        th scope="col" { (p.t("grade.good")) }
                        th scope="col" { (p.t("grade.watch")) }
                        th scope="col" { (p.t("grade.act_now")) }
                    } }
                    tbody { @for q in &r.quality_by_year { tr {
                        td { (q.year) } td.num { (q.good) } td.num { (q.watch) } td.num { (q.act_now) }
                    } } }
                }
            }
        }
        section #batches aria-labelledby="batches-title" {
            h2 #batches-title { (p.t("reports.batches")) }
            @if r.health_by_batch.is_empty() { p { (p.t("reports.nothing")) } }
            @else {
                table.results {
                    thead { tr {
                        th scope="col" { (p.t("reports.batch")) }
                        th scope="col" { (p.t("grade.good")) }
                        th scope="col" { (p.t("grade.watch")) }
                        th scope="col" { (p.t("grade.act_now")) }
                        th scope="col" { (p.t("reports.ungraded")) }
                        th scope="col" { (p.t("reports.damaged")) }
                    } }
                    tbody { @for b in &r.health_by_batch { tr {
                        td { (b.medium) " · " (b.brand) " · " (b.batch) }
                        td.num { (b.good) } td.num { (b.watch) } td.num { (b.act_now) }
                        td.num { (b.ungraded) } td.num { (b.damaged) }
                    } } }
                }
            }
        }
    };
    layout(&p, p.t("reports.title"), content)
}
