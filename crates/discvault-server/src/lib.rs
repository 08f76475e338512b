//! `discvault serve`: the HTTP API over the discvault library, for records-management systems
//! (档案管理系统) and the web UI. The handlers are thin: each checks who asks and what their role
//! allows, then calls the same library function as the CLI on a worker thread, and answers
//! with the same JSON as the CLI's `--json`.
//!
//! - `GET /api/health` and the login (`POST /api/v1/session`) need no credentials;
//!   everything else needs `Authorization: Bearer dvt_…` (a token from `discvault token
//!   create`) or a browser's session cookie (with its CSRF token for changes): 401 without
//!   valid credentials, 403 when the user's role does not allow the request.
//! - `GET /api/openapi.json`: the OpenAPI 3.1 document, generated from the handlers.

mod api;
mod auth;
mod error;
mod hooks;
mod limit;
mod ui;
mod vaults;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use api::ApiDoc;
pub use error::ApiError;

/// Options of `discvault serve`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The vault folder.
    pub vault: PathBuf,
    /// Its catalog's URL when it is not the vault's own (`--catalog`).
    pub catalog: Option<String>,
    /// Address to listen on (port 0: any free port, reported to `ready`).
    pub listen: SocketAddr,
    /// Catalog connections (and worker threads) for requests at once.
    pub connections: usize,
    /// Workers running tasks; none: `[server] workers` of the vault's configuration.
    pub workers: Option<usize>,
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Vault(#[from] discvault::Error),
    #[error("listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
    #[error("TLS certificate {cert} or key {key}: {detail}")]
    Tls {
        cert: PathBuf,
        key: PathBuf,
        detail: String,
    },
}

/// Runs the server until SIGINT or SIGTERM, then lets the requests in flight finish. `ready`
/// is called with the address (and whether it speaks HTTPS) once the server listens.
pub fn serve(opts: ServeOptions, ready: impl FnOnce(Listening)) -> Result<(), ServeError> {
    let vaults = Arc::new(vaults::Vaults::open(
        opts.vault.clone(),
        opts.catalog.clone(),
        opts.connections.max(1),
    )?);
    // Workers running the tasks (add, plan, master), each with a catalog connection of its own.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers = match opts.workers {
        Some(n) => n,
        None => {
            discvault::Vault::open_with(&opts.vault, opts.catalog.as_deref())?
                .config
                .server
                .workers
        }
    };
    let mut threads = Vec::new();
    for k in 0..workers {
        let vault = discvault::Vault::open_with(&opts.vault, opts.catalog.as_deref())?;
        let stop = stop.clone();
        threads.push(std::thread::spawn(move || {
            let name = format!("{}#{k}", discvault::tasks::worker_name());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Err(e) = discvault::tasks::work(
                    &vault,
                    &name,
                    &stop,
                    false,
                    std::time::Duration::from_millis(500),
                ) {
                    eprintln!("discvault serve: worker {name}: {e}");
                    std::thread::sleep(std::time::Duration::from_secs(2));
                }
            }
        }));
    }
    // Webhook messages, from a connection of their own.
    {
        let vault = discvault::Vault::open_with(&opts.vault, opts.catalog.as_deref())?;
        let stop = stop.clone();
        threads.push(std::thread::spawn(move || {
            hooks::run(vault, &stop, std::time::Duration::from_secs(1))
        }));
    }
    // Uploads left alone and downloads never fetched are deleted after `[server]
    // stale_transfer_days`: checked at the start and every 10 minutes.
    {
        let vault = discvault::Vault::open_with(&opts.vault, opts.catalog.as_deref())?;
        let stop = stop.clone();
        threads.push(std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let now = discvault::now_unix();
                match discvault::uploads::expire(&vault, now) {
                    Ok(gone) if !gone.is_empty() => eprintln!(
                        "discvault serve: uploads left for {} days deleted: {}",
                        vault.config.server.stale_transfer_days,
                        gone.join(", ")
                    ),
                    Ok(_) => {}
                    Err(e) => eprintln!("discvault serve: deleting stale uploads: {e}"),
                }
                match discvault::tasks::expire_downloads(&vault, now) {
                    Ok(gone) if !gone.is_empty() => eprintln!(
                        "discvault serve: restores never downloaded deleted: {}",
                        gone.join(", ")
                    ),
                    Ok(_) => {}
                    Err(e) => eprintln!("discvault serve: deleting stale downloads: {e}"),
                }
                for _ in 0..(10 * 60 * 20) {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
            }
        }));
    }
    // Watched folders: deliveries of records added once complete.
    let watching = discvault::Vault::open_with(&opts.vault, opts.catalog.as_deref())?;
    let tls = match (
        &watching.config.server.tls_cert,
        &watching.config.server.tls_key,
    ) {
        (Some(c), Some(k)) => Some((c.clone(), k.clone())),
        _ => None,
    };
    if !watching.config.server.watched.is_empty() {
        let stop = stop.clone();
        threads.push(std::thread::spawn(move || {
            let mut watch = discvault::watched::Watch::default();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match discvault::watched::round(&watching, &mut watch) {
                    Ok(done) => {
                        for d in done.iter().filter(|d| !d.added) {
                            eprintln!(
                                "discvault serve: {} -> {}: {}",
                                d.folder.display(),
                                d.moved_to.display(),
                                d.reason.as_deref().unwrap_or_default()
                            );
                        }
                    }
                    Err(e) => eprintln!("discvault serve: watched folders: {e}"),
                }
                for _ in 0..40 {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
            }
        }));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // A thread for each request at its catalog connection, each upload or download
        // streaming, and a few to spare.
        .max_blocking_threads(opts.connections.max(1) + vaults::TRANSFERS + 2)
        .enable_all()
        .build()?;
    // The catalog connections are closed outside the runtime, after it: PostgreSQL's
    // synchronous client blocks on a runtime of its own when it is dropped.
    let keep = vaults.clone();
    let stop_all = stop.clone();
    let res = runtime.block_on(async move {
        let stop = stop_all;
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .map_err(|source| ServeError::Listen {
                addr: opts.listen,
                source,
            })?;
        let addr = listener.local_addr()?;
        // PostgreSQL's paths for locate and the status's counts, read while the first
        // requests come.
        let warm = vaults.clone();
        tokio::spawn(async move {
            if let Err(e) = warm.warm().await {
                eprintln!("discvault serve: reading the catalog ahead: {}", e.message);
            }
        });
        let app = api::router(vaults, stop.clone());
        // On SIGINT or SIGTERM: the workers and the progress streams are told at once (a
        // running task ends its stage and is queued again), then the requests in flight have
        // GRACE to finish.
        const GRACE: std::time::Duration = std::time::Duration::from_secs(30);
        let (said, mut heard) = tokio::sync::watch::channel(false);
        let stopping = stop.clone();
        tokio::spawn(async move {
            stop_signal().await;
            stopping.store(true, std::sync::atomic::Ordering::Relaxed);
            let _ = said.send(true);
        });
        let mut heard2 = heard.clone();
        match tls {
            None => {
                ready(Listening { addr, tls: false });
                let serving = axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(async move {
                    let _ = heard.wait_for(|s| *s).await;
                });
                tokio::select! {
                    r = serving => r?,
                    _ = async move {
                        let _ = heard2.wait_for(|s| *s).await;
                        tokio::time::sleep(GRACE).await;
                    } => eprintln!(
                        "discvault serve: requests still open {} s after the signal were cut",
                        GRACE.as_secs()
                    ),
                }
            }
            Some((cert, key)) => {
                let config = tls_config(&cert, &key).await?;
                let handle = axum_server::Handle::new();
                let stopping = handle.clone();
                tokio::spawn(async move {
                    let _ = heard.wait_for(|s| *s).await;
                    stopping.graceful_shutdown(Some(GRACE));
                });
                ready(Listening { addr, tls: true });
                axum_server::tls_rustls::from_tcp_rustls(listener.into_std()?, config)
                    .handle(handle)
                    .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                    .await?;
            }
        }
        Ok(())
    });
    drop(runtime);
    drop(keep);
    // (Set by the signal already; an error that ended the server sets it here.)
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    res
}

/// Where the server listens, for `ready`.
#[derive(Debug, Clone, Copy)]
pub struct Listening {
    pub addr: SocketAddr,
    /// HTTPS (`[server] tls_cert`, `tls_key`).
    pub tls: bool,
}

impl std::fmt::Display for Listening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        write!(f, "{scheme}://{}", self.addr)
    }
}

/// The certificate and key, read now: a bad file stops the server before it listens, naming
/// the file.
async fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<axum_server::tls_rustls::RustlsConfig, ServeError> {
    // rustls's ring provider, as the webhook client's; installed once per process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
        .await
        .map_err(|e| ServeError::Tls {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            detail: e.to_string(),
        })
}

async fn stop_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
