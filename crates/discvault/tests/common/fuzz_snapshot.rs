//! The catalog snapshot fuzz target, shared by the fuzzer (`examples/fuzz_snapshot.rs`) and the
//! corpus replay (`tests/fuzz_corpus.rs`). The input is a disc's
//! `discvault/catalog.jsonl.gz`. discvault writes the snapshot but never reads it back (the
//! catalog, or the volume record without one, is what its commands read); it is there for a
//! reader rebuilding a catalog from the discs. This target reads it as such a reader would,
//! with discvault's own types: gunzip (`flate2`'s multi-member decoder, at most
//! `DECOMPRESSED_BUDGET` bytes: a small file can claim gigabytes), lines of at most
//! `LINE_BUDGET` bytes, each line as a `format::SnapshotLine` (`serde_json`), hex names
//! decoded. An input without the gzip magic is read as the decompressed text (`zcat`'s
//! output), so that the JSON is fuzzed directly as well as through the compression.

use super::fuzz_fixture::Fixture;
use discvault::format::SnapshotLine;
use std::io::{BufRead, Read};

/// Bytes decompressed at most.
pub const DECOMPRESSED_BUDGET: u64 = 64 << 20;
/// Longest line read.
pub const LINE_BUDGET: usize = 1 << 20;

/// The seeds: the snapshot of a disc discvault mastered, and its decompressed text.
pub fn seeds(f: &Fixture) -> Vec<Vec<u8>> {
    let gz = f.tag_files["discvault/catalog.jsonl.gz"].clone();
    let mut text = Vec::new();
    flate2::read::MultiGzDecoder::new(&gz[..])
        .read_to_end(&mut text)
        .unwrap();
    vec![gz, text]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not gzip, or no line of the snapshot.
    Refused,
    /// Some lines read, then an error (a line that is not a snapshot line, a damaged stream).
    Partly,
    /// Every line a snapshot line, to the end of the stream.
    Whole,
}

/// Runs one input: errors are fine, a panic is a finding.
pub fn run(data: &[u8]) -> Outcome {
    if data.starts_with(&[0x1f, 0x8b]) {
        lines(flate2::read::MultiGzDecoder::new(data).take(DECOMPRESSED_BUDGET))
    } else {
        lines(data)
    }
}

fn lines(r: impl Read) -> Outcome {
    let mut r = std::io::BufReader::new(r);
    let (mut good, mut line) = (0u64, Vec::new());
    loop {
        line.clear();
        // A line is read up to its budget, never further.
        match (&mut r)
            .take(LINE_BUDGET as u64 + 1)
            .read_until(b'\n', &mut line)
        {
            Ok(0) => break,
            Ok(_) if line.len() > LINE_BUDGET => return partly(good),
            Ok(_) => {}
            Err(_) => return partly(good),
        }
        let l = line.strip_suffix(b"\n").unwrap_or(&line);
        let Ok(rec) = serde_json::from_slice::<SnapshotLine>(l) else {
            return partly(good);
        };
        if let SnapshotLine::File {
            path_hex: Some(h), ..
        } = &rec
        {
            if hex::decode(h).is_err() {
                return partly(good);
            }
        }
        good += 1;
    }
    if good == 0 {
        Outcome::Refused
    } else {
        Outcome::Whole
    }
}

fn partly(good: u64) -> Outcome {
    if good == 0 {
        Outcome::Refused
    } else {
        Outcome::Partly
    }
}
