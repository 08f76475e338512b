//! Helpers of the binary's integration tests: running `discvault` against a vault.
#![allow(dead_code)]

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// `discvault --vault VAULT`, ignoring any DISCVAULT_VAULT of the environment.
pub fn dv(vault: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_discvault"));
    c.env_remove("DISCVAULT_VAULT").arg("--vault").arg(vault);
    c
}

/// Runs the command with `--json`: its exit code and the parsed output.
pub fn json(cmd: &mut Command) -> (i32, Value) {
    let out = testkit::output(cmd.arg("--json"));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{cmd:?}: not JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

/// `discvault archive SRC --media MEDIA --out OUT --json`: exit code and report.
pub fn archive(vault: &Path, src: &Path, media: &str, out: &Path) -> (i32, Value) {
    json(
        dv(vault)
            .arg("archive")
            .arg(src)
            .args(["--media", media, "--out"])
            .arg(out),
    )
}

/// What the sqlite3 command prints for query `q` on the vault's catalog.
pub fn sql(vault: &Path, q: &str) -> String {
    testkit::run(
        Command::new("sqlite3")
            .arg(vault.join("catalog.sqlite"))
            .arg(q),
    )
}

/// The codes zbarimg reads in an image: (type, value), sorted.
pub fn zbar(image: &Path) -> Vec<(String, String)> {
    let out = testkit::output(Command::new("zbarimg").args(["-q"]).arg(image));
    let mut v: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    v.sort();
    v
}
