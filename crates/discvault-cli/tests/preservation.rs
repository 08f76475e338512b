//! The preservation loop: copies and their places, barcodes, cabinet slot maps, read-back
//! results recorded against copies, and the hash-chained audit trail with its PREMIS export.

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::*;

mod common;
use common::{dv, json, sql};

/// A vault with one mastered volume of the sample records; returns (tempdir, vault, image).
fn archived() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("vault");
    let out = t.path().join("img");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample");
    run(dv(&vault)
        .arg("archive")
        .arg(sample)
        .args(["--media", "cd74", "--out"])
        .arg(&out));
    let img = out.join("DV-000001.iso");
    (t, vault, img)
}

/// Offset in a sample image of the data of one record (文书-000001): its text "各单位" appears
/// only in the file's data (the name, in the directory records, starts with 关于档案).
fn record_data_offset(image: &[u8]) -> usize {
    image
        .windows(9)
        .position(|w| w == "各单位".as_bytes())
        .expect("the sample record's data in the image")
}

/// Writes a copy of `img` with one byte of that record's data flipped by `mask`; returns the
/// offset of the flipped byte.
fn damaged_copy(img: &Path, to: &Path, mask: u8) -> usize {
    let mut data = fs::read(img).unwrap();
    let at = record_data_offset(&data);
    data[at] ^= mask;
    fs::write(to, &data).unwrap();
    at
}

#[test]
fn copies_places_barcodes_and_trust() {
    let (_t, vault, _) = archived();
    let (rc, added) =
        json(dv(&vault).args(["copies", "add", "DV-000001", "--place", "本馆/A101/柜03/2/"]));
    assert_eq!(rc, 0, "{added}");
    let roles: Vec<&str> = added
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["sealed", "access", "offsite"],
        "GB/T 18894 default set"
    );
    assert_eq!(added[0]["copy_id"], "DV-000001-C1");
    assert_eq!(added[0]["barcode"], "DV-000001-C1");
    assert_eq!(added[0]["trusted"], false, "not read back yet");
    let (rc, one) = json(dv(&vault).args([
        "copies",
        "add",
        "DV-000001",
        "--roles",
        "access",
        "--barcode",
        "ACC-0001",
        "--rfid",
        "e28011606000020a1b2c3d4e",
        "--place",
        "本馆/A101/柜03/2/13",
    ]));
    assert_eq!(rc, 0, "{one}");
    assert_eq!(one[0]["rfid"], "E28011606000020A1B2C3D4E");

    // Bad input: a barcode or RFID tag taken, a malformed tag, two roles with one barcode.
    for (args, needle) in [
        (
            vec!["--roles", "access", "--barcode", "ACC-0001"],
            "already belongs to copy DV-000001-C4",
        ),
        (
            vec!["--roles", "access", "--rfid", "E28011606000020A1B2C3D4E"],
            "already belongs",
        ),
        (
            vec!["--roles", "access", "--rfid", "12345"],
            "24 hex digits",
        ),
        (
            vec!["--roles", "access,offsite", "--barcode", "X-1"],
            "one role at a time",
        ),
    ] {
        let out = output(dv(&vault).args(["copies", "add", "DV-000001"]).args(&args));
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let (_, list) = json(dv(&vault).args(["copies", "list"]));
    assert_eq!(list.as_array().unwrap().len(), 4, "nothing half-added");

    // Where is it: by barcode, by RFID, and for a file.
    let (rc, a) = json(dv(&vault).args(["locate", "--barcode", "ACC-0001"]));
    assert_eq!(rc, 0);
    assert_eq!(a["copy"]["copy_id"], "DV-000001-C4");
    assert_eq!(a["copy"]["place_text"], "本馆/A101/柜03/2/13");
    assert_eq!(a["files"], 8);
    assert_eq!(a["other_copies"].as_array().unwrap().len(), 3);
    let (_, a) = json(dv(&vault).args(["locate", "--barcode", "E28011606000020A1B2C3D4E"]));
    assert_eq!(a["copy"]["copy_id"], "DV-000001-C4");
    let (_, f) = json(dv(&vault).args(["locate", "会议"]));
    let copies = f[0]["volumes"][0]["copies"].as_array().unwrap();
    assert_eq!(copies.len(), 4);
    let out = output(dv(&vault).args(["locate", "--barcode", "NOPE-1"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOPE-1"));

    // Move and mark: the place changes, a damaged copy is no longer trusted.
    let (_, m) = json(dv(&vault).args([
        "copies",
        "move",
        "DV-000001-C3",
        "--place",
        "分馆/B2/柜01/1/1",
    ]));
    assert_eq!(m[0]["place"]["site"], "分馆");
    let (_, d) = json(dv(&vault).args([
        "copies", "mark", "ACC-0001", "--state", "damaged", "--note", "scratch",
    ]));
    assert_eq!(d[0]["trusted"], false);
    let out = output(dv(&vault).args(["copies", "mark", "ACC-0001", "--state", "lost"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"lost\""));
    // A check expires after the inspection interval: C1 checked 1462 days ago, C2 today.
    let today = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for (c, at) in [
        ("DV-000001-C1", today - 1462 * DAY),
        ("DV-000001-C2", today),
    ] {
        run(dv(&vault).args([
            "copies",
            "mark",
            c,
            "--state",
            "verified",
            "--at",
            &date(at),
        ]));
    }
    let (_, l) = json(dv(&vault).args(["copies", "list", "--volume", "DV-000001"]));
    let trust: Vec<(String, bool)> = l
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["copy_id"].as_str().unwrap().to_string(),
                c["trusted"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(trust.contains(&("DV-000001-C1".into(), false)), "{trust:?}");
    assert!(trust.contains(&("DV-000001-C2".into(), true)), "{trust:?}");
    // Every change is an event.
    let types = sql(
        &vault,
        "SELECT event_type FROM events WHERE copy IS NOT NULL ORDER BY id",
    );
    assert_eq!(
        types.lines().collect::<Vec<_>>(),
        [
            "replication",
            "replication",
            "replication",
            "replication",
            "transfer",
            "metadata modification",
            "fixity check",
            "fixity check"
        ]
    );
}

#[test]
fn verify_records_the_result_against_the_copy() {
    let (t, vault, img) = archived();
    run(dv(&vault).args(["copies", "add", "DV-000001", "--roles", "sealed,access"]));
    let (rc, _) = json(
        dv(&vault)
            .arg("verify")
            .arg(&img)
            .args(["--copy", "DV-000001-C1"]),
    );
    assert_eq!(rc, 0);
    let (_, c) = json(dv(&vault).args(["locate", "--barcode", "DV-000001-C1"]));
    assert_eq!(c["copy"]["state"], "verified");
    assert!(c["copy"]["verified_at"].as_i64().is_some());
    let bad = t.path().join("bad.iso");
    damaged_copy(&img, &bad, 0x55);
    let (rc, _) = json(
        dv(&vault)
            .arg("verify")
            .arg(&bad)
            .args(["--copy", "DV-000001-C2"]),
    );
    assert_eq!(rc, 3);
    let (_, c) = json(dv(&vault).args(["locate", "--barcode", "DV-000001-C2"]));
    assert_eq!(
        (c["copy"]["state"].clone(), c["copy"]["trusted"].clone()),
        (Value::from("damaged"), Value::from(false))
    );
    assert_eq!(
        sql(&vault, "SELECT outcome FROM events WHERE event_type = 'fixity check' AND copy IS NOT NULL ORDER BY id"),
        "success\nfailure\n"
    );
}

#[test]
fn cabinet_slot_maps_reconcile_and_bad_files_change_nothing() {
    let (t, vault, _) = archived();
    run(dv(&vault).args([
        "copies",
        "add",
        "DV-000001",
        "--roles",
        "sealed",
        "--place",
        "本馆/A101/柜03/1/1",
    ]));
    run(dv(&vault).args([
        "copies",
        "add",
        "DV-000001",
        "--roles",
        "access",
        "--place",
        "本馆/A101/柜03/1/2",
    ]));
    run(dv(&vault).args([
        "copies",
        "add",
        "DV-000001",
        "--roles",
        "offsite",
        "--place",
        "本馆/A101/柜03/1/3",
    ]));
    let csv = run(dv(&vault).args(["cabinet", "export", "柜03"]));
    assert_eq!(
        csv,
        "\u{feff}copy_id,barcode,rfid,cabinet,shelf,slot\nDV-000001-C1,DV-000001-C1,,柜03,1,1\nDV-000001-C2,DV-000001-C2,,柜03,1,2\nDV-000001-C3,DV-000001-C3,,柜03,1,3\n"
    );
    // The cabinet saw C1 where expected, C2 in slot 7, and not C3 (the older form of the file,
    // without shelves).
    let inv = t.path().join("inventory.csv");
    fs::write(&inv, "copy_id,barcode,rfid,cabinet,slot\n,DV-000001-C1,,柜03,1\nDV-000001-C2,DV-000001-C2,,柜03,7\n").unwrap();
    let (rc, r) = json(
        dv(&vault)
            .args(["cabinet", "import", "--dry-run"])
            .arg(&inv),
    );
    assert_eq!(rc, 3, "{r}");
    assert_eq!(r["matched"], 1);
    assert_eq!(r["found_unexpected"][0]["copy_id"], "DV-000001-C2");
    assert_eq!(r["found_unexpected"][0]["expected"], "本馆/A101/柜03/1/2");
    assert_eq!(r["missing"][0]["copy_id"], "DV-000001-C3");
    assert_eq!(r["applied"], false);
    let (_, c) = json(dv(&vault).args(["locate", "--barcode", "DV-000001-C2"]));
    assert_eq!(c["copy"]["place"]["slot"], "2", "dry run changes nothing");
    let (_, r) = json(dv(&vault).args(["cabinet", "import"]).arg(&inv));
    assert_eq!(r["applied"], true);
    let (_, c) = json(dv(&vault).args(["locate", "--barcode", "DV-000001-C2"]));
    assert_eq!(c["copy"]["place_text"], "本馆/A101/柜03//7");

    // A file with bad rows: every bad row named, nothing applied.
    let bad = t.path().join("bad.csv");
    fs::write(
        &bad,
        "copy_id,barcode,rfid,cabinet,slot\n\
         ,DV-000001-C1,,柜03,5\n\
         ,UNKNOWN-9,,柜03,6\n\
         ,DV-000001-C3,,柜03,5\n\
         ,DV-000001-C2,,柜03,x7\n\
         ,DV-000001-C2,zz,柜03,8\n",
    )
    .unwrap();
    let before = sql(
        &vault,
        "SELECT copy_id, cabinet, slot FROM copies ORDER BY copy_id",
    );
    let events_before = sql(&vault, "SELECT COUNT(*) FROM events");
    let out = output(dv(&vault).args(["cabinet", "import"]).arg(&bad));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "line 3: unknown barcode \"UNKNOWN-9\"",
        "line 4: cabinet 柜03 slot 5 is already taken on line 2",
        "line 5: slot \"x7\" is not a slot number",
        "line 6: copy DV-000001-C2 is already listed on line 5",
        "line 6: invalid rfid: \"zz\"",
        "nothing applied",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in {err}");
    }
    assert_eq!(
        sql(
            &vault,
            "SELECT copy_id, cabinet, slot FROM copies ORDER BY copy_id"
        ),
        before
    );
    assert_eq!(sql(&vault, "SELECT COUNT(*) FROM events"), events_before);
}

#[test]
fn the_audit_trail_detects_edits_and_deletions_and_exports_premis() {
    let (t, vault, img) = archived();
    run(dv(&vault).args(["copies", "add", "DV-000001"]));
    run(dv(&vault).arg("verify").arg(&img));
    let (rc, r) = json(dv(&vault).args(["log", "verify"]));
    assert_eq!((rc, r["intact"].clone()), (0, Value::Bool(true)), "{r}");
    let n = r["events"].as_u64().unwrap();
    assert!(n >= 8, "{n} events");

    // PREMIS 3 export validates against the official schema.
    let xml = t.path().join("premis.xml");
    run(dv(&vault)
        .args(["log", "export", "--premis", "--out"])
        .arg(&xml));
    let schema =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/schemas/premis-v3-0.xsd");
    run(Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(&schema)
        .arg(&xml));
    let text = fs::read_to_string(&xml).unwrap();
    assert_eq!(text.matches("<premis:event>").count() as u64, n);
    for t in ["ingestion", "creation", "fixity check", "replication"] {
        assert!(
            text.contains(&format!("<premis:eventType>{t}</premis:eventType>")),
            "{t}"
        );
    }
    assert!(text.contains(
        "<premis:linkingObjectIdentifierValue>DV-000001-C3</premis:linkingObjectIdentifierValue>"
    ));

    // Tampering: an edited detail, a deleted event in the middle, a deleted last event.
    let copy = |name: &str| {
        let d = t.path().join(name);
        common::copy_vault(&vault, &d);
        d
    };
    let edited = copy("edited");
    sql(
        &edited,
        "UPDATE events SET detail = detail || ' (edited)' WHERE id = 3",
    );
    let (rc, r) = json(dv(&edited).args(["log", "verify"]));
    assert_eq!(rc, 3);
    assert_eq!(
        r["problems"][0], "event 3 was changed after it was recorded",
        "{r}"
    );

    let gap = copy("gap");
    sql(&gap, "DELETE FROM events WHERE id = 4");
    let (rc, r) = json(dv(&gap).args(["log", "verify"]));
    assert_eq!(rc, 3);
    assert!(
        r["problems"][0]
            .as_str()
            .unwrap()
            .contains("events 4..4 are missing"),
        "{r}"
    );

    let tail = copy("tail");
    sql(&tail, &format!("DELETE FROM events WHERE id = {n}"));
    let (rc, r) = json(dv(&tail).args(["log", "verify"]));
    assert_eq!(rc, 3);
    assert!(
        r["problems"][0]
            .as_str()
            .unwrap()
            .contains("deleted or added outside discvault"),
        "{r}"
    );

    // Recomputing one hash to hide an edit still breaks the link to the next event.
    let rehashed = copy("rehashed");
    sql(
        &rehashed,
        "UPDATE events SET outcome = 'failure', hash = '00' || substr(hash, 3) WHERE id = 2",
    );
    let (rc, r) = json(dv(&rehashed).args(["log", "verify"]));
    assert_eq!(rc, 3);
    let problems: Vec<&str> = r["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        problems.contains(&"event 3 does not follow the event before it (chain broken)"),
        "{problems:?}"
    );
}

#[test]
fn a_version_1_catalog_is_migrated_and_its_events_chained() {
    let (_t, vault, _) = archived();
    // Take the catalog back to schema version 1, as the first release wrote it.
    sql(
        &vault,
        "DELETE FROM schema_version WHERE version >= 2; DROP TABLE sector_maps; DROP TABLE volume_lineage; DROP TABLE catalog_settings; DROP TABLE job_rejects; DROP TABLE job_copies; DROP TABLE jobs;
         DROP TABLE quality_measurements; DROP TABLE copies; DROP TABLE event_head;
         ALTER TABLE events DROP COLUMN copy; ALTER TABLE events DROP COLUMN prev_hash; ALTER TABLE events DROP COLUMN hash;
         ALTER TABLE volumes DROP COLUMN recovery_permille; ALTER TABLE volumes DROP COLUMN recovery_slices;
         ALTER TABLE volumes DROP COLUMN kind; ALTER TABLE volumes DROP COLUMN parity_index; DROP TABLE parity_members; ALTER TABLE volumes DROP COLUMN file_systems;
         DROP TABLE file_totals; DROP TABLE tasks; DROP TABLE sessions; DROP TABLE tokens; DROP TABLE users; DROP TABLE deliveries; DROP TABLE webhooks;",
    );
    let events = sql(&vault, "SELECT COUNT(*) FROM events");
    let (rc, r) = json(dv(&vault).args(["log", "verify"]));
    assert_eq!(rc, 0, "{r}");
    assert_eq!(r["events"].to_string(), events.trim());
    assert_eq!(
        sql(&vault, "SELECT MAX(version) FROM schema_version"),
        "13\n"
    );
    // The old events are now part of the chain: editing one is caught.
    sql(
        &vault,
        "UPDATE events SET agent = 'someone else' WHERE id = 1",
    );
    let (rc, _) = json(dv(&vault).args(["log", "verify"]));
    assert_eq!(rc, 3);
}

const DAY: i64 = 86_400;

fn date(t: i64) -> String {
    // Days since 1970 to YYYY-MM-DD through the system's date command, as a reader would.
    run(Command::new("date").args(["-u", "-d", &format!("@{t}"), "+%Y-%m-%d"]))
        .trim()
        .to_string()
}

#[test]
fn inspection_rounds_over_simulated_years_and_quality_grades() {
    let (t, vault, _) = archived();
    for k in 1..=30 {
        run(dv(&vault)
            .args([
                "copies",
                "add",
                "DV-000001",
                "--roles",
                ["sealed", "access", "offsite"][k % 3],
            ])
            .arg("--place")
            .arg(format!("本馆/A101/柜{:02}/{}/{}", k % 3, k % 2, k)));
    }
    // 2008-01-01: the twelve simulated rounds lie in the past, where checks are recorded.
    let t0 = 1_199_145_600;
    // Backdated behind discvault's back: the stored due dates are derived, and forgetting the
    // rule they were computed with makes the next command recompute them.
    sql(
        &vault,
        &format!("UPDATE copies SET created_at = {t0}; DELETE FROM catalog_settings WHERE key = 'due_rule';"),
    );
    // Every copy read back clean when it was written (a past check, recorded with its date).
    for k in 1..=30 {
        run(dv(&vault).args([
            "copies",
            "mark",
            &format!("DV-000001-C{k}"),
            "--state",
            "verified",
            "--at",
            &date(t0),
        ]));
    }

    // Quality: C5 "act within a year", C6 "act now"; a file with bad rows changes nothing.
    let bad = t.path().join("bad.csv");
    fs::write(
        &bad,
        "copy,measured_at,metric,value\nDV-000001-C99,2008-06-01,pi8,10\nDV-000001-C5,June,pi8,10\nDV-000001-C5,2008-06-01,pi8,lots\nDV-000001-C5,2008-06-01,color,1\n",
    )
    .unwrap();
    let out = output(dv(&vault).args(["quality", "import"]).arg(&bad));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "line 2: unknown copy",
        "line 3: measured_at \"June\"",
        "line 4: value \"lots\"",
        "line 5: invalid metric: \"color\" has no thresholds",
    ] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert_eq!(
        sql(&vault, "SELECT COUNT(*) FROM quality_measurements"),
        "0\n"
    );
    let q = t.path().join("q.csv");
    fs::write(
        &q,
        "copy,measured_at,metric,value\nDV-000001-C5,2008-06-01,pi8,150\nDV-000001-C6,2008-06-01,pi8,40\nDV-000001-C6,2008-07-01,pi8,300\nDV-000001-C7,2008-06-01,bler,12\n",
    )
    .unwrap();
    let (rc, g) = json(dv(&vault).args(["quality", "import"]).arg(&q));
    assert_eq!(rc, 0, "{g}");
    let grades: Vec<(String, String)> = g
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["copy_id"].as_str().unwrap().to_string(),
                x["grade"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        grades,
        [
            ("DV-000001-C5".into(), "watch".into()),
            ("DV-000001-C6".into(), "act_now".into()),
            ("DV-000001-C7".into(), "good".into())
        ]
    );

    // Trust expires with the interval; a copy graded "act now" is never trusted.
    let trusted_at = |at: i64| -> Vec<(String, bool)> {
        let (_, l) = json(dv(&vault).args(["copies", "list", "--at", &date(at)]));
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
    };
    let year1 = trusted_at(t0 + 365 * DAY);
    assert!(year1.contains(&("DV-000001-C1".into(), true)));
    assert!(year1.contains(&("DV-000001-C6".into(), false)));
    assert!(
        year1.contains(&("DV-000001-C5".into(), true)),
        "due one year after writing"
    );
    let year2 = trusted_at(t0 + 400 * DAY);
    assert!(
        year2.contains(&("DV-000001-C5".into(), false)),
        "the warning shortened its interval"
    );
    assert!(year2.contains(&("DV-000001-C1".into(), true)));
    let year5 = trusted_at(t0 + 1462 * DAY);
    assert!(
        year5.iter().all(|(_, ok)| !ok),
        "nothing checked for 4 years: nothing trusted"
    );

    // Twelve yearly rounds: each checks at least 10% of the active copies, every copy is
    // checked within its interval plus one round, the warned copy every year.
    let mut last: std::collections::BTreeMap<String, i64> = Default::default();
    let active: Vec<String> = (1..=30).map(|k| format!("DV-000001-C{k}")).collect();
    for c in &active {
        last.insert(c.clone(), t0);
    }
    let mut warned_checks = 0;
    for round in 1..=12 {
        let at = t0 + round * 365 * DAY;
        let (rc, pick) = json(dv(&vault).args(["inspect", "due", "--at", &date(at)]));
        assert_eq!(rc, 0);
        let picked: Vec<String> = pick["copies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["copy_id"].as_str().unwrap().to_string())
            .collect();
        let quota = pick["quota"].as_u64().unwrap();
        assert_eq!(
            pick["active_copies"], 30,
            "C6, graded act now, is still inspected"
        );
        assert_eq!(quota, 3);
        assert!(
            picked.len() as u64 >= quota,
            "round {round}: {} picked",
            picked.len()
        );
        // The walk order: by site, room, cabinet, shelf, slot.
        let places: Vec<String> = pick["copies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["place_text"].as_str().unwrap().to_string())
            .collect();
        let mut sorted = places.clone();
        sorted.sort_by_key(|p| {
            let v: Vec<&str> = p.split('/').collect();
            (
                v[..4].join("/"),
                v.get(4).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0),
            )
        });
        assert_eq!(places, sorted, "round {round}");
        if picked.contains(&"DV-000001-C5".to_string()) {
            warned_checks += 1;
        }
        for c in &picked {
            run(dv(&vault).args([
                "copies",
                "mark",
                c,
                "--state",
                "verified",
                "--at",
                &date(at),
            ]));
            last.insert(c.clone(), at);
        }
        for (c, l) in &last {
            assert!(
                at - l <= (1461 + 365) * DAY,
                "round {round}: {c} last checked {} days ago",
                (at - l) / DAY
            );
        }
    }
    assert!(
        warned_checks >= 11,
        "the warned copy was checked {warned_checks} times in 12 years"
    );
    // A shorter interval in the config takes effect at once: every active copy is overdue a
    // year after the last round.
    let cfg = vault.join("discvault.toml");
    let text = fs::read_to_string(&cfg)
        .unwrap()
        .replace("interval_days = 1461", "interval_days = 200");
    fs::write(&cfg, text).unwrap();
    let (_, pick) = json(dv(&vault).args(["inspect", "due", "--at", &date(t0 + 13 * 365 * DAY)]));
    let overdue = pick["copies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["reason"] != "sample")
        .count();
    assert_eq!(overdue, 30, "{pick}");
}

#[test]
fn restore_reads_a_second_copy_when_the_first_is_damaged() {
    let (t, vault, img) = archived();
    let bad = t.path().join("copy1-damaged.iso");
    let at = damaged_copy(&img, &bad, 0x55);
    let truncated = t.path().join("copy2-truncated.iso");
    fs::write(&truncated, &fs::read(&img).unwrap()[..at + 10]).unwrap();
    // Only damaged copies: the damaged file is refused, exit 3.
    let to = t.path().join("r1");
    let out = output(
        dv(&vault)
            .args(["restore", "sample", "--to"])
            .arg(&to)
            .arg("--from")
            .arg(&bad)
            .arg(&truncated),
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("copy1-damaged.iso") && err.contains("copy2-truncated.iso"),
        "{err}"
    );
    // A good copy after them: everything restored, byte for byte.
    restores_sample(&vault, &t.path().join("r2"), &[&bad, &truncated, &img]);
}

/// Restores the sample collection from `sources` (in that order) and compares it with the
/// shipped sample tree.
fn restores_sample(vault: &Path, to: &Path, sources: &[&Path]) {
    let (rc, r) = json(
        dv(vault)
            .args(["restore", "sample", "--to"])
            .arg(to)
            .arg("--from")
            .args(sources),
    );
    assert_eq!(rc, 0, "{r}");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample");
    assert_same_tree("restore", &tree(&to.join("sample")), &tree(&sample));
}

#[test]
fn status_lists_volumes_short_of_the_copy_policy() {
    let (_t, vault, img) = archived();
    let problems = |s: &Value| -> Vec<String> {
        s["shortfalls"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|f| {
                f["problems"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p.as_str().unwrap().to_string())
            })
            .collect()
    };
    let (_, s) = json(dv(&vault).arg("status"));
    assert_eq!(
        problems(&s),
        [
            "0 trusted copies of 3 required",
            "trusted copies in 0 sites of 2 required"
        ]
    );
    assert_eq!(s["shortfalls"][0]["files"], 8);
    run(dv(&vault).args(["copies", "add", "DV-000001", "--place", "本馆/A101/柜03/1/"]));
    // Registered, not read back: nothing trusted yet.
    let (_, s) = json(dv(&vault).arg("status"));
    assert_eq!(
        problems(&s),
        [
            "0 trusted copies of 3 required",
            "trusted copies in 0 sites of 2 required"
        ]
    );
    for c in ["DV-000001-C1", "DV-000001-C2", "DV-000001-C3"] {
        run(dv(&vault).arg("verify").arg(&img).args(["--copy", c]));
    }
    let (_, s) = json(dv(&vault).arg("status"));
    assert_eq!(problems(&s), ["trusted copies in 1 sites of 2 required"]);
    run(dv(&vault).args([
        "copies",
        "move",
        "DV-000001-C3",
        "--place",
        "异地库/B1/柜01/1/1",
    ]));
    let (_, s) = json(dv(&vault).arg("status"));
    assert!(problems(&s).is_empty(), "{s}");
    assert_eq!(s["copies"]["trusted"], 3);
    run(dv(&vault).args(["copies", "mark", "DV-000001-C2", "--state", "damaged"]));
    let (_, s) = json(dv(&vault).arg("status"));
    assert_eq!(problems(&s), ["2 trusted copies of 3 required"]);
    assert_eq!(s["copies"]["to_migrate"], 1);
    let text = run(dv(&vault).arg("status"));
    assert!(
        text.contains("SHORT OF THE POLICY (1 volumes)") && text.contains("DV-000001"),
        "{text}"
    );
    // A collection kept permanently needs more; one that is not on the volume changes nothing.
    let cfg = vault.join("discvault.toml");
    let mut text = fs::read_to_string(&cfg).unwrap();
    text.push_str(
        "\n[policy.collections.sample]\nmin_trusted_copies = 4\nmin_sites = 3\n\n[policy.collections.\"其他\"]\nmin_trusted_copies = 9\nmin_sites = 9\n",
    );
    fs::write(&cfg, text).unwrap();
    let (_, s) = json(dv(&vault).arg("status"));
    assert_eq!(
        problems(&s),
        [
            "2 trusted copies of 4 required",
            "trusted copies in 2 sites of 3 required"
        ]
    );

    // The policy set in the catalog: it wins over the file, for every station, until reset.
    let (rc, shown) = json(dv(&vault).args(["policy", "show"]));
    assert_eq!(
        (rc, &shown["source"]),
        (0, &Value::from("config")),
        "{shown}"
    );
    assert_eq!(
        shown["policy"]["collections"]["sample"]["min_trusted_copies"],
        4
    );
    let (rc, set) = json(dv(&vault).args([
        "policy",
        "set",
        "--collection",
        "sample",
        "--min-copies",
        "2",
        "--min-sites",
        "2",
    ]));
    assert_eq!((rc, &set["source"]), (0, &Value::from("catalog")), "{set}");
    assert_eq!(
        set["policy"]["min_trusted_copies"], 3,
        "the rest kept: {set}"
    );
    let (_, s) = json(dv(&vault).arg("status"));
    assert!(problems(&s).is_empty(), "2 of 2 in 2 sites: {s}");
    // The file changed meanwhile does not matter while the catalog holds a policy.
    let text = fs::read_to_string(&cfg).unwrap();
    fs::write(
        &cfg,
        text.replace("min_trusted_copies = 4", "min_trusted_copies = 5"),
    )
    .unwrap();
    let (_, s) = json(dv(&vault).arg("status"));
    assert!(problems(&s).is_empty(), "{s}");
    // Bad numbers are refused with the key, and nothing changes.
    for (args, key) in [
        (vec!["--min-copies", "0"], "min_trusted_copies = 0"),
        (vec!["--min-sites", "4"], "min_sites = 4"),
    ] {
        let o = output(dv(&vault).args(["policy", "set"]).args(&args));
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(key), "{err}");
    }
    let (_, now) = json(dv(&vault).args(["policy", "show"]));
    assert_eq!(now, set);
    // The collection follows the general rule again: 3 copies in 2 sites.
    let (_, g) = json(dv(&vault).args(["policy", "set", "--collection", "sample", "--general"]));
    assert!(g["policy"]["collections"].get("sample").is_none(), "{g}");
    let (_, s) = json(dv(&vault).arg("status"));
    assert_eq!(problems(&s), ["2 trusted copies of 3 required"]);
    // Each change is an event of the audit trail, whose chain still holds.
    let events = sql(
        &vault,
        "SELECT detail FROM events WHERE event_type = 'policy assignment' ORDER BY id",
    );
    let lines: Vec<&str> = events.lines().collect();
    assert_eq!(lines.len(), 2, "{events}");
    assert!(
        lines[0].contains("sample: min_trusted_copies 4 -> 2; sample: min_sites 3 -> 2"),
        "{events}"
    );
    assert!(
        lines[1].contains("sample: the general rule again"),
        "{events}"
    );
    run(dv(&vault).args(["log", "verify"]));
    // Reset: the file's policy again (now 5 for the collection); a second reset has nothing
    // to remove and records nothing; a set that names no change is refused.
    let (_, r) = json(dv(&vault).args(["policy", "reset"]));
    assert_eq!(r["source"], "config");
    let (rc, again) = json(dv(&vault).args(["policy", "reset"]));
    assert_eq!((rc, &again), (0, &r));
    let count = "SELECT COUNT(*) FROM events WHERE event_type = 'policy assignment'";
    assert_eq!(sql(&vault, count).trim(), "3");
    let o = output(dv(&vault).args(["policy", "set"]));
    assert_eq!(o.status.code(), Some(1));
    let (_, s) = json(dv(&vault).arg("status"));
    assert_eq!(
        problems(&s),
        [
            "2 trusted copies of 5 required",
            "trusted copies in 2 sites of 3 required"
        ]
    );
}

#[test]
fn pseudo_drives_burned_by_xorriso_are_verified_and_damage_is_found() {
    let (t, vault, img) = archived();
    run(dv(&vault).args(["copies", "add", "DV-000001", "--roles", "sealed,access"]));
    // Two pseudo drives (regular files behind xorriso's stdio: prefix), burned by real xorriso.
    let burn = |name: &str| {
        let drive = t.path().join(name);
        run(Command::new("xorriso")
            .args(["-as", "cdrecord", "-v"])
            .arg(format!("dev=stdio:{}", drive.display()))
            .arg(&img));
        drive
    };
    let d1 = burn("drive1");
    let d2 = burn("drive2");
    let (rc, r) = json(
        dv(&vault)
            .arg("verify")
            .arg(&d1)
            .args(["--copy", "DV-000001-C1"]),
    );
    assert_eq!((rc, r[0]["files_ok"].clone()), (0, Value::from(8)), "{r}");
    // Zero a range of sectors on the second drive where one record's data lies.
    let at = record_data_offset(&fs::read(&d2).unwrap()) as u64;
    run(Command::new("dd")
        .arg(format!("of={}", d2.display()))
        .args([
            "if=/dev/zero",
            "bs=2048",
            "count=1",
            "conv=notrunc",
            "status=none",
        ])
        .arg(format!("seek={}", at / 2048)));
    let (rc, r) = json(
        dv(&vault)
            .arg("verify")
            .arg(&d2)
            .args(["--copy", "DV-000001-C2"]),
    );
    assert_eq!(rc, 3, "{r}");
    let named: Vec<&str> = r[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["disc_path"].as_str().unwrap())
        .collect();
    assert_eq!(
        named,
        ["data/sample/全宗-J001/2024/卷001/文书-000001-关于档案数字化工作的通知.txt"],
        "{r}"
    );
    let (_, c) = json(dv(&vault).args(["copies", "list"]));
    let states: Vec<(&str, &str)> = c
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["copy_id"].as_str().unwrap(), x["state"].as_str().unwrap()))
        .collect();
    assert!(
        states.contains(&("DV-000001-C1", "verified"))
            && states.contains(&("DV-000001-C2", "damaged")),
        "{states:?}"
    );
    // xorriso's own read-back of the damaged drive sees every block as readable: only the
    // digests tell the damage.
    let check = output(
        Command::new("xorriso")
            .arg("-indev")
            .arg(format!("stdio:{}", d2.display()))
            .args(["-check_media", "--"]),
    );
    assert!(String::from_utf8_lossy(&check.stdout).contains("+ good"));
    // Restore from the damaged drive first, then the good one: the good copy supplies the file.
    restores_sample(&vault, &t.path().join("r"), &[&d2, &d1]);
}

#[test]
fn the_report_shows_shortfalls_health_charts_and_copies_to_migrate() {
    let (t, vault, img) = archived();
    run(dv(&vault).args([
        "copies",
        "add",
        "DV-000001",
        "--batch",
        "2024-03",
        "--brand",
        "Verbatim",
        "--place",
        "本馆/A101/柜03/1/",
    ]));
    let bad = t.path().join("bad.iso");
    damaged_copy(&img, &bad, 1);
    run(dv(&vault)
        .arg("verify")
        .arg(&img)
        .args(["--copy", "DV-000001-C1"]));
    let _ = output(
        dv(&vault)
            .arg("verify")
            .arg(&bad)
            .args(["--copy", "DV-000001-C2"]),
    );
    let q = t.path().join("q.csv");
    fs::write(&q, "copy,measured_at,metric,value\nDV-000001-C1,2026-01-05,bler,20\nDV-000001-C3,2026-01-05,bler,150\n").unwrap();
    run(dv(&vault).args(["quality", "import"]).arg(&q));
    // C3 was read back clean today, outside discvault (not a fixity check of its own).
    let today = run(Command::new("date").args(["-u", "+%Y-%m-%d"]));
    run(dv(&vault).args([
        "copies",
        "mark",
        "DV-000001-C3",
        "--state",
        "verified",
        "--at",
        today.trim(),
    ]));

    let (rc, r) = json(dv(&vault).args(["report", "--format", "json"]));
    assert_eq!(rc, 0, "{r}");
    let year: Vec<(u64, u64)> = r["checks_by_year"]
        .as_array()
        .unwrap()
        .iter()
        .map(|y| {
            (
                y["success"].as_u64().unwrap(),
                y["failure"].as_u64().unwrap(),
            )
        })
        .collect();
    let total = year.iter().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    // archive's verify, and each copy check (volume event and copy event).
    // C3's check, recorded, is one too.
    assert_eq!(total, (4, 2), "{year:?}");
    let b = &r["health_by_batch"][0];
    assert_eq!(
        (
            b["batch"].as_str(),
            b["good"].as_u64(),
            b["watch"].as_u64(),
            b["ungraded"].as_u64(),
            b["damaged"].as_u64()
        ),
        (Some("2024-03"), Some(1), Some(1), Some(1), Some(1))
    );
    assert_eq!(r["to_migrate"][0]["copy_id"], "DV-000001-C2");
    // Health over time: the tester's figures by year and grade.
    assert_eq!(
        r["quality_by_year"],
        serde_json::json!([{"year": 2026, "good": 1, "watch": 1, "act_now": 0}])
    );
    assert_eq!(
        r["status"]["shortfalls"][0]["problems"][0],
        "2 trusted copies of 3 required"
    );

    let html = t.path().join("report.html");
    run(dv(&vault).args(["report", "--out"]).arg(&html));
    // Well-formed (an XML parser reads it), with two charts whose bars carry the numbers.
    run(Command::new("xmllint").arg("--noout").arg(&html));
    let text = fs::read_to_string(&html).unwrap();
    assert_eq!(text.matches("<svg ").count(), 3);
    assert!(
        text.contains("<title>clean: 4</title>") && text.contains("<title>damage found: 2</title>"),
        "{text}"
    );
    assert!(text.contains("<title>act within a year: 1</title>"));
    assert!(text.contains("DV-000001-C2") && text.contains("2 trusted copies of 3 required"));
    assert!(text.contains("保存报告"));
    let out = output(dv(&vault).args(["report", "--format", "pdf"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out"));
    // The PDF report, printed by a real browser (with the CJK font): read its text back, and
    // render its first page as an image.
    let pdf = t.path().join("report.pdf");
    run(dv(&vault)
        .args(["report", "--format", "pdf", "--out"])
        .arg(&pdf));
    run(Command::new("pdftoppm")
        .args(["-r", "50", "-png", "-f", "1", "-l", "1"])
        .arg(&pdf)
        .arg(t.path().join("page")));
    assert!(fs::metadata(t.path().join("page-1.png")).unwrap().len() > 1000);
    let printed = run(Command::new("pdftotext").arg(&pdf).arg("-"));
    for needle in [
        "保存报告 Preservation report",
        "2 trusted copies of 3 required",
        "DV-000001-C2",
        "act within a year",
        "Quality measurements per year",
    ] {
        assert!(
            printed.contains(needle),
            "{needle:?} not in the printed report:\n{printed}"
        );
    }
}

/// Every regular file of an image with its first sector and sector count, as xorriso reports
/// them (an independent reader of the layout).
fn file_sectors(img: &Path) -> Vec<(String, u64, u64)> {
    let out = output(Command::new("xorriso").arg("-indev").arg(img).args([
        "-find",
        "/",
        "-type",
        "f",
        "-exec",
        "report_lba",
        "--",
    ]));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("File data lba:"))
        .map(|l| {
            let f: Vec<&str> = l.splitn(5, ',').map(str::trim).collect();
            let path = f[4].trim_matches('\'').trim_start_matches('/').to_string();
            (path, f[1].parse().unwrap(), f[2].parse().unwrap())
        })
        .collect()
}

#[test]
fn sector_scan_maps_unreadable_sectors_to_files_and_a_later_pass_rereads_only_them() {
    let (t, vault, img) = archived();
    run(dv(&vault).args(["copies", "add", "DV-000001", "--roles", "sealed,access"]));
    let files = file_sectors(&img);
    let total = fs::metadata(&img).unwrap().len() / 2048;
    // A disc that reads only up to a sector in the middle of the records: cut the image at the
    // first sector of the third record in disc order.
    let mut data_files: Vec<&(String, u64, u64)> =
        files.iter().filter(|f| f.0.starts_with("data/")).collect();
    data_files.sort_by_key(|f| f.1);
    let cut = data_files[2].1;
    let short = t.path().join("short.iso");
    let bytes = fs::read(&img).unwrap();
    fs::write(&short, &bytes[..cut as usize * 2048]).unwrap();
    let (rc, r) = json(
        dv(&vault)
            .arg("verify")
            .arg(&short)
            .args(["--copy", "DV-000001-C2"]),
    );
    assert_eq!(rc, 3, "{r}");
    let r = &r[0];
    assert_eq!(
        r["sectors"]["bad"],
        serde_json::json!([[cut, total]]),
        "{r}"
    );
    assert_eq!(r["sectors"]["total_sectors"], total, "{r}");
    let mut named: Vec<String> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["finding"], "unreadable", "{f}");
            f["disc_path"].as_str().unwrap().to_string()
        })
        .filter(|p| !p.starts_with('('))
        .collect();
    named.sort();
    let mut hit: Vec<String> = files
        .iter()
        .filter(|f| f.1 + f.2 > cut)
        .map(|f| f.0.clone())
        .collect();
    hit.sort();
    assert!(hit.len() >= 3, "{hit:?}");
    assert_eq!(
        named, hit,
        "exactly the files on the lost sectors are named"
    );
    let detail = r["findings"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("unreadable sector"), "{detail}");

    // The disc reads fully on a later pass (cleaned, or another drive): only the sectors that
    // failed, and the files on them, are read again; the earlier good files count as checked.
    fs::copy(&img, &short).unwrap();
    let (rc, r) =
        json(
            dv(&vault)
                .arg("verify")
                .arg(&short)
                .args(["--copy", "DV-000001-C2", "--resume"]),
        );
    assert_eq!(rc, 0, "{r}");
    let r = &r[0];
    assert_eq!(r["sectors"]["passes"], 2, "{r}");
    assert_eq!(r["sectors"]["bad"], serde_json::json!([]), "{r}");
    assert!(
        r["bytes_read"].as_u64().unwrap() <= (total - cut) * 2048,
        "read again only what failed: {r}"
    );
    let data_hit = hit.iter().filter(|p| p.starts_with("data/")).count() as u64;
    assert_eq!(r["files_checked"], data_hit, "{r}");
    assert_eq!(
        r["files_carried"].as_u64().unwrap() + data_hit,
        data_files.len() as u64,
        "{r}"
    );
    let (_, c) = json(dv(&vault).args(["copies", "list"]));
    assert!(c
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["copy_id"] == "DV-000001-C2" && x["state"] == "verified"));

    // A time limit that runs out at once leaves every sector unread; a resumed pass reads them
    // all. A flipped byte found in the first pass is not forgotten by a resumed pass that does
    // not read that file again.
    let flipped = t.path().join("flipped.iso");
    damaged_copy(&img, &flipped, 0x01);
    let (rc, r) = json(
        dv(&vault)
            .arg("verify")
            .arg(&flipped)
            .args(["--time-limit", "0"]),
    );
    assert_eq!(rc, 3, "{r}");
    assert_eq!(
        r[0]["sectors"]["unread"],
        serde_json::json!([[0, total]]),
        "{r}"
    );
    assert!(r[0]["findings"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("not read before the time limit"));
    let (rc, r) = json(dv(&vault).arg("verify").arg(&flipped).arg("--resume"));
    assert_eq!(rc, 3, "{r}");
    assert_eq!(r[0]["sectors"]["unread"], serde_json::json!([]), "{r}");
    let changed: Vec<&Value> = r[0]["findings"].as_array().unwrap().iter().collect();
    assert_eq!(changed.len(), 1, "{r}");
    assert_eq!(changed[0]["finding"], "changed");
    let (rc, r) = json(dv(&vault).arg("verify").arg(&flipped).arg("--resume"));
    assert_eq!((rc, r[0]["bytes_read"].as_u64()), (3, Some(0)), "{r}");
    assert_eq!(r[0]["findings"].as_array().unwrap().len(), 1, "{r}");
    // A disc that is not there at all is named.
    let out = output(dv(&vault).arg("verify").arg(t.path().join("no-disc.iso")));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-disc.iso"));
}

#[test]
fn readback_copies_a_disc_into_a_checked_bag_and_leaves_out_damaged_files() {
    let (t, vault, img) = archived();
    run(dv(&vault).args(["copies", "add", "DV-000001", "--roles", "sealed,access"]));
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
    let bag = to.join("DV-000001");
    assert_eq!(r["to"], bag.to_str().unwrap());
    let on_disc = file_sectors(&img).len() as u64;
    assert_eq!(r["files_written"], on_disc, "{r}");
    // The copy is a bag that bagit.py validates, and its records are the sample's bytes.
    bagit_validate(&bag);
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample");
    assert_eq!(tree(&sample), tree(&bag.join("data/sample")));
    assert!(bag.join("tagmanifest-sha256.txt").is_file());
    assert!(bag.join("discvault/volume.json").is_file());
    let (_, c) = json(dv(&vault).args(["copies", "list"]));
    assert!(c
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["copy_id"] == "DV-000001-C1" && x["state"] == "verified"));
    // Not into a folder that already holds the volume, unless asked.
    let out = output(dv(&vault).arg("readback").arg(&img).arg("--to").arg(&to));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--overwrite"));

    // A damaged copy: the damaged record is named and not written, everything else is.
    let bad = t.path().join("bad.iso");
    damaged_copy(&img, &bad, 0x20);
    let to2 = t.path().join("back2");
    let (rc, r) = json(
        dv(&vault)
            .arg("readback")
            .arg(&bad)
            .arg("--to")
            .arg(&to2)
            .args(["--copy", "DV-000001-C2"]),
    );
    assert_eq!(rc, 3, "{r}");
    let damaged = "data/sample/全宗-J001/2024/卷001/文书-000001-关于档案数字化工作的通知.txt";
    assert_eq!(r["not_written"], serde_json::json!([damaged]), "{r}");
    assert_eq!(r["files_written"], on_disc - 1, "{r}");
    let back2 = to2.join("DV-000001");
    assert!(!back2.join(damaged).exists());
    let leftovers = tree(&back2)
        .into_keys()
        .filter(|p| String::from_utf8_lossy(p).contains("dv-partial"))
        .count();
    assert_eq!(leftovers, 0);
    assert!(back2.join("data/sample/说明 README.txt").is_file());
    let (_, c) = json(dv(&vault).args(["copies", "list"]));
    assert!(c
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["copy_id"] == "DV-000001-C2" && x["state"] == "damaged"));

    // A mounted disc (the image extracted by xorriso) reads back the same way.
    let mnt = t.path().join("mnt");
    extract_xorriso(&img, &mnt);
    let to3 = t.path().join("back3");
    let (rc, r) = json(dv(&vault).arg("readback").arg(&mnt).arg("--to").arg(&to3));
    assert_eq!((rc, r["files_written"].as_u64()), (0, Some(on_disc)), "{r}");
    bagit_validate(&to3.join("DV-000001"));
}

fn copy_tree(from: &Path, to: &Path) {
    run(Command::new("cp").arg("-a").arg(from).arg(to));
}

fn states(vault: &Path) -> std::collections::BTreeMap<String, String> {
    let (_, c) = json(dv(vault).args(["copies", "list"]));
    c.as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["copy_id"].as_str().unwrap().to_string(),
                x["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn migration_recopies_failing_discs_remasters_old_media_and_retires_only_verified_replacements() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("vault");
    // Records that will be gone by the time of the migration: only the discs hold them.
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample");
    let recs = t.path().join("records");
    fs::create_dir_all(&recs).unwrap();
    copy_tree(&sample, &recs.join("sample"));
    fs::create_dir_all(recs.join("photos/2025")).unwrap();
    fs::write(
        recs.join("photos/2025/合影.txt"),
        "group photo caption 2025\n",
    )
    .unwrap();
    let img = t.path().join("img");
    let (rc, r) = common::archive(&vault, &recs.join("sample"), "cd74", &img);
    assert_eq!(rc, 0, "{r}");
    run(dv(&vault)
        .arg("add")
        .arg(recs.join("photos"))
        .args(["--collection", "photos"]));
    run(dv(&vault).args(["plan", "--media", "cd74"]));
    run(dv(&vault).arg("master").arg("--out").arg(&img));
    let (img1, img2) = (img.join("DV-000001.iso"), img.join("DV-000002.iso"));
    let sha1 = run(Command::new("sha256sum").arg(&img1));
    fs::remove_dir_all(&recs).unwrap();
    run(dv(&vault).args([
        "copies",
        "add",
        "DV-000001",
        "--roles",
        "sealed",
        "--place",
        "总馆/A101/柜1/1/3",
    ]));
    run(dv(&vault).args(["copies", "add", "DV-000001", "--roles", "access,offsite"]));
    run(dv(&vault).args(["copies", "add", "DV-000002", "--roles", "sealed,access"]));
    run(dv(&vault).args(["copies", "mark", "DV-000001-C2", "--state", "damaged"]));
    let q = t.path().join("q.csv");
    fs::write(
        &q,
        "copy,measured_at,metric,value\nDV-000002-C1,2026-11-01,bler,300\n",
    )
    .unwrap();
    run(dv(&vault).args(["quality", "import"]).arg(&q));

    // The plan: new copies for the damaged and the failing disc, read from healthy ones.
    let (rc, p) = json(dv(&vault).args(["migrate", "--plan"]));
    assert_eq!(rc, 0, "{p}");
    let items = p["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{p}");
    assert_eq!(items[0]["volume_id"], "DV-000001");
    assert_eq!(items[0]["action"], "recopy");
    assert_eq!(items[0]["replace"], serde_json::json!(["DV-000001-C2"]));
    assert_eq!(items[0]["read_from"][0]["copy_id"], "DV-000001-C1");
    assert_eq!(items[0]["read_from"][0]["place"], "总馆/A101/柜1/1/3");
    assert_eq!(items[1]["replace"], serde_json::json!(["DV-000002-C1"]));
    assert_eq!(items[1]["read_from"][0]["copy_id"], "DV-000002-C2", "{p}");
    assert!(items[1]["reasons"][0].as_str().unwrap().contains("act now"));
    assert!(p["new_volumes"].is_null());

    // Without the second disc nothing happens, and the command says which discs it needs.
    let out1 = t.path().join("out1");
    let o = output(
        dv(&vault)
            .arg("migrate")
            .arg("--from")
            .arg(&img1)
            .arg("--out")
            .arg(&out1),
    );
    assert_eq!(o.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&o.stderr).contains("DV-000002"));
    assert_eq!(states(&vault).len(), 5);
    // With a damaged image of DV-000001 first and a good one after: the good one supplies the
    // damaged record; the re-mastered image is the original, byte for byte.
    let bad1 = t.path().join("bad1.iso");
    damaged_copy(&img1, &bad1, 0x04);
    let (rc, r) = json(
        dv(&vault)
            .arg("migrate")
            .arg("--from")
            .args([&bad1, &img1, &img2])
            .arg("--out")
            .arg(&out1),
    );
    assert_eq!(rc, 0, "{r}");
    let new_copies: Vec<(&str, &str)> = r["result"]["new_copies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["copy_id"].as_str().unwrap(),
                c["replaces"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        new_copies,
        [
            ("DV-000001-C4", "DV-000001-C2"),
            ("DV-000002-C3", "DV-000002-C1")
        ]
    );
    assert_eq!(
        run(Command::new("sha256sum").arg(out1.join("DV-000001.iso")))
            .split(' ')
            .next(),
        sha1.split(' ').next()
    );
    // Planned copies do not retire anything; a verified one does.
    assert_eq!(states(&vault)["DV-000001-C2"], "damaged");
    let (rc, v) = json(
        dv(&vault)
            .arg("verify")
            .arg(out1.join("DV-000001.iso"))
            .args(["--copy", "DV-000001-C4"]),
    );
    assert_eq!(rc, 0, "{v}");
    assert_eq!(v[0]["retired_copies"], serde_json::json!(["DV-000001-C2"]));
    assert_eq!(states(&vault)["DV-000001-C2"], "retired");
    assert_eq!(
        states(&vault)["DV-000002-C1"],
        "written",
        "its replacement is not verified yet"
    );

    // Consolidation: two small discs would go onto one larger one.
    let (_, p) =
        json(dv(&vault).args(["migrate", "--plan", "--consolidate", "--to-media", "dvd5"]));
    let reasons: Vec<&str> = p["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            i["reasons"]
                .as_array()
                .unwrap()
                .last()
                .unwrap()
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(reasons.len(), 2, "{p}");
    assert!(reasons.iter().all(|r| r.contains("consolidated")), "{p}");
    assert_eq!(
        p["new_volumes"]["volumes"].as_array().unwrap().len(),
        1,
        "{p}"
    );
    // Remaster the old CDs onto one DVD: both volumes go, with every copy.
    let (rc, p) = json(dv(&vault).args([
        "migrate",
        "--plan",
        "--obsolete",
        "cd74",
        "--to-media",
        "dvd5",
    ]));
    assert_eq!(rc, 0, "{p}");
    assert!(p["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["action"] == "remaster"));
    assert_eq!(
        p["new_volumes"]["volumes"].as_array().unwrap().len(),
        1,
        "{p}"
    );
    assert_eq!(p["new_volumes"]["volumes"][0]["volume_id"], "DV-000003");
    let out2 = t.path().join("out2");
    let (rc, r) = json(
        dv(&vault)
            .args([
                "migrate",
                "--obsolete",
                "cd74",
                "--to-media",
                "dvd5",
                "--from",
            ])
            .args([&img1, &img2])
            .arg("--out")
            .arg(&out2),
    );
    assert_eq!(rc, 0, "{r}");
    let img3 = out2.join("DV-000003.iso");
    // Read by another reader: the records of both old discs, intact.
    let x = t.path().join("x3");
    extract_xorriso(&img3, &x);
    bagit_validate(&x);
    assert_eq!(tree(&sample), tree(&x.join("data/sample")));
    assert_eq!(
        fs::read_to_string(x.join("data/photos/photos/2025/合影.txt")).unwrap(),
        "group photo caption 2025\n"
    );
    // The old copies retire role by role as the new volume's copies are verified.
    let (rc, v) = json(
        dv(&vault)
            .arg("verify")
            .arg(&img3)
            .args(["--copy", "DV-000003-C1"]),
    );
    assert_eq!(rc, 0, "{v}");
    assert_eq!(
        v[0]["retired_copies"],
        serde_json::json!(["DV-000001-C1", "DV-000002-C1", "DV-000002-C3"]),
        "the sealed copies (the failing one and its planned replacement with them)"
    );
    let s = states(&vault);
    assert_eq!(
        s["DV-000001-C3"], "written",
        "the offsite copy stays until its successor is verified"
    );
    run(dv(&vault)
        .arg("verify")
        .arg(&img3)
        .args(["--copy", "DV-000003-C2"]));
    run(dv(&vault)
        .arg("verify")
        .arg(&img3)
        .args(["--copy", "DV-000003-C3"]));
    let s = states(&vault);
    for old in [
        "DV-000001-C1",
        "DV-000001-C3",
        "DV-000001-C4",
        "DV-000002-C1",
        "DV-000002-C2",
        "DV-000002-C3",
    ] {
        assert_eq!(s[old], "retired", "{old}: {s:?}");
    }
    // The old volumes are superseded: the policy is judged on the new one only.
    let (_, st) = json(dv(&vault).arg("status"));
    let short: Vec<&str> = st["shortfalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["volume_id"].as_str().unwrap())
        .collect();
    assert_eq!(short, ["DV-000003"], "{st}");
    // Nothing is left to migrate; a restore now reads the new volume.
    let (_, p) = json(dv(&vault).args(["migrate", "--plan", "--obsolete", "cd74"]));
    assert_eq!(p["items"], serde_json::json!([]), "{p}");
    let (rc, pick) = json(
        dv(&vault)
            .args(["restore", "sample", "--to"])
            .arg(t.path().join("r")),
    );
    assert_eq!(rc, 0, "the pick list: {pick}");
    assert_eq!(pick["volumes"], serde_json::json!(["DV-000003"]), "{pick}");
    let (rc, l) = json(dv(&vault).args(["log", "verify"]));
    assert_eq!(rc, 0, "{l}");
    let xml = t.path().join("premis.xml");
    run(dv(&vault)
        .args(["log", "export", "--premis", "--out"])
        .arg(&xml));
    let schema =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/schemas/premis-v3-0.xsd");
    run(Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(&schema)
        .arg(&xml));
    let premis = fs::read_to_string(&xml).unwrap();
    assert!(premis.contains(">migration<") && premis.contains(">deaccession<"));
}

/// The totals `status` reads (kept by the catalog since schema 8, per collection and state)
/// against a count of the files themselves, and `check`'s comparison of the two.
fn assert_totals_recounted(vault: &Path, stage: &str) {
    let count = |w: &str| -> (u64, u64) {
        let out = sql(
            vault,
            &format!(
                "SELECT COUNT(*), COALESCE(SUM(f.size), 0) FROM files f WHERE f.current = 1 {w}"
            ),
        );
        let (n, b) = out.trim().split_once('|').unwrap();
        (n.parse().unwrap(), b.parse().unwrap())
    };
    let recount = [
        count(""),
        count("AND NOT EXISTS (SELECT 1 FROM volume_contents vc WHERE vc.file_id = f.id)"),
        count("AND EXISTS (SELECT 1 FROM volume_contents vc JOIN volumes v ON v.id = vc.volume WHERE vc.file_id = f.id AND v.state = 'planned')"),
        count("AND EXISTS (SELECT 1 FROM volume_contents vc JOIN volumes v ON v.id = vc.volume WHERE vc.file_id = f.id AND v.state = 'mastered')"),
    ];
    let (rc, s) = json(dv(vault).arg("status"));
    assert_eq!(rc, 0, "{stage}: {s}");
    let kept: Vec<(u64, u64)> = ["ingested", "unplanned", "planned", "mastered"]
        .iter()
        .map(|k| {
            (
                s[k]["files"].as_u64().unwrap(),
                s[k]["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(kept, recount, "{stage}: status against a recount");
    let (rc, r) = json(dv(vault).arg("check"));
    assert_eq!(rc, 0, "{stage}: check found: {r}");
    assert!(
        r.to_string()
            .contains("the file totals (status) equal a recount"),
        "{stage}: {r}"
    );
}

/// `n` notices (通知0.txt …, 20–25 KB) of 文书档案/2024 under `dir`, archived onto a CD:
/// the vault, the source folder and the images folder.
fn archived_notices(dir: &Path, n: usize) -> (PathBuf, PathBuf, PathBuf) {
    let vault = dir.join("vault");
    let src = dir.join("文书档案");
    fs::create_dir_all(src.join("2024")).unwrap();
    for i in 0..n {
        fs::write(
            src.join(format!("2024/通知{i}.txt")),
            pseudo_random(20_000 + i * 1000, i as u64),
        )
        .unwrap();
    }
    let img = dir.join("img");
    let (rc, r) = common::archive(&vault, &src, "cd74", &img);
    assert_eq!(rc, 0, "{r}");
    (vault, src, img)
}

/// `migrate --obsolete cd74 --to-media dvd5` from the images of DV-000001 and DV-000002 in
/// `img` into `out`, which must succeed.
fn migrate_cds_to_dvd(vault: &Path, img: &Path, out: &Path) {
    let (rc, r) = json(
        dv(vault)
            .args([
                "migrate",
                "--obsolete",
                "cd74",
                "--to-media",
                "dvd5",
                "--from",
            ])
            .args([img.join("DV-000001.iso"), img.join("DV-000002.iso")])
            .arg("--out")
            .arg(out),
    );
    assert_eq!(rc, 0, "{r}");
}

#[test]
fn status_totals_equal_a_recount_after_add_plan_master_copies_and_migrate() {
    let t = tempfile::tempdir().unwrap();
    let (vault, src, img) = archived_notices(t.path(), 6);
    assert_totals_recounted(&vault, "archive");
    fs::write(src.join("2024/新.txt"), pseudo_random(7_000, 98)).unwrap();
    run(dv(&vault).arg("add").arg(&src));
    assert_eq!(assert_status_files(&vault), (7, 1), "current, unplanned");
    assert_totals_recounted(&vault, "add");
    run(dv(&vault).args(["plan", "--media", "cd74"]));
    assert_totals_recounted(&vault, "plan");
    run(dv(&vault).arg("master").arg("--out").arg(&img));
    assert_totals_recounted(&vault, "master");
    run(dv(&vault).args(["copies", "add", "DV-000001", "--roles", "sealed,access"]));
    run(dv(&vault).args(["copies", "add", "DV-000002", "--roles", "sealed,access"]));
    assert_totals_recounted(&vault, "copies");
    // Both CDs remastered onto one DVD: the records are on old and new volumes at once.
    let out = t.path().join("out2");
    migrate_cds_to_dvd(&vault, &img, &out);
    assert_totals_recounted(&vault, "migrate");
    // A new version of a record on old and new volumes: the old version stops being current.
    fs::write(src.join("2024/通知1.txt"), pseudo_random(50_000, 99)).unwrap();
    run(dv(&vault).arg("add").arg(&src));
    let (current, unplanned) = assert_status_files(&vault);
    assert_eq!(current, 7);
    assert!(unplanned >= 1, "{unplanned}");
    assert_totals_recounted(&vault, "new version");
    // The totals of a catalog migrated from schema 7 are counted by the migration.
    sql(
        &vault,
        "DELETE FROM schema_version WHERE version >= 8; DROP TABLE file_totals; DROP TABLE tasks; DROP TABLE sessions; DROP TABLE tokens; DROP TABLE users; DROP TABLE deliveries; DROP TABLE webhooks; ALTER TABLE volumes DROP COLUMN file_systems;",
    );
    assert_totals_recounted(&vault, "migrated from schema 7");
    assert_eq!(
        sql(&vault, "SELECT MAX(version) FROM schema_version"),
        "13\n"
    );
    // Totals that drift from the files are reported.
    sql(
        &vault,
        "UPDATE file_totals SET files = files + 1 WHERE state = 'current'",
    );
    let (rc, r) = json(dv(&vault).arg("check"));
    assert_ne!(rc, 0, "{r}");
    assert!(r.to_string().contains("kept;"), "{r}");
}

/// (current files, unplanned files) as `status` says.
fn assert_status_files(vault: &Path) -> (u64, u64) {
    let (_, s) = json(dv(vault).arg("status"));
    (
        s["ingested"]["files"].as_u64().unwrap(),
        s["unplanned"]["files"].as_u64().unwrap(),
    )
}

#[test]
fn versions_of_one_record_migrated_together_go_onto_different_volumes() {
    // Two CDs hold two versions of one record (a changed file added again); remastered onto
    // DVDs, the versions cannot share a disc (one path there): each goes onto its own, and
    // each is restored from the new discs alone.
    let t = tempfile::tempdir().unwrap();
    let (vault, src, img) = archived_notices(t.path(), 4);
    let v2 = pseudo_random(30_000, 77);
    fs::write(src.join("2024/通知1.txt"), &v2).unwrap();
    run(dv(&vault).arg("add").arg(&src));
    run(dv(&vault).args(["plan", "--media", "cd74"]));
    run(dv(&vault).arg("master").arg("--out").arg(&img));
    for v in ["DV-000001", "DV-000002"] {
        run(dv(&vault).args(["copies", "add", v, "--roles", "sealed,access"]));
    }
    let out = t.path().join("out");
    migrate_cds_to_dvd(&vault, &img, &out);
    // Each new disc holds one version of 通知1.txt.
    let mut holders = Vec::new();
    for id in ["DV-000003", "DV-000004"] {
        let x = t.path().join(format!("x-{id}"));
        extract_xorriso(&out.join(format!("{id}.iso")), &x);
        let p = x.join("data/文书档案/2024/通知1.txt");
        if p.exists() {
            holders.push((id, fs::read(&p).unwrap()));
        }
        bagit_validate(&x);
    }
    assert_eq!(holders.len(), 2, "both versions, on different discs");
    // The records now read from the vault's staging area; the source added again unchanged
    // makes no new version.
    let (rc, a) = json(dv(&vault).arg("add").arg(&src));
    assert_eq!(rc, 0, "{a}");
    assert_eq!(
        (a["new_versions"].as_u64(), a["unchanged"].as_u64()),
        (Some(0), Some(4)),
        "{a}"
    );
    assert_ne!(holders[0].1, holders[1].1);
    // Each version restored from the new discs only.
    for (version, expect) in [("1", pseudo_random(21_000, 1)), ("2", v2.clone())] {
        let to = t.path().join(format!("r{version}"));
        let (rc, r) = json(
            dv(&vault)
                .args([
                    "restore",
                    "文书档案/2024/通知1.txt",
                    "--version",
                    version,
                    "--to",
                ])
                .arg(&to)
                .arg("--from")
                .args([out.join("DV-000003.iso"), out.join("DV-000004.iso")]),
        );
        assert_eq!(rc, 0, "{r}");
        assert_eq!(
            fs::read(to.join("文书档案/2024/通知1.txt")).unwrap(),
            expect,
            "version {version}"
        );
    }
}
