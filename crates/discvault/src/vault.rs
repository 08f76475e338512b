//! A vault: a directory with the configuration, the catalog and the staging area.

use crate::catalog::Catalog;
use crate::config::{Config, CONFIG_FILE, DEFAULT_CONFIG_TEXT};
use crate::error::IoContext;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

pub struct Vault {
    pub root: PathBuf,
    pub config: Config,
    pub catalog: Catalog,
}

impl Vault {
    /// Creates a vault in `dir` (which may exist, but must hold no vault yet).
    pub fn init(dir: &Path) -> Result<Vault> {
        let cfg = dir.join(CONFIG_FILE);
        if cfg.exists() {
            return Err(Error::Invalid {
                field: "vault".into(),
                detail: format!("{} already holds a vault", dir.display()),
            });
        }
        std::fs::create_dir_all(dir).at(dir)?;
        std::fs::write(&cfg, DEFAULT_CONFIG_TEXT).at(&cfg)?;
        let v = Vault::open(dir)?;
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
        let cfg = dir.join(CONFIG_FILE);
        if !cfg.is_file() {
            return Err(Error::NoVault(dir.to_path_buf()));
        }
        let config = Config::load(&cfg)?;
        let root = dir.canonicalize().at(dir)?;
        let catalog = Catalog::open(&config.catalog.url, &root)?;
        catalog.set_due_rule(&crate::inspect::interval_sql(&config.inspection))?;
        Ok(Vault {
            root,
            config,
            catalog,
        })
    }

    /// Opens the vault in `dir`, creating it first if there is none.
    pub fn open_or_init(dir: &Path) -> Result<(Vault, bool)> {
        if dir.join(CONFIG_FILE).is_file() {
            Ok((Vault::open(dir)?, false))
        } else {
            Ok((Vault::init(dir)?, true))
        }
    }

    /// Where `--copy` stages records, content-addressed by sha256.
    pub fn staging_dir(&self) -> PathBuf {
        self.root.join("staging")
    }
}
