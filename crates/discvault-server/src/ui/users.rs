//! Users and tokens (admin): every user with their role and whether they may log in; a user
//! added, disabled or enabled, given a password; tokens made (shown once) and revoked. Each
//! change is an event of the audit trail, as over the API.

use super::{layout, Page};
use crate::api::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Form;
use discvault::model::{Duty, Role};
use maud::html;
use serde::Deserialize;

pub async fn page(State(s): State<AppState>, p: Page) -> Response {
    if !p.who.may(Duty::Administer) {
        return super::forbidden(&p);
    }
    let (users, tokens) = match s
        .call(&p.caller(), Duty::Administer, |v| {
            Ok((v.catalog.users()?, v.catalog.tokens(None)?))
        })
        .await
    {
        Ok(axum::Json(x)) => x,
        Err(e) => return e.into_response(),
    };
    let content = html! {
        table.results #users {
            thead { tr {
                th scope="col" { (p.t("users.name")) }
                th scope="col" { (p.t("users.role")) }
                th scope="col" { (p.t("users.status")) }
                th scope="col" { (p.t("users.actions")) }
            } }
            tbody { @for u in &users { tr {
                td { (u.name) }
                td { (p.t(&format!("role.{}", u.role.name()))) }
                td {
                    @if u.disabled { span.badge.bad { (p.t("users.disabled")) } }
                    @else { span.badge.ok { (p.t("users.active")) } }
                    @if u.has_password { " " (p.t("users.has_password")) }
                }
                td {
                    @let verb = if u.disabled { "enable" } else { "disable" };
                    form.inline hx-post="/users/state" hx-target="#users-result" {
                        input type="hidden" name="name" value=(u.name);
                        input type="hidden" name="to" value=(verb);
                        button type="submit" { (p.t(&format!("users.{verb}"))) }
                    }
                }
            } } }
        }
        div #users-result aria-live="polite" {}
        section aria-labelledby="add-title" {
            h2 #add-title { (p.t("users.add")) }
            form.add-user hx-post="/users/add" hx-target="#users-result" {
                p { label for="new-name" { (p.t("users.name")) } input #new-name type="text" name="name" required; }
                p {
                    label for="new-role" { (p.t("users.role")) }
                    select #new-role name="role" { @for r in Role::ALL { option value=(r.name()) { (p.t(&format!("role.{}", r.name()))) } } }
                }
                p {
                    label for="new-password" { (p.t("users.password")) }
                    input #new-password type="password" name="password" autocomplete="new-password" aria-describedby="pw-hint";
                    span.hint #pw-hint { (p.t("users.password_hint")) }
                }
                p { button type="submit" { (p.t("users.add")) } }
            }
        }
        section aria-labelledby="tokens-title" {
            h2 #tokens-title { (p.t("users.tokens")) }
            table.results #tokens {
                thead { tr {
                    th scope="col" { (p.t("users.token")) }
                    th scope="col" { (p.t("users.name")) }
                    th scope="col" { (p.t("users.scopes")) }
                    th scope="col" { (p.t("users.status")) }
                } }
                tbody { @for t in &tokens { tr {
                    td { code { (t.token_id) } }
                    td { (t.user) }
                    td { @if t.scopes.is_empty() { (p.t("users.all_of_role")) } @else {
                        (t.scopes.iter().map(|d| d.name()).collect::<Vec<_>>().join(", ")) } }
                    td { @if t.revoked_at.is_some() { span.badge.bad { (p.t("users.revoked")) } } @else {
                        form.inline hx-post="/users/revoke" hx-target="#users-result" {
                            input type="hidden" name="token" value=(t.token_id);
                            button type="submit" { (p.t("users.revoke")) }
                        }
                    } }
                } } }
            }
            form.add-token hx-post="/users/token" hx-target="#users-result" {
                p {
                    label for="token-user" { (p.t("users.name")) }
                    select #token-user name="user" { @for u in users.iter().filter(|u| !u.disabled) { option value=(u.name) { (u.name) } } }
                }
                fieldset.scopes {
                    legend { (p.t("users.scopes")) " " span.hint { (p.t("users.scopes_hint")) } }
                    @for d in Duty::ALL {
                        label.check {
                            input type="checkbox" name="scope" value=(d.name());
                            " " (p.t(&format!("scope.{}", d.name())))
                        }
                    }
                }
                p {
                    label for="token-days" { (p.t("users.expires_days")) }
                    input #token-days type="number" name="expires_days" min="1" max="3650" aria-describedby="token-days-hint";
                    span.hint #token-days-hint { (p.t("users.expires_hint")) }
                }
                p { button type="submit" { (p.t("users.make_token")) } }
            }
        }
    };
    layout(&p, p.t("users.title"), content)
}

fn said(p: &Page, words: &str) -> Response {
    html! { p #users-done role="status" { (words) " " a href="/users" { (p.t("users.again")) } } }
        .into_response()
}

#[derive(Deserialize)]
pub struct AddForm {
    name: String,
    role: String,
    #[serde(default)]
    password: String,
}

pub async fn add(State(s): State<AppState>, p: Page, Form(f): Form<AddForm>) -> Response {
    let Some(role) = Role::parse(&f.role) else {
        return super::refusal(&p, "users", &f.role);
    };
    let password = (!f.password.is_empty()).then_some(f.password);
    match s
        .call(&p.caller(), Duty::Administer, move |v| {
            discvault::accounts::add_user(v, f.name.trim(), role, password.as_deref())
        })
        .await
    {
        Ok(axum::Json(u)) => said(&p, &format!("{} {}", p.t("users.added"), u.name)),
        Err(e) => super::refused(&p, "users", &e),
    }
}

#[derive(Deserialize)]
pub struct StateForm {
    name: String,
    to: String,
}

pub async fn set_state(State(s): State<AppState>, p: Page, Form(f): Form<StateForm>) -> Response {
    let disable = f.to == "disable";
    match s
        .call(&p.caller(), Duty::Administer, move |v| {
            discvault::accounts::set_disabled(v, &f.name, disable)
        })
        .await
    {
        Ok(axum::Json(u)) => said(
            &p,
            &format!(
                "{} {}",
                u.name,
                p.t(if u.disabled {
                    "users.disabled"
                } else {
                    "users.active"
                })
            ),
        ),
        Err(e) => super::refused(&p, "users", &e),
    }
}

/// A token made: shown here once, never again.
/// The form: `user`, `scope` ticked (repeated; none: all the role's duties), `expires_days`.
pub async fn token(State(s): State<AppState>, p: Page, body: String) -> Response {
    let mut user = String::new();
    let mut scopes = Vec::new();
    let mut days = None;
    for (k, v) in form_urlencoded::parse(body.as_bytes()) {
        match &*k {
            "user" => user = v.into_owned(),
            "scope" => match Duty::parse(&v) {
                Some(d) => scopes.push(d),
                None => return super::refusal(&p, "users", &format!("scope {v:?}")),
            },
            "expires_days" if !v.trim().is_empty() => match v.trim().parse::<u32>() {
                Ok(n) if (1..=3650).contains(&n) => days = Some(n),
                _ => {
                    return super::refusal(
                        &p,
                        "users",
                        &format!("{} {v:?}", p.t("users.expires_days")),
                    )
                }
            },
            _ => {}
        }
    }
    match s
        .call(&p.caller(), Duty::Administer, move |v| {
            discvault::accounts::create_token(v, &user, days, &scopes)
        })
        .await
    {
        Ok(axum::Json(t)) => html! {
            div #new-token role="status" {
                p { (p.t("users.token_once")) }
                p { code { (t.token) } }
            }
        }
        .into_response(),
        Err(e) => super::refused(&p, "users", &e),
    }
}

#[derive(Deserialize)]
pub struct RevokeForm {
    token: String,
}

pub async fn revoke(State(s): State<AppState>, p: Page, Form(f): Form<RevokeForm>) -> Response {
    match s
        .call(&p.caller(), Duty::Administer, move |v| {
            discvault::accounts::revoke_token(v, &f.token)
        })
        .await
    {
        Ok(axum::Json(t)) => said(&p, &format!("{} {}", p.t("users.revoked"), t.token_id)),
        Err(e) => super::refused(&p, "users", &e),
    }
}
