//! Search: one box, as `locate` (one or two Chinese characters are enough); each file with
//! its version, volumes, copies and their places.

use super::{format, layout, Page};
use crate::api::AppState;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use discvault::model::Duty;
use maud::html;
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct Q {
    q: Option<String>,
}

/// Files on one page at most.
const PAGE: usize = 100;

pub async fn page(State(s): State<AppState>, p: Page, Query(q): Query<Q>) -> Response {
    let query = q.q.unwrap_or_default().trim().to_string();
    let found = if query.is_empty() {
        None
    } else {
        let text = query.clone();
        match s
            .call(&p.caller(), Duty::Read, move |v| {
                discvault::locate::locate_versions(v, &text, PAGE + 1, false)
            })
            .await
        {
            Ok(axum::Json(f)) => Some(f),
            Err(e) => return e.into_response(),
        }
    };
    let content = html! {
        form.search role="search" method="get" action="/search" {
            label for="q" { (p.t("search.label")) }
            div.row {
                input #q type="search" name="q" value=(query) aria-describedby="q-hint" autofocus;
                button type="submit" { (p.t("search.submit")) }
            }
            p.hint #q-hint { (p.t("search.hint")) }
        }
        @if let Some(found) = &found {
            section #results aria-labelledby="results-title" {
                h2 #results-title { (p.t("search.results")) " (" (found.len().min(PAGE)) ")" }
                @if found.is_empty() {
                    p { (p.t("search.none")) }
                } @else {
                    form #pick-form method="get" action="/pick" {
                    p { button type="submit" { (p.t("search.pick")) } " " span.hint { (p.t("search.pick_hint")) } }
                    table.results {
                        thead { tr {
                            th scope="col" { (p.t("search.tick")) }
                            th scope="col" { (p.t("search.path")) }
                            th scope="col" { (p.t("search.collection")) }
                            th scope="col" { (p.t("search.version")) }
                            th scope="col" { (p.t("search.size")) }
                            th scope="col" { (p.t("search.state")) }
                            th scope="col" { (p.t("search.where")) }
                        } }
                        tbody {
                            @for f in found.iter().take(PAGE) {
                                tr {
                                    td {
                                        input type="checkbox" name="f" value=(format!("{}/{}", f.collection, f.path))
                                            aria-label=(format!("{} {}", p.t("search.tick"), f.path));
                                    }
                                    td.path { (f.path) }
                                    td { (f.collection) }
                                    td.num { (f.version) }
                                    td.num { (format::size(f.size)) }
                                    td { (p.t(&format!("state.{}", f.state))) }
                                    td {
                                        @for pl in &f.volumes {
                                            div.placement {
                                                strong { (pl.volume_id) }
                                                @if pl.parts > 1 { " (" (p.t("search.part")) " " (pl.part) "/" (pl.parts) ")" }
                                                @if pl.copies.is_empty() {
                                                    " · " span.muted { (p.t("search.no_copy")) }
                                                }
                                                @for c in &pl.copies {
                                                    div.copy {
                                                        code { (c.copy.barcode) } " "
                                                        (c.place_text) " "
                                                        @if c.trusted {
                                                            span.badge.ok { (p.t("copy.trusted")) }
                                                        } @else {
                                                            span.badge.warn { (p.t("copy.not_trusted")) }
                                                        }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    }
                    @if found.len() > PAGE { p.hint { (p.t("search.more")) } }
                }
            }
        }
    };
    layout(&p, p.t("search.title"), content)
}
