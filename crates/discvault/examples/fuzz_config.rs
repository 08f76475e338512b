//! Fuzzes the loading of a vault's configuration (`discvault.toml`, `Config::load`):
//! `cargo run --release -p discvault --example fuzz_config -- SECONDS`. Findings go to
//! `tests/fuzz-corpus/config/`, which `tests/fuzz_corpus.rs` replays. See `fuzz/mutator.rs`
//! and RELIABILITY.md.

#[path = "../../../fuzz/mutator.rs"]
mod mutator;
#[path = "../tests/common/fuzz_config.rs"]
mod target;

#[global_allocator]
static GUARD: mutator::Guard = mutator::Guard;

fn main() {
    mutator::example_main(
        "config",
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/config"),
        &["refused", "loaded"],
        |scratch| {
            let scratch = scratch.to_path_buf();
            (target::seeds(), move |data: &[u8]| {
                target::run(&scratch, data) as usize
            })
        },
    );
}
