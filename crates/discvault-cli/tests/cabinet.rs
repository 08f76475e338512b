//! Places of copies and cabinet slot maps: a place is read one way, a slot holds one disc, and
//! a cabinet's slot map goes out and comes back (UTF-8 with BOM, plain UTF-8, GBK from Excel on
//! Chinese Windows, the older form without shelves) without changing the catalog.

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::*;

mod common;
use common::{dv, json, sql};

/// A vault with one planned volume (DV-000001) of the sample records.
fn planned() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("vault");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample");
    run(dv(&vault).arg("init"));
    run(dv(&vault).arg("add").arg(sample));
    run(dv(&vault).args(["plan", "--media", "cd74"]));
    (t, vault)
}

/// Every copy's state and place, and the number of events: what must not change.
fn snapshot(vault: &Path) -> String {
    sql(
        vault,
        "SELECT copy_id, state, site, room, cabinet, shelf, slot, verified_at FROM copies ORDER BY copy_id; SELECT COUNT(*) FROM events;",
    )
}

/// Runs a command that must fail with exit code `code`; returns its stderr.
fn fails(cmd: &mut Command, code: i32) -> String {
    let out = output(cmd);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{cmd:?}: {}\n{err}",
        String::from_utf8_lossy(&out.stdout)
    );
    err
}

fn add(vault: &Path, role: &str, place: &str) -> Value {
    let (rc, v) = json(dv(vault).args([
        "copies",
        "add",
        "DV-000001",
        "--roles",
        role,
        "--place",
        place,
    ]));
    assert_eq!(rc, 0, "{v}");
    v[0].clone()
}

fn copy(vault: &Path, id: &str) -> Value {
    let (rc, v) = json(dv(vault).args(["locate", "--barcode", id]));
    assert_eq!(rc, 0, "{v}");
    v["copy"].clone()
}

#[test]
fn a_place_is_read_one_way_and_a_slot_holds_one_disc() {
    let (_t, vault) = planned();
    // A short place is refused, with the expected form and the parts by name.
    let err = fails(
        dv(&vault).args([
            "copies",
            "add",
            "DV-000001",
            "--roles",
            "sealed",
            "--place",
            "光盘柜A/1/09",
        ]),
        1,
    );
    assert!(
        err.contains("\"光盘柜A/1/09\" has 3 parts")
            && err.contains("site/room/cabinet/shelf/slot")
            && err.contains("site, room, cabinet, shelf, slot"),
        "{err}"
    );
    assert_eq!(sql(&vault, "SELECT COUNT(*) FROM copies"), "0\n");

    // Five parts: each where it belongs; slot numbers without leading zeros.
    let c1 = add(&vault, "sealed", "本馆/A101/光盘柜A/1/09");
    assert_eq!(
        c1["place"],
        serde_json::json!({"site": "本馆", "room": "A101", "cabinet": "光盘柜A", "shelf": "1", "slot": "9"})
    );
    assert_eq!(c1["place_text"], "本馆/A101/光盘柜A/1/9");
    // An unknown part is left empty, and the text reads back the same.
    let c2 = add(&vault, "access", "//光盘柜A/2/9");
    assert_eq!(c2["place"]["cabinet"], "光盘柜A");
    assert_eq!(c2["place"]["site"], "");
    assert_eq!(c2["place_text"], "//光盘柜A/2/9");
    fails(
        dv(&vault).args([
            "copies",
            "add",
            "DV-000001",
            "--roles",
            "offsite",
            "--place",
            "本馆/A101/光盘柜A/1/x",
        ]),
        1,
    );

    // The parts by name; the slot of another copy is refused, naming that copy.
    let before = snapshot(&vault);
    let by_name = |slot: &str| -> Vec<String> {
        [
            "copies",
            "add",
            "DV-000001",
            "--roles",
            "offsite",
            "--site",
            "本馆",
            "--room",
            "A101",
            "--cabinet",
            "光盘柜A",
            "--shelf",
            "1",
            "--slot",
            slot,
        ]
        .map(String::from)
        .to_vec()
    };
    let err = fails(dv(&vault).args(by_name("9")), 1);
    assert!(
        err.contains("本馆/A101/光盘柜A/1/9") && err.contains("holds copy DV-000001-C1"),
        "{err}"
    );
    assert_eq!(snapshot(&vault), before, "nothing added");
    let (rc, c3) = json(dv(&vault).args(by_name("10")));
    assert_eq!(rc, 0, "{c3}");
    assert_eq!(c3[0]["place_text"], "本馆/A101/光盘柜A/1/10");
    // Several copies (one per role) cannot share one slot.
    let err = fails(
        dv(&vault).args([
            "copies",
            "add",
            "DV-000001",
            "--place",
            "本馆/A101/光盘柜A/1/20",
        ]),
        1,
    );
    assert!(err.contains("a slot holds one disc"), "{err}");
    // Whole place and parts together, or a move to nowhere: a bad command line.
    fails(
        dv(&vault).args([
            "copies",
            "add",
            "DV-000001",
            "--roles",
            "sealed",
            "--place",
            "a/b/c/1/1",
            "--slot",
            "2",
        ]),
        2,
    );
    fails(dv(&vault).args(["copies", "move", "DV-000001-C1"]), 2);

    // Moves: a short place is refused; a taken slot is refused naming its copy.
    let before_moves = snapshot(&vault);
    let err = fails(
        dv(&vault).args(["copies", "move", "DV-000001-C1", "--place", "光盘柜A/1/09"]),
        1,
    );
    assert!(err.contains("site/room/cabinet/shelf/slot"), "{err}");
    let err = fails(
        dv(&vault).args(["copies", "move", "DV-000001-C3", "--slot", "9"]),
        1,
    );
    assert!(err.contains("holds copy DV-000001-C1"), "{err}");
    assert_eq!(
        snapshot(&vault),
        before_moves,
        "refused moves change nothing"
    );
    // By name: the coarser parts stay, the finer ones not given are cleared.
    let (_, m) = json(dv(&vault).args(["copies", "move", "DV-000001-C1", "--cabinet", "光盘柜B"]));
    assert_eq!(m[0]["place_text"], "本馆/A101/光盘柜B//");
    let (_, m) = json(dv(&vault).args(["copies", "move", "DV-000001-C3", "--slot", "9"]));
    assert_eq!(
        m[0]["place_text"], "本馆/A101/光盘柜A/1/9",
        "slot 9 is free now"
    );
    // A missing copy does not hold its slot; found again, it must find the slot free.
    run(dv(&vault).args(["copies", "mark", "DV-000001-C3", "--state", "missing"]));
    add(&vault, "sealed", "本馆/A101/光盘柜A/1/9");
    let err = fails(
        dv(&vault).args(["copies", "mark", "DV-000001-C3", "--state", "written"]),
        1,
    );
    assert!(err.contains("holds copy DV-000001-C4"), "{err}");
    assert_eq!(copy(&vault, "DV-000001-C3")["state"], "missing");

    // Roles are the configured ones.
    let err = fails(
        dv(&vault).args(["copies", "add", "DV-000001", "--roles", "seald"]),
        1,
    );
    assert!(
        err.contains("\"seald\"") && err.contains("sealed, access, offsite"),
        "{err}"
    );
}

/// The text of a UTF-8 slot map, its byte order mark checked and removed.
fn without_bom(bytes: &[u8]) -> String {
    let s = String::from_utf8(bytes.to_vec()).unwrap();
    s.strip_prefix('\u{feff}')
        .unwrap_or_else(|| panic!("no byte order mark: {s:?}"))
        .to_string()
}

/// `cabinet import` with `--json`: exit code and reconciliation.
fn import(vault: &Path, file: &Path, dry_run: bool) -> (i32, Value) {
    let mut c = dv(vault);
    c.args(["cabinet", "import"]).arg(file);
    if dry_run {
        c.arg("--dry-run");
    }
    json(&mut c)
}

/// Writes `text` to `path` in GBK, by iconv, as Excel on Chinese Windows saves a CSV.
fn write_gbk(path: &Path, text: &str) {
    let utf8 = path.with_extension("utf8");
    fs::write(&utf8, text).unwrap();
    let out = output(
        Command::new("iconv")
            .args(["-f", "UTF-8", "-t", "GBK"])
            .arg(&utf8),
    );
    assert!(out.status.success());
    assert!(std::str::from_utf8(&out.stdout).is_err(), "GBK, not UTF-8");
    fs::write(path, out.stdout).unwrap();
}

#[test]
fn slot_maps_of_three_cabinets_with_shelves_go_out_and_come_back_unchanged() {
    let (t, vault) = planned();
    let p = |n: &str| t.path().join(n);
    run(dv(&vault).args([
        "copies",
        "add",
        "DV-000001",
        "--roles",
        "sealed",
        "--rfid",
        "e28011606000020a1b2c3d4e",
        "--place",
        "本馆/A101/柜01/1/1",
    ]));
    // Two cabinets named 柜01 (in two sites); slot numbers repeat from shelf to shelf.
    for (role, place) in [
        ("access", "本馆/A101/柜01/1/2"),
        ("offsite", "本馆/A101/柜01/2/1"),
        ("sealed", "本馆/A101/柜01/2/2"),
        ("access", "本馆/A101/柜02/3/12"),
        ("offsite", "本馆/A101/柜02/1/2"),
        ("sealed", "异地库/B1/柜01/1/1"),
        ("access", "异地库/B1/柜01/1/2"),
    ] {
        add(&vault, role, place);
    }

    // The slot map: UTF-8 with a byte order mark, with shelves, in shelf and slot order.
    let out = output(dv(&vault).args(["cabinet", "export", "柜02"]));
    assert!(out.status.success());
    assert_eq!(
        without_bom(&out.stdout),
        "copy_id,barcode,rfid,cabinet,shelf,slot\nDV-000001-C6,DV-000001-C6,,柜02,1,2\nDV-000001-C5,DV-000001-C5,,柜02,3,12\n"
    );
    // A name two cabinets share, and an unknown cabinet: errors that list the cabinets.
    let err = fails(dv(&vault).args(["cabinet", "export", "柜01"]), 1);
    assert!(
        err.contains("names 2 cabinets (异地库/B1/柜01, 本馆/A101/柜01)"),
        "{err}"
    );
    let err = fails(
        dv(&vault)
            .args(["cabinet", "export", "柜99", "--out"])
            .arg(p("none.csv")),
        1,
    );
    assert!(
        err.contains("unknown cabinet \"柜99\"")
            && err.contains("known: 异地库/B1/柜01, 本馆/A101/柜01, 柜02"),
        "{err}"
    );
    assert!(!p("none.csv").exists(), "no file left behind");

    // Export every cabinet, import each file: nothing changes, nothing is reported.
    let before = snapshot(&vault);
    let maps = [
        ("本馆/A101/柜01", "a.csv", 4),
        ("柜02", "b.csv", 2),
        ("异地库/B1/柜01", "c.csv", 2),
    ];
    for (cabinet, file, n) in maps {
        let (rc, m) = json(
            dv(&vault)
                .args(["cabinet", "export", cabinet, "--out"])
                .arg(p(file)),
        );
        assert_eq!((rc, m["copies"].as_u64()), (0, Some(n)), "{m}");
        assert_eq!(m["cabinet"], cabinet);
    }
    let a = without_bom(&fs::read(p("a.csv")).unwrap());
    assert_eq!(
        a,
        "copy_id,barcode,rfid,cabinet,shelf,slot\n\
         DV-000001-C1,DV-000001-C1,E28011606000020A1B2C3D4E,本馆/A101/柜01,1,1\n\
         DV-000001-C2,DV-000001-C2,,本馆/A101/柜01,1,2\n\
         DV-000001-C3,DV-000001-C3,,本馆/A101/柜01,2,1\n\
         DV-000001-C4,DV-000001-C4,,本馆/A101/柜01,2,2\n"
    );
    for (_, file, n) in maps {
        let (rc, r) = import(&vault, &p(file), false);
        assert_eq!(rc, 0, "{file}: {r}");
        assert_eq!(
            (r["rows"].as_u64(), r["matched"].as_u64()),
            (Some(n), Some(n))
        );
        assert_eq!(r["found_unexpected"], serde_json::json!([]));
        assert_eq!(r["missing"], serde_json::json!([]));
    }
    assert_eq!(
        snapshot(&vault),
        before,
        "export then import is an identity"
    );
    // The same without the byte order mark.
    fs::write(p("a-plain.csv"), &a).unwrap();
    let (rc, r) = import(&vault, &p("a-plain.csv"), false);
    assert_eq!((rc, r["matched"].as_u64()), (0, Some(4)), "{r}");
    assert_eq!(snapshot(&vault), before);

    // Edited in Excel on Chinese Windows (saved as GBK): two discs swapped places.
    let b = without_bom(&fs::read(p("b.csv")).unwrap());
    let swapped = b
        .replace(
            "DV-000001-C6,DV-000001-C6,,柜02,1,2",
            "DV-000001-C6,DV-000001-C6,,柜02,3,12",
        )
        .replace(
            "DV-000001-C5,DV-000001-C5,,柜02,3,12",
            "DV-000001-C5,DV-000001-C5,,柜02,1,2",
        );
    write_gbk(&p("b-gbk.csv"), &swapped);
    let (rc, r) = import(&vault, &p("b-gbk.csv"), true);
    assert_eq!(rc, 3, "{r}");
    assert_eq!(r["cabinets"], serde_json::json!(["柜02"]));
    assert_eq!(r["found_unexpected"][0]["copy_id"], "DV-000001-C6");
    assert_eq!(r["found_unexpected"][0]["shelf"], "3");
    assert_eq!(r["found_unexpected"][0]["expected"], "本馆/A101/柜02/1/2");
    assert_eq!(snapshot(&vault), before, "a dry run changes nothing");
    let (rc, r) = import(&vault, &p("b-gbk.csv"), false);
    assert_eq!((rc, r["applied"].as_bool()), (3, Some(true)), "{r}");
    assert_eq!(
        copy(&vault, "DV-000001-C6")["place_text"],
        "本馆/A101/柜02/3/12"
    );
    assert_eq!(
        copy(&vault, "DV-000001-C5")["place_text"],
        "本馆/A101/柜02/1/2"
    );
    let out = output(dv(&vault).args(["cabinet", "export", "柜02"]));
    assert_eq!(
        without_bom(&out.stdout),
        "copy_id,barcode,rfid,cabinet,shelf,slot\nDV-000001-C5,DV-000001-C5,,柜02,1,2\nDV-000001-C6,DV-000001-C6,,柜02,3,12\n",
        "the catalog now says what the file said"
    );
    let after_swap = snapshot(&vault);

    // A GBK file with a bad row: the row is named (its Chinese read right), nothing changes.
    write_gbk(
        &p("bad-gbk.csv"),
        "copy_id,barcode,rfid,cabinet,shelf,slot\nDV-000001-C5,DV-000001-C5,,柜02,1,2\nDV-000001-C6,DV-000001-C6,,柜99,3,12\n",
    );
    let err = fails(
        dv(&vault).args(["cabinet", "import"]).arg(p("bad-gbk.csv")),
        1,
    );
    assert!(
        err.contains("line 3: unknown cabinet \"柜99\"") && err.contains("nothing applied"),
        "{err}"
    );
    assert_eq!(snapshot(&vault), after_swap);

    // The older form without a shelf column is still read: slots by number, shelves kept.
    fs::write(
        p("old.csv"),
        "copy_id,barcode,rfid,cabinet,slot\nDV-000001-C7,DV-000001-C7,,异地库/B1/柜01,1\nDV-000001-C8,DV-000001-C8,,异地库/B1/柜01,2\n",
    )
    .unwrap();
    let (rc, r) = import(&vault, &p("old.csv"), false);
    assert_eq!((rc, r["matched"].as_u64()), (0, Some(2)), "{r}");
    assert_eq!(snapshot(&vault), after_swap, "shelves are not erased");
    // ... but it cannot tell apart slots of one number on two shelves.
    fs::write(
        p("old2.csv"),
        "copy_id,barcode,rfid,cabinet,slot\n,DV-000001-C1,,本馆/A101/柜01,1\n,DV-000001-C3,,本馆/A101/柜01,1\n",
    )
    .unwrap();
    let err = fails(dv(&vault).args(["cabinet", "import"]).arg(p("old2.csv")), 1);
    assert!(
        err.contains("line 3: cabinet 本馆/A101/柜01 slot 1 is already taken on line 2")
            && err.contains("copy_id,barcode,rfid,cabinet,shelf,slot"),
        "{err}"
    );

    // Quality figures take the same encodings: a UTF-8 file with a byte order mark (Excel's
    // "CSV UTF-8"), and GBK.
    fs::write(
        p("q.csv"),
        "\u{feff}copy,measured_at,metric,value\nDV-000001-C1,2026-01-05,bler,20\n",
    )
    .unwrap();
    let (rc, g) = json(dv(&vault).args(["quality", "import"]).arg(p("q.csv")));
    assert_eq!((rc, g[0]["grade"].as_str()), (0, Some("good")), "{g}");
    write_gbk(
        &p("q-gbk.csv"),
        "copy,measured_at,metric,value\n光盘一号,2026-01-05,bler,20\n",
    );
    let err = fails(
        dv(&vault).args(["quality", "import"]).arg(p("q-gbk.csv")),
        1,
    );
    assert!(err.contains("line 2: unknown copy \"光盘一号\""), "{err}");
}

/// A vault with one mastered volume of the sample records; returns (tempdir, vault, image).
fn archived() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("vault");
    let out = t.path().join("img");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample");
    let (rc, r) = common::archive(&vault, &sample, "cd74", &out);
    assert_eq!(rc, 0, "{r}");
    (t, vault, out.join("DV-000001.iso"))
}

fn date(t: i64) -> String {
    run(Command::new("date").args(["-u", "-d", &format!("@{t}"), "+%Y-%m-%d"]))
        .trim()
        .to_string()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Each copy's trust as `copies list --at DATE` shows it.
fn trust_at(vault: &Path, at: &str) -> Vec<(String, bool)> {
    let (rc, l) = json(dv(vault).args(["copies", "list", "--at", at]));
    assert_eq!(rc, 0, "{l}");
    l.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["copy_id"].as_str().unwrap().to_string(),
                c["trusted"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// `status`: the count of trusted copies and the problems of the volumes short of the policy.
fn status_problems(vault: &Path) -> (u64, Vec<String>) {
    let (rc, s) = json(dv(vault).arg("status"));
    assert_eq!(rc, 0, "{s}");
    let problems = s["shortfalls"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["problems"].as_array().unwrap().clone())
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    (s["copies"]["trusted"].as_u64().unwrap(), problems)
}

#[test]
fn a_copy_is_trusted_only_after_a_clean_read_back_and_while_its_cabinet_has_it() {
    let (t, vault, img) = archived();
    for (role, place) in [
        ("sealed", "本馆/A101/柜01/1/1"),
        ("access", "本馆/A101/柜01/1/2"),
        ("offsite", "异地库/B1/柜01/1/1"),
    ] {
        let c = add(&vault, role, place);
        // Registered is not read back.
        assert_eq!(c["trusted"], false, "{c}");
        assert!(
            c["not_trusted"]
                .as_str()
                .unwrap()
                .contains("never read back"),
            "{c}"
        );
    }
    // Nothing read back yet: the policy is not met.
    assert_eq!(
        status_problems(&vault),
        (
            0,
            vec![
                "0 trusted copies of 3 required".to_string(),
                "trusted copies in 0 sites of 2 required".to_string()
            ]
        )
    );
    let text = run(dv(&vault).args(["copies", "list"]));
    assert!(text.contains("NOT trusted (never read back"), "{text}");

    // A copy is not registered as verified, nor marked verified without the date of the check,
    // nor checked in the future.
    let err = fails(
        dv(&vault).args([
            "copies",
            "add",
            "DV-000001",
            "--roles",
            "sealed",
            "--state",
            "verified",
        ]),
        1,
    );
    assert!(err.contains("verify SOURCE --copy"), "{err}");
    let err = fails(
        dv(&vault).args(["copies", "mark", "DV-000001-C2", "--state", "verified"]),
        1,
    );
    assert!(err.contains("--at"), "{err}");
    let err = fails(
        dv(&vault).args([
            "copies",
            "mark",
            "DV-000001-C2",
            "--state",
            "verified",
            "--at",
            &date(now() + 3 * 86_400),
        ]),
        1,
    );
    assert!(err.contains("in the future"), "{err}");
    assert_eq!(
        sql(
            &vault,
            "SELECT COUNT(*) FROM copies WHERE state <> 'written' OR verified_at IS NOT NULL"
        ),
        "0\n"
    );

    // Read back (verify --copy), or a past check recorded with its date: trusted.
    for c in ["DV-000001-C1", "DV-000001-C3"] {
        let (rc, v) = json(dv(&vault).arg("verify").arg(&img).args(["--copy", c]));
        assert_eq!(rc, 0, "{v}");
    }
    let today = date(now());
    run(dv(&vault).args([
        "copies",
        "mark",
        "DV-000001-C2",
        "--state",
        "verified",
        "--at",
        &today,
    ]));
    assert_eq!(status_problems(&vault), (3, vec![]));
    let c2 = copy(&vault, "DV-000001-C2");
    assert_eq!(c2["trusted"], true, "{c2}");
    assert!(c2.get("not_trusted").is_none(), "{c2}");
    // The trust expires with the inspection interval (1461 days after the check).
    let later = trust_at(&vault, &date(now() + 1462 * 86_400));
    assert!(later.iter().all(|(_, ok)| !ok), "{later:?}");
    // A check recorded as done in 2020 is past its interval now.
    run(dv(&vault).args([
        "copies",
        "mark",
        "DV-000001-C2",
        "--state",
        "verified",
        "--at",
        "2020-01-01",
    ]));
    let c2 = copy(&vault, "DV-000001-C2");
    assert_eq!(c2["trusted"], false, "{c2}");
    assert!(
        c2["not_trusted"]
            .as_str()
            .unwrap()
            .contains("due since 2024-01-01"),
        "{c2}"
    );
    let (_, pick) = json(dv(&vault).args(["inspect", "due"]));
    let due = pick["copies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["copy_id"] == "DV-000001-C2")
        .expect("C2 is due");
    assert_eq!(
        (due["reason"].as_str(), due["trusted"].as_bool()),
        (Some("overdue"), Some(false))
    );
    assert_eq!(
        status_problems(&vault),
        (2, vec!["2 trusted copies of 3 required".to_string()])
    );

    // The inventory of 本馆's 柜01 sees C2 but not C1: C1 is missing, and not trusted.
    let inv = t.path().join("inventory.csv");
    fs::write(
        &inv,
        "copy_id,barcode,rfid,cabinet,shelf,slot\nDV-000001-C2,DV-000001-C2,,本馆/A101/柜01,1,2\n",
    )
    .unwrap();
    let (rc, r) = import(&vault, &inv, false);
    assert_eq!(rc, 3, "{r}");
    assert_eq!(r["missing"][0]["copy_id"], "DV-000001-C1", "{r}");
    let c1 = copy(&vault, "DV-000001-C1");
    assert_eq!(
        (
            c1["state"].as_str(),
            c1["trusted"].as_bool(),
            c1["not_trusted"].as_str()
        ),
        (Some("missing"), Some(false), Some("missing")),
        "{c1}"
    );
    assert_eq!(
        status_problems(&vault),
        (
            1,
            vec![
                "1 trusted copies of 3 required".to_string(),
                "trusted copies in 1 sites of 2 required".to_string()
            ]
        )
    );
    let (rc, rep) = json(dv(&vault).args(["report", "--format", "json"]));
    assert_eq!(rc, 0);
    assert_eq!(rep["status"]["copies"]["trusted"], 1);
    assert_eq!(rep["to_migrate"][0]["copy_id"], "DV-000001-C1");
    // The migration plan reads from trusted copies first, and says which are.
    let (_, p) = json(dv(&vault).args(["migrate", "--plan"]));
    assert_eq!(
        p["items"][0]["replace"],
        serde_json::json!(["DV-000001-C1"]),
        "{p}"
    );
    let from: Vec<(&str, bool)> = p["items"][0]["read_from"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["copy_id"].as_str().unwrap(),
                c["trusted"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        from,
        [("DV-000001-C3", true), ("DV-000001-C2", false)],
        "{p}"
    );
    run(dv(&vault).args([
        "copies",
        "mark",
        "DV-000001-C2",
        "--state",
        "verified",
        "--at",
        &today,
    ]));

    // Seen again: written, and trusted only once it is read back.
    fs::write(
        &inv,
        "copy_id,barcode,rfid,cabinet,shelf,slot\nDV-000001-C1,DV-000001-C1,,本馆/A101/柜01,1,1\nDV-000001-C2,DV-000001-C2,,本馆/A101/柜01,1,2\n",
    )
    .unwrap();
    let (rc, r) = import(&vault, &inv, false);
    assert_eq!(rc, 3, "{r}");
    assert_eq!(r["found_again"], serde_json::json!(["DV-000001-C1"]), "{r}");
    assert_eq!(r["matched"], 2);
    let c1 = copy(&vault, "DV-000001-C1");
    assert_eq!(
        (c1["state"].as_str(), c1["trusted"].as_bool()),
        (Some("written"), Some(false)),
        "{c1}"
    );
    run(dv(&vault)
        .arg("verify")
        .arg(&img)
        .args(["--copy", "DV-000001-C1"]));
    assert_eq!(status_problems(&vault), (3, vec![]));
    let (rc, r) = import(&vault, &inv, false);
    assert_eq!((rc, r["matched"].as_u64()), (0, Some(2)), "{r}");
}
