//! Read-back (返读): copies a disc's contents to a folder on a PC or storage, each file checked
//! against the catalog (records) or the disc's tag manifest (tag files) while it is read, for
//! use, copying or transfer. The copy is the disc's own tree under `DIR/<volume id>/`: a BagIt
//! bag that `bagit.py --validate` accepts, with the README and the volume record.
//!
//! A file is written under a temporary name and renamed only when its digest matched; a file
//! that could not be read or does not match is not left behind, and is named in the report.

use crate::error::IoContext;
use crate::progress::Progress;
use crate::restore::{make_parents, safe_target};
use crate::verify::{self, DiscSink, VerifyOptions, VerifyReport};
use crate::{source, Error, Result, Vault};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Options of `readback`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default)]
pub struct ReadbackOptions {
    /// The folder the volume's folder is made in.
    #[cfg_attr(feature = "clap", arg(long))]
    pub to: PathBuf,
    /// The source is this copy (id, barcode or RFID): record the result against it.
    #[cfg_attr(feature = "clap", arg(long))]
    pub copy: Option<String>,
    /// Replace files already in the volume's folder.
    #[cfg_attr(feature = "clap", arg(long))]
    pub overwrite: bool,
    #[cfg_attr(feature = "clap", command(flatten))]
    pub verify: VerifyOptions,
}

/// What a read-back did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReadbackReport {
    /// The volume's folder: `DIR/<volume id>`.
    pub to: PathBuf,
    pub files_written: u64,
    pub bytes_written: u64,
    /// Disc paths not written: unreadable, not matching, or refused as unsafe.
    pub not_written: Vec<String>,
    pub verify: VerifyReport,
}

/// Reads a disc back into `opts.to`.
pub fn readback(
    vault: &Vault,
    source_path: &Path,
    opts: &ReadbackOptions,
    progress: &dyn Progress,
) -> Result<ReadbackReport> {
    let volume = verify::identify(vault, source::open(source_path)?.as_mut())?;
    std::fs::create_dir_all(&opts.to).at(&opts.to)?;
    let root = opts.to.join(&volume.volume_id);
    if !opts.overwrite && root.exists() && std::fs::read_dir(&root).at(&root)?.next().is_some() {
        return Err(Error::Restore {
            path: root,
            detail: "already holds files; pass --overwrite to replace them".into(),
        });
    }
    std::fs::create_dir_all(&root).at(&root)?;
    let sink = FolderSink::new(opts.to.clone(), volume.volume_id.clone(), opts.overwrite);
    // Every file is read: a resumed scan would leave out the files read well before.
    let vopts = VerifyOptions {
        resume: false,
        ..opts.verify.clone()
    };
    let report = match &opts.copy {
        Some(c) => verify::check_copy(vault, source_path, c, &vopts, &sink, progress)?,
        None => verify::check(vault, source_path, None, &vopts, &sink, progress)?,
    };
    let mut not_written: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.finding != verify::Finding::Extra && !f.disc_path.starts_with('('))
        .map(|f| f.disc_path.clone())
        .collect();
    not_written.extend(sink.refused.into_inner().unwrap());
    not_written.sort();
    not_written.dedup();
    let files = sink.files.load(Ordering::Relaxed);
    vault.catalog.add_event(
        "replication",
        if not_written.is_empty() {
            "success"
        } else {
            "failure"
        },
        &format!(
            "{} read back from {} to {}: {} files written{}",
            volume.volume_id,
            report.source,
            root.display(),
            files,
            if not_written.is_empty() {
                String::new()
            } else {
                format!(", {} not written (damaged)", not_written.len())
            }
        ),
        Some(&volume),
    )?;
    Ok(ReadbackReport {
        to: root,
        files_written: files,
        bytes_written: sink.bytes.load(Ordering::Relaxed),
        not_written,
        verify: report,
    })
}

/// Writes each checked file to `root/<volume id>/<disc path>`, under a temporary name until
/// it is judged. Temporary names do not grow with the record's name (a record's name may be
/// 255 bytes, the longest a file system allows): `.dv-partial-<n>` beside the target, created
/// new (never through an existing file or link).
struct FolderSink {
    root: PathBuf,
    volume_id: String,
    overwrite: bool,
    files: AtomicU64,
    bytes: AtomicU64,
    refused: Mutex<Vec<String>>,
    /// The temporary file of each disc path being written.
    partials: Mutex<std::collections::HashMap<Vec<u8>, PathBuf>>,
    next: AtomicU64,
    /// The first failure of our own (a file we could not write).
    failed: Failures,
}

/// Where the first failure of our own is kept, shared with the files being written.
type Failures = std::sync::Arc<Mutex<Option<Error>>>;

/// Keeps our own failure on `path` (the first one) and hands the error on.
fn fail(failed: &Failures, path: &Path, e: std::io::Error) -> std::io::Error {
    let text = e.to_string();
    let mut f = failed.lock().unwrap();
    if f.is_none() {
        *f = Some(Error::Io {
            path: path.to_path_buf(),
            source: e,
        });
    }
    std::io::Error::other(format!("{}: {text}", path.display()))
}

impl FolderSink {
    fn new(root: PathBuf, volume_id: String, overwrite: bool) -> FolderSink {
        FolderSink {
            root,
            volume_id,
            overwrite,
            files: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            refused: Mutex::new(Vec::new()),
            partials: Mutex::new(Default::default()),
            next: AtomicU64::new(0),
            failed: Default::default(),
        }
    }

    fn target(&self, disc_path: &[u8]) -> std::io::Result<PathBuf> {
        safe_target(&self.root, &self.volume_id, disc_path).map_err(|e| {
            self.refused
                .lock()
                .unwrap()
                .push(crate::catalog::display_path(disc_path));
            std::io::Error::new(std::io::ErrorKind::InvalidInput, e)
        })
    }

    fn fail(&self, path: &Path, e: std::io::Error) -> std::io::Error {
        fail(&self.failed, path, e)
    }

    /// A new temporary file beside `target`.
    fn create_partial(&self, target: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
        let dir = target.parent().unwrap_or(Path::new("."));
        loop {
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            let p = dir.join(format!(".dv-partial-{n}"));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&p)
            {
                Ok(f) => return Ok((p, f)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(self.fail(&p, e)),
            }
        }
    }
}

/// A file written through a buffer and synced when flushed; its failures are the sink's own.
struct Synced {
    out: std::io::BufWriter<std::fs::File>,
    path: PathBuf,
    failed: Failures,
}

impl Write for Synced {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out
            .write(buf)
            .map_err(|e| fail(&self.failed, &self.path, e))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out
            .flush()
            .and_then(|_| self.out.get_ref().sync_data())
            .map_err(|e| fail(&self.failed, &self.path, e))
    }
}

impl DiscSink for FolderSink {
    fn open(&self, disc_path: &[u8]) -> std::io::Result<Option<Box<dyn Write>>> {
        let target = self.target(disc_path)?;
        if !self.overwrite && std::fs::symlink_metadata(&target).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{} exists", target.display()),
            ));
        }
        make_parents(&self.root, &target)
            .map_err(|e| self.fail(&target, std::io::Error::other(e)))?;
        let (path, file) = self.create_partial(&target)?;
        self.partials
            .lock()
            .unwrap()
            .insert(disc_path.to_vec(), path.clone());
        Ok(Some(Box::new(Synced {
            out: std::io::BufWriter::with_capacity(1 << 20, file),
            path,
            failed: self.failed.clone(),
        })))
    }

    fn close(&self, disc_path: &[u8], good: bool) -> std::io::Result<()> {
        let Some(partial) = self.partials.lock().unwrap().remove(disc_path) else {
            return Ok(());
        };
        let Ok(target) = safe_target(&self.root, &self.volume_id, disc_path) else {
            return Ok(());
        };
        if good {
            let len = std::fs::metadata(&partial)
                .map_err(|e| self.fail(&partial, e))?
                .len();
            std::fs::rename(&partial, &target).map_err(|e| self.fail(&target, e))?;
            self.files.fetch_add(1, Ordering::Relaxed);
            self.bytes.fetch_add(len, Ordering::Relaxed);
        } else {
            std::fs::remove_file(&partial).map_err(|e| self.fail(&partial, e))?;
        }
        Ok(())
    }

    fn failure(&self) -> Option<Error> {
        let f = self.failed.lock().unwrap().take()?;
        // Leave no temporary file behind.
        for (_, p) in self.partials.lock().unwrap().drain() {
            let _ = std::fs::remove_file(p);
        }
        Some(f)
    }
}
