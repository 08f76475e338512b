//! The handlers of the subcommands, by concern: each calls the library, prints its result
//! (text, or JSON with `--json`) and returns the exit code.

mod accounts;
mod audit;
mod discs;
mod holdings;
mod pipeline;
mod policy;
mod publish;
mod restore;

use crate::cli::{Cli, Command};
use discvault::progress::Progress;
use discvault::Vault;
use std::path::PathBuf;

/// What every handler needs from the global options.
pub struct Ctx {
    pub vault: PathBuf,
    pub catalog: Option<String>,
    pub json: bool,
    pub quiet: bool,
    progress: Box<dyn Progress>,
}

impl Ctx {
    /// Opens the vault.
    pub fn open(&self) -> anyhow::Result<Vault> {
        Vault::open_with(&self.vault, self.catalog.as_deref()).map_err(anyhow::Error::from)
    }

    /// Where long operations report.
    pub fn progress(&self) -> &dyn Progress {
        self.progress.as_ref()
    }
}

/// Runs the command; its exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    let ctx = Ctx {
        progress: crate::progress::for_cli(cli.quiet, cli.json),
        vault: cli.vault,
        catalog: cli.catalog,
        json: cli.json,
        quiet: cli.quiet,
    };
    let ctx = &ctx;
    match &cli.command {
        Command::Init => pipeline::init(ctx),
        Command::Add(a) => pipeline::add(ctx, a),
        Command::Plan(a) => pipeline::plan(ctx, a),
        Command::Master(a) => pipeline::master(ctx, a),
        Command::Verify(a) => discs::verify(ctx, a),
        Command::Readback(a) => discs::readback(ctx, a),
        Command::Repair(a) => discs::repair(ctx, a),
        Command::Migrate(a) => discs::migrate(ctx, a),
        Command::Publish(a) => publish::publish(ctx, a),
        Command::Jobs(a) => publish::jobs(ctx, a),
        Command::Simulate(a) => publish::simulate(ctx, a),
        Command::Label(a) => holdings::label(ctx, a),
        Command::Restore(a) => restore::restore(ctx, a),
        Command::Locate(a) => holdings::locate(ctx, a),
        Command::Copies(c) => holdings::copies(ctx, c),
        Command::Cabinet(c) => holdings::cabinet(ctx, c),
        Command::Inspect(c) => holdings::inspect(ctx, c),
        Command::Quality(c) => holdings::quality(ctx, c),
        Command::Report(a) => holdings::report(ctx, a),
        Command::Policy(c) => policy::policy(ctx, c),
        Command::Log(c) => audit::log(ctx, c),
        Command::Catalog(c) => audit::catalog(ctx, c),
        Command::Status => pipeline::status(ctx),
        Command::Check => pipeline::check(ctx),
        Command::Archive(a) => pipeline::archive(ctx, a),
        Command::Serve(a) => accounts::serve(ctx, a),
        Command::Worker(a) => accounts::worker(ctx, a),
        Command::User(c) => accounts::user(ctx, c),
        Command::Token(c) => accounts::token(ctx, c),
        Command::Webhook(c) => accounts::webhook(ctx, c),
    }
}
