//! Fuzzes the reading of a disc's catalog snapshot (`discvault/catalog.jsonl.gz`) as a reader
//! rebuilding a catalog from discs would read it with discvault's types:
//! `cargo run --release -p discvault --example fuzz_snapshot -- SECONDS`. Findings go to
//! `tests/fuzz-corpus/snapshot/`, which `tests/fuzz_corpus.rs` replays. See
//! `fuzz/mutator.rs` and RELIABILITY.md.

#[path = "../tests/common/fuzz_fixture.rs"]
mod fuzz_fixture;
#[path = "../../../fuzz/mutator.rs"]
mod mutator;
#[path = "../tests/common/fuzz_snapshot.rs"]
mod target;

#[global_allocator]
static GUARD: mutator::Guard = mutator::Guard;

fn main() {
    mutator::example_main(
        "snapshot",
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/snapshot"),
        &["refused", "partly", "whole"],
        |scratch| {
            let seeds = target::seeds(&fuzz_fixture::build(&scratch.join("fixture")));
            (seeds, |data: &[u8]| target::run(data) as usize)
        },
    );
}
