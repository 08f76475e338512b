//! End-to-end tests of the pipeline through the real `discvault` binary, a real SQLite catalog,
//! and images checked by readers we did not write.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use testkit::*;

mod common;
use common::{archive, dv, json, sql};

fn ok(cmd: &mut Command) -> String {
    run(cmd)
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample")
}

fn write(path: &Path, data: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
}

/// Checks an image with xorriso, bsdtar, 7z and isoinfo, and the BagIt bag with bagit.py;
/// `data/<collection>` must equal `source` for every reader.
fn check_readers(
    img: &Path,
    collection: &str,
    source: &BTreeMap<Vec<u8>, Vec<u8>>,
    seven_zip: bool,
) {
    let t = tempfile::tempdir().unwrap();
    let x = t.path().join("xorriso");
    extract_xorriso(img, &x);
    assert_same_tree(
        "xorriso",
        &subtree(&tree(&x), format!("data/{collection}").as_bytes()),
        source,
    );
    let b = t.path().join("bsdtar");
    extract_bsdtar(img, &b);
    assert_same_tree(
        "bsdtar",
        &subtree(&tree(&b), format!("data/{collection}").as_bytes()),
        source,
    );
    bagit_validate(&b);
    // The README's own instructions work.
    let sums = run(Command::new("sha256sum")
        .arg("-c")
        .arg("manifest-sha256.txt")
        .current_dir(&b));
    assert_eq!(
        sums.lines().filter(|l| l.ends_with(": OK")).count(),
        source.len()
    );
    run(Command::new("sha256sum")
        .arg("-c")
        .arg("tagmanifest-sha256.txt")
        .current_dir(&b));
    if seven_zip {
        let z = t.path().join("7z");
        extract_7z(img, &z);
        assert_same_tree(
            "7z",
            &subtree(&tree(&z), format!("data/{collection}").as_bytes()),
            source,
        );
    }
    let listed = isoinfo_paths(img);
    for k in source.keys() {
        let want = format!("/data/{collection}/{}", String::from_utf8_lossy(k));
        assert!(listed.contains(&want), "isoinfo -R does not list {want}");
    }
}

#[test]
fn sample_archive_is_read_by_every_reader() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("vault");
    let out = t.path().join("images");
    let (rc, r) = json(
        dv(&vault)
            .args(["archive"])
            .arg(sample())
            .args(["--media", "cd74", "--out"])
            .arg(&out),
    );
    assert_eq!(rc, 0, "{r}");
    assert_eq!(r["clean"], true);
    assert_eq!(r["images"].as_array().unwrap().len(), 1);
    let img = PathBuf::from(r["images"][0]["image"].as_str().unwrap());
    assert_eq!(img, out.join("DV-000001.iso"));
    check_readers(&img, "sample", &tree(&sample()), true);
    // The image's recorded sha256 is the file's.
    let sha = run(Command::new("sha256sum").arg(&img));
    assert!(sha.starts_with(r["images"][0]["image_sha256"].as_str().unwrap()));
    // bag-info carries the group, count, oxum and volume id.
    let b = t.path().join("b");
    extract_bsdtar(&img, &b);
    let info = fs::read_to_string(b.join("bag-info.txt")).unwrap();
    assert!(info.contains("Bag-Count: 1 of 1\n"), "{info}");
    assert!(info.contains("External-Identifier: DV-000001\n"), "{info}");
    let files = tree(&sample());
    let bytes: usize = files.values().map(|v| v.len()).sum();
    assert!(
        info.contains(&format!("Payload-Oxum: {bytes}.{}\n", files.len())),
        "{info}"
    );
    let vol: Value =
        serde_json::from_slice(&fs::read(b.join("discvault/volume.json")).unwrap()).unwrap();
    assert_eq!(vol["volume_id"], "DV-000001");
    assert_eq!(vol["files"].as_array().unwrap().len(), files.len());
    let readme = fs::read_to_string(b.join("README.txt")).unwrap();
    assert!(readme.contains("sha256sum -c manifest-sha256.txt") && readme.contains("如何校验"));
    // Status says everything is mastered.
    let (_, s) = json(dv(&vault).arg("status"));
    assert_eq!(s["unplanned"]["files"], 0);
    assert_eq!(s["mastered"]["files"].as_u64().unwrap(), files.len() as u64);
}

#[test]
fn vault_option_before_after_and_from_environment() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("v");
    ok(Command::new(env!("CARGO_BIN_EXE_discvault"))
        .arg("init")
        .arg("--vault")
        .arg(&vault));
    assert!(vault.join("discvault.toml").is_file());
    assert!(vault.join("catalog.sqlite").is_file());
    ok(Command::new(env!("CARGO_BIN_EXE_discvault"))
        .arg("--vault")
        .arg(&vault)
        .arg("status"));
    ok(Command::new(env!("CARGO_BIN_EXE_discvault"))
        .env("DISCVAULT_VAULT", &vault)
        .arg("status"));
    // ./vault is the default.
    ok(Command::new(env!("CARGO_BIN_EXE_discvault"))
        .env_remove("DISCVAULT_VAULT")
        .current_dir(t.path())
        .arg("init"));
    assert!(t.path().join("vault/discvault.toml").is_file());
    // No vault: a clear error.
    let out = output(
        Command::new(env!("CARGO_BIN_EXE_discvault"))
            .arg("--vault")
            .arg(t.path().join("none"))
            .arg("status"),
    );
    assert_eq!(code(&out), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no vault at"));
    // A bad config value names the field.
    fs::write(vault.join("discvault.toml"), "[plan]\nmedia = \"floppy\"\n").unwrap();
    let out = output(dv(&vault).arg("status"));
    assert_eq!(code(&out), 1);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("plan.media"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn tricky_tree(root: &Path) {
    let files: Vec<(String, Vec<u8>)> = vec![
        (
            "全宗-J001/2024/卷001/文书-000001-report.pdf".into(),
            b"%PDF-1.4 fake".to_vec(),
        ),
        (
            "全宗-J001/说明.txt".into(),
            "说明文字\n".as_bytes().to_vec(),
        ),
        (
            "Records 2024/a b$c;&'\"(x)!#.txt".into(),
            b"metachars".to_vec(),
        ),
        ("Records 2024/Case.txt".into(), b"upper".to_vec()),
        ("Records 2024/case.txt".into(), b"lower".to_vec()),
        ("Records 2024/empty".into(), Vec::new()),
        ("Records 2024/.hidden".into(), b"hidden".to_vec()),
        (
            "d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/deep-文件.txt".into(),
            b"deep".to_vec(),
        ),
        (
            format!("long/{}", "档".repeat(66) + "ab"),
            b"cjk 200 bytes".to_vec(),
        ),
        (
            format!("long/{}", "n".repeat(196) + ".txt"),
            b"ascii 200 bytes".to_vec(),
        ),
        ("empty2.bin".into(), Vec::new()),
    ];
    for (p, d) in files {
        write(&root.join(p), &d);
    }
}

#[test]
fn tricky_names_survive_every_reader_and_restore() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("recs");
    tricky_tree(&src);
    let vault = t.path().join("vault");
    let out = t.path().join("img");
    let (rc, r) = archive(&vault, &src, "dvd5", &out);
    assert_eq!(rc, 0, "{r}");
    let img = out.join("DV-000001.iso");
    let want = tree(&src);
    // 7-Zip shows Joliet names, which cannot hold 200 ASCII characters or ';': checked below.
    check_readers(&img, "recs", &want, false);
    let z = t.path().join("7z");
    extract_7z(&img, &z);
    let got = subtree(&tree(&z), b"data/recs");
    for (k, v) in &want {
        let name = String::from_utf8_lossy(k);
        if name.starts_with("long/nnn") || name.contains(';') {
            continue;
        }
        assert_eq!(got.get(k), Some(v), "7z: {name}");
    }
    assert_eq!(got.len(), want.len(), "7z shows every file");
    // Restore the whole collection from the image.
    let to = t.path().join("restored");
    ok(dv(&vault)
        .args(["restore", "recs", "--to"])
        .arg(&to)
        .arg("--from")
        .arg(&img));
    assert_same_tree("restore", &tree(&to.join("recs")), &want);
    // A second restore leaves the files that are there with the same bytes, and refuses to
    // overwrite one that differs, saying so.
    let again = output(
        dv(&vault)
            .args(["restore", "recs", "--to"])
            .arg(&to)
            .arg("--from")
            .arg(&img),
    );
    assert_eq!(
        code(&again),
        0,
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("already there with the same bytes"));
    let (changed, _) = want.iter().find(|(_, d)| !d.is_empty()).unwrap();
    let changed = to.join("recs").join(std::ffi::OsStr::from_bytes(changed));
    fs::write(&changed, b"edited after the restore").unwrap();
    let again = output(
        dv(&vault)
            .args(["restore", "recs", "--to"])
            .arg(&to)
            .arg("--from")
            .arg(&img),
    );
    assert_eq!(code(&again), 1);
    assert!(String::from_utf8_lossy(&again.stderr).contains("not overwritten"));
    ok(dv(&vault)
        .args(["restore", "recs", "--overwrite", "--to"])
        .arg(&to)
        .arg("--from")
        .arg(&img));
}

#[test]
fn plans_span_discs_keep_folders_together_and_split_big_files() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("c");
    // Ten folders of 300 KiB and one 2.5 MiB file, on 1 MiB discs.
    for d in 0..10 {
        for f in 0..3 {
            let data: Vec<u8> = (0..100 * 1024)
                .map(|i| ((i * 7 + d * 13 + f) % 251) as u8)
                .collect();
            write(&src.join(format!("卷{d:02}/件{f}.dat")), &data);
        }
    }
    let big: Vec<u8> = (0..2_600_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    write(&src.join("video/巡查录像.mp4"), &big);
    let vault = t.path().join("vault");
    ok(dv(&vault).arg("init"));
    ok(dv(&vault).arg("add").arg(&src));
    let (rc, dry) = json(dv(&vault).args(["plan", "--media", "custom:1048576", "--dry-run"]));
    assert_eq!(rc, 0, "{dry}");
    let vols = dry["volumes"].as_array().unwrap();
    assert!(vols.len() >= 5, "{} volumes", vols.len());
    // Nothing recorded by a dry run.
    let (_, s) = json(dv(&vault).arg("status"));
    assert_eq!(s["volumes"].as_array().unwrap().len(), 0);
    // Every folder on exactly one volume; the big file in parts across volumes.
    for d in 0..10 {
        let prefix = format!("卷{d:02}/");
        let holders: Vec<&Value> = vols
            .iter()
            .filter(|v| {
                v["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|i| i["path"].as_str().unwrap().starts_with(&prefix))
            })
            .collect();
        assert_eq!(holders.len(), 1, "{prefix} is split across volumes");
    }
    let parts: Vec<&Value> = vols
        .iter()
        .flat_map(|v| v["items"].as_array().unwrap())
        .filter(|i| i["path"] == "video/巡查录像.mp4")
        .collect();
    assert!(
        parts.len() >= 3
            && parts
                .iter()
                .all(|p| p["parts"].as_u64() == Some(parts.len() as u64))
    );
    for v in vols {
        assert!(v["image_bytes"].as_u64().unwrap() <= 1048576);
        assert_eq!(v["seq_count"].as_u64(), Some(vols.len() as u64));
    }
    // The same plan again is identical (deterministic).
    let (_, dry2) = json(dv(&vault).args(["plan", "--media", "custom:1048576", "--dry-run"]));
    assert_eq!(dry, dry2);
    let (_, plan) = json(dv(&vault).args(["plan", "--media", "custom:1048576"]));
    assert_eq!(plan["volumes"], dry["volumes"]);
    let out = t.path().join("img");
    let (rc, images) = json(dv(&vault).arg("master").arg("--out").arg(&out));
    assert_eq!(rc, 0, "{images}");
    let images: Vec<PathBuf> = images
        .as_array()
        .unwrap()
        .iter()
        .map(|i| PathBuf::from(i["image"].as_str().unwrap()))
        .collect();
    assert_eq!(images.len(), vols.len());
    for img in &images {
        assert!(fs::metadata(img).unwrap().len() <= 1048576);
    }
    let mut cmd = dv(&vault);
    cmd.arg("verify").args(&images);
    let (rc, rep) = json(&mut cmd);
    assert_eq!(rc, 0, "{rep}");
    // Joining the parts as the README says gives the original file.
    let mut joined = Vec::new();
    let mut part_names = Vec::new();
    for img in &images {
        let x = t.path().join("x").join(img.file_name().unwrap());
        extract_bsdtar(img, &x);
        bagit_validate(&x);
        for (k, v) in tree(&x) {
            if k.starts_with("data/c/video/巡查录像.mp4.part-".as_bytes()) {
                part_names.push((k, v));
            }
        }
    }
    part_names.sort();
    assert_eq!(part_names.len(), parts.len());
    for (_, v) in &part_names {
        joined.extend_from_slice(v);
    }
    assert!(joined == big, "joined parts differ from the original");
    // Restore without sources prints the pick list; with some missing it names them.
    let (rc, pick) = json(
        dv(&vault)
            .args(["restore", "c/video", "--to"])
            .arg(t.path().join("r")),
    );
    assert_eq!(rc, 0);
    assert_eq!(pick["volumes"].as_array().unwrap().len(), parts.len());
    let out1 = output(
        dv(&vault)
            .args(["restore", "c/video", "--to"])
            .arg(t.path().join("r"))
            .arg("--from")
            .arg(&images[0]),
    );
    assert_eq!(code(&out1), 4);
    assert!(String::from_utf8_lossy(&out1.stdout).contains("still needed"));
    let mut cmd = dv(&vault);
    cmd.args(["restore", "c/video", "--to"])
        .arg(t.path().join("r"))
        .arg("--from")
        .args(&images);
    ok(&mut cmd);
    assert!(fs::read(t.path().join("r/c/video/巡查录像.mp4")).unwrap() == big);
    // Mastering again gives byte-identical images.
    let sums: Vec<String> = images
        .iter()
        .map(|i| run(Command::new("sha256sum").arg(i)))
        .collect();
    let out2 = t.path().join("img2");
    ok(dv(&vault).args(["master", "--again", "--out"]).arg(&out2));
    for (img, sum) in images.iter().zip(&sums) {
        let again = run(Command::new("sha256sum").arg(out2.join(img.file_name().unwrap())));
        assert_eq!(
            again.split(' ').next(),
            sum.split(' ').next(),
            "{} differs when mastered again",
            img.display()
        );
    }
}

#[test]
fn a_file_larger_than_a_disc_deep_in_folders_splits_on_either_file_systems() {
    // Each part alone on its disc brings its three folders (in both ISO trees, and the UDF
    // one): the planner counts them, without recovery data to hide a short count.
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("c");
    let big: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
        .collect();
    write(&src.join("一/二/三/录像.mp4"), &big);
    for fs in ["bridge", "iso9660"] {
        let vault = t.path().join(format!("vault-{fs}"));
        ok(dv(&vault).arg("init"));
        ok(dv(&vault).arg("add").arg(&src));
        let (rc, plan) = json(dv(&vault).args([
            "plan",
            "--media",
            "custom:1048576",
            "--redundancy",
            "0",
            "--file-systems",
            fs,
        ]));
        assert_eq!(rc, 0, "{fs}: {plan}");
        let out = t.path().join(format!("img-{fs}"));
        ok(dv(&vault).arg("master").arg("--out").arg(&out));
        let to = t.path().join(format!("restored-{fs}"));
        let mut restore = dv(&vault);
        restore
            .args(["restore", "c", "--to"])
            .arg(&to)
            .arg("--from");
        for v in plan["volumes"].as_array().unwrap() {
            restore.arg(out.join(format!("{}.iso", v["volume_id"].as_str().unwrap())));
        }
        let (rc, r) = json(&mut restore);
        assert_eq!(rc, 0, "{fs}: {r}");
        assert_eq!(
            fs::read(to.join("c/一/二/三/录像.mp4")).unwrap(),
            big,
            "{fs}"
        );
    }
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("pattern in image")
}

#[test]
fn damage_names_the_right_files_and_exits_3() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("c");
    write(&src.join("a/first.txt"), &[b'A'; 5000]);
    write(&src.join("a/second.txt"), &[b'B'; 70000]);
    write(&src.join("b/third.txt"), &[b'C'; 3000]);
    let vault = t.path().join("vault");
    let out = t.path().join("img");
    let (rc, _) = archive(&vault, &src, "cd74", &out);
    assert_eq!(rc, 0);
    let img = out.join("DV-000001.iso");
    let (rc, clean) = json(dv(&vault).arg("verify").arg(&img));
    assert_eq!((rc, clean[0]["clean"].clone()), (0, Value::Bool(true)));

    // Flip bytes inside second.txt.
    let bad = t.path().join("bad.iso");
    let mut data = fs::read(&img).unwrap();
    let at = find(&data, &[b'B'; 64]);
    data[at + 100] ^= 0xFF;
    data[at + 60000] ^= 0x01;
    fs::write(&bad, &data).unwrap();
    let (rc, rep) = json(dv(&vault).arg("verify").arg(&bad));
    assert_eq!(rc, 3, "{rep}");
    let findings = rep[0]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{rep}");
    assert_eq!(findings[0]["disc_path"], "data/c/a/second.txt");
    assert_eq!(findings[0]["finding"], "changed");

    // Truncate inside the last file's data: exactly the files beyond the cut are named.
    let order = {
        let a = find(&data, &[b'A'; 64]);
        let b = find(&data, &[b'B'; 64]);
        let c = find(&data, &[b'C'; 64]);
        let mut v = vec![
            (a, "data/c/a/first.txt"),
            (b, "data/c/a/second.txt"),
            (c, "data/c/b/third.txt"),
        ];
        v.sort();
        v
    };
    let cut = order[1].0 + 10;
    let trunc = t.path().join("trunc.iso");
    fs::write(&trunc, &fs::read(&img).unwrap()[..cut]).unwrap();
    let (rc, rep) = json(dv(&vault).arg("verify").arg(&trunc));
    assert_eq!(rc, 3, "{rep}");
    let mut named: Vec<String> = rep[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["disc_path"].as_str().unwrap().to_string())
        .collect();
    named.sort();
    // The records after the cut, and what is laid out after every record: the recovery data
    // and the tag manifest; and the bridge's last UDF anchor (the image's last sector), which
    // leaves the UDF tree unreadable.
    let mut want: Vec<String> = order[1..].iter().map(|x| x.1.to_string()).collect();
    want.push("(file system: UDF)".into());
    want.push("(file system: descriptors, directories, padding)".into());
    want.push("recovery/DV-000001.par2".into());
    want.extend(
        named
            .iter()
            .filter(|n| n.starts_with("recovery/DV-000001.vol"))
            .cloned(),
    );
    want.push("tagmanifest-sha256.txt".into());
    want.sort();
    assert_eq!(named, want, "{rep}");
    assert_eq!(named.len(), order.len() - 1 + 5, "{rep}");
    assert!(rep[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["finding"] == "unreadable"));

    // Restore refuses damaged data and writes nothing for it.
    let to = t.path().join("r");
    let out = output(
        dv(&vault)
            .args(["restore", "c", "--to"])
            .arg(&to)
            .arg("--from")
            .arg(&bad),
    );
    assert_eq!(code(&out), 3);
    assert!(!to.join("c/a/second.txt").exists());
    assert_eq!(
        fs::read(to.join("c/a/first.txt")).unwrap(),
        vec![b'A'; 5000]
    );

    // The fixity checks are events in the catalog.
    assert_eq!(
        sql(
            &vault,
            "SELECT outcome FROM events WHERE event_type = 'fixity check' ORDER BY id"
        ),
        "success\nsuccess\nfailure\nfailure\n",
        "archive, clean verify, two damaged"
    );
}

#[test]
fn hostile_disc_records_cannot_write_outside_the_target() {
    let t = tempfile::tempdir().unwrap();
    let disc = t.path().join("disc");
    write(&disc.join("data/c/ok.txt"), b"fine");
    write(&disc.join("data/c/evil.txt"), b"evil");
    let sha = |d: &[u8]| {
        let out = Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        out.stdin.as_ref().unwrap().write_all(d).unwrap();
        let o = out.wait_with_output().unwrap();
        String::from_utf8_lossy(&o.stdout)[..64].to_string()
    };
    let entry = |collection: &str, path: &str, disc_path: &str, data: &[u8]| {
        serde_json::json!({"collection": collection, "path": path, "kind": "file", "disc_path": disc_path,
            "version": 1, "size": data.len(), "mtime": 0, "mode": 420, "digests": {"sha256": sha(data)}})
    };
    let rec = serde_json::json!({
        "format": "discvault-volume", "format_version": 1, "volume_id": "XX-000001", "seq": 1, "seq_count": 1,
        "plan_id": 1, "media": "cd74", "capacity_sectors": 333000, "created_at": "2026-01-01T00:00:00Z",
        "software": "crafted", "collections": [],
        "files": [
            entry("c", "ok.txt", "data/c/ok.txt", b"fine"),
            entry("c", "../../escaped.txt", "data/c/evil.txt", b"evil"),
            entry("c", "/tmp/absolute-escape.txt", "data/c/evil.txt", b"evil"),
            entry("..", "up.txt", "data/c/evil.txt", b"evil"),
            entry("c", "sub/../../../x.txt", "data/c/evil.txt", b"evil"),
            {"collection": "c", "path": "link", "kind": "symlink", "version": 1, "size": 0, "mtime": 0, "mode": 511,
             "link_target": "/etc", "digests": {}},
            entry("c", "link/passwd-copy", "data/c/evil.txt", b"evil"),
        ]
    });
    write(
        &disc.join("discvault/volume.json"),
        serde_json::to_string(&rec).unwrap().as_bytes(),
    );
    let target = t.path().join("inner/target");
    let out = output(
        Command::new(env!("CARGO_BIN_EXE_discvault"))
            .arg("--vault")
            .arg(t.path().join("novault"))
            .args(["restore", "--volume", "XX-000001", "--to"])
            .arg(&target)
            .arg("--from")
            .arg(&disc),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 1, "{stderr}");
    assert_eq!(fs::read(target.join("c/ok.txt")).unwrap(), b"fine");
    for refused in [
        "../../escaped.txt",
        "/tmp/absolute-escape.txt",
        "../up.txt",
        "sub/../../../x.txt",
    ] {
        assert!(stderr.contains(refused), "no error for {refused}: {stderr}");
    }
    assert!(!t.path().join("escaped.txt").exists() && !t.path().join("inner/escaped.txt").exists());
    assert!(!Path::new("/tmp/absolute-escape.txt").exists());
    assert!(!t.path().join("inner/up.txt").exists());
    // Files are restored before links, so no file goes through a link the disc made.
    assert!(!Path::new("/etc/passwd-copy").exists());
    let listed: Vec<String> = walk_all(t.path());
    assert!(
        listed.iter().all(|p| !p.ends_with("escaped.txt")
            && !p.ends_with("x.txt")
            && !p.ends_with("up.txt")),
        "{listed:?}"
    );
}

fn walk_all(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let ft = e.file_type().unwrap();
            out.push(e.path().display().to_string());
            if ft.is_dir() {
                stack.push(e.path());
            }
        }
    }
    out
}

#[test]
fn crafted_image_with_dotdot_names_restores_only_safe_files() {
    // An image whose Rock Ridge name is "..": the reader refuses the directory that holds it
    // (a damaged structure), restore and verify call it damage (exit 3) and never create the
    // hostile name; repair rebuilds the image from the catalog's layout, and the records are
    // restored from that.
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("c");
    write(&src.join("xx"), b"data of xx");
    write(&src.join("ok.txt"), b"ok");
    let vault = t.path().join("vault");
    let out = t.path().join("img");
    // ISO 9660 only: a bridge's UDF tree would give both records back whole (tests/udf.rs).
    ok(dv(&vault)
        .arg("archive")
        .arg(&src)
        .args(["--media", "cd74", "--file-systems", "iso9660", "--out"])
        .arg(&out));
    let img = out.join("DV-000001.iso");
    let mut data = fs::read(&img).unwrap();
    // Rock Ridge NM entry of "xx": 'N','M',len 7, version 1, flags 0, "xx".
    let at = find(&data, b"NM\x07\x01\x00xx");
    data[at + 5..at + 7].copy_from_slice(b"..");
    let bad = t.path().join("bad.iso");
    fs::write(&bad, &data).unwrap();
    let to = t.path().join("r");
    let o = output(
        dv(&vault)
            .args(["restore", "c", "--to"])
            .arg(&to)
            .arg("--from")
            .arg(&bad),
    );
    assert_eq!(code(&o), 3, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("'..'"));
    assert!(!to.join("c/xx").exists());
    assert_eq!(
        walk_all(t.path())
            .iter()
            .filter(|p| p.ends_with("/xx"))
            .count(),
        1,
        "only the source has xx"
    );
    let (rc, rep) = json(dv(&vault).arg("verify").arg(&bad));
    assert_eq!(rc, 3, "{rep}");
    let findings = rep[0]["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["disc_path"] == "(file system: directories)"
                && f["detail"].as_str().unwrap().contains("'..'")),
        "{rep}"
    );
    assert_eq!(rep[0]["repair"]["repairable"], true, "{rep}");
    let fixed = t.path().join("fixed");
    ok(dv(&vault).arg("repair").arg(&bad).arg("--to").arg(&fixed));
    assert_eq!(
        fs::read(fixed.join("DV-000001.iso")).unwrap(),
        fs::read(&img).unwrap()
    );
    ok(dv(&vault)
        .args(["restore", "c", "--to"])
        .arg(&to)
        .arg("--from")
        .arg(fixed.join("DV-000001.iso")));
    assert_eq!(fs::read(to.join("c/ok.txt")).unwrap(), b"ok");
    assert_eq!(fs::read(to.join("c/xx")).unwrap(), b"data of xx");
}

#[test]
fn ingest_handles_bad_input_and_versions() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("c");
    write(&src.join("a.txt"), b"one");
    write(&src.join("empty"), b"");
    std::os::unix::fs::symlink("a.txt", src.join("link")).unwrap();
    run(Command::new("mkfifo").arg(src.join("pipe")));
    let bad_name = std::ffi::OsStr::from_bytes(b"bad-\xff\xfe.txt");
    write(&src.join(bad_name), b"latin1 name");
    let vault = t.path().join("vault");
    ok(dv(&vault).arg("init"));
    let (rc, r) = json(dv(&vault).arg("add").arg(&src));
    assert_eq!(rc, 0, "{r}");
    assert_eq!(r["added"], 4);
    assert_eq!(r["links"], 1);
    assert!(r["skipped"][0]["path"].as_str().unwrap().ends_with("pipe"));
    assert!(r["warnings"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("UTF-8"));
    // Again: nothing changes.
    let (_, r) = json(dv(&vault).arg("add").arg(&src));
    assert_eq!(
        (r["added"].clone(), r["unchanged"].clone()),
        (Value::from(0), Value::from(4))
    );
    // A changed file becomes version 2.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    write(&src.join("a.txt"), b"two!");
    let (_, r) = json(dv(&vault).arg("add").arg(&src));
    assert_eq!(r["new_versions"], 1);
    let (_, found) = json(dv(&vault).args(["locate", "a.txt"]));
    assert_eq!(found[0]["version"], 2);
    assert_eq!(found[0]["state"], "unplanned");
    // Archive, restore: the non-UTF-8 name comes back byte-exact, the link as a link.
    let out = t.path().join("img");
    ok(dv(&vault).args(["plan", "--media", "cd74"]));
    ok(dv(&vault).arg("master").arg("--out").arg(&out));
    let to = t.path().join("r");
    ok(dv(&vault)
        .args(["restore", "c", "--to"])
        .arg(&to)
        .arg("--from")
        .arg(out.join("DV-000001.iso")));
    assert_eq!(
        fs::read(to.join("c").join(bad_name)).unwrap(),
        b"latin1 name"
    );
    assert_eq!(
        fs::read_link(to.join("c/link")).unwrap(),
        Path::new("a.txt")
    );
    assert_eq!(fs::read(to.join("c/a.txt")).unwrap(), b"two!");

    // A file that grows while it is read is refused, and nothing of it is recorded.
    let growing = t.path().join("g");
    let big = growing.join("growing.bin");
    write(&big, &vec![7u8; 256 << 20]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s2 = stop.clone();
    let b2 = big.clone();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let mut f = fs::OpenOptions::new().append(true).open(&b2).unwrap();
        while !s2.load(std::sync::atomic::Ordering::Relaxed) {
            f.write_all(&[1u8; 4096]).unwrap();
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    });
    let (rc, r) = json(dv(&vault).arg("add").arg(&growing));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    assert_eq!(rc, 1, "{r}");
    assert!(
        r["errors"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("growing.bin"),
        "{r}"
    );
    assert!(
        r["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("changed"),
        "{r}"
    );
    let (_, found) = json(dv(&vault).args(["locate", "growing"]));
    assert_eq!(found.as_array().unwrap().len(), 0);
}

#[test]
fn locate_by_short_chinese_digest_and_metadata() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("vault");
    ok(dv(&vault).arg("init"));
    ok(dv(&vault).arg("add").arg(sample()).args([
        "--meta",
        "fonds=J001",
        "--meta",
        "保管期限=永久",
        "--hash",
        "sm3,md5,blake3",
    ]));
    let (_, f) = json(dv(&vault).args(["locate", "纪"]));
    assert_eq!(f.as_array().unwrap().len(), 1, "{f}");
    assert_eq!(
        f[0]["path"],
        "全宗-J001/2024/卷001/文书-000002-会议纪要.txt"
    );
    let (_, f) = json(dv(&vault).args(["locate", "照片"]));
    assert_eq!(f.as_array().unwrap().len(), 2);
    let (_, f) = json(dv(&vault).args(["locate", "report 2024"]));
    assert_eq!(
        f.as_array().unwrap().len(),
        1,
        "case-insensitive for Latin letters"
    );
    let (_, f) = json(dv(&vault).args(["locate", "fonds=J001"]));
    assert_eq!(f.as_array().unwrap().len(), tree(&sample()).len());
    let (_, f) = json(dv(&vault).args(["locate", "保管期限=永久"]));
    assert_eq!(f.as_array().unwrap().len(), tree(&sample()).len());
    let data = fs::read(sample().join("城管执法案卷/2023/案卷-0001/目录.txt")).unwrap();
    let sha =
        run(Command::new("sha256sum").arg(sample().join("城管执法案卷/2023/案卷-0001/目录.txt")));
    let (_, f) = json(dv(&vault).args(["locate", &sha[..64]]));
    assert_eq!(f[0]["size"].as_u64(), Some(data.len() as u64));
    let md5 =
        run(Command::new("md5sum").arg(sample().join("城管执法案卷/2023/案卷-0001/目录.txt")));
    let (_, f) = json(dv(&vault).args(["locate", &md5[..32]]));
    assert_eq!(f.as_array().unwrap().len(), 1);
    // Every configured digest has its manifest on the disc, and bagit validates them all.
    let out = t.path().join("img");
    ok(dv(&vault).args(["plan", "--media", "cd74"]));
    ok(dv(&vault).arg("master").arg("--out").arg(&out));
    let x = t.path().join("x");
    extract_bsdtar(&out.join("DV-000001.iso"), &x);
    for alg in ["sha256", "sm3", "md5", "blake3"] {
        assert!(
            x.join(format!("manifest-{alg}.txt")).is_file(),
            "manifest-{alg}.txt"
        );
    }
    run(Command::new("md5sum")
        .arg("-c")
        .arg("manifest-md5.txt")
        .current_dir(&x));
    let info = fs::read_to_string(x.join("bag-info.txt")).unwrap();
    assert!(
        info.contains("Fonds: J001") && info.contains("保管期限: 永久"),
        "{info}"
    );
}

#[test]
fn master_refuses_a_source_changed_since_ingest() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("c");
    write(&src.join("a.txt"), b"original content");
    write(&src.join("b.txt"), b"other");
    let vault = t.path().join("vault");
    ok(dv(&vault).arg("init"));
    ok(dv(&vault).arg("add").arg(&src));
    ok(dv(&vault).args(["plan", "--media", "cd74"]));
    // Same size, same mtime, different bytes: only the hash can tell.
    let mtime = fs::metadata(src.join("a.txt")).unwrap().modified().unwrap();
    write(&src.join("a.txt"), b"ORIGINAL CONTENT");
    fs::File::options()
        .write(true)
        .open(src.join("a.txt"))
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let out = t.path().join("img");
    let o = output(dv(&vault).arg("master").arg("--out").arg(&out));
    assert_eq!(code(&o), 1);
    let err = String::from_utf8_lossy(&o.stderr);
    // Checked against the BLAKE3 taken at ingest beside the SHA-256.
    let blake3 = |data: &[u8]| blake3::hash(data).to_hex().to_string();
    assert!(
        err.contains("DV-000001")
            && err.contains("c/a.txt")
            && err.contains("digest mismatch")
            && err.contains(&format!("catalog blake3 {}", blake3(b"original content")))
            && err.contains(&format!("read blake3 {}", blake3(b"ORIGINAL CONTENT"))),
        "{err}"
    );
    assert_eq!(
        fs::read_dir(&out).unwrap().count(),
        0,
        "no image, not even a partial one"
    );
    let (_, s) = json(dv(&vault).arg("status"));
    assert_eq!(s["volumes"][0]["state"], "planned");
    assert_eq!(s["mastered"]["files"], 0);
    // A record of an older catalog, without BLAKE3, is checked against its SHA-256.
    sql(&vault, "UPDATE files SET blake3 = NULL");
    let o = output(dv(&vault).arg("master").arg("--out").arg(&out));
    assert_eq!(code(&o), 1);
    let err = String::from_utf8_lossy(&o.stderr);
    let sha = run(Command::new("sha256sum").arg(src.join("a.txt")));
    assert!(
        err.contains("c/a.txt") && err.contains(&format!("read sha256 {}", &sha[..64])),
        "{err}"
    );
    // The source as it was: mastered, every record checked against its BLAKE3 (none here:
    // the SHA-256 then), the disc carrying the manifests of the digests every file has.
    write(&src.join("a.txt"), b"original content");
    ok(dv(&vault).arg("master").arg("--out").arg(&out));
}

#[test]
fn the_discs_carry_a_blake3_manifest_that_b3sum_would_check() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("c");
    write(&src.join("a.txt"), b"original content");
    write(&src.join("卷/b.txt"), b"other");
    let vault = t.path().join("vault");
    ok(dv(&vault).arg("init"));
    ok(dv(&vault).arg("add").arg(&src));
    ok(dv(&vault).args(["plan", "--media", "cd74"]));
    let out = t.path().join("img");
    ok(dv(&vault).arg("master").arg("--out").arg(&out));
    let x = t.path().join("x");
    extract_bsdtar(&out.join("DV-000001.iso"), &x);
    let manifest = fs::read_to_string(x.join("manifest-blake3.txt")).unwrap();
    for (path, data) in [
        ("data/c/a.txt", &b"original content"[..]),
        ("data/c/卷/b.txt", b"other"),
    ] {
        let line = format!("{}  {path}", blake3::hash(data).to_hex());
        assert!(manifest.lines().any(|l| l == line), "{line}\n{manifest}");
        assert_eq!(fs::read(x.join(path)).unwrap(), data);
    }
    bagit_validate(&x);
}

#[test]
fn copy_stages_records_and_verify_reads_mounted_directories() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("removable");
    write(&src.join("卷1/a.txt"), b"on a USB stick");
    write(&src.join("卷1/b.bin"), &[9u8; 10000]);
    let vault = t.path().join("vault");
    ok(dv(&vault).arg("init"));
    ok(dv(&vault).arg("add").arg("--copy").arg(&src));
    // The source goes away; mastering reads the staged copies.
    fs::remove_dir_all(&src).unwrap();
    ok(dv(&vault).args(["plan", "--media", "cd74"]));
    let out = t.path().join("img");
    ok(dv(&vault).arg("master").arg("--out").arg(&out));
    // A disc mounted as a directory is verified like an image.
    let mnt = t.path().join("mnt");
    extract_bsdtar(&out.join("DV-000001.iso"), &mnt);
    let (rc, rep) = json(dv(&vault).arg("verify").arg(&mnt));
    assert_eq!(rc, 0, "{rep}");
    assert_eq!(rep[0]["files_ok"], 2);
    let f = mnt.join("data/removable/卷1/b.bin");
    let mut perm = fs::metadata(&f).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o644);
    fs::set_permissions(&f, perm).unwrap();
    fs::write(&f, [8u8; 10000]).unwrap();
    fs::write(mnt.join("data/removable/卷1/extra.txt"), b"not ours").unwrap();
    fs::remove_file(mnt.join("data/removable/卷1/a.txt")).unwrap();
    let (rc, rep) = json(dv(&vault).arg("verify").arg(&mnt));
    assert_eq!(rc, 3, "{rep}");
    let mut got: Vec<(String, String)> = rep[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["disc_path"].as_str().unwrap().starts_with("data/"))
        .map(|f| {
            (
                f["disc_path"].as_str().unwrap().to_string(),
                f["finding"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (
                "data/removable/卷1/a.txt".to_string(),
                "missing".to_string()
            ),
            (
                "data/removable/卷1/b.bin".to_string(),
                "changed".to_string()
            ),
            (
                "data/removable/卷1/extra.txt".to_string(),
                "extra".to_string()
            ),
        ]
    );
}

#[test]
fn snapshot_falls_back_to_the_volume_index_when_too_large() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("c");
    for i in 0..4000 {
        write(
            &src.join(format!("d{:02}/文件-{i:05}.txt", i / 100)),
            format!("{i:0>3000}").as_bytes(),
        );
    }
    let vault = t.path().join("vault");
    ok(dv(&vault).arg("init"));
    fs::write(
        vault.join("discvault.toml"),
        "[plan]\nindex_share_percent = 2.0\n",
    )
    .unwrap();
    ok(dv(&vault).arg("add").arg(&src));
    let (_, plan) = json(dv(&vault).args(["plan", "--media", "custom:8388608"]));
    let n = plan["volumes"].as_array().unwrap().len();
    assert!(n >= 2, "{n} volumes");
    let out = t.path().join("img");
    ok(dv(&vault).arg("master").arg("--out").arg(&out));
    let scope_of = |k: usize| {
        let x = t.path().join(format!("x{k}"));
        extract_bsdtar(&out.join(format!("DV-{k:06}.iso")), &x);
        let text = run(Command::new("gzip")
            .arg("-dc")
            .arg(x.join("discvault/catalog.jsonl.gz")));
        let header: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        let files = text
            .lines()
            .filter(|l| l.contains("\"type\":\"file\""))
            .count();
        let volumes = text
            .lines()
            .filter(|l| l.contains("\"type\":\"volume\""))
            .count();
        (
            header["scope"].as_str().unwrap().to_string(),
            files,
            volumes,
        )
    };
    // The budget is 2% of 8 MiB; the whole catalog (4,000 files) no longer fits on the last disc.
    let (last, files, volumes) = scope_of(n);
    assert_eq!(last, "index of all volumes; files of this volume only");
    assert_eq!(volumes, n);
    let own = plan["volumes"][n - 1]["items"].as_array().unwrap().len();
    assert_eq!(files, own);
}

#[test]
fn unreadable_files_and_folders_are_named_and_not_recorded() {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("c");
    write(&src.join("good.txt"), b"readable");
    write(&src.join("secret.txt"), b"no access");
    write(&src.join("locked/inner.txt"), b"inside a closed folder");
    fs::set_permissions(src.join("secret.txt"), fs::Permissions::from_mode(0o000)).unwrap();
    fs::set_permissions(src.join("locked"), fs::Permissions::from_mode(0o000)).unwrap();
    let vault = t.path().join("vault");
    ok(dv(&vault).arg("init"));
    // Root reads everything: run the ingest as an unprivileged user when the tests run as root.
    let root = run(Command::new("id").arg("-u")).trim() == "0";
    let mut cmd = if root {
        for p in [t.path(), &vault, &src] {
            fs::set_permissions(p, fs::Permissions::from_mode(0o777)).unwrap();
        }
        run(Command::new("chmod").arg("-R").arg("a+rwX").arg(&vault));
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_discvault"),
        ]);
        c.env_remove("DISCVAULT_VAULT").arg("--vault").arg(&vault);
        c
    } else {
        dv(&vault)
    };
    cmd.arg("add").arg(&src);
    let (rc, r) = json(&mut cmd);
    assert_eq!(rc, 1, "{r}");
    let errors: Vec<String> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["path"].as_str().unwrap(),
                e["reason"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("secret.txt") && e.contains("ermission denied")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("locked") && e.contains("ermission denied")),
        "{errors:?}"
    );
    assert_eq!(r["added"], 1);
    let (_, found) = json(dv(&vault).args(["locate", "secret"]));
    assert_eq!(found.as_array().unwrap().len(), 0);
    let (_, found) = json(dv(&vault).args(["locate", "good.txt"]));
    assert_eq!(found.as_array().unwrap().len(), 1);
    fs::set_permissions(src.join("locked"), fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn an_image_that_comes_out_different_when_mastered_again_does_not_replace_the_good_one() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("公文");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("通知.txt"), "关于加强安全生产工作的通知\n").unwrap();
    let vault = t.path().join("vault");
    let out = t.path().join("img");
    let (rc, r) = archive(&vault, &src, "dvd5", &out);
    assert_eq!(rc, 0, "{r}");
    let img = out.join("DV-000001.iso");
    let before = fs::read(&img).unwrap();
    // The catalog changed behind discvault's back: the image would carry another snapshot.
    sql(&vault, "UPDATE collections SET fonds = 'J999'");
    let o = output(dv(&vault).args(["master", "--again", "--out"]).arg(&out));
    assert_ne!(code(&o), 0);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("mastered again but the image differs"),
        "{err}"
    );
    assert!(
        fs::read(&img).unwrap() == before,
        "the good image was replaced"
    );
    // Nothing is left behind in the output folder but the good image.
    let names: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("DV-000001.iso")]);
}
