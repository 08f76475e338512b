//! Fuzzes the reading of a disc's manifests (`tagmanifest-sha256.txt`, and the payload
//! manifests' form) as `verify` and `readback` read them:
//! `cargo run --release -p discvault --example fuzz_manifest -- SECONDS`. Findings go to
//! `tests/fuzz-corpus/manifest/`, which `tests/fuzz_corpus.rs` replays. See
//! `fuzz/mutator.rs` and RELIABILITY.md.

#[path = "../tests/common/fuzz_fixture.rs"]
mod fuzz_fixture;
#[path = "../../../fuzz/mutator.rs"]
mod mutator;
#[path = "../tests/common/fuzz_manifest.rs"]
mod target;

use std::sync::atomic::{AtomicU64, Ordering};

static OUTCOMES: [AtomicU64; 2] = [const { AtomicU64::new(0) }; 2];

#[global_allocator]
static GUARD: mutator::Guard = mutator::Guard;

fn main() {
    let work = std::env::var_os("FUZZ_WORK")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("discvault-fuzz-manifest"));
    std::fs::create_dir_all(&work).unwrap();
    let scratch = work.join(format!("scratch-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let seeds = target::seeds(&fuzz_fixture::build(&scratch.join("fixture")));
    let disc = scratch.join("disc");
    std::fs::create_dir_all(&disc).unwrap();
    let run = |data: &[u8]| {
        OUTCOMES[target::run(&disc, data) as usize].fetch_add(1, Ordering::Relaxed);
    };
    mutator::main_with(&mutator::Fuzz {
        corpus: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/manifest"),
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
        eprintln!("outcomes: empty {}, listed {}", n[0], n[1]);
    }
}
