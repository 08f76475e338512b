//! Verifying files against a PAR2 set, and repairing them.
//!
//! Files are looked for in one or more source folders (the same set of files, for example
//! two damaged copies of a disc): each slice is taken from the first source where its MD5 and
//! CRC32 match, so the good parts of every copy are merged before any recovery slice is spent.
//! The slices still missing are solved from as many recovery slices: with A the matrix of the
//! chosen recovery slices' coefficients on the missing slices, `missing = A⁻¹ · (recovery − the
//! intact slices' part)`, computed in one streaming pass like creation.

use crate::create::{io_err, read_at};
use crate::packets::{self, Id, Packet};
use crate::{engine, gf16, md5x, Error, Result};
use rayon::prelude::*;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// One file of a set, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    /// Its name in the set (a relative path).
    pub name: String,
    pub length: u64,
    pub slices: u32,
    /// Slices (indices within the file) found intact in no source.
    pub missing_slices: Vec<u32>,
    /// Whether any source holds the file at all.
    pub found: bool,
}

impl FileState {
    pub fn intact(&self) -> bool {
        self.found && self.missing_slices.is_empty()
    }
}

/// What a verification found.
#[derive(Debug, Clone)]
pub struct SetReport {
    pub set_id: String,
    pub slice_size: u64,
    pub input_slices: u32,
    /// Intact recovery slices found in the PAR2 files.
    pub recovery_slices: u32,
    pub files: Vec<FileState>,
    pub missing_slices: u32,
    /// Every file is intact, or enough recovery slices are there to rebuild what is missing.
    pub repairable: bool,
}

/// What a repair did.
#[derive(Debug, Clone)]
pub struct RepairReport {
    pub before: SetReport,
    /// Files written to the output folder, each checked against its MD5.
    pub written: Vec<String>,
    /// Files that could not be rebuilt (beyond the redundancy): not written.
    pub lost: Vec<String>,
}

struct Entry {
    name: String,
    length: u64,
    checksums: Vec<(Id, u32)>,
    first_slice: usize,
    /// Its place in the set's list of files.
    index: usize,
}

struct Set {
    set_id: Id,
    slice: u64,
    files: Vec<Entry>,
    /// (exponent, PAR2 file, offset of the slice data)
    recovery: Vec<(u32, PathBuf, u64)>,
    /// Bytes the set may make us allocate: its PAR2 files' size plus the memory given.
    budget: u64,
}

/// Memory [`verify`] allows itself (what [`repair`] is given as its `memory` argument).
pub const VERIFY_MEMORY: usize = 256 << 20;

/// Whether a name from a file description is a plain relative path: UTF-8, components
/// separated by `/`, none empty, `.` or `..`, no NUL. The reason it is not, otherwise.
fn bad_name(name: &[u8]) -> Option<&'static str> {
    let Ok(text) = std::str::from_utf8(name) else {
        return Some("not UTF-8");
    };
    if text.is_empty() {
        return Some("empty");
    }
    if text.contains('\0') {
        return Some("holds a NUL byte");
    }
    if text.starts_with('/') {
        return Some("absolute");
    }
    if text
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Some("has an empty, '.' or '..' component");
    }
    None
}

/// Reads a set from its PAR2 files. They come from a disc: nothing in them is trusted, and
/// what is allocated is bounded before it is allocated. The budget is the PAR2 files' size (the
/// packets kept) plus `memory` (the buffers of verifying and repairing): a slice must fit in
/// `memory` (slices are read whole to be checked), the set holds at most
/// [`crate::MAX_INPUT_SLICES`] input slices (PAR2's limit: there are no more constants), and
/// every file's slice checksums must be exactly as many as its length makes. Inconsistent
/// packets (two main packets of one set, or two descriptions of one file, that differ; a file
/// listed twice; two files of one name) are refused as [`Error::Format`] naming the PAR2 file
/// and the field.
fn load(par2: &[PathBuf], memory: usize) -> Result<Set> {
    let mut all = Vec::new();
    let mut par2_bytes = 0u64;
    for p in par2 {
        if let Ok(m) = std::fs::metadata(p) {
            par2_bytes = par2_bytes.saturating_add(m.len());
        }
        // Kept: the packets a set is made of (creator and unknown packets are not needed), with
        // the PAR2 file they came from.
        for (set, packet) in packets::scan(p)? {
            if !matches!(packet, Packet::Creator(_) | Packet::Other) {
                all.push((set, packet, p));
            }
        }
    }
    let name = || {
        par2.first()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
    let format = |file: &Path, detail: String| Error::Format {
        file: file.display().to_string(),
        detail,
    };
    let (set_id, main, main_file) = all
        .iter()
        .find_map(|(s, p, f)| match p {
            Packet::Main { .. } => Some((*s, p.clone(), *f)),
            _ => None,
        })
        .ok_or_else(|| Error::Format {
            file: name(),
            detail:
                "no intact main packet: not a PAR2 set, or its critical packets are all damaged"
                    .into(),
        })?;
    // Every packet of the set with the same key must say the same thing. Kept by key (kind, file
    // id): the first packet of each, and the PAR2 file it came from.
    let mut keyed: std::collections::HashMap<(u8, Id), (&Packet, &PathBuf)> = Default::default();
    for (s, p, f) in &all {
        let key = match p {
            _ if *s != set_id => continue,
            Packet::Main { .. } => (0, [0; 16]),
            Packet::FileDesc { id, .. } => (1, *id),
            Packet::Ifsc { id, .. } => (2, *id),
            _ => continue,
        };
        let (kept, _) = *keyed.entry(key).or_insert((p, f));
        if kept != p {
            let what = match p {
                Packet::Main { .. } => "main packet".to_string(),
                Packet::FileDesc { id, .. } => format!("file description of {}", hex(id)),
                Packet::Ifsc { id, .. } => format!("slice checksums (IFSC) of {}", hex(id)),
                _ => unreachable!("only keyed packets are kept"),
            };
            return Err(format(
                f,
                format!("{what}: two intact packets of set {} differ", hex(&set_id)),
            ));
        }
    }
    let Packet::Main {
        slice_size: slice,
        files: ids,
        ..
    } = main
    else {
        unreachable!("found as a main packet")
    };
    if slice == 0 || !slice.is_multiple_of(4) {
        return Err(format(
            main_file,
            format!("main packet: slice size {slice} is not a positive multiple of 4"),
        ));
    }
    if slice > memory as u64 {
        return Err(format(
            main_file,
            format!(
                "main packet: slice size {slice} is beyond the memory budget of {memory} bytes"
            ),
        ));
    }
    if ids.len() as u64 > crate::MAX_INPUT_SLICES {
        return Err(format(
            main_file,
            format!(
                "main packet: file count {} is more than PAR2's {} input slices",
                ids.len(),
                crate::MAX_INPUT_SLICES
            ),
        ));
    }
    let mut sorted = ids.clone();
    sorted.sort();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(format(
            main_file,
            format!("main packet: file id {} is listed twice", hex(&w[0])),
        ));
    }
    let mut files = Vec::new();
    let mut names = std::collections::HashSet::new();
    let mut first = 0u64;
    for id in &ids {
        let desc = match keyed.get(&(1, *id)) {
            Some((Packet::FileDesc { length, name, .. }, f)) => Some((*length, name.clone(), *f)),
            _ => None,
        };
        let ifsc = match keyed.get(&(2, *id)) {
            Some((Packet::Ifsc { slices, .. }, f)) => Some((slices.clone(), *f)),
            _ => None,
        };
        let (Some((length, fname, desc_file)), Some((checksums, ifsc_file))) = (desc, ifsc) else {
            return Err(Error::Format {
                file: name(),
                detail: format!(
                    "the description or checksums of file {} are missing from every PAR2 file",
                    hex(id)
                ),
            });
        };
        let fname_text = String::from_utf8_lossy(&fname).to_string();
        if let Some(why) = bad_name(&fname) {
            return Err(format(
                desc_file,
                format!(
                    "file description of {}: name {fname_text:?} {why}: not a plain relative path, refused",
                    hex(id)
                ),
            ));
        }
        if !names.insert(fname.clone()) {
            return Err(format(
                desc_file,
                format!(
                    "file description of {}: name {fname_text:?} is given to two files",
                    hex(id)
                ),
            ));
        }
        let n = length.div_ceil(slice);
        if first + n > crate::MAX_INPUT_SLICES {
            return Err(format(
                desc_file,
                format!(
                    "file description of {fname_text:?}: length {length} makes the set more than \
                     PAR2's {} input slices of {slice} bytes",
                    crate::MAX_INPUT_SLICES
                ),
            ));
        }
        if checksums.len() as u64 != n {
            return Err(format(
                ifsc_file,
                format!(
                    "slice checksums (IFSC) of {fname_text:?}: {} checksums for {n} slices of its {length} bytes",
                    checksums.len()
                ),
            ));
        }
        files.push(Entry {
            name: fname_text,
            length,
            checksums,
            first_slice: first as usize,
            index: files.len(),
        });
        first += n;
    }
    let mut recovery: Vec<(u32, PathBuf, u64)> = Vec::new();
    let mut exponents = std::collections::HashSet::new();
    for (s, p, path) in &all {
        if let Packet::Recovery {
            exponent,
            offset,
            len,
        } = p
        {
            // Exponents past 65,534 repeat the constants of others (2^65535 = 1): unusable.
            if *s == set_id && *len == slice && *exponent <= 65534 && exponents.insert(*exponent) {
                recovery.push((*exponent, path.to_path_buf(), *offset));
            }
        }
    }
    recovery.sort_by_key(|r| r.0);
    Ok(Set {
        set_id,
        slice,
        files,
        recovery,
        budget: par2_bytes.saturating_add(memory as u64),
    })
}

fn hex(id: &Id) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// For every slice of the set: the source that holds it intact.
fn locate(set: &Set, sources: &[PathBuf]) -> Result<Vec<Option<usize>>> {
    let per_file: Vec<Vec<Option<usize>>> = set
        .files
        .par_iter()
        .map(|f| -> Result<Vec<Option<usize>>> {
            let mut found = vec![None; f.checksums.len()];
            let slice = set.slice as usize;
            // Slices are checked a group at a time: CRC32 first, then the MD5s of the group side
            // by side.
            let group = ((64usize << 20) / slice.max(1)).clamp(1, 16);
            let mut buf = vec![0u8; group * slice];
            for (si, src) in sources.iter().enumerate() {
                let pending: Vec<usize> =
                    (0..found.len()).filter(|&k| found[k].is_none()).collect();
                if pending.is_empty() {
                    break;
                }
                let path = src.join(&f.name);
                let Ok(mut file) = std::fs::File::open(&path) else {
                    continue;
                };
                for ks in pending.chunks(group) {
                    let mut candidates = Vec::new();
                    for (j, &k) in ks.iter().enumerate() {
                        let b = &mut buf[j * slice..(j + 1) * slice];
                        let off = k as u64 * set.slice;
                        let want = (f.length - off).min(set.slice) as usize;
                        let got = match read_at(&mut file, &path, off, b) {
                            Ok(n) => n,
                            Err(_) => continue,
                        };
                        if got < want {
                            continue;
                        }
                        // Bytes past the file's end are not part of the slice.
                        b[want..].fill(0);
                        if crc32fast::hash(b) == f.checksums[k].1 {
                            candidates.push(j);
                        }
                    }
                    let bufs: Vec<&[u8]> = candidates
                        .iter()
                        .map(|&j| &buf[j * slice..(j + 1) * slice])
                        .collect();
                    for (&j, m) in candidates.iter().zip(md5x::md5_many(&bufs)) {
                        if m == f.checksums[ks[j]].0 {
                            found[ks[j]] = Some(si);
                        }
                    }
                }
            }
            Ok(found)
        })
        .collect::<Result<_>>()?;
    Ok(per_file.into_iter().flatten().collect())
}

fn report(set: &Set, found: &[Option<usize>], sources: &[PathBuf]) -> SetReport {
    let files: Vec<FileState> = set
        .files
        .iter()
        .map(|f| {
            let n = f.checksums.len();
            FileState {
                name: f.name.clone(),
                length: f.length,
                slices: n as u32,
                missing_slices: (0..n)
                    .filter(|&k| found[f.first_slice + k].is_none())
                    .map(|k| k as u32)
                    .collect(),
                found: sources.iter().any(|s| s.join(&f.name).exists()),
            }
        })
        .collect();
    let missing = found.iter().filter(|f| f.is_none()).count();
    SetReport {
        set_id: hex(&set.set_id),
        slice_size: set.slice,
        input_slices: found.len() as u32,
        recovery_slices: set.recovery.len() as u32,
        repairable: missing <= set.recovery.len(),
        missing_slices: missing as u32,
        files,
    }
}

/// Verifies the files of a PAR2 set in `sources` (folders holding the set's files by their
/// names). The PAR2 files are hostile input: a set beyond the budget of [`VERIFY_MEMORY`]
/// (see `load`) or inconsistent is refused as [`Error::Format`].
pub fn verify(par2: &[PathBuf], sources: &[PathBuf]) -> Result<SetReport> {
    let set = load(par2, VERIFY_MEMORY)?;
    let found = locate(&set, sources)?;
    Ok(report(&set, &found, sources))
}

/// How the repair's temporary files begin (followed by the file's index in the set).
const PARTIAL: &str = ".par2-partial-";

/// The partial files created and not yet renamed into place: removed when dropped (a repair
/// that fails leaves none behind).
struct Partials(std::sync::Mutex<Vec<PathBuf>>);

impl Drop for Partials {
    fn drop(&mut self) {
        let paths = match self.0.get_mut() {
            Ok(p) => std::mem::take(p),
            Err(e) => std::mem::take(e.into_inner()),
        };
        for p in paths {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Creates a partial file new: one left by an interrupted repair is removed first (the name
/// itself, never what it may link to), and creating it then fails rather than follow a link
/// or open a file put there meanwhile.
fn create_partial(p: &Path) -> Result<std::fs::File> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => {
            return Err(Error::Io {
                path: p.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "a folder is in the place of the repair's temporary file",
                ),
            })
        }
        Ok(_) => std::fs::remove_file(p).map_err(io_err(p))?,
        Err(_) => {}
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(p)
        .map_err(io_err(p))
}

/// Inverts a square matrix over GF(2^16); `None` when it is singular.
fn invert(mut a: Vec<Vec<u16>>) -> Option<Vec<Vec<u16>>> {
    let n = a.len();
    let mut inv: Vec<Vec<u16>> = (0..n)
        .map(|i| (0..n).map(|j| (i == j) as u16).collect())
        .collect();
    for col in 0..n {
        let pivot = (col..n).find(|&r| a[r][col] != 0)?;
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let p = gf16::inv(a[col][col]);
        for j in 0..n {
            a[col][j] = gf16::mul(a[col][j], p);
            inv[col][j] = gf16::mul(inv[col][j], p);
        }
        for r in 0..n {
            if r != col && a[r][col] != 0 {
                let f = a[r][col];
                for j in 0..n {
                    let (x, y) = (gf16::mul(f, a[col][j]), gf16::mul(f, inv[col][j]));
                    a[r][j] ^= x;
                    inv[r][j] ^= y;
                }
            }
        }
    }
    Some(inv)
}

/// Repairs the set's files from `sources` into `out` (every file the set can give back,
/// every slice of it checked against its MD5 and CRC32 before it is renamed into place). Files beyond repair are
/// named in the report and not written.
///
/// The budget is the PAR2 files' size plus `memory` (at least [`VERIFY_MEMORY`]): a slice
/// must fit in the memory, and the matrix solving the missing slices (4 bytes per pair of
/// them) in the budget, else [`Error::Format`] before anything is written. Each file is
/// built as `.par2-partial-<index>` beside its final place (a fixed-length name, created new,
/// removed if the repair fails) and renamed once checked; set names starting so are refused.
pub fn repair(
    par2: &[PathBuf],
    sources: &[PathBuf],
    out: &Path,
    memory: usize,
) -> Result<RepairReport> {
    // A small memory argument does not refuse sets whose slices are larger: the floor is what
    // verifying allows itself.
    let set = load(par2, memory.max(VERIFY_MEMORY))?;
    let found = locate(&set, sources)?;
    let before = report(&set, &found, sources);
    let missing: Vec<usize> = (0..found.len()).filter(|&k| found[k].is_none()).collect();
    let m = missing.len();
    let repairable = m <= set.recovery.len();
    // The matrix solving the missing slices and its inverse: 4 bytes per pair of missing
    // slices, within the budget before anything is allocated or written.
    let matrix = 4 * (m as u64) * (m as u64);
    if repairable && matrix > set.budget {
        return Err(Error::Format {
            file: par2[0].display().to_string(),
            detail: format!(
                "{m} missing slices need a {matrix}-byte matrix, beyond the budget of {} bytes \
                 (the PAR2 files and the memory given)",
                set.budget
            ),
        });
    }
    if let Some(f) = set.files.iter().find(|f| {
        Path::new(&f.name)
            .file_name()
            .is_some_and(|n| n.as_encoded_bytes().starts_with(PARTIAL.as_bytes()))
    }) {
        return Err(Error::Format {
            file: par2[0].display().to_string(),
            detail: format!(
                "file name {:?}: names starting {PARTIAL:?} are the repair's own temporary files",
                f.name
            ),
        });
    }
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let logs = gf16::input_log_constants(found.len());
    let owner: Vec<(usize, u64)> = set
        .files
        .iter()
        .enumerate()
        .flat_map(|(fi, f)| (0..f.checksums.len() as u64).map(move |n| (fi, n)))
        .collect();

    // Partial files: every intact slice copied from its source; holes where slices are
    // missing. Each is named `.par2-partial-<file index>` beside its final place: a name of
    // fixed length (a name at NAME_MAX gets no longer), created new (never through a link left
    // there), and removed if the repair fails.
    let partial_of: Vec<PathBuf> = set
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let dest = out.join(&f.name);
            dest.parent().unwrap_or(out).join(format!("{PARTIAL}{i}"))
        })
        .collect();
    let partial = |f: &Entry| partial_of[f.index].clone();
    let cleanup = Partials(std::sync::Mutex::new(Vec::new()));
    let writable: Vec<bool> = set
        .files
        .iter()
        .map(|f| repairable || (0..f.checksums.len()).all(|k| found[f.first_slice + k].is_some()))
        .collect();
    set.files
        .par_iter()
        .zip(&writable)
        .try_for_each(|(f, &w)| -> Result<()> {
            if !w {
                return Ok(());
            }
            let p = partial(f);
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).map_err(io_err(d))?;
            }
            let mut o = create_partial(&p)?;
            cleanup
                .0
                .lock()
                .expect("no panic holding it")
                .push(p.clone());
            o.set_len(f.length).map_err(io_err(&p))?;
            let mut buf = vec![0u8; set.slice as usize];
            let mut opened: Vec<Option<std::fs::File>> = sources.iter().map(|_| None).collect();
            for k in 0..f.checksums.len() {
                let Some(si) = found[f.first_slice + k] else {
                    continue;
                };
                let sp = sources[si].join(&f.name);
                let file = match &mut opened[si] {
                    Some(x) => x,
                    slot => slot.insert(std::fs::File::open(&sp).map_err(io_err(&sp))?),
                };
                let off = k as u64 * set.slice;
                let n = (f.length - off).min(set.slice) as usize;
                read_at(file, &sp, off, &mut buf[..n])?;
                // Its MD5 matched when it was found; its CRC32 still must (the source could
                // have changed since).
                buf[n..].fill(0);
                if crc32fast::hash(&buf) != f.checksums[k].1 {
                    return Err(Error::Format {
                        file: sp.display().to_string(),
                        detail: format!("slice {k} changed while it was read: repair again"),
                    });
                }
                o.seek(SeekFrom::Start(off)).map_err(io_err(&p))?;
                o.write_all(&buf[..n]).map_err(io_err(&p))?;
            }
            o.sync_all().map_err(io_err(&p))
        })?;

    if m > 0 && repairable {
        // Choose recovery slices whose matrix on the missing slices is invertible.
        let chosen: Vec<usize> = (0..m).collect();
        let a: Vec<Vec<u16>> = chosen
            .iter()
            .map(|&r| {
                missing
                    .iter()
                    .map(|&j| gf16::coefficient(logs[j], set.recovery[r].0))
                    .collect()
            })
            .collect();
        let ainv = invert(a).ok_or_else(|| Error::Format {
            file: par2[0].display().to_string(),
            detail: "the recovery slices chosen cannot solve the missing slices (singular matrix)"
                .into(),
        })?;
        let good: Vec<usize> = (0..found.len()).filter(|&k| found[k].is_some()).collect();
        let n_good = good.len();
        // Input k: an intact slice (k < n_good) or a chosen recovery slice.
        let coeff = |k: usize, o: usize| -> u16 {
            if k < n_good {
                let i = good[k];
                let mut c = 0u16;
                for (r, &rr) in chosen.iter().enumerate() {
                    c ^= gf16::mul(ainv[o][r], gf16::coefficient(logs[i], set.recovery[rr].0));
                }
                c
            } else {
                ainv[o][k - n_good]
            }
        };
        let mut handles: std::collections::HashMap<PathBuf, std::fs::File> = Default::default();
        let mut read = |k: usize, offset: u64, buf: &mut [u8]| -> Result<usize> {
            let (path, at, data_len) = if k < n_good {
                let i = good[k];
                let (fi, n) = owner[i];
                let f = &set.files[fi];
                let off = n * set.slice;
                (
                    sources[found[i].expect("intact")].join(&f.name),
                    off + offset,
                    (f.length - off).min(set.slice),
                )
            } else {
                let (_, p, o) = &set.recovery[chosen[k - n_good]];
                (p.clone(), o + offset, set.slice)
            };
            if offset >= data_len {
                buf.fill(0);
                return Ok(0);
            }
            let want = ((data_len - offset) as usize).min(buf.len());
            let file = match handles.get_mut(&path) {
                Some(f) => f,
                None => {
                    let f = std::fs::File::open(&path).map_err(io_err(&path))?;
                    handles.entry(path.clone()).or_insert(f)
                }
            };
            read_at(file, &path, at, &mut buf[..want])?;
            buf[want..].fill(0);
            Ok(want)
        };
        let mut outs: Vec<Option<std::fs::File>> = set.files.iter().map(|_| None).collect();
        let mut write = |o: usize, offset: u64, words: &[u8]| -> Result<()> {
            let (fi, n) = owner[missing[o]];
            let f = &set.files[fi];
            let at = n * set.slice + offset;
            if at >= f.length {
                return Ok(());
            }
            let len = ((f.length - at) as usize).min(words.len());
            let p = partial(f);
            let file = match &mut outs[fi] {
                Some(x) => x,
                slot => slot.insert(
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(&p)
                        .map_err(io_err(&p))?,
                ),
            };
            file.seek(SeekFrom::Start(at)).map_err(io_err(&p))?;
            file.write_all(&words[..len]).map_err(io_err(&p))
        };
        engine::combine(engine::Job {
            inputs: n_good + m,
            outputs: m,
            slice: set.slice,
            memory,
            read: &mut read,
            coeff: &coeff,
            write: &mut write,
            whole_slices: None,
            order: None,
        })?;
        for f in outs.into_iter().flatten() {
            f.sync_all().map_err(|e| Error::Io {
                path: out.to_path_buf(),
                source: e,
            })?;
        }
    }

    // Every rebuilt slice is read back and checked against its MD5 and CRC32 (the intact ones
    // were checked as they were found and copied): only then does a file take its name.
    let slice = set.slice as usize;
    let group = ((64usize << 20) / slice.max(1)).clamp(1, 16);
    let mut buf = vec![0u8; group * slice];
    let mut rebuilt: Vec<usize> = if repairable {
        missing.clone()
    } else {
        Vec::new()
    };
    rebuilt.retain(|&k| writable[owner[k].0]);
    let mut bad: Option<String> = None;
    for ks in rebuilt.chunks(group) {
        for (j, &k) in ks.iter().enumerate() {
            let (fi, n) = owner[k];
            let f = &set.files[fi];
            let p = partial(f);
            let mut file = std::fs::File::open(&p).map_err(io_err(&p))?;
            read_at(
                &mut file,
                &p,
                n * set.slice,
                &mut buf[j * slice..(j + 1) * slice],
            )?;
            let want = (f.length - n * set.slice).min(set.slice) as usize;
            buf[j * slice + want..(j + 1) * slice].fill(0);
        }
        let bufs: Vec<&[u8]> = (0..ks.len())
            .map(|j| &buf[j * slice..(j + 1) * slice])
            .collect();
        for ((&k, m), b) in ks.iter().zip(md5x::md5_many(&bufs)).zip(&bufs) {
            let (fi, n) = owner[k];
            let sum = set.files[fi].checksums[n as usize];
            if m != sum.0 || crc32fast::hash(b) != sum.1 {
                bad.get_or_insert_with(|| {
                    format!(
                        "{}: rebuilt slice {n} does not match its MD5",
                        set.files[fi].name
                    )
                });
            }
        }
    }
    if let Some(detail) = bad {
        // The partial files are removed as `cleanup` drops.
        return Err(Error::Format {
            file: par2[0].display().to_string(),
            detail: format!("{detail}: nothing written"),
        });
    }
    let mut written = Vec::new();
    let mut lost = Vec::new();
    for (f, &w) in set.files.iter().zip(&writable) {
        if !w {
            lost.push(f.name.clone());
            continue;
        }
        let p = partial(f);
        let dest = out.join(&f.name);
        std::fs::rename(&p, &dest).map_err(io_err(&dest))?;
        cleanup
            .0
            .lock()
            .expect("no panic holding it")
            .retain(|x| *x != p);
        written.push(f.name.clone());
    }
    Ok(RepairReport {
        before,
        written,
        lost,
    })
}
