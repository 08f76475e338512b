//! Fuzzes the PAR2 reader: `cargo run --release -p par2 --example fuzz_par2 -- SECONDS`.
//! Seeds are a real set made by `create`; findings go to `tests/fuzz-corpus/set/`, which
//! `tests/fuzz_corpus.rs` replays. See `fuzz/mutator.rs` and RELIABILITY.md.

#[path = "../../../fuzz/mutator.rs"]
mod mutator;
#[path = "../tests/common/fuzz_target.rs"]
mod target;

/// Inputs by how far they went (`target::Outcome`).
static OUTCOMES: mutator::Outcomes<4> =
    mutator::Outcomes::new(["refused", "verified", "repair failed", "repaired"]);

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
        OUTCOMES.count(target::run(&dir, data) as usize);
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
    OUTCOMES.report();
}
