//! The `[server]` section: what `discvault serve` may touch (its roots), its workers, its
//! webhooks' retries, and the folders it watches for records to add.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `discvault serve`: what its requests may name, and its workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSection {
    /// Folders a request may name (records to add, a folder to master into): nothing outside
    /// them, no `..`, no link leading out. Empty: requests name no path.
    pub roots: Vec<PathBuf>,
    /// Workers inside `discvault serve` running tasks (add, plan, master, ...), one task each.
    pub workers: usize,
    /// Seconds before a webhook message not taken is sent again; doubled at each attempt, up
    /// to 64 times this.
    pub webhook_retry_seconds: u64,
    /// Attempts of a webhook message before it is given up (marked failed in the log).
    pub webhook_attempts: u32,
    /// A running task whose worker sent no heartbeat this long (a station that stopped) is
    /// marked interrupted by the other workers; a worker beats every 30 s.
    pub task_lease_seconds: u64,
    /// Folders watched for deliveries of records (`watched.rs`).
    pub watched: Vec<WatchedFolder>,
    /// The server's certificate chain (PEM): with `tls_key`, the server speaks HTTPS only.
    pub tls_cert: Option<PathBuf>,
    /// The private key of `tls_cert` (PEM).
    pub tls_key: Option<PathBuf>,
    /// Uploads left this many days (not committed, or their `add` failed) and restores for
    /// download not fetched are deleted.
    pub stale_transfer_days: u64,
    /// An upload's body or a download that moves no byte for this many seconds is cut off (an
    /// upload is resumed from the bytes that came); its transfer place is free again.
    pub transfer_idle_seconds: u64,
    /// A browser's session ends after this many minutes without a request.
    pub session_idle_minutes: u64,
    /// A browser's session ends this many hours after the login, however busy.
    pub session_hours: u64,
    /// On a PostgreSQL catalog, the server keeps the paths of the oldest files in memory, up
    /// to this many MiB, for locate by a piece of a path (0: none; `catalog/search_cache.rs`).
    pub search_cache_mb: u64,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            roots: Vec::new(),
            workers: 1,
            webhook_retry_seconds: 30,
            webhook_attempts: 30,
            task_lease_seconds: 600,
            watched: Vec::new(),
            tls_cert: None,
            tls_key: None,
            stale_transfer_days: 7,
            transfer_idle_seconds: 60,
            session_idle_minutes: 30,
            session_hours: 12,
            search_cache_mb: 128,
        }
    }
}

/// A folder a records system drops deliveries into: each folder in it is one delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WatchedFolder {
    pub path: PathBuf,
    /// The collection of a delivery whose sidecar names none (none: the sidecar must).
    pub collection: Option<String>,
    /// A delivery holding a file of this name is complete at once (the file is not added).
    pub marker: String,
    /// A delivery without the marker is complete when nothing in it changed this long (0: only
    /// the marker says it is complete).
    pub settle_seconds: u64,
}

impl Default for WatchedFolder {
    fn default() -> Self {
        WatchedFolder {
            path: PathBuf::new(),
            collection: None,
            marker: "READY".into(),
            settle_seconds: 60,
        }
    }
}
