//! Fuzzes the reading of a disc's catalog snapshot (`discvault/catalog.jsonl.gz`) as a reader
//! rebuilding a catalog from discs would read it with discvault's types:
//! `cargo run --release -p discvault --example fuzz_snapshot -- SECONDS`. Findings go to
//! `tests/fuzz-corpus/snapshot/`, which `tests/fuzz_corpus.rs` replays. See
//! `fuzz/mutator.rs` and RELIABILITY.md.

#[path = "../tests/common/fuzz_fixture.rs"]
mod fuzz_fixture;
#[path = "../../../fuzz/mutator.rs"]
mod mutator;
#[path = "../tests/common/fuzz_snapshot.rs"]
mod target;

use std::sync::atomic::{AtomicU64, Ordering};

static OUTCOMES: [AtomicU64; 3] = [const { AtomicU64::new(0) }; 3];

#[global_allocator]
static GUARD: mutator::Guard = mutator::Guard;

fn main() {
    let work = std::env::var_os("FUZZ_WORK")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("discvault-fuzz-snapshot"));
    std::fs::create_dir_all(&work).unwrap();
    let scratch = work.join(format!("scratch-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let seeds = target::seeds(&fuzz_fixture::build(&scratch.join("fixture")));
    let run = |data: &[u8]| {
        OUTCOMES[target::run(data) as usize].fetch_add(1, Ordering::Relaxed);
    };
    mutator::main_with(&mutator::Fuzz {
        corpus: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/snapshot"),
        work,
        seeds,
        target: &run,
        max_len: 1 << 20,
        time_limit: std::time::Duration::from_secs(20),
        fixup: None,
        keep_offsets: false,
    });
    let _ = std::fs::remove_dir_all(&scratch);
    if std::env::args().any(|a| a == "--worker") {
        let n: Vec<u64> = OUTCOMES.iter().map(|o| o.load(Ordering::Relaxed)).collect();
        eprintln!(
            "outcomes: refused {}, partly {}, whole {}",
            n[0], n[1], n[2]
        );
    }
}
