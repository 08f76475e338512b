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
