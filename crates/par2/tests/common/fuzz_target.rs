//! The PAR2 fuzz target, shared by the fuzzer (`examples/fuzz_par2.rs`) and the corpus replay
//! (`tests/fuzz_corpus.rs`): a PAR2 file (the input) is verified against a damaged copy of the
//! files it protects, and repaired when it says it can be.

use par2::{create, repair, verify, CreateOptions, Input};
use std::fs;
use std::path::{Path, PathBuf};

/// The files the seed set protects (a few slices of 1024 bytes each), damaged in `dir/src`;
/// returns the seeds: the set's volume file (recovery and critical packets) and its index.
pub fn setup(dir: &Path) -> Vec<Vec<u8>> {
    let src = dir.join("src");
    let clean = dir.join("clean");
    let files = [("a.bin", 5000usize), ("sub/档案.txt", 2048), ("empty", 0)];
    for (name, len) in files {
        for d in [&src, &clean] {
            let p = d.join(name);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, testkit::pseudo_random(len, len as u64 + 1)).unwrap();
        }
    }
    let inputs: Vec<Input> = files
        .iter()
        .map(|(n, _)| Input::file(*n, clean.join(n)))
        .collect();
    let c = create(
        &inputs,
        &dir.join("seed"),
        "set",
        &CreateOptions {
            slice_size: Some(1024),
            recovery_slices: Some(3),
            ..Default::default()
        },
    )
    .unwrap();
    // Two slices of a.bin damaged: repairable.
    let mut a = fs::read(src.join("a.bin")).unwrap();
    a[10] ^= 1;
    a[3000] ^= 1;
    fs::write(src.join("a.bin"), a).unwrap();
    vec![
        fs::read(&c.files[1]).unwrap(),
        fs::read(&c.files[0]).unwrap(),
    ]
}

/// How far an input went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Refused,
    Verified,
    RepairFailed,
    Repaired,
}

/// Runs one input: errors are fine, a panic is a finding.
pub fn run(dir: &Path, data: &[u8]) -> Outcome {
    let p = dir.join("input.par2");
    fs::write(&p, data).unwrap();
    let files = vec![p];
    let sources: Vec<PathBuf> = vec![dir.join("src")];
    match verify(&files, &sources) {
        Ok(r) if r.repairable && r.missing_slices > 0 => {
            let out = dir.join("out");
            let _ = fs::remove_dir_all(&out);
            match repair(&files, &sources, &out, 16 << 20) {
                Ok(_) => Outcome::Repaired,
                Err(_) => Outcome::RepairFailed,
            }
        }
        Ok(_) => Outcome::Verified,
        Err(_) => Outcome::Refused,
    }
}

/// Recomputes the MD5 of every packet whose header and length fit in `data`: a mutated field
/// is then met by the reader instead of the packet being skipped as damaged.
#[allow(dead_code)]
pub fn fix_md5s(data: &mut [u8]) {
    let mut i = 0;
    while i + 64 <= data.len() {
        if &data[i..i + 8] == par2::packets::MAGIC {
            let len = u64::from_le_bytes(data[i + 8..i + 16].try_into().unwrap());
            if len >= 64 && len <= (data.len() - i) as u64 {
                let h = par2::packets::md5(&data[i + 32..i + len as usize]);
                data[i + 16..i + 32].copy_from_slice(&h);
            }
        }
        i += 1;
    }
}
