//! The `discvault` command: a thin shell over the library. `--json` prints the library's result
//! values, the same JSON the server's API returns.
//!
//! Exit codes: 0 done and clean; 1 error; 2 bad command line; 3 damage found (verify, restore,
//! archive); 4 restore needs volumes that were not given; 5 a disc of another vault or of a
//! volume this catalog does not know (nothing checked or recorded).

mod progress;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use discvault::digest::HashAlg;
use discvault::ingest::AddOptions;
use discvault::plan::PlanOptions;
use discvault::{Vault, SOFTWARE};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "discvault", version, about = "Archival storage on optical discs", long_about = None)]
struct Cli {
    /// Vault directory (else $DISCVAULT_VAULT, else ./vault).
    #[arg(long, global = true, env = "DISCVAULT_VAULT", default_value = "vault")]
    vault: PathBuf,
    /// The catalog: sqlite:PATH or postgres://USER@HOST[:PORT]/DATABASE (password from
    /// PGPASSWORD). Else $DISCVAULT_CATALOG, else [catalog] url in the vault's discvault.toml;
    /// `init` writes it there.
    #[arg(long, global = true, env = "DISCVAULT_CATALOG", value_name = "URL")]
    catalog: Option<String>,
    /// Print the result as JSON on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// No progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

/// How to plan: shared by plan and archive.
#[derive(clap::Args, Clone)]
struct PlanArgs {
    /// Media profile: cd74 cd80 dvd5 dvd9 bd25 bd50 bd100 bd128 custom:<bytes>.
    #[arg(long)]
    media: Option<String>,
    /// Share of each disc kept free, in percent.
    #[arg(long)]
    reserve: Option<f64>,
    /// PAR2 recovery data on every disc, in percent of the bytes it protects (0: none;
    /// default from [recovery] in discvault.toml, 10).
    #[arg(long)]
    redundancy: Option<f64>,
    /// A parity volume after every N data volumes: a disc that rebuilds any one of them
    /// lost whole (0: none; default recovery.parity_group).
    #[arg(long, value_name = "N")]
    parity_group: Option<u32>,
    /// Parity volumes per group: any K discs of a group lost whole are rebuilt (default
    /// recovery.parity_volumes, 1).
    #[arg(long, value_name = "K")]
    parity_volumes: Option<u32>,
}

impl PlanArgs {
    fn options(&self) -> PlanOptions {
        PlanOptions {
            media: self.media.clone(),
            reserve_percent: self.reserve,
            redundancy_percent: self.redundancy,
            parity_group: self.parity_group,
            parity_volumes: self.parity_volumes,
        }
    }
}

#[derive(clap::Args, Clone)]
struct AddArgs {
    /// Collection to add to (default: each folder is its own collection, named after it).
    #[arg(long, short)]
    collection: Option<String>,
    /// Collection metadata: fonds=, series=, retention=, or any KEY=VALUE (repeatable).
    #[arg(long = "meta", value_name = "KEY=VALUE")]
    meta: Vec<String>,
    /// Digests to compute: sha256 (always), sm3, md5, blake3, comma separated.
    #[arg(long = "hash", value_name = "ALGS")]
    hash: Option<String>,
    /// Stage a copy of every record in the vault (for sources that will go away).
    #[arg(long)]
    copy: bool,
    /// Follow symbolic links instead of recording them as links.
    #[arg(long)]
    follow: bool,
    /// Change the retention period (retention, 保管期限) of a collection whose records are
    /// already on volumes.
    #[arg(long)]
    force: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Create a vault: configuration and catalog.
    Init,
    /// Add records: walk, hash, and record them in the catalog.
    Add {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        args: AddArgs,
    },
    /// Pack every unplanned file into volumes.
    Plan {
        #[command(flatten)]
        plan: PlanArgs,
        /// Show the plan without recording it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write one ISO image per planned volume.
    Master {
        /// Volumes to master (default: every planned volume).
        volumes: Vec<String>,
        #[arg(long)]
        out: PathBuf,
        /// Master again volumes already mastered (the image must come out identical).
        #[arg(long)]
        again: bool,
    },
    /// Check images or mounted discs against the catalog.
    Verify {
        /// Image files, pseudo drives, block devices (optical drives) or mounted discs.
        #[arg(required = true)]
        sources: Vec<PathBuf>,
        /// The source is this copy (id, barcode or RFID): record the result against it.
        #[arg(long)]
        copy: Option<String>,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// Read a disc back (返读) into DIR/<volume id>: every file checked against the catalog while
    /// it is copied; damaged files are named and not written.
    Readback {
        /// An image file, a pseudo drive, a block device (optical drive) or a mounted disc.
        source: PathBuf,
        #[arg(long)]
        to: PathBuf,
        /// The source is this copy (id, barcode or RFID): record the result against it.
        #[arg(long)]
        copy: Option<String>,
        #[arg(long)]
        overwrite: bool,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// Rebuild a volume's image, identical to the one mastered, from damaged copies: intact
    /// records, readable sectors of several copies, and the discs' PAR2 recovery data.
    Repair {
        /// Copies of one volume: image files, pseudo drives, block devices (optical drives).
        #[arg(required = true)]
        sources: Vec<PathBuf>,
        /// Folder the repaired image is written to.
        #[arg(long)]
        to: PathBuf,
        /// The volume, when the copies cannot tell (their file system is damaged).
        #[arg(long)]
        volume: Option<String>,
        /// Reads of a failed sector after the first.
        #[arg(long, default_value_t = 2)]
        retries: u32,
        /// Say what can be repaired from what; write no image.
        #[arg(long)]
        dry_run: bool,
    },
    /// Rewrite failing or obsolete volumes: new copies of damaged ones, old media and small
    /// discs remastered onto new volumes, read from the healthiest copies.
    Migrate {
        /// Show what would be done and which discs are needed; write nothing.
        #[arg(long, visible_alias = "dry-run")]
        plan: bool,
        /// Media to leave (besides migration.obsolete_media in the config), comma separated.
        #[arg(long, value_delimiter = ',')]
        obsolete: Vec<String>,
        /// Media of the new volumes.
        #[arg(long)]
        to_media: Option<String>,
        /// Remaster small volumes together onto fewer discs.
        #[arg(long)]
        consolidate: bool,
        /// Images, drives or mounted discs of the volumes to read (see --plan).
        #[arg(long, num_args = 1..)]
        from: Vec<PathBuf>,
        /// Where the new images are written.
        #[arg(long, required_unless_present = "plan")]
        out: Option<PathBuf>,
        /// Judge trust at this date (YYYY-MM-DD) instead of now.
        #[arg(long)]
        at: Option<String>,
    },
    /// Burn copies of volumes on a target, read each back and verify it before it counts.
    /// A rerun resumes the open jobs.
    Publish {
        /// Volumes to publish; without them, the open jobs on the target, and the mastered
        /// volumes without an open job that are short of trusted copies under the policy.
        volumes: Vec<String>,
        /// images:DIR, xorriso:DEVICE[,DEVICE...] (stdio:FILE pseudo drives work too),
        /// tdbridge:FOLDER (Epson TD Bridge) or ptburn:FOLDER (Primera PTBurn).
        #[arg(long)]
        to: String,
        /// Copies per volume (default: one per configured role).
        #[arg(long)]
        copies: Option<u32>,
        /// Roles of the copies, comma separated (default: the configured roles).
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        /// Burn a replacement disc of these copies (copy ids, barcodes, or C2 with one volume
        /// named), comma separated: each keeps its id, role and place.
        #[arg(long, value_delimiter = ',', conflicts_with_all = ["copies", "roles"])]
        replace: Vec<String>,
        /// Burns per copy before it is given up.
        #[arg(long, default_value_t = 3)]
        attempts: u32,
        /// Stop waiting for a disc publisher that is paused (out of blanks, cover open) or
        /// does not take the job, after this many seconds; the job stays open for a rerun.
        #[arg(long)]
        give_up_after: Option<u64>,
    },
    /// Publishing jobs and the state of their copies; or cancel one.
    Jobs {
        /// Cancel this job: its copies not done are cancelled, burns under way are stopped.
        #[arg(long)]
        cancel: Option<String>,
    },
    /// Run a simulated disc publisher on a hot folder (Epson TD Bridge or Primera PTBurn):
    /// it takes jobs through the documented states and status files and "burns" discs into
    /// FOLDER/Simulator. Control it with FOLDER/simulator-control.txt (blanks, fail_discs,
    /// damage_discs, paused). Runs until stopped.
    Simulate {
        /// tdbridge or ptburn.
        #[arg(value_parser = ["tdbridge", "ptburn"])]
        kind: String,
        folder: PathBuf,
        /// Seconds to burn one disc.
        #[arg(long, default_value_t = 2.0)]
        disc_seconds: f64,
        /// The publisher's name in the status files.
        #[arg(long, default_value = "Disc Publisher SIM")]
        name: String,
        /// Windows code page of the files.
        #[arg(long, default_value = "gbk")]
        code_page: String,
    },
    /// Render the label of a disc face (or its case spine) for a volume, a copy or a barcode,
    /// or a sheet of cabinet slot labels.
    Label {
        /// Volume id, copy id, barcode or RFID tag.
        #[arg(required_unless_present = "slots")]
        key: Option<String>,
        /// The spine of the disc's case instead of its face.
        #[arg(long)]
        spine: bool,
        /// Slot labels of every copy in this cabinet ("*": all placed copies), as PDF.
        #[arg(long, conflicts_with_all = ["key", "spine"])]
        slots: Option<String>,
        /// svg, png (at label.dpi), pdf (vector, fonts embedded), jpg or bmp (default: from the
        /// extension of --out).
        #[arg(long)]
        format: Option<String>,
        /// An SVG template with merge fields (see docs/LABELS.md).
        #[arg(long)]
        template: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Restore files from images or mounted discs.
    Restore {
        /// Files to restore: a path prefix or a glob over collection/path.
        pattern: Option<String>,
        /// Restore every file of this volume.
        #[arg(long)]
        volume: Option<String>,
        #[arg(long)]
        to: PathBuf,
        /// Images or mounted discs to read from; without them the pick list is printed. A file
        /// with a version on these discs is restored in that version (the newest of them).
        #[arg(long, num_args = 1..)]
        from: Vec<PathBuf>,
        /// Restore this version of each file matched (see `locate --all-versions`).
        #[arg(long)]
        version: Option<i64>,
        #[arg(long)]
        overwrite: bool,
        /// Keep setuid, setgid and sticky bits (dropped by default).
        #[arg(long)]
        keep_special_modes: bool,
    },
    /// Find files by path, digest or metadata (KEY=VALUE), or a disc by its barcode.
    Locate {
        #[arg(required_unless_present = "barcode")]
        query: Option<String>,
        /// Find the copy with this barcode (or copy id, or RFID tag id).
        #[arg(long, conflicts_with = "query")]
        barcode: Option<String>,
        /// At most this many files (the command says when there are more).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Every version of each file, not only the current one.
        #[arg(long)]
        all_versions: bool,
    },
    /// Register, move, mark and list the copies of volumes.
    #[command(subcommand)]
    Copies(CopiesCmd),
    /// Slot maps of disc cabinets as CSV (copy_id,barcode,rfid,cabinet,shelf,slot).
    #[command(subcommand)]
    Cabinet(CabinetCmd),
    /// Inspection: which copies to read back now.
    #[command(subcommand)]
    Inspect(InspectCmd),
    /// Disc quality measurements from testers.
    #[command(subcommand)]
    Quality(QualityCmd),
    /// The preservation report: shortfalls, overdue and failing discs, disc health charts.
    Report {
        /// json, html or pdf (printed by a headless Chromium; needs --out).
        #[arg(long, default_value = "html")]
        format: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The audit trail: check its hash chain, export it as PREMIS.
    #[command(subcommand)]
    Log(LogCmd),
    /// The catalog database: copy it to another (SQLite to PostgreSQL and back).
    #[command(subcommand)]
    Catalog(CatalogCmd),
    /// What is ingested, planned, mastered, and not yet on a disc.
    Status,
    /// Check the catalog: SQLite integrity and foreign keys, the audit trail's chain, and the
    /// invariants of every stage (exit 3 when any is broken).
    Check,
    /// The whole job: init if needed, add, plan, master, verify.
    Archive {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        plan: PlanArgs,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        args: AddArgs,
    },
}

#[derive(Subcommand)]
enum CopiesCmd {
    /// Register copies of a volume, one per role (default: the configured sealed, access, offsite).
    Add {
        volume: String,
        /// Roles, comma separated (e.g. sealed,access,offsite).
        #[arg(long)]
        roles: Option<String>,
        #[arg(long)]
        medium: Option<String>,
        #[arg(long, default_value = "")]
        brand: String,
        #[arg(long, default_value = "")]
        batch: String,
        #[command(flatten)]
        place: PlaceArgs,
        /// Barcode (default: the copy id), only with one role.
        #[arg(long)]
        barcode: Option<String>,
        /// RFID tag id (EPC, 24 hex digits), only with one role.
        #[arg(long)]
        rfid: Option<String>,
        /// planned or written (the default). Not trusted until read back: `verify SOURCE
        /// --copy COPY`, or `copies mark COPY --state verified --at DATE` for a past check.
        #[arg(long)]
        state: Option<String>,
    },
    /// Move a copy (id, barcode or RFID) to another place; its slot must be free. Parts given by
    /// name replace those parts and clear the finer ones not given (--cabinet B forgets the
    /// shelf and slot), the coarser ones are kept.
    #[command(group(clap::ArgGroup::new("to").required(true).multiple(true).args(["place", "site", "room", "cabinet", "shelf", "slot"])))]
    Move {
        copy: String,
        #[command(flatten)]
        place: PlaceArgs,
    },
    /// Mark a copy: planned, written, verified, missing, damaged, retired. `verified` records
    /// a clean read-back done earlier (a past inspection) and needs its date, --at.
    Mark {
        copy: String,
        #[arg(long)]
        state: String,
        #[arg(long, default_value = "")]
        note: String,
        /// Date of the check, for results of past inspections (YYYY-MM-DD); required with
        /// --state verified.
        #[arg(long)]
        at: Option<String>,
    },
    /// List copies (of one volume), in the order of their places.
    List {
        #[arg(long)]
        volume: Option<String>,
        /// Judge trust at this date instead of today (YYYY-MM-DD).
        #[arg(long)]
        at: Option<String>,
    },
}

/// Where a copy is kept: the whole place, or its parts by name.
#[derive(clap::Args, Clone, Default)]
struct PlaceArgs {
    /// site/room/cabinet/shelf/slot, all five parts; leave an unknown part empty
    /// (//柜03/1/9). A slot is a number from 1.
    #[arg(long, conflicts_with_all = ["site", "room", "cabinet", "shelf", "slot"])]
    place: Option<String>,
    #[arg(long)]
    site: Option<String>,
    #[arg(long)]
    room: Option<String>,
    #[arg(long)]
    cabinet: Option<String>,
    #[arg(long)]
    shelf: Option<String>,
    #[arg(long)]
    slot: Option<String>,
}

impl PlaceArgs {
    fn input(&self) -> discvault::copies::PlaceInput {
        discvault::copies::PlaceInput {
            place: self.place.clone(),
            site: self.site.clone(),
            room: self.room.clone(),
            cabinet: self.cabinet.clone(),
            shelf: self.shelf.clone(),
            slot: self.slot.clone(),
        }
    }
}

#[derive(Subcommand)]
enum CabinetCmd {
    /// Write the slot map of a cabinet as CSV (UTF-8 with a byte order mark, for Excel):
    /// copy_id,barcode,rfid,cabinet,shelf,slot.
    Export {
        /// The cabinet's name, or site/room/cabinet when two cabinets share the name.
        cabinet: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Reconcile a cabinet's inventory (CSV: UTF-8 or GBK) with the catalog: move the copies
    /// found elsewhere, mark the ones not seen missing; a file with any bad row changes nothing.
    Import {
        file: PathBuf,
        /// Report only.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum InspectCmd {
    /// The pick list of copies to check now, in the order of their places.
    Due {
        /// Plan the round for this date instead of today (YYYY-MM-DD).
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(Subcommand)]
enum QualityCmd {
    /// Import measurements (CSV: copy,measured_at,metric,value) and grade the copies.
    Import { file: PathBuf },
}

#[derive(Subcommand)]
enum CatalogCmd {
    /// Copy every row of the vault's catalog into a new, empty catalog (postgres://USER@HOST/DB
    /// or sqlite:PATH), then check the copy: rows of every table, every record's digests, the
    /// audit trail's hash chain.
    Copy {
        /// The target catalog's URL.
        #[arg(long, value_name = "URL")]
        to: String,
        /// Then make the vault use the copy ([catalog] url in its discvault.toml).
        #[arg(long)]
        switch: bool,
    },
}

#[derive(Subcommand)]
enum LogCmd {
    /// Recompute the events' hash chain: exit 3 when any event was edited or deleted.
    Verify,
    /// Export the events as PREMIS 3 XML.
    Export {
        #[arg(long, required = true)]
        premis: bool,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn print_copy(c: &discvault::copies::CopyView) {
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

fn add_options(a: &AddArgs) -> Result<AddOptions> {
    let mut metadata = BTreeMap::new();
    for m in &a.meta {
        let (k, v) = m
            .split_once('=')
            .with_context(|| format!("--meta {m:?}: expected KEY=VALUE"))?;
        if k.trim().is_empty() {
            anyhow::bail!("--meta {m:?}: empty key");
        }
        metadata.insert(k.trim().to_string(), v.to_string());
    }
    let digests = match &a.hash {
        Some(h) => HashAlg::parse_list(h)?,
        None => Vec::new(),
    };
    Ok(AddOptions {
        collection: a.collection.clone(),
        metadata,
        digests,
        copy: a.copy,
        follow: a.follow,
        force: a.force,
    })
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Terminal columns `s` takes (a Chinese character takes two).
fn text_width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// `s` padded with spaces to `width` terminal columns.
fn pad(s: &str, width: usize) -> String {
    format!("{s}{}", " ".repeat(width.saturating_sub(text_width(s))))
}

fn human_bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

fn print_add(r: &discvault::ingest::AddReport) {
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

fn print_repair(r: &discvault::repair::RepairReport) {
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

fn print_plan(p: &discvault::plan::VolumePlan, dry: bool) {
    println!(
        "{} {} files ({}) onto {} × {} ({} usable each, reserve {}%, recovery data {}%)",
        if dry { "would plan" } else { "planned" },
        p.files,
        human_bytes(p.payload_bytes),
        p.volumes.len(),
        p.media.name,
        human_bytes(p.usable_bytes),
        p.reserve_percent,
        p.redundancy_percent
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

/// How discs are read: shared by verify and readback.
#[derive(clap::Args, Debug, Clone)]
struct ReadArgs {
    /// Digest to check files with: sha256 (default), or any other the catalog holds
    /// (blake3 is the fastest).
    #[arg(long, default_value = "sha256")]
    digest: String,
    /// Reads of a failed sector after the first.
    #[arg(long, default_value_t = 2)]
    retries: u32,
    /// Stop reading after this many seconds; what is left is recorded as not read.
    #[arg(long)]
    time_limit: Option<f64>,
    /// Re-read only the sectors an earlier pass over this copy or source could not read.
    #[arg(long)]
    resume: bool,
}

impl ReadArgs {
    fn options(&self) -> Result<discvault::verify::VerifyOptions> {
        Ok(discvault::verify::VerifyOptions {
            digest: discvault::digest::HashAlg::parse(&self.digest)?,
            scan: discvault::scan::ScanOptions {
                retries: self.retries,
                time_limit: self.time_limit.map(std::time::Duration::from_secs_f64),
                ..Default::default()
            },
            resume: self.resume,
        })
    }
}

fn print_jobs(jobs: &[discvault::catalog::jobs::Job]) {
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

fn print_rejected(d: &discvault::catalog::jobs::RejectedDisc) {
    println!(
        "    rejected disc {} of {} ({}): {}\n      in {}; {}\n      -> {}",
        d.attempt, d.copy_id, d.disc, d.reason, d.place, d.label, d.action
    );
}

fn print_migration(p: &discvault::migrate::MigrationPlan) {
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

fn print_verify(reports: &[discvault::verify::VerifyReport]) {
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

fn run(cli: Cli) -> Result<i32> {
    let progress = progress::for_cli(cli.quiet, cli.json);
    let open = || Vault::open_with(&cli.vault, cli.catalog.as_deref()).map_err(anyhow::Error::from);
    match &cli.command {
        Command::Init => {
            let v = Vault::init_with(&cli.vault, cli.catalog.as_deref())?;
            if cli.json {
                print_json(&serde_json::json!({"vault": v.root, "software": SOFTWARE}))?;
            } else {
                println!("created vault {}", v.root.display());
            }
            Ok(0)
        }
        Command::Add { paths, args } => {
            let v = open()?;
            let r = discvault::ingest::add(&v, paths, &add_options(args)?, progress.as_ref())?;
            if cli.json {
                print_json(&r)?;
            } else {
                print_add(&r);
            }
            Ok(if r.errors.is_empty() { 0 } else { 1 })
        }
        Command::Plan { plan, dry_run } => {
            let v = open()?;
            let p =
                discvault::plan::plan_and_record(&v, &plan.options(), *dry_run, progress.as_ref())?;
            if cli.json {
                print_json(&p)?;
            } else {
                print_plan(&p, *dry_run);
            }
            Ok(0)
        }
        Command::Master {
            volumes,
            out,
            again,
        } => {
            let v = open()?;
            let images = discvault::master::master(
                &v,
                &discvault::master::MasterOptions {
                    volumes: volumes.clone(),
                    out: out.clone(),
                    again: *again,
                },
                progress.as_ref(),
            )?;
            if cli.json {
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
        Command::Verify {
            sources,
            copy,
            read,
        } => {
            let v = open()?;
            let opts = read.options()?;
            let reports = match copy {
                Some(c) => {
                    if sources.len() != 1 {
                        anyhow::bail!("--copy takes exactly one SOURCE");
                    }
                    vec![discvault::verify::verify_copy(
                        &v,
                        &sources[0],
                        c,
                        &opts,
                        progress.as_ref(),
                    )?]
                }
                None => discvault::orchestrate::verify(&v, sources, &opts, progress.as_ref())?,
            };
            if cli.json {
                print_json(&reports)?;
            } else {
                print_verify(&reports);
            }
            Ok(discvault::verify::exit_code(&reports))
        }
        Command::Repair {
            sources,
            to,
            volume,
            retries,
            dry_run,
        } => {
            let v = open()?;
            let opts = discvault::repair::RepairOptions {
                sources: sources.clone(),
                volume: volume.clone(),
                to: to.clone(),
                retries: *retries,
            };
            let r = if *dry_run {
                discvault::repair::analyse(&v, &opts, progress.as_ref())?
            } else {
                discvault::repair::repair(&v, &opts, progress.as_ref())?
            };
            if cli.json {
                print_json(&r)?;
            } else {
                print_repair(&r);
            }
            Ok(if r.repairable { 0 } else { 3 })
        }
        Command::Readback {
            source,
            to,
            copy,
            overwrite,
            read,
        } => {
            let v = open()?;
            let r = discvault::readback::readback(
                &v,
                source,
                &discvault::readback::ReadbackOptions {
                    to: to.clone(),
                    copy: copy.clone(),
                    overwrite: *overwrite,
                    verify: read.options()?,
                },
                progress.as_ref(),
            )?;
            if cli.json {
                print_json(&r)?;
            } else {
                println!(
                    "{}: {} files, {} written to {}",
                    r.verify.volume_id,
                    r.files_written,
                    human_bytes(r.bytes_written),
                    r.to.display()
                );
                if !r.not_written.is_empty() {
                    print_verify(std::slice::from_ref(&r.verify));
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
        Command::Migrate {
            plan,
            obsolete,
            to_media,
            consolidate,
            from,
            out,
            at,
        } => {
            let v = open()?;
            let opts = discvault::migrate::MigrateOptions {
                obsolete_media: obsolete.clone(),
                to_media: to_media.clone(),
                consolidate: *consolidate,
                at: at.as_deref().map(discvault::parse_date).transpose()?,
            };
            let p = discvault::migrate::plan(&v, &opts)?;
            if *plan {
                if cli.json {
                    print_json(&p)?;
                } else {
                    print_migration(&p);
                }
                return Ok(0);
            }
            let out = out.as_ref().expect("clap requires --out");
            let r = discvault::migrate::execute(&v, &p, from, out, progress.as_ref())?;
            if cli.json {
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
        Command::Publish {
            volumes,
            to,
            copies,
            roles,
            replace,
            attempts,
            give_up_after,
        } => {
            use std::io::IsTerminal;
            let v = open()?;
            let r = discvault::publish::publish(
                &v,
                &discvault::publish::PublishOptions {
                    volumes: volumes.clone(),
                    target: to.clone(),
                    copies: *copies,
                    roles: roles.clone(),
                    replace: replace.clone(),
                    attempts: *attempts,
                    give_up_after: *give_up_after,
                },
                progress.as_ref(),
                (std::io::stdin().is_terminal() && !cli.json)
                    .then_some(&TerminalOperator as &dyn discvault::publish::Operator),
            )?;
            if cli.json {
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
        Command::Label {
            key,
            spine,
            slots,
            format,
            template,
            out,
        } => {
            use discvault::label::{LabelFormat, LabelOptions, LabelSubject};
            let v = open()?;
            let subject = match (slots, key) {
                (Some(c), _) => LabelSubject::Slots(c.clone()),
                (None, Some(k)) if *spine => LabelSubject::Spine(k.clone()),
                (None, Some(k)) => LabelSubject::Face(k.clone()),
                (None, None) => anyhow::bail!("give a volume, copy or barcode, or --slots CABINET"),
            };
            let bytes = discvault::label::render(
                &v,
                &LabelOptions {
                    subject,
                    format: match format {
                        Some(f) => LabelFormat::parse(f)?,
                        None => LabelFormat::from_path(out)?,
                    },
                    template: template.clone(),
                },
            )?;
            std::fs::write(out, &bytes).with_context(|| out.display().to_string())?;
            if !cli.quiet && !cli.json {
                println!("{} ({} bytes)", out.display(), bytes.len());
            }
            Ok(0)
        }
        Command::Jobs { cancel: Some(job) } => {
            let v = open()?;
            let r = discvault::publish::cancel(&v, job)?;
            if cli.json {
                print_json(&r)?;
            } else {
                print_jobs(std::slice::from_ref(&r.job));
            }
            Ok(0)
        }
        Command::Simulate {
            kind,
            folder,
            disc_seconds,
            name,
            code_page,
        } => {
            let opts = discpublisher::sim::SimOptions {
                folder: folder.clone(),
                code_page: discpublisher::CodePage::parse(code_page)
                    .with_context(|| format!("--code-page {code_page:?}: unknown code page"))?,
                disc_seconds: *disc_seconds,
                name: name.clone(),
            };
            anyhow::ensure!(folder.is_dir(), "{}: no such folder", folder.display());
            if !cli.quiet {
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
        Command::Jobs { cancel: None } => {
            let v = open()?;
            let jobs = v.catalog.jobs()?;
            if cli.json {
                print_json(&jobs)?;
            } else if jobs.is_empty() {
                println!("no publishing jobs");
            } else {
                print_jobs(&jobs);
            }
            Ok(0)
        }
        Command::Restore {
            pattern,
            volume,
            to,
            from,
            version,
            overwrite,
            keep_special_modes,
        } => {
            use discvault::restore::{self, Selection};
            let sel = match (pattern, volume) {
                (Some(p), None) => Selection::Pattern(p.clone()),
                (None, Some(v)) => Selection::Volume(v.clone()),
                _ => anyhow::bail!("give either a PATH-PATTERN or --volume ID"),
            };
            // Without a vault the discs' own records are read; a vault that is there but cannot
            // be opened is an error, not an empty catalog.
            let vault = match Vault::open_with(&cli.vault, cli.catalog.as_deref()) {
                Ok(v) => Some(v),
                Err(discvault::Error::NoVault(_)) if !from.is_empty() => None,
                Err(e) => return Err(e.into()),
            };
            let mut from_volumes = Vec::new();
            for s in from {
                let mut src = discvault::source::open(s)?;
                if let Ok(id) = discvault::source::volume_id(src.as_mut()) {
                    from_volumes.push(id);
                }
            }
            let opts = restore::PickOptions {
                version: *version,
                from_volumes,
            };
            let mut list = match &vault {
                Some(v) => match restore::pick_with(v, &sel, &opts) {
                    Ok(l) => l,
                    Err(discvault::Error::UnknownVolume(_)) if !from.is_empty() => {
                        Default::default()
                    }
                    Err(e) => return Err(e.into()),
                },
                None => Default::default(),
            };
            if list.files.is_empty() && !from.is_empty() {
                // Not in this catalog: read what the discs say about themselves.
                let mut records = Vec::new();
                for s in from {
                    let mut src = discvault::source::open(s)?;
                    records.push(discvault::source::volume_record(src.as_mut())?);
                }
                list = restore::pick_from_records(&records, &sel)?;
            }
            if list.files.is_empty() {
                match &sel {
                    Selection::Pattern(p) => {
                        let hint = match &vault {
                            Some(v) => discvault::locate::locate_versions(v, p, 1, true)?,
                            None => Vec::new(),
                        };
                        match (hint.first(), version) {
                            (Some(f), Some(n)) => anyhow::bail!(
                                "no version {n} of the files matching {p:?} (e.g. {}/{} has v{}; see `discvault locate --all-versions {p:?}`)",
                                f.collection, f.path, f.version
                            ),
                            (Some(_), None) => anyhow::bail!(
                                "nothing matches {p:?} as a path (COLLECTION/PATH or PATH, a prefix of folders) or a glob; `discvault locate {p:?}` finds files containing it: restore those with the pattern '*{p}*'"
                            ),
                            (None, _) => anyhow::bail!("nothing matches {p:?}"),
                        }
                    }
                    Selection::Volume(v) => anyhow::bail!("volume {v} holds no records"),
                }
            }
            if from.is_empty() {
                if cli.json {
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
            let r = restore::restore(
                vault.as_ref(),
                &list,
                &restore::RestoreOptions {
                    to: to.clone(),
                    from: from.clone(),
                    overwrite: *overwrite,
                    keep_special_modes: *keep_special_modes,
                },
                progress.as_ref(),
            )?;
            if cli.json {
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
        Command::Locate {
            query: _,
            barcode: Some(code),
            ..
        } => {
            let v = open()?;
            let a = discvault::locate::locate_barcode(&v, code)?;
            if cli.json {
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
        }
        Command::Locate {
            query,
            limit,
            all_versions,
            ..
        } => {
            let v = open()?;
            let query = query.as_deref().unwrap_or_default();
            let mut found = discvault::locate::locate_versions(
                &v,
                query,
                limit.saturating_add(1),
                *all_versions,
            )?;
            let more = found.len() > *limit;
            found.truncate(*limit);
            if more {
                eprintln!(
                    "more than {limit} files match {query:?}: showing the first {limit} (use --limit N)"
                );
            }
            if cli.json {
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
        Command::Copies(cmd) => {
            let v = open()?;
            let shown: Vec<discvault::copies::CopyView> = match cmd {
                CopiesCmd::Add {
                    volume,
                    roles,
                    medium,
                    brand,
                    batch,
                    place,
                    barcode,
                    rfid,
                    state,
                } => {
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
                        medium: medium.clone(),
                        brand: brand.clone(),
                        batch: batch.clone(),
                        place: place.input(),
                        barcode: barcode.clone(),
                        rfid: rfid.clone(),
                        state: state.clone(),
                    };
                    discvault::copies::add(&v, volume, &o)?
                        .into_iter()
                        .map(|c| discvault::copies::view(&v, c))
                        .collect()
                }
                CopiesCmd::Move { copy, place } => {
                    vec![discvault::copies::view(
                        &v,
                        discvault::copies::move_to(&v, copy, &place.input())?,
                    )]
                }
                CopiesCmd::Mark {
                    copy,
                    state,
                    note,
                    at,
                } => {
                    let at = at.as_deref().map(discvault::parse_date).transpose()?;
                    let c = discvault::copies::mark(&v, copy, state, note, at)?;
                    vec![discvault::copies::view(&v, c)]
                }
                CopiesCmd::List { volume, at } => {
                    let now = match at {
                        Some(a) => discvault::parse_date(a)?,
                        None => discvault::now_unix(),
                    };
                    discvault::copies::list_at(&v, volume.as_deref(), now)?
                }
            };
            if cli.json {
                print_json(&shown)?;
            } else {
                for c in &shown {
                    print_copy(c);
                }
            }
            Ok(0)
        }
        Command::Cabinet(CabinetCmd::Export { cabinet, out }) => {
            let v = open()?;
            // Nothing is written (no empty file left behind) unless the export succeeds.
            let mut csv = Vec::new();
            let map = discvault::cabinet::export(&v, cabinet, &mut csv)?;
            match out {
                Some(p) => {
                    std::fs::write(p, &csv).with_context(|| p.display().to_string())?;
                    if cli.json {
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
        Command::Cabinet(CabinetCmd::Import { file, dry_run }) => {
            let v = open()?;
            let r = discvault::cabinet::import(&v, file, !dry_run)?;
            if cli.json {
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
        Command::Inspect(InspectCmd::Due { at }) => {
            let v = open()?;
            let now = match at {
                Some(a) => discvault::parse_date(a)?,
                None => discvault::now_unix(),
            };
            let pick = discvault::inspect::due(&v, now)?;
            if cli.json {
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
        Command::Quality(QualityCmd::Import { file }) => {
            let v = open()?;
            let graded = discvault::quality::import(&v, file)?;
            if cli.json {
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
        Command::Report { format, out } => {
            let v = open()?;
            let r = discvault::report::build(&v, discvault::now_unix())?;
            let text = match format.as_str() {
                "json" => serde_json::to_string_pretty(&r)? + "\n",
                "html" => discvault::report::html(&r),
                "pdf" => {
                    let Some(p) = out else {
                        anyhow::bail!("--format pdf writes a file: give --out FILE");
                    };
                    discvault::report::pdf(
                        &discvault::report::html(&r),
                        &v.config.report.browser,
                        p,
                    )?;
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
        Command::Catalog(CatalogCmd::Copy { to, switch }) => {
            let v = open()?;
            let r = v.copy_catalog(to, *switch, progress.as_ref())?;
            if cli.json {
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
        Command::Log(LogCmd::Verify) => {
            let v = open()?;
            let r = v.catalog.verify_chain()?;
            if cli.json {
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
        Command::Log(LogCmd::Export { premis: _, out }) => {
            let v = open()?;
            let events = v.catalog.event_records()?;
            let volumes: Vec<String> = v
                .catalog
                .volumes()?
                .into_iter()
                .map(|x| x.volume_id)
                .collect();
            let xml = discvault::catalog::events::premis_xml(
                &v.root.display().to_string(),
                &volumes,
                &events,
            );
            match out {
                Some(p) => std::fs::write(p, xml).with_context(|| p.display().to_string())?,
                None => print!("{xml}"),
            }
            Ok(0)
        }
        Command::Check => {
            let v = open()?;
            let r = discvault::check::check(&v)?;
            if cli.json {
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
        Command::Status => {
            let v = open()?;
            let s = discvault::status::status(&v)?;
            if cli.json {
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
        Command::Archive {
            paths,
            plan,
            out,
            args,
        } => {
            let r = discvault::archive::archive(
                &cli.vault,
                paths,
                &discvault::archive::ArchiveOptions {
                    add: add_options(args)?,
                    plan: plan.options(),
                    out: out.clone(),
                    catalog: cli.catalog.clone(),
                },
                progress.as_ref(),
            )?;
            if cli.json {
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
    }
}

/// The error's message with its causes, each cause left out when the message before it
/// already says it (our errors carry their I/O cause in their own text).
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let c = cause.to_string();
        if !text.contains(&c) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&c);
        }
    }
    text
}

/// Exit code and kind of an error: the library's when it is one of its errors.
fn error_code(e: &anyhow::Error) -> (i32, &'static str) {
    match e.downcast_ref::<discvault::Error>() {
        Some(d) => (d.exit_code(), d.kind()),
        None => (1, "error"),
    }
}

fn main() {
    // A closed pipe (`discvault locate x | head -1`) ends the command quietly, as it ends other
    // Unix tools, instead of a panic on the next write to standard output.
    #[cfg(unix)]
    // SAFETY: resetting a signal's disposition to its default before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            let (code, kind) = error_code(&e);
            let text = error_text(&e);
            if json {
                eprintln!(
                    "{}",
                    serde_json::json!({"error": text, "kind": kind, "exit_code": code})
                );
            } else {
                eprintln!("discvault: error: {text}");
            }
            std::process::exit(code);
        }
    }
}
