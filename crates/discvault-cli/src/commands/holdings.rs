//! The discs on the shelves: locate, copies, cabinets, inspection, quality, labels, the report.

use super::Ctx;
use crate::cli::{
    CabinetCmd, CopiesAdd, CopiesCmd, CopiesList, CopiesMark, CopiesMove, InspectCmd, LabelCmd,
    LocateCmd, QualityCmd, ReportCmd,
};
use crate::output::{human_bytes, pad, print_copy, print_json, text_width};
use anyhow::{Context, Result};

pub fn locate(ctx: &Ctx, a: &LocateCmd) -> Result<i32> {
    if let Some(code) = &a.barcode {
        let v = ctx.open()?;
        let a = discvault::locate::locate_barcode(&v, code)?;
        if ctx.json {
            print_json(&a)?;
        } else {
            print_copy(&a.copy);
            println!(
                "  volume {} ({} of {}), {:?}, {} files ({}), collections: {}",
                a.copy.copy.volume_id,
                a.seq,
                a.seq_count,
                a.volume_state,
                a.files,
                human_bytes(a.payload_bytes),
                a.collections.join(", ")
            );
            for o in &a.other_copies {
                print!("  other copy: ");
                print_copy(o);
            }
        }
        Ok(0)
    } else {
        let LocateCmd {
            query,
            limit,
            all_versions,
            ..
        } = a;
        let v = ctx.open()?;
        let query = query.as_deref().unwrap_or_default();
        let mut found =
            discvault::locate::locate_versions(&v, query, limit.saturating_add(1), *all_versions)?;
        let more = found.len() > *limit;
        found.truncate(*limit);
        if more {
            eprintln!(
                "more than {limit} files match {query:?}: showing the first {limit} (use --limit N)"
            );
        }
        if ctx.json {
            print_json(&found)?;
        } else {
            for f in &found {
                let vols: Vec<String> = f
                    .volumes
                    .iter()
                    .map(|p| {
                        let mut s = if p.parts > 1 {
                            format!("{} (part {}/{})", p.volume_id, p.part, p.parts)
                        } else {
                            p.volume_id.clone()
                        };
                        for c in &p.copies {
                            s.push_str(&format!(
                                " [{} {} at {}{}]",
                                c.copy.copy_id,
                                c.copy.role,
                                c.place_text,
                                if c.trusted { "" } else { ", not trusted" }
                            ));
                        }
                        s
                    })
                    .collect();
                println!(
                    "{}/{}  v{}  {}  {}  {}",
                    f.collection,
                    f.path,
                    f.version,
                    human_bytes(f.size),
                    f.state,
                    if vols.is_empty() {
                        "-".into()
                    } else {
                        vols.join(", ")
                    }
                );
            }
            if found.is_empty() {
                println!("no file matches {query:?}");
            }
        }
        Ok(0)
    }
}

pub fn copies(ctx: &Ctx, cmd: &CopiesCmd) -> Result<i32> {
    let v = ctx.open()?;
    let shown: Vec<discvault::copies::CopyView> = match cmd {
        CopiesCmd::Add(CopiesAdd {
            volume,
            roles,
            options,
        }) => {
            let o = discvault::copies::AddCopiesOptions {
                roles: roles
                    .as_deref()
                    .map(|r| {
                        r.split(',')
                            .map(|x| x.trim().to_string())
                            .filter(|x| !x.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                ..options.clone()
            };
            discvault::copies::add(&v, volume, &o)?
                .into_iter()
                .map(|c| discvault::copies::view(&v, c))
                .collect()
        }
        CopiesCmd::Move(CopiesMove { copy, place }) => {
            vec![discvault::copies::view(
                &v,
                discvault::copies::move_to(&v, copy, place)?,
            )]
        }
        CopiesCmd::Mark(CopiesMark {
            copy,
            state,
            note,
            at,
        }) => {
            let at = at.as_deref().map(discvault::parse_date).transpose()?;
            let c = discvault::copies::mark(&v, copy, state, note, at)?;
            vec![discvault::copies::view(&v, c)]
        }
        CopiesCmd::List(CopiesList { volume, at }) => {
            let now = match at {
                Some(a) => discvault::parse_date(a)?,
                None => discvault::now_unix(),
            };
            discvault::copies::list_at(&v, volume.as_deref(), now)?
        }
    };
    if ctx.json {
        print_json(&shown)?;
    } else {
        for c in &shown {
            print_copy(c);
        }
    }
    Ok(0)
}

pub fn cabinet(ctx: &Ctx, cmd: &CabinetCmd) -> Result<i32> {
    match cmd {
        CabinetCmd::Export { cabinet, out } => {
            let v = ctx.open()?;
            // Nothing is written (no empty file left behind) unless the export succeeds.
            let mut csv = Vec::new();
            let map = discvault::cabinet::export(&v, cabinet, &mut csv)?;
            match out {
                Some(p) => {
                    std::fs::write(p, &csv).with_context(|| p.display().to_string())?;
                    if ctx.json {
                        print_json(&map)?;
                    } else {
                        println!(
                            "{} copies of cabinet {} ({}) written to {}",
                            map.copies,
                            map.cabinet,
                            map.cabinet_path,
                            p.display()
                        );
                    }
                }
                None => {
                    use std::io::Write;
                    std::io::stdout().write_all(&csv)?;
                }
            }
            Ok(0)
        }
        CabinetCmd::Import { file, dry_run } => {
            let v = ctx.open()?;
            let r = discvault::cabinet::import(&v, file, !dry_run)?;
            if ctx.json {
                print_json(&r)?;
            } else {
                println!(
                    "cabinet(s) {}: {} discs reported, {} where the catalog expects them",
                    r.cabinets.join(", "),
                    r.rows,
                    r.matched
                );
                let at = |shelf: &str, slot: &str| {
                    if shelf.is_empty() {
                        format!("slot {slot}")
                    } else {
                        format!("shelf {shelf} slot {slot}")
                    }
                };
                if !r.shelves {
                    println!("  (no shelf column: slots compared by number only)");
                }
                for m in &r.found_unexpected {
                    println!(
                        "  found    {} ({}) in {} {}; the catalog had {}{}",
                        m.copy_id,
                        m.barcode,
                        m.cabinet,
                        at(&m.shelf, &m.slot),
                        m.expected,
                        if r.applied { " (moved)" } else { "" }
                    );
                }
                for id in &r.found_again {
                    println!(
                        "  found    {id}, marked missing before{}",
                        if r.applied {
                            " (now written: read it back before it is trusted)"
                        } else {
                            ""
                        }
                    );
                }
                for m in &r.missing {
                    println!(
                        "  MISSING  {} ({}) expected in {} {}{}",
                        m.copy_id,
                        m.barcode,
                        m.cabinet,
                        at(&m.shelf, &m.slot),
                        if r.applied { " (marked missing)" } else { "" }
                    );
                }
            }
            Ok(if r.agrees() { 0 } else { 3 })
        }
    }
}

pub fn inspect(ctx: &Ctx, cmd: &InspectCmd) -> Result<i32> {
    let InspectCmd::Due { at } = cmd;
    let v = ctx.open()?;
    let now = match at {
        Some(a) => discvault::parse_date(a)?,
        None => discvault::now_unix(),
    };
    let pick = discvault::inspect::due(&v, now)?;
    if ctx.json {
        print_json(&pick)?;
    } else {
        println!(
            "inspection round {}: {} of {} active copies (at least {})",
            &pick.at[..10],
            pick.copies.len(),
            pick.active_copies,
            pick.quota
        );
        // Columns as wide as their widest cell, in terminal columns (a Chinese
        // character takes two).
        let width = |f: &dyn Fn(&discvault::inspect::DueCopy) -> &str| {
            pick.copies
                .iter()
                .map(|d| text_width(f(d)))
                .max()
                .unwrap_or(0)
        };
        let w_place = width(&|d| &d.copy.place_text);
        let w_id = width(&|d| &d.copy.copy.copy_id);
        let w_code = width(&|d| &d.copy.copy.barcode);
        for d in &pick.copies {
            println!(
                "  {} {} {} due {} ({})",
                pad(&d.copy.place_text, w_place),
                pad(&d.copy.copy.copy_id, w_id),
                pad(&d.copy.copy.barcode, w_code),
                &d.due_at[..10],
                d.reason
            );
        }
    }
    Ok(0)
}

pub fn quality(ctx: &Ctx, cmd: &QualityCmd) -> Result<i32> {
    let QualityCmd::Import { file } = cmd;
    let v = ctx.open()?;
    let graded = discvault::quality::import(&v, file)?;
    if ctx.json {
        print_json(&graded)?;
    } else {
        for g in &graded {
            println!(
                "{}  {} measurements  grade {}{}",
                g.copy_id,
                g.measurements,
                g.grade,
                if g.previous_grade.is_empty() || g.previous_grade == g.grade {
                    String::new()
                } else {
                    format!(" (was {})", g.previous_grade)
                }
            );
        }
    }
    Ok(0)
}

pub fn label(ctx: &Ctx, a: &LabelCmd) -> Result<i32> {
    let LabelCmd {
        key,
        list_templates,
        spine,
        slots,
        format,
        template,
        out,
    } = a;
    use discvault::label::{LabelFormat, LabelOptions, LabelSubject};
    let v = ctx.open()?;
    if *list_templates {
        let all = discvault::label::templates(&v);
        if ctx.json {
            print_json(&all)?;
            return Ok(0);
        }
        for t in all {
            println!(
                "{:<6} {:<16} {}{}{}",
                t.kind,
                t.name,
                t.about,
                if t.shipped { "" } else { " (own)" },
                if t.default { " [default]" } else { "" }
            );
        }
        return Ok(0);
    }
    let out = out.as_ref().context("give --out FILE")?;
    let subject = match (slots, key) {
        (Some(c), _) => LabelSubject::Slots(c.clone()),
        (None, Some(k)) if *spine => LabelSubject::Spine(k.clone()),
        (None, Some(k)) => LabelSubject::Face(k.clone()),
        (None, None) => anyhow::bail!("give a volume, copy or barcode, or --slots CABINET"),
    };
    // A template given as a path is a file of one's own; otherwise it is a name.
    let is_file = |t: &&String| t.contains('/') || t.to_ascii_lowercase().ends_with(".svg");
    let bytes = discvault::label::render(
        &v,
        &LabelOptions {
            subject,
            format: match format {
                Some(f) => LabelFormat::parse(f)?,
                None => LabelFormat::from_path(out)?,
            },
            template: template.as_ref().filter(|t| !is_file(t)).cloned(),
            template_file: template
                .as_ref()
                .filter(is_file)
                .map(std::path::PathBuf::from),
        },
    )?;
    std::fs::write(out, &bytes).with_context(|| out.display().to_string())?;
    if !ctx.quiet && !ctx.json {
        println!("{} ({} bytes)", out.display(), bytes.len());
    }
    Ok(0)
}

pub fn report(ctx: &Ctx, a: &ReportCmd) -> Result<i32> {
    let ReportCmd { format, out } = a;
    let v = ctx.open()?;
    let r = discvault::report::build(&v, discvault::now_unix())?;
    // --json asks for the API's JSON, as everywhere; else the HTML page.
    let format = match (format.as_deref(), ctx.json) {
        (Some(f), _) => f,
        (None, true) => "json",
        (None, false) => "html",
    };
    let text = match format {
        "json" => serde_json::to_string_pretty(&r)? + "\n",
        "html" => discvault::report::html(&r),
        "pdf" => {
            let Some(p) = out else {
                anyhow::bail!("--format pdf writes a file: give --out FILE");
            };
            discvault::report::pdf(&discvault::report::html(&r), &v.config.report.browser, p)?;
            return Ok(0);
        }
        other => anyhow::bail!("--format {other:?}: use json, html or pdf"),
    };
    match out {
        Some(p) => std::fs::write(p, text).with_context(|| p.display().to_string())?,
        None => print!("{text}"),
    }
    Ok(0)
}
