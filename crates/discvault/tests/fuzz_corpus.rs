//! Replays every input the volume record fuzzer saved (`tests/fuzz-corpus/volume/`, see
//! `examples/fuzz_volume.rs`): each must give a clear result, never a panic, in bounded time.

mod common {
    pub mod fuzz_target;
}
#[path = "../../../fuzz/replay.rs"]
mod replay;
use common::fuzz_target::{self, Outcome};
use std::path::Path;

#[test]
fn every_saved_fuzz_input_is_read_without_panic() {
    for s in fuzz_target::seeds() {
        assert_eq!(fuzz_target::run(&s), Outcome::Picked);
    }
    replay::replay(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/volume"),
        |data| {
            fuzz_target::run(data);
        },
    );
}
