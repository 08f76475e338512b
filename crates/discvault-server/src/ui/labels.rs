//! Labels: a volume's (or copy's) disc face or case spine, shown as it will print, and its
//! PDF to download; a cabinet's sheet of slot labels; each in a template chosen among the
//! shipped ones and the vault's own. The pictures are the API's (`/api/v1/labels/...`), read
//! with the session's cookie.

use super::{format, layout, Page};
use crate::api::AppState;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use discvault::model::{Duty, VolumeState};
use maud::html;
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct Pick {
    key: Option<String>,
    kind: Option<String>,
    template: Option<String>,
}

pub async fn page(State(s): State<AppState>, p: Page, Query(q): Query<Pick>) -> Response {
    let st = match super::status(&s, &p).await {
        Ok(st) => st,
        Err(r) => return r,
    };
    let mastered: Vec<&str> = st
        .volumes
        .iter()
        .filter(|v| v.state == VolumeState::Mastered)
        .map(|v| v.volume_id.as_str())
        .collect();
    let kind = match q.kind.as_deref() {
        Some("spine") => "spine",
        Some("slots") => "slots",
        _ => "face",
    };
    let templates = match s
        .call(&p.caller(), Duty::Read, |v| {
            Ok(discvault::label::templates(v))
        })
        .await
    {
        Ok(axum::Json(t)) => t,
        Err(e) => return e.into_response(),
    };
    // The templates of the kind shown; one chosen for another kind gives way to the default.
    let tkind = if kind == "slots" { "slot" } else { kind };
    let choices: Vec<_> = templates.iter().filter(|t| t.kind == tkind).collect();
    let template = q
        .template
        .filter(|t| choices.iter().any(|c| &c.name == t))
        .or_else(|| choices.iter().find(|c| c.default).map(|c| c.name.clone()))
        .unwrap_or_default();
    let key = q
        .key
        .filter(|k| !k.trim().is_empty())
        .or_else(|| mastered.last().map(|k| k.to_string()));
    let content = html! {
        form.labels method="get" action="/labels" {
            p {
                label for="key" { (p.t("labels.key")) }
                input #key type="text" name="key" list="mastered" value=(key.clone().unwrap_or_default()) aria-describedby="key-hint";
                datalist #mastered { @for v in mastered.iter().rev().take(500) { option value=(v) {} } }
                span.hint #key-hint { (p.t("labels.key_hint")) }
            }
            p {
                label for="kind" { (p.t("labels.kind")) }
                select #kind name="kind" {
                    @for (k, words) in [("face", "labels.face"), ("spine", "labels.spine"), ("slots", "labels.slots")] {
                        option value=(k) selected[k == kind] { (p.t(words)) }
                    }
                }
            }
            p {
                label for="template" { (p.t("labels.template")) }
                select #template name="template" aria-describedby="template-hint" {
                    @for c in &choices {
                        option value=(c.name) selected[c.name == template] {
                            @if c.shipped {
                                (p.t(&format!("labels.tpl.{}.{}", c.kind, c.name)))
                            } @else {
                                (c.name) @if !c.about.is_empty() { "：" (c.about) }
                            }
                        }
                    }
                }
                span.hint #template-hint { (p.t("labels.template_hint")) }
            }
            p { button type="submit" { (p.t("labels.show")) } }
        }
        @if let Some(k) = &key {
            @let base = format!("/api/v1/labels/{kind}/{}", format::query_escape(k));
            @let tpl = format!("&template={}", format::query_escape(&template));
            section aria-labelledby="label-title" {
                h2 #label-title { (p.t(&format!("labels.{kind}"))) " · " (k) }
                p {
                    a #pdf href=(format!("{base}?format=pdf{tpl}")) download=(format!("{k}-{kind}.pdf")) { (p.t("labels.pdf")) }
                    " · "
                    a #png href=(format!("{base}?format=png{tpl}")) download=(format!("{k}-{kind}.png")) { (p.t("labels.png")) }
                }
                img.label #label src=(format!("{base}?format=svg{tpl}")) alt=(format!("{} {}", p.t(&format!("labels.{kind}")), k));
            }
        }
    };
    layout(&p, p.t("labels.title"), content)
}
