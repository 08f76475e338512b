//! Sector scan: reads an image file, a pseudo drive or a block device (an optical drive) every
//! sector once, hashing each file's bytes on the way, with retries and a time limit.
//!
//! The scan works on [`ScanItem`]s (a file's extents, or an area of the file system) and
//! returns, per item, its digest when every sector was read, and the [`SectorMap`] of the
//! medium: which sectors could not be read and which were not reached before the time limit.
//! A later pass re-reads only what the map lists as pending.
//!
//! Image files are read by one thread per core, each taking the next item in disc order
//! (positional reads, so each byte is read once and hashed on the core that read it). A block
//! device is read by one thread in disc order: a drive seeking between two places is slower
//! than one hashing core.

use crate::digest::{HashAlg, MultiHasher};
use crate::error::IoContext;
use crate::progress::Progress;
use crate::Result;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::{FileExt, FileTypeExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bytes in a sector of an optical disc (and of an ISO 9660 image).
pub const SECTOR: u64 = 2048;

/// A medium that can be read at any sector: an image file, a pseudo drive, a block device.
pub trait SectorDevice: Send + Sync {
    /// How to name the medium in messages.
    fn name(&self) -> String;
    /// Bytes that can be addressed (the file's length, the device's size).
    fn size(&self) -> u64;
    /// Reads at a byte offset; fewer bytes than asked only at the end of the medium.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize>;
    /// Whether reads at different places may run at once (true for files; a drive seeks).
    fn parallel(&self) -> bool;
}

/// An image file, a pseudo drive (xorriso's `stdio:` target is a file) or a block device.
pub struct FileDevice {
    file: std::fs::File,
    path: PathBuf,
    len: u64,
    block: bool,
}

impl FileDevice {
    pub fn open(path: &Path) -> Result<FileDevice> {
        let file = std::fs::File::open(path).at(path)?;
        let md = file.metadata().at(path)?;
        let block = md.file_type().is_block_device();
        let len = if block {
            use std::io::Seek;
            (&file).seek(std::io::SeekFrom::End(0)).at(path)?
        } else {
            md.len()
        };
        Ok(FileDevice {
            file,
            path: path.to_path_buf(),
            len,
            block,
        })
    }

    /// Whether the path names a block device (an optical drive, say).
    pub fn is_block_device(&self) -> bool {
        self.block
    }
}

impl SectorDevice for FileDevice {
    fn name(&self) -> String {
        self.path.display().to_string()
    }
    fn size(&self) -> u64 {
        self.len
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
    fn parallel(&self) -> bool {
        !self.block
    }
}

/// A set of sector ranges, each `[start, end)`, sorted and disjoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SectorRanges(pub Vec<(u64, u64)>);

impl SectorRanges {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of sectors in the set.
    pub fn count(&self) -> u64 {
        self.0.iter().map(|(a, b)| b - a).sum()
    }

    /// Adds `[start, end)`, merging with neighbours.
    pub fn insert(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let (mut s, mut e) = (start, end);
        let mut out = Vec::with_capacity(self.0.len() + 1);
        let mut placed = false;
        for &(a, b) in &self.0 {
            if b < s {
                out.push((a, b));
            } else if a > e {
                if !placed {
                    out.push((s, e));
                    placed = true;
                }
                out.push((a, b));
            } else {
                s = s.min(a);
                e = e.max(b);
            }
        }
        if !placed {
            out.push((s, e));
        }
        out.sort_unstable();
        self.0 = out;
    }

    pub fn union(&self, other: &SectorRanges) -> SectorRanges {
        let mut r = self.clone();
        for &(a, b) in &other.0 {
            r.insert(a, b);
        }
        r
    }

    /// The part of the set within `[start, end)`.
    pub fn within(&self, start: u64, end: u64) -> SectorRanges {
        SectorRanges(
            self.0
                .iter()
                .filter_map(|&(a, b)| {
                    let (a, b) = (a.max(start), b.min(end));
                    (a < b).then_some((a, b))
                })
                .collect(),
        )
    }

    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.0.iter().any(|&(a, b)| a < end && start < b)
    }

    /// The set minus `other`.
    pub fn minus(&self, other: &SectorRanges) -> SectorRanges {
        let mut out = Vec::new();
        for &(a, b) in &self.0 {
            let mut cur = a;
            for &(c, d) in &other.0 {
                if d <= cur || c >= b {
                    continue;
                }
                if c > cur {
                    out.push((cur, c));
                }
                cur = cur.max(d);
            }
            if cur < b {
                out.push((cur, b));
            }
        }
        SectorRanges(out)
    }
}

impl std::fmt::Display for SectorRanges {
    /// `12-15, 40` (inclusive sector numbers).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SHOWN: usize = 8;
        for (i, &(a, b)) in self.0.iter().take(SHOWN).enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if b - a == 1 {
                write!(f, "{a}")?;
            } else {
                write!(f, "{a}-{}", b - 1)?;
            }
        }
        if self.0.len() > SHOWN {
            write!(f, " and {} more ranges", self.0.len() - SHOWN)?;
        }
        Ok(())
    }
}

/// Which sectors of a medium could not be read, and which were not reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectorMap {
    /// Sectors the file system says the medium has.
    pub total_sectors: u64,
    /// Sectors that failed every retry (or lie beyond the end of a truncated image).
    pub bad: SectorRanges,
    /// Sectors not read because the time limit ran out.
    pub unread: SectorRanges,
    /// Passes made over this medium so far.
    pub passes: u32,
}

impl SectorMap {
    /// What a later pass must read again.
    pub fn pending(&self) -> SectorRanges {
        self.bad.union(&self.unread)
    }
}

/// One thing the scan reads: a file's extents or an area of the file system.
#[derive(Debug, Clone)]
pub struct ScanItem {
    /// Extents as (first sector, length in bytes), in file order.
    pub extents: Vec<(u64, u64)>,
    /// The digest to compute over the bytes, if any.
    pub digest: Option<HashAlg>,
}

impl ScanItem {
    /// Sector ranges the item covers.
    pub fn sectors(&self) -> SectorRanges {
        let mut r = SectorRanges::default();
        for &(lba, len) in &self.extents {
            r.insert(lba, lba + len.div_ceil(SECTOR));
        }
        r
    }

    fn first_sector(&self) -> u64 {
        self.extents.first().map(|e| e.0).unwrap_or(0)
    }
}

/// How to scan.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default)]
pub struct ScanOptions {
    /// Reads of a failed sector after the first.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 2))]
    pub retries: u32,
    /// Stop reading after this many seconds; what is left is recorded as not read.
    #[cfg_attr(feature = "clap", arg(long, value_parser = seconds))]
    pub time_limit: Option<Duration>,
    /// Reading threads; 0 = one per core (one for a block device).
    #[cfg_attr(feature = "clap", arg(skip))]
    pub threads: usize,
    /// Read only items that touch these sectors (a later pass over a sector map).
    #[cfg_attr(feature = "clap", arg(skip))]
    pub only: Option<SectorRanges>,
}

/// A duration in seconds (`1.5`), as `--time-limit` takes it.
pub fn seconds(s: &str) -> std::result::Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|e: std::num::ParseFloatError| e.to_string())?;
    Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            retries: 2,
            time_limit: None,
            threads: 0,
            only: None,
        }
    }
}

/// What the scan found for one item.
#[derive(Debug, Clone, Default)]
pub struct ItemResult {
    /// False when the item was left out (it does not touch `ScanOptions::only`).
    pub scanned: bool,
    pub bytes: u64,
    /// The digest, when every byte was read.
    pub digest: Option<String>,
    pub bad: SectorRanges,
    pub unread: SectorRanges,
    /// An error of the sink the bytes were written to.
    pub sink_error: Option<String>,
}

impl ItemResult {
    pub fn complete(&self) -> bool {
        self.scanned && self.bad.is_empty() && self.unread.is_empty()
    }
}

/// Where an item's bytes go besides the hasher (restore and read-back write them to files).
pub trait ItemSink: Sync {
    fn open(&self, item: usize) -> std::io::Result<Option<Box<dyn Write>>>;
}

/// Hashes only.
pub struct NoSink;

impl ItemSink for NoSink {
    fn open(&self, _item: usize) -> std::io::Result<Option<Box<dyn Write>>> {
        Ok(None)
    }
}

const CHUNK: usize = 1 << 20;

/// Reads every item, returning a result per item and the sector map of what was scanned.
pub fn scan(
    dev: &dyn SectorDevice,
    total_sectors: u64,
    items: &[ScanItem],
    opts: &ScanOptions,
    sink: &dyn ItemSink,
    progress: &dyn Progress,
) -> (Vec<ItemResult>, SectorMap) {
    // A drive reads in disc order. Image files are read largest item first, so that no core is
    // left hashing one big file alone at the end.
    let mut order: Vec<usize> = (0..items.len()).collect();
    if dev.parallel() {
        order.sort_by_key(|&i| {
            let bytes: u64 = items[i].extents.iter().map(|e| e.1).sum();
            (std::cmp::Reverse(bytes), items[i].first_sector())
        });
    } else {
        order.sort_by_key(|&i| items[i].first_sector());
    }
    let threads = if !dev.parallel() {
        1
    } else if opts.threads > 0 {
        opts.threads
    } else {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    };
    let deadline = opts.time_limit.map(|d| Instant::now() + d);
    let next = AtomicUsize::new(0);
    let expired = AtomicBool::new(false);
    let results: Vec<Mutex<ItemResult>> = items
        .iter()
        .map(|_| Mutex::new(ItemResult::default()))
        .collect();
    let ctx = Ctx {
        dev,
        opts,
        deadline,
        expired: &expired,
        progress,
    };
    std::thread::scope(|s| {
        for _ in 0..threads.min(items.len().max(1)) {
            s.spawn(|| {
                let mut buf = vec![0u8; CHUNK];
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&i) = order.get(k) else { break };
                    let r = ctx.item(&items[i], i, sink, &mut buf);
                    *results[i].lock().unwrap() = r;
                }
            });
        }
    });
    let results: Vec<ItemResult> = results
        .into_iter()
        .map(|m| m.into_inner().unwrap())
        .collect();
    let mut map = SectorMap {
        total_sectors,
        passes: 1,
        ..Default::default()
    };
    for r in &results {
        map.bad = map.bad.union(&r.bad);
        map.unread = map.unread.union(&r.unread);
    }
    (results, map)
}

struct Ctx<'a> {
    dev: &'a dyn SectorDevice,
    opts: &'a ScanOptions,
    deadline: Option<Instant>,
    expired: &'a AtomicBool,
    progress: &'a dyn Progress,
}

impl Ctx<'_> {
    fn out_of_time(&self) -> bool {
        if self.expired.load(Ordering::Relaxed) {
            return true;
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.expired.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }

    fn item(
        &self,
        item: &ScanItem,
        index: usize,
        sink: &dyn ItemSink,
        buf: &mut [u8],
    ) -> ItemResult {
        let mut r = ItemResult::default();
        if let Some(only) = &self.opts.only {
            let s = item.sectors();
            if !s.0.iter().any(|&(a, b)| only.overlaps(a, b)) {
                return r;
            }
        }
        r.scanned = true;
        let mut hasher = item.digest.map(|a| MultiHasher::new(&[a]));
        let mut out = match sink.open(index) {
            Ok(o) => o,
            Err(e) => {
                r.sink_error = Some(e.to_string());
                None
            }
        };
        for &(lba, len) in &item.extents {
            let mut pos = 0u64;
            while pos < len {
                let sector = lba + pos / SECTOR;
                let k = (len - pos).min(buf.len() as u64) as usize;
                if self.out_of_time() {
                    r.unread.insert(sector, lba + len.div_ceil(SECTOR));
                    break;
                }
                let chunk = &mut buf[..k];
                self.read_chunk(sector, chunk, &mut r.bad);
                if let Some(h) = hasher.as_mut() {
                    h.update(chunk);
                }
                if let Some(o) = out.as_mut() {
                    if let Err(e) = o.write_all(chunk) {
                        r.sink_error.get_or_insert(e.to_string());
                        out = None;
                    }
                }
                r.bytes += k as u64;
                self.progress.advance(0, k as u64);
                pos += k as u64;
            }
        }
        if let Some(mut o) = out {
            if let Err(e) = o.flush() {
                r.sink_error.get_or_insert(e.to_string());
            }
        }
        self.progress.advance(1, 0);
        if r.bad.is_empty() && r.unread.is_empty() {
            r.digest = hasher.map(|h| h.finish().0.remove(0).1);
        }
        r
    }

    /// Fills `chunk` from `sector` on; sectors that fail every retry are zeroed and recorded.
    fn read_chunk(&self, sector: u64, chunk: &mut [u8], bad: &mut SectorRanges) {
        let off = sector * SECTOR;
        match self.dev.read_at(chunk, off) {
            Ok(n) if n == chunk.len() => return,
            Ok(n) if n < chunk.len() && off + n as u64 >= self.dev.size() => {
                // The medium ends here: everything after is missing.
                let first_missing = sector + n as u64 / SECTOR;
                chunk[n..].fill(0);
                bad.insert(
                    first_missing,
                    sector + (chunk.len() as u64).div_ceil(SECTOR),
                );
                return;
            }
            _ => {}
        }
        // Sector by sector, with retries.
        for (j, piece) in chunk.chunks_mut(SECTOR as usize).enumerate() {
            let s = sector + j as u64;
            let mut ok = false;
            for attempt in 0..=self.opts.retries {
                if attempt > 0 && self.out_of_time() {
                    break;
                }
                if let Ok(n) = self.dev.read_at(piece, s * SECTOR) {
                    if n == piece.len() {
                        ok = true;
                        break;
                    }
                    if s * SECTOR + n as u64 >= self.dev.size() {
                        break; // beyond the end: retrying cannot help
                    }
                }
            }
            if !ok {
                piece.fill(0);
                bad.insert(s, s + 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;
    use std::collections::HashMap;

    /// A medium in memory whose listed sectors fail a number of times (or always).
    struct Flaky {
        data: Vec<u8>,
        fails: Mutex<HashMap<u64, u32>>,
        delay: Duration,
    }

    impl SectorDevice for Flaky {
        fn name(&self) -> String {
            "flaky".into()
        }
        fn size(&self) -> u64 {
            self.data.len() as u64
        }
        fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
            std::thread::sleep(self.delay);
            let first = offset / SECTOR;
            let last = (offset + buf.len() as u64).div_ceil(SECTOR);
            let mut fails = self.fails.lock().unwrap();
            for s in first..last {
                if let Some(n) = fails.get_mut(&s) {
                    if *n > 0 {
                        *n -= 1;
                        return Err(std::io::Error::other("medium error"));
                    }
                }
            }
            let start = (offset as usize).min(self.data.len());
            let end = (start + buf.len()).min(self.data.len());
            buf[..end - start].copy_from_slice(&self.data[start..end]);
            Ok(end - start)
        }
        fn parallel(&self) -> bool {
            true
        }
    }

    fn medium(sectors: u64) -> Vec<u8> {
        (0..sectors * SECTOR).map(|i| (i * 7 % 251) as u8).collect()
    }

    fn sha(data: &[u8]) -> String {
        crate::digest::digest_bytes(&[HashAlg::Sha256], data).0[0]
            .1
            .clone()
    }

    #[test]
    fn ranges_merge_and_subtract() {
        let mut r = SectorRanges::default();
        r.insert(10, 12);
        r.insert(20, 25);
        r.insert(12, 14);
        r.insert(5, 6);
        assert_eq!(r.0, vec![(5, 6), (10, 14), (20, 25)]);
        r.insert(8, 21);
        assert_eq!(r.0, vec![(5, 6), (8, 25)]);
        assert_eq!(r.count(), 18);
        let m = r.minus(&SectorRanges(vec![(9, 10), (24, 30)]));
        assert_eq!(m.0, vec![(5, 6), (8, 9), (10, 24)]);
        assert_eq!(r.within(0, 9).0, vec![(5, 6), (8, 9)]);
        assert_eq!(m.to_string(), "5, 8, 10-23");
    }

    #[test]
    fn retries_read_a_sector_that_fails_twice_and_map_one_that_always_fails() {
        let data = medium(600);
        let dev = Flaky {
            data: data.clone(),
            fails: Mutex::new(HashMap::from([(3, 2), (520, u32::MAX)])),
            delay: Duration::ZERO,
        };
        let items = vec![
            ScanItem {
                extents: vec![(0, 10 * SECTOR)],
                digest: Some(HashAlg::Sha256),
            },
            ScanItem {
                extents: vec![(10, 590 * SECTOR - 100)],
                digest: Some(HashAlg::Sha256),
            },
        ];
        let (res, map) = scan(
            &dev,
            600,
            &items,
            &ScanOptions::default(),
            &NoSink,
            &NoProgress,
        );
        assert_eq!(
            res[0].digest.as_deref(),
            Some(sha(&data[..10 * 2048]).as_str())
        );
        assert!(res[1].digest.is_none());
        assert_eq!(res[1].bad.0, vec![(520, 521)]);
        assert_eq!(map.bad.0, vec![(520, 521)]);
        assert!(map.unread.is_empty());

        // No retries: the sector that fails twice is bad too.
        let dev = Flaky {
            data,
            fails: Mutex::new(HashMap::from([(3, 2)])),
            delay: Duration::ZERO,
        };
        let opts = ScanOptions {
            retries: 0,
            ..Default::default()
        };
        let (res, _) = scan(&dev, 600, &items, &opts, &NoSink, &NoProgress);
        assert_eq!(res[0].bad.0, vec![(3, 4)]);
        assert!(res[1].complete());
    }

    #[test]
    fn a_truncated_medium_maps_the_missing_sectors() {
        let mut data = medium(100);
        data.truncate(40 * 2048 + 100);
        let dev = Flaky {
            data,
            fails: Mutex::new(HashMap::new()),
            delay: Duration::ZERO,
        };
        let items = vec![ScanItem {
            extents: vec![(30, 70 * SECTOR)],
            digest: Some(HashAlg::Sha256),
        }];
        let (res, map) = scan(
            &dev,
            100,
            &items,
            &ScanOptions::default(),
            &NoSink,
            &NoProgress,
        );
        assert_eq!(map.bad.0, vec![(40, 100)]);
        assert!(res[0].digest.is_none());
    }

    #[test]
    fn the_time_limit_leaves_the_rest_unread_and_a_later_pass_reads_only_that() {
        let data = medium(2048);
        let items: Vec<ScanItem> = (0..8)
            .map(|i| ScanItem {
                extents: vec![(i * 256, 256 * SECTOR)],
                digest: Some(HashAlg::Sha256),
            })
            .collect();
        let dev = Flaky {
            data: data.clone(),
            fails: Mutex::new(HashMap::new()),
            delay: Duration::from_millis(40),
        };
        let opts = ScanOptions {
            time_limit: Some(Duration::from_millis(100)),
            threads: 1,
            ..Default::default()
        };
        let (res, map) = scan(&dev, 2048, &items, &opts, &NoSink, &NoProgress);
        assert!(map.bad.is_empty());
        assert!(!map.unread.is_empty(), "{map:?}");
        assert!(res[0].complete());
        assert!(!res[7].complete());
        let pending = map.pending();
        let opts = ScanOptions {
            only: Some(pending.clone()),
            threads: 1,
            ..Default::default()
        };
        let (res2, map2) = scan(&dev, 2048, &items, &opts, &NoSink, &NoProgress);
        assert!(map2.pending().is_empty());
        for (i, r) in res2.iter().enumerate() {
            let touched = pending.overlaps(i as u64 * 256, (i as u64 + 1) * 256);
            assert_eq!(r.scanned, touched, "item {i}");
            if touched {
                let want = sha(&data[i * 256 * 2048..(i + 1) * 256 * 2048]);
                assert_eq!(r.digest.as_deref(), Some(want.as_str()));
            }
        }
    }
}
