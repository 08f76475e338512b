//! A vault: a directory with the configuration, the catalog and the staging area.

use crate::catalog::Catalog;
use crate::config::{Config, CONFIG_FILE, DEFAULT_CONFIG_TEXT};
use crate::error::IoContext;
use crate::progress::Progress;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

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

fn read_holder(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(t) if !t.trim().is_empty() => t.trim().to_string(),
        _ => "held by another process".into(),
    }
}

/// The vault held by this process (see [`Vault::lock`]); let go when the last holder drops.
pub struct VaultLock<'a> {
    vault: &'a Vault,
}

impl Drop for VaultLock<'_> {
    fn drop(&mut self) {
        let mut held = self.vault.lock.lock().unwrap_or_else(|e| e.into_inner());
        held.1 = held.1.saturating_sub(1);
        if held.1 == 0 {
            if let Some(f) = held.0.take() {
                let _ = self.vault.catalog.let_go_shared_lock();
                let _ = f.set_len(0);
                // Closing the file lets the lock go.
                drop(f);
            }
        }
    }
}

pub struct Vault {
    /// The held lock of this process on the vault, and how many callers hold it.
    lock: std::sync::Mutex<(Option<std::fs::File>, u32)>,
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
            lock: Default::default(),
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

    /// Takes the vault for an operation that changes the catalog (`operation` names it for
    /// whoever waits): commands of other processes that change it wait for it, up to
    /// `vault.lock_wait_seconds`, then fail with [`Error::Busy`] naming the holder. Taken again
    /// by the same process (an operation made of others, as `archive`), it is shared.
    pub fn lock(&self, operation: &str, progress: &dyn Progress) -> Result<VaultLock<'_>> {
        let mut held = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if held.0.is_some() {
            held.1 += 1;
            return Ok(VaultLock { vault: self });
        }
        let path = self.root.join(LOCK_FILE);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .at(&path)?;
        let deadline = std::time::Instant::now()
            + std::time::Duration::from_secs(self.config.vault.lock_wait_seconds);
        let mut told = false;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {
                    let holder = read_holder(&path);
                    if std::time::Instant::now() >= deadline {
                        return Err(Error::Busy {
                            path: self.root.clone(),
                            holder,
                        });
                    }
                    if !told {
                        progress.note(&format!(
                            "vault {} is busy ({holder}); waiting for it",
                            self.root.display()
                        ));
                        told = true;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::Io { path, source: e }),
            }
        }
        use std::io::{Seek, Write};
        let since = crate::rfc3339(crate::now_unix());
        let text = format!("pid {}: {operation}, since {since}\n", std::process::id());
        // A catalog shared by several stations (PostgreSQL) is taken too, by whoever holds it
        // on any station; the time waited for this station's lock counts.
        let station = format!(
            "{} on {}, pid {}: {operation}, since {since}",
            self.root.display(),
            host_name(),
            std::process::id()
        );
        let wait = deadline.saturating_duration_since(std::time::Instant::now());
        if !self.catalog.take_shared_lock(&station, wait, &|holder| {
            progress.note(&format!("the catalog is busy ({holder}); waiting for it"))
        })? {
            return Err(Error::Busy {
                path: self.root.clone(),
                holder: self.catalog.shared_lock_holder()?,
            });
        }
        file.set_len(0)
            .and_then(|_| file.seek(std::io::SeekFrom::Start(0)))
            .and_then(|_| file.write_all(text.as_bytes()))
            .at(&path)?;
        *held = (Some(file), 1);
        Ok(VaultLock { vault: self })
    }

    /// Name of a temporary file or folder of this vault's in a folder shared with others (an
    /// output folder): `.discvault-<vault id>-<what>`, where `what` is short (a volume id),
    /// never a record's name. [`Vault::remove_litter`] removes what a killed run left.
    pub fn work_name(&self, what: &str) -> String {
        format!(".discvault-{}-{what}", &self.id[..8.min(self.id.len())])
    }

    /// Removes the temporary files and folders an interrupted run of this vault left in `dir`
    /// (see [`Vault::work_name`]). Only under the vault's lock: no run of this vault is
    /// writing them then.
    pub fn remove_litter(&self, dir: &Path, _lock: &VaultLock) -> Result<()> {
        let prefix = self.work_name("");
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(());
        };
        for e in entries {
            let e = e.at(dir)?;
            let name = e.file_name();
            if !name.as_encoded_bytes().starts_with(prefix.as_bytes()) {
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
