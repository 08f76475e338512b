//! The server and its accounts: `serve`, `user`, `token`, `webhook`.

use super::Ctx;
use crate::cli::{ServeCmd, TokenCmd, UserCmd, WebhookCmd, WorkerCmd};
use crate::output::print_json;
use anyhow::{bail, Context, Result};
use discvault::accounts;
use discvault::model::Role;
use std::io::Write;

pub fn serve(ctx: &Ctx, a: &ServeCmd) -> Result<i32> {
    let opts = discvault_server::ServeOptions {
        vault: ctx.vault.clone(),
        catalog: ctx.catalog.clone(),
        listen: a.listen,
        connections: a.connections,
        workers: a.workers,
    };
    let json = ctx.json;
    discvault_server::serve(opts, |at| {
        if json {
            println!("{}", serde_json::json!({"listening": at.to_string()}));
        } else {
            println!("listening on {at}");
        }
        let _ = std::io::stdout().flush();
    })?;
    Ok(0)
}

pub fn worker(ctx: &Ctx, a: &WorkerCmd) -> Result<i32> {
    let v = ctx.open()?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let s = stop.clone();
        // A task running when the signal comes stops at the end of its stage and is queued
        // again, for the next worker.
        signal_flag(sig, s);
    }
    let name = discvault::tasks::worker_name();
    let n = discvault::tasks::work(
        &v,
        &name,
        &stop,
        a.until_idle,
        std::time::Duration::from_millis(500),
    )?;
    if ctx.json {
        print_json(&serde_json::json!({"worker": name, "tasks": n}))?;
    } else {
        println!("worker {name}: {n} tasks run");
    }
    Ok(0)
}

/// Sets `flag` when signal `sig` arrives.
fn signal_flag(sig: libc::c_int, flag: std::sync::Arc<std::sync::atomic::AtomicBool>) {
    static FLAGS: std::sync::OnceLock<std::sync::Arc<std::sync::atomic::AtomicBool>> =
        std::sync::OnceLock::new();
    extern "C" fn on_signal(_: libc::c_int) {
        if let Some(f) = FLAGS.get() {
            f.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let _ = FLAGS.set(flag);
    // SAFETY: the handler only stores into an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(sig, on_signal as *const () as libc::sighandler_t);
    }
}

/// The first line of standard input, without its line end: a password.
fn password_line() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

pub fn user(ctx: &Ctx, c: &UserCmd) -> Result<i32> {
    let v = ctx.open()?;
    let shown = match c {
        UserCmd::Add {
            name,
            role,
            password_stdin,
        } => {
            let Some(role) = Role::parse(role) else {
                bail!("invalid --role: {role:?} (admin, archivist, operator or auditor)");
            };
            let password = if *password_stdin {
                Some(password_line()?)
            } else {
                None
            };
            vec![accounts::add_user(&v, name, role, password.as_deref())?]
        }
        UserCmd::Password { name } => vec![accounts::set_password(&v, name, &password_line()?)?],
        UserCmd::Sessions { name, limit } => {
            let log = v.catalog.sessions(None, name.as_deref(), (*limit).max(1))?;
            if ctx.json {
                print_json(&log)?;
            } else {
                for s in &log {
                    println!(
                        "{:<16} {:<20} {:<10} from {:<20} {} .. {}{}",
                        s.session_id,
                        s.user,
                        s.role,
                        s.client,
                        discvault::rfc3339(s.created_at),
                        discvault::rfc3339(s.last_seen_at),
                        match s.ended_at {
                            Some(e) => format!(", logged out {}", discvault::rfc3339(e)),
                            None => String::new(),
                        }
                    );
                }
            }
            return Ok(0);
        }
        UserCmd::List => v.catalog.users()?,
        UserCmd::Disable { name } => vec![accounts::set_disabled(&v, name, true)?],
        UserCmd::Enable { name } => vec![accounts::set_disabled(&v, name, false)?],
    };
    if ctx.json {
        match c {
            UserCmd::List => print_json(&shown)?,
            _ => print_json(&shown[0])?,
        }
    } else {
        for u in &shown {
            println!(
                "{:<20} {:<10} {}{}",
                u.name,
                u.role,
                if u.disabled { "disabled" } else { "active" },
                if u.has_password {
                    ", has a password"
                } else {
                    ""
                }
            );
        }
    }
    Ok(0)
}

pub fn token(ctx: &Ctx, c: &TokenCmd) -> Result<i32> {
    let v = ctx.open()?;
    match c {
        TokenCmd::Create {
            user,
            expires_days,
            scope,
        } => {
            let scopes = scope
                .iter()
                .map(|s| {
                    discvault::model::Duty::parse(s.trim()).with_context(|| {
                        format!("invalid --scope {s:?} (read, archive, operate or administer)")
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let t = accounts::create_token(&v, user, *expires_days, &scopes)?;
            if ctx.json {
                print_json(&t)?;
            } else {
                println!("{}", t.token);
                eprintln!(
                    "token {} for {user}: shown this once, keep it (Authorization: Bearer <token>)",
                    t.info.token_id
                );
            }
        }
        TokenCmd::List { user } => {
            let list = v.catalog.tokens(user.as_deref())?;
            if ctx.json {
                print_json(&list)?;
            } else {
                for t in &list {
                    println!(
                        "{}  {:<20} made {}{}{}{}",
                        t.token_id,
                        t.user,
                        discvault::rfc3339(t.created_at),
                        if t.scopes.is_empty() {
                            String::new()
                        } else {
                            format!(
                                ", only {}",
                                t.scopes
                                    .iter()
                                    .map(|d| d.name())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        },
                        t.expires_at
                            .map(|e| format!(", expires {}", discvault::rfc3339(e)))
                            .unwrap_or_default(),
                        t.revoked_at
                            .map(|e| format!(", revoked {}", discvault::rfc3339(e)))
                            .unwrap_or_default()
                    );
                }
            }
        }
        TokenCmd::Revoke { token } => {
            let t = accounts::revoke_token(&v, token)?;
            if ctx.json {
                print_json(&t)?;
            } else {
                println!("token {} of {} revoked", t.token_id, t.user);
            }
        }
    }
    Ok(0)
}

pub fn webhook(ctx: &Ctx, cmd: &WebhookCmd) -> Result<i32> {
    let v = ctx.open()?;
    match cmd {
        WebhookCmd::Add {
            url,
            events,
            secret_stdin,
        } => {
            let events = events
                .iter()
                .map(|e| {
                    discvault::model::WebhookEvent::parse(e.trim()).with_context(|| {
                        format!("--events: {e:?} is not one of volume.mastered, copy.verified, damage.found, inspection.due, job.failed")
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let secret = if *secret_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            let w = discvault::webhooks::add(
                &v,
                &discvault::webhooks::WebhookRequest {
                    url: url.clone(),
                    events,
                    secret,
                },
            )?;
            if ctx.json {
                print_json(&w)?;
            } else {
                println!("{} {}", w.webhook.webhook_id, w.webhook.url);
                println!("secret (shown once): {}", w.secret);
            }
        }
        WebhookCmd::List => {
            let hooks = discvault::webhooks::list(&v)?;
            if ctx.json {
                print_json(&hooks)?;
            } else {
                for h in &hooks {
                    let events: Vec<&str> = h.events.iter().map(|e| e.name()).collect();
                    println!(
                        "{}  {}  {}{}",
                        h.webhook_id,
                        h.url,
                        events.join(","),
                        if h.removed_at.is_some() {
                            "  (removed)"
                        } else {
                            ""
                        }
                    );
                }
            }
        }
        WebhookCmd::Remove { webhook } => {
            let h = v.catalog.remove_webhook(webhook)?;
            if ctx.json {
                print_json(&h)?;
            } else {
                println!("{} removed", h.webhook_id);
            }
        }
        WebhookCmd::Deliveries { webhook, limit } => {
            let log = v.catalog.deliveries(webhook, (*limit).clamp(1, 100_000))?;
            if ctx.json {
                print_json(&log)?;
            } else {
                for d in &log {
                    println!(
                        "{}  {}  {:?}  attempts {}  {}{}",
                        d.delivery_id,
                        d.event.name(),
                        d.state,
                        d.attempts,
                        if d.last_status > 0 {
                            format!("HTTP {}", d.last_status)
                        } else {
                            "-".into()
                        },
                        if d.last_error.is_empty() {
                            String::new()
                        } else {
                            format!("  {}", d.last_error)
                        }
                    );
                }
            }
        }
    }
    Ok(0)
}
