//! The command line: its arguments and subcommands.
//!
//! Where a command's options are the library's option struct, it is flattened in as it is
//! (`discvault` built with its `clap` feature derives `clap::Args` on them, as rustic_core
//! does; the help texts are the fields' doc comments). Only what the command takes as text
//! and the library as a value stays here: `--meta KEY=VALUE` and `--hash`, dates (`--at`), the
//! comma separated `--roles` of `copies add`, and the label's subject and format.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use discvault::copies::{AddCopiesOptions, PlaceInput};
use discvault::digest::HashAlg;
use discvault::ingest::AddOptions;
use discvault::master::MasterOptions;
use discvault::migrate::MigrateOptions;
use discvault::plan::PlanOptions;
use discvault::publish::PublishOptions;
use discvault::readback::ReadbackOptions;
use discvault::repair::RepairOptions;
use discvault::restore::RestoreOptions;
use discvault::verify::VerifyOptions;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "discvault", version, about = "Archival storage on optical discs", long_about = None)]
pub struct Cli {
    /// Vault directory (else $DISCVAULT_VAULT, else ./vault).
    #[arg(long, global = true, env = "DISCVAULT_VAULT", default_value = "vault")]
    pub vault: PathBuf,
    /// The catalog: sqlite:PATH or postgres://USER@HOST[:PORT]/DATABASE (password from
    /// PGPASSWORD). Else $DISCVAULT_CATALOG, else [catalog] url in the vault's discvault.toml;
    /// `init` writes it there.
    #[arg(long, global = true, env = "DISCVAULT_CATALOG", value_name = "URL")]
    pub catalog: Option<String>,
    /// Print the result as JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bars.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// How to add: the library's options, and the two it takes as values rather than text.
#[derive(clap::Args, Clone)]
pub struct AddArgs {
    #[command(flatten)]
    pub options: AddOptions,
    /// Collection metadata: fonds=, series=, retention=, or any KEY=VALUE (repeatable).
    #[arg(long = "meta", value_name = "KEY=VALUE")]
    pub meta: Vec<String>,
    /// Digests to compute: sha256 (always), sm3, md5, blake3, comma separated.
    #[arg(long = "hash", value_name = "ALGS")]
    pub hash: Option<String>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create a vault: configuration and catalog.
    Init,
    /// Add records: walk, hash, and record them in the catalog.
    Add(AddCmd),
    /// Pack every unplanned file into volumes.
    Plan(PlanCmd),
    /// Write one ISO image per planned volume.
    Master(MasterOptions),
    /// Check images or mounted discs against the catalog.
    Verify(VerifyCmd),
    /// Read a disc back (返读) into DIR/<volume id>: every file checked against the catalog while
    /// it is copied; damaged files are named and not written.
    Readback(ReadbackCmd),
    /// Rebuild a volume's image, identical to the one mastered, from damaged copies: intact
    /// records, readable sectors of several copies, and the discs' PAR2 recovery data.
    Repair(RepairCmd),
    /// Rewrite failing or obsolete volumes: new copies of damaged ones, old media and small
    /// discs remastered onto new volumes, read from the healthiest copies.
    Migrate(MigrateCmd),
    /// Burn copies of volumes on a target, read each back and verify it before it counts.
    /// A rerun resumes the open jobs.
    Publish(PublishOptions),
    /// Publishing jobs and the state of their copies; or cancel one.
    Jobs(JobsCmd),
    /// Run a simulated disc publisher on a hot folder (Epson TD Bridge or Primera PTBurn):
    /// it takes jobs through the documented states and status files and "burns" discs into
    /// FOLDER/Simulator. Control it with FOLDER/simulator-control.txt (blanks, fail_discs,
    /// damage_discs, paused). Runs until stopped.
    Simulate(SimulateCmd),
    /// Render the label of a disc face (or its case spine) for a volume, a copy or a barcode,
    /// or a sheet of cabinet slot labels.
    Label(LabelCmd),
    /// Restore files from images or mounted discs.
    Restore(RestoreCmd),
    /// Find files by path, digest or metadata (KEY=VALUE), or a disc by its barcode.
    Locate(LocateCmd),
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
    Report(ReportCmd),
    /// The preservation policy in force (trusted copies and sites each volume needs); set it
    /// in the catalog, the same for every station, or go back to discvault.toml's.
    #[command(subcommand)]
    Policy(PolicyCmd),
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
    Archive(ArchiveCmd),
    /// Run the HTTP API (for records-management systems and the web UI) over this vault's
    /// catalog until stopped (SIGINT or SIGTERM). Prints `listening on http://ADDR` once ready.
    Serve(ServeCmd),
    /// Run the tasks the server queued (add, plan, master), on this station: one task at a
    /// time, claimed so that no other worker runs it; until stopped.
    Worker(WorkerCmd),
    /// The server's users and their roles (admin, archivist, operator, auditor).
    #[command(subcommand)]
    User(UserCmd),
    /// The server's tokens: `Authorization: Bearer <token>` for records systems.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Webhooks: records systems told of volumes mastered, copies verified, damage found,
    /// inspections due and jobs failed, by signed POSTs that `discvault serve` sends.
    #[command(subcommand)]
    Webhook(WebhookCmd),
}

#[derive(Subcommand)]
pub enum WebhookCmd {
    /// Subscribe a URL; prints the secret that signs its messages, once.
    Add {
        /// An http:// or https:// URL.
        url: String,
        /// What it is told of, comma separated: volume.mastered, copy.verified, damage.found,
        /// inspection.due, job.failed (default: all).
        #[arg(long, value_delimiter = ',')]
        events: Vec<String>,
        /// Read the secret from the first line of standard input (default: a random one).
        #[arg(long)]
        secret_stdin: bool,
    },
    /// Every webhook, removed ones too.
    List,
    /// Remove a webhook: nothing more is sent to it; its delivery log is kept.
    Remove { webhook: String },
    /// A webhook's delivery log, newest first.
    Deliveries {
        webhook: String,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

#[derive(clap::Args)]
pub struct ServeCmd {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Catalog connections for requests at once.
    #[arg(long, default_value_t = 8)]
    pub connections: usize,
    /// Workers running tasks (add, plan, master) inside the server (default: [server] workers
    /// of discvault.toml, 1; 0: none, tasks are left to `discvault worker`).
    #[arg(long)]
    pub workers: Option<usize>,
}

#[derive(clap::Args)]
pub struct WorkerCmd {
    /// Run the queued tasks, then stop (instead of waiting for new ones until SIGINT/SIGTERM).
    #[arg(long)]
    pub until_idle: bool,
}

#[derive(Subcommand)]
pub enum UserCmd {
    /// Add a user with a role; with --password-stdin, the first line of standard input is
    /// its password (for the web UI's login; records systems use tokens).
    Add {
        name: String,
        /// admin, archivist (ingest, plan, master, restore), operator (publish, copies,
        /// cabinets, inspections) or auditor (reads everything, changes nothing).
        #[arg(long)]
        role: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Every user, their role and whether they are disabled.
    List,
    /// Disable a user: their tokens and password let no one in.
    Disable { name: String },
    /// Enable a disabled user again.
    Enable { name: String },
    /// Set a user's password from the first line of standard input (at least 8 characters);
    /// the user's browser sessions end.
    Password { name: String },
    /// The log of logins: browser sessions, newest first (of one user).
    Sessions {
        name: Option<String>,
        /// Sessions shown at most.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

#[derive(Subcommand)]
pub enum TokenCmd {
    /// Make a token for a user; it is printed once and kept nowhere (the catalog holds its
    /// SHA-256).
    Create {
        #[arg(long)]
        user: String,
        /// Days until it expires (default: never; revoke it).
        #[arg(long, value_name = "N")]
        expires_days: Option<u32>,
        /// What it may be used for, within the user's role: read, archive, operate,
        /// administer (comma-separated or repeated; default: all the role may).
        #[arg(long, value_delimiter = ',')]
        scope: Vec<String>,
    },
    /// Every token (of one user): handle, user, dates; never the secret.
    List {
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a token by its handle (the 8 hex digits after `dvt_`) or the token itself.
    Revoke { token: String },
}

#[derive(clap::Args)]
pub struct AddCmd {
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub args: AddArgs,
}

#[derive(clap::Args)]
pub struct PlanCmd {
    #[command(flatten)]
    pub plan: PlanOptions,
    /// Show the plan without recording it.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(clap::Args)]
pub struct VerifyCmd {
    /// Image files, pseudo drives, block devices (optical drives) or mounted discs.
    #[arg(required = true)]
    pub sources: Vec<PathBuf>,
    /// The source is this copy (id, barcode or RFID): record the result against it.
    #[arg(long)]
    pub copy: Option<String>,
    #[command(flatten)]
    pub read: VerifyOptions,
}

#[derive(clap::Args)]
pub struct ReadbackCmd {
    /// An image file, a pseudo drive, a block device (optical drive) or a mounted disc.
    pub source: PathBuf,
    #[command(flatten)]
    pub options: ReadbackOptions,
}

#[derive(clap::Args)]
pub struct RepairCmd {
    #[command(flatten)]
    pub options: RepairOptions,
    /// Say what can be repaired from what; write no image.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(clap::Args)]
pub struct MigrateCmd {
    /// Show what would be done and which discs are needed; write nothing.
    #[arg(long, visible_alias = "dry-run")]
    pub plan: bool,
    #[command(flatten)]
    pub options: MigrateOptions,
    /// Images, drives or mounted discs of the volumes to read (see --plan).
    #[arg(long, num_args = 1..)]
    pub from: Vec<PathBuf>,
    /// Where the new images are written.
    #[arg(long, required_unless_present = "plan")]
    pub out: Option<PathBuf>,
    /// Judge trust at this date (YYYY-MM-DD) instead of now.
    #[arg(long)]
    pub at: Option<String>,
}

#[derive(clap::Args)]
pub struct JobsCmd {
    /// Cancel this job: its copies not done are cancelled, burns under way are stopped.
    #[arg(long)]
    pub cancel: Option<String>,
}

#[derive(clap::Args)]
pub struct SimulateCmd {
    /// tdbridge or ptburn.
    #[arg(value_parser = ["tdbridge", "ptburn"])]
    pub kind: String,
    pub folder: PathBuf,
    /// Seconds to burn one disc.
    #[arg(long, default_value_t = 2.0)]
    pub disc_seconds: f64,
    /// The publisher's name in the status files.
    #[arg(long, default_value = "Disc Publisher SIM")]
    pub name: String,
    /// Windows code page of the files.
    #[arg(long, default_value = "gbk")]
    pub code_page: String,
}

#[derive(clap::Args)]
pub struct LabelCmd {
    /// Volume id, copy id, barcode or RFID tag.
    #[arg(required_unless_present_any = ["slots", "list_templates"])]
    pub key: Option<String>,
    /// List the templates one may choose (--json: as the API's `GET /api/v1/labels/templates`).
    #[arg(long, conflicts_with_all = ["key", "slots", "template", "out"])]
    pub list_templates: bool,
    /// The spine of the disc's case instead of its face.
    #[arg(long)]
    pub spine: bool,
    /// Slot labels of every copy in this cabinet ("*": all placed copies), as PDF.
    #[arg(long, conflicts_with_all = ["key", "spine"])]
    pub slots: Option<String>,
    /// svg, png (at label.dpi), pdf (vector, fonts embedded), jpg or bmp (default: from the
    /// extension of --out).
    #[arg(long)]
    pub format: Option<String>,
    /// The template: a name (see --list-templates; default: label.face_template,
    /// spine_template or slot_template), or an SVG file of one's own with merge fields, given
    /// as a path with a "/" or ending in ".svg" (see docs/LABELS.md).
    #[arg(long)]
    pub template: Option<String>,
    #[arg(long, required_unless_present = "list_templates")]
    pub out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct RestoreCmd {
    /// Files to restore: a path prefix or a glob over collection/path.
    pub pattern: Option<String>,
    /// Restore every file of this volume.
    #[arg(long)]
    pub volume: Option<String>,
    #[command(flatten)]
    pub options: RestoreOptions,
    /// Restore this version of each file matched (see `locate --all-versions`).
    #[arg(long)]
    pub version: Option<i64>,
}

#[derive(clap::Args)]
pub struct LocateCmd {
    #[arg(required_unless_present = "barcode")]
    pub query: Option<String>,
    /// Find the copy with this barcode (or copy id, or RFID tag id).
    #[arg(long, conflicts_with = "query")]
    pub barcode: Option<String>,
    /// At most this many files (the command says when there are more).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Every version of each file, not only the current one.
    #[arg(long)]
    pub all_versions: bool,
}

#[derive(clap::Args)]
pub struct ReportCmd {
    /// json, html or pdf (printed by a headless Chromium; needs --out). Default: html, or
    /// json with --json.
    #[arg(long)]
    pub format: Option<String>,
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct ArchiveCmd {
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub plan: PlanOptions,
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub args: AddArgs,
}

#[derive(Subcommand)]
pub enum CopiesCmd {
    /// Register copies of a volume, one per role (default: the configured sealed, access, offsite).
    Add(CopiesAdd),
    /// Move a copy (id, barcode or RFID) to another place; its slot must be free. Parts given by
    /// name replace those parts and clear the finer ones not given (--cabinet B forgets the
    /// shelf and slot), the coarser ones are kept.
    Move(CopiesMove),
    /// Mark a copy: planned, written, verified, missing, damaged, retired. `verified` records
    /// a clean read-back done earlier (a past inspection) and needs its date, --at.
    Mark(CopiesMark),
    /// List copies (of one volume), in the order of their places.
    List(CopiesList),
}

#[derive(clap::Args)]
pub struct CopiesAdd {
    pub volume: String,
    /// Roles, comma separated (e.g. sealed,access,offsite).
    #[arg(long)]
    pub roles: Option<String>,
    #[command(flatten)]
    pub options: AddCopiesOptions,
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("to").required(true).multiple(true).args(["place", "site", "room", "cabinet", "shelf", "slot"])))]
pub struct CopiesMove {
    pub copy: String,
    #[command(flatten)]
    pub place: PlaceInput,
}

#[derive(clap::Args)]
pub struct CopiesMark {
    pub copy: String,
    #[arg(long)]
    pub state: String,
    #[arg(long, default_value = "")]
    pub note: String,
    /// Date of the check, for results of past inspections (YYYY-MM-DD); required with
    /// --state verified.
    #[arg(long)]
    pub at: Option<String>,
}

#[derive(clap::Args)]
pub struct CopiesList {
    #[arg(long)]
    pub volume: Option<String>,
    /// Judge trust at this date instead of today (YYYY-MM-DD).
    #[arg(long)]
    pub at: Option<String>,
}

#[derive(Subcommand)]
pub enum CabinetCmd {
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
pub enum InspectCmd {
    /// The pick list of copies to check now, in the order of their places.
    Due {
        /// Plan the round for this date instead of today (YYYY-MM-DD).
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum QualityCmd {
    /// Import measurements (CSV: copy,measured_at,metric,value) and grade the copies.
    Import { file: PathBuf },
}

#[derive(Subcommand)]
pub enum PolicyCmd {
    /// The policy in force, and whether it is the catalog's or discvault.toml's.
    Show,
    /// Change the policy in force and keep it in the catalog: the general rule, or with
    /// --collection one collection's (what is not given stays as it is).
    Set {
        /// Trusted copies each mastered volume needs.
        #[arg(long)]
        min_copies: Option<u32>,
        /// Sites its trusted copies must be kept in.
        #[arg(long)]
        min_sites: Option<u32>,
        /// The rule of this collection instead of the general one.
        #[arg(long)]
        collection: Option<String>,
        /// With --collection: the collection follows the general rule again.
        #[arg(long, requires = "collection", conflicts_with_all = ["min_copies", "min_sites"])]
        general: bool,
    },
    /// Remove the catalog's policy: each station follows its discvault.toml again.
    Reset,
}

#[derive(Subcommand)]
pub enum CatalogCmd {
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
pub enum LogCmd {
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

pub fn add_options(a: &AddArgs) -> Result<AddOptions> {
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
        metadata,
        digests,
        ..a.options.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// clap's own checks of the whole command line: the library's flattened options and the
    /// command's flags have unique names, and every `conflicts_with` and group names real
    /// arguments.
    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_reach_the_library_options() {
        let cli = Cli::try_parse_from([
            "discvault",
            "verify",
            "a.iso",
            "--digest",
            "blake3",
            "--retries",
            "5",
            "--time-limit",
            "1.5",
            "--resume",
        ])
        .unwrap();
        let Command::Verify(v) = cli.command else {
            panic!("not verify")
        };
        assert_eq!(v.read.digest, HashAlg::Blake3);
        assert_eq!(v.read.scan.retries, 5);
        assert_eq!(
            v.read.scan.time_limit,
            Some(std::time::Duration::from_millis(1500))
        );
        assert!(v.read.resume);
        assert!(Cli::try_parse_from(["discvault", "verify", "a", "--time-limit=-1"]).is_err());

        let cli = Cli::try_parse_from([
            "discvault",
            "plan",
            "--media",
            "cd74",
            "--reserve",
            "5",
            "--redundancy",
            "0",
            "--parity-group",
            "4",
        ])
        .unwrap();
        let Command::Plan(p) = cli.command else {
            panic!("not plan")
        };
        assert_eq!(p.plan.media.as_deref(), Some("cd74"));
        assert_eq!(p.plan.reserve_percent, Some(5.0));
        assert_eq!(p.plan.redundancy_percent, Some(0.0));
        assert_eq!(p.plan.parity_group, Some(4));

        let cli = Cli::try_parse_from([
            "discvault",
            "publish",
            "V1",
            "--to",
            "images:d",
            "--roles",
            "a,b",
        ])
        .unwrap();
        let Command::Publish(o) = cli.command else {
            panic!("not publish")
        };
        assert_eq!(o.target, "images:d");
        assert_eq!(o.roles, ["a", "b"]);
        assert_eq!(o.attempts, 3);
    }
}
