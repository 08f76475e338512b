//! The ISO reader fuzz target, shared by the fuzzer (`examples/fuzz_iso.rs`) and the corpus replay
//! (`tests/fuzz_corpus.rs`): an image (the input) is opened, listed, and every file read.

use isoimage::{Entry, EntryKind, ImageSpec, IsoEntryKind, IsoReader, Layout};
use std::io::{Cursor, Write};

fn entry(path: &[u8], kind: EntryKind) -> Entry {
    Entry {
        path: path.to_vec(),
        kind,
        mode: 0o644,
        mtime: 1_700_000_000,
    }
}

/// The seeds: an image from our writer (Rock Ridge with a continuation area, Joliet, nested
/// folders, a symbolic link, a non-UTF-8 name), the same read through Joliet (its SP entry
/// broken), and through plain ISO 9660 names (no Joliet descriptor either).
pub fn seeds() -> Vec<Vec<u8>> {
    let file = |p: &str, n: u64| entry(p.as_bytes(), EntryKind::File { size: n });
    let spec = ImageSpec {
        volume_id: "FUZZ".into(),
        created: 1_700_000_000,
        entries: vec![
            file("全宗/2024/卷001/文书-0001.pdf", 3000),
            file("全宗/2024/说明.txt", 20),
            file("Records/Case.txt", 5),
            file("Records/case.txt", 6),
            file(&format!("long/{}", "档".repeat(80)), 1),
            entry(b"bad-\xff.bin", EntryKind::File { size: 0 }),
            entry(
                b"links/rel",
                EntryKind::Symlink {
                    target: b"../Records/Case.txt".to_vec(),
                },
            ),
            entry(b"empty-dir", EntryKind::Dir),
        ],
        ..Default::default()
    };
    let layout = Layout::new(&spec).unwrap();
    let mut rr = Vec::new();
    layout
        .write(&mut rr, &mut |i, w| {
            // Zeros: the fuzzer aims half of its mutations at non-zero bytes, which are then the
            // image's structures, not file contents the reader never interprets.
            if let EntryKind::File { size } = spec.entries[i].kind {
                w.write_all(&vec![0; size as usize])?;
            }
            Ok(())
        })
        .unwrap();
    // The root's "." record: its system use area starts with SP.
    let pvd = &rr[16 * 2048..17 * 2048];
    let root = u32::from_le_bytes(pvd[158..162].try_into().unwrap()) as usize * 2048;
    let dot_len = rr[root] as usize;
    let sp = (root + 34..root + dot_len)
        .find(|&k| &rr[k..k + 2] == b"SP")
        .expect("our root has SP");
    let mut joliet = rr.clone();
    joliet[sp] = b'X';
    // The Joliet descriptor (sector 17) made an unknown type: plain ISO names.
    let mut plain = joliet.clone();
    assert_eq!(plain[17 * 2048], 2);
    plain[17 * 2048] = 3;
    vec![rr, joliet, plain]
}

/// A sink that refuses more than a budget of bytes (files of a crafted image may claim 4 GiB
/// each).
struct Budget(u64);

impl Write for Budget {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if b.len() as u64 > self.0 {
            return Err(std::io::Error::other("budget spent"));
        }
        self.0 -= b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// How far an input went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    NotOpened,
    NotListed,
    Listed,
    /// Listed, and every file read whole.
    Read,
}

/// Runs one input: errors are fine, a panic is a finding.
pub fn run(data: &[u8]) -> Outcome {
    let Ok(mut r) = IsoReader::open(Cursor::new(data)) else {
        return Outcome::NotOpened;
    };
    let Ok(entries) = r.entries() else {
        return Outcome::NotListed;
    };
    let mut sink = Budget(64 << 20);
    let mut all = true;
    for e in &entries {
        let _ = e.display_path();
        if e.kind == IsoEntryKind::File {
            all &= r.read_file(e, &mut sink).is_ok();
        }
    }
    if all {
        Outcome::Read
    } else {
        Outcome::Listed
    }
}
