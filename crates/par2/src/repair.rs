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
}

struct Set {
    set_id: Id,
    slice: u64,
    files: Vec<Entry>,
    /// (exponent, PAR2 file, offset of the slice data)
    recovery: Vec<(u32, PathBuf, u64)>,
}

fn load(par2: &[PathBuf]) -> Result<Set> {
    let mut all = Vec::new();
    for p in par2 {
        for (set, packet) in packets::scan(p)? {
            all.push((set, packet, p.clone()));
        }
    }
    let name = || {
        par2.first()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
    let (set_id, slice, ids) = all
        .iter()
        .find_map(|(s, p, _)| match p {
            Packet::Main {
                slice_size, files, ..
            } => Some((*s, *slice_size, files.clone())),
            _ => None,
        })
        .ok_or_else(|| Error::Format {
            file: name(),
            detail:
                "no intact main packet: not a PAR2 set, or its critical packets are all damaged"
                    .into(),
        })?;
    let mut files = Vec::new();
    let mut first = 0usize;
    for id in &ids {
        let desc = all.iter().find_map(|(s, p, _)| match p {
            Packet::FileDesc {
                id: i,
                length,
                name,
                ..
            } if *s == set_id && i == id => Some((*length, name.clone())),
            _ => None,
        });
        let ifsc = all.iter().find_map(|(s, p, _)| match p {
            Packet::Ifsc { id: i, slices } if *s == set_id && i == id => Some(slices.clone()),
            _ => None,
        });
        let (Some((length, fname)), Some(checksums)) = (desc, ifsc) else {
            return Err(Error::Format {
                file: name(),
                detail: format!(
                    "the description or checksums of file {} are missing from every PAR2 file",
                    hex(id)
                ),
            });
        };
        let n = length.div_ceil(slice) as usize;
        let fname_text = String::from_utf8_lossy(&fname).to_string();
        let p = Path::new(&fname_text);
        if fname_text.is_empty()
            || p.is_absolute()
            || p.components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(Error::Format {
                file: name(),
                detail: format!("file name {fname_text:?} is not a plain relative path: refused"),
            });
        }
        if checksums.len() < n {
            return Err(Error::Format {
                file: name(),
                detail: format!(
                    "{} has {} slice checksums for {n} slices",
                    String::from_utf8_lossy(&fname),
                    checksums.len()
                ),
            });
        }
        files.push(Entry {
            name: String::from_utf8_lossy(&fname).to_string(),
            length,
            checksums: checksums[..n].to_vec(),
            first_slice: first,
        });
        first += n;
    }
    let mut recovery: Vec<(u32, PathBuf, u64)> = Vec::new();
    for (s, p, path) in &all {
        if let Packet::Recovery {
            exponent,
            offset,
            len,
        } = p
        {
            if *s == set_id && *len == slice && !recovery.iter().any(|r| r.0 == *exponent) {
                recovery.push((*exponent, path.clone(), *offset));
            }
        }
    }
    recovery.sort_by_key(|r| r.0);
    Ok(Set {
        set_id,
        slice,
        files,
        recovery,
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
/// names).
pub fn verify(par2: &[PathBuf], sources: &[PathBuf]) -> Result<SetReport> {
    let set = load(par2)?;
    let found = locate(&set, sources)?;
    Ok(report(&set, &found, sources))
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
pub fn repair(
    par2: &[PathBuf],
    sources: &[PathBuf],
    out: &Path,
    memory: usize,
) -> Result<RepairReport> {
    let set = load(par2)?;
    let found = locate(&set, sources)?;
    let before = report(&set, &found, sources);
    let missing: Vec<usize> = (0..found.len()).filter(|&k| found[k].is_none()).collect();
    let m = missing.len();
    let repairable = m <= set.recovery.len();
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let logs = gf16::input_log_constants(found.len());
    let owner: Vec<(usize, u64)> = set
        .files
        .iter()
        .enumerate()
        .flat_map(|(fi, f)| (0..f.checksums.len() as u64).map(move |n| (fi, n)))
        .collect();

    // Partial files: every intact slice copied from its source; holes where slices are
    // missing.
    let partial = |f: &Entry| out.join(format!("{}.par2-partial", f.name));
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
            let mut o = std::fs::File::create(&p).map_err(io_err(&p))?;
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
        for (f, &w) in set.files.iter().zip(&writable) {
            if w {
                let _ = std::fs::remove_file(partial(f));
            }
        }
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
        written.push(f.name.clone());
    }
    Ok(RepairReport {
        before,
        written,
        lost,
    })
}
