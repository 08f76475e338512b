//! Replays every input the fuzzer saved (`tests/fuzz-corpus/reader/`, see `examples/fuzz_iso.rs`):
//! each must give a clear result (an error or a listing), never a panic, in bounded time.

mod common {
    pub mod fuzz_target;
    pub mod fuzz_udf;
}
#[path = "../../../fuzz/replay.rs"]
mod replay;
use common::fuzz_target::{self, Outcome};
use std::path::Path;

#[test]
fn every_saved_fuzz_input_is_read_without_panic() {
    let seeds = fuzz_target::seeds();
    // The seeds go the whole way (Rock Ridge, Joliet, plain names).
    for s in &seeds {
        assert_eq!(fuzz_target::run(s), Outcome::Read);
    }
    replay::replay(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/reader"),
        |data| {
            fuzz_target::run(data);
        },
    );
}

#[test]
fn every_saved_udf_fuzz_input_is_read_without_panic() {
    for s in &common::fuzz_udf::seeds() {
        assert_eq!(common::fuzz_udf::run(s), common::fuzz_udf::Outcome::Listed);
    }
    replay::replay(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/udf"),
        |data| {
            common::fuzz_udf::run(data);
        },
    );
}
