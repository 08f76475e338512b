//! What `discvault check` reports of the catalog; the checks themselves are the catalog's
//! (`catalog/check.rs`).

use serde::{Deserialize, Serialize};

/// One check and what it found wrong (nothing when it holds).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub problems: Vec<String>,
}
