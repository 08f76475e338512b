//! Replays every input the fuzzer saved (`tests/fuzz-corpus/reader/`, see `examples/fuzz_iso.rs`):
//! each must give a clear result (an error or a listing), never a panic, in bounded time.

mod common {
    pub mod fuzz_target;
}
use common::fuzz_target::{self, Outcome};
use std::path::Path;

#[test]
fn every_saved_fuzz_input_is_read_without_panic() {
    let seeds = fuzz_target::seeds();
    // The seeds go the whole way (Rock Ridge, Joliet, plain names).
    for s in &seeds {
        assert_eq!(fuzz_target::run(s), Outcome::Read);
    }
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/reader");
    let mut failed = Vec::new();
    let mut n = 0;
    for e in std::fs::read_dir(&corpus).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some() {
            continue;
        }
        let data = std::fs::read(&p).unwrap();
        let started = std::time::Instant::now();
        if std::panic::catch_unwind(|| fuzz_target::run(&data)).is_err() {
            failed.push(format!("{}: panicked", p.display()));
        } else if started.elapsed().as_secs() > 5 {
            failed.push(format!("{}: {:?}", p.display(), started.elapsed()));
        }
        n += 1;
    }
    assert!(failed.is_empty(), "{n} inputs, failed: {failed:#?}");
}
