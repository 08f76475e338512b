//! Library errors, each naming the file, field, volume or source it is about.

use std::path::PathBuf;

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error::Catalog(e.to_string())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Our own failure on a file or folder (disk full, permission, name too long): never
    /// damage of a disc.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An error of the catalog database (SQLite or PostgreSQL), with the database's message.
    #[error("catalog: {0}")]
    Catalog(String),
    #[error("catalog {what}: {detail}")]
    CatalogData { what: String, detail: String },
    #[error("config {path}: {detail}")]
    Config { path: PathBuf, detail: String },
    #[error("no vault at {} (run `discvault init` or pass --vault DIR)", absolute(.0).display())]
    NoVault(PathBuf),
    /// The vault is held by another process; `holder` says which and since when.
    #[error("vault {} busy: {holder}", absolute(.path).display())]
    Busy { path: PathBuf, holder: String },
    /// A disc that is not one of this vault's volumes: written by another vault, or of a
    /// volume this catalog does not know. Nothing was checked or recorded.
    #[error("{source_name}: {detail}; nothing was checked or recorded")]
    ForeignDisc {
        source_name: String,
        volume_id: String,
        detail: String,
    },
    #[error("unknown media profile {0:?} (known: cd74, cd80, dvd5, dvd9, bd25, bd50, bd100, bd128, custom:<bytes>)")]
    UnknownMedia(String),
    #[error("unknown digest algorithm {0:?} (known: sha256, sm3, md5, blake3)")]
    UnknownDigest(String),
    #[error("invalid {field}: {detail}")]
    Invalid { field: String, detail: String },
    #[error("volume {0} is not in the catalog")]
    UnknownVolume(String),
    /// The request cannot be done in the state the thing is in (a task that has ended).
    #[error("{0}")]
    Conflict(String),
    /// The operation was stopped as asked ([`crate::progress::Progress::cancelled`]).
    #[error("{0}: cancelled")]
    Cancelled(String),
    /// Not enough room on our own disk for what was asked (an upload): said before anything
    /// is written.
    #[error("{}: {detail}", path.display())]
    NoSpace { path: PathBuf, detail: String },
    /// A user, token or other named thing the catalog does not hold.
    #[error("{0} is not in the catalog")]
    NotFound(String),
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

/// A path made absolute for messages (as given when it cannot be).
pub fn absolute(p: &std::path::Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

impl Error {
    /// The exit code of the command line for this error: 5 for a disc of another vault or
    /// of an unknown volume, 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::ForeignDisc { .. } => 5,
            _ => 1,
        }
    }

    /// A short machine-readable name of the kind of error (the `kind` of the JSON error).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Io { .. } => "io",
            Error::Catalog(_) | Error::CatalogData { .. } => "catalog",
            Error::Config { .. } => "config",
            Error::NoVault(_) => "no_vault",
            Error::Busy { .. } => "busy",
            Error::ForeignDisc { .. } => "foreign_disc",
            Error::UnknownMedia(_) | Error::UnknownDigest(_) | Error::Invalid { .. } => "invalid",
            Error::UnknownVolume(_) | Error::Volume { .. } => "volume",
            Error::NotFound(_) => "not_found",
            Error::NoSpace { .. } => "no_space",
            Error::Cancelled(_) => "cancelled",
            Error::Conflict(_) => "conflict",
            Error::MasterMismatch { .. } => "source_changed",
            Error::Source { .. } => "source",
            Error::Publisher { .. } => "publisher",
            Error::Iso { .. } => "image",
            Error::BadRows { .. } => "bad_rows",
            Error::Restore { .. } => "restore",
        }
    }
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
