//! An image file, a pseudo drive or a block device: read through its ISO 9660 tree, and
//! through its UDF tree (a bridge disc has both, over the same data) when the ISO 9660 tree
//! cannot be opened or listed, or does not hold a path asked for. In the UDF tree, the names
//! UDF shortened are found again through the volume record ([`UdfNames`]): the files keep
//! their real paths whichever tree they are read through.

use super::udf_names::UdfNames;
use super::{DiscFile, DiscSource};
use crate::error::IoContext;
use crate::format::VOLUME_JSON;
use crate::{Error, Result};
use isoimage::{IsoEntry, IsoEntryKind, IsoError, IsoReader, UdfReader};
use std::collections::BTreeMap;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

type Image = BufReader<std::fs::File>;
type Files = BTreeMap<Vec<u8>, IsoEntry>;

/// An image opened by [`open_image`]: its ISO 9660 tree, and the UDF tree of a bridge disc.
pub struct ImageSource {
    path: PathBuf,
    /// The ISO 9660 tree, unless it cannot be opened.
    iso: Option<IsoReader<Image>>,
    /// Its files by path, once listed.
    iso_index: Option<Files>,
    /// Why the ISO 9660 tree cannot be opened or listed: its files are the UDF tree's.
    iso_error: Option<IsoError>,
    udf: Udf,
}

/// The UDF tree of an image, opened when it is first needed.
enum Udf {
    Unopened,
    /// The image has none.
    Absent,
    /// It cannot be opened: why.
    Unreadable(String),
    Open(Box<UdfTree>),
}

struct UdfTree {
    reader: UdfReader<Image>,
    /// Its files by their real path, once listed.
    index: Option<Files>,
    /// Why the volume record gave no real paths when it was listed: its files keep the UDF
    /// tree's own names.
    names_error: Option<String>,
}

fn buffered(f: std::fs::File) -> Image {
    BufReader::with_capacity(8 << 10, f)
}

fn io_error(e: IsoError) -> std::io::Error {
    match e {
        IsoError::Io(io) => io,
        other => std::io::Error::other(other.to_string()),
    }
}

/// Regular files by path.
fn files_of(entries: Vec<IsoEntry>) -> Files {
    entries
        .into_iter()
        .filter(|e| e.kind == IsoEntryKind::File)
        .map(|e| (e.path_bytes(), e))
        .collect()
}

impl UdfTree {
    /// The tree's files by their real paths: as listed, but where the volume record (read
    /// through this tree) says UDF shortened a name. Without a readable volume record, the
    /// names are the UDF tree's own.
    fn index(&mut self) -> std::result::Result<&mut Files, IsoError> {
        if self.index.is_none() {
            let listed = files_of(self.reader.entries()?);
            let names = match listed.get(VOLUME_JSON.as_bytes()) {
                Some(e) => {
                    UdfNames::read_from(|out| self.reader.read_file(e, out).map_err(io_error))
                }
                None => Ok(UdfNames::default()),
            };
            let names = names.unwrap_or_else(|e| {
                self.names_error = Some(e);
                UdfNames::default()
            });
            let index = listed
                .into_iter()
                .map(|(at, mut e)| {
                    let real = names.real_path(&at);
                    if real != at {
                        e.components = real.split(|&b| b == b'/').map(<[u8]>::to_vec).collect();
                    }
                    (real.to_vec(), e)
                })
                .collect();
            self.index = Some(index);
        }
        Ok(self.index.as_mut().unwrap())
    }
}

/// Opens an image file, a pseudo drive or a block device holding an ISO 9660 file system, or
/// a UDF bridge whose ISO 9660 tree cannot be opened. An image with neither is an error
/// naming it, and why each tree cannot be read.
pub fn open_image(path: &Path) -> Result<ImageSource> {
    let f = std::fs::File::open(path).at(path)?;
    let mut src = ImageSource {
        path: path.to_path_buf(),
        iso: None,
        iso_index: None,
        iso_error: None,
        udf: Udf::Unopened,
    };
    match IsoReader::open(buffered(f)) {
        Ok(r) => src.iso = Some(r),
        Err(iso) => match src.udf().map(|u| u.map(|_| ())) {
            Some(Ok(())) => src.iso_error = Some(iso),
            None => {
                return Err(Error::Iso {
                    path: path.to_path_buf(),
                    source: iso,
                })
            }
            Some(Err(udf)) => return Err(src.neither(&iso, &udf)),
        },
    }
    Ok(src)
}

impl ImageSource {
    /// Sectors of the file system (its volume space size; the UDF volume's when the ISO 9660
    /// tree cannot be opened).
    pub fn total_sectors(&self) -> u64 {
        match (&self.iso, &self.udf) {
            (Some(r), _) => r.total_sectors() as u64,
            (None, Udf::Open(t)) => t.reader.total_sectors(),
            (None, _) => 0,
        }
    }

    /// Whether the ISO 9660 tree says discvault mastered the image (its application
    /// identifier): then the disc is the volume's image, both trees included. A disc a
    /// publisher wrote from the volume's files (TD Bridge) has its own file systems.
    pub fn mastered_by_discvault(&self) -> bool {
        self.iso
            .as_ref()
            .is_some_and(|r| r.application_id().starts_with("discvault"))
    }

    /// Why the ISO 9660 tree could not be opened or listed, once that was tried: the files are
    /// then those of the UDF tree. Damage of the disc, even when every file is read. Says too
    /// why the files of the UDF tree keep its own names, if they do
    /// ([`DiscSource::udf_names_error`]).
    pub fn iso_damage(&self) -> Option<String> {
        let iso = self.iso_error.as_ref()?;
        Some(match self.udf_names_error() {
            Some(names) => format!("{iso}; the UDF tree's own names are used: {names}"),
            None => iso.to_string(),
        })
    }

    /// Every regular file with its extents, by path, taken out of the source (later reads
    /// of files walk the tree again).
    pub fn take_file_entries(&mut self) -> Result<BTreeMap<Vec<u8>, IsoEntry>> {
        self.file_entries()?;
        Ok(match &mut self.udf {
            Udf::Open(t) if self.iso_error.is_some() => t.index.take(),
            _ => self.iso_index.take(),
        }
        .unwrap_or_default())
    }

    /// Every regular file of the UDF tree with its extents, by real path, taken out of the
    /// source (as [`ImageSource::take_file_entries`]); `None` when the image has no UDF tree.
    /// For the files an ISO 9660 tree that was listed lacks.
    pub fn take_udf_file_entries(&mut self) -> Option<Result<BTreeMap<Vec<u8>, IsoEntry>>> {
        let name = self.name();
        let listed = match self.udf()? {
            Ok(t) => match t.index() {
                Ok(_) => Ok(t.index.take().unwrap_or_default()),
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e),
        };
        Some(listed.map_err(|e| Error::Source {
            source_name: name,
            detail: format!("UDF tree unreadable: {e}"),
        }))
    }

    /// Every regular file of the UDF tree with its extents, by its path as the tree names it
    /// (the names UDF shortened left as they are: what Windows and macOS show), listed anew
    /// (metadata only); `None` when the image has no UDF tree, an error saying why it cannot
    /// be opened or listed. For checking a bridge disc's UDF tree against its ISO 9660 tree.
    pub fn udf_files_as_named(&mut self) -> Option<std::result::Result<Files, String>> {
        Some(match self.udf()? {
            Ok(t) => t.reader.entries().map(files_of).map_err(|e| e.to_string()),
            Err(e) => Err(e),
        })
    }

    /// Every regular file with its extents, by path: those of the ISO 9660 tree, or of the
    /// UDF tree when the ISO 9660 tree cannot be listed.
    pub fn file_entries(&mut self) -> Result<&BTreeMap<Vec<u8>, IsoEntry>> {
        let name = self.name();
        self.listing().map(|f| &*f).map_err(|detail| Error::Source {
            source_name: name,
            detail,
        })
    }

    /// The ISO 9660 tree's files, listed once; `None` when it cannot be opened or listed
    /// (then `iso_error` says why).
    fn iso_files(&mut self) -> Option<&Files> {
        if self.iso_error.is_some() {
            return None;
        }
        if self.iso_index.is_none() {
            match self.iso.as_mut()?.entries() {
                Ok(e) => self.iso_index = Some(files_of(e)),
                Err(e) => {
                    self.iso_error = Some(e);
                    return None;
                }
            }
        }
        self.iso_index.as_ref()
    }

    /// The UDF tree, opened once; `None` when the image has none.
    fn udf(&mut self) -> Option<std::result::Result<&mut UdfTree, String>> {
        if let Udf::Unopened = self.udf {
            let opened = std::fs::File::open(&self.path)
                .map_err(IsoError::from)
                .and_then(|f| UdfReader::open(buffered(f)));
            self.udf = match opened {
                Ok(Some(reader)) => Udf::Open(Box::new(UdfTree {
                    reader,
                    index: None,
                    names_error: None,
                })),
                Ok(None) => Udf::Absent,
                Err(e) => Udf::Unreadable(e.to_string()),
            };
        }
        match &mut self.udf {
            Udf::Open(t) => Some(Ok(t)),
            Udf::Unreadable(e) => Some(Err(e.clone())),
            Udf::Absent | Udf::Unopened => None,
        }
    }

    /// The error of an image whose trees both cannot be read.
    fn neither(&self, iso: &IsoError, udf: &str) -> Error {
        Error::Source {
            source_name: self.name(),
            detail: format!("neither file system can be read: {}", both(iso, &udf)),
        }
    }

    /// The files of the tree that is read: the ISO 9660 tree's, else the UDF tree's. An
    /// error says why neither can be listed.
    fn listing(&mut self) -> std::result::Result<&mut Files, String> {
        if self.iso_files().is_some() {
            return Ok(self.iso_index.as_mut().unwrap());
        }
        let iso = self.iso_damage().unwrap_or_default();
        let udf = match self.udf() {
            None => return Err(format!("directory tree unreadable: {iso}")),
            Some(Ok(t)) => match t.index() {
                Ok(files) => return Ok(files),
                Err(e) => e.to_string(),
            },
            Some(Err(e)) => e,
        };
        Err(format!("directory trees unreadable: {}", both(&iso, &udf)))
    }
}

/// Why neither tree can be read.
fn both(iso: &dyn std::fmt::Display, udf: &dyn std::fmt::Display) -> String {
    format!("ISO 9660: {iso}; UDF: {udf}")
}

impl DiscSource for ImageSource {
    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn files(&mut self) -> Result<Vec<DiscFile>> {
        Ok(self
            .file_entries()?
            .iter()
            .map(|(path, e)| DiscFile {
                path: path.clone(),
                size: e.size,
            })
            .collect())
    }

    fn read(&mut self, path: &[u8], out: &mut dyn Write) -> std::io::Result<u64> {
        if let Some(e) = self.iso_files().and_then(|f| f.get(path)).cloned() {
            let iso = self.iso.as_mut().expect("listed, so open");
            return iso.read_file(&e, out).map_err(io_error);
        }
        // Not in the ISO 9660 tree, or it cannot be listed: the UDF tree.
        let not_found = || {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} is not on the disc", String::from_utf8_lossy(path)),
            )
        };
        let iso = self.iso_error.as_ref().map(|e| e.to_string());
        let unreadable = |udf: Option<String>| {
            let why = match (&iso, udf) {
                (Some(iso), Some(udf)) => both(iso, &udf),
                (Some(iso), None) => iso.clone(),
                (None, _) => return not_found(),
            };
            std::io::Error::new(std::io::ErrorKind::InvalidData, why)
        };
        let tree = match self.udf() {
            Some(Ok(t)) => t,
            None => return Err(unreadable(None)),
            Some(Err(udf)) => return Err(unreadable(Some(udf))),
        };
        let entry = match tree.index() {
            Ok(f) => f.get(path).cloned().ok_or_else(not_found)?,
            Err(udf) => return Err(unreadable(Some(udf.to_string()))),
        };
        tree.reader.read_file(&entry, out).map_err(io_error)
    }

    fn label(&self) -> Option<String> {
        match (&self.iso, &self.udf) {
            (Some(r), _) => Some(r.volume_id().to_string()),
            (None, Udf::Open(t)) => Some(t.reader.volume_id().to_string()),
            (None, _) => None,
        }
    }

    fn udf_names_error(&self) -> Option<String> {
        match &self.udf {
            Udf::Open(t) => t.names_error.clone(),
            _ => None,
        }
    }
}
