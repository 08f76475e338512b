//! Replays a fuzz corpus in a test: every saved input (files without an extension) must give
//! a clear result, never a panic, in at most 5 s. Included by each crate's
//! `tests/fuzz_corpus.rs`.

use std::path::Path;
use std::time::{Duration, Instant};

/// Runs `run` on every input saved in `corpus`; fails the test naming each input that panicked
/// or took more than 5 s.
pub fn replay(corpus: &Path, run: impl Fn(&[u8]) + std::panic::RefUnwindSafe) {
    let mut failed = Vec::new();
    let mut n = 0;
    for e in std::fs::read_dir(corpus).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some() {
            continue;
        }
        let data = std::fs::read(&p).unwrap();
        let started = Instant::now();
        if std::panic::catch_unwind(|| run(&data)).is_err() {
            failed.push(format!("{}: panicked", p.display()));
        } else if started.elapsed() > Duration::from_secs(5) {
            failed.push(format!("{}: {:?}", p.display(), started.elapsed()));
        }
        n += 1;
    }
    assert!(failed.is_empty(), "{n} inputs, failed: {failed:#?}");
}
