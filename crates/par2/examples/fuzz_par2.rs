//! Fuzzes the PAR2 reader: `cargo run --release -p par2 --example fuzz_par2 -- SECONDS`.
//! Seeds are a real set made by `create`; findings go to `tests/fuzz-corpus/set/`, which
//! `tests/fuzz_corpus.rs` replays. See `fuzz/mutator.rs` and RELIABILITY.md.

#[path = "../../../fuzz/mutator.rs"]
mod mutator;
#[path = "../tests/common/fuzz_target.rs"]
mod target;

use std::sync::atomic::{AtomicU64, Ordering};

/// Inputs by how far they went (`target::Outcome`), printed by each worker as it ends.
static OUTCOMES: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];

#[global_allocator]
static GUARD: mutator::Guard = mutator::Guard;

fn main() {
    let work = std::env::var_os("FUZZ_WORK")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("discvault-fuzz-par2"));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let seeds = target::setup(&work);
    let dir = work.clone();
    let run = move |data: &[u8]| {
        OUTCOMES[target::run(&dir, data) as usize].fetch_add(1, Ordering::Relaxed);
    };
    mutator::main_with(&mutator::Fuzz {
        corpus: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/set"),
        work,
        seeds,
        target: &run,
        max_len: 1 << 20,
        time_limit: std::time::Duration::from_secs(20),
        fixup: Some(&target::fix_md5s),
        keep_offsets: false,
    });
    if std::env::args().any(|a| a == "--worker") {
        let n: Vec<u64> = OUTCOMES.iter().map(|o| o.load(Ordering::Relaxed)).collect();
        eprintln!(
            "outcomes: refused {}, verified {}, repair failed {}, repaired {}",
            n[0], n[1], n[2], n[3]
        );
    }
}
