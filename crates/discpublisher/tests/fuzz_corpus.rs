//! Replays every input the publisher files fuzzer saved (`tests/fuzz-corpus/publisher/`, see
//! `examples/fuzz_publisher.rs`), and the inputs made by hand that the fuzzer would hardly
//! make (`tests/fuzz-corpus/publisher-crafted/`: status files of tens of thousands of
//! sections or keys, which the readers once took quadratic time over): each must give a clear
//! result, never a panic, in bounded time.

mod common {
    pub mod fuzz_target;
}
#[path = "../../../fuzz/replay.rs"]
mod replay;
use common::fuzz_target::{self, Outcome};
use std::path::Path;

#[test]
fn every_saved_fuzz_input_is_read_without_panic() {
    let t = tempfile::tempdir().unwrap();
    for s in fuzz_target::seeds(&t.path().join("seeds")) {
        assert_eq!(fuzz_target::run(t.path(), &s), Outcome::Read);
    }
    replay::replay(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/publisher"),
        |data| {
            fuzz_target::run(t.path(), data);
        },
    );
    replay::replay(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/publisher-crafted"),
        |data| {
            fuzz_target::run(t.path(), data);
        },
    );
}
