//! A small mutation fuzzer without dependencies, shared by the codec crates' fuzz examples
//! (`crates/par2/examples/fuzz_par2.rs`, `crates/isoimage/examples/fuzz_iso.rs`, which include this file
//! with `#[path]`). cargo-fuzz needs a nightly toolchain and libFuzzer; this needs neither.
//!
//! A supervisor process runs a worker (the same binary with `--worker`) and restarts it when it
//! dies. The worker takes an input from the pool (the seeds: real outputs of our writers, and
//! every input saved so far), stacks a few mutations (bit flips, random bytes, interesting
//! numbers at length fields, inserted, deleted, duplicated and spliced ranges, truncation), and
//! runs the target on it under `catch_unwind`:
//!
//! - a panic saves the input as `panic-<hash>` in the corpus folder (one per panic location);
//! - an input that runs longer than the time limit, or an allocation beyond the memory limit,
//!   aborts the worker: the supervisor saves the input (written to `current` before each run) as
//!   `abort-<hash>`.
//!
//! Every saved input is replayed by a normal test of the crate (`tests/fuzz_corpus.rs`).

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The allocator of a fuzz worker: aborts on a single allocation beyond `SINGLE_LIMIT` or when
/// more than `TOTAL_LIMIT` bytes are outstanding (the supervisor then saves the input).
pub struct Guard;

pub const SINGLE_LIMIT: usize = 600 << 20;
pub const TOTAL_LIMIT: usize = 1536 << 20;
static OUTSTANDING: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Guard {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let total = OUTSTANDING.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        if layout.size() > SINGLE_LIMIT || total > TOTAL_LIMIT {
            std::process::abort();
        }
        // SAFETY: the caller's layout is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        OUTSTANDING.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let total = OUTSTANDING.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        if layout.size() > SINGLE_LIMIT || total > TOTAL_LIMIT {
            std::process::abort();
        }
        // SAFETY: as in `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            let grow = new_size - layout.size();
            let total = OUTSTANDING.fetch_add(grow, Ordering::Relaxed) + grow;
            if new_size > SINGLE_LIMIT || total > TOTAL_LIMIT {
                std::process::abort();
            }
        } else {
            OUTSTANDING.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        // SAFETY: as in `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// xorshift64*: fast, seeded, reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Numbers that break length and count fields.
const INTERESTING: &[u64] = &[
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    16,
    33,
    34,
    63,
    64,
    255,
    256,
    2047,
    2048,
    2049,
    4095,
    4096,
    32767,
    32768,
    65534,
    65535,
    65536,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_F800,
    0xFFFF_FFFF,
    1 << 32,
    1 << 40,
    1 << 62,
    u64::MAX - 3,
    u64::MAX,
];

/// An offset to mutate: half of the time one of the seed's non-zero bytes (the structures of
/// an image, not its padding), else anywhere.
fn offset(rng: &mut Rng, data: &[u8], hot: &[usize]) -> usize {
    if !hot.is_empty() && rng.below(2) == 0 {
        hot[rng.below(hot.len())].min(data.len().saturating_sub(1))
    } else {
        rng.below(data.len())
    }
}

/// Stacks 1 to 8 mutations on `data`. With `keep_offsets` (formats addressed by absolute
/// offsets, such as sectors of an image), mutations that shift bytes (insert, delete, truncate)
/// are rare: most inputs keep their structures where they were.
pub fn mutate(
    rng: &mut Rng,
    data: &mut Vec<u8>,
    pool: &[Vec<u8>],
    hot: &[usize],
    max: usize,
    keep_offsets: bool,
) {
    for _ in 0..1 + rng.below(8) {
        if data.is_empty() {
            data.push(rng.next() as u8);
        }
        let at = offset(rng, data, hot);
        let mut op = rng.below(11);
        if keep_offsets && matches!(op, 6 | 7 | 10) && rng.below(10) != 0 {
            op = rng.below(6);
        }
        match op {
            0 => data[at] ^= 1 << rng.below(8),
            1 => data[at] = rng.next() as u8,
            2..=4 => {
                // An interesting number, 1/2/4/8 bytes, either byte order.
                let v = INTERESTING[rng.below(INTERESTING.len())];
                let w = [1usize, 2, 4, 8][rng.below(4)];
                let mut b = v.to_le_bytes()[..w].to_vec();
                if rng.below(2) == 0 {
                    b.reverse();
                }
                let at = at.min(data.len().saturating_sub(w));
                let end = (at + w).min(data.len());
                data[at..end].copy_from_slice(&b[..end - at]);
            }
            5 => {
                // Add or subtract a little.
                let d = 1 + rng.below(16) as u8;
                data[at] = if rng.below(2) == 0 {
                    data[at].wrapping_add(d)
                } else {
                    data[at].wrapping_sub(d)
                };
            }
            6 => {
                let n = 1 + rng.below(64);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                data.splice(at..at, bytes);
            }
            7 => {
                let n = (1 + rng.below(256)).min(data.len() - at);
                data.drain(at..at + n);
            }
            8 => {
                // Copy a range elsewhere (overwrite or insert).
                let n = (1 + rng.below(2048)).min(data.len() - at);
                let chunk = data[at..at + n].to_vec();
                let to = rng.below(data.len());
                if keep_offsets || rng.below(2) == 0 {
                    let end = (to + n).min(data.len());
                    data[to..end].copy_from_slice(&chunk[..end - to]);
                } else {
                    data.splice(to..to, chunk);
                }
            }
            9 => {
                // Splice: the tail of another pool entry from the same offset.
                let other = &pool[rng.below(pool.len())];
                if at < other.len() {
                    let n = (1 + rng.below(4096)).min(other.len() - at);
                    let end = (at + n).min(data.len());
                    data[at..end].copy_from_slice(&other[at..end]);
                }
            }
            _ => data.truncate(at.max(1)),
        }
    }
    data.truncate(max);
}

/// FNV-1a, for names of saved inputs.
pub fn hash(b: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &x in b {
        h = (h ^ x as u64).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A fuzz target: runs one input (errors are fine, panics are findings).
pub type Target<'a> = &'a (dyn Fn(&[u8]) + Sync);

/// Repairs checksums of a mutated input (see [`Fuzz::fixup`]).
pub type Fixup<'a> = &'a (dyn Fn(&mut [u8]) + Sync);

/// Inputs counted by how far they went (the target's outcome, an index into `names`); a
/// worker prints the counts as it ends (`outcomes: refused 12, parsed 40`).
pub struct Outcomes<const N: usize> {
    names: [&'static str; N],
    counts: [AtomicU64; N],
}

impl<const N: usize> Outcomes<N> {
    pub const fn new(names: [&'static str; N]) -> Self {
        Outcomes {
            names,
            counts: [const { AtomicU64::new(0) }; N],
        }
    }

    pub fn count(&self, outcome: usize) {
        self.counts[outcome].fetch_add(1, Ordering::Relaxed);
    }

    /// Prints the counts, in a worker (the supervisor has none).
    pub fn report(&self) {
        if std::env::args().any(|a| a == "--worker") {
            let said: Vec<String> = self
                .names
                .iter()
                .zip(&self.counts)
                .map(|(n, c)| format!("{n} {}", c.load(Ordering::Relaxed)))
                .collect();
            eprintln!("outcomes: {}", said.join(", "));
        }
    }
}

pub struct Fuzz<'a> {
    /// Where findings are saved (`crates/<crate>/tests/fuzz-corpus/<target>`).
    pub corpus: PathBuf,
    /// Scratch folder of the worker (`current`, `stats`).
    pub work: PathBuf,
    pub seeds: Vec<Vec<u8>>,
    pub target: Target<'a>,
    /// Longest input made.
    pub max_len: usize,
    /// An input running longer is a finding.
    pub time_limit: Duration,
    /// Applied to most mutated inputs before they run: for formats whose structures carry
    /// checksums (PAR2 packets' MD5), so that mutated fields are reached instead of the whole
    /// structure being skipped as damaged.
    pub fixup: Option<Fixup<'a>>,
    /// Rarely shift bytes (see [`mutate`]).
    pub keep_offsets: bool,
}

static HEARTBEAT: AtomicU64 = AtomicU64::new(0);

fn now_ms(start: Instant) -> u64 {
    start.elapsed().as_millis() as u64
}

/// The fuzz worker: runs until `deadline` (seconds from now); writes `stats` (executions,
/// panics) every second.
pub fn worker(f: &Fuzz, seconds: u64, seed: u64) {
    let start = Instant::now();
    let limit = f.time_limit.as_millis() as u64;
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(200));
        if now_ms(start).saturating_sub(HEARTBEAT.load(Ordering::Relaxed)) > limit {
            std::process::abort();
        }
    });
    // Panics are expected findings: their message goes to a file, not the terminal.
    let last_panic = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let lp = last_panic.clone();
    std::panic::set_hook(Box::new(move |info| {
        let loc = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if let Ok(mut s) = lp.lock() {
            *s = format!("{loc} {info}");
        }
    }));
    std::fs::create_dir_all(&f.corpus).unwrap();
    let mut pool = f.seeds.clone();
    for e in std::fs::read_dir(&f.corpus).unwrap().flatten() {
        if let Ok(b) = std::fs::read(e.path()) {
            pool.push(b);
        }
    }
    let mut hot: Vec<Vec<usize>> = pool
        .iter()
        .map(|s| (0..s.len()).filter(|&i| s[i] != 0).collect())
        .collect();
    let mut seen: HashSet<String> = HashSet::new();
    let mut rng = Rng::new(seed);
    let (mut execs, mut panics) = (0u64, 0u64);
    let mut last_stats = Instant::now();
    let stats = f.work.join("stats");
    let current = f.work.join("current");
    while start.elapsed().as_secs() < seconds {
        let i = rng.below(pool.len());
        let mut input = pool[i].clone();
        mutate(
            &mut rng,
            &mut input,
            &pool,
            &hot[i],
            f.max_len,
            f.keep_offsets,
        );
        if let Some(fix) = f.fixup {
            if rng.below(8) != 0 {
                fix(&mut input);
            }
        }
        std::fs::write(&current, &input).unwrap();
        HEARTBEAT.store(now_ms(start), Ordering::Relaxed);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (f.target)(&input)));
        execs += 1;
        if r.is_err() {
            panics += 1;
            let msg = last_panic.lock().map(|s| s.clone()).unwrap_or_default();
            let loc = msg.split(' ').next().unwrap_or("").to_string();
            if seen.insert(loc.clone()) {
                let name = format!("panic-{:016x}", hash(&input));
                std::fs::write(f.corpus.join(&name), &input).unwrap();
                std::fs::write(f.work.join(format!("{name}.txt")), &msg).unwrap();
                hot.push((0..input.len()).filter(|&k| input[k] != 0).collect());
                pool.push(input);
            }
        }
        // Often enough that a worker that aborts loses few of its executions from the count.
        if execs % 256 == 0 || last_stats.elapsed() >= Duration::from_secs(1) {
            std::fs::write(&stats, format!("{execs} {panics}")).unwrap();
            last_stats = Instant::now();
        }
    }
    std::fs::write(&stats, format!("{execs} {panics}")).unwrap();
}

/// The supervisor: runs workers for `seconds` in all, restarting each one that dies and saving
/// the input it died on. Returns (executions, panics, aborts, seconds run).
pub fn supervise(f: &Fuzz, seconds: u64, args: &[String]) -> (u64, u64, u64, u64) {
    let start = Instant::now();
    std::fs::create_dir_all(&f.work).unwrap();
    std::fs::create_dir_all(&f.corpus).unwrap();
    let exe = std::env::current_exe().unwrap();
    let (mut execs, mut panics, mut aborts) = (0u64, 0u64, 0u64);
    let mut round = 0u64;
    let read_stats = |p: &Path| -> (u64, u64) {
        let s = std::fs::read_to_string(p).unwrap_or_default();
        let mut it = s.split_whitespace().map(|x| x.parse().unwrap_or(0));
        (it.next().unwrap_or(0), it.next().unwrap_or(0))
    };
    while start.elapsed().as_secs() < seconds {
        let left = seconds - start.elapsed().as_secs();
        let _ = std::fs::remove_file(f.work.join("stats"));
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(round)
            ^ round;
        let status = std::process::Command::new(&exe)
            .args(args)
            .arg("--worker")
            .arg(left.to_string())
            .arg(seed.to_string())
            .status()
            .unwrap();
        let (e, p) = read_stats(&f.work.join("stats"));
        execs += e;
        panics += p;
        if !status.success() {
            aborts += 1;
            if let Ok(input) = std::fs::read(f.work.join("current")) {
                let name = format!("abort-{:016x}", hash(&input));
                std::fs::write(f.corpus.join(&name), &input).unwrap();
                eprintln!("worker died ({status}): input saved as {name}");
            }
        }
        round += 1;
    }
    (execs, panics, aborts, start.elapsed().as_secs())
}

/// The `main` of a fuzz example: `fuzz [SECONDS]` supervises; `--worker SECONDS SEED` is the
/// worker it starts; `--replay DIR` runs every file of a folder once.
pub fn main_with(f: &Fuzz) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--worker") {
        let seconds = args[i + 1].parse().unwrap();
        let seed = args[i + 2].parse().unwrap();
        worker(f, seconds, seed);
        return;
    }
    if args.first().map(String::as_str) == Some("--replay") {
        // Every file of a folder once, in this process (an abort stops it, naming the file).
        let dir = PathBuf::from(&args[1]);
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        let mut panics = 0;
        for p in &paths {
            std::fs::write(f.work.join("current-name"), p.display().to_string()).unwrap();
            let input = std::fs::read(p).unwrap();
            let started = Instant::now();
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (f.target)(&input)))
                .is_err()
            {
                panics += 1;
                println!("{}: panicked", p.display());
            } else if started.elapsed() > Duration::from_secs(5) {
                println!("{}: {:?}", p.display(), started.elapsed());
            }
        }
        println!("{} inputs replayed, {panics} panics", paths.len());
        return;
    }
    let seconds: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(60);
    let (execs, panics, aborts, secs) = supervise(f, seconds, &[]);
    let saved = std::fs::read_dir(&f.corpus).map(|d| d.count()).unwrap_or(0);
    println!(
        "{}: {execs} executions in {secs} s, {panics} panics, {aborts} aborts (time or memory), \
         {saved} inputs in {}",
        f.corpus.file_name().unwrap().to_string_lossy(),
        f.corpus.display()
    );
}

/// How many inputs ended in each outcome (a target's outcome as an index) in this worker.
static OUTCOMES: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];

/// The `main` of a fuzz example over one kind of file we read: the work folder (`FUZZ_WORK`,
/// else `<temp>/discvault-fuzz-<name>`) and in it a scratch folder of this process, which
/// `setup` may fill (a fixture to take seeds from) before it gives the seeds and the target.
/// The target returns the index of its outcome; a worker prints how many inputs ended in each
/// of `outcomes`.
pub fn example_main<F>(
    name: &str,
    corpus: PathBuf,
    outcomes: &[&str],
    setup: impl FnOnce(&Path) -> (Vec<Vec<u8>>, F),
) where
    F: Fn(&[u8]) -> usize + Sync,
{
    let work = std::env::var_os("FUZZ_WORK")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("discvault-fuzz-{name}")));
    std::fs::create_dir_all(&work).unwrap();
    let scratch = work.join(format!("scratch-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let (seeds, target) = setup(&scratch);
    let run = |data: &[u8]| {
        OUTCOMES[target(data).min(OUTCOMES.len() - 1)].fetch_add(1, Ordering::Relaxed);
    };
    main_with(&Fuzz {
        corpus,
        work,
        seeds,
        target: &run,
        max_len: 1 << 20,
        time_limit: Duration::from_secs(20),
        fixup: None,
        keep_offsets: false,
    });
    let _ = std::fs::remove_dir_all(&scratch);
    if std::env::args().any(|a| a == "--worker") {
        let counts: Vec<String> = outcomes
            .iter()
            .zip(&OUTCOMES)
            .map(|(n, c)| format!("{n} {}", c.load(Ordering::Relaxed)))
            .collect();
        eprintln!("outcomes: {}", counts.join(", "));
    }
}
