//! Fuzzes the readers of disc publishers' hot-folder files (TD Bridge `.JDF` jobs and
//! `TDBStatus.txt`, PTBurn `.JRQ` requests, `.PTM` messages and status files, INI text):
//! `cargo run --release -p discpublisher --example fuzz_publisher -- SECONDS`. Findings go to
//! `tests/fuzz-corpus/publisher/`, which `tests/fuzz_corpus.rs` replays. See
//! `fuzz/mutator.rs` and RELIABILITY.md.

#[path = "../../../fuzz/mutator.rs"]
mod mutator;
#[path = "../tests/common/fuzz_target.rs"]
mod target;

#[global_allocator]
static GUARD: mutator::Guard = mutator::Guard;

fn main() {
    mutator::example_main(
        "publisher",
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/publisher"),
        &["refused", "read"],
        |scratch| {
            let scratch = scratch.to_path_buf();
            (target::seeds(&scratch), move |data: &[u8]| {
                target::run(&scratch, data) as usize
            })
        },
    );
}
