//! Cabinets: each cabinet as shelves of slots, every disc in its slot coloured by its state and
//! trust; a copy moved or marked (operator); the cabinet's slot labels.

use super::{format, layout, Page};
use crate::api::AppState;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Form;
use discvault::copies::{CopyView, PlaceInput};
use discvault::model::{CopyState, Duty};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize, Default)]
pub struct Which {
    cabinet: Option<String>,
}

/// A shelf's or slot's key in its natural order: `2` before `10`, text after numbers.
type Order = (u64, String);
/// Shelf → slot → the discs in it.
type Grid<'a> = BTreeMap<Order, BTreeMap<Order, Vec<&'a CopyView>>>;

/// Shelves and slots in their natural order.
fn order(s: &str) -> Order {
    (s.parse::<u64>().unwrap_or(u64::MAX), s.to_string())
}

fn disc(p: &Page, c: &CopyView) -> Markup {
    let (class, words) = match c.copy.state {
        CopyState::Missing | CopyState::Damaged | CopyState::Retired => (
            "disc bad",
            p.t(&format!("copy.state.{}", c.copy.state.as_str())),
        ),
        _ if c.trusted => ("disc ok", p.t("copy.trusted")),
        _ => ("disc warn", p.t("copy.not_trusted")),
    };
    html! {
        div class=(class) title=(c.not_trusted.clone().unwrap_or_default()) {
            code { (c.copy.barcode) } " " (c.copy.volume_id) " · " (words)
        }
    }
}

pub async fn page(State(s): State<AppState>, p: Page, Query(q): Query<Which>) -> Response {
    // The cabinets with their counts, and the copies of the one chosen only: a million files
    // make some ten thousand copies, too many to read for every page.
    let (cabinets, all) = match s
        .call(&p.caller(), Duty::Read, move |v| {
            let cabinets = v.catalog.cabinets()?;
            let chosen = q.cabinet.filter(|c| cabinets.iter().any(|(n, _)| n == c));
            let copies = match &chosen {
                Some(c) => discvault::copies::in_cabinet_at(v, c, discvault::now_unix())?,
                None => Vec::new(),
            };
            Ok((cabinets, (chosen, copies)))
        })
        .await
    {
        Ok(axum::Json(c)) => c,
        Err(e) => return e.into_response(),
    };
    let (chosen, all) = all;
    // shelf → slot → discs.
    let mut grid: Grid = BTreeMap::new();
    for c in &all {
        grid.entry(order(&c.copy.place.shelf))
            .or_default()
            .entry(order(&c.copy.place.slot))
            .or_default()
            .push(c);
    }
    let content = html! {
        nav.cabinets aria-label=(p.t("cab.list")) {
            ul {
                @for (name, n) in &cabinets {
                    @let shown = if name.is_empty() { p.t("cab.unplaced") } else { name.as_str() };
                    li {
                        @if chosen.as_deref() == Some(name.as_str()) {
                            a href=(format!("/cabinets?cabinet={}", format::query_escape(name))) aria-current="page" { (shown) " (" (n) ")" }
                        } @else {
                            a href=(format!("/cabinets?cabinet={}", format::query_escape(name))) { (shown) " (" (n) ")" }
                        }
                    }
                }
            }
        }
        @if cabinets.is_empty() { p { (p.t("cab.none")) } }
        @if let Some(cab) = &chosen {
            section aria-labelledby="cab-title" {
                h2 #cab-title { (p.t("cab.cabinet")) " " (if cab.is_empty() { p.t("cab.unplaced") } else { cab }) }
                @if !cab.is_empty() {
                    p { a #slot-labels href=(format!("/labels?kind=slots&key={}", format::query_escape(cab))) { (p.t("cab.slot_labels")) } }
                }
                div.legend {
                    span.disc.ok { (p.t("copy.trusted")) } " "
                    span.disc.warn { (p.t("copy.not_trusted")) } " "
                    span.disc.bad { (p.t("cab.gone")) }
                }
                @for ((_, shelf), slots) in &grid {
                    div.shelf {
                        h3 { (p.t("cab.shelf")) " " (shelf) }
                        div.slots {
                            @for ((_, slot), discs) in slots {
                                div.slot {
                                    div.slotno { (p.t("cab.slot")) " " (slot) }
                                    @for c in discs { (disc(&p, c)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if p.who.may(Duty::Operate) {
            section aria-labelledby="move-title" {
                h2 #move-title { (p.t("cab.move_title")) }
                form.move hx-post="/cabinets/move" hx-target="#move-result" {
                    p {
                        label for="copy" { (p.t("inspect.code")) }
                        input #copy type="text" name="copy" required;
                    }
                    p {
                        label for="place" { (p.t("cab.place")) }
                        input #place type="text" name="place" required aria-describedby="place-hint";
                        span.hint #place-hint { (p.t("cab.place_hint")) }
                    }
                    p { button type="submit" { (p.t("cab.move")) } }
                }
                form.mark hx-post="/cabinets/mark" hx-target="#move-result" {
                    p {
                        label for="mark-copy" { (p.t("inspect.code")) }
                        input #mark-copy type="text" name="copy" required;
                    }
                    p {
                        label for="state" { (p.t("cab.state")) }
                        select #state name="state" {
                            @for st in ["missing", "damaged", "destroyed", "written"] {
                                option value=(st) { (p.t(&format!("copy.state.{st}"))) }
                            }
                        }
                    }
                    p {
                        label for="note" { (p.t("cab.note")) }
                        input #note type="text" name="note";
                    }
                    p { button type="submit" { (p.t("cab.mark")) } }
                }
                div #move-result aria-live="polite" {}
            }
            (super::stocktaking::form(&p))
        }
    };
    layout(&p, p.t("cab.title"), content)
}

#[derive(Deserialize)]
pub struct MoveForm {
    copy: String,
    place: String,
}

fn done(p: &Page, c: &CopyView) -> Response {
    html! {
        p #moved role="status" {
            (p.t("cab.done")) " " code { (c.copy.barcode) } " → " (c.place_text) " · "
            (p.t(&format!("copy.state.{}", c.copy.state.as_str())))
        }
    }
    .into_response()
}

pub async fn move_copy(State(s): State<AppState>, p: Page, Form(f): Form<MoveForm>) -> Response {
    let place = PlaceInput {
        place: Some(f.place.trim().to_string()),
        ..Default::default()
    };
    match s
        .call(&p.caller(), Duty::Operate, move |v| {
            let c = discvault::copies::move_to(v, f.copy.trim(), &place)?;
            Ok(discvault::copies::view(v, c))
        })
        .await
    {
        Ok(axum::Json(c)) => done(&p, &c),
        Err(e) => super::refused(&p, "cab", &e),
    }
}

#[derive(Deserialize)]
pub struct MarkForm {
    copy: String,
    state: String,
    #[serde(default)]
    note: String,
}

pub async fn mark(State(s): State<AppState>, p: Page, Form(f): Form<MarkForm>) -> Response {
    match s
        .call(&p.caller(), Duty::Operate, move |v| {
            let c = discvault::copies::mark(v, f.copy.trim(), &f.state, &f.note, None)?;
            Ok(discvault::copies::view(v, c))
        })
        .await
    {
        Ok(axum::Json(c)) => done(&p, &c),
        Err(e) => super::refused(&p, "cab", &e),
    }
}
