//! The UDF reader fuzz target, shared by the fuzzer (`examples/fuzz_udf.rs`) and the corpus
//! replay (`tests/fuzz_corpus.rs`): an image (the input) is opened as UDF and listed.

use isoimage::{Entry, EntryKind, ImageSpec, Layout, UdfReader};
use std::io::Cursor;

/// The seed: a UDF bridge from our writer (nested folders with Chinese names, a long name, a
/// non-UTF-8 name, an empty file and an empty folder), file data zeros so that mutations aimed
/// at non-zero bytes meet the structures.
pub fn seeds() -> Vec<Vec<u8>> {
    let entry = |path: &[u8], kind: EntryKind| Entry {
        path: path.to_vec(),
        kind,
        mode: 0o644,
        mtime: 1_700_000_000,
    };
    let file = |p: &str, n: u64| entry(p.as_bytes(), EntryKind::File { size: n });
    let spec = ImageSpec {
        volume_id: "FUZZ".into(),
        created: 1_700_000_000,
        entries: vec![
            file("全宗/2024/卷001/文书-0001.pdf", 3000),
            file("全宗/2024/说明.txt", 20),
            file(&format!("long/{}.pdf", "档".repeat(80)), 1),
            entry(b"bad-\xff.bin", EntryKind::File { size: 0 }),
            entry(b"empty-dir", EntryKind::Dir),
        ],
        udf: true,
        ..Default::default()
    };
    let layout = Layout::new(&spec).unwrap();
    let mut img = Vec::new();
    layout
        .write(&mut img, &mut |i, w| {
            if let EntryKind::File { size } = spec.entries[i].kind {
                w.write_all(&vec![0; size as usize])?;
            }
            Ok(())
        })
        .unwrap();
    vec![img]
}

/// How far an input went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    NotOpened,
    NotListed,
    Listed,
}

/// Runs one input: errors are fine, a panic is a finding.
pub fn run(data: &[u8]) -> Outcome {
    let Ok(Some(mut r)) = UdfReader::open(Cursor::new(data)) else {
        return Outcome::NotOpened;
    };
    let Ok(entries) = r.entries() else {
        return Outcome::NotListed;
    };
    for e in &entries {
        let _ = e.display_path();
    }
    Outcome::Listed
}
