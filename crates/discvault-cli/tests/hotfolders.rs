//! Disc publishers' hot folders, driven end to end: discvault publishes to the shipped
//! simulators of Epson TD Bridge and Primera PTBurn (`discvault simulate`), which follow the
//! documented job files, renamed states, status files and messages.

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::*;

mod common;
use common::{dv, json, simulate, wait_for, zbar};

fn control(folder: &Path, text: &str) {
    let tmp = folder.join(".control.tmp");
    fs::write(&tmp, text).unwrap();
    fs::rename(&tmp, folder.join("simulator-control.txt")).unwrap();
}

/// A vault in a folder with a Chinese name, the sample archived as one collection with a
/// Chinese title; the publisher folder is looked at every 50 ms.
fn archived(extra_config: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("档案库");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample");
    let (rc, r) = json(
        dv(&vault)
            .arg("archive")
            .arg(&sample)
            .args(["--collection", "城管执法案卷", "--media", "cd74", "--out"])
            .arg(t.path().join("img")),
    );
    assert_eq!(rc, 0, "{r}");
    let cfg = vault.join("discvault.toml");
    let mut text = fs::read_to_string(&cfg).unwrap();
    for (from, to) in [("poll_ms = 500", "poll_ms = 50")]
        .iter()
        .chain(extra_config)
    {
        assert!(text.contains(from), "{from}");
        text = text.replace(from, to);
    }
    fs::write(&cfg, text).unwrap();
    (t, vault)
}

fn job_copies(vault: &Path) -> Vec<Value> {
    let (_, jobs) = json(dv(vault).arg("jobs"));
    jobs.as_array()
        .unwrap()
        .iter()
        .flat_map(|j| {
            j["copies"].as_array().unwrap().iter().map(move |c| {
                let mut c = c.clone();
                c["job"] = j["job_id"].clone();
                c["job_state"] = j["state"].clone();
                c
            })
        })
        .collect()
}

fn copy_of(vault: &Path, id: &str) -> Value {
    let (_, c) = json(dv(vault).args(["copies", "list"]));
    c.as_array()
        .unwrap()
        .iter()
        .find(|c| c["copy_id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no copy {id}"))
}

/// Files of the folder whose names start with `prefix`.
fn files(dir: &Path, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(prefix))
        .collect();
    v.sort();
    v
}

/// A Windows text file read by iconv (not by our decoder): its lines, each checked to end in
/// CRLF.
fn windows_lines(path: &Path, code_page: &str) -> Vec<String> {
    let out = output(
        Command::new("iconv")
            .args(["-f", code_page, "-t", "UTF-8"])
            .arg(path),
    );
    assert!(out.status.success(), "{}: not {code_page}", path.display());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.ends_with("\r\n"), "{}: CRLF line ends", path.display());
    let lines: Vec<String> = text
        .strip_suffix("\r\n")
        .unwrap()
        .split("\r\n")
        .map(str::to_string)
        .collect();
    assert!(
        lines.iter().all(|l| !l.contains('\n') && !l.contains('\r')),
        "{}: bare line ends in {text:?}",
        path.display()
    );
    lines
}

fn value<'a>(lines: &'a [String], key: &str) -> Vec<&'a str> {
    lines.iter().filter_map(|l| l.strip_prefix(key)).collect()
}

#[test]
fn tdbridge_jobs_are_gbk_crlf_jdf_with_label_merge_data_and_a_failed_disc_is_burned_again() {
    let (t, vault) = archived(&[
        (
            r#"label_template = """#,
            r#"label_template = "D:\\labels\\档案光盘.tdd""#,
        ),
        ("out_stacker = 0", "out_stacker = 2"),
    ]);
    let folder = t.path().join("TDBridge");
    let _sim = simulate("tdbridge", &folder);
    control(&folder, "fail_discs=1\ndamage_discs=1\n");
    let to = format!("tdbridge:{}", folder.display());
    let (rc, r) = json(dv(&vault).args([
        "publish",
        "DV-000001",
        "--to",
        &to,
        "--copies",
        "2",
        "--give-up-after",
        "30",
    ]));
    assert_eq!(rc, 0, "{r}");
    assert_eq!(
        (r["verified"].as_u64(), r["failed"].as_u64()),
        (Some(2), Some(0)),
        "{r}"
    );
    let jc = job_copies(&vault);
    assert_eq!(
        jc[0]["attempts"], 3,
        "the failed disc and the damaged one were burned again: {jc:?}"
    );
    assert_eq!(jc[1]["attempts"], 1);
    assert_eq!(jc[0]["job_state"], "done");

    // Both discs that do not hold copy C1 are named with where they are and what to do: the
    // one TD Bridge failed, and the damaged one it published into output stacker 2 with C1's
    // label printed on it.
    let rejected = r["rejected_discs"].as_array().unwrap();
    assert_eq!(rejected.len(), 2, "{r}");
    assert_eq!(jc[0]["rejected"].as_array().unwrap(), rejected, "{jc:?}");
    let (failed, damaged) = (&rejected[0], &rejected[1]);
    assert_eq!(
        (failed["attempt"].as_u64(), failed["disc"].as_str()),
        (Some(1), Some("J-000001-DV-000001-C1-1"))
    );
    assert!(
        failed["place"]
            .as_str()
            .unwrap()
            .contains("Simulator/Reject")
            && failed["action"].as_str().unwrap().contains("destroy"),
        "{failed}"
    );
    assert_eq!(damaged["attempt"], 2);
    assert_eq!(damaged["place"], "出料仓 output stacker 2", "{damaged}");
    let label = damaged["label"].as_str().unwrap();
    assert!(
        label.contains("printed as copy DV-000001-C1") && label.contains("J-000001-DV-000001-C1-2"),
        "{label}"
    );
    let action = damaged["action"].as_str().unwrap();
    assert!(
        action.starts_with(
            "discard the disc of TD Bridge job J-000001-DV-000001-C1-2 in 出料仓 output stacker 2"
        ),
        "{action}"
    );
    assert!(damaged["reason"].as_str().unwrap().contains("damage"));
    let listed = run(dv(&vault).arg("jobs"));
    assert!(
        listed.contains("rejected disc 2 of DV-000001-C1")
            && listed.contains("discard the disc of TD Bridge job J-000001-DV-000001-C1-2"),
        "{listed}"
    );
    let log = run(dv(&vault).args(["log", "export", "--premis"]));
    assert!(
        log.contains(
            "disc 2 of copy DV-000001-C1 (job J-000001, J-000001-DV-000001-C1-2) rejected"
        ) && log.contains("出料仓 output stacker 2"),
        "{log}"
    );

    // The job files, in their final states: the failed disc's job ended ERR.
    let names = files(&folder, "J-000001-");
    assert_eq!(
        names,
        [
            "J-000001-DV-000001-C1-1.ERR",
            "J-000001-DV-000001-C1-2.DON",
            "J-000001-DV-000001-C1-3.DON",
            "J-000001-DV-000001-C2-1.DON"
        ],
        "{names:?}"
    );
    let jdf = windows_lines(&folder.join("J-000001-DV-000001-C1-3.DON"), "GBK");
    let tree = vault.join("spool/DV-000001.tree/DV-000001");
    assert_eq!(value(&jdf, "JOB_ID="), ["J-000001-DV-000001-C1-3"]);
    assert_eq!(value(&jdf, "COPIES="), ["1"]);
    assert_eq!(value(&jdf, "DISC_TYPE="), ["CD"]);
    // The volume's own file systems (a bridge): Epson's UDF 1.02 bridge.
    assert_eq!(value(&jdf, "FORMAT="), ["UDF102_BRIDGE"]);
    assert_eq!(value(&jdf, "DATA="), [tree.display().to_string()]);
    assert_eq!(value(&jdf, "VOLUME_LABEL="), ["DV-000001"]);
    assert_eq!(value(&jdf, "LABEL="), ["D:\\labels\\档案光盘.tdd"]);
    let merge = PathBuf::from(value(&jdf, "REPLACE_FIELD=")[0]);
    assert!(jdf.iter().all(|l| l.starts_with('#')
        || l.split_once('=')
            .is_some_and(|(k, _)| k.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))));
    // The vault's Chinese folder name is in GBK in the file, not UTF-8.
    let raw = fs::read(folder.join("J-000001-DV-000001-C1-3.DON")).unwrap();
    assert!(std::str::from_utf8(&raw).is_err());
    assert!(
        raw.windows(6)
            .any(|w| w == [0xb5, 0xb5, 0xb0, 0xb8, 0xbf, 0xe2]),
        "档案库 in GBK"
    );

    // The merge data names the copy, its barcode and the collection; the "printed" label of
    // the disc carries it.
    let m = windows_lines(&merge, "GBK");
    let c1 = copy_of(&vault, "DV-000001-C1");
    let barcode = c1["barcode"].as_str().unwrap();
    assert!(m.contains(&"copy_id=DV-000001-C1".to_string()), "{m:?}");
    assert!(m.contains(&format!("barcode={barcode}")), "{m:?}");
    assert!(m.contains(&"collection=城管执法案卷".to_string()), "{m:?}");
    assert!(m
        .iter()
        .any(|l| l.starts_with("qr=discvault:v1;volume=DV-000001;copy=DV-000001-C1;")));
    let stacker = folder.join("Simulator/Stacker");
    let printed = fs::read_to_string(stacker.join("J-000001-DV-000001-C1-3-1.label.txt")).unwrap();
    assert!(
        printed.contains("LABEL=D:\\labels\\档案光盘.tdd")
            && printed.contains(&format!("barcode={barcode}")),
        "{printed}"
    );

    // TDBStatus.txt: the failed job completed abnormally with its error disc counted.
    let status = windows_lines(&folder.join("TDBStatus.txt"), "GBK");
    let section = |id: &str| -> Vec<String> {
        status
            .iter()
            .skip_while(|l| **l != format!("[{id}]"))
            .skip(1)
            .take_while(|l| !l.starts_with('['))
            .cloned()
            .collect()
    };
    let failed = section("J-000001-DV-000001-C1-1");
    assert!(
        failed.contains(&"STATUS=5".to_string())
            && failed.contains(&"ERRORDISC_NUMBER=1".to_string()),
        "{failed:?}"
    );
    let good = section("J-000001-DV-000001-C2-1");
    assert!(
        good.contains(&"STATUS=4".to_string()) && good.contains(&"COMPLETION_NUMBER=1".to_string()),
        "{good:?}"
    );
    assert_eq!(
        files(&folder.join("Simulator/Reject"), "J-000001-DV-000001-C1-1").len(),
        1
    );

    // The copies count: verified, to be shelved; the published discs read back clean.
    for id in ["DV-000001-C1", "DV-000001-C2"] {
        let c = copy_of(&vault, id);
        assert_eq!(
            (c["state"].as_str(), c["trusted"].as_bool()),
            (Some("verified"), Some(true)),
            "{c}"
        );
        assert_eq!(c["place"]["cabinet"], "待上架 to be shelved");
    }
    let (rc, v) = json(
        dv(&vault)
            .arg("verify")
            .arg(stacker.join("J-000001-DV-000001-C2-1-1.iso")),
    );
    assert_eq!((rc, v[0]["clean"].as_bool()), (0, Some(true)), "{v}");
    // The damaged disc was published (TD Bridge did not notice) and caught by the read-back.
    let (rc, v) = json(
        dv(&vault)
            .arg("verify")
            .arg(stacker.join("J-000001-DV-000001-C1-2-1.iso")),
    );
    assert_eq!((rc, v[0]["clean"].as_bool()), (3, Some(false)), "{v}");
    assert!(jc[0]["detail"].as_str().unwrap().starts_with("verified"));

    // Discs that leave the robot unread (no stacker folder to read them from) wait for a
    // person's read-back before they count.
    let cfg = vault.join("discvault.toml");
    fs::create_dir(t.path().join("elsewhere")).unwrap();
    let text = fs::read_to_string(&cfg).unwrap().replace(
        r#"stacker_dir = """#,
        &format!(
            "stacker_dir = {:?}",
            t.path().join("elsewhere").display().to_string()
        ),
    );
    fs::write(&cfg, text).unwrap();
    let (rc, r) =
        json(dv(&vault).args(["publish", "DV-000001", "--to", &to, "--roles", "offsite"]));
    assert_eq!(
        (rc, r["awaiting_readback"].as_u64(), r["verified"].as_u64()),
        (0, Some(1), Some(0)),
        "{r}"
    );
    assert_eq!(r["jobs"][0]["copies"][0]["state"], "readback");
    let c3 = copy_of(&vault, "DV-000001-C3");
    assert_eq!(
        (c3["state"].as_str(), c3["trusted"].as_bool()),
        (Some("planned"), Some(false)),
        "{c3}"
    );
    assert_eq!(c3["place"]["cabinet"], "出料仓 output stacker 2");
    let (rc, r) = json(dv(&vault).args(["publish", "--to", &to]));
    assert_eq!(
        (rc, r["awaiting_readback"].as_u64()),
        (0, Some(1)),
        "still unread: {r}"
    );
    let disc = stacker.join("J-000002-DV-000001-C3-1-1.iso");
    let (rc, v) = json(
        dv(&vault)
            .arg("verify")
            .arg(&disc)
            .args(["--copy", "DV-000001-C3"]),
    );
    assert_eq!(rc, 0, "{v}");
    let (rc, r) = json(dv(&vault).args(["publish", "--to", &to]));
    assert_eq!((rc, r["verified"].as_u64()), (0, Some(1)), "{r}");
    assert_eq!(r["jobs"][0]["state"], "done");
    assert_eq!(copy_of(&vault, "DV-000001-C3")["state"], "verified");

    let (rc, _) = json(dv(&vault).args(["log", "verify"]));
    assert_eq!(rc, 0);
}

#[test]
fn tdbridge_out_of_blanks_a_kill_and_a_cancel_leave_jobs_that_resume_or_end_cleanly() {
    let (t, vault) = archived(&[]);
    let folder = t.path().join("TDBridge");
    let _sim = simulate("tdbridge", &folder);
    let to = format!("tdbridge:{}", folder.display());

    // One blank disc for two copies: the robot pauses; discvault gives up waiting, the job
    // stays open with its second disc's TD Bridge job recorded.
    control(&folder, "blanks=1\n");
    let o = output(dv(&vault).args([
        "publish",
        "DV-000001",
        "--to",
        &to,
        "--copies",
        "2",
        "--give-up-after",
        "2",
    ]));
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no blank discs") && err.contains("J-000001-DV-000001-C2-1"),
        "{err}"
    );
    let jc = job_copies(&vault);
    assert_eq!(
        (jc[0]["state"].as_str(), jc[1]["state"].as_str()),
        (Some("done"), Some("burning")),
        "{jc:?}"
    );
    assert_eq!(jc[1]["medium"], "J-000001-DV-000001-C2-1");
    assert_eq!(
        files(&folder, "J-000001-DV-000001-C2"),
        ["J-000001-DV-000001-C2-1.STP"]
    );
    assert_eq!(copy_of(&vault, "DV-000001-C2")["state"], "planned");

    // Blanks loaded: a rerun follows the same TD Bridge job to its end.
    control(&folder, "blanks=20\n");
    let (rc, r) = json(dv(&vault).args(["publish", "--to", &to]));
    assert_eq!((rc, r["verified"].as_u64()), (0, Some(1)), "{r}");
    assert_eq!(
        files(&folder, "J-000001-DV-000001-C2"),
        ["J-000001-DV-000001-C2-1.DON"]
    );
    assert_eq!(job_copies(&vault)[1]["attempts"], 1);

    // discvault killed while the robot burns: the rerun follows the job, no second disc.
    let mut child = dv(&vault)
        .args([
            "-q",
            "publish",
            "DV-000001",
            "--to",
            &to,
            "--roles",
            "offsite",
        ])
        .spawn()
        .unwrap();
    wait_for("the disc in progress", || {
        !files(&folder, "J-000002-DV-000001-C3-1.INP").is_empty()
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let (rc, r) = json(dv(&vault).args(["publish", "--to", &to]));
    assert_eq!((rc, r["verified"].as_u64()), (0, Some(1)), "{r}");
    assert_eq!(files(&folder, "J-000002-"), ["J-000002-DV-000001-C3-1.DON"]);
    assert_eq!(copy_of(&vault, "DV-000001-C3")["state"], "verified");

    // A cancel while the robot is paused: the JCF is answered CDN, the TD Bridge job ends
    // DON with nothing published, the copy stays planned and a new job takes it.
    control(&folder, "paused=1\n");
    let o = output(dv(&vault).args([
        "publish",
        "DV-000001",
        "--to",
        &to,
        "--roles",
        "access",
        "--give-up-after",
        "1",
    ]));
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (rc, r) = json(dv(&vault).args(["jobs", "--cancel", "J-000003"]));
    assert_eq!(rc, 0, "{r}");
    assert_eq!(r["job"]["state"], "cancelled");
    assert_eq!(r["stopped"], serde_json::json!(["J-000003-DV-000001-C4-1"]));
    wait_for("CDN", || {
        !files(&folder, "J-000003-DV-000001-C4-1.CDN").is_empty()
    });
    wait_for("DON", || {
        !files(&folder, "J-000003-DV-000001-C4-1.DON").is_empty()
    });
    assert!(files(&folder.join("Simulator/Stacker"), "J-000003").is_empty());
    assert_eq!(copy_of(&vault, "DV-000001-C4")["state"], "planned");
    let o = output(dv(&vault).args(["jobs", "--cancel", "J-000003"]));
    assert_eq!(
        o.status.code(),
        Some(1),
        "a closed job cannot be cancelled again"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("J-000003 is cancelled already"));
    control(&folder, "paused=0\n");
    let (rc, r) = json(dv(&vault).args(["publish", "DV-000001", "--to", &to, "--roles", "access"]));
    assert_eq!((rc, r["verified"].as_u64()), (0, Some(1)), "{r}");
    assert_eq!(r["jobs"][0]["job_id"], "J-000004");
    assert_eq!(
        r["jobs"][0]["copies"][0]["copy_id"], "DV-000001-C4",
        "the cancelled job's copy is reused"
    );

    // A job cancelled at TD Bridge itself (its JCF written by someone else) is recorded so.
    control(&folder, "paused=1\n");
    let mut child = dv(&vault)
        .args([
            "-q",
            "publish",
            "DV-000001",
            "--to",
            &to,
            "--roles",
            "access",
        ])
        .spawn()
        .unwrap();
    wait_for("the paused job", || {
        !files(&folder, "J-000005-DV-000001-C5-1.STP").is_empty()
    });
    fs::write(
        folder.join("other.JCF"),
        "[CANCEL]\r\nJOB_ID=J-000005-DV-000001-C5-1\r\n",
    )
    .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let jc = job_copies(&vault);
    let c5 = jc.iter().find(|c| c["copy_id"] == "DV-000001-C5").unwrap();
    assert_eq!(
        (c5["state"].as_str(), c5["job_state"].as_str()),
        (Some("cancelled"), Some("cancelled")),
        "{c5}"
    );
    assert!(
        c5["detail"]
            .as_str()
            .unwrap()
            .contains("cancelled at TD Bridge"),
        "{c5}"
    );
    control(&folder, "paused=0\n");
    let (rc, _) = json(dv(&vault).args(["log", "verify"]));
    assert_eq!(rc, 0);
}

#[test]
fn ptburn_discs_are_read_back_in_the_drive_before_the_robot_prints_and_stacks_them() {
    let (t, vault) = archived(&[]);
    let folder = t.path().join("PTBurnJobs");
    let _sim = simulate("ptburn", &folder);
    let to = format!("ptburn:{}", folder.display());

    // The first disc comes out damaged (the robot's own check passes it): discvault's
    // read-back in the drive catches it, rejects it, and the second disc is good.
    control(&folder, "damage_discs=1\n");
    let (rc, r) = json(dv(&vault).args([
        "publish",
        "DV-000001",
        "--to",
        &to,
        "--roles",
        "sealed",
        "--give-up-after",
        "30",
    ]));
    assert_eq!(rc, 0, "{r}");
    let c = &r["jobs"][0]["copies"][0];
    assert_eq!(
        (c["state"].as_str(), c["attempts"].as_u64()),
        (Some("done"), Some(2)),
        "{r}"
    );
    // The damaged disc went to the reject bin, unprinted, and is named so.
    let rejected = &r["rejected_discs"];
    assert_eq!(rejected.as_array().unwrap().len(), 1, "{r}");
    assert_eq!(
        (
            rejected[0]["attempt"].as_u64(),
            rejected[0]["disc"].as_str()
        ),
        (Some(1), Some("J-000001-DV-000001-C1-1"))
    );
    assert!(
        rejected[0]["place"]
            .as_str()
            .unwrap()
            .contains("reject bin")
            && rejected[0]["label"]
                .as_str()
                .unwrap()
                .contains("not printed")
            && rejected[0]["action"]
                .as_str()
                .unwrap()
                .contains("its read-back found damage"),
        "{rejected}"
    );
    assert_eq!(c["rejected"], *rejected);
    wait_for("the robot to stack the disc", || {
        !files(&folder, "J-000001-DV-000001-C1-2.DON").is_empty()
    });
    assert_eq!(
        files(&folder, "J-000001-"),
        ["J-000001-DV-000001-C1-1.ERR", "J-000001-DV-000001-C1-2.DON"]
    );
    assert_eq!(
        files(&folder.join("Simulator/Reject"), "J-000001-DV-000001-C1-1-").len(),
        1
    );

    let jrq = windows_lines(&folder.join("J-000001-DV-000001-C1-2.DON"), "GBK");
    let spool = vault.join("spool");
    assert_eq!(value(&jrq, "JobID = "), ["J-000001-DV-000001-C1-2"]);
    assert_eq!(value(&jrq, "ClientID = "), ["discvault"]);
    assert_eq!(
        value(&jrq, "ImageFile = "),
        [spool.join("DV-000001.iso").display().to_string()]
    );
    assert_eq!(value(&jrq, "Copies = "), ["1"]);
    assert_eq!(value(&jrq, "VolumeName = "), ["DV-000001"]);
    assert_eq!(value(&jrq, "VerifyDisc = "), ["YES"]);
    assert_eq!(value(&jrq, "RejectIfNotBlank = "), ["YES"]);
    assert_eq!(value(&jrq, "LoadUnloadOverride = "), ["YES"]);
    let label = spool.join("jobs/J-000001-DV-000001-C1-2.jpg");
    assert_eq!(value(&jrq, "PrintLabel = "), [label.display().to_string()]);

    // The printed face is our label: its barcode and QR code decode to the catalog's values.
    let printed = folder.join("Simulator/Stacker/J-000001-DV-000001-C1-2-1.jpg");
    assert_eq!(fs::read(&printed).unwrap(), fs::read(&label).unwrap());
    let c1 = copy_of(&vault, "DV-000001-C1");
    let codes = zbar(&printed);
    assert!(
        codes.contains(&(
            "CODE-128".to_string(),
            c1["barcode"].as_str().unwrap().to_string()
        )),
        "{codes:?}"
    );
    assert!(
        codes.iter().any(|(k, v)| k == "QR-Code"
            && v.starts_with("discvault:v1;volume=DV-000001;copy=DV-000001-C1;")),
        "{codes:?}"
    );
    assert_eq!(
        (c1["state"].as_str(), c1["trusted"].as_bool()),
        (Some("verified"), Some(true))
    );
    let (rc, v) = json(
        dv(&vault)
            .arg("verify")
            .arg(folder.join("Simulator/Stacker/J-000001-DV-000001-C1-2-1.iso")),
    );
    assert_eq!((rc, v[0]["clean"].as_bool()), (0, Some(true)), "{v}");

    // A crash right after the job request was written: the rerun follows the same job, reads
    // the held disc back and lets the robot stack it.
    let o = output(
        dv(&vault)
            .env("DISCVAULT_CRASH_AFTER_BURN", "DV-000001-C2")
            .args([
                "-q",
                "publish",
                "DV-000001",
                "--to",
                &to,
                "--roles",
                "offsite",
            ]),
    );
    assert!(!o.status.success());
    assert_eq!(job_copies(&vault)[1]["state"], "burning");
    let (rc, r) = json(dv(&vault).args(["publish", "--to", &to]));
    assert_eq!((rc, r["verified"].as_u64()), (0, Some(1)), "{r}");
    wait_for("DON", || {
        !files(&folder, "J-000002-DV-000001-C2-1.DON").is_empty()
    });
    assert_eq!(files(&folder, "J-000002-"), ["J-000002-DV-000001-C2-1.DON"]);

    // An abort: the robot is paused (out of blanks), `jobs --cancel` sends ABORT in a PTM
    // file, PTBurn ends the job ERR, aborted.
    control(&folder, "blanks=0\n");
    let o = output(dv(&vault).args([
        "publish",
        "DV-000001",
        "--to",
        &to,
        "--roles",
        "access",
        "--give-up-after",
        "1",
    ]));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Input bin empty"), "{err}");
    let (rc, r) = json(dv(&vault).args(["jobs", "--cancel", "J-000003"]));
    assert_eq!(
        (rc, r["job"]["state"].as_str()),
        (0, Some("cancelled")),
        "{r}"
    );
    wait_for("ERR", || {
        !files(&folder, "J-000003-DV-000001-C3-1.ERR").is_empty()
    });
    let robot = windows_lines(&folder.join("Status/Disc Publisher SIM.txt"), "GBK");
    let sec: Vec<&String> = robot
        .iter()
        .skip_while(|l| *l != "[J-000003-DV-000001-C3-1]")
        .take_while(|l| !l.starts_with("[R"))
        .collect();
    assert!(
        sec.iter().any(|l| *l == "CurrentStatusState = 13"),
        "{sec:?}"
    );
    assert_eq!(copy_of(&vault, "DV-000001-C3")["state"], "planned");
    control(&folder, "blanks=-1\n");
}

#[test]
fn a_missing_label_template_is_named_before_anything_is_registered_or_burned() {
    let t0 = tempfile::tempdir().unwrap();
    let missing = t0.path().join("labels/档案光盘.tdd");
    let (t, vault) = archived(&[(
        r#"label_template = """#,
        &format!("label_template = {:?}", missing.display().to_string()),
    )]);
    let folder = t.path().join("TDBridge");
    fs::create_dir_all(&folder).unwrap();
    let to = format!("tdbridge:{}", folder.display());
    let o = output(dv(&vault).args(["publish", "DV-000001", "--to", &to, "--roles", "sealed"]));
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("publish.tdbridge.label_template")
            && err.contains(&missing.display().to_string())
            && err.contains("nothing was burned"),
        "{err}"
    );
    // Nothing written for TD Bridge, no job, no copy registered.
    assert!(files(&folder, "").is_empty(), "{:?}", files(&folder, ""));
    let (_, jobs) = json(dv(&vault).arg("jobs"));
    assert_eq!(jobs, serde_json::json!([]));
    let (_, copies) = json(dv(&vault).args(["copies", "list"]));
    assert_eq!(copies, serde_json::json!([]));

    // As TD Bridge's PC names it, through the path map: the same check, on the local side.
    let cfg = vault.join("discvault.toml");
    let text = fs::read_to_string(&cfg)
        .unwrap()
        .lines()
        .map(|l| {
            if l.starts_with("label_template = ") {
                r#"label_template = "D:\\labels\\档案光盘.tdd""#.to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        .replacen(
            "path_map = \"\"",
            &format!("path_map = {:?}", format!("{}=D:\\", t0.path().display())),
            1,
        );
    fs::write(&cfg, text).unwrap();
    let o = output(dv(&vault).args(["publish", "DV-000001", "--to", &to, "--roles", "sealed"]));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("D:\\\\labels\\\\档案光盘.tdd")
            && err.contains(&missing.display().to_string()),
        "{err}"
    );
    assert!(files(&folder, "").is_empty());
    // With the template in place, the disc is burned with it.
    fs::create_dir_all(missing.parent().unwrap()).unwrap();
    fs::write(&missing, b"tdd").unwrap();
    let _sim = simulate("tdbridge", &folder);
    let (rc, r) = json(dv(&vault).args([
        "publish",
        "DV-000001",
        "--to",
        &to,
        "--roles",
        "sealed",
        "--give-up-after",
        "30",
    ]));
    assert_eq!((rc, r["verified"].as_u64()), (0, Some(1)), "{r}");
}

#[test]
fn a_garbled_tdbstatus_file_is_an_error_naming_it_not_a_cancel() {
    let (t, vault) = archived(&[]);
    let folder = t.path().join("TDBridge");
    fs::create_dir_all(&folder).unwrap();
    let to = format!("tdbridge:{}", folder.display());
    // No TD Bridge: the test plays it, with a status file whose count is not a number.
    let child = dv(&vault)
        .args([
            "--json",
            "publish",
            "DV-000001",
            "--to",
            &to,
            "--roles",
            "sealed",
            "--give-up-after",
            "60",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let id = "J-000001-DV-000001-C1-1";
    wait_for("the job file", || !files(&folder, id).is_empty());
    fs::write(
        folder.join("TDBStatus.txt"),
        format!("[{id}]\r\nSTATUS=4\r\nPUBLICATION_NUMBER=1\r\nCOMPLETION_NUMBER=I\r\nERRORDISC_NUMBER=\r\n"),
    )
    .unwrap();
    fs::rename(
        folder.join(format!("{id}.JDF")),
        folder.join(format!("{id}.DON")),
    )
    .unwrap();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("TDBStatus.txt")
            && err.contains("COMPLETION_NUMBER = ")
            && err.contains("is not a number"),
        "{err}"
    );
    // The copy is neither cancelled nor counted: the job stays open for a rerun.
    let jc = job_copies(&vault);
    assert_eq!(
        (jc[0]["state"].as_str(), jc[0]["job_state"].as_str()),
        (Some("burning"), Some("open")),
        "{jc:?}"
    );
}

#[test]
fn a_job_tdbridge_does_not_accept_burned_nothing_and_is_not_a_failed_disc() {
    let (t, vault) = archived(&[]);
    let folder = t.path().join("TDBridge");
    fs::create_dir_all(&folder).unwrap();
    let to = format!("tdbridge:{}", folder.display());
    // The test plays TD Bridge: it refuses the job (STATUS=6), no disc published or failed.
    let child = dv(&vault)
        .args(["publish", "DV-000001", "--to", &to, "--roles", "sealed"])
        .args(["--give-up-after", "60"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let id = "J-000001-DV-000001-C1-1";
    wait_for("the job file", || !files(&folder, id).is_empty());
    fs::write(
        folder.join("TDBStatus.txt"),
        format!("[{id}]\r\nSTATUS=6\r\nPUBLICATION_NUMBER=1\r\nCOMPLETION_NUMBER=0\r\nERRORDISC_NUMBER=0\r\nERROR=LABEL file not found\r\n"),
    )
    .unwrap();
    fs::rename(
        folder.join(format!("{id}.JDF")),
        folder.join(format!("{id}.ERR")),
    )
    .unwrap();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("did not accept") && err.contains("LABEL file not found"),
        "{err}"
    );
    // No second disc was asked for, none is named rejected, the copy waits for a rerun.
    assert_eq!(files(&folder, "J-000001-"), [format!("{id}.ERR")]);
    let jc = job_copies(&vault);
    assert_eq!(
        (
            jc[0]["state"].as_str(),
            jc[0]["attempts"].as_u64(),
            jc[0]["rejected"].as_array().map(Vec::len)
        ),
        (Some("pending"), Some(0), Some(0)),
        "{jc:?}"
    );
    assert!(jc[0]["detail"]
        .as_str()
        .unwrap()
        .contains("LABEL file not found"));
}
