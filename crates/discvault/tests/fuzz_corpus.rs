//! Replays every input the fuzzers of discvault's own files saved (see `examples/fuzz_*.rs`):
//! the volume record (`tests/fuzz-corpus/volume/`), the disc manifests (`manifest/`), the
//! catalog snapshot (`snapshot/`), the CSV imports (`csv/`) and the configuration (`config/`).
//! Each input must give a clear result, never a panic, in bounded time; the seeds (real
//! outputs of discvault) must go the whole way.

mod common {
    pub mod fuzz_config;
    pub mod fuzz_csv;
    pub mod fuzz_fixture;
    pub mod fuzz_manifest;
    pub mod fuzz_snapshot;
    pub mod fuzz_target;
}
#[path = "../../../fuzz/replay.rs"]
mod replay;
use common::{fuzz_config, fuzz_csv, fuzz_fixture, fuzz_manifest, fuzz_snapshot, fuzz_target};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-corpus")
        .join(name)
}

/// One vault with a mastered disc for the tests that read its files.
fn fixture() -> &'static fuzz_fixture::Fixture {
    static F: OnceLock<(tempfile::TempDir, fuzz_fixture::Fixture)> = OnceLock::new();
    &F.get_or_init(|| {
        let t = tempfile::tempdir().unwrap();
        let f = fuzz_fixture::build(&t.path().join("fixture"));
        (t, f)
    })
    .1
}

#[test]
fn every_saved_fuzz_input_is_read_without_panic() {
    for s in fuzz_target::seeds() {
        assert_eq!(fuzz_target::run(&s), fuzz_target::Outcome::Picked);
    }
    replay::replay(&corpus("volume"), |data| {
        fuzz_target::run(data);
    });
}

#[test]
fn saved_manifest_inputs_are_read_without_panic() {
    let disc = tempfile::tempdir().unwrap();
    for s in fuzz_manifest::seeds(fixture()) {
        assert_eq!(
            fuzz_manifest::run(disc.path(), &s),
            fuzz_manifest::Outcome::Listed
        );
    }
    replay::replay(&corpus("manifest"), |data| {
        fuzz_manifest::run(disc.path(), data);
    });
}

#[test]
fn saved_snapshot_inputs_are_read_without_panic() {
    for s in fuzz_snapshot::seeds(fixture()) {
        assert_eq!(fuzz_snapshot::run(&s), fuzz_snapshot::Outcome::Whole);
    }
    replay::replay(&corpus("snapshot"), |data| {
        fuzz_snapshot::run(data);
    });
}

#[test]
fn saved_csv_inputs_are_imported_without_panic() {
    let t = tempfile::tempdir().unwrap();
    let (env, seeds) = fuzz_csv::Env::new(&t.path().join("fixture"));
    use fuzz_csv::Outcome::*;
    let got: Vec<_> = seeds.iter().map(|s| env.run(s)).collect();
    assert_eq!(
        got,
        [SlotMap, SlotMap, SlotMap, SlotMap, SlotMap, Quality, Quality]
    );
    replay::replay(&corpus("csv"), |data| {
        env.run(data);
    });
}

#[test]
fn saved_config_inputs_are_loaded_without_panic() {
    let t = tempfile::tempdir().unwrap();
    for s in fuzz_config::seeds() {
        assert_eq!(fuzz_config::run(t.path(), &s), fuzz_config::Outcome::Loaded);
    }
    replay::replay(&corpus("config"), |data| {
        fuzz_config::run(t.path(), data);
    });
}
