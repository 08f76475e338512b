//! Reading discs: verify, readback, repair, migrate.

use super::Ctx;
use crate::cli::{MigrateCmd, ReadbackCmd, RepairCmd, VerifyCmd};
use crate::output::{human_bytes, print_json, print_migration, print_repair, print_verify};
use anyhow::Result;

pub fn verify(ctx: &Ctx, a: &VerifyCmd) -> Result<i32> {
    let VerifyCmd {
        sources,
        copy,
        read: opts,
    } = a;
    let v = ctx.open()?;
    let reports = match copy {
        Some(c) => {
            if sources.len() != 1 {
                anyhow::bail!("--copy takes exactly one SOURCE");
            }
            vec![discvault::verify::verify_copy(
                &v,
                &sources[0],
                c,
                opts,
                ctx.progress(),
            )?]
        }
        None => discvault::orchestrate::verify(&v, sources, opts, ctx.progress())?,
    };
    if ctx.json {
        print_json(&reports)?;
    } else {
        print_verify(&reports);
    }
    Ok(discvault::verify::exit_code(&reports))
}

pub fn repair(ctx: &Ctx, a: &RepairCmd) -> Result<i32> {
    let RepairCmd {
        options: opts,
        dry_run,
    } = a;
    let v = ctx.open()?;
    let r = if *dry_run {
        discvault::repair::analyse(&v, opts, ctx.progress())?
    } else {
        discvault::repair::repair(&v, opts, ctx.progress())?
    };
    if ctx.json {
        print_json(&r)?;
    } else {
        print_repair(&r);
    }
    Ok(if r.repairable { 0 } else { 3 })
}

pub fn readback(ctx: &Ctx, a: &ReadbackCmd) -> Result<i32> {
    let ReadbackCmd { source, options } = a;
    let v = ctx.open()?;
    let r = discvault::readback::readback(&v, source, options, ctx.progress())?;
    if ctx.json {
        print_json(&r)?;
    } else {
        println!(
            "{}: {} files, {} written to {}",
            r.verify.volume_id,
            r.files_written,
            human_bytes(r.bytes_written),
            r.to.display()
        );
        // Exit 3 says why: what the read found (a damaged file system read around, say).
        if !r.verify.clean || !r.not_written.is_empty() {
            print_verify(std::slice::from_ref(&r.verify));
        }
        if !r.not_written.is_empty() {
            println!("not written ({}):", r.not_written.len());
            for p in &r.not_written {
                println!("  {p}");
            }
        }
    }
    Ok(if r.verify.clean && r.not_written.is_empty() {
        0
    } else {
        3
    })
}

pub fn migrate(ctx: &Ctx, a: &MigrateCmd) -> Result<i32> {
    let MigrateCmd {
        plan,
        options,
        from,
        out,
        at,
    } = a;
    let v = ctx.open()?;
    let opts = discvault::migrate::MigrateOptions {
        at: at.as_deref().map(discvault::parse_date).transpose()?,
        ..options.clone()
    };
    let p = discvault::migrate::plan(&v, &opts)?;
    if *plan {
        if ctx.json {
            print_json(&p)?;
        } else {
            print_migration(&p);
        }
        return Ok(0);
    }
    let out = out.as_ref().expect("clap requires --out");
    let r = discvault::migrate::execute(&v, &p, from, out, ctx.progress())?;
    if ctx.json {
        print_json(&serde_json::json!({"plan": p, "result": r}))?;
    } else if r.missing_volumes.is_empty() {
        if !r.resumed.is_empty() {
            println!(
                "finished an interrupted migration: {}",
                r.resumed.join(", ")
            );
        }
        print_migration(&p);
        for i in &r.images {
            println!("{}  {}", i.volume_id, i.image.display());
        }
        for c in &r.new_copies {
            println!(
                "new copy {} ({}){}: burn {}.iso, then verify --copy {}",
                c.copy_id,
                c.role,
                c.replaces
                    .as_deref()
                    .map(|x| format!(" replaces {x}"))
                    .unwrap_or_default(),
                c.volume_id,
                c.copy_id
            );
        }
    }
    if !r.missing_volumes.is_empty() {
        eprintln!(
            "migration needs these volumes among --from: {}",
            r.missing_volumes.join(", ")
        );
        for i in &p.items {
            if let Some(c) = i.read_from.first() {
                eprintln!("  {}: copy {} at {}", i.volume_id, c.copy_id, c.place);
            }
        }
        return Ok(4);
    }
    Ok(0)
}
