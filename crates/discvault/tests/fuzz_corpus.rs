//! Replays every input the volume record fuzzer saved (`tests/fuzz-corpus/volume/`, see
//! `examples/fuzz_volume.rs`): each must give a clear result, never a panic, in bounded time.

mod common {
    pub mod fuzz_target;
}
use common::fuzz_target::{self, Outcome};
use std::path::Path;

#[test]
fn every_saved_fuzz_input_is_read_without_panic() {
    for s in fuzz_target::seeds() {
        assert_eq!(fuzz_target::run(&s), Outcome::Picked);
    }
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/volume");
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
