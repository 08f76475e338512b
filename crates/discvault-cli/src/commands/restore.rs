//! Restore: the pick list, or the files from the discs given.

use super::Ctx;
use crate::cli::RestoreCmd;
use crate::output::{human_bytes, print_json};
use anyhow::Result;

pub fn restore(ctx: &Ctx, a: &RestoreCmd) -> Result<i32> {
    let RestoreCmd {
        pattern,
        volume,
        options,
        version,
    } = a;
    let (to, from) = (&options.to, &options.from);
    use discvault::restore::{self, Selection};
    let sel = match (pattern, volume) {
        (Some(p), None) => Selection::Pattern(p.clone()),
        (None, Some(v)) => Selection::Volume(v.clone()),
        _ => anyhow::bail!("give either a PATH-PATTERN or --volume ID"),
    };
    let vault = restore::open_vault(&ctx.vault, ctx.catalog.as_deref(), from)?;
    let list = restore::pick_for_restore(vault.as_ref(), &sel, *version, from)?;
    if list.files.is_empty() {
        anyhow::bail!("{}", restore::no_match(vault.as_ref(), &sel, *version)?);
    }
    if from.is_empty() {
        if ctx.json {
            print_json(&list)?;
        } else {
            if !list.volumes.is_empty() {
                println!(
                    "{} files need these volumes (give them with --from):",
                    list.files.len() - list.unplaced.len()
                );
            }
            for v in &list.volumes {
                let n = list
                    .files
                    .iter()
                    .filter(|f| f.parts.iter().any(|p| &p.volume_id == v))
                    .count();
                let note = if list.unmastered.contains(v) {
                    "  (not mastered yet)"
                } else {
                    ""
                };
                println!("  {v}  {n} files{note}");
            }
            if !list.unplaced.is_empty() {
                println!(
                    "{} files are on no disc yet (not planned: run `discvault plan`):",
                    list.unplaced.len()
                );
                for f in &list.unplaced {
                    println!("  {f}");
                }
            }
        }
        return Ok(0);
    }
    let r = restore::restore(vault.as_ref(), &list, options, ctx.progress())?;
    if ctx.json {
        print_json(&r)?;
    } else {
        println!(
            "restored {} files and {} links ({}) to {}{}",
            r.restored,
            r.links,
            human_bytes(r.bytes),
            to.display(),
            if r.already_present > 0 {
                format!("; {} already there with the same bytes", r.already_present)
            } else {
                String::new()
            }
        );
        if !r.missing_volumes.is_empty() {
            println!("still needed: {}", r.missing_volumes.join(", "));
        }
        for p in &r.problems {
            eprintln!("error: {}: {}", p.path, p.reason);
        }
    }
    Ok(if r.damaged {
        3
    } else if !r.problems.is_empty() {
        1
    } else if !r.missing_volumes.is_empty() {
        4
    } else {
        0
    })
}
