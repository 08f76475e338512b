//! Settings: the rules in force: the preservation policy (trusted copies and sites, per
//! collection where it differs), the catalog's or `discvault.toml`'s, which an admin changes
//! here (kept in the catalog, for every station) or resets to the file's; and, as this
//! server's `discvault.toml` sets them, the copies made, the inspection intervals, migration
//! and planning, the server's roots for the admin (changed in the file, read again when the
//! server restarts).

use super::{layout, Page};
use crate::api::AppState;
use axum::extract::{Query, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Form;
use discvault::config::{CollectionPolicy, Config, PolicySection};
use discvault::model::Duty;
use discvault::policy::PolicySource;
use maud::html;
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct Shown {
    saved: Option<String>,
}

pub async fn page(State(s): State<AppState>, p: Page, Query(q): Query<Shown>) -> Response {
    let (config, file, policy) = match s
        .call(&p.caller(), Duty::Read, |v| {
            Ok((
                v.config.clone(),
                v.root
                    .join(discvault::config::CONFIG_FILE)
                    .display()
                    .to_string(),
                discvault::policy::show(v)?,
            ))
        })
        .await
    {
        Ok(axum::Json(c)) => c,
        Err(e) => return e.into_response(),
    };
    let c: &Config = &config;
    let pol = &policy.policy;
    let admin = p.who.may(Duty::Administer);
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
            @if q.saved.is_some() { p.ok #policy-saved role="status" { (p.t("settings.saved")) } }
            p #policy-source { (p.t(match policy.source {
                PolicySource::Catalog => "settings.source.catalog",
                PolicySource::Config => "settings.source.config",
            })) }
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
                        @if admin { th scope="col" { (p.t("settings.action")) } }
                    } }
                    tbody { @for (name, cp) in &pol.collections { tr {
                        td { (name) } td.num { (cp.min_trusted_copies) } td.num { (cp.min_sites) }
                        @if admin {
                            td { form.inline hx-post="/settings/policy/general" hx-target="#policy-result" {
                                input type="hidden" name="collection" value=(name);
                                button type="submit" aria-label=(format!("{} {name}", p.t("settings.general_again"))) { (p.t("settings.general_again")) }
                            } }
                        }
                    } } }
                }
            }
            @if admin {
                form.policy #policy-form hx-post="/settings/policy" hx-target="#policy-result" {
                    fieldset {
                        legend { (p.t("settings.change")) }
                        p {
                            label for="min_copies" { (p.t("settings.min_copies")) }
                            input #min_copies type="number" name="min_copies" min="1" max="99" required value=(pol.min_trusted_copies);
                        }
                        p {
                            label for="min_sites" { (p.t("settings.min_sites")) }
                            input #min_sites type="number" name="min_sites" min="0" max="99" required value=(pol.min_sites);
                        }
                    }
                    fieldset {
                        legend { (p.t("settings.one_collection")) }
                        p {
                            label for="collection" { (p.t("search.collection")) }
                            input #collection type="text" name="collection" list="collections" aria-describedby="collection-hint";
                            datalist #collections { @for n in pol.collections.keys() { option value=(n) {} } }
                            span.hint #collection-hint { (p.t("settings.collection_hint")) }
                        }
                        p {
                            label for="coll_copies" { (p.t("settings.min_copies")) }
                            input #coll_copies type="number" name="coll_copies" min="1" max="99";
                        }
                        p {
                            label for="coll_sites" { (p.t("settings.min_sites")) }
                            input #coll_sites type="number" name="coll_sites" min="0" max="99";
                        }
                    }
                    p { button type="submit" { (p.t("settings.save")) } }
                }
                @if policy.source == PolicySource::Catalog {
                    form.inline #policy-reset hx-post="/settings/policy/reset" hx-target="#policy-result" {
                        p { button type="submit" { (p.t("settings.reset")) } " " span.hint { (p.t("settings.reset_hint")) } }
                    }
                }
                div #policy-result aria-live="polite" {}
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

/// The policy form: the general rule, and optionally one collection's.
#[derive(Deserialize)]
pub struct PolicyForm {
    min_copies: String,
    min_sites: String,
    #[serde(default)]
    collection: String,
    #[serde(default)]
    coll_copies: String,
    #[serde(default)]
    coll_sites: String,
}

/// A number of the form, or what to refuse it with (its field named).
fn number(p: &Page, field: &str, v: &str) -> Result<u32, String> {
    v.trim()
        .parse::<u32>()
        .map_err(|_| format!("{}: {v:?}", p.t(&format!("settings.field.{field}"))))
}

/// After a change: the page again, with the policy now in force.
fn saved(
    r: Result<axum::Json<discvault::policy::PolicyView>, crate::error::ApiError>,
    p: &Page,
) -> Response {
    match r {
        Ok(_) => {
            let mut resp = html! { p role="status" { (p.t("settings.saved")) } }.into_response();
            resp.headers_mut()
                .insert("hx-redirect", HeaderValue::from_static("/settings?saved=1"));
            resp
        }
        Err(e) => super::refused(p, "settings", &e),
    }
}

pub async fn set_policy(State(s): State<AppState>, p: Page, Form(f): Form<PolicyForm>) -> Response {
    let general = match (
        number(&p, "min_copies", &f.min_copies),
        number(&p, "min_sites", &f.min_sites),
    ) {
        (Ok(c), Ok(s)) => (c, s),
        (Err(said), _) | (_, Err(said)) => return super::refusal(&p, "settings", &said),
    };
    let name = f.collection.trim().to_string();
    let own = if name.is_empty() {
        None
    } else {
        match (
            number(&p, "coll_copies", &f.coll_copies),
            number(&p, "coll_sites", &f.coll_sites),
        ) {
            (Ok(c), Ok(s)) => Some((
                name,
                CollectionPolicy {
                    min_trusted_copies: c,
                    min_sites: s,
                },
            )),
            (Err(said), _) | (_, Err(said)) => return super::refusal(&p, "settings", &said),
        }
    };
    // The library's own check of what would be set, said in the page's language.
    let mut wanted = PolicySection {
        min_trusted_copies: general.0,
        min_sites: general.1,
        collections: Default::default(),
    };
    if let Some((name, rule)) = &own {
        wanted.collections.insert(name.clone(), *rule);
    }
    if let Err(said) = wanted.check() {
        let words = if said.contains("min_sites") {
            "settings.too_many_sites"
        } else {
            "settings.copies_range"
        };
        return super::refusal(&p, "settings", p.t(words));
    }
    let r = s
        .call(&p.caller(), Duty::Administer, move |v| {
            discvault::policy::change(v, |policy| {
                policy.min_trusted_copies = general.0;
                policy.min_sites = general.1;
                if let Some((name, rule)) = own {
                    policy.collections.insert(name, rule);
                }
                Ok(())
            })
        })
        .await;
    saved(r, &p)
}

#[derive(Deserialize)]
pub struct CollectionForm {
    collection: String,
}

/// A collection follows the general rule again.
pub async fn general_again(
    State(s): State<AppState>,
    p: Page,
    Form(f): Form<CollectionForm>,
) -> Response {
    let r = s
        .call(&p.caller(), Duty::Administer, move |v| {
            discvault::policy::change(v, |policy| match policy.collections.remove(&f.collection) {
                Some(_) => Ok(()),
                None => Err(discvault::Error::NotFound(format!(
                    "collection {:?} has no rule of its own",
                    f.collection
                ))),
            })
        })
        .await;
    saved(r, &p)
}

/// The catalog's policy removed: each station's `discvault.toml` again.
pub async fn reset_policy(State(s): State<AppState>, p: Page) -> Response {
    let r = s
        .call(&p.caller(), Duty::Administer, discvault::policy::reset)
        .await;
    saved(r, &p)
}
