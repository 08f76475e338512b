//! Holds on a vault, for work made of several transactions, by several processes of one PC
//! (the vault's lock files) and several stations on a shared catalog (the catalog's advisory
//! locks, see `catalog::claims`):
//! - the vault lock, held *shared* by every operation that claims what it works on (add, plan,
//!   master, publish, repair, archive) and *whole* by one that changes everything at once
//!   (migrate, a catalog copy);
//! - claims on one thing each: the ingest (adds follow one another), the plan (plans follow one
//!   another), a volume (mastered, published or repaired by one process at a time). So the
//!   ingest PC adds while the PC beside the publisher masters and burns other volumes, and no
//!   volume is worked on twice at once.
//!
//! Every hold is let go when its holder drops it, or when the process ends however it ends
//! (flock, session advisory locks): a killed run blocks nobody.

use super::{host_name, Vault, LOCK_FILE};
use crate::error::IoContext;
use crate::progress::{Message, Progress};
use crate::{Error, Result};
use std::collections::HashMap;
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The folder of the claims' lock files in the vault (SQLite: one PC).
pub const CLAIMS_DIR: &str = "claims";

/// What this process holds of its vault.
#[derive(Default)]
pub(super) struct Holds {
    /// The vault lock file while held, whether whole, and how many callers hold it.
    lock: Option<(File, bool)>,
    count: u32,
    /// Claims held: key → (lock file on SQLite, how many callers hold it).
    claims: HashMap<String, (Option<File>, u32)>,
}

/// The vault held by this process (see [`Vault::lock`]); let go when the last holder drops.
pub struct VaultLock<'a> {
    vault: &'a Vault,
}

impl Drop for VaultLock<'_> {
    fn drop(&mut self) {
        let mut held = self.vault.holds.lock().unwrap_or_else(|e| e.into_inner());
        held.count = held.count.saturating_sub(1);
        if held.count == 0 {
            if let Some((f, whole)) = held.lock.take() {
                let _ = self.vault.catalog.let_go_shared_lock(whole);
                if whole {
                    let _ = f.set_len(0);
                }
                // Closing the file lets the lock go.
                drop(f);
            }
        }
    }
}

/// A claim of this process on one thing (see [`Vault::claim`]); let go when dropped.
pub struct Claim<'a> {
    key: String,
    // Dropped after the claim itself (fields drop in order).
    _lock: VaultLock<'a>,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        let vault = self._lock.vault;
        let mut held = vault.holds.lock().unwrap_or_else(|e| e.into_inner());
        let last = match held.claims.get_mut(&self.key) {
            Some(c) => {
                c.1 = c.1.saturating_sub(1);
                c.1 == 0
            }
            None => false,
        };
        if last {
            if let Some((file, _)) = held.claims.remove(&self.key) {
                let _ = vault.catalog.let_go_claim(&self.key);
                if let Some(f) = file {
                    let _ = f.set_len(0);
                }
            }
        }
    }
}

/// The claim on a volume (mastering, publishing, repairing it).
pub fn volume_claim(volume_id: &str) -> String {
    format!("volume {volume_id}")
}

fn read_holder(path: &Path) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(t) if !t.trim().is_empty() => Some(t.trim().to_string()),
        _ => None,
    }
}

fn write_holder(file: &mut File, path: &Path, text: &str) -> Result<()> {
    use std::io::{Seek, Write};
    file.set_len(0)
        .and_then(|_| file.seek(std::io::SeekFrom::Start(0)))
        .and_then(|_| file.write_all(text.as_bytes()))
        .at(path)
}

fn open_lock_file(path: &Path) -> Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .at(path)
}

impl Vault {
    /// This process, for whoever waits for what it holds.
    fn holder_text(&self, operation: &str) -> String {
        format!(
            "{} on {}, pid {}: {operation}, since {}",
            self.root.display(),
            host_name(),
            std::process::id(),
            crate::rfc3339(crate::now_unix())
        )
    }

    fn wait_limit(&self) -> Instant {
        Instant::now() + Duration::from_secs(self.config.vault.lock_wait_seconds)
    }

    /// Takes the whole vault for an operation that changes everything at once (`operation`
    /// names it for whoever waits): it waits for every other holder, and all others wait for
    /// it, up to `vault.lock_wait_seconds`, then fail with [`Error::Busy`] naming the holder.
    /// Taken again by the same process (an operation made of others), it is shared.
    pub fn lock(&self, operation: &str, progress: &dyn Progress) -> Result<VaultLock<'_>> {
        self.hold(operation, true, self.wait_limit(), progress)
    }

    /// Holds the vault beside other processes and stations for an operation that claims what
    /// it works on (see [`Vault::claim`]); waits only for a holder of the whole vault.
    pub fn lock_shared(&self, operation: &str, progress: &dyn Progress) -> Result<VaultLock<'_>> {
        self.hold(operation, false, self.wait_limit(), progress)
    }

    fn hold(
        &self,
        operation: &str,
        whole: bool,
        deadline: Instant,
        progress: &dyn Progress,
    ) -> Result<VaultLock<'_>> {
        let mut held = self.holds.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, held_whole)) = &held.lock {
            if whole && !held_whole {
                return Err(Error::Invalid {
                    field: "vault lock".into(),
                    detail: format!(
                        "{operation} needs the whole vault {} while this process holds it shared (a bug: please report it)",
                        self.root.display()
                    ),
                });
            }
            held.count += 1;
            return Ok(VaultLock { vault: self });
        }
        let path = self.root.join(LOCK_FILE);
        let mut file = open_lock_file(&path)?;
        let mut told = false;
        loop {
            let tried = if whole {
                file.try_lock()
            } else {
                file.try_lock_shared()
            };
            match tried {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    let holder = self.local_holders(&path);
                    if Instant::now() >= deadline {
                        return Err(Error::Busy {
                            path: self.root.clone(),
                            holder,
                        });
                    }
                    if !told {
                        progress.note(&Message::VaultBusy {
                            path: self.root.display().to_string(),
                            holder: holder.clone(),
                        });
                        told = true;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(TryLockError::Error(e)) => return Err(Error::Io { path, source: e }),
            }
        }
        let text = self.holder_text(operation);
        // A catalog shared by several stations (PostgreSQL) is held too, by whoever holds it
        // on any station; the time waited for this station's lock counts.
        let wait = deadline.saturating_duration_since(Instant::now());
        if !self
            .catalog
            .take_shared_lock(&text, whole, wait, &|holder| {
                progress.note(&Message::CatalogBusy {
                    holder: holder.to_string(),
                })
            })?
        {
            return Err(Error::Busy {
                path: self.root.clone(),
                holder: self.catalog.shared_lock_holder()?,
            });
        }
        if whole {
            write_holder(&mut file, &path, &text)?;
        }
        held.lock = Some((file, whole));
        held.count = 1;
        Ok(VaultLock { vault: self })
    }

    /// Who holds this PC's vault lock: the whole vault's holder, or the claims held.
    fn local_holders(&self, lock: &Path) -> String {
        if let Some(t) = read_holder(lock) {
            return t;
        }
        let mut texts: Vec<String> = std::fs::read_dir(self.root.join(CLAIMS_DIR))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let f = File::open(e.path()).ok()?;
                // A claim file nobody holds is what a finished run left: not a holder.
                match f.try_lock_shared() {
                    Ok(()) => None,
                    Err(_) => read_holder(&e.path()),
                }
            })
            .collect();
        texts.sort();
        if texts.is_empty() {
            "held by another process".into()
        } else {
            texts.join("; ")
        }
    }

    fn claim_file(&self, key: &str) -> PathBuf {
        use sha2::Digest;
        let h = sha2::Sha256::digest(key.as_bytes());
        let name: String = h[..8].iter().map(|b| format!("{b:02x}")).collect();
        self.root.join(CLAIMS_DIR).join(name)
    }

    /// Claims `key` (see [`volume_claim`]) for `operation`, holding the vault shared (see
    /// [`Vault::lock_shared`]). With `wait`, waits for another holder up to
    /// `vault.lock_wait_seconds`, then fails with [`Error::Busy`] naming it; without, returns
    /// `Err(holder)` at once when another process or station holds it. Claimed again by the
    /// same process, it is shared.
    pub fn claim(
        &self,
        key: &str,
        operation: &str,
        wait: bool,
        progress: &dyn Progress,
    ) -> Result<std::result::Result<Claim<'_>, String>> {
        let deadline = self.wait_limit();
        let lock = self.hold(operation, false, deadline, progress)?;
        let text = self.holder_text(operation);
        let path = self.claim_file(key);
        let mut told = false;
        loop {
            // Not held while waiting: other threads of this process let go meanwhile.
            let mut held = self.holds.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(c) = held.claims.get_mut(key) {
                c.1 += 1;
                return Ok(Ok(Claim {
                    key: key.to_string(),
                    _lock: lock,
                }));
            }
            let (taken, file, holder) =
                if self.catalog.dialect() == crate::catalog::Dialect::Postgres {
                    let taken = self.catalog.try_claim(key, &text)?;
                    let holder = if taken {
                        String::new()
                    } else {
                        self.catalog.claim_holder(key)?
                    };
                    (taken, None, holder)
                } else {
                    let dir = self.root.join(CLAIMS_DIR);
                    std::fs::create_dir_all(&dir).at(&dir)?;
                    let mut f = open_lock_file(&path)?;
                    match f.try_lock() {
                        Ok(()) => {
                            write_holder(&mut f, &path, &text)?;
                            (true, Some(f), String::new())
                        }
                        Err(TryLockError::WouldBlock) => (
                            false,
                            None,
                            read_holder(&path).unwrap_or_else(|| "another process".into()),
                        ),
                        Err(TryLockError::Error(e)) => return Err(Error::Io { path, source: e }),
                    }
                };
            if taken {
                held.claims.insert(key.to_string(), (file, 1));
                return Ok(Ok(Claim {
                    key: key.to_string(),
                    _lock: lock,
                }));
            }
            drop(held);
            if !wait {
                return Ok(Err(holder));
            }
            if Instant::now() >= deadline {
                return Err(Error::Busy {
                    path: self.root.clone(),
                    holder: format!("{key}: {holder}"),
                });
            }
            if !told {
                progress.note(&Message::Busy {
                    what: key.to_string(),
                    holder: holder.clone(),
                });
                told = true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// [`Vault::claim`], waiting: the claim, or [`Error::Busy`].
    pub fn claim_waiting(
        &self,
        key: &str,
        operation: &str,
        progress: &dyn Progress,
    ) -> Result<Claim<'_>> {
        match self.claim(key, operation, true, progress)? {
            Ok(c) => Ok(c),
            Err(holder) => Err(Error::Busy {
                path: self.root.clone(),
                holder,
            }),
        }
    }
}
