//! The model: values every layer shares, below the catalog that stores them and the stages
//! that make them (see docs/ARCHITECTURE.md): the on-disc format version, the locate query, and
//! the records with their ids and states, one file per concept. It imports only the model layer
//! (`error`, `digest`); reading and writing records is the catalog's.

pub mod accounts;
pub mod check;
pub mod copies;
pub mod events;
pub mod jobs;
pub mod records;
pub mod tasks;
pub mod webhooks;

pub use accounts::*;
pub use check::*;
pub use copies::*;
pub use events::*;
pub use jobs::*;
pub use records::*;
pub use tasks::*;
pub use webhooks::*;

/// Version of the on-disc layout, written in `bag-info.txt` and `discvault/volume.json`.
pub const FORMAT_VERSION: i64 = 3;

/// The first format version whose discs may carry a UDF tree beside the ISO 9660 one (and
/// say which file systems they have in `volume.json`).
pub const FILE_SYSTEMS_SINCE: i64 = 3;

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// A hex digest of any recorded algorithm (32 or 64 hex characters).
    Digest(String),
    /// `KEY=VALUE` over collection metadata (`fonds`, `series`, `retention`, `collection` or
    /// free keys).
    Metadata(String, String),
    /// Any part of the path, case-insensitive for Latin letters.
    Path(String),
}

impl Query {
    pub fn parse(q: &str) -> Query {
        let t = q.trim();
        if (t.len() == 32 || t.len() == 64) && t.chars().all(|c| c.is_ascii_hexdigit()) {
            return Query::Digest(t.to_ascii_lowercase());
        }
        if let Some((k, v)) = t.split_once('=') {
            if !k.is_empty() && !k.contains('/') {
                return Query::Metadata(k.trim().to_string(), v.trim().to_string());
            }
        }
        Query::Path(t.to_string())
    }
}
