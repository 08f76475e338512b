//! The way in: init, add, plan, master, archive; and the vault's state (status, check).

use super::Ctx;
use crate::cli::{add_options, AddCmd, ArchiveCmd, PlanCmd};
use crate::output::{human_bytes, print_add, print_json, print_plan, print_verify};
use anyhow::Result;
use discvault::master::MasterOptions;
use discvault::{Vault, SOFTWARE};

pub fn init(ctx: &Ctx) -> Result<i32> {
    let v = Vault::init_with(&ctx.vault, ctx.catalog.as_deref())?;
    if ctx.json {
        print_json(&serde_json::json!({"vault": v.root, "software": SOFTWARE}))?;
    } else {
        println!("created vault {}", v.root.display());
    }
    Ok(0)
}

pub fn add(ctx: &Ctx, a: &AddCmd) -> Result<i32> {
    let AddCmd { paths, args } = a;
    let v = ctx.open()?;
    let r = discvault::ingest::add(&v, paths, &add_options(args)?, ctx.progress())?;
    if ctx.json {
        print_json(&r)?;
    } else {
        print_add(&r);
    }
    Ok(if r.errors.is_empty() { 0 } else { 1 })
}

pub fn plan(ctx: &Ctx, a: &PlanCmd) -> Result<i32> {
    let PlanCmd { plan, dry_run } = a;
    let v = ctx.open()?;
    let p = discvault::plan::plan_and_record(&v, plan, *dry_run, ctx.progress())?;
    if ctx.json {
        print_json(&p)?;
    } else {
        print_plan(&p, *dry_run);
    }
    Ok(0)
}

pub fn master(ctx: &Ctx, options: &MasterOptions) -> Result<i32> {
    let v = ctx.open()?;
    let images = discvault::master::master(&v, options, ctx.progress())?;
    if ctx.json {
        print_json(&images)?;
    } else {
        if images.is_empty() {
            println!("nothing to master (no planned volumes)");
        }
        for i in &images {
            println!(
                "{}  {}  {}  fill {:.1}%  sha256 {}",
                i.volume_id,
                i.image.display(),
                human_bytes(i.image_bytes),
                i.fill_ratio * 100.0,
                i.image_sha256
            );
        }
    }
    Ok(0)
}

pub fn status(ctx: &Ctx) -> Result<i32> {
    let v = ctx.open()?;
    let s = discvault::status::status(&v)?;
    if ctx.json {
        print_json(&s)?;
    } else {
        println!("vault {}", s.vault);
        println!("collections: {}", s.collections.join(", "));
        for (name, c) in [
            ("ingested", s.ingested),
            ("not on any volume", s.unplanned),
            ("planned, not mastered", s.planned),
            ("mastered", s.mastered),
        ] {
            println!(
                "  {name:<22} {:>8} files  {:>10}",
                c.files,
                human_bytes(c.bytes)
            );
        }
        for vol in &s.volumes {
            println!(
                "  {}  {:?}  {} of {}  {}  {}",
                vol.volume_id,
                vol.state,
                vol.seq,
                vol.seq_count,
                vol.media,
                human_bytes(vol.image_bytes)
            );
        }
        let c = &s.copies;
        println!(
            "copies: {} ({} trusted, {} overdue for inspection, {} to repair or migrate)",
            c.total, c.trusted, c.overdue, c.to_migrate
        );
        if !s.shortfalls.is_empty() {
            println!("SHORT OF THE POLICY ({} volumes):", s.shortfalls.len());
            for f in &s.shortfalls {
                println!(
                    "  {}  {} files: {}",
                    f.volume_id,
                    f.files,
                    f.problems.join("; ")
                );
            }
        }
    }
    Ok(0)
}

pub fn check(ctx: &Ctx) -> Result<i32> {
    let v = ctx.open()?;
    let r = discvault::check::check(&v)?;
    if ctx.json {
        print_json(&r)?;
    } else {
        for c in &r.checks {
            if c.problems.is_empty() {
                println!("ok      {}", c.name);
            } else {
                println!("BROKEN  {} ({}):", c.name, c.problems.len());
                for p in c.problems.iter().take(20) {
                    println!("          {p}");
                }
            }
        }
        println!(
            "{}: {}",
            r.vault.display(),
            if r.clean {
                "catalog intact"
            } else {
                "CATALOG BROKEN"
            }
        );
    }
    Ok(if r.clean { 0 } else { 3 })
}

pub fn archive(ctx: &Ctx, a: &ArchiveCmd) -> Result<i32> {
    let ArchiveCmd {
        paths,
        plan,
        out,
        args,
    } = a;
    let r = discvault::archive::archive(
        &ctx.vault,
        paths,
        &discvault::archive::ArchiveOptions {
            add: add_options(args)?,
            plan: plan.clone(),
            out: out.clone(),
            catalog: ctx.catalog.clone(),
        },
        ctx.progress(),
    )?;
    if ctx.json {
        print_json(&r)?;
    } else {
        if r.vault_created {
            println!("created vault {}", r.vault.display());
        }
        print_add(&r.add);
        print_plan(&r.plan, false);
        for i in &r.images {
            println!("wrote {}  sha256 {}", i.image.display(), i.image_sha256);
        }
        print_verify(&r.verify);
        println!(
            "{}",
            if !r.clean {
                "archive finished WITH PROBLEMS (see above)"
            } else if r.images.is_empty() {
                "archive complete: nothing new to put on disc"
            } else {
                "archive complete: every image verified against the catalog"
            }
        );
    }
    Ok(if r.verify.iter().any(|v| !v.clean) {
        3
    } else if !r.add.errors.is_empty() {
        1
    } else {
        0
    })
}
