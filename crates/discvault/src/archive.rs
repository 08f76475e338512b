//! The one-shot main job: init if needed, add, plan, master, verify the images.

use crate::ingest::{self, AddOptions, AddReport};
use crate::master::{self, MasterOptions, MasteredImage};
use crate::plan::{self, PlanOptions, VolumePlan};
use crate::progress::{Message, Progress};
use crate::verify::VerifyReport;
use crate::{Result, Vault};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ArchiveOptions {
    pub add: AddOptions,
    pub plan: PlanOptions,
    pub out: PathBuf,
    /// The catalog, when not the one the vault's discvault.toml names (or, for a new vault,
    /// SQLite in the vault): see [`Vault::init_with`].
    pub catalog: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchiveReport {
    /// The vault's folder, in full.
    pub vault: PathBuf,
    pub vault_created: bool,
    pub add: AddReport,
    pub plan: VolumePlan,
    pub images: Vec<MasteredImage>,
    pub verify: Vec<VerifyReport>,
    pub clean: bool,
}

pub fn archive(
    vault_dir: &Path,
    paths: &[PathBuf],
    opts: &ArchiveOptions,
    progress: &dyn Progress,
) -> Result<ArchiveReport> {
    if !vault_dir.join(crate::config::CONFIG_FILE).is_file() {
        progress.note(&Message::CreatingVault {
            path: crate::error::absolute(vault_dir).display().to_string(),
        });
    }
    let (vault, created) = Vault::open_or_init_with(vault_dir, opts.catalog.as_deref())?;
    // One archive run at a time: its plan is made and recorded while it holds the vault.
    let _lock = vault.lock_shared("archive", progress)?;
    let add = ingest::add(&vault, paths, &opts.add, progress)?;
    let p = plan::plan(&vault, &opts.plan)?;
    let volumes = plan::execute(&vault, &p)?;
    let images = master::master(
        &vault,
        &MasterOptions {
            volumes: volumes.iter().map(|v| v.volume_id.clone()).collect(),
            out: opts.out.clone(),
            again: false,
        },
        progress,
    )?;
    let sources: Vec<PathBuf> = images.iter().map(|i| i.image.clone()).collect();
    let reports = crate::orchestrate::verify(&vault, &sources, &Default::default(), progress)?;
    let clean = add.errors.is_empty() && reports.iter().all(|r| r.clean);
    Ok(ArchiveReport {
        vault: vault.root.clone(),
        vault_created: created,
        add,
        plan: p,
        images,
        verify: reports,
        clean,
    })
}
