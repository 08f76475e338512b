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
    build_with(dir, names, extra, false)
}

/// An image of `names` (and `extra` entries), with a UDF bridge when `udf`.
fn build_with(
    dir: &Path,
    names: &[Vec<u8>],
    extra: Vec<Entry>,
    udf: bool,
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
        udf,
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

/// A symbolic link entry.
fn link(path: &str, target: &str) -> Entry {
    Entry {
        path: path.as_bytes().to_vec(),
        kind: EntryKind::Symlink {
            target: target.as_bytes().to_vec(),
        },
        mode: 0o777,
        mtime: 1_700_000_000,
    }
}

#[test]
fn our_reader_reads_names_modes_and_data() {
    let t = tempfile::tempdir().unwrap();
    let extra = vec![
        link("links/abs", "/etc/passwd"),
        link("links/rel", "../Records 2024/Case.txt"),
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

/// Names only UDF keeps whole: longer than Joliet's 103 characters, or with characters Joliet
/// cannot hold; and two that even UDF must shorten (its identifiers hold 254 8-bit characters,
/// or 127 UTF-16 units).
fn udf_names() -> (Vec<Vec<u8>>, Vec<u8>, Vec<u8>) {
    let mut names = tricky_names();
    // A record title of 110 Chinese characters with its 文号 and an attachment note: 330
    // bytes would be too long for a file name, so 80 characters (240 bytes) and ".pdf".
    let title = format!(
        "题名/{}（京档发〔2024〕12号）附件.pdf",
        "关于做好二〇二四年度文书档案整理归档工作的通知".repeat(3)
    );
    names.push(title.into_bytes());
    names.push("Records 2024/semi;colon*star?.txt".into());
    // NAME_MAX (255 bytes) in Chinese (85 characters) and in emoji (63, 126 UTF-16 units):
    // whole in UDF; NFC and NFD twins, which UDF keeps apart.
    names.push(format!("max/{}", "档".repeat(85)).into_bytes());
    names.push(format!("max/{}", "😀".repeat(63)).into_bytes());
    names.push("twins/caf\u{e9}.txt".into());
    names.push("twins/cafe\u{301}.txt".into());
    let ascii255 = format!("long/{}", "x".repeat(251) + ".txt");
    let mixed = format!("long/{}{}.dat", "a".repeat(100), "档".repeat(50));
    names.push(ascii255.clone().into_bytes());
    names.push(mixed.clone().into_bytes());
    (names, ascii255.into_bytes(), mixed.into_bytes())
}

/// A symbolic link (Rock Ridge's only) and an empty folder, beside the names of a bridge.
fn link_and_empty_folder() -> Vec<Entry> {
    vec![
        link("links/rel", "../Records 2024/Case.txt"),
        Entry {
            path: "空目录".as_bytes().to_vec(),
            kind: EntryKind::Dir,
            mode: 0o755,
            mtime: 1_700_000_000,
        },
    ]
}

/// `7z l -slt` of an image: the archive's properties and each item's Path and Size.
fn sevenzip_listing(img: &Path) -> String {
    run(Command::new("7z").args(["l", "-slt"]).arg(img))
}

#[test]
fn sevenzip_reads_the_udf_bridge_with_every_name_whole() {
    let t = tempfile::tempdir().unwrap();
    let (names, ascii255, mixed) = udf_names();
    let extra = link_and_empty_folder();
    let (img, mut expected) = build_with(t.path(), &names, extra, true);
    // 7-Zip opens the UDF tree (it falls back to ISO 9660, silently, when any UDF structure
    // is wrong).
    let listing = sevenzip_listing(&img);
    assert!(listing.contains("Type = Udf"), "{listing}");
    let out = t.path().join("x");
    testkit::extract_7z(&img, &out);
    assert!(out.join("空目录").is_dir(), "the empty directory");
    assert!(
        !out.join("links/rel").exists(),
        "links are Rock Ridge's only"
    );
    let mut got = tree(&out);
    // Shortened deterministically to UDF's limit, the extension kept.
    let short = |long: &[u8], got: &mut BTreeMap<Vec<u8>, Vec<u8>>| -> (Vec<u8>, Vec<u8>) {
        let dir = &long[..5];
        let ext = &long[long.len() - 4..];
        let k = got
            .keys()
            .find(|k| k.starts_with(dir) && k.ends_with(ext) && long.starts_with(&k[..k.len() - 4]))
            .unwrap_or_else(|| panic!("no shortened {:?}", String::from_utf8_lossy(long)))
            .clone();
        let v = got.remove(&k).unwrap();
        (k, v)
    };
    let (k, v) = short(&ascii255, &mut got);
    assert_eq!(k.len() - 5, 254, "254 8-bit characters");
    assert_eq!(v, expected.remove(&ascii255).unwrap());
    let (k, v) = short(&mixed, &mut got);
    let units = String::from_utf8(k[5..].to_vec())
        .unwrap()
        .encode_utf16()
        .count();
    assert_eq!(units, 127, "127 UTF-16 units");
    assert_eq!(v, expected.remove(&mixed).unwrap());
    // Every other name whole: the 200-byte ones, the long title, ';', '*' and '?'.
    assert_same("7z (UDF)", &got, &expected);
    // The ISO 9660 view is still there, Joliet names and all.
    let iso = run(Command::new("7z").args(["l", "-tiso", "-slt"]).arg(&img));
    assert!(iso.contains("Type = Iso"), "{iso}");
}

#[test]
fn udfinfo_reads_the_bridge_and_iso_readers_its_unchanged_iso_tree() {
    let t = tempfile::tempdir().unwrap();
    let (names, _, _) = udf_names();
    let (img, expected) = build_with(t.path(), &names, vec![], true);
    let info = run(Command::new("udfinfo").arg(&img));
    let field = |k: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("udfinfo lacks {k}: {info}"))
            .to_string()
    };
    assert_eq!(field("udfrev"), "1.02");
    assert_eq!(field("integrity"), "closed");
    assert_eq!(field("accesstype"), "readonly");
    assert_eq!(field("label"), "DV-000001");
    assert_eq!(field("fsid"), "DV-000001", "the file set is named too");
    assert_eq!(field("numfiles"), expected.len().to_string());
    let dirs: std::collections::BTreeSet<&[u8]> = expected
        .keys()
        .flat_map(|k| {
            k.iter()
                .enumerate()
                .filter(|(_, &b)| b == b'/')
                .map(|(i, _)| &k[..i])
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(field("numdirs"), (dirs.len() + 1).to_string());
    // Rock Ridge through xorriso and bsdtar, byte for byte; isoinfo sees every name.
    let out = t.path().join("x");
    testkit::extract_xorriso(&img, &out);
    assert_same("xorriso (bridge)", &tree(&out), &expected);
    let out = t.path().join("b");
    testkit::extract_bsdtar(&img, &out);
    assert_same("bsdtar (bridge)", &tree(&out), &expected);
    let listing = run(Command::new("isoinfo").args(["-R", "-f", "-i"]).arg(&img));
    for name in expected.keys() {
        let want = format!("/{}", String::from_utf8_lossy(name));
        assert!(listing.lines().any(|l| l == want), "isoinfo lacks {want}");
    }
    let check = run(Command::new("xorriso")
        .arg("-indev")
        .arg(&img)
        .args(["-check_media", "--"]));
    assert!(
        check.contains("+ good") && !check.contains("- unreadable"),
        "{check}"
    );
    // Our own reader still reads the ISO 9660 tree.
    let mut r = IsoReader::open(fs::File::open(&img).unwrap()).unwrap();
    let files = r
        .entries()
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.kind, IsoEntryKind::File))
        .count();
    assert_eq!(files, expected.len());
}

#[test]
fn a_bridge_is_deterministic_and_shares_the_file_data() {
    let t1 = tempfile::tempdir().unwrap();
    let t2 = tempfile::tempdir().unwrap();
    let (names, _, _) = udf_names();
    let (a, expected) = build_with(t1.path(), &names, vec![], true);
    let (b, _) = build_with(t2.path(), &names, vec![], true);
    let (a, b) = (fs::read(a).unwrap(), fs::read(b).unwrap());
    assert!(a == b, "the same spec, the same bytes");
    // No byte of a record twice: the bridge is the ISO-only image's size plus the UDF
    // structures (fixed sectors, a block per directory and per file, the identifiers).
    let t3 = tempfile::tempdir().unwrap();
    let (iso_only, _) = build(t3.path(), &names, vec![]);
    let data: u64 = expected
        .values()
        .map(|v| (v.len() as u64).div_ceil(2048))
        .sum();
    let extra = a.len() as u64 - fs::metadata(iso_only).unwrap().len();
    assert!(
        extra < 2048 * (260 + 3 * expected.len() as u64),
        "{extra} bytes of UDF for {} files ({data} data sectors)",
        expected.len()
    );
    // The anchor is in sector 256 and in the last sector.
    assert_eq!(&a[256 * 2048..256 * 2048 + 2], &[2, 0]);
    assert_eq!(&a[a.len() - 2048..a.len() - 2046], &[2, 0]);
}

/// Keeps the first `limit` bytes written, and counts the rest.
struct Head {
    kept: Vec<u8>,
    limit: usize,
    total: u64,
}

impl std::io::Write for Head {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = self.limit.saturating_sub(self.kept.len()).min(buf.len());
        self.kept.extend_from_slice(&buf[..room]);
        self.total += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_file_over_a_gibibyte_gets_one_udf_extent_per_gibibyte_over_the_same_sectors() {
    // 2.5 GiB: the UDF entry needs three allocation descriptors (at most 2^30 - 2048 bytes
    // each); ISO 9660 needs one extent. Only the first megabytes of the image are kept.
    let size: u64 = (5 << 30) / 2;
    let spec = ImageSpec {
        volume_id: "BIG".into(),
        created: 1_700_000_000,
        entries: vec![Entry {
            path: b"big.bin".to_vec(),
            kind: EntryKind::File { size },
            mode: 0o644,
            mtime: 1_700_000_000,
        }],
        udf: true,
        ..Default::default()
    };
    let layout = Layout::new(&spec).unwrap();
    let mut head = Head {
        kept: Vec::new(),
        limit: 1 << 20,
        total: 0,
    };
    let zeros = vec![0u8; 1 << 20];
    layout
        .write(&mut head, &mut |_, w| {
            let mut left = size;
            while left > 0 {
                let n = left.min(zeros.len() as u64) as usize;
                w.write_all(&zeros[..n])?;
                left -= n as u64;
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(head.total, layout.total_bytes());
    let first = layout.file_lbas()[&0];
    // The file's entry: the block with tag 261 whose information length is the size.
    let le32 = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let fe = (257..first as usize)
        .map(|s| &head.kept[s * 2048..(s + 1) * 2048])
        .find(|b| b[0..2] == [5, 1] && u64::from_le_bytes(b[56..64].try_into().unwrap()) == size)
        .expect("the file entry");
    assert_eq!(le32(fe, 172), 24, "three short allocation descriptors");
    let ads: Vec<(u32, u32)> = (0..3)
        .map(|i| (le32(fe, 176 + 8 * i), le32(fe, 180 + 8 * i)))
        .collect();
    let max = 0x3FFF_F800u32;
    assert_eq!(
        ads,
        [
            (max, first - 257),
            (max, first - 257 + max / 2048),
            (
                (size - 2 * max as u64) as u32,
                first - 257 + 2 * (max / 2048)
            ),
        ]
    );
}

/// A file's size and data extents (first sector, bytes).
type FileAt = (u64, Vec<(u32, u64)>);

#[test]
fn our_udf_reader_lists_the_same_files_over_the_same_sectors_as_the_iso_tree() {
    let t = tempfile::tempdir().unwrap();
    let (names, ascii255, mixed) = udf_names();
    let extra = vec![link("links/rel", "../Records 2024/Case.txt")];
    let (img, expected) = build_with(t.path(), &names, extra, true);
    let mut iso = IsoReader::open(fs::File::open(&img).unwrap()).unwrap();
    let by_path = |entries: Vec<isoimage::IsoEntry>| -> BTreeMap<Vec<u8>, FileAt> {
        entries
            .into_iter()
            .filter(|e| e.kind == IsoEntryKind::File)
            .map(|e| (e.path_bytes(), (e.size, e.extents)))
            .collect()
    };
    let mut iso_files = by_path(iso.entries().unwrap());
    let mut udf = isoimage::UdfReader::open(fs::File::open(&img).unwrap())
        .unwrap()
        .expect("a UDF volume");
    assert_eq!(udf.volume_id(), "DV-000001");
    let udf_entries = udf.entries().unwrap();
    assert!(udf_entries
        .iter()
        .all(|e| !matches!(e.kind, IsoEntryKind::Symlink(_))));
    let mut udf_files = by_path(udf_entries);
    assert_eq!(udf_files.len(), expected.len());
    // The two names UDF shortened hold the same sectors as their ISO 9660 records.
    for long in [&ascii255, &mixed] {
        let (size, iso_ext) = iso_files.remove(long).unwrap();
        let short = udf_files
            .iter()
            .find(|(_, v)| v.0 == size && v.1.first() == iso_ext.first())
            .map(|(k, _)| k.clone())
            .expect("the shortened name");
        assert_ne!(&short, long);
        udf_files.remove(&short);
    }
    // Every other file: the same name, size and first sector (UDF cuts extents at 1 GiB,
    // ISO 9660 at 4 GiB: these are small).
    assert_eq!(udf_files, iso_files);
    // An image without UDF has none.
    let t2 = tempfile::tempdir().unwrap();
    let (plain, _) = build(t2.path(), &names, vec![]);
    assert!(isoimage::UdfReader::open(fs::File::open(&plain).unwrap())
        .unwrap()
        .is_none());
}

/// The bytes of a bridge image are a promise: `repair` and `master --again` of every volume of
/// format version 3 must give them again, on any machine, with any later discvault. A change
/// of this digest is a change of the on-disc format (a new version in docs/FORMAT.md), never
/// a test to update.
#[test]
fn a_bridge_image_has_the_bytes_of_format_3() {
    let t = tempfile::tempdir().unwrap();
    let (names, _, _) = udf_names();
    let extra = link_and_empty_folder();
    let (img, expected) = build_with(t.path(), &names, extra, true);
    assert!(expected.values().any(|v| v.is_empty()), "an empty file");
    let sha = run(Command::new("sha256sum").arg(&img));
    assert_eq!(
        &sha[..64],
        "f4df190dca520a6f80359b44abb978f3f4b6adc2f3b00fd7e2f3bfb9b1064ce3"
    );
}
