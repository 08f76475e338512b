//! Burning copies: publish, jobs, the disc publisher simulator.

use super::Ctx;
use crate::cli::{JobsCmd, SimulateCmd};
use crate::output::{print_jobs, print_json};
use anyhow::{Context, Result};
use discvault::publish::PublishOptions;

pub fn publish(ctx: &Ctx, options: &PublishOptions) -> Result<i32> {
    use std::io::IsTerminal;
    let v = ctx.open()?;
    let r = discvault::publish::publish(
        &v,
        options,
        ctx.progress(),
        (std::io::stdin().is_terminal() && !ctx.json)
            .then_some(&TerminalOperator as &dyn discvault::publish::Operator),
    )?;
    if ctx.json {
        print_json(&r)?;
    } else {
        if let Some(why) = &r.nothing_to_do {
            println!("{why}");
        }
        for p in &r.published {
            println!("{}: {}", p.volume_id, p.reason);
        }
        for p in &r.not_published {
            println!("{} not published: {}", p.volume_id, p.reason);
        }
        print_jobs(&r.jobs);
        if !r.rejected_discs.is_empty() {
            println!(
                "{} disc(s) burned in this run do not hold their copy: see \"rejected disc\" above for where each is and what to do with it",
                r.rejected_discs.len()
            );
        }
        if r.awaiting_readback > 0 {
            println!(
                "{} copies left the publisher unread: read each back with `discvault verify DRIVE --copy COPY`, then rerun publish",
                r.awaiting_readback
            );
        }
    }
    Ok(if r.failed > 0 { 3 } else { 0 })
}

pub fn simulate(ctx: &Ctx, a: &SimulateCmd) -> Result<i32> {
    let SimulateCmd {
        kind,
        folder,
        disc_seconds,
        name,
        code_page,
    } = a;
    let opts = discpublisher::sim::SimOptions {
        folder: folder.clone(),
        code_page: discpublisher::CodePage::parse(code_page)
            .with_context(|| format!("--code-page {code_page:?}: unknown code page"))?,
        disc_seconds: *disc_seconds,
        name: name.clone(),
    };
    anyhow::ensure!(folder.is_dir(), "{}: no such folder", folder.display());
    if !ctx.quiet {
        eprintln!(
            "simulating {kind} on {} ({} s per disc); control: {}",
            folder.display(),
            disc_seconds,
            discpublisher::sim::control_path(folder).display()
        );
    }
    let stop = std::sync::atomic::AtomicBool::new(false);
    if kind == "tdbridge" {
        discpublisher::sim::run_tdbridge(&opts, &stop)?;
    } else {
        discpublisher::sim::run_ptburn(&opts, &stop)?;
    }
    Ok(0)
}

pub fn jobs(ctx: &Ctx, a: &JobsCmd) -> Result<i32> {
    match &a.cancel {
        Some(job) => {
            let v = ctx.open()?;
            let r = discvault::publish::cancel(&v, job)?;
            if ctx.json {
                print_json(&r)?;
            } else {
                print_jobs(std::slice::from_ref(&r.job));
            }
            Ok(0)
        }
        None => {
            let v = ctx.open()?;
            let jobs = v.catalog.jobs()?;
            if ctx.json {
                print_json(&jobs)?;
            } else if jobs.is_empty() {
                println!("no publishing jobs");
            } else {
                print_jobs(&jobs);
            }
            Ok(0)
        }
    }
}

/// The person at the terminal, asked for blank discs during `publish`.
struct TerminalOperator;

impl discvault::publish::Operator for TerminalOperator {
    fn ask(&self, request: &str) -> discvault::Result<()> {
        use std::io::{BufRead, Write};
        let io = |source| discvault::Error::Io {
            path: "terminal".into(),
            source,
        };
        let mut err = std::io::stderr();
        write!(err, "{request}, then press Enter ").map_err(io)?;
        err.flush().map_err(io)?;
        let mut line = String::new();
        if std::io::stdin().lock().read_line(&mut line).map_err(io)? == 0 {
            return Err(discvault::Error::Invalid {
                field: "terminal".into(),
                detail: format!("closed while waiting for: {request}"),
            });
        }
        Ok(())
    }
}
