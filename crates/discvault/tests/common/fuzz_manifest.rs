//! The disc manifests fuzz target, shared by the fuzzer (`examples/fuzz_manifest.rs`) and the
//! corpus replay (`tests/fuzz_corpus.rs`). The input is a disc's `tagmanifest-sha256.txt`, read
//! as `verify` and `readback` read it (`verify::parse_tag_manifest`), and every path it lists
//! then goes where those commands send it: read from a mounted disc (`DirSource::read`, over
//! an empty folder, so that reading anything at all is a path that left the disc) and made
//! into a read-back target (`restore::safe_target`, as `readback`'s folder sink does), which
//! must stay inside the read-back folder. The payload manifests (`manifest-<alg>.txt`) have
//! the same line form and are seeds too; discvault itself never parses them (it checks payload
//! files against the catalog).

use super::fuzz_fixture::Fixture;
use discvault::restore::safe_target;
use discvault::verify::parse_tag_manifest;
use std::path::Path;

/// The seeds: the tag manifest and the four payload manifests (sha256, blake3, sm3, md5) of a
/// disc discvault mastered.
pub fn seeds(f: &Fixture) -> Vec<Vec<u8>> {
    let seeds: Vec<Vec<u8>> = f
        .tag_files
        .iter()
        .filter(|(p, _)| p.starts_with("manifest-") || p.starts_with("tagmanifest-"))
        .map(|(_, b)| b.clone())
        .collect();
    assert_eq!(seeds.len(), 5, "{:?}", f.tag_files.keys());
    seeds
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No line with a digest and a path.
    Empty,
    /// Lines parsed, each path refused or kept inside.
    Listed,
}

/// Runs one input; `disc` is an empty folder standing for a mounted disc. Errors are fine; a
/// panic, or a path that leaves the disc or the read-back folder, is a finding.
pub fn run(disc: &Path, data: &[u8]) -> Outcome {
    let tags = parse_tag_manifest(data);
    if tags.is_empty() {
        return Outcome::Empty;
    }
    let mut src = discvault::source::open(disc).expect("an empty folder is a mounted disc");
    for (path, _want) in &tags {
        let mut out = Vec::new();
        assert!(
            src.read(path, &mut out).is_err(),
            "{:?} read from an empty disc",
            String::from_utf8_lossy(path)
        );
        if let Ok(t) = safe_target(Path::new("/r"), "DV-000001", path) {
            assert!(t.starts_with("/r/DV-000001/"), "{t:?} leaves the folder");
        }
    }
    Outcome::Listed
}
