//! Images written by `isoimage` are read back by readers we did not write: xorriso, isoinfo,
//! 7z and bsdtar, and by our own reader; every extracted tree is compared byte for byte.

use isoimage::{Entry, EntryKind, ImageSpec, IsoEntryKind, IsoReader, Layout};
use std::collections::BTreeMap;
use std::fs;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Deterministic content for a file.
fn content(i: usize) -> Vec<u8> {
    let n = (i * 7919) % 9000 + if i.is_multiple_of(5) { 0 } else { 1 };
    (0..n).map(|k| ((k * 31 + i * 17) % 251) as u8).collect()
}

fn tricky_names() -> Vec<Vec<u8>> {
    let mut names: Vec<Vec<u8>> = vec![
        "全宗-J001/2024/卷001/文书-000001-report.pdf".into(),
        "全宗-J001/2024/卷001/扫描件 第1页.tif".into(),
        "全宗-J001/说明.txt".into(),
        "Records 2024/a b$c;&'\"(x)!#.txt".into(),
        "Records 2024/Case.txt".into(),
        "Records 2024/case.txt".into(),
        "Records 2024/CASE.TXT".into(),
        "Records 2024/empty".into(),
        "Records 2024/.hidden".into(),
        "Records 2024/no_ext_very_long_name_without_any_dot_at_all_and_more".into(),
        "Records 2024/many.dots.in.this.name.tar.gz".into(),
        "d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/deep-文件.txt".into(),
        "城管执法案卷/😀 emoji 名称.txt".into(),
    ];
    // 200-byte names: ASCII and Chinese (66 characters of 3 bytes + 2 bytes).
    let ascii200 = format!("long/{}", "n".repeat(196) + ".txt");
    names.push(ascii200.into_bytes());
    let cjk200 = format!("long/{}ab", "档".repeat(66));
    assert_eq!(cjk200.len() - 5, 200);
    names.push(cjk200.into_bytes());
    for i in 0..40 {
        names.push(format!("many/file-{i:03}.dat").into_bytes());
    }
    names
}

fn build(
    dir: &Path,
    names: &[Vec<u8>],
    extra: Vec<Entry>,
) -> (PathBuf, BTreeMap<Vec<u8>, Vec<u8>>) {
    let mut entries = Vec::new();
    let mut expected = BTreeMap::new();
    for (i, n) in names.iter().enumerate() {
        let data = content(i);
        entries.push(Entry {
            path: n.clone(),
            kind: EntryKind::File {
                size: data.len() as u64,
            },
            mode: 0o644,
            mtime: 1_700_000_000 + i as i64,
        });
        expected.insert(n.clone(), data);
    }
    entries.extend(extra);
    let spec = ImageSpec {
        volume_id: "DV-000001".into(),
        volume_set_id: "test".into(),
        publisher: "discvault".into(),
        preparer: "discvault".into(),
        application: "discvault isoimage tests".into(),
        created: 1_700_000_000,
        entries,
    };
    let layout = Layout::new(&spec).unwrap();
    let img = dir.join("t.iso");
    let mut f = BufWriter::new(fs::File::create(&img).unwrap());
    let exp = expected.clone();
    let stats = layout
        .write(&mut f, &mut |i, w| {
            w.write_all(&exp[&spec.entries[i].path])?;
            Ok(())
        })
        .unwrap();
    drop(f);
    assert_eq!(stats.bytes, layout.total_bytes());
    assert_eq!(fs::metadata(&img).unwrap().len(), layout.total_bytes());
    (img, expected)
}

use testkit::{assert_same_tree as assert_same, run, tree};

#[test]
fn our_reader_reads_names_modes_and_data() {
    let t = tempfile::tempdir().unwrap();
    let extra = vec![
        Entry {
            path: b"links/abs".to_vec(),
            kind: EntryKind::Symlink {
                target: b"/etc/passwd".to_vec(),
            },
            mode: 0o777,
            mtime: 1_700_000_000,
        },
        Entry {
            path: b"links/rel".to_vec(),
            kind: EntryKind::Symlink {
                target: b"../Records 2024/Case.txt".to_vec(),
            },
            mode: 0o777,
            mtime: 1_700_000_000,
        },
        Entry {
            path: b"bad-utf8-\xff\xfe.bin".to_vec(),
            kind: EntryKind::File { size: 0 },
            mode: 0o600,
            mtime: 1_700_000_000,
        },
    ];
    let mut names = tricky_names();
    let (img, mut expected) = build(t.path(), &names, extra);
    expected.insert(b"bad-utf8-\xff\xfe.bin".to_vec(), vec![]);
    names.push(b"bad-utf8-\xff\xfe.bin".to_vec());
    let mut r = IsoReader::open(fs::File::open(&img).unwrap()).unwrap();
    assert_eq!(r.volume_id(), "DV-000001");
    let entries = r.entries().unwrap();
    let mut got = BTreeMap::new();
    for e in &entries {
        match &e.kind {
            IsoEntryKind::File => {
                let mut buf = Vec::new();
                r.read_file(e, &mut buf).unwrap();
                got.insert(e.path_bytes(), buf);
                assert_eq!(
                    e.mode.unwrap() & 0o7777,
                    if e.path_bytes().starts_with(b"bad") {
                        0o600
                    } else {
                        0o644
                    }
                );
            }
            IsoEntryKind::Symlink(t) => {
                let want: &[u8] = if e.path_bytes().ends_with(b"abs") {
                    b"/etc/passwd"
                } else {
                    b"../Records 2024/Case.txt"
                };
                assert_eq!(t, want);
            }
            IsoEntryKind::Dir => {}
        }
    }
    assert_same("isoimage reader", &got, &expected);
    let deep = entries
        .iter()
        .find(|e| e.path_bytes().ends_with("deep-文件.txt".as_bytes()))
        .unwrap();
    assert_eq!(deep.mtime, Some(1_700_000_000 + 11));
}

#[test]
fn xorriso_extracts_identical_tree() {
    let t = tempfile::tempdir().unwrap();
    let (img, expected) = build(t.path(), &tricky_names(), vec![]);
    let out = t.path().join("x");
    run(Command::new("xorriso")
        .args(["-abort_on", "FAILURE", "-osirrox", "on", "-indev"])
        .arg(&img)
        .args(["-extract", "/"])
        .arg(&out));
    assert_same("xorriso", &tree(&out), &expected);
    // -find lists every file, and the image passes xorriso's own check of every block.
    let listing = run(Command::new("xorriso")
        .arg("-indev")
        .arg(&img)
        .args(["-find", "/", "-type", "f"]));
    assert_eq!(
        listing.lines().filter(|l| l.starts_with('\'')).count(),
        expected.len()
    );
    let check = Command::new("xorriso")
        .arg("-indev")
        .arg(&img)
        .args(["-check_media", "--"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(text.contains("+ good"), "check_media: {text}");
    assert!(!text.contains("- unreadable"), "check_media: {text}");
}

#[test]
fn bsdtar_extracts_identical_tree() {
    let t = tempfile::tempdir().unwrap();
    let (img, expected) = build(t.path(), &tricky_names(), vec![]);
    let out = t.path().join("x");
    fs::create_dir(&out).unwrap();
    run(Command::new("bsdtar")
        .arg("-xf")
        .arg(&img)
        .arg("-C")
        .arg(&out));
    assert_same("bsdtar", &tree(&out), &expected);
}

#[test]
fn sevenzip_extracts_identical_tree() {
    let t = tempfile::tempdir().unwrap();
    // 7-Zip shows Joliet names, which hold up to 103 characters: the 200-byte ASCII name is
    // shortened there (Rock Ridge keeps it), so it is checked separately below.
    let names = tricky_names();
    let (img, mut expected) = build(t.path(), &names, vec![]);
    let out = t.path().join("x");
    run(Command::new("7z")
        .arg("x")
        .arg("-y")
        .arg(format!("-o{}", out.display()))
        .arg(&img));
    let got = tree(&out);
    let long_ascii: Vec<u8> = format!("long/{}", "n".repeat(196) + ".txt").into_bytes();
    let long_data = expected.remove(&long_ascii).unwrap();
    // Joliet does not allow ';' in names: it is shown as '_'.
    let semi: Vec<u8> = "Records 2024/a b$c;&'\"(x)!#.txt".into();
    let semi_data = expected.remove(&semi).unwrap();
    expected.insert("Records 2024/a b$c_&'\"(x)!#.txt".into(), semi_data);
    let mut got2 = got.clone();
    let shortened: Vec<Vec<u8>> = got
        .keys()
        .filter(|k| k.starts_with(b"long/nnn"))
        .cloned()
        .collect();
    assert_eq!(shortened.len(), 1, "one shortened Joliet name");
    assert!(shortened[0].ends_with(b".txt") && shortened[0].len() <= 5 + 103);
    assert_eq!(got2.remove(&shortened[0]).unwrap(), long_data);
    assert_same("7z", &got2, &expected);
}

#[test]
fn isoinfo_lists_rock_ridge_and_joliet_names() {
    let t = tempfile::tempdir().unwrap();
    let (img, expected) = build(t.path(), &tricky_names(), vec![]);
    let listing = run(Command::new("isoinfo").args(["-R", "-f", "-i"]).arg(&img));
    for name in expected.keys() {
        let want = format!("/{}", String::from_utf8_lossy(name));
        assert!(
            listing.lines().any(|l| l == want),
            "isoinfo -R -f lacks {want}\n{listing}"
        );
    }
    // Extract a few files by their Rock Ridge path and compare.
    for name in expected.keys().take(6) {
        let path = format!("/{}", String::from_utf8_lossy(name));
        let out = Command::new("isoinfo")
            .args(["-R", "-i"])
            .arg(&img)
            .args(["-x", &path])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, expected[name], "isoinfo -x {path}");
    }
    let joliet = run(Command::new("isoinfo").args(["-J", "-f", "-i"]).arg(&img));
    // isoinfo shows non-Latin Joliet characters as '_' (7z checks them above); it keeps ";1".
    assert!(
        joliet.lines().any(|l| l == "/Records 2024/Case.txt;1"),
        "{joliet}"
    );
    assert_eq!(
        joliet.lines().filter(|l| l.ends_with(";1")).count(),
        expected.len()
    );
    // isoinfo -d shows the volume id and both extensions.
    let d = run(Command::new("isoinfo").args(["-d", "-i"]).arg(&img));
    assert!(d.contains("Volume id: DV-000001"), "{d}");
    assert!(d.contains("Rock Ridge signatures version 1 found"), "{d}");
    assert!(d.contains("Joliet with UCS level 3 found"), "{d}");
}

#[test]
fn writing_is_deterministic() {
    let t1 = tempfile::tempdir().unwrap();
    let t2 = tempfile::tempdir().unwrap();
    let (a, _) = build(t1.path(), &tricky_names(), vec![]);
    let (b, _) = build(t2.path(), &tricky_names(), vec![]);
    assert!(fs::read(a).unwrap() == fs::read(b).unwrap());
}

#[test]
fn many_files_in_one_directory_and_wrong_source_size() {
    let t = tempfile::tempdir().unwrap();
    let names: Vec<Vec<u8>> = (0..3000)
        .map(|i| format!("big/文件-{i:05}.txt").into_bytes())
        .collect();
    let (img, expected) = build(t.path(), &names, vec![]);
    let out = t.path().join("x");
    fs::create_dir(&out).unwrap();
    run(Command::new("bsdtar")
        .arg("-xf")
        .arg(&img)
        .arg("-C")
        .arg(&out));
    assert_same("bsdtar 3000", &tree(&out), &expected);

    // A source that gives fewer bytes than declared is an error naming the file.
    let spec = ImageSpec {
        volume_id: "X".into(),
        entries: vec![Entry {
            path: b"a/b.txt".to_vec(),
            kind: EntryKind::File { size: 10 },
            mode: 0o644,
            mtime: 0,
        }],
        ..Default::default()
    };
    let layout = Layout::new(&spec).unwrap();
    let err = layout
        .write(&mut std::io::sink(), &mut |_, w| w.write_all(b"short"))
        .unwrap_err();
    assert!(err.to_string().contains("a/b.txt"), "{err}");
}
