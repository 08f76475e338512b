//! `discvault check`: is the catalog whole? SQLite's own integrity and foreign keys, the audit
//! trail's hash chain, and the invariants the stages keep (a mastered volume has its image
//! digest, a verified copy the event of its check, no half-recorded plan or job). A crash at
//! any point of any command must leave every check holding.

use crate::model::Check;
use crate::{Result, Vault};
use serde::{Deserialize, Serialize};

/// The checks and what they found.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CheckReport {
    pub vault: std::path::PathBuf,
    pub checks: Vec<Check>,
    /// True when no check found anything.
    pub clean: bool,
}

/// Checks the vault's catalog; changes nothing.
pub fn check(vault: &Vault) -> Result<CheckReport> {
    let checks = vault.catalog.check()?;
    Ok(CheckReport {
        vault: vault.root.clone(),
        clean: checks.iter().all(|c| c.problems.is_empty()),
        checks,
    })
}
