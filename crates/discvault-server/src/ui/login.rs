//! The login form, logout and the language switch.

use super::i18n::{Lang, LANG_COOKIE};
use super::{document, format, secure};
use crate::api::session::{client_of, log_in, session_headers, set_cookie, Refused};
use crate::api::AppState;
use crate::auth::SESSION_COOKIE;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct Next {
    next: Option<String>,
    why: Option<String>,
}

/// Only a path of this site: no `//host`, no scheme.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".into(),
    }
}

fn login_page(
    lang: Lang,
    next: &str,
    user: &str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let body = html! {
        body {
            main #main.narrow {
                p.brand { (lang.t("app.name")) " · " (lang.t("app.tagline")) }
                h1 { (lang.t("login.title")) }
                @if let Some(e) = &error {
                    p.error role="alert" #login-error { (e) }
                }
                form method="post" action="/login" {
                    input type="hidden" name="next" value=(next);
                    p {
                        label for="user" { (lang.t("login.user")) }
                        input #user type="text" name="user" value=(user) autocomplete="username" required autofocus;
                    }
                    p {
                        label for="password" { (lang.t("login.password")) }
                        input #password type="password" name="password" autocomplete="current-password" required;
                    }
                    p { button type="submit" { (lang.t("login.submit")) } }
                }
                p {
                    a href=(format!("/lang/{}?next={}", lang.other().code(), format::query_escape(&format!("/login?next={}", format::query_escape(next)))))
                        lang=(lang.other().tag()) { (lang.t("lang.switch")) }
                }
            }
        }
    };
    let mut r = secure(document(lang, lang.t("login.title"), body).into_response());
    *r.status_mut() = status;
    r
}

pub async fn form(headers: HeaderMap, Query(q): Query<Next>) -> Response {
    let lang = Lang::of(&headers);
    let error = (q.why.as_deref() == Some("expired")).then(|| lang.t("login.expired").to_string());
    login_page(
        lang,
        &safe_next(q.next.as_deref()),
        "",
        error,
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    user: String,
    password: String,
    next: Option<String>,
}

/// The form's login: a page of this site only (its `Origin`), rate-limited as the API's.
pub async fn submit(
    State(s): State<AppState>,
    headers: HeaderMap,
    ext: axum::http::Extensions,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = Lang::of(&headers);
    let next = safe_next(f.next.as_deref());
    // A form of another site posting here would log the browser into someone's account.
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|h| h.to_str().ok());
    if let (Some(o), Some(h)) = (origin, host) {
        let authority = o.split_once("://").map(|(_, a)| a).unwrap_or(o);
        if authority != h {
            return login_page(
                lang,
                &next,
                &f.user,
                Some(lang.t("login.cross_site").into()),
                StatusCode::FORBIDDEN,
            );
        }
    }
    let user = f.user.clone();
    match log_in(&s, client_of(&ext), f.user, f.password).await {
        Err(e) => e.into_response(),
        Ok(Err(Refused::Wrong)) => login_page(
            lang,
            &next,
            &user,
            Some(lang.t("login.wrong").into()),
            StatusCode::UNAUTHORIZED,
        ),
        Ok(Err(Refused::Wait(w))) => {
            let mut r = login_page(
                lang,
                &next,
                &user,
                Some(format!("{} {}", lang.t("login.too_many"), w.as_secs())),
                StatusCode::TOO_MANY_REQUESTS,
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(w.as_secs()));
            r
        }
        Ok(Ok(made)) => {
            let mut r = Redirect::to(&next).into_response();
            session_headers(&s, &mut r, &made.cookie);
            r
        }
    }
}

/// Logout (from the page's button, with the CSRF token): the session ends, back to the login.
pub async fn logout(State(s): State<AppState>, p: super::Page, headers: HeaderMap) -> Response {
    let _ = p;
    if let Some(cookie) = crate::auth::cookie(&headers, SESSION_COOKIE) {
        if let Err(e) = s
            .vaults
            .run(None, move |v| discvault::accounts::logout(v, &cookie))
            .await
        {
            return e.into_response();
        }
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert("hx-redirect", HeaderValue::from_static("/login"));
    r.headers_mut()
        .insert(header::SET_COOKIE, set_cookie("", 0));
    r
}

/// The language switch: kept in a cookie for a year, then back to the page.
pub async fn language(Path(code): Path<String>, Query(q): Query<Next>) -> Response {
    let lang = if code == "en" { "en" } else { "zh" };
    let mut r = Redirect::to(&safe_next(q.next.as_deref())).into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{LANG_COOKIE}={lang}; Path=/; Max-Age=31536000; SameSite=Lax"
        ))
        .expect("a plain cookie"),
    );
    r
}
