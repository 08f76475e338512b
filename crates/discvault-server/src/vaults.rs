//! The vault as the server uses it: a few catalog connections, each used by one request at a
//! time on a worker thread (the library's calls block).

use crate::error::ApiError;
use discvault::model::Principal;
use discvault::Vault;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

pub struct Vaults {
    dir: PathBuf,
    /// The vault's folder, as the library resolved it.
    root: PathBuf,
    /// Uploads and downloads at once: each holds a thread while its client sends or reads,
    /// but no catalog connection.
    transfers: Arc<Semaphore>,
    catalog: Option<String>,
    /// The vault's `[server]` section as it was when the server started.
    pub server: discvault::config::ServerSection,
    idle: Mutex<Vec<Vault>>,
    permits: Semaphore,
    /// What the connections keep of the catalog in memory, shared.
    shared: Arc<discvault::catalog::Shared>,
}

/// Uploads and downloads streaming at once, at most.
pub const TRANSFERS: usize = 16;

impl Vaults {
    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    /// A place for one more upload or download streaming now; none free is 503.
    pub fn transfer(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        self.transfers.clone().try_acquire_owned().map_err(|_| {
            ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                format!("{TRANSFERS} uploads and downloads are streaming now: try again shortly"),
            )
        })
    }

    /// Opens the vault once (an error here stops the server before it listens).
    pub fn open(
        dir: PathBuf,
        catalog: Option<String>,
        connections: usize,
    ) -> discvault::Result<Vaults> {
        let mut first = Vault::open_with(&dir, catalog.as_deref())?;
        first
            .catalog
            .keep_search_cache((first.config.server.search_cache_mb as usize) << 20);
        Ok(Vaults {
            shared: first.catalog.shared(),
            root: first.root.clone(),
            server: first.config.server.clone(),
            transfers: Arc::new(Semaphore::new(TRANSFERS)),
            dir,
            catalog,
            idle: Mutex::new(vec![first]),
            permits: Semaphore::new(connections),
        })
    }

    /// Reads what the connections keep in memory (a server's start: the first requests need
    /// not wait for it).
    pub async fn warm(self: &Arc<Self>) -> Result<(), ApiError> {
        self.run(None, |v| v.catalog.warm()).await
    }

    /// Runs `f` on a worker thread with a vault, as `who` (the agent of every event it
    /// records: `NAME@api`).
    pub async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        who: Option<&Principal>,
        f: impl FnOnce(&Vault) -> discvault::Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = self.permits.acquire().await.map_err(|_| {
            ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                "the server is stopping",
            )
        })?;
        let me = self.clone();
        let agent = who.map(|p| format!("{}@api", p.user));
        let res = tokio::task::spawn_blocking(move || {
            let vault = match me.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
                Some(v) => v,
                None => {
                    let mut v = Vault::open_with(&me.dir, me.catalog.as_deref())?;
                    v.catalog.share(me.shared.clone());
                    v
                }
            };
            let out = match &agent {
                Some(a) => discvault::model::acting_as(a, || f(&vault)),
                None => f(&vault),
            };
            me.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(vault);
            out
        })
        .await
        .map_err(|e| {
            ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("the request's worker failed: {e}"),
            )
        })?;
        res.map_err(ApiError::from)
    }
}
