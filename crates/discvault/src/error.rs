//! Library errors, each naming the file, field, volume or source it is about.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("catalog: {0}")]
    Catalog(#[from] rusqlite::Error),
    #[error("catalog {what}: {detail}")]
    CatalogData { what: String, detail: String },
    #[error("config {path}: {detail}")]
    Config { path: PathBuf, detail: String },
    #[error("no vault at {0} (run `discvault init` or pass --vault DIR)")]
    NoVault(PathBuf),
    #[error("unknown media profile {0:?} (known: cd74, cd80, dvd5, dvd9, bd25, bd50, bd100, bd128, custom:<bytes>)")]
    UnknownMedia(String),
    #[error("unknown digest algorithm {0:?} (known: sha256, sm3, md5, blake3)")]
    UnknownDigest(String),
    #[error("invalid {field}: {detail}")]
    Invalid { field: String, detail: String },
    #[error("volume {0} is not in the catalog")]
    UnknownVolume(String),
    #[error("volume {volume}: {detail}")]
    Volume { volume: String, detail: String },
    #[error("volume {volume}, file {path}: digest mismatch while mastering (catalog {expected}, read {actual}); the source changed since ingest")]
    MasterMismatch {
        volume: String,
        path: String,
        expected: String,
        actual: String,
    },
    #[error("{source_name}: {detail}")]
    Source { source_name: String, detail: String },
    /// A disc publisher (hot folder) refused a job, stopped, or cannot be followed.
    #[error("{target}, job {job}: {detail}")]
    Publisher {
        target: String,
        job: String,
        detail: String,
    },
    #[error("image {path}: {source}")]
    Iso {
        path: PathBuf,
        #[source]
        source: isoimage::IsoError,
    },
    #[error("{path}: {} bad rows, nothing applied:\n  {}", errors.len(), errors.join("\n  "))]
    BadRows { path: PathBuf, errors: Vec<String> },
    #[error("restore target {path}: {detail}")]
    Restore { path: PathBuf, detail: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches a path to an I/O error.
pub(crate) trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Io {
            path: path.into(),
            source,
        })
    }
}
