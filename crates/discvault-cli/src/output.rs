//! Text output: the library's result values as lines for a person, and as JSON.

use anyhow::Result;

pub fn print_copy(c: &discvault::copies::CopyView) {
    println!(
        "{}  {}  {:<8} {:<9} {}  {}{}",
        c.copy.copy_id,
        c.copy.barcode,
        c.copy.role,
        c.copy.state.as_str(),
        c.place_text,
        match &c.not_trusted {
            None => "trusted".to_string(),
            Some(why) => format!("NOT trusted ({why})"),
        },
        c.copy
            .rfid
            .as_deref()
            .map(|r| format!("  rfid {r}"))
            .unwrap_or_default()
    );
}

pub fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Terminal columns `s` takes (a Chinese character takes two).
pub fn text_width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// `s` padded with spaces to `width` terminal columns.
pub fn pad(s: &str, width: usize) -> String {
    format!("{s}{}", " ".repeat(width.saturating_sub(text_width(s))))
}

pub use discvault::human_bytes;

pub fn print_add(r: &discvault::ingest::AddReport) {
    println!(
        "added {} files ({} new versions, {} links), {} unchanged, {} read",
        r.added + r.new_versions,
        r.new_versions,
        r.links,
        r.unchanged,
        human_bytes(r.bytes_read)
    );
    for c in &r.metadata_changes {
        println!(
            "collection {}: {} changed from {:?} to {:?}",
            c.collection, c.key, c.old, c.new
        );
    }
    for p in &r.warnings {
        eprintln!("warning: {}: {}", p.path, p.reason);
    }
    for p in &r.skipped {
        eprintln!("skipped: {}: {}", p.path, p.reason);
    }
    for p in &r.errors {
        eprintln!("error: {}: {} (not recorded)", p.path, p.reason);
    }
}

pub fn print_repair(r: &discvault::repair::RepairReport) {
    for c in &r.copies {
        println!(
            "{}: {} of {} records intact, {} unreadable sectors",
            c.source,
            c.records_intact,
            r.records,
            c.bad_sectors.count()
        );
        for d in &c.records_damaged {
            println!("  damaged: {d}");
        }
    }
    for m in &r.merged {
        println!("merged from several copies: {m}");
    }
    for m in &r.rebuilt {
        println!("rebuilt from recovery data: {m}");
    }
    for m in &r.lost {
        println!("LOST (beyond repair): {m}");
    }
    if let Some(p) = &r.from_parity {
        println!("whole image rebuilt from parity volume {p}");
    }
    match (&r.image, r.repairable) {
        (Some(i), _) => println!(
            "{}: repaired into {}, sha256 {} as mastered",
            r.volume_id,
            i.display(),
            r.image_sha256.as_deref().unwrap_or("")
        ),
        (None, true) => println!("{}: repairable (nothing written)", r.volume_id),
        (None, false) => println!(
            "{}: beyond repair, {} records lost; nothing written",
            r.volume_id,
            r.lost.len()
        ),
    }
}

pub fn print_plan(p: &discvault::plan::VolumePlan, dry: bool) {
    println!(
        "{} {} files ({}) onto {} × {} ({} usable each, reserve {}%, recovery data {}%, {})",
        if dry { "would plan" } else { "planned" },
        p.files,
        human_bytes(p.payload_bytes),
        p.volumes.len(),
        p.media.name,
        human_bytes(p.usable_bytes),
        p.reserve_percent,
        p.redundancy_percent,
        match p.file_systems {
            discvault::model::FileSystems::Bridge => "ISO 9660 + UDF",
            discvault::model::FileSystems::Iso9660 => "ISO 9660 only",
        }
    );
    if !p.metadata_changes.is_empty() {
        println!("collection metadata changed since the last plan (discs already written keep the old values):");
        for c in &p.metadata_changes {
            println!("  {c}");
        }
    }
    for v in &p.volumes {
        let split = v.items.iter().filter(|i| i.parts > 1).count();
        println!(
            "  {}  {} of {}  {:>6} files  {:>10} (recovery {:>9})  fill {:5.1}%{}{}",
            v.volume_id,
            v.seq,
            v.seq_count,
            v.files,
            human_bytes(v.image_bytes),
            human_bytes(v.recovery_bytes),
            v.fill_ratio * 100.0,
            if v.parity_of.is_empty() {
                String::new()
            } else {
                format!("  parity of {}", v.parity_of.join(", "))
            },
            if split > 0 {
                format!("  ({split} parts of split files)")
            } else {
                String::new()
            }
        );
    }
}

pub fn print_jobs(jobs: &[discvault::catalog::jobs::Job]) {
    for j in jobs {
        println!("{} {} on {}: {}", j.job_id, j.volume_id, j.target, j.state);
        for c in &j.copies {
            println!(
                "  {:<16} {:<8} {:<9} {} {}{}",
                c.copy_id,
                c.role,
                c.state.as_str(),
                c.medium,
                c.detail,
                if c.replaces.is_empty() {
                    String::new()
                } else {
                    format!(" (replacement disc; the copy was {})", c.replaces)
                }
            );
            for d in &c.rejected {
                print_rejected(d);
            }
        }
    }
}

pub fn print_rejected(d: &discvault::catalog::jobs::RejectedDisc) {
    println!(
        "    rejected disc {} of {} ({}): {}\n      in {}; {}\n      -> {}",
        d.attempt, d.copy_id, d.disc, d.reason, d.place, d.label, d.action
    );
}

pub fn print_migration(p: &discvault::migrate::MigrationPlan) {
    if p.items.is_empty() && p.blocked.is_empty() {
        println!("nothing to migrate");
    }
    for i in &p.items {
        println!(
            "{} ({}): {:?} — {}",
            i.volume_id,
            i.media,
            i.action,
            i.reasons.join("; ")
        );
        if let Some(c) = i.read_from.first() {
            println!(
                "  read from {} at {}{}",
                c.copy_id,
                if c.place.is_empty() {
                    "(no place)"
                } else {
                    &c.place
                },
                if c.trusted {
                    ""
                } else {
                    " (not trusted: its data is checked as it is read)"
                }
            );
        }
        if !i.replace.is_empty() {
            println!(
                "  retires, once replaced and verified: {}",
                i.replace.join(", ")
            );
        }
    }
    if let Some(np) = &p.new_volumes {
        for v in &np.volumes {
            println!(
                "  new volume {} ({}): {} files, {}, fill {:.1}%",
                v.volume_id,
                np.media.name,
                v.files,
                human_bytes(v.payload_bytes),
                v.fill_ratio * 100.0
            );
        }
    }
    for b in &p.blocked {
        println!("{}: BLOCKED, {}", b.volume_id, b.reason);
    }
    if !p.needed_volumes.is_empty() {
        println!("discs needed: {}", p.needed_volumes.join(", "));
    }
}

pub fn print_verify(reports: &[discvault::verify::VerifyReport]) {
    for r in reports {
        if r.clean {
            println!(
                "{}: {} clean, {} files match the catalog",
                r.source, r.volume_id, r.files_ok
            );
        } else {
            println!(
                "{}: {} DAMAGED, {} of {} files ok",
                r.source, r.volume_id, r.files_ok, r.files_checked
            );
            if let Some(s) = r
                .sectors
                .as_ref()
                .filter(|s| !s.bad.is_empty() || !s.unread.is_empty())
            {
                println!(
                    "  sectors: {} of {} unreadable ({}), {} not read; pass {}",
                    s.bad.count(),
                    s.total_sectors,
                    s.bad,
                    s.unread.count(),
                    s.passes
                );
            }
            for f in &r.findings {
                println!(
                    "  {:<10} {}  ({})",
                    format!("{:?}", f.finding).to_lowercase(),
                    f.disc_path,
                    f.detail
                );
            }
            if let Some(o) = &r.repair {
                match (o.repairable, &o.from_parity, &o.detail) {
                    (true, None, _) => println!(
                        "  repairable from {}: discvault repair {} --to DIR",
                        o.sources.join(", "),
                        o.sources.join(" ")
                    ),
                    (true, Some(p), _) => println!(
                        "  repairable with parity volume {p}, from {}: discvault repair {} --volume {} --to DIR",
                        o.sources.join(", "),
                        o.sources.join(" "),
                        r.volume_id
                    ),
                    (false, _, Some(d)) => println!("  repair: {d}"),
                    (false, _, None) => println!(
                        "  NOT repairable from these sources ({} records lost): give other copies, or the parity disc of its group",
                        o.lost.len()
                    ),
                }
            }
        }
    }
}
