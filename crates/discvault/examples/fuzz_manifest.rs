//! Fuzzes the reading of a disc's manifests (`tagmanifest-sha256.txt`, and the payload
//! manifests' form) as `verify` and `readback` read them:
//! `cargo run --release -p discvault --example fuzz_manifest -- SECONDS`. Findings go to
//! `tests/fuzz-corpus/manifest/`, which `tests/fuzz_corpus.rs` replays. See
//! `fuzz/mutator.rs` and RELIABILITY.md.

#[path = "../tests/common/fuzz_fixture.rs"]
mod fuzz_fixture;
#[path = "../../../fuzz/mutator.rs"]
mod mutator;
#[path = "../tests/common/fuzz_manifest.rs"]
mod target;

#[global_allocator]
static GUARD: mutator::Guard = mutator::Guard;

fn main() {
    mutator::example_main(
        "manifest",
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/manifest"),
        &["empty", "listed"],
        |scratch| {
            let seeds = target::seeds(&fuzz_fixture::build(&scratch.join("fixture")));
            let disc = scratch.join("disc");
            std::fs::create_dir_all(&disc).unwrap();
            (seeds, move |data: &[u8]| target::run(&disc, data) as usize)
        },
    );
}
