//! `isoimage`: a streaming, deterministic ISO 9660 image writer and a defensive reader.
//!
//! The writer produces ECMA-119 images at interchange Level 3 with two extensions that every
//! reader of the last thirty years understands:
//!
//! * **Rock Ridge** (SUSP 1.10 / RRIP 1.10, `RRIP_1991A`): full POSIX names of any byte content
//!   (up to 255 bytes, kept byte-exact, so non-UTF-8 names survive), modes, times and symbolic links;
//! * **Joliet** (UCS-2 level 3, long names up to 103 characters as `mkisofs -joliet-long`): the
//!   names Windows shows.
//!
//! With [`ImageSpec::udf`], the image is also a **UDF 1.02 bridge**: a UDF file system over the
//! same file data (no byte stored twice), whose names Windows and macOS show whole, up to 127
//! UTF-16 units (or 254 characters of 8 bits), where Joliet cuts them at 103. UDF 1.02 is what
//! every UDF reader reads (Windows 98 onwards, Mac OS 8.1 onwards, Linux, 7-Zip, libcdio) and
//! what disc publishers write ("UDF102_BRIDGE"); files and directories only, as symbolic links
//! make 7-Zip drop the whole UDF tree. The volume structures follow the ISO 9660 descriptors
//! (recognition sequence at 19–21, descriptor sequences at 32 and 48, integrity at 64, anchors
//! at 256 and in the last sector); the partition starts at 257 with the file set, the UDF
//! directories and one file entry per file, then the ISO 9660 tables, directories and data.
//! [`UdfReader`] reads that tree back (a disc whose ISO 9660 tree is damaged is still read), and
//! [`udf_paths`] says where the writer put each file in it: a name longer than a UDF identifier
//! holds is shortened there.
//!
//! Files larger than 4 GiB are written as multi-extent files (ECMA-119 6.5.1, several directory
//! records with the multi-extent flag, contiguous extents). Deep trees are written as they are
//! (no `RR_MOVED` relocation): every current reader (Linux, Windows, libisofs, libarchive, 7-Zip,
//! isoinfo) follows them, and relocation would make the Rock Ridge tree harder to read by hand.
//!
//! # Why our own writer
//! The candidate crate (hadris-iso) builds the image from a file-system object in memory and has
//! no way to feed file contents as a stream that the caller hashes on the way, nor a layout that can
//! be computed before any byte is written. discvault needs both: the planner asks for the exact
//! overhead of a volume ([`Layout::total_sectors`]) and mastering hashes every byte as it is
//! written. The format parts used here are small and fully specified (ECMA-119, SUSP, RRIP, Joliet),
//! so the writer is written here, and is checked in tests by xorriso, isoinfo, 7z and bsdtar.
//!
//! # Determinism
//! The same [`ImageSpec`] always gives the same bytes: names are mangled in a fixed order, files are
//! laid out in the order given, and all dates come from the spec.

mod reader;
mod udf;
pub use udf::{udf_paths, UdfReader};
mod writer;

pub use reader::{
    IsoEntry, IsoEntryKind, IsoReader, Limits, NameSource, MAX_CE_HOPS, MAX_NAME_BYTES,
};
pub use writer::{Layout, WriteStats};

/// Logical block (sector) size of every image written here.
pub const SECTOR: u64 = 2048;

/// Largest extent of one directory record: 4 GiB minus one sector, a multiple of the sector size.
pub const MAX_EXTENT: u64 = 0xFFFF_F800;

/// Errors of the writer and the reader.
#[derive(Debug, thiserror::Error)]
pub enum IsoError {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath { path: String, reason: &'static str },
    #[error("duplicate path {0:?} in image spec")]
    Duplicate(String),
    #[error("image too large: {0}")]
    TooLarge(&'static str),
    #[error("file #{index} ({path}): source gave {got} bytes, expected {expected}")]
    SizeMismatch {
        index: usize,
        path: String,
        expected: u64,
        got: u64,
    },
    #[error("not an ISO 9660 image: {0}")]
    NotIso(String),
    #[error("damaged ISO 9660 structure: {0}")]
    Corrupt(String),
    #[error("damaged UDF structure: {0}")]
    CorruptUdf(String),
    /// A folder whose children's names clash so much in the UDF tree (UDF shortens long
    /// names, and shows bytes that are not UTF-8 as U+FFFD) that naming them is refused.
    #[error("folder {0:?}: too many of its names clash in the UDF tree to be named")]
    NameClashes(String),
}

pub type Result<T, E = IsoError> = std::result::Result<T, E>;

/// What one entry of the image is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file of `size` bytes, whose content is asked for by its index in [`ImageSpec::entries`].
    File { size: u64 },
    /// A directory (directories that are parents of other entries are created implicitly too).
    Dir,
    /// A symbolic link with its target, byte-exact.
    Symlink { target: Vec<u8> },
}

/// One entry to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path inside the image, components separated by `/`, without a leading `/`. Any bytes but
    /// NUL and `/` are allowed in a component; `.` and `..` are not.
    pub path: Vec<u8>,
    pub kind: EntryKind,
    /// POSIX mode bits (permission bits only; the type bits are set by the writer).
    pub mode: u32,
    /// Modification time, seconds since the Unix epoch (UTC).
    pub mtime: i64,
}

/// Everything the writer needs to lay out an image.
#[derive(Debug, Clone, Default)]
pub struct ImageSpec {
    /// Volume identifier (up to 32 characters in the primary descriptor, 16 in Joliet).
    pub volume_id: String,
    /// Volume set identifier (the collection or group the volume belongs to).
    pub volume_set_id: String,
    pub publisher: String,
    pub preparer: String,
    pub application: String,
    /// Creation time written in the volume descriptors and used for implicit directories.
    pub created: i64,
    /// Entries in the order their data is laid out on the disc.
    pub entries: Vec<Entry>,
    /// Also a UDF 1.02 file system over the same data (a "UDF bridge"), whose names Windows
    /// and macOS show whole: files and directories (symbolic links only in Rock Ridge).
    pub udf: bool,
}

/// Splits a path into components and checks each one.
pub(crate) fn components(path: &[u8]) -> Result<Vec<&[u8]>> {
    let bad = |reason| IsoError::InvalidPath {
        path: String::from_utf8_lossy(path).into_owned(),
        reason,
    };
    if path.is_empty() {
        return Err(bad("empty path"));
    }
    if path[0] == b'/' {
        return Err(bad("absolute path"));
    }
    let mut out = Vec::new();
    for c in path.split(|&b| b == b'/') {
        if c.is_empty() {
            return Err(bad("empty component"));
        }
        if c == b"." || c == b".." {
            return Err(bad("'.' or '..' component"));
        }
        if c.contains(&0) {
            return Err(bad("NUL byte"));
        }
        if c.len() > 255 {
            return Err(bad("component longer than 255 bytes"));
        }
        out.push(c);
    }
    Ok(out)
}
