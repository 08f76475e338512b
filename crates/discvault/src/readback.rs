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
pub struct ReadbackOptions {
    /// The folder the volume's folder is made in.
    pub to: PathBuf,
    /// The source is this copy (id, barcode or RFID): the check is recorded against it.
    pub copy: Option<String>,
    /// Replace files already in the volume's folder.
    pub overwrite: bool,
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
    let sink = FolderSink {
        root: opts.to.clone(),
        volume_id: volume.volume_id.clone(),
        overwrite: opts.overwrite,
        files: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        refused: Mutex::new(Vec::new()),
    };
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
/// it is judged.
struct FolderSink {
    root: PathBuf,
    volume_id: String,
    overwrite: bool,
    files: AtomicU64,
    bytes: AtomicU64,
    refused: Mutex<Vec<String>>,
}

impl FolderSink {
    fn target(&self, disc_path: &[u8]) -> std::io::Result<PathBuf> {
        safe_target(&self.root, &self.volume_id, disc_path).map_err(|e| {
            self.refused
                .lock()
                .unwrap()
                .push(crate::catalog::display_path(disc_path));
            std::io::Error::new(std::io::ErrorKind::InvalidInput, e)
        })
    }

    fn partial(target: &Path) -> PathBuf {
        let mut name = target.file_name().unwrap_or_default().to_os_string();
        name.push(".dv-partial");
        target.with_file_name(name)
    }
}

/// A file written through a buffer and synced when flushed.
struct Synced(std::io::BufWriter<std::fs::File>);

impl Write for Synced {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()?;
        self.0.get_ref().sync_data()
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
        make_parents(&self.root, &target).map_err(std::io::Error::other)?;
        let file = std::fs::File::create(Self::partial(&target))?;
        Ok(Some(Box::new(Synced(std::io::BufWriter::with_capacity(
            1 << 20,
            file,
        )))))
    }

    fn close(&self, disc_path: &[u8], good: bool) -> std::io::Result<()> {
        let Ok(target) = safe_target(&self.root, &self.volume_id, disc_path) else {
            return Ok(());
        };
        let partial = Self::partial(&target);
        if !partial.exists() {
            return Ok(());
        }
        if good {
            let len = std::fs::metadata(&partial)?.len();
            std::fs::rename(&partial, &target)?;
            self.files.fetch_add(1, Ordering::Relaxed);
            self.bytes.fetch_add(len, Ordering::Relaxed);
        } else {
            std::fs::remove_file(&partial)?;
        }
        Ok(())
    }
}
