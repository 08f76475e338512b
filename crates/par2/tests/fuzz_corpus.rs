//! Replays every input the fuzzer saved (`tests/fuzz-corpus/set/`, see `examples/fuzz_par2.rs`):
//! each must give a clear result (an error or a report), never a panic, in bounded time.

mod common {
    pub mod fuzz_target;
}
use common::fuzz_target;
use std::path::Path;

#[test]
fn every_saved_fuzz_input_is_read_without_panic() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/set");
    let t = tempfile::tempdir().unwrap();
    let seeds = fuzz_target::setup(t.path());
    // The seeds go the whole way: the volume file repairs the damaged copy; the index alone
    // (no recovery slices) verifies it.
    use fuzz_target::Outcome::*;
    assert_eq!(fuzz_target::run(t.path(), &seeds[0]), Repaired);
    assert_eq!(fuzz_target::run(t.path(), &seeds[1]), Verified);
    let mut inputs: Vec<(String, Vec<u8>)> = seeds
        .into_iter()
        .enumerate()
        .map(|(i, s)| (format!("seed {i}"), s))
        .collect();
    for e in std::fs::read_dir(&corpus).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none() {
            inputs.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    let mut failed = Vec::new();
    for (name, data) in &inputs {
        let started = std::time::Instant::now();
        let r = std::panic::catch_unwind(|| fuzz_target::run(t.path(), data));
        if r.is_err() {
            failed.push(format!("{name}: panicked"));
        } else if started.elapsed().as_secs() > 5 {
            failed.push(format!("{name}: {:?}", started.elapsed()));
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}
