//! Plan: the volumes the unplanned files would make (fill bars, n of m, what goes where, the
//! files split across discs), shown before anything is recorded; confirmed, a plan task is
//! queued (as `POST /api/v1/tasks` with kind `plan`).

use super::{format, layout, Page};
use crate::api::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Form;
use discvault::model::{Duty, TaskKind};
use discvault::plan::{PlanOptions, VolumePlan};
use maud::{html, Markup};
use serde::Deserialize;

/// What the form asks: the medium and the share kept free.
#[derive(Deserialize, Default, Clone)]
pub struct PlanForm {
    media: String,
    reserve_percent: Option<String>,
    /// `bridge`, `iso9660`, or empty: the vault's setting.
    file_systems: Option<String>,
}

impl PlanForm {
    fn options(&self) -> Result<PlanOptions, String> {
        let reserve = match self.reserve_percent.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(r) => Some(
                r.parse::<f64>()
                    .map_err(|_| format!("reserve_percent: {r:?}"))?,
            ),
        };
        let file_systems = match self.file_systems.as_deref().unwrap_or("") {
            "" => None,
            fs => Some(
                discvault::model::FileSystems::parse(fs)
                    .ok_or_else(|| format!("file_systems: {fs:?}"))?,
            ),
        };
        Ok(PlanOptions {
            media: Some(self.media.clone()),
            reserve_percent: reserve,
            file_systems,
            ..Default::default()
        })
    }
}

fn form(p: &Page, f: &PlanForm) -> Markup {
    html! {
        form.plan hx-post="/plan/preview" hx-target="#preview" {
            p {
                label for="media" { (p.t("plan.media")) }
                select #media name="media" {
                    @for (name, _, what) in discvault::media::PROFILES {
                        option value=(name) selected[*name == f.media] { (name) " — " (what) }
                    }
                }
            }
            p {
                label for="reserve" { (p.t("plan.reserve")) }
                input #reserve type="text" inputmode="decimal" name="reserve_percent"
                    value=(f.reserve_percent.clone().unwrap_or_default()) aria-describedby="reserve-hint";
                span.hint #reserve-hint { (p.t("plan.reserve_hint")) }
            }
            p {
                label for="file-systems" { (p.t("plan.file_systems")) }
                select #file-systems name="file_systems" {
                    @let chosen = f.file_systems.as_deref().unwrap_or("");
                    @for (value, key) in [("", "plan.fs_default"), ("bridge", "plan.fs_bridge"), ("iso9660", "plan.fs_iso9660")] {
                        option value=(value) selected[chosen == value] { (p.t(key)) }
                    }
                }
            }
            p { button type="submit" { (p.t("plan.preview")) } }
        }
    }
}

pub async fn page(p: Page) -> Response {
    if !p.who.may(Duty::Archive) {
        return super::forbidden(&p);
    }
    let f = PlanForm {
        media: "dvd5".into(),
        ..Default::default()
    };
    let content = html! {
        p.hint { (p.t("plan.intro")) }
        (form(&p, &f))
        div #preview aria-live="polite" {}
    };
    layout(&p, p.t("plan.title"), content)
}

fn preview(p: &Page, f: &PlanForm, plan: &VolumePlan) -> Markup {
    let splits: u64 = plan
        .volumes
        .iter()
        .flat_map(|v| &v.items)
        .filter(|i| i.parts > 1 && i.part == 1)
        .count() as u64;
    html! {
        h2 #preview-title { (p.t("plan.preview_title")) }
        @if plan.volumes.is_empty() {
            p #nothing { (p.t("plan.nothing")) }
        } @else {
            p #plan-summary {
                (format::count(plan.files)) " " (p.t("dash.files")) " · " (format::size(plan.payload_bytes))
                " → " strong { (plan.volumes.len()) " " (p.t("plan.discs")) } " " (plan.media.name)
                " · " (p.t(match plan.file_systems {
                    discvault::model::FileSystems::Bridge => "plan.fs_bridge",
                    discvault::model::FileSystems::Iso9660 => "plan.fs_iso9660",
                }))
                @if splits > 0 { " · " (splits) " " (p.t("plan.split_files")) }
            }
            ol.volumes {
                @for v in &plan.volumes {
                    li.volume {
                        h3 { (v.volume_id) " (" (v.seq) "/" (v.seq_count) ")" }
                        label for=(format!("fill-{}", v.volume_id)) { (p.t("plan.fill")) }
                        progress id=(format!("fill-{}", v.volume_id)) max="1000" value=((v.fill_ratio * 1000.0).round() as u64) {
                            (format!("{:.1}%", v.fill_ratio * 100.0))
                        }
                        " " (format!("{:.1}%", v.fill_ratio * 100.0))
                        " · " (format::count(v.files)) " " (p.t("dash.files"))
                        " · " (format::size(v.image_bytes))
                        details {
                            summary { (p.t("plan.what_goes")) }
                            ul.items {
                                @for i in v.items.iter().take(200) {
                                    li {
                                        (i.collection) "/" (i.path)
                                        @if i.parts > 1 {
                                            " " span.badge.warn { (p.t("search.part")) " " (i.part) "/" (i.parts) }
                                        }
                                    }
                                }
                                @if v.items.len() > 200 { li.muted { "… " (v.items.len() - 200) } }
                            }
                        }
                    }
                }
            }
            form hx-post="/plan/confirm" hx-target="#preview" {
                input type="hidden" name="media" value=(f.media);
                input type="hidden" name="reserve_percent" value=(f.reserve_percent.clone().unwrap_or_default());
                input type="hidden" name="file_systems" value=(f.file_systems.clone().unwrap_or_default());
                button type="submit" { (p.t("plan.confirm")) }
            }
        }
    }
}

fn error(p: &Page, message: &str) -> Response {
    super::refusal(p, "plan", message)
}

/// The preview, in place of the form's target.
pub async fn show(State(s): State<AppState>, p: Page, Form(f): Form<PlanForm>) -> Response {
    let opts = match f.options() {
        Ok(o) => o,
        Err(e) => return error(&p, &e),
    };
    match s
        .call(&p.caller(), Duty::Archive, move |v| {
            discvault::plan::plan_and_record(v, &opts, true, &discvault::progress::NoProgress)
        })
        .await
    {
        Ok(axum::Json(plan)) => preview(&p, &f, &plan).into_response(),
        Err(e) => super::refused(&p, "plan", &e),
    }
}

/// Confirmed: a plan task queued with the same options; its page follows it.
pub async fn confirm(State(s): State<AppState>, p: Page, Form(f): Form<PlanForm>) -> Response {
    let opts = match f.options() {
        Ok(o) => o,
        Err(e) => return error(&p, &e),
    };
    let params = match serde_json::to_value(&opts) {
        Ok(v) => v,
        Err(e) => return error(&p, &e.to_string()),
    };
    super::queue_task(&s, &p, TaskKind::Plan, params, "plan").await
}
