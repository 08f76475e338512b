//! Trust: a clean disc is never called damaged, every record stays in reach, and every failure
//! says what it is. Each test here reproduces a defect found by trying discvault as a new user
//! would (issue 11), through the real binary, a real SQLite catalog and real images.

use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use testkit::*;

mod common;
use common::{
    archive, archived_hostile, assert_repairs_into, assert_restores, dv, json, long_names,
    ArchivedHostile,
};

fn write(path: &Path, data: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
}

fn code(cmd: &mut Command) -> (i32, String, String) {
    let out = output(cmd);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sql(vault: &Path, q: &str) -> String {
    common::sql(vault, q).trim().to_string()
}

/// Runs `cmd` with its files limited to `bytes` (RLIMIT_FSIZE; SIGXFSZ ignored, so that a
/// write past the limit fails with EFBIG as a full disk fails with ENOSPC).
fn limited(cmd: &Command, bytes: u64) -> Command {
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {}; exec \"$0\" \"$@\"",
            bytes / 512
        ))
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => sh.env(k, v),
            None => sh.env_remove(k),
        };
    }
    sh
}

fn partials(dir: &Path) -> Vec<String> {
    tree(dir)
        .into_keys()
        .map(|p| String::from_utf8_lossy(&p).into_owned())
        .filter(|p| p.contains("partial") || p.contains(".discvault-"))
        .collect()
}

#[test]
fn long_names_read_back_clean_and_our_own_write_failures_are_errors_not_damage() {
    let t = tempfile::tempdir().unwrap();
    let (ascii, cjk) = long_names();
    let src = t.path().join("文书");
    write(&src.join(&ascii), b"a long ASCII name\n");
    write(&src.join("卷001").join(&cjk), b"a long Chinese name\n");
    write(&src.join("big.bin"), &pseudo_random(3 << 20, 7));
    let vault = t.path().join("vault");
    let (rc, r) = archive(&vault, &src, "cd74", &t.path().join("img"));
    assert_eq!(rc, 0, "{r}");
    let img = t.path().join("img/DV-000001.iso");
    run(dv(&vault).args(["copies", "add", "DV-000001", "--roles", "sealed"]));

    // A clean disc with the longest names reads back clean: exit 0, every name whole.
    let to = t.path().join("back");
    let (rc, r) = json(
        dv(&vault)
            .arg("readback")
            .arg(&img)
            .arg("--to")
            .arg(&to)
            .args(["--copy", "DV-000001-C1"]),
    );
    assert_eq!(rc, 0, "{r}");
    assert_eq!(r["not_written"], serde_json::json!([]), "{r}");
    let data = to.join("DV-000001/data/文书");
    assert_eq!(fs::read(data.join(&ascii)).unwrap(), b"a long ASCII name\n");
    assert_eq!(
        fs::read(data.join("卷001").join(&cjk)).unwrap(),
        b"a long Chinese name\n"
    );
    assert_eq!(partials(&to), Vec::<String>::new());

    // Our own failure (the target cannot take the file: RLIMIT_FSIZE, as a full disk) is an
    // error naming the path, exit 1, not damage of the disc: nothing recorded, no litter.
    let events = sql(&vault, "SELECT COUNT(*) FROM events");
    let to2 = t.path().join("back2");
    let mut cmd = dv(&vault);
    cmd.arg("readback")
        .arg(&img)
        .arg("--to")
        .arg(&to2)
        .args(["--copy", "DV-000001-C1"]);
    let (rc, out, err) = code(&mut limited(&cmd, 1 << 20));
    assert_eq!(rc, 1, "{out}\n{err}");
    assert!(err.contains("File too large"), "{err}");
    assert!(err.contains(to2.to_str().unwrap()), "names the path: {err}");
    assert!(
        !err.contains("DAMAGED") && !out.contains("DAMAGED"),
        "{out}{err}"
    );
    assert_eq!(sql(&vault, "SELECT COUNT(*) FROM events"), events);
    assert_eq!(
        sql(
            &vault,
            "SELECT state FROM copies WHERE copy_id = 'DV-000001-C1'"
        ),
        "verified"
    );
    assert_eq!(partials(&to2), Vec::<String>::new());

    // restore into a target that cannot take the file: an error of ours, not damage (exit 1).
    let to3 = t.path().join("restored");
    let mut cmd = dv(&vault);
    cmd.args(["restore", "文书", "--to"])
        .arg(&to3)
        .arg("--from")
        .arg(&img);
    let (rc, out, err) = code(&mut limited(&cmd, 1 << 20));
    assert_eq!(rc, 1, "{out}\n{err}");
    assert!(err.contains("big.bin"), "{err}");
}

#[test]
fn a_disc_of_another_vault_is_said_to_be_one_and_changes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let a = t.path().join("a");
    write(&a.join("甲.txt"), b"vault A\n");
    let b = t.path().join("b");
    write(&b.join("乙.txt"), b"vault B\n");
    let (va, vb) = (t.path().join("vault-a"), t.path().join("vault-b"));
    let (rc, r) = archive(&va, &a, "cd74", &t.path().join("img-a"));
    assert_eq!(rc, 0, "{r}");
    let img_a = t.path().join("img-a/DV-000001.iso");

    // A vault that has no volume yet: the disc is not one of its volumes.
    run(dv(&vb).arg("init"));
    let (rc, out, err) = code(dv(&vb).arg("verify").arg(&img_a));
    assert_eq!(rc, 5, "{out}\n{err}");
    assert!(err.contains("another vault"), "{err}");

    // Both vaults have a DV-000001: the disc says whose it is.
    let (rc, r) = archive(&vb, &b, "cd74", &t.path().join("img-b"));
    assert_eq!(rc, 0, "{r}");
    run(dv(&vb).args(["copies", "add", "DV-000001", "--roles", "sealed"]));
    let state = sql(&vb, "SELECT state FROM copies");
    let events = sql(&vb, "SELECT COUNT(*) FROM events");
    let (rc, out, err) = code(dv(&vb).arg("verify").arg(&img_a));
    assert_eq!(rc, 5, "{out}\n{err}");
    assert!(err.contains("another vault"), "{err}");
    assert!(!out.contains("DAMAGED"), "{out}");
    let (rc, _, err) = code(
        dv(&vb)
            .arg("verify")
            .arg(&img_a)
            .args(["--copy", "DV-000001-C1"]),
    );
    assert_eq!(rc, 5, "{err}");
    // --json: the error as JSON on stderr.
    let (rc, _, err) = code(dv(&vb).arg("--json").arg("verify").arg(&img_a));
    assert_eq!(rc, 5);
    let e: Value = serde_json::from_str(err.trim()).unwrap();
    assert_eq!(e["kind"], "foreign_disc", "{e}");
    assert_eq!(e["exit_code"], 5, "{e}");
    let to = t.path().join("restored");
    let (rc, _, err) = code(
        dv(&vb)
            .args(["restore", "b", "--to"])
            .arg(&to)
            .arg("--from")
            .arg(&img_a),
    );
    assert_eq!(rc, 5, "{err}");
    assert!(!to.exists(), "restore made no folder");
    let (rc, _, err) = code(dv(&vb).arg("readback").arg(&img_a).arg("--to").arg(&to));
    assert_eq!(rc, 5, "{err}");
    assert!(!to.exists());
    // Nothing changed: the copy's state, the audit trail.
    assert_eq!(sql(&vb, "SELECT state FROM copies"), state);
    assert_eq!(sql(&vb, "SELECT COUNT(*) FROM events"), events);
    // The disc carries its vault's identity (volume.json, bag-info.txt).
    let x = t.path().join("x");
    extract_xorriso(&img_a, &x);
    let rec: Value =
        serde_json::from_slice(&fs::read(x.join("discvault/volume.json")).unwrap()).unwrap();
    let id_a = sql(
        &va,
        "SELECT value FROM catalog_settings WHERE key = 'vault_id'",
    );
    assert_eq!(rec["vault_id"], id_a.as_str());
    assert_eq!(rec["format_version"], 3);
    assert_eq!(rec["file_systems"], "bridge");
    let info = fs::read_to_string(x.join("bag-info.txt")).unwrap();
    assert!(
        info.contains(&format!("Discvault-Vault-Id: {id_a}")),
        "{info}"
    );
    // Its own vault verifies it clean.
    let (rc, r) = json(dv(&va).arg("verify").arg(&img_a));
    assert_eq!(rc, 0, "{r}");

    // Restored without any vault, from the disc's own records.
    let to = t.path().join("no-vault");
    let (rc, _, err) = code(
        dv(&t.path().join("nowhere"))
            .args(["restore", "a", "--to"])
            .arg(&to)
            .arg("--from")
            .arg(&img_a),
    );
    assert_eq!(rc, 0, "{err}");
    assert_eq!(fs::read(to.join("a/甲.txt")).unwrap(), b"vault A\n");

    // archive into a path with no vault says it creates one, with the full path.
    let (rc, out, err) = code(
        dv(&t.path().join("typo"))
            .arg("archive")
            .arg(&a)
            .args(["--media", "cd74", "--out"])
            .arg(t.path().join("img-c")),
    );
    assert_eq!(rc, 0, "{err}");
    let full = t.path().join("typo");
    assert!(
        format!("{out}{err}").contains("creating a new vault there")
            && err.contains(full.to_str().unwrap()),
        "{out}\n{err}"
    );
}

#[test]
fn every_version_on_a_disc_is_found_and_restored() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("会计档案");
    write(&src.join("凭证/2024.txt"), b"version one\n");
    let vault = t.path().join("vault");
    let (rc, r) = archive(&vault, &src, "cd74", &t.path().join("img"));
    assert_eq!(rc, 0, "{r}");
    let img = t.path().join("img/DV-000001.iso");
    write(&src.join("凭证/2024.txt"), b"version two, longer\n");
    run(dv(&vault).arg("add").arg(&src));

    // locate shows the current version; --all-versions shows v1 on its disc too.
    let (_, found) = json(dv(&vault).args(["locate", "2024"]));
    let found = found.as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0]["version"].as_i64(), found[0]["state"].as_str()),
        (Some(2), Some("unplanned"))
    );
    let (_, all) = json(dv(&vault).args(["locate", "2024", "--all-versions"]));
    let all: Vec<(i64, String)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["version"].as_i64().unwrap(),
                f["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        all,
        [(1, "mastered".to_string()), (2, "unplanned".to_string())]
    );

    // Restoring from the disc gives what the disc holds: version 1.
    let to = t.path().join("r1");
    let (rc, _, err) = code(
        dv(&vault)
            .args(["restore", "会计档案/凭证/2024.txt", "--to"])
            .arg(&to)
            .arg("--from")
            .arg(&img),
    );
    assert_eq!(rc, 0, "{err}");
    assert_eq!(
        fs::read(to.join("会计档案/凭证/2024.txt")).unwrap(),
        b"version one\n"
    );
    // The pick list of the current version says it is on no disc yet (not "need these
    // volumes:" and nothing).
    let (rc, out, err) = code(
        dv(&vault)
            .args(["restore", "会计档案/凭证/2024.txt", "--to"])
            .arg(t.path().join("r2")),
    );
    assert_eq!(rc, 0, "{err}");
    assert!(!out.contains("need these volumes"), "{out}");
    assert!(out.contains("on no disc yet"), "{out}");
    // --version 1 names the disc.
    let (rc, list) = json(
        dv(&vault)
            .args([
                "restore",
                "会计档案/凭证/2024.txt",
                "--version",
                "1",
                "--to",
            ])
            .arg(t.path().join("r3")),
    );
    assert_eq!(rc, 0, "{list}");
    assert_eq!(list["volumes"], serde_json::json!(["DV-000001"]), "{list}");
    assert_eq!(list["files"][0]["version"], 1);

    // A piece of the collection's name finds its files; a substring that is no path prefix
    // gets a hint how to write the pattern.
    let (_, found) = json(dv(&vault).args(["locate", "会计"]));
    assert!(!found.as_array().unwrap().is_empty(), "{found}");
    let (rc, _, err) = code(
        dv(&vault)
            .args(["restore", "凭证/20", "--to"])
            .arg(t.path().join("r4"))
            .arg("--from")
            .arg(&img),
    );
    assert_eq!(rc, 1);
    assert!(err.contains("'*凭证/20*'"), "{err}");

    // Files already in the target with the same bytes are no conflict.
    let (rc, r) = json(
        dv(&vault)
            .args(["restore", "会计档案/凭证/2024.txt", "--to"])
            .arg(&to)
            .arg("--from")
            .arg(&img),
    );
    assert_eq!(rc, 0, "{r}");
    assert_eq!(
        (
            r["already_present"].as_u64(),
            r["problems"].as_array().map(|p| p.len())
        ),
        (Some(1), Some(0)),
        "{r}"
    );
}

#[test]
fn output_into_a_closed_pipe_ends_quietly_and_errors_are_json_in_json_mode() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("many");
    // Enough output (well over a pipe's 64 KiB buffer) that writing meets the closed pipe.
    for i in 0..2000 {
        write(
            &src.join(format!(
                "卷{:02}/文件-{i:04}-关于档案工作的通知.txt",
                i % 20
            )),
            format!("{i}\n").as_bytes(),
        );
    }
    let vault = t.path().join("vault");
    run(dv(&vault).arg("init"));
    run(dv(&vault).arg("add").arg(&src));
    for args in [
        vec!["locate", "", "--limit", "5000"],
        vec!["--json", "locate", "", "--limit", "5000"],
        vec!["status", "--json"],
        vec!["log", "export", "--premis"],
    ] {
        let mut child = dv(&vault)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read one byte, then close the pipe (as `| head -c1` does).
        use std::io::Read;
        let mut one = [0u8; 1];
        child.stdout.take().unwrap().read_exact(&mut one).unwrap();
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {err}");
    }
    // More matches than the limit: said.
    let (rc, _, err) = code(dv(&vault).args(["locate", "文件-0", "--limit", "5"]));
    assert_eq!(rc, 0);
    assert!(err.contains("more than 5 files match"), "{err}");
    // An error in --json mode is JSON on stderr, with the full path of a missing vault.
    let missing = t.path().join("no-such-vault");
    let (rc, _, err) = code(dv(&missing).args(["--json", "status"]));
    assert_eq!(rc, 1);
    let e: Value = serde_json::from_str(err.trim()).unwrap();
    assert_eq!(e["kind"], "no_vault");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains(missing.to_str().unwrap()),
        "{e}"
    );
    // An I/O error is said once.
    let (rc, _, err) = code(dv(&vault).arg("add").arg(t.path().join("gone")));
    assert_ne!(rc, 0);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}

#[test]
fn same_vault_commands_take_turns_and_interrupted_masters_leave_no_litter() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("tree");
    for i in 0..40 {
        write(
            &src.join(format!("d{}/f{i}.bin", i % 4)),
            &pseudo_random(1 << 20, i),
        );
    }
    let vault = t.path().join("vault");
    run(dv(&vault).arg("init"));
    // Four `add` of the same tree at once: all finish, each file recorded once.
    let children: Vec<_> = (0..4)
        .map(|_| {
            dv(&vault)
                .arg("add")
                .arg(&src)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(sql(&vault, "SELECT COUNT(*) FROM files"), "40");

    // master killed (-9) while writing: the rerun removes what it left and masters the same.
    run(dv(&vault).args(["plan", "--media", "cd74"]));
    let out = t.path().join("out");
    fs::create_dir_all(&out).unwrap();
    write(&out.join(".someone-else.partial"), b"not ours");
    let mut child = dv(&vault)
        .arg("master")
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        let ours = fs::read_dir(&out)
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().starts_with(".discvault-"));
        if ours || start.elapsed().as_secs() > 60 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let left: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".discvault-"))
        .collect();
    assert!(!left.is_empty(), "the killed master left its partial image");
    let (rc, r) = json(dv(&vault).arg("master").arg("--out").arg(&out));
    assert_eq!(rc, 0, "{r}");
    let mut names: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [".someone-else.partial", "DV-000001.iso"]);
    let (rc, r) = json(dv(&vault).arg("verify").arg(out.join("DV-000001.iso")));
    assert_eq!(rc, 0, "{r}");
}

#[test]
fn metadata_changes_are_events_and_retention_on_discs_needs_force() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("文书档案");
    write(&src.join("a.txt"), b"a\n");
    let other = t.path().join("会计档案");
    write(&other.join("b.txt"), b"b\n");
    let vault = t.path().join("vault");
    run(dv(&vault).arg("init"));
    run(dv(&vault)
        .arg("add")
        .arg(&src)
        .args(["--meta", "保管期限=30年", "--meta", "fonds=J001"]));
    run(dv(&vault).arg("add").arg(&other).args([
        "--meta",
        "保管期限=永久",
        "--meta",
        "fonds=J002",
    ]));
    run(dv(&vault).args(["plan", "--media", "cd74"]));
    run(dv(&vault)
        .arg("master")
        .arg("--out")
        .arg(t.path().join("img")));

    // Changing the retention of records on discs is refused without --force, changing nothing.
    let (rc, _, err) = code(
        dv(&vault)
            .arg("add")
            .arg(&src)
            .args(["--meta", "保管期限=10年"]),
    );
    assert_eq!(rc, 1, "{err}");
    assert!(err.contains("文书档案") && err.contains("--force"), "{err}");
    assert!(err.contains("30年") && err.contains("10年"), "{err}");
    assert_eq!(
        sql(
            &vault,
            "SELECT value FROM collection_metadata WHERE key = '保管期限' ORDER BY value"
        ),
        "30年\n永久"
    );
    // With --force: changed, and the change is an event with old and new values.
    let (rc, r) =
        json(
            dv(&vault)
                .arg("add")
                .arg(&src)
                .args(["--meta", "保管期限=10年", "--force"]),
        );
    assert_eq!(rc, 0, "{r}");
    assert_eq!(r["metadata_changes"][0]["old"], "30年", "{r}");
    let ev = sql(
        &vault,
        "SELECT detail FROM events WHERE event_type = 'metadata modification'",
    );
    assert!(ev.contains("30年") && ev.contains("10年"), "{ev}");
    let premis = run(dv(&vault).args(["log", "export", "--premis"]));
    assert!(premis.contains("metadata modification"), "premis");
    // The next plan shows it.
    write(&src.join("c.txt"), b"c\n");
    run(dv(&vault).arg("add").arg(&src));
    let (_, p) = json(dv(&vault).args(["plan", "--dry-run", "--media", "cd74"]));
    assert!(
        p["metadata_changes"][0].as_str().unwrap().contains("10年"),
        "{p}"
    );

    // The label of a disc with both collections shows each one's fonds and retention; the
    // format follows the file's extension.
    let svg = t.path().join("face.svg");
    run(dv(&vault).args(["label", "DV-000001", "--out"]).arg(&svg));
    let text = fs::read_to_string(&svg).unwrap();
    assert!(text.contains("J001") && text.contains("J002"), "{text}");
    assert!(text.contains("保管期限 永久"), "{text}");
    let png = t.path().join("face.png");
    run(dv(&vault).args(["label", "DV-000001", "--out"]).arg(&png));
    assert_eq!(&fs::read(&png).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn hostile_names_go_archive_readback_verify_damage_repair_restore() {
    let t = tempfile::tempdir().unwrap();
    let ArchivedHostile {
        src,
        files,
        vault,
        img,
    } = archived_hostile(t.path());

    // Read back whole: every name and byte as given.
    let back = t.path().join("back");
    let (rc, r) = json(dv(&vault).arg("readback").arg(&img).arg("--to").arg(&back));
    assert_eq!(rc, 0, "{r}");
    assert_same_tree(
        "readback",
        &tree(&back.join("DV-000001/data/文书档案")),
        &tree(&src),
    );
    let (rc, r) = json(dv(&vault).arg("verify").arg(&img));
    assert_eq!(rc, 0, "{r}");

    // Damage inside one record: verify names it (exit 3), repair mends it (exit 0) into the
    // image as mastered, restore from the mended image gives every file back (exit 0).
    let mut bytes = fs::read(&img).unwrap();
    let target = &files
        .iter()
        .find(|f| f.0 == Path::new("target.bin"))
        .unwrap()
        .1;
    let at = bytes
        .windows(64)
        .position(|w| w == &target[..64])
        .expect("the record's bytes are in the image");
    for b in &mut bytes[at + 4096..at + 4096 + 2048] {
        *b ^= 0xff;
    }
    let bad = t.path().join("bad.iso");
    fs::write(&bad, &bytes).unwrap();
    let (rc, r) = json(dv(&vault).arg("verify").arg(&bad));
    assert_eq!(rc, 3, "{r}");
    let named: Vec<&str> = r[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["disc_path"].as_str().unwrap())
        .collect();
    assert_eq!(named, ["data/文书档案/target.bin"], "{r}");
    // Restoring from the damaged copy alone: that record is damage (exit 3), the rest restored.
    let (rc, r) = json(
        dv(&vault)
            .args(["restore", "文书档案", "--to"])
            .arg(t.path().join("from-bad"))
            .arg("--from")
            .arg(&bad),
    );
    assert_eq!(rc, 3, "{r}");
    assert_eq!(r["restored"].as_u64(), Some(files.len() as u64 - 1), "{r}");
    let fixed = t.path().join("fixed");
    assert_repairs_into(&vault, &bad, &fixed, &img);
    let to = t.path().join("restored");
    assert_restores("restore", &vault, &fixed.join("DV-000001.iso"), &src, &to);
    // Without the catalog, from the disc's own records: the same.
    let (none, to2) = (
        t.path().join("no-vault"),
        t.path().join("restored-no-vault"),
    );
    assert_restores("restore without a vault", &none, &img, &src, &to2);
}

#[test]
fn non_utf8_names_and_link_targets_restore_byte_exact_without_the_catalog() {
    use std::os::unix::ffi::OsStrExt;
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("gbk");
    let name = std::ffi::OsStr::from_bytes(b"\xb5\xb5\xb0\xb8-\xc3\xfb.txt");
    write(&src.join(name), b"gbk name\n");
    let link_target = std::ffi::OsStr::from_bytes(b"../\xb5\xb5\xb0\xb8");
    std::os::unix::fs::symlink(link_target, src.join("link")).unwrap();
    let vault = t.path().join("vault");
    let (rc, r) = archive(&vault, &src, "cd74", &t.path().join("img"));
    assert_eq!(rc, 0, "{r}");
    let to = t.path().join("restored");
    let (rc, _, err) = code(
        dv(&t.path().join("no-vault"))
            .args(["restore", "gbk", "--to"])
            .arg(&to)
            .arg("--from")
            .arg(t.path().join("img/DV-000001.iso")),
    );
    assert_eq!(rc, 0, "{err}");
    assert_eq!(fs::read(to.join("gbk").join(name)).unwrap(), b"gbk name\n");
    assert_eq!(
        fs::read_link(to.join("gbk/link"))
            .unwrap()
            .as_os_str()
            .as_bytes(),
        link_target.as_bytes()
    );
}

#[test]
fn a_full_disk_during_master_and_repair_is_our_error_and_changes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("文书");
    write(&src.join("big.bin"), &pseudo_random(3 << 20, 9));
    write(&src.join("small.txt"), b"small\n");
    let vault = t.path().join("vault");
    run(dv(&vault).arg("init"));
    run(dv(&vault).arg("add").arg(&src));
    run(dv(&vault).args(["plan", "--media", "cd74"]));
    let events = sql(&vault, "SELECT COUNT(*) FROM events");

    // master into a folder that takes 1 MiB: an error naming the image, exit 1; the volume is
    // still planned, nothing recorded, no partial image left.
    let out = t.path().join("out");
    let mut cmd = dv(&vault);
    cmd.arg("master").arg("--out").arg(&out);
    let (rc, o, err) = code(&mut limited(&cmd, 1 << 20));
    assert_eq!(rc, 1, "{o}\n{err}");
    assert!(
        err.contains("File too large") && err.contains("DV-000001"),
        "{err}"
    );
    assert_eq!(sql(&vault, "SELECT state FROM volumes"), "planned");
    assert_eq!(sql(&vault, "SELECT COUNT(*) FROM events"), events);
    assert_eq!(partials(&out), Vec::<String>::new());
    // Without the limit it masters.
    let (rc, r) = json(dv(&vault).arg("master").arg("--out").arg(&out));
    assert_eq!(rc, 0, "{r}");
    let img = out.join("DV-000001.iso");

    // repair into a folder that cannot take the image: our error (exit 1), not "beyond
    // repair" (exit 3).
    let mut bytes = fs::read(&img).unwrap();
    let n = bytes.len() / 2;
    for b in &mut bytes[n..n + 4096] {
        *b ^= 0xff;
    }
    let bad = t.path().join("bad.iso");
    fs::write(&bad, &bytes).unwrap();
    let fixed = t.path().join("fixed");
    let mut cmd = dv(&vault);
    cmd.arg("repair").arg(&bad).arg("--to").arg(&fixed);
    let (rc, o, err) = code(&mut limited(&cmd, 1 << 20));
    assert_eq!(rc, 1, "{o}\n{err}");
    assert!(err.contains("File too large"), "{err}");
    assert!(!o.contains("beyond repair"), "{o}");
    assert_eq!(partials(&fixed), Vec::<String>::new());
    assert_repairs_into(&vault, &bad, &fixed, &img);
}

#[test]
fn inspect_due_columns_line_up_with_chinese_places() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("文书");
    write(&src.join("a.txt"), b"a\n");
    let vault = t.path().join("vault");
    let (rc, r) = archive(&vault, &src, "cd74", &t.path().join("img"));
    assert_eq!(rc, 0, "{r}");
    run(dv(&vault).args([
        "copies",
        "add",
        "DV-000001",
        "--roles",
        "sealed",
        "--place",
        "总馆/档案库房一/光盘柜A/1/01",
    ]));
    run(dv(&vault).args([
        "copies",
        "add",
        "DV-000001",
        "--roles",
        "access",
        "--place",
        "site/room/cab/2/02",
    ]));
    let out = run(dv(&vault).args(["inspect", "due", "--at", "2099-01-01"]));
    let cols: Vec<usize> = out
        .lines()
        .filter(|l| l.contains("DV-000001-C"))
        .map(|l| {
            let at = l.find("DV-000001-C").unwrap();
            unicode_width_of(&l[..at])
        })
        .collect();
    assert_eq!(cols.len(), 2, "{out}");
    assert_eq!(cols[0], cols[1], "the copy ids start in one column:\n{out}");
}

/// Terminal columns of `s`: two for a CJK character, one for others (enough for this test).
fn unicode_width_of(s: &str) -> usize {
    s.chars()
        .map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 })
        .sum()
}

#[test]
fn a_version_1_disc_is_still_verified_restored_and_repaired_and_told_apart() {
    // A volume planned before vault identities masters as format version 1 (the catalog keeps
    // each volume's version): no vault id on the disc.
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("文书");
    write(&src.join("a.txt"), b"version 1 disc\n");
    write(&src.join("b.bin"), &pseudo_random(200_000, 3));
    let vault = t.path().join("vault");
    run(dv(&vault).arg("init"));
    run(dv(&vault).arg("add").arg(&src));
    run(dv(&vault)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(["plan", "--media", "cd74"]));
    sql(&vault, "UPDATE volumes SET format_version = 1");
    let out = t.path().join("img");
    run(dv(&vault).arg("master").arg("--out").arg(&out));
    let img = out.join("DV-000001.iso");
    let x = t.path().join("x");
    extract_xorriso(&img, &x);
    let rec: Value =
        serde_json::from_slice(&fs::read(x.join("discvault/volume.json")).unwrap()).unwrap();
    assert_eq!(rec["format_version"], 1);
    assert!(rec.get("vault_id").is_none(), "{rec}");
    let info = fs::read_to_string(x.join("bag-info.txt")).unwrap();
    assert!(info.contains("Discvault-Format-Version: 1") && !info.contains("Vault-Id"));
    let (rc, r) = json(dv(&vault).arg("verify").arg(&img));
    assert_eq!(rc, 0, "{r}");
    // Damaged, repaired into the very image mastered; restored without a vault.
    let mut bytes = fs::read(&img).unwrap();
    let head = pseudo_random(200_000, 3)[..8].to_vec();
    let at = bytes.windows(8).position(|w| w == head).unwrap();
    bytes[at + 5000] ^= 0xff;
    let bad = t.path().join("bad.iso");
    fs::write(&bad, &bytes).unwrap();
    let (rc, r) = json(
        dv(&vault)
            .arg("repair")
            .arg(&bad)
            .arg("--to")
            .arg(t.path().join("fixed")),
    );
    assert_eq!(rc, 0, "{r}");
    assert_eq!(
        fs::read(t.path().join("fixed/DV-000001.iso")).unwrap(),
        fs::read(&img).unwrap()
    );
    let (rc, _, err) = code(
        dv(&t.path().join("none"))
            .args(["restore", "文书", "--to"])
            .arg(t.path().join("r"))
            .arg("--from")
            .arg(&img),
    );
    assert_eq!(rc, 0, "{err}");
    assert_eq!(
        fs::read(t.path().join("r/文书/a.txt")).unwrap(),
        b"version 1 disc\n"
    );
    // Another vault's DV-000001, planned at another time: this version-1 disc is not its.
    let other = t.path().join("other");
    let src2 = t.path().join("其他");
    write(&src2.join("c.txt"), b"other\n");
    run(dv(&other).arg("init"));
    run(dv(&other).arg("add").arg(&src2));
    run(dv(&other)
        .env("SOURCE_DATE_EPOCH", "1700000999")
        .args(["plan", "--media", "cd74"]));
    let (rc, _, err) = code(dv(&other).arg("verify").arg(&img));
    assert_eq!(rc, 5, "{err}");
    assert!(err.contains("another vault"), "{err}");
}
