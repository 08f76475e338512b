//! Normal archive input that is large: 100,000 small files, and a 5 GiB file (sparse on the
//! source disk) that is split across two DVDs or written as a multi-extent file on a BD.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::*;

mod common;
use common::{archive, dv, json, sparse_5g};

#[test]
fn hundred_thousand_small_files() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("c");
    for i in 0..100_000u32 {
        let d = src.join(format!("{:03}/卷{:02}", i % 250, i % 7));
        if i < 250 * 7 {
            fs::create_dir_all(&d).unwrap();
        }
        fs::write(d.join(format!("文件-{i:06}.txt")), format!("record {i}\n")).unwrap();
    }
    let vault = t.path().join("vault");
    let out = t.path().join("img");
    let (rc, r) = archive(&vault, &src, "dvd5", &out);
    assert_eq!(rc, 0, "{}", r["verify"]);
    assert_eq!(r["add"]["added"], 100_000);
    assert_eq!(r["verify"][0]["files_ok"], 100_000);
    let img = out.join("DV-000001.iso");
    // libarchive and xorriso see every file, with the right names.
    let listing = run(Command::new("bsdtar").arg("-tf").arg(&img));
    let files: Vec<&str> = listing
        .lines()
        .filter(|l| l.starts_with("data/c/") && l.ends_with(".txt"))
        .collect();
    assert_eq!(files.len(), 100_000);
    assert!(
        files.contains(&"data/c/249/卷04/文件-099999.txt"),
        "last file listed"
    );
    let found = run(Command::new("xorriso")
        .arg("-indev")
        .arg(&img)
        .args(["-find", "/data", "-type", "f"]));
    assert_eq!(
        found.lines().filter(|l| l.starts_with('\'')).count(),
        100_000
    );
    let x = t.path().join("x");
    extract_bsdtar(&img, &x);
    assert_same_tree("bsdtar", &subtree(&tree(&x), b"data/c"), &tree(&src));
    bagit_validate(&x);
}

/// Bytes a file takes on disk.
fn on_disk(p: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(p).unwrap().blocks() * 512
}

fn sha256_of(p: &Path) -> String {
    run(Command::new("sha256sum").arg(p))[..64].to_string()
}

#[test]
fn five_gib_file_split_across_dvds_and_multi_extent_on_bd() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("v");
    let big = src.join("巡查录像.mp4");
    sparse_5g(&big);
    fs::write(src.join("small.txt"), "small").unwrap();
    let want = sha256_of(&big);

    // Two DVDs: the file is split in parts that restore joins.
    let vault = t.path().join("vault");
    let out = t.path().join("dvd");
    let (rc, r) = archive(&vault, &src, "dvd5", &out);
    assert_eq!(rc, 0, "{}", r["verify"]);
    let images: Vec<PathBuf> = r["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| PathBuf::from(i["image"].as_str().unwrap()))
        .collect();
    assert_eq!(images.len(), 2);
    // Blocks of zeros stay holes: the images take only the disk their data and metadata need.
    for i in &images {
        assert!(
            on_disk(i) < 64 << 20,
            "{} takes {} bytes",
            i.display(),
            on_disk(i)
        );
    }
    let to = t.path().join("r");
    let mut cmd = dv(&vault);
    cmd.args(["restore", "v/巡查录像.mp4", "--to"])
        .arg(&to)
        .arg("--from")
        .args(&images);
    let (rc, rep) = json(&mut cmd);
    assert_eq!(rc, 0, "{rep}");
    let restored = to.join("v/巡查录像.mp4");
    assert_eq!(sha256_of(&restored), want);
    assert!(on_disk(&restored) < 1 << 20, "restored sparse");
    fs::remove_dir_all(&to).unwrap();
    for i in &images {
        fs::remove_file(i).unwrap();
    }

    // One BD-R: a multi-extent file that other readers see whole.
    let vault = t.path().join("vault-bd");
    let out = t.path().join("bd");
    let (rc, r) = archive(&vault, &src, "bd25", &out);
    assert_eq!(rc, 0, "{}", r["verify"]);
    let img = out.join("DV-000001.iso");
    let listing = run(Command::new("bsdtar").arg("-tvf").arg(&img));
    let line = listing
        .lines()
        .find(|l| l.ends_with("data/v/巡查录像.mp4"))
        .expect("listed by bsdtar");
    assert!(
        line.contains(&(5u64 << 30).to_string()),
        "bsdtar size: {line}"
    );
    let x = t.path().join("x");
    extract_xorriso(&img, &x);
    assert_eq!(
        sha256_of(&x.join("data/v/巡查录像.mp4")),
        want,
        "xorriso extraction"
    );
    fs::remove_dir_all(&x).unwrap();
    let z = run(Command::new("7z").args(["l", "-slt"]).arg(&img));
    assert!(
        z.contains(&format!("Size = {}", 5u64 << 30)),
        "7z sees the whole file"
    );
    let to = t.path().join("r2");
    let (rc, rep) = json(
        dv(&vault)
            .args(["restore", "v", "--to"])
            .arg(&to)
            .arg("--from")
            .arg(&img),
    );
    assert_eq!(rc, 0, "{rep}");
    assert_eq!(sha256_of(&to.join("v/巡查录像.mp4")), want);
}
