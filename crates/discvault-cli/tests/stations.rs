//! Several processes on one vault at once, as the stations of an archive work: the PC beside
//! the disc publisher burns a volume for as long as the robot takes, while the ingest PC adds,
//! plans and masters, and a second publisher takes the other volumes. Each volume is worked on
//! by one process at a time (its claim); the rest goes on beside it. On SQLite (one PC) in the
//! first run of the suite, on PostgreSQL in the second (scripts/test.sh), where the claims are
//! the catalog's and the processes could be on several hosts.

mod common;
use common::{dv, json, records_tree as tree, simulate, wait_for};
use serde_json::Value;
use std::process::{Command, Stdio};

fn ok(cmd: &mut Command) -> Value {
    let (rc, v) = json(cmd);
    assert_eq!(rc, 0, "{cmd:?}: {v}");
    v
}

fn volume_ids(status: &Value) -> Vec<String> {
    status["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["volume_id"].as_str().unwrap().to_string())
        .collect()
}

/// `plan` onto toy discs of 400 kB, a few records each: ISO 9660 only (a bridge's UDF tree
/// alone takes 482 KiB).
const TOY_PLAN: [&str; 7] = [
    "plan",
    "--media",
    "custom:400000",
    "--redundancy",
    "0",
    "--file-systems",
    "iso9660",
];

#[test]
fn a_volume_being_published_is_left_to_its_holder_while_other_work_goes_on() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("档案库");
    let src = t.path().join("src");
    let first = tree(&src, "文书档案", 100, 1);
    ok(dv(&vault).arg("init"));
    ok(dv(&vault).arg("add").arg(&first));
    ok(dv(&vault).args(TOY_PLAN));
    let images = t.path().join("img");
    ok(dv(&vault).arg("master").arg("--out").arg(&images));
    let before = volume_ids(&ok(dv(&vault).arg("status")));
    assert!(before.len() >= 2, "{before:?}");
    let cfg = vault.join("discvault.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let text = text
        .replace("lock_wait_seconds = 600", "lock_wait_seconds = 2")
        .replace("poll_ms = 500", "poll_ms = 50");
    std::fs::write(&cfg, text).unwrap();

    // Station A burns DV-000001 on TD Bridge; the robot is not running yet, so A waits for it
    // with the volume claimed.
    let folder = t.path().join("TDBridge");
    std::fs::create_dir_all(&folder).unwrap();
    let to = format!("tdbridge:{}", folder.display());
    let a = dv(&vault)
        .args(["publish", "DV-000001", "--to", &to, "--roles", "sealed"])
        .args(["--give-up-after", "120", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let job_file = folder.join("J-000001-DV-000001-C1-1.JDF");
    wait_for("station A's job file", || job_file.exists());

    // Meanwhile the ingest station adds, plans and masters a new volume.
    let second = tree(&src, "会计档案", 10, 2);
    ok(dv(&vault).arg("add").arg(&second));
    let planned = ok(dv(&vault).args(TOY_PLAN));
    let new_volumes: Vec<String> = planned["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["volume_id"].as_str().unwrap().to_string())
        .collect();
    assert!(!new_volumes.is_empty(), "{planned}");
    let mastered = ok(dv(&vault).arg("master").arg("--out").arg(&images));
    let mastered: Vec<&str> = mastered
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["volume_id"].as_str().unwrap())
        .collect();
    assert_eq!(mastered, new_volumes, "only the new volumes are mastered");

    // DV-000001 named elsewhere: waited for, then "busy" naming station A's publish.
    for args in [
        &["master", "DV-000001", "--again", "--out"][..],
        &["publish", "DV-000001", "--to"][..],
    ] {
        let target = if args[0] == "master" {
            t.path().join("again").display().to_string()
        } else {
            format!("images:{}", t.path().join("copies").display())
        };
        let o = testkit::output(dv(&vault).args(args).arg(&target));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("busy") && err.contains("volume DV-000001") && err.contains("publish"),
            "{args:?}: {err}"
        );
    }
    // A second publisher takes what the policy lacks, leaving DV-000001 to station A.
    let copies = t.path().join("copies");
    std::fs::create_dir_all(&copies).unwrap();
    let b = ok(dv(&vault)
        .args(["publish", "--to"])
        .arg(format!("images:{}", copies.display())));
    let published: Vec<&str> = b["published"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["volume_id"].as_str().unwrap())
        .collect();
    let all = volume_ids(&ok(dv(&vault).arg("status")));
    let others: Vec<&str> = all
        .iter()
        .map(String::as_str)
        .filter(|v| *v != "DV-000001")
        .collect();
    assert_eq!(published, others, "{b}");
    let reason = |r: &Value| -> String {
        let left: Vec<&Value> = r["not_published"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["volume_id"] == "DV-000001")
            .collect();
        assert_eq!(left.len(), 1, "{r}");
        left[0]["reason"].as_str().unwrap().to_string()
    };
    assert!(reason(&b).contains("open job J-000001"), "{b}");
    // A second station on the same publisher would resume station A's open job: it is left
    // to station A, and the run says it did nothing.
    let c = ok(dv(&vault).args(["publish", "--to", &to]));
    assert_eq!(c["published"].as_array().map(Vec::len), Some(0), "{c}");
    let why = reason(&c);
    assert!(why.contains("held by") && why.contains("publish"), "{why}");
    assert!(
        c["nothing_to_do"].as_str().unwrap().contains("DV-000001"),
        "{c}"
    );

    // The robot starts: station A's job ends, its one disc verified.
    let _sim = simulate("tdbridge", &folder);
    let out = a.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["verified"], 1, "{a}");

    // One job for DV-000001 (station A's), its copies made by it alone; every copy id once.
    let (_, jobs) = json(dv(&vault).arg("jobs"));
    let of_first: Vec<&Value> = jobs
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["volume_id"] == "DV-000001")
        .collect();
    assert_eq!(of_first.len(), 1, "{jobs}");
    assert_eq!(of_first[0]["target"].as_str(), Some(to.as_str()));
    let (_, list) = json(dv(&vault).args(["copies", "list"]));
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["copy_id"].as_str().unwrap())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    let first_copies: Vec<&&str> = ids.iter().filter(|c| c.starts_with("DV-000001-")).collect();
    assert_eq!(first_copies, [&"DV-000001-C1"], "{list}");
    let check = testkit::run(dv(&vault).arg("check"));
    assert!(check.contains("catalog intact"), "{check}");
}
