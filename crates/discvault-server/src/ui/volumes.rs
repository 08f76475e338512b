//! Volumes: the planned ones to master (archivist), the mastered ones short of copies to
//! publish (operator), each as a task: master into a folder of the server; publish as image
//! files, to a drive (xorriso) or to a disc publisher's hot folder (Epson TD Bridge, Primera
//! PTBurn). Publishing is shown only to those who may publish.

use super::{format, layout, Page};
use crate::api::AppState;
use axum::extract::State;
use axum::response::Response;
use axum::Form;
use discvault::model::{Duty, TaskKind, VolumeState};
use maud::html;
use serde::Deserialize;

/// Volumes listed at most in each table (the newest).
const SHOWN: usize = 200;

pub async fn page(State(s): State<AppState>, p: Page) -> Response {
    let st = match super::status(&s, &p).await {
        Ok(st) => st,
        Err(r) => return r,
    };
    let planned: Vec<_> = st
        .volumes
        .iter()
        .filter(|v| v.state == VolumeState::Planned)
        .collect();
    let short: std::collections::BTreeMap<&str, &discvault::status::Shortfall> = st
        .shortfalls
        .iter()
        .map(|f| (f.volume_id.as_str(), f))
        .collect();
    let roots = &s.vaults.server.roots;
    let content = html! {
        section aria-labelledby="planned-title" {
            h2 #planned-title { (p.t("volumes.planned")) " (" (planned.len()) ")" }
            @if planned.is_empty() { p { (p.t("dash.none")) } } @else {
                ul.plain #planned { @for v in planned.iter().take(SHOWN) {
                    li { strong { (v.volume_id) } " " (v.media) " (" (v.seq) "/" (v.seq_count) ") · " (format::size(v.payload_bytes)) }
                } }
            }
            @if p.who.may(Duty::Archive) && !planned.is_empty() {
                form.master hx-post="/volumes/master" hx-target="#master-result" {
                    p {
                        label for="out" { (p.t("volumes.out")) }
                        input #out type="text" name="out" list="roots" required aria-describedby="out-hint";
                        datalist #roots { @for r in roots { option value=(r.display()) {} } }
                        span.hint #out-hint { (p.t("ingest.roots")) " " (super::roots_list(roots)) }
                    }
                    p { button type="submit" { (p.t("volumes.master")) } }
                }
                div #master-result aria-live="polite" {}
            }
        }
        section aria-labelledby="short-title" {
            h2 #short-title { (p.t("volumes.short")) " (" (short.len()) ")" }
            @if short.is_empty() { p { (p.t("dash.none")) } } @else {
                table.results #short {
                    thead { tr {
                        th scope="col" { (p.t("volumes.volume")) }
                        th scope="col" { (p.t("volumes.trusted")) }
                        th scope="col" { (p.t("volumes.problems")) }
                    } }
                    tbody { @for f in short.values().take(SHOWN) { tr {
                        td { (f.volume_id) }
                        td.num { (f.trusted_copies) " / " (f.required_copies) }
                        td { (shortfall_text(&p, f)) }
                    } } }
                }
            }
            @if p.who.may(Duty::Operate) {
                form.publish #publish hx-post="/volumes/publish" hx-target="#publish-result" {
                    @if !short.is_empty() {
                        fieldset {
                            legend { (p.t("volumes.which")) }
                            @for f in short.values().take(SHOWN) {
                                div {
                                    input type="checkbox" name="volume" value=(f.volume_id)
                                        id=(format!("v-{}", f.volume_id)) checked;
                                    label.inline for=(format!("v-{}", f.volume_id)) { (f.volume_id) }
                                }
                            }
                        }
                    }
                    p {
                        label for="kind" { (p.t("volumes.target")) }
                        select #kind name="kind" {
                            option value="images" { (p.t("volumes.to_images")) }
                            option value="tdbridge" { (p.t("volumes.to_tdbridge")) }
                            option value="ptburn" { (p.t("volumes.to_ptburn")) }
                            option value="xorriso" { (p.t("volumes.to_drive")) }
                        }
                    }
                    p {
                        label for="where" { (p.t("volumes.where")) }
                        input #where type="text" name="where" required aria-describedby="where-hint";
                        span.hint #where-hint { (p.t("volumes.where_hint")) }
                    }
                    p {
                        label for="copies" { (p.t("volumes.copies")) }
                        input #copies type="text" inputmode="numeric" name="copies" aria-describedby="copies-hint";
                        span.hint #copies-hint { (p.t("volumes.copies_hint")) }
                    }
                    p { button type="submit" { (p.t("volumes.publish")) } }
                }
                div #publish-result aria-live="polite" {}
            }
        }
    };
    layout(&p, p.t("volumes.title"), content)
}

#[derive(Deserialize)]
pub struct MasterForm {
    out: String,
}

pub async fn master(State(s): State<AppState>, p: Page, Form(f): Form<MasterForm>) -> Response {
    let params = serde_json::json!({ "out": f.out.trim() });
    super::queue_task(&s, &p, TaskKind::Master, params, "volumes").await
}

/// The publish form: the target's kind and place, the copies, the volumes ticked (a key
/// given once for each, which serde's forms do not take).
#[derive(Default)]
struct PublishForm {
    kind: String,
    place: String,
    copies: String,
    volumes: Vec<String>,
}

impl PublishForm {
    fn parse(body: &[u8]) -> PublishForm {
        let mut f = PublishForm::default();
        for (k, v) in form_urlencoded::parse(body) {
            match k.as_ref() {
                "kind" => f.kind = v.into_owned(),
                "where" => f.place = v.into_owned(),
                "copies" => f.copies = v.into_owned(),
                "volume" => f.volumes.push(v.into_owned()),
                _ => {}
            }
        }
        f
    }
}

pub async fn publish(State(s): State<AppState>, p: Page, body: axum::body::Bytes) -> Response {
    if !p.who.may(Duty::Operate) {
        return super::forbidden(&p);
    }
    let f = PublishForm::parse(&body);
    if !matches!(
        f.kind.as_str(),
        "images" | "tdbridge" | "ptburn" | "xorriso"
    ) {
        return super::refusal(&p, "volumes", &format!("{:?}", f.kind));
    }
    let mut params = serde_json::json!({
        "target": format!("{}:{}", f.kind, f.place.trim()),
        "volumes": f.volumes,
    });
    if !f.copies.trim().is_empty() {
        match f.copies.trim().parse::<u32>() {
            Ok(n) if (1..=20).contains(&n) => params["copies"] = n.into(),
            _ => {
                return super::refusal(&p, "volumes", &format!("{}: 1..20", p.t("volumes.copies")))
            }
        }
    }
    super::queue_task(&s, &p, TaskKind::Publish, params, "volumes").await
}

/// What a volume lacks, in the page's language (from the numbers, not the library's English).
fn shortfall_text(p: &Page, f: &discvault::status::Shortfall) -> String {
    let mut said = Vec::new();
    if f.trusted_copies < u64::from(f.required_copies) {
        said.push(
            p.t("volumes.lacks_copies")
                .replace("{n}", &f.trusted_copies.to_string())
                .replace("{m}", &f.required_copies.to_string()),
        );
    }
    if (f.sites.len() as u64) < u64::from(f.required_sites) {
        said.push(
            p.t("volumes.lacks_sites")
                .replace("{n}", &f.sites.len().to_string())
                .replace("{m}", &f.required_sites.to_string()),
        );
    }
    said.join(p.t("volumes.and"))
}
