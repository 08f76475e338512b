//! Disc sources: what verify and restore read from. An image file or a mounted disc directory
//! (a block device or a pseudo drive holds an image). Verify and read-back scan images sector by
//! sector with [`crate::scan`]; this module reads the file system: an image through its ISO 9660
//! tree, or through the UDF tree of a bridge disc when the ISO 9660 tree is damaged or lacks a
//! file ([`ImageSource`]). Either way, and in a folder, files keep their real (Rock Ridge)
//! paths: those UDF shortened are found again through the volume record.

use crate::error::IoContext;
use crate::format::{VolumeRecord, VOLUME_JSON};
use crate::{Error, Result};
use std::io::{Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

mod image;
mod udf_names;
pub use image::{open_image, ImageSource};
use udf_names::UdfNames;

/// One regular file found on a disc.
#[derive(Debug, Clone)]
pub struct DiscFile {
    /// Path from the disc root, raw bytes.
    pub path: Vec<u8>,
    pub size: u64,
}

/// Something a volume can be read from.
pub trait DiscSource {
    /// How to name the source in messages.
    fn name(&self) -> String;
    /// Every regular file on the disc.
    fn files(&mut self) -> Result<Vec<DiscFile>>;
    /// Copies one file's bytes to `out`; an error means (part of) it could not be read.
    fn read(&mut self, path: &[u8], out: &mut dyn Write) -> std::io::Result<u64>;
    /// Volume id written in the file system itself (the ISO volume label), if any.
    fn label(&self) -> Option<String> {
        None
    }
    /// Why the records UDF renamed are not found under their real paths, once that was
    /// tried: files shown by a UDF tree (of an image, or a mounted bridge disc) keep its own
    /// names, because the volume record that gives the real ones cannot be read, is not one,
    /// or its paths cannot be named as UDF names them. Damage of the disc, reported even when
    /// every file is read.
    fn udf_names_error(&self) -> Option<String> {
        None
    }
}

/// Opens an image file, a block device, or a directory where a disc is mounted.
pub fn open(path: &Path) -> Result<Box<dyn DiscSource>> {
    let md = std::fs::metadata(path).at(path)?;
    if md.is_dir() {
        return Ok(Box::new(DirSource {
            root: path.to_path_buf(),
            udf: None,
        }));
    }
    Ok(Box::new(open_image(path)?))
}

/// Who a disc says it is: the head of its `discvault/volume.json`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct DiscIdentity {
    pub volume_id: String,
    #[serde(default)]
    pub format_version: i64,
    /// The vault that wrote it (format version 2 and later).
    #[serde(default)]
    pub vault_id: Option<String>,
    #[serde(default)]
    pub plan_id: Option<i64>,
    /// Planning time, RFC 3339.
    #[serde(default)]
    pub created_at: Option<String>,
}

/// Reads who a disc says it is from `discvault/volume.json` (without building the whole
/// record).
pub fn identity(src: &mut dyn DiscSource) -> Result<DiscIdentity> {
    parse_volume_json(src)
}

/// Reads the volume id from `discvault/volume.json` (without building the whole record).
pub fn volume_id(src: &mut dyn DiscSource) -> Result<String> {
    Ok(identity(src)?.volume_id)
}

/// Reads and parses `discvault/volume.json` from a source.
pub fn volume_record(src: &mut dyn DiscSource) -> Result<VolumeRecord> {
    parse_volume_json(src)
}

/// The largest volume record read from a disc (a record of a million files is some 500 MB):
/// a disc is hostile input, and a larger one is refused before it fills the memory.
pub const VOLUME_JSON_BUDGET: usize = 1 << 30;

/// The largest tag manifest read from a disc (a line per tag file: some kilobytes).
pub const TAG_MANIFEST_BUDGET: usize = 16 << 20;

/// Collects bytes up to a budget, then fails naming `what` it was reading.
pub(crate) struct Capped {
    pub buf: Vec<u8>,
    cap: usize,
    what: &'static str,
}

impl Capped {
    pub(crate) fn new(cap: usize, what: &'static str) -> Capped {
        Capped {
            buf: Vec::new(),
            cap,
            what,
        }
    }
}

impl Write for Capped {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + b.len() > self.cap {
            return Err(std::io::Error::other(format!(
                "larger than {} MiB, the most a {} may take",
                self.cap >> 20,
                self.what
            )));
        }
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn parse_volume_json<T: serde::de::DeserializeOwned>(src: &mut dyn DiscSource) -> Result<T> {
    parse_volume_json_within(src, VOLUME_JSON_BUDGET)
}

fn parse_volume_json_within<T: serde::de::DeserializeOwned>(
    src: &mut dyn DiscSource,
    cap: usize,
) -> Result<T> {
    let mut capped = Capped::new(cap, "volume record");
    let res = src.read(VOLUME_JSON.as_bytes(), &mut capped);
    let buf = capped.buf;
    res.map_err(|e| Error::Source {
        source_name: src.name(),
        detail: format!("cannot read {VOLUME_JSON}: {e}"),
    })?;
    serde_json::from_slice(&buf).map_err(|e| Error::Source {
        source_name: src.name(),
        detail: format!("{VOLUME_JSON} is not a discvault volume record: {e}"),
    })
}

/// A folder: a mounted disc, or a copy of one. A mounted bridge disc may show its UDF tree
/// (Linux mounts UDF first), where names too long for UDF are shortened: a path not found is
/// looked for under its UDF name, and a folder that shows UDF names lists its files under
/// their real ones.
pub struct DirSource {
    root: PathBuf,
    /// The UDF names of the disc's records, once asked for.
    udf: Option<DirUdf>,
}

struct DirUdf {
    names: UdfNames,
    /// The folder shows UDF names: a record UDF renamed is there under its UDF name only.
    shows_udf: bool,
    /// Why the volume record gave no names, when it is there.
    error: Option<String>,
}

impl DirSource {
    /// The UDF names of the records its volume record lists, read once; none when it has none
    /// or it cannot be read (the names are then the folder's own, and `error` says why).
    fn udf(&mut self) -> &DirUdf {
        if self.udf.is_none() {
            let read = UdfNames::read_from(|out| self.read_at(VOLUME_JSON.as_bytes(), out));
            let (names, error) = match read {
                Ok(names) => (names, None),
                Err(e) => (UdfNames::default(), Some(e)),
            };
            // Checked relative paths (isoimage::udf_paths refuses any other).
            let there = |p: &[u8]| {
                std::fs::symlink_metadata(self.root.join(std::ffi::OsStr::from_bytes(p))).is_ok()
            };
            // A record there under a UDF name that is no record's real name, and not under
            // its real name (unless that is another record's UDF name: a `~n` clash).
            let shows_udf = names.renamed().any(|(real, _)| {
                names
                    .distinct_udf_path(real)
                    .is_some_and(|udf| there(udf) && (!there(real) || names.is_udf_path(real)))
            });
            self.udf = Some(DirUdf {
                names,
                shows_udf,
                error,
            });
        }
        self.udf.as_ref().unwrap()
    }

    /// Copies the file at `path` (relative to the root, which it may not leave) to `out`.
    fn read_at(&self, path: &[u8], out: &mut dyn Write) -> std::io::Result<u64> {
        let rel = PathBuf::from(std::ffi::OsString::from_vec(path.to_vec()));
        if rel.is_absolute()
            || rel
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "path leaves the disc",
            ));
        }
        let mut f = std::fs::File::open(self.root.join(rel))?;
        let mut buf = vec![0u8; 1 << 20];
        let mut n = 0u64;
        loop {
            let k = f.read(&mut buf)?;
            if k == 0 {
                return Ok(n);
            }
            out.write_all(&buf[..k])?;
            n += k as u64;
        }
    }
}

impl DiscSource for DirSource {
    fn name(&self) -> String {
        self.root.display().to_string()
    }

    fn files(&mut self) -> Result<Vec<DiscFile>> {
        let mut out = Vec::new();
        for e in walkdir::WalkDir::new(&self.root).sort_by_file_name() {
            let e = e.map_err(|e| Error::Source {
                source_name: self.name(),
                detail: e.to_string(),
            })?;
            if !e.file_type().is_file() {
                continue;
            }
            let rel = e.path().strip_prefix(&self.root).unwrap_or(e.path());
            let size = e.metadata().map(|m| m.len()).unwrap_or(0);
            out.push(DiscFile {
                path: rel.as_os_str().as_bytes().to_vec(),
                size,
            });
        }
        if out.iter().any(|f| f.path == VOLUME_JSON.as_bytes()) {
            let udf = self.udf();
            if udf.shows_udf {
                for f in &mut out {
                    f.path = udf.names.real_path(&f.path).to_vec();
                }
            }
        }
        Ok(out)
    }

    fn read(&mut self, path: &[u8], out: &mut dyn Write) -> std::io::Result<u64> {
        if let Some(u) = self.udf.as_ref().filter(|u| u.shows_udf) {
            return self.read_at(u.names.udf_path(path), out);
        }
        match self.read_at(path, out) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Looked for under its UDF name where the folder shows UDF names; else only
                // under a UDF name that is no record's real name: a missing record is
                // missing, not the record whose real name its UDF name is.
                let udf = self.udf();
                let at = if udf.shows_udf {
                    Some(udf.names.udf_path(path)).filter(|&at| at != path)
                } else {
                    udf.names.distinct_udf_path(path)
                };
                match at.map(<[u8]>::to_vec) {
                    Some(at) => self.read_at(&at, out),
                    None => Err(e),
                }
            }
            r => r,
        }
    }

    fn udf_names_error(&self) -> Option<String> {
        self.udf.as_ref()?.error.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_manifest_beyond_its_budget_is_refused_naming_it() {
        let t = tempfile::tempdir().unwrap();
        let big = vec![b'a'; TAG_MANIFEST_BUDGET + 1];
        std::fs::write(t.path().join("tagmanifest-sha256.txt"), &big).unwrap();
        let mut src = open(t.path()).unwrap();
        let mut capped = Capped::new(TAG_MANIFEST_BUDGET, "tag manifest");
        let e = src
            .read(b"tagmanifest-sha256.txt", &mut capped)
            .unwrap_err();
        assert!(
            e.to_string().contains("the most a tag manifest may take"),
            "{e}"
        );
        assert!(capped.buf.len() <= TAG_MANIFEST_BUDGET);
        // Within the budget, all of it.
        std::fs::write(t.path().join("tagmanifest-sha256.txt"), &big[1..]).unwrap();
        let mut capped = Capped::new(TAG_MANIFEST_BUDGET, "tag manifest");
        src.read(b"tagmanifest-sha256.txt", &mut capped).unwrap();
        assert_eq!(capped.buf.len(), TAG_MANIFEST_BUDGET);
    }

    fn disc_with(volume_json: &[u8]) -> (tempfile::TempDir, Box<dyn DiscSource>) {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("discvault")).unwrap();
        std::fs::write(t.path().join(VOLUME_JSON), volume_json).unwrap();
        let src = open(t.path()).unwrap();
        (t, src)
    }

    #[test]
    fn a_folder_says_why_its_volume_record_gives_no_udf_names() {
        let (_t, mut src) = disc_with(br#"{"files": [{"collection": "c", "disc_path": "/x"}]}"#);
        assert_eq!(src.udf_names_error(), None, "not tried yet");
        let e = src.read(b"data/c/missing", &mut Vec::new()).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{e}");
        let why = src.udf_names_error().unwrap();
        assert!(
            why.contains(VOLUME_JSON) && why.contains("absolute path"),
            "{why}"
        );
        // A folder without one: nothing to say.
        let t = tempfile::tempdir().unwrap();
        let mut src = open(t.path()).unwrap();
        assert!(src.read(b"missing", &mut Vec::new()).is_err());
        assert_eq!(src.udf_names_error(), None);
    }

    #[test]
    fn a_hostile_volume_record_is_a_clear_error() {
        // Larger than the budget: refused while it is read.
        let big = format!("{{\"volume_id\": \"{}\"}}", "x".repeat(4096));
        let (_t, mut src) = disc_with(big.as_bytes());
        let e = parse_volume_json_within::<DiscIdentity>(src.as_mut(), 1024).unwrap_err();
        assert!(
            e.to_string().contains("the most a volume record may take"),
            "{e}"
        );
        // Not JSON, the wrong types, deep nesting, a NUL: errors naming the file.
        for bad in [
            &b"\xff\xfe garbage"[..],
            br#"{"volume_id": 7}"#,
            "[".repeat(100_000).as_bytes(),
            b"{\"volume_id\": \"DV\0\"",
        ] {
            let (_t, mut src) = disc_with(bad);
            let e = identity(src.as_mut()).unwrap_err().to_string();
            assert!(e.contains(VOLUME_JSON), "{e}");
        }
    }
}
