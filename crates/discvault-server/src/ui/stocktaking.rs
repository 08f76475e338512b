//! A cabinet's stocktaking (operator): its CSV (barcode, cabinet, shelf, slot, from a scanner or
//! a spreadsheet) compared with the catalog and shown as what would change; applied only when
//! confirmed (`discvault cabinet import`).

use super::Page;
use crate::api::AppState;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Response};
use discvault::cabinet::Reconciliation;
use discvault::model::Duty;
use maud::{html, Markup};
use std::path::Path;

/// A stocktaking file of at most this many bytes (some 100,000 rows).
const MAX_FILE: usize = 4 << 20;

/// The form on the cabinets page.
pub fn form(p: &Page) -> Markup {
    html! {
        section aria-labelledby="stock-title" {
            h2 #stock-title { (p.t("stock.title")) }
            form.stock hx-post="/cabinets/import" hx-encoding="multipart/form-data" hx-target="#stock-result" {
                p {
                    label for="stock-file" { (p.t("stock.file")) }
                    input #stock-file type="file" name="csv" accept=".csv,text/csv" required aria-describedby="stock-hint";
                    span.hint #stock-hint { (p.t("stock.hint")) }
                }
                p { button type="submit" { (p.t("stock.preview")) } }
            }
            div #stock-result aria-live="polite" {}
        }
    }
}

/// What the stocktaking changes (or changed).
fn shown(p: &Page, r: &Reconciliation, data: Option<(&str, &str)>) -> Markup {
    html! {
        div #stock {
            p #stock-summary role="status" {
                @if r.applied { (p.t("stock.applied")) " " } @else { (p.t("stock.compared")) " " }
                (r.rows) " " (p.t("stock.rows")) ", " (r.matched) " " (p.t("stock.matched"))
                " · " (r.cabinets.join("、"))
            }
            @if r.agrees() {
                p.ok #stock-agrees { (p.t("stock.agrees")) }
            }
            @if !r.found_unexpected.is_empty() {
                h3 { (p.t("stock.moved")) " (" (r.found_unexpected.len()) ")" }
                table.results #stock-moved {
                    thead { tr {
                        th scope="col" { (p.t("pick.barcode")) }
                        th scope="col" { (p.t("stock.expected")) }
                        th scope="col" { (p.t("stock.seen")) }
                    } }
                    tbody { @for m in &r.found_unexpected { tr {
                        td { code { (m.barcode) } }
                        td { (m.expected) }
                        td { (m.cabinet) @if !m.shelf.is_empty() { "/" (m.shelf) } "/" (m.slot) }
                    } } }
                }
            }
            @if !r.missing.is_empty() {
                h3 { (p.t("stock.missing")) " (" (r.missing.len()) ")" }
                table.results #stock-missing {
                    thead { tr {
                        th scope="col" { (p.t("pick.barcode")) }
                        th scope="col" { (p.t("stock.expected")) }
                    } }
                    tbody { @for m in &r.missing { tr {
                        td { code { (m.barcode) } }
                        td { (m.cabinet) "/" (m.shelf) "/" (m.slot) }
                    } } }
                }
            }
            @if !r.found_again.is_empty() {
                h3 { (p.t("stock.found_again")) " (" (r.found_again.len()) ")" }
                p #stock-found { (r.found_again.join("、")) }
            }
            @if let Some((name, hex)) = data {
                @if !r.agrees() {
                    form.stock-apply hx-post="/cabinets/import/apply" hx-target="#stock-result" {
                        input type="hidden" name="name" value=(name);
                        input type="hidden" name="data" value=(hex);
                        p { button type="submit" { (p.t("stock.apply")) } }
                    }
                }
            }
        }
    }
}

/// The CSV sent: compared, nothing changed; the page offers to apply it.
pub async fn preview(State(s): State<AppState>, p: Page, mut form: Multipart) -> Response {
    let mut file = None;
    loop {
        match form.next_field().await {
            Ok(Some(f)) if f.name() == Some("csv") => {
                let name = f.file_name().unwrap_or("stocktaking.csv").to_string();
                match f.bytes().await {
                    Ok(b) => file = Some((name, b.to_vec())),
                    Err(e) => return super::refusal(&p, "stock", &e.body_text()),
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => return super::refusal(&p, "stock", &e.body_text()),
        }
    }
    let Some((name, bytes)) = file else {
        return super::refusal(&p, "stock", p.t("stock.no_file"));
    };
    // The file comes back hex-encoded to be applied, inside the server's body limit.
    if bytes.len() > MAX_FILE {
        return super::refusal(
            &p,
            "stock",
            &format!("{name}: {} > {} MiB", bytes.len(), MAX_FILE >> 20),
        );
    }
    let hex = hex::encode(&bytes);
    let shown_name = name.clone();
    match s
        .call(&p.caller(), Duty::Operate, move |v| {
            discvault::cabinet::import_of(v, Path::new(&name), &bytes, false)
        })
        .await
    {
        Ok(axum::Json(r)) => shown(&p, &r, Some((&shown_name, &hex))).into_response(),
        Err(e) => super::refused(&p, "stock", &e),
    }
}

/// The CSV previewed, sent back to be applied.
pub async fn apply(State(s): State<AppState>, p: Page, body: String) -> Response {
    let mut name = String::from("stocktaking.csv");
    let mut data = String::new();
    for (k, v) in form_urlencoded::parse(body.as_bytes()) {
        match &*k {
            "name" => name = v.into_owned(),
            "data" => data = v.into_owned(),
            _ => {}
        }
    }
    let Ok(bytes) = hex::decode(data.trim()) else {
        return super::refusal(&p, "stock", p.t("stock.no_file"));
    };
    match s
        .call(&p.caller(), Duty::Operate, move |v| {
            discvault::cabinet::import_of(v, Path::new(&name), &bytes, true)
        })
        .await
    {
        Ok(axum::Json(r)) => shown(&p, &r, None).into_response(),
        Err(e) => super::refused(&p, "stock", &e),
    }
}
