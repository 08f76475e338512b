//! Fuzzes the UDF reader: `cargo run --release -p isoimage --example fuzz_udf -- SECONDS`.
//! Seeds are real images from our writer; findings go to `tests/fuzz-corpus/udf/`, which
//! `tests/fuzz_corpus.rs` replays. See `fuzz/mutator.rs` and RELIABILITY.md.

#[path = "../../../fuzz/mutator.rs"]
mod mutator;
#[path = "../tests/common/fuzz_udf.rs"]
mod target;

use std::sync::atomic::{AtomicU64, Ordering};

/// Inputs by how far they went (`target::Outcome`), printed by each worker as it ends.
static OUTCOMES: [AtomicU64; 3] = [const { AtomicU64::new(0) }; 3];

#[global_allocator]
static GUARD: mutator::Guard = mutator::Guard;

fn main() {
    let work = std::env::var_os("FUZZ_WORK")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("discvault-fuzz-udf"));
    std::fs::create_dir_all(&work).unwrap();
    let run = |data: &[u8]| {
        OUTCOMES[target::run(data) as usize].fetch_add(1, Ordering::Relaxed);
    };
    mutator::main_with(&mutator::Fuzz {
        corpus: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/udf"),
        work,
        seeds: target::seeds(),
        target: &run,
        max_len: 4 << 20,
        time_limit: std::time::Duration::from_secs(20),
        fixup: None,
        keep_offsets: true,
    });
    if std::env::args().any(|a| a == "--worker") {
        let n: Vec<u64> = OUTCOMES.iter().map(|o| o.load(Ordering::Relaxed)).collect();
        eprintln!(
            "outcomes: not opened {}, not listed {}, listed {}",
            n[0], n[1], n[2]
        );
    }
}
