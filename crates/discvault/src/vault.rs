//! A vault: a directory with the configuration, the catalog and the staging area.

use crate::catalog::Catalog;
use crate::config::{Config, CONFIG_FILE, DEFAULT_CONFIG_TEXT};
use crate::error::IoContext;
use crate::progress::Progress;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

pub mod lock;
pub use lock::{volume_claim, Claim, VaultLock};

/// The lock file in the vault: held (flock) by the process changing the catalog, and holding
/// its description for those who wait.
pub const LOCK_FILE: &str = "lock";

/// This machine's name, for the holder of a shared catalog.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "this host".into())
}

pub struct Vault {
    /// What this process holds of the vault (see [`lock`]).
    holds: std::sync::Mutex<lock::Holds>,
    pub root: PathBuf,
    /// The vault's identity, carried by its discs (see [`Catalog::vault_id`]).
    pub id: String,
    pub config: Config,
    pub catalog: Catalog,
}

impl Vault {
    /// Creates a vault in `dir` (which may exist, but must hold no vault yet), its catalog in
    /// `catalog.sqlite` there.
    pub fn init(dir: &Path) -> Result<Vault> {
        Vault::init_with(dir, None)
    }

    /// Creates a vault in `dir` (which may exist, but must hold no vault yet) on the catalog at
    /// `catalog` (`sqlite:PATH`, `postgres://USER@HOST[:PORT]/DB`; default: SQLite in the
    /// vault), written into its discvault.toml. A PostgreSQL catalog may already hold the
    /// vault's records: the folder is then one more station of that vault.
    pub fn init_with(dir: &Path, catalog: Option<&str>) -> Result<Vault> {
        let cfg = dir.join(CONFIG_FILE);
        if cfg.exists() {
            return Err(Error::Invalid {
                field: "vault".into(),
                detail: format!("{} already holds a vault", dir.display()),
            });
        }
        let text = match catalog {
            None => DEFAULT_CONFIG_TEXT.to_string(),
            Some(url) => crate::config::with_catalog_url(url)?,
        };
        std::fs::create_dir_all(dir).at(dir)?;
        std::fs::write(&cfg, text).at(&cfg)?;
        let v = match Vault::open(dir) {
            Ok(v) => v,
            Err(e) => {
                // Nothing half-made stays behind: the folder holds no vault, as before.
                let _ = std::fs::remove_file(&cfg);
                return Err(e);
            }
        };
        v.catalog.add_event(
            "creation",
            "success",
            &format!("vault created at {}", dir.display()),
            None,
        )?;
        Ok(v)
    }

    /// Opens the vault in `dir`.
    pub fn open(dir: &Path) -> Result<Vault> {
        Vault::open_with(dir, None)
    }

    /// Opens the vault in `dir`, on the catalog at `catalog` instead of the one its
    /// discvault.toml names, if given.
    pub fn open_with(dir: &Path, catalog: Option<&str>) -> Result<Vault> {
        let cfg = dir.join(CONFIG_FILE);
        if !cfg.is_file() {
            return Err(Error::NoVault(dir.to_path_buf()));
        }
        let mut config = Config::load(&cfg)?;
        if let Some(url) = catalog {
            config.catalog.url = url.to_string();
        }
        let root = dir.canonicalize().at(dir)?;
        let catalog = Catalog::open(&config.catalog.url, &root)?;
        catalog.set_due_rule(&crate::catalog::copies::interval_sql(&config.inspection))?;
        let id = catalog.vault_id()?;
        Ok(Vault {
            holds: Default::default(),
            root,
            id,
            config,
            catalog,
        })
    }

    /// Opens the vault in `dir`, creating it first if there is none.
    pub fn open_or_init(dir: &Path) -> Result<(Vault, bool)> {
        Vault::open_or_init_with(dir, None)
    }

    /// [`Vault::open_or_init`] on the catalog at `catalog`, if given (see [`Vault::init_with`]).
    pub fn open_or_init_with(dir: &Path, catalog: Option<&str>) -> Result<(Vault, bool)> {
        if dir.join(CONFIG_FILE).is_file() {
            Ok((Vault::open_with(dir, catalog)?, false))
        } else {
            Ok((Vault::init_with(dir, catalog)?, true))
        }
    }

    /// Copies the vault's catalog into the empty catalog at `to` (`postgres://...` when the
    /// archive grows to several stations, `sqlite:PATH` for a single PC), checked afterwards
    /// (see [`Catalog::copy_to`]). With `switch`, the vault's discvault.toml then names the new
    /// catalog; the old one is left as it was.
    pub fn copy_catalog(
        &self,
        to: &str,
        switch: bool,
        progress: &dyn Progress,
    ) -> Result<crate::catalog::transfer::TransferReport> {
        let _lock = self.lock("catalog copy", progress)?;
        if to == self.config.catalog.url {
            return Err(Error::Invalid {
                field: "--to".into(),
                detail: format!("{to:?} is this vault's catalog already"),
            });
        }
        let target = Catalog::open(to, &self.root)?;
        let report = self.catalog.copy_to(&target)?;
        if switch {
            let cfg = self.root.join(CONFIG_FILE);
            let text = std::fs::read_to_string(&cfg).at(&cfg)?;
            let new = crate::config::set_catalog_url(&text, to)?;
            let tmp = self.root.join(".discvault.toml.new");
            std::fs::write(&tmp, new).at(&tmp)?;
            std::fs::rename(&tmp, &cfg).at(&cfg)?;
        }
        Ok(report)
    }

    /// Name of a temporary file or folder of this vault's in a folder shared with others (an
    /// output folder): `.discvault-<vault id>-<what>`, where `what` is short (a volume id),
    /// never a record's name. [`Vault::remove_litter`] removes what a killed run left.
    pub fn work_name(&self, what: &str) -> String {
        format!(".discvault-{}-{what}", &self.id[..8.min(self.id.len())])
    }

    /// Removes the temporary files and folders an interrupted run of this vault left in `dir`
    /// for the volume `volume_id` (see [`Vault::work_name`]: the volume's image being written,
    /// its repair's work). Only under the volume's claim: no run of this vault is writing
    /// them then.
    pub fn remove_litter(&self, dir: &Path, volume_id: &str, _claim: &Claim) -> Result<()> {
        let prefixes = [
            self.work_name(&format!("{volume_id}.")),
            self.work_name(&format!("repair-{volume_id}.")),
        ];
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(());
        };
        for e in entries {
            let e = e.at(dir)?;
            let name = e.file_name();
            if !prefixes
                .iter()
                .any(|p| name.as_encoded_bytes().starts_with(p.as_bytes()))
            {
                continue;
            }
            let p = e.path();
            let t = e.file_type().at(&p)?;
            if t.is_dir() {
                std::fs::remove_dir_all(&p).at(&p)?;
            } else {
                std::fs::remove_file(&p).at(&p)?;
            }
        }
        Ok(())
    }

    /// Where `--copy` stages records, content-addressed by sha256.
    pub fn staging_dir(&self) -> PathBuf {
        self.root.join("staging")
    }
}
