//! Replays every input the fuzzer saved (`tests/fuzz-corpus/set/`, see `examples/fuzz_par2.rs`):
//! each must give a clear result (an error or a report), never a panic, in bounded time.

mod common {
    pub mod fuzz_target;
}
#[path = "../../../fuzz/replay.rs"]
mod replay;
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
    replay::replay(&corpus, |data| {
        fuzz_target::run(t.path(), data);
    });
}
