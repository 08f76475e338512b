//! The CSV imports fuzz target, shared by the fuzzer (`examples/fuzz_csv.rs`) and the corpus
//! replay (`tests/fuzz_corpus.rs`). The input is a CSV file as people and cabinets hand it to
//! discvault (UTF-8 with or without a byte order mark, or GBK), imported against a vault with
//! placed copies as the commands import it: `cabinet import --dry-run`
//! (`cabinet::import(.., false)`: decoded by `csvfile`, rows checked and reconciled with the
//! catalog) and `quality import` (`quality::import`: rows checked, graded and, when the whole
//! file is good, recorded).

use super::fuzz_fixture::{self, Fixture};
use discvault::Vault;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Quality imports recorded before the vault is put back as it was (its catalog would grow
/// without end under the fuzzer).
const RESET_EVERY: u64 = 2000;

/// The vault the imports run against, with a copy of it as built to go back to.
pub struct Env {
    vault_dir: PathBuf,
    template: PathBuf,
    input: PathBuf,
    vault: Mutex<(Option<Vault>, u64)>,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).unwrap();
        }
    }
}

impl Env {
    /// Builds the fixture in `dir`; returns the environment and the seeds: slot maps as
    /// `cabinet export` writes them (UTF-8 with a byte order mark), the same without it, in
    /// GBK (as Excel on Chinese Windows saves it), in the older form without shelves, with a
    /// disc moved and one not seen; quality files in the documented form (UTF-8, GBK).
    pub fn new(dir: &Path) -> (Env, Vec<Vec<u8>>) {
        let f: Fixture = fuzz_fixture::build(dir);
        let template = dir.join("vault-template");
        copy_dir(&f.vault, &template);
        let seeds = seeds(&f);
        let env = Env {
            vault: Mutex::new((Some(Vault::open(&f.vault).unwrap()), 0)),
            vault_dir: f.vault,
            template,
            input: dir.join("import.csv"),
        };
        (env, seeds)
    }
}

fn seeds(f: &Fixture) -> Vec<Vec<u8>> {
    let map = f.slot_map.clone();
    let text = std::str::from_utf8(map.strip_prefix(b"\xEF\xBB\xBF").unwrap()).unwrap();
    assert!(text.lines().count() == 3, "{text}");
    let gbk = |s: &str| encoding_rs::GBK.encode(s).0.into_owned();
    // The older form: no shelf column.
    let mut old = String::new();
    for l in text.lines() {
        let mut cells: Vec<&str> = l.split(',').collect();
        cells.remove(4);
        old.push_str(&cells.join(","));
        old.push_str("\r\n");
    }
    // The access copy moved to slot 9; the sealed copy not seen.
    let moved: String = text
        .lines()
        .filter(|l| !l.contains(&f.copies[0].1))
        .map(|l| {
            if l.contains(&f.copies[1].1) {
                format!("{},9\n", l.rsplit_once(',').unwrap().0)
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let quality = format!(
        "copy,measured_at,metric,value\r\n{},2026-11-30,bler,12.5\r\n{},2026-11-30T10:00:00+08:00,BLER,230\r\n{},2026-12-01,pi8,101\r\n",
        f.copies[0].0, f.copies[1].1, f.copies[2].0
    );
    vec![
        map.clone(),
        text.as_bytes().to_vec(),
        gbk(text),
        old.into_bytes(),
        moved.into_bytes(),
        quality.clone().into_bytes(),
        gbk(&quality),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Refused by both imports, with an error naming the file.
    Refused,
    /// Reconciled as a slot map.
    SlotMap,
    /// Imported as quality figures.
    Quality,
}

impl Env {
    /// Runs one input: errors are fine, a panic is a finding.
    pub fn run(&self, data: &[u8]) -> Outcome {
        std::fs::write(&self.input, data).unwrap();
        let mut held = self.vault.lock().unwrap_or_else(|e| e.into_inner());
        let vault = held.0.as_ref().unwrap();
        let mut outcome = Outcome::Refused;
        match discvault::cabinet::import(vault, &self.input, false) {
            Ok(r) => {
                assert!(!r.applied);
                outcome = Outcome::SlotMap;
            }
            Err(e) => assert!(
                e.to_string().contains("import.csv"),
                "an error not naming the file: {e}"
            ),
        }
        match discvault::quality::import(vault, &self.input) {
            Ok(_) => {
                outcome = Outcome::Quality;
                held.1 += 1;
            }
            Err(e) => assert!(
                e.to_string().contains("import.csv"),
                "an error not naming the file: {e}"
            ),
        }
        if held.1 >= RESET_EVERY {
            held.0 = None;
            std::fs::remove_dir_all(&self.vault_dir).unwrap();
            copy_dir(&self.template, &self.vault_dir);
            *held = (Some(Vault::open(&self.vault_dir).unwrap()), 0);
        }
        outcome
    }
}
