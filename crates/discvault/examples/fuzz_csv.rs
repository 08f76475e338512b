//! Fuzzes the CSV imports (cabinet slot maps, disc quality figures; UTF-8 with or without a
//! byte order mark, GBK) against a vault with placed copies:
//! `cargo run --release -p discvault --example fuzz_csv -- SECONDS`. Findings go to
//! `tests/fuzz-corpus/csv/`, which `tests/fuzz_corpus.rs` replays. See `fuzz/mutator.rs` and
//! RELIABILITY.md.

#[path = "../tests/common/fuzz_fixture.rs"]
mod fuzz_fixture;
#[path = "../../../fuzz/mutator.rs"]
mod mutator;
#[path = "../tests/common/fuzz_csv.rs"]
mod target;

#[global_allocator]
static GUARD: mutator::Guard = mutator::Guard;

fn main() {
    mutator::example_main(
        "csv",
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/csv"),
        &["refused", "slot map", "quality"],
        |scratch| {
            let (env, seeds) = target::Env::new(&scratch.join("fixture"));
            (seeds, move |data: &[u8]| env.run(data) as usize)
        },
    );
}
