//! Creating a PAR2 set: `<base>.par2` (the critical packets) and `<base>.vol<first>+<count>.par2`
//! (the recovery slices, with the critical packets again), as par2cmdline names them.
//!
//! Memory stays bounded whatever the size of the input: the recovery slices are computed a
//! column range at a time (a range of bytes of every slice), as many ranges as the memory limit
//! needs, and input slices are read in batches of that range. When one range covers whole slices
//! (the usual case up to a DVD at 10%), the input is read once, hashed on the way.

use crate::md5x::{self, Md5Stream};
use crate::packets::{self, Id};
use crate::{engine, gf16, Error, Result};
use rayon::prelude::*;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A file to protect.
#[derive(Debug, Clone)]
pub struct Input {
    /// Its name in the set: a relative path with `/` (UTF-8), as par2cmdline stores it.
    pub name: String,
    /// Where its bytes are read.
    pub path: PathBuf,
    /// Only these bytes of `path` (offset, length): a part of a file split across discs.
    pub range: Option<(u64, u64)>,
}

impl Input {
    /// A whole file.
    pub fn file(name: impl Into<String>, path: impl Into<PathBuf>) -> Input {
        Input {
            name: name.into(),
            path: path.into(),
            range: None,
        }
    }

    /// `length` bytes of `path` from `offset`.
    pub fn part(
        name: impl Into<String>,
        path: impl Into<PathBuf>,
        offset: u64,
        length: u64,
    ) -> Input {
        Input {
            name: name.into(),
            path: path.into(),
            range: Some((offset, length)),
        }
    }

    fn base(&self) -> u64 {
        self.range.map(|r| r.0).unwrap_or(0)
    }
}

/// Reads bytes `[off, off + buf.len())` of an input of `len` bytes (zero past its end).
fn read_input(
    f: &mut std::fs::File,
    i: &Input,
    len: u64,
    off: u64,
    buf: &mut [u8],
) -> Result<usize> {
    if off >= len {
        buf.fill(0);
        return Ok(0);
    }
    let n = ((len - off) as usize).min(buf.len());
    let got = read_at(f, &i.path, i.base() + off, &mut buf[..n])?;
    buf[n..].fill(0);
    Ok(got)
}

/// How to create.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    /// Slice size in bytes (a multiple of 4); chosen when `None`: the smallest multiple of
    /// `slice_align` that keeps the input within 32,768 slices.
    pub slice_size: Option<u64>,
    /// Alignment of a chosen slice size (2048: a disc sector, so unreadable sectors map to
    /// whole slices).
    pub slice_align: u64,
    /// Recovery slices, as a percentage of the input slices (par2cmdline's `-r`).
    pub redundancy_percent: f64,
    /// Or exactly this many recovery slices.
    pub recovery_slices: Option<u32>,
    /// Exponent of the first recovery slice (0 by default): sets written in several volume
    /// files with disjoint exponents (say one per disc) pool their slices in a repair.
    pub first_exponent: u32,
    /// Memory for recovery and input buffers.
    pub memory_limit: usize,
    /// The creator packet's text.
    pub creator: String,
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions {
            slice_size: None,
            slice_align: 2048,
            redundancy_percent: 10.0,
            recovery_slices: None,
            first_exponent: 0,
            memory_limit: 208 << 20,
            creator: format!("discvault par2 {}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Created {
    pub set_id: Id,
    pub slice_size: u64,
    pub input_slices: u32,
    pub recovery_slices: u32,
    /// `<base>.par2`, then the volume file.
    pub files: Vec<PathBuf>,
    /// Column passes over the input (1 when the recovery data fit in memory at once).
    pub passes: u32,
}

/// The sizes of the two files [`create`] writes, known before anything is read: what a disc
/// layout must reserve for them. `inputs` are (name, length) pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetSize {
    /// `<base>.par2`
    pub index_bytes: u64,
    /// `<base>.vol…par2`
    pub volume_bytes: u64,
}

pub fn set_size(
    inputs: &[(&str, u64)],
    slice: u64,
    recovery_slices: u32,
    creator: &str,
) -> SetSize {
    let pad4 = |n: u64| n.div_ceil(4) * 4;
    let header = packets::HEADER as u64;
    let mut critical = header + 12 + 16 * inputs.len() as u64;
    for (name, len) in inputs {
        critical += header + 56 + pad4(name.len() as u64);
        critical += header + 16 + 20 * len.div_ceil(slice);
    }
    let creator = header + pad4(creator.len() as u64);
    SetSize {
        index_bytes: critical + creator,
        volume_bytes: recovery_slices as u64 * (header + 4 + slice) + critical + creator,
    }
}

/// The name of the volume file [`create`] writes for `recovery_slices` slices from exponent
/// `first`: `<base>.volFF+NN.par2`, numbers at least two digits wide, as par2cmdline names them.
pub fn volume_file_name(base: &str, first: u32, recovery_slices: u32) -> String {
    let width = (first + recovery_slices).max(1).to_string().len().max(2);
    format!("{base}.vol{first:0width$}+{recovery_slices:0width$}.par2")
}

/// The input slice limit of PAR2 (the number of usable constants is larger; par2cmdline keeps
/// to this).
pub const MAX_INPUT_SLICES: u64 = 32768;

/// The smallest slice size, a multiple of `align`, that cuts the files into at most `limit`
/// slices.
pub fn choose_slice_size(lengths: &[u64], align: u64, limit: u64) -> u64 {
    let align = align.max(4).div_ceil(4) * 4;
    let count = |s: u64| lengths.iter().map(|l| l.div_ceil(s)).sum::<u64>();
    let total: u64 = lengths.iter().sum();
    let mut lo = 1u64;
    let mut hi = total.div_ceil(align).max(1);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if count(mid * align) <= limit {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo * align
}

struct FileInfo {
    input: Input,
    len: u64,
    first_slice: usize,
    slices: usize,
    id: Id,
    hash: Id,
    hash_16k: Id,
    checksums: Vec<(Id, u32)>,
}

pub(crate) fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

/// Reads `buf.len()` bytes at `offset` (fewer at the end of the file: the rest is zeroed).
pub(crate) fn read_at(
    f: &mut std::fs::File,
    path: &Path,
    offset: u64,
    buf: &mut [u8],
) -> Result<usize> {
    f.seek(SeekFrom::Start(offset)).map_err(io_err(path))?;
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]).map_err(io_err(path))? {
            0 => break,
            k => n += k,
        }
    }
    buf[n..].fill(0);
    Ok(n)
}

/// Creates a PAR2 set over `inputs` in `dir`.
pub fn create(inputs: &[Input], dir: &Path, base: &str, opts: &CreateOptions) -> Result<Created> {
    if inputs.is_empty() {
        return Err(Error::Input("no files to protect".into()));
    }
    let mut lens = Vec::new();
    for i in inputs {
        let m = std::fs::metadata(&i.path).map_err(io_err(&i.path))?;
        match i.range {
            Some((o, l)) if o.checked_add(l).is_none_or(|end| end > m.len()) => {
                return Err(Error::Input(format!(
                    "{}: bytes {o}..{} asked, the file has {}",
                    i.path.display(),
                    o.saturating_add(l),
                    m.len()
                )))
            }
            Some((_, l)) => lens.push(l),
            None => lens.push(m.len()),
        }
    }
    let slice = match opts.slice_size {
        Some(s) if s > 0 && s % 4 == 0 => s,
        Some(s) => {
            return Err(Error::Input(format!(
                "slice size {s} is not a positive multiple of 4"
            )))
        }
        None => choose_slice_size(&lens, opts.slice_align, MAX_INPUT_SLICES),
    };
    // File ids (from the first 16 KiB, the length and the name) order the input slices.
    let mut files: Vec<FileInfo> = inputs
        .par_iter()
        .zip(&lens)
        .map(|(i, len)| {
            let mut f = std::fs::File::open(&i.path).map_err(io_err(&i.path))?;
            let mut head = vec![0u8; 16384.min(*len as usize)];
            read_input(&mut f, i, *len, 0, &mut head)?;
            let hash_16k = packets::md5(&head);
            let n = len.div_ceil(slice) as usize;
            Ok(FileInfo {
                input: i.clone(),
                len: *len,
                first_slice: 0,
                slices: n,
                id: packets::file_id(&hash_16k, *len, i.name.as_bytes()),
                hash: [0; 16],
                hash_16k,
                checksums: Vec::with_capacity(n),
            })
        })
        .collect::<Result<_>>()?;
    files.sort_by_key(|f| f.id);
    if files.windows(2).any(|w| w[0].id == w[1].id) {
        return Err(Error::Input(format!(
            "{} is given twice (same name, length and start)",
            files.windows(2).find(|w| w[0].id == w[1].id).unwrap()[0]
                .input
                .name
        )));
    }
    let mut first = 0usize;
    for f in files.iter_mut() {
        f.first_slice = first;
        first += f.slices;
    }
    let n_in = first;
    if n_in as u64 > MAX_INPUT_SLICES {
        return Err(Error::Input(format!(
            "{n_in} input slices of {slice} bytes: more than PAR2's {MAX_INPUT_SLICES}"
        )));
    }
    let n_rec = match opts.recovery_slices {
        Some(r) => r as usize,
        None => ((n_in as f64 * opts.redundancy_percent + 50.0) / 100.0)
            .floor()
            .max(1.0) as usize,
    };
    let first_exp = opts.first_exponent;
    if n_rec as u64 + first_exp as u64 > 65534 {
        return Err(Error::Input(format!(
            "recovery slices {first_exp}..{}: PAR2 allows exponents up to 65,534",
            first_exp as u64 + n_rec as u64
        )));
    }
    let logs = gf16::input_log_constants(n_in);

    // The volume file: recovery packets first (their headers are written once their slices
    // are complete), then the critical packets.
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let index_path = dir.join(format!("{base}.par2"));
    let vol_path = dir.join(volume_file_name(base, first_exp, n_rec as u32));
    let packet_len = packets::HEADER as u64 + 4 + slice;
    let mut vol = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&vol_path)
        .map_err(io_err(&vol_path))?;
    vol.set_len(packet_len * n_rec as u64)
        .map_err(io_err(&vol_path))?;

    // Inputs are read round-robin over the files, so that the files' MD5 chains advance side
    // by side.
    let mut order: Vec<usize> = Vec::with_capacity(n_in);
    let most = files.iter().map(|f| f.slices).max().unwrap_or(0);
    for r in 0..most {
        for f in &files {
            if r < f.slices {
                order.push(f.first_slice + r);
            }
        }
    }
    // Input k: which file, which slice of it.
    let owner: Vec<(usize, u64)> = files
        .iter()
        .enumerate()
        .flat_map(|(fi, f)| (0..f.slices as u64).map(move |n| (fi, n)))
        .collect();
    let mut readers: Vec<Option<std::fs::File>> = (0..files.len()).map(|_| None).collect();
    let hashes: std::sync::Mutex<Vec<Md5Stream>> =
        std::sync::Mutex::new((0..files.len()).map(|_| Md5Stream::new()).collect());
    let sums: std::sync::Mutex<Vec<(Id, u32)>> = std::sync::Mutex::new(vec![([0; 16], 0); n_in]);
    let hashed = std::sync::atomic::AtomicBool::new(false);
    let hook = |ks: &[usize], raw: &[u8], lens: &[usize]| {
        hashed.store(true, std::sync::atomic::Ordering::Relaxed);
        let stride = raw.len() / ks.len();
        rayon::join(
            || {
                // MD5s: each slice (padded with zeros) and each file (its pieces in order, a
                // serial chain per file), all streams side by side.
                let mut files_h = hashes.lock().unwrap();
                let mut slices: Vec<Md5Stream> = ks.iter().map(|_| Md5Stream::new()).collect();
                let mut pieces: std::collections::BTreeMap<usize, Vec<&[u8]>> = Default::default();
                for (j, &k) in ks.iter().enumerate() {
                    pieces
                        .entry(owner[k].0)
                        .or_default()
                        .push(&raw[j * stride..j * stride + lens[j]]);
                }
                let mut jobs: Vec<(&mut Md5Stream, Vec<&[u8]>)> = slices
                    .iter_mut()
                    .enumerate()
                    .map(|(j, s)| (s, vec![&raw[j * stride..(j + 1) * stride]]))
                    .collect();
                for (fi, h) in files_h.iter_mut().enumerate() {
                    if let Some(p) = pieces.remove(&fi) {
                        jobs.push((h, p));
                    }
                }
                md5x::update_many(&mut jobs);
                drop(jobs);
                let mut all = sums.lock().unwrap();
                for (&k, s) in ks.iter().zip(slices) {
                    all[k].0 = s.finalize();
                }
            },
            || {
                let v: Vec<u32> = raw.par_chunks(stride).map(crc32fast::hash).collect();
                let mut all = sums.lock().unwrap();
                for (&k, c) in ks.iter().zip(v) {
                    all[k].1 = c;
                }
            },
        );
    };
    let mut read = |k: usize, offset: u64, buf: &mut [u8]| -> Result<usize> {
        let (fi, n) = owner[k];
        let f = &files[fi];
        let off = n * slice + offset;
        if off >= f.len {
            buf.fill(0);
            return Ok(0);
        }
        let r = match &mut readers[fi] {
            Some(r) => r,
            slot => slot.insert(std::fs::File::open(&f.input.path).map_err(io_err(&f.input.path))?),
        };
        let got = read_input(r, &f.input, f.len, off, buf)?;
        // A file read to the end of its last slice is closed: a set may hold tens of
        // thousands of files (another column pass opens it again).
        if n + 1 == f.slices as u64 && offset + buf.len() as u64 >= slice {
            readers[fi] = None;
        }
        Ok(got)
    };
    let coeff = |k: usize, o: usize| gf16::coefficient(logs[k], first_exp + o as u32);
    let mut write = |o: usize, offset: u64, words: &[u8]| -> Result<()> {
        let at = o as u64 * packet_len + packets::HEADER as u64 + 4 + offset;
        vol.seek(SeekFrom::Start(at)).map_err(io_err(&vol_path))?;
        vol.write_all(words).map_err(io_err(&vol_path))
    };
    let passes = engine::combine(engine::Job {
        inputs: n_in,
        outputs: n_rec,
        slice,
        memory: opts.memory_limit,
        read: &mut read,
        coeff: &coeff,
        write: &mut write,
        whole_slices: Some(&hook),
        order: Some(&order),
    })?;
    drop(readers);
    if hashed.load(std::sync::atomic::Ordering::Relaxed) {
        let sums = sums.into_inner().unwrap();
        for ((f, h), fi) in files.iter_mut().zip(hashes.into_inner().unwrap()).zip(0..) {
            f.hash = h.finalize();
            let _ = fi;
            f.checksums = sums[f.first_slice..f.first_slice + f.slices].to_vec();
        }
    } else {
        // The input was read in column ranges: hash it in a pass of its own.
        files.par_iter_mut().try_for_each(|f| hash_file(f, slice))?;
    }

    // The critical packets.
    let ids: Vec<Id> = files.iter().map(|f| f.id).collect();
    let main_body = packets::main_body(slice, &ids);
    let set_id = packets::md5(&main_body);
    let mut critical = packets::packet(&set_id, packets::TYPE_MAIN, &main_body);
    for f in &files {
        critical.extend(packets::packet(
            &set_id,
            packets::TYPE_FILE_DESC,
            &packets::file_desc_body(&f.id, &f.hash, &f.hash_16k, f.len, f.input.name.as_bytes()),
        ));
        critical.extend(packets::packet(
            &set_id,
            packets::TYPE_IFSC,
            &packets::ifsc_body(&f.id, &f.checksums),
        ));
    }
    let creator = packets::packet(&set_id, packets::TYPE_CREATOR, opts.creator.as_bytes());

    // Recovery packet headers: a packet's MD5 covers bytes 32.. of it (set id, type,
    // exponent, slice), hashed for up to 16 packets side by side.
    for r in 0..n_rec {
        let head = packets::recovery_prefix(&set_id, first_exp + r as u32, slice);
        vol.seek(SeekFrom::Start(r as u64 * packet_len))
            .map_err(io_err(&vol_path))?;
        vol.write_all(&head).map_err(io_err(&vol_path))?;
    }
    let group = (opts.memory_limit / packet_len as usize).clamp(1, 16);
    let body = packet_len as usize - 32;
    let mut bufs = vec![0u8; group * body];
    for g in (0..n_rec).step_by(group) {
        let rs: Vec<usize> = (g..(g + group).min(n_rec)).collect();
        for (j, &r) in rs.iter().enumerate() {
            read_at(
                &mut vol,
                &vol_path,
                r as u64 * packet_len + 32,
                &mut bufs[j * body..(j + 1) * body],
            )?;
        }
        let mut streams: Vec<Md5Stream> = rs.iter().map(|_| Md5Stream::new()).collect();
        let mut jobs: Vec<(&mut Md5Stream, Vec<&[u8]>)> = streams
            .iter_mut()
            .enumerate()
            .map(|(j, st)| (st, vec![&bufs[j * body..(j + 1) * body]]))
            .collect();
        md5x::update_many(&mut jobs);
        drop(jobs);
        for (&r, st) in rs.iter().zip(streams) {
            vol.seek(SeekFrom::Start(r as u64 * packet_len + 16))
                .map_err(io_err(&vol_path))?;
            vol.write_all(&st.finalize()).map_err(io_err(&vol_path))?;
        }
    }
    vol.seek(SeekFrom::End(0)).map_err(io_err(&vol_path))?;
    vol.write_all(&critical).map_err(io_err(&vol_path))?;
    vol.write_all(&creator).map_err(io_err(&vol_path))?;
    vol.sync_all().map_err(io_err(&vol_path))?;
    let mut index = critical;
    index.extend(creator);
    std::fs::write(&index_path, &index).map_err(io_err(&index_path))?;
    Ok(Created {
        set_id,
        slice_size: slice,
        input_slices: n_in as u32,
        recovery_slices: n_rec as u32,
        files: vec![index_path, vol_path],
        passes,
    })
}

/// Hashes one file in a pass of its own: whole-file MD5 and slice checksums.
fn hash_file(f: &mut FileInfo, slice: u64) -> Result<()> {
    let path = f.input.path.clone();
    let mut r = std::fs::File::open(&path).map_err(io_err(&path))?;
    let mut file = Md5Stream::new();
    let s = slice as usize;
    // Up to 16 slices at a time, their MD5s and the file's side by side on the lanes.
    let group = ((32usize << 20) / s.max(1)).clamp(1, 16);
    let mut buf = vec![0u8; group * s];
    f.checksums.clear();
    for first in (0..f.slices).step_by(group) {
        let ks = first..(first + group).min(f.slices);
        let mut lens = Vec::new();
        for (j, k) in ks.clone().enumerate() {
            lens.push(read_input(
                &mut r,
                &f.input,
                f.len,
                k as u64 * slice,
                &mut buf[j * s..(j + 1) * s],
            )?);
        }
        let mut slices: Vec<Md5Stream> = lens.iter().map(|_| Md5Stream::new()).collect();
        let mut jobs: Vec<(&mut Md5Stream, Vec<&[u8]>)> = slices
            .iter_mut()
            .enumerate()
            .map(|(j, st)| (st, vec![&buf[j * s..(j + 1) * s]]))
            .collect();
        jobs.push((
            &mut file,
            lens.iter()
                .enumerate()
                .map(|(j, &n)| &buf[j * s..j * s + n])
                .collect(),
        ));
        md5x::update_many(&mut jobs);
        drop(jobs);
        for (j, st) in slices.into_iter().enumerate() {
            f.checksums
                .push((st.finalize(), crc32fast::hash(&buf[j * s..(j + 1) * s])));
        }
    }
    f.hash = file.finalize();
    Ok(())
}
