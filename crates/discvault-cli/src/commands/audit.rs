//! The audit trail (log verify, log export) and the catalog database (catalog copy).

use super::Ctx;
use crate::cli::{CatalogCmd, LogCmd};
use crate::output::print_json;
use anyhow::{Context, Result};

pub fn log(ctx: &Ctx, cmd: &LogCmd) -> Result<i32> {
    match cmd {
        LogCmd::Verify => {
            let v = ctx.open()?;
            let r = v.catalog.verify_chain()?;
            if ctx.json {
                print_json(&r)?;
            } else if r.intact {
                println!("{} events, chain intact, head {}", r.events, r.head_hash);
            } else {
                println!("{} events, CHAIN BROKEN:", r.events);
                for p in &r.problems {
                    println!("  {p}");
                }
            }
            Ok(if r.intact { 0 } else { 3 })
        }
        LogCmd::Export { premis: _, out } => {
            let v = ctx.open()?;
            let xml = discvault::audit::premis(&v)?;
            match out {
                Some(p) => std::fs::write(p, xml).with_context(|| p.display().to_string())?,
                None => print!("{xml}"),
            }
            Ok(0)
        }
    }
}

pub fn catalog(ctx: &Ctx, cmd: &CatalogCmd) -> Result<i32> {
    let CatalogCmd::Copy { to, switch } = cmd;
    let v = ctx.open()?;
    let r = v.copy_catalog(to, *switch, ctx.progress())?;
    if ctx.json {
        print_json(&r)?;
    } else {
        for (t, n) in &r.tables {
            println!("{n:>10}  {t}");
        }
        println!(
                "copied and checked: every table's rows, the digests of every record (sha256 {}), the audit trail's chain of {} events",
                r.digests_sha256, r.events
            );
        if *switch {
            println!(
                "the vault now uses {}",
                discvault::catalog::postgres::redact(to)
            );
        } else {
            println!(
                    "the vault still uses its old catalog; to move, set [catalog] url in discvault.toml or run again with --switch into a new database"
                );
        }
    }
    Ok(0)
}
