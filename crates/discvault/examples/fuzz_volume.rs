//! Fuzzes the reading of a disc's volume record (`discvault/volume.json`) as restore reads it
//! without a catalog: `cargo run -p discvault --example fuzz_volume -- SECONDS`. Findings go to
//! `tests/fuzz-corpus/volume/`, which `tests/fuzz_corpus.rs` replays. See `fuzz/mutator.rs`
//! and RELIABILITY.md.

#[path = "../../../fuzz/mutator.rs"]
mod mutator;
#[path = "../tests/common/fuzz_target.rs"]
mod target;

/// Inputs by how far they went (`target::Outcome`).
static OUTCOMES: mutator::Outcomes<3> = mutator::Outcomes::new(["refused", "parsed", "picked"]);

#[global_allocator]
static GUARD: mutator::Guard = mutator::Guard;

fn main() {
    let work = std::env::var_os("FUZZ_WORK")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("discvault-fuzz-volume"));
    std::fs::create_dir_all(&work).unwrap();
    let run = |data: &[u8]| {
        OUTCOMES.count(target::run(data) as usize);
    };
    mutator::main_with(&mutator::Fuzz {
        corpus: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/volume"),
        work,
        seeds: target::seeds(),
        target: &run,
        max_len: 1 << 20,
        time_limit: std::time::Duration::from_secs(20),
        fixup: None,
        keep_offsets: false,
    });
    OUTCOMES.report();
}
