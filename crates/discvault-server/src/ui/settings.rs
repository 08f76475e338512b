//! Settings: the rules in force, as this server's `discvault.toml` sets them: the preservation
//! policy (trusted copies and sites, per collection where it differs), the copies made, the
//! inspection intervals, migration and planning; the server's roots for the admin. Shown, not
//! changed here: the file is changed on the server, and read again when the server restarts.

use super::{layout, Page};
use crate::api::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use discvault::config::Config;
use discvault::model::Duty;
use maud::html;

pub async fn page(State(s): State<AppState>, p: Page) -> Response {
    let (config, file) = match s
        .call(&p.caller(), Duty::Read, |v| {
            Ok((
                v.config.clone(),
                v.root
                    .join(discvault::config::CONFIG_FILE)
                    .display()
                    .to_string(),
            ))
        })
        .await
    {
        Ok(axum::Json(c)) => c,
        Err(e) => return e.into_response(),
    };
    let c: &Config = &config;
    let pol = &c.policy;
    let ins = &c.inspection;
    let list = |v: &[String]| {
        if v.is_empty() {
            p.t("settings.none").to_string()
        } else {
            v.join("、")
        }
    };
    // The roles of GB/T 18894's three sets in words; others as configured.
    let roles: Vec<String> = c
        .copies
        .roles
        .iter()
        .map(|r| match r.as_str() {
            "sealed" | "access" | "offsite" => {
                format!("{} ({r})", p.t(&format!("settings.role.{r}")))
            }
            _ => r.clone(),
        })
        .collect();
    let content = html! {
        @if p.who.may(Duty::Administer) {
            p.hint #settings-file { (p.t("settings.from")) " " code { (file) } }
        }
        section aria-labelledby="policy-title" {
            h2 #policy-title { (p.t("settings.policy")) }
            dl.settings #policy {
                dt { (p.t("settings.min_copies")) } dd #min-copies { (pol.min_trusted_copies) }
                dt { (p.t("settings.min_sites")) } dd #min-sites { (pol.min_sites) }
                dt { (p.t("settings.roles")) } dd #roles { (list(&roles)) }
            }
            @if !pol.collections.is_empty() {
                table.results #policy-collections {
                    caption { (p.t("settings.by_collection")) }
                    thead { tr {
                        th scope="col" { (p.t("search.collection")) }
                        th scope="col" { (p.t("settings.min_copies")) }
                        th scope="col" { (p.t("settings.min_sites")) }
                    } }
                    tbody { @for (name, cp) in &pol.collections { tr {
                        td { (name) } td.num { (cp.min_trusted_copies) } td.num { (cp.min_sites) }
                    } } }
                }
            }
        }
        section aria-labelledby="inspection-title" {
            h2 #inspection-title { (p.t("settings.inspection")) }
            dl.settings #inspection {
                dt { (p.t("settings.interval")) } dd #interval { (ins.interval_days) " " (p.t("settings.days")) }
                dt { (p.t("settings.warning_interval")) } dd { (ins.warning_interval_days) " " (p.t("settings.days")) }
                dt { (p.t("settings.sample")) } dd { (ins.sample_percent) " %" }
                @for (medium, days) in &ins.interval_days_by_medium {
                    dt { (p.t("settings.interval")) " · " (medium) } dd { (days) " " (p.t("settings.days")) }
                }
            }
        }
        section aria-labelledby="media-title" {
            h2 #media-title { (p.t("settings.media")) }
            dl.settings {
                dt { (p.t("settings.plan_media")) } dd { (c.plan.media) }
                dt { (p.t("settings.reserve")) } dd { (c.plan.reserve_percent) " %" }
                dt { (p.t("settings.obsolete")) } dd { (list(&c.migration.obsolete_media)) }
                dt { (p.t("settings.target")) } dd {
                    @if c.migration.target_media.is_empty() { (c.plan.media) } @else { (c.migration.target_media) }
                }
            }
        }
        @if p.who.may(Duty::Administer) {
            section aria-labelledby="server-title" {
                h2 #server-title { (p.t("settings.server")) }
                dl.settings {
                    dt { (p.t("settings.roots")) } dd #roots {
                        @if c.server.roots.is_empty() { (p.t("settings.none")) }
                        @for r in &c.server.roots { code { (r.display()) } " " }
                    }
                    dt { (p.t("settings.workers")) } dd { (c.server.workers) }
                    dt { (p.t("settings.watched")) } dd { (c.server.watched.len()) }
                }
            }
        }
        p.hint { (p.t("settings.how")) }
    };
    layout(&p, p.t("settings.title"), content)
}
