//! The web UI at `/`: pages rendered on the server (maud) over the same library calls as the
//! API, in Chinese or English, with htmx for the parts that change in place. Every asset is
//! served from the binary (archives are often air-gapped). A person logs in with a password
//! (the API's session cookie); a page shows only what the role may do, and a change made from
//! a page carries the session's CSRF token (htmx sends it in `X-CSRF-Token`).

mod audit;
mod cabinets;
mod dashboard;
mod format;
pub mod i18n;
mod ingest;
mod inspect;
mod labels;
mod login;
mod pick;
mod plan;
mod reports;
mod search;
mod settings;
mod stocktaking;
mod tasks;
mod users;
mod volumes;

use crate::api::AppState;
use crate::auth::{Caller, SESSION_COOKIE};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use discvault::model::{Duty, Principal};
use i18n::Lang;
use maud::{html, Markup, PreEscaped, DOCTYPE};

/// The routes of the UI, beside the API's.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::page))
        .route("/search", get(search::page))
        .route("/pick", get(pick::page))
        .route("/pick/restore", post(pick::restore))
        .route("/ingest", get(ingest::page).post(ingest::submit))
        // The manifest of a large folder (100,000 files at most, a few hundred bytes each
        // when its Chinese paths are form-encoded) is larger than other forms.
        .route(
            "/ingest/upload",
            post(ingest::upload).layer(axum::extract::DefaultBodyLimit::max(64 << 20)),
        )
        .route("/plan", get(plan::page))
        .route("/plan/preview", post(plan::show))
        .route("/plan/confirm", post(plan::confirm))
        .route("/volumes", get(volumes::page))
        .route("/volumes/master", post(volumes::master))
        .route("/volumes/publish", post(volumes::publish))
        .route("/cabinets", get(cabinets::page))
        .route("/cabinets/move", post(cabinets::move_copy))
        .route("/cabinets/mark", post(cabinets::mark))
        .route("/cabinets/import", post(stocktaking::preview))
        .route("/cabinets/import/apply", post(stocktaking::apply))
        .route("/labels", get(labels::page))
        .route("/audit", get(audit::page))
        .route("/reports", get(reports::page))
        .route("/settings", get(settings::page))
        .route("/settings/policy", post(settings::set_policy))
        .route("/settings/policy/general", post(settings::general_again))
        .route("/settings/policy/reset", post(settings::reset_policy))
        .route("/users", get(users::page))
        .route("/users/add", post(users::add))
        .route("/users/state", post(users::set_state))
        .route("/users/token", post(users::token))
        .route("/users/revoke", post(users::revoke))
        .route("/audit/verify", get(audit::verify))
        .route("/inspect", get(inspect::page))
        .route("/inspect/scan", get(inspect::scan))
        .route("/inspect/verify", post(inspect::verify))
        .route("/tasks", get(tasks::list))
        .route("/tasks/{task_id}", get(tasks::one))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/lang/{code}", get(login::language))
        .route("/assets/{name}", get(asset))
}

/// A person with a session, on a page: who, in which language, and the session's CSRF token
/// for the page's changes. Without a valid session the browser is sent to the login page.
pub struct Page {
    pub who: Principal,
    pub lang: Lang,
    pub csrf: String,
    /// The page's path (for the navigation's current item).
    pub path: String,
}

impl Page {
    /// The caller, as the API's handlers take it.
    pub fn caller(&self) -> Caller {
        Caller(self.who.clone(), None)
    }

    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }
}

/// `/login?next=PATH`: where the login sends the browser back to.
fn to_login(parts: &Parts, why: Option<&str>) -> Response {
    let next = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut to = format!("/login?next={}", format::query_escape(next));
    if let Some(w) = why {
        to.push_str("&why=");
        to.push_str(w);
    }
    Redirect::to(&to).into_response()
}

impl FromRequestParts<AppState> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Page, Response> {
        let lang = Lang::of(&parts.headers);
        let Some(cookie) = crate::auth::cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login(parts, None));
        };
        let idle = s.vaults.server.session_idle_minutes as i64 * 60;
        let c = cookie.clone();
        let found = s
            .vaults
            .run(None, move |v| {
                discvault::accounts::authenticate_session(v, &c, idle)
            })
            .await
            .map_err(|e| e.into_response())?;
        let Ok((who, _)) = found else {
            return Err(to_login(parts, Some("expired")));
        };
        let csrf = discvault::accounts::csrf_token(&cookie);
        if !matches!(parts.method, Method::GET | Method::HEAD) {
            let sent = parts
                .headers
                .get(crate::auth::CSRF_HEADER)
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default();
            if !crate::auth::same(sent, &csrf) {
                return Err(error_page(
                    lang,
                    StatusCode::FORBIDDEN,
                    lang.t("error.forbidden"),
                ));
            }
        }
        Ok(Page {
            who,
            lang,
            csrf,
            path: parts.uri.path().to_string(),
        })
    }
}

/// A navigation item: its path, words, and the duty it needs.
const NAV: &[(&str, &str, Duty)] = &[
    ("/", "nav.dashboard", Duty::Read),
    ("/search", "nav.search", Duty::Read),
    ("/ingest", "nav.ingest", Duty::Archive),
    ("/plan", "nav.plan", Duty::Archive),
    ("/volumes", "nav.volumes", Duty::Read),
    ("/cabinets", "nav.cabinets", Duty::Read),
    ("/labels", "nav.labels", Duty::Read),
    ("/inspect", "nav.inspect", Duty::Read),
    ("/tasks", "nav.tasks", Duty::Read),
    ("/reports", "nav.reports", Duty::Read),
    ("/audit", "nav.audit", Duty::Read),
    ("/settings", "nav.settings", Duty::Read),
    ("/users", "nav.users", Duty::Administer),
];

/// The headers every page of the UI carries: nothing from elsewhere, no framing.
fn secure(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The document around a page's content: head, skip link, header, navigation.
fn document(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // htmx adds no style of its own (the policy allows none inline).
                meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false}"#;
                title { (title) " · " (lang.t("app.name")) }
                link rel="stylesheet" href="/assets/app.css";
                script src=(HTMX) defer {}
                script src="/assets/app.js" defer {}
            }
            (body)
        }
    }
}

/// A page of a person with a session.
pub fn layout(p: &Page, title: &str, content: Markup) -> Response {
    let headers = format!(r#"{{"X-CSRF-Token": "{}"}}"#, p.csrf);
    let role_key = format!("role.{}", p.who.role.name());
    let body = html! {
        body hx-headers=(headers) {
            a.skip href="#main" { (p.t("nav.skip")) }
            header.top {
                span.brand { (p.t("app.name")) }
                span.who {
                    (p.t("user.signed_in_as")) " " strong { (p.who.user) }
                    " (" (p.lang.t(&role_key)) ")"
                }
                a.lang href=(format!("/lang/{}?next={}", p.lang.other().code(), format::query_escape(&p.path)))
                    lang=(p.lang.other().tag()) { (p.t("lang.switch")) }
                button.logout type="button" hx-post="/logout" { (p.t("user.logout")) }
            }
            nav aria-label=(p.t("nav.main")) {
                ul {
                    @for (path, key, duty) in NAV {
                        @if p.who.may(*duty) {
                            li {
                                @if *path == p.path || (*path != "/" && p.path.starts_with(&format!("{path}/"))) {
                                    a href=(path) aria-current="page" { (p.t(key)) }
                                } @else {
                                    a href=(path) { (p.t(key)) }
                                }
                            }
                        }
                    }
                }
            }
            main #main {
                h1 { (title) }
                (content)
            }
        }
    };
    secure(document(p.lang, title, body).into_response())
}

/// The status (the API's, kept between changes), as the pages read it.
pub async fn status(s: &AppState, p: &Page) -> Result<discvault::status::Status, Response> {
    let bytes = crate::api::status_json(s, &p.caller())
        .await
        .map_err(|e| e.into_response())?;
    serde_json::from_slice(&bytes).map_err(|e| {
        crate::error::ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            .into_response()
    })
}

/// The folders requests may name (`[server] roots`), as a form's hint shows them.
pub fn roots_list(roots: &[std::path::PathBuf]) -> Markup {
    html! { @for (i, r) in roots.iter().enumerate() { @if i > 0 { "、" } code { (r.display()) } } }
}

/// Queues a task of `kind` as the page's person (the duty its kind needs) and answers, in
/// place, the link to its page (words `{section}.queued`) or why not (`{section}.failed`).
pub async fn queue_task(
    s: &AppState,
    p: &Page,
    kind: discvault::model::TaskKind,
    params: serde_json::Value,
    section: &str,
) -> Response {
    match s
        .call(&p.caller(), kind.duty(), move |v| {
            discvault::tasks::queue(v, kind, params)
        })
        .await
    {
        Ok(axum::Json(t)) => html! {
            p #queued role="status" {
                (p.t(&format!("{section}.queued"))) " "
                a href=(format!("/tasks/{}", t.task_id)) { (t.task_id) }
            }
        }
        .into_response(),
        Err(e) => refused(p, section, &e),
    }
}

/// Why a form's change was not made, in place of its result (words `{section}.failed`).
/// A refusal of the server or the library: what kind of error in the page's language, then
/// its message (which names the file, field or disc) as the library says it, in English.
pub fn refused(p: &Page, section: &str, e: &crate::error::ApiError) -> Response {
    let kind = p.lang.words(&format!("error.kind.{}", e.kind));
    html! {
        p.error role="alert" {
            (p.t(&format!("{section}.failed"))) " "
            @if let Some(k) = kind { (k) " " }
            span.detail lang="en" { (e.message) }
        }
    }
    .into_response()
}

pub fn refusal(p: &Page, section: &str, message: &str) -> Response {
    html! { p.error role="alert" { (p.t(&format!("{section}.failed"))) " " (message) } }
        .into_response()
}

/// The answer to a page the role may not see (its link is not shown either).
pub fn forbidden(p: &Page) -> Response {
    error_page(p.lang, StatusCode::FORBIDDEN, p.t("error.forbidden"))
}

/// A page of its own for an error, without the navigation (no session, or not allowed).
pub fn error_page(lang: Lang, status: StatusCode, message: &str) -> Response {
    let body = html! {
        body {
            main #main.narrow {
                h1 { (lang.t("error.title")) }
                p.error role="alert" { (message) }
                p { a href="/" { (lang.t("nav.dashboard")) } }
            }
        }
    };
    let mut r = secure(document(lang, lang.t("error.title"), body).into_response());
    *r.status_mut() = status;
    r
}

/// The UI's assets, from the binary.
const HTMX: &str = "/assets/htmx-2.0.11.min.js";

async fn asset(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let (ctype, body): (&str, &'static [u8]) = match name.as_str() {
        "htmx-2.0.11.min.js" => (
            "text/javascript; charset=utf-8",
            include_bytes!("../../assets/vendor/htmx-2.0.11.min.js"),
        ),
        "app.css" => (
            "text/css; charset=utf-8",
            include_bytes!("../../assets/app.css"),
        ),
        "app.js" => (
            "text/javascript; charset=utf-8",
            include_bytes!("../../assets/app.js"),
        ),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// Markup already escaped (an inline SVG made here).
pub fn raw(s: String) -> PreEscaped<String> {
    PreEscaped(s)
}
