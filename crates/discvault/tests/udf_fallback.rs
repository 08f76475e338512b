//! A bridge disc whose ISO 9660 tree is damaged is still read, through its UDF tree, under its
//! files' real names: those UDF shortened are found again through the volume record.

use discvault::source::{self, DiscSource};
use isoimage::{Entry, EntryKind, ImageSpec, IsoReader, Layout, UdfReader};
use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

const S: usize = 2048;

/// A record on the disc: its path in the collection (raw) and its part of a split file.
struct Record {
    path: Vec<u8>,
    part: Option<(u32, u32)>,
}

fn records() -> Vec<Record> {
    let whole = |p: &[u8]| Record {
        path: p.to_vec(),
        part: None,
    };
    vec![
        whole("说明.txt".as_bytes()),
        // 255 bytes: whole in UDF (85 UTF-16 units).
        whole("档".repeat(85).as_bytes()),
        // 255 bytes of ASCII, and Chinese with ASCII (154 units): shortened in UDF.
        whole(("x".repeat(251) + ".txt").as_bytes()),
        whole(format!("{}{}.dat", "a".repeat(100), "档".repeat(50)).as_bytes()),
        // The second one's name is the first one's shortened: UDF gives it `~1`.
        whole(format!("{}!.txt", "c".repeat(250)).as_bytes()),
        whole(format!("{}.txt", "c".repeat(250)).as_bytes()),
        // Not UTF-8: U+FFFD in UDF.
        whole(b"bad-\xff.bin"),
        whole(b"sub/only-in-udf.txt"),
        Record {
            path: b"big.bin".to_vec(),
            part: Some((1, 2)),
        },
        Record {
            path: b"big.bin".to_vec(),
            part: Some((2, 2)),
        },
    ]
}

const COLLECTION: &str = "全宗";

fn disc_path(r: &Record) -> Vec<u8> {
    let (part, parts) = r.part.unwrap_or((1, 1));
    discvault::format::disc_path_of(COLLECTION, &r.path, part, parts)
}

/// The volume record: what `discvault/volume.json` holds of each file.
fn volume_json(records: &[Record]) -> Vec<u8> {
    let files: Vec<serde_json::Value> = records
        .iter()
        .map(|r| {
            let utf8 = std::str::from_utf8(&r.path).is_ok();
            let mut f = serde_json::json!({
                "collection": COLLECTION,
                "path": discvault::catalog::display_path(&r.path),
                "kind": "file",
                "disc_path": discvault::catalog::display_path(&disc_path(r)),
                "version": 1,
                "size": 10,
                "mtime": 1_700_000_000,
                "mode": 0o644,
                "digests": {},
            });
            if !utf8 {
                f["path_hex"] = hex::encode(&r.path).into();
            }
            if let Some((index, count)) = r.part {
                f["part"] = serde_json::json!({"index": index, "count": count, "offset": 0,
                    "length": 10, "digests": {}});
            }
            f
        })
        .collect();
    serde_json::to_vec_pretty(&serde_json::json!({
        "format": "discvault-volume",
        "format_version": 3,
        "volume_id": "DV-UDF-0001",
        "seq": 1,
        "seq_count": 1,
        "plan_id": 1,
        "media": "bd25",
        "capacity_sectors": 12_219_392,
        "created_at": "2024-01-01T00:00:00Z",
        "software": "discvault test",
        "collections": [],
        "files": files,
    }))
    .unwrap()
}

/// A bridge image of the records, the volume record and a README: its path, and every file's
/// bytes by real path.
fn bridge(dir: &Path) -> (PathBuf, BTreeMap<Vec<u8>, Vec<u8>>) {
    let recs = records();
    let mut files: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (b"README.txt".to_vec(), b"read me".to_vec()),
        (b"discvault/volume.json".to_vec(), volume_json(&recs)),
    ];
    for (i, r) in recs.iter().enumerate() {
        let data = (0..1000 + i * 2500).map(|k| (k * 7 + i) as u8).collect();
        files.push((disc_path(r), data));
    }
    let path = dir.join("bridge.iso");
    write_image(&path, &files, true);
    (path, files.into_iter().collect())
}

/// Writes an image of `files` (path, bytes), a UDF bridge when `udf`.
fn write_image(path: &Path, files: &[(Vec<u8>, Vec<u8>)], udf: bool) {
    let spec = ImageSpec {
        volume_id: "DV-UDF-0001".into(),
        created: 1_700_000_000,
        entries: files
            .iter()
            .map(|(p, d)| Entry {
                path: p.clone(),
                kind: EntryKind::File {
                    size: d.len() as u64,
                },
                mode: 0o444,
                mtime: 1_700_000_000,
            })
            .collect(),
        udf,
        ..Default::default()
    };
    let layout = Layout::new(&spec).unwrap();
    let mut img = Vec::new();
    layout
        .write(&mut img, &mut |i, w| w.write_all(&files[i].1))
        .unwrap();
    std::fs::write(path, img).unwrap();
}

/// Every file listed, and its bytes as read: the source lists what it should, each byte-exact.
fn assert_reads_all(src: &mut dyn DiscSource, expected: &BTreeMap<Vec<u8>, Vec<u8>>) {
    let listed: BTreeMap<Vec<u8>, u64> = src
        .files()
        .unwrap()
        .into_iter()
        .map(|f| (f.path, f.size))
        .collect();
    let shown = |m: Vec<&Vec<u8>>| -> Vec<String> {
        m.into_iter()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect()
    };
    assert_eq!(
        shown(listed.keys().collect()),
        shown(expected.keys().collect())
    );
    for (path, want) in expected {
        assert_eq!(listed[path], want.len() as u64);
        let mut got = Vec::new();
        src.read(path, &mut got)
            .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(path)));
        assert!(&got == want, "{}", String::from_utf8_lossy(path));
    }
}

fn edit(path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut img = std::fs::read(path).unwrap();
    f(&mut img);
    std::fs::write(path, img).unwrap();
}

/// The first sectors of the root's subdirectories in the ISO 9660 tree.
fn iso_subdirs(img: &[u8]) -> Vec<usize> {
    let pvd = &img[16 * S..17 * S];
    let lba = u32::from_le_bytes(pvd[158..162].try_into().unwrap()) as usize;
    let len = u32::from_le_bytes(pvd[166..170].try_into().unwrap()) as usize;
    let dir = &img[lba * S..lba * S + len];
    let (mut at, mut k, mut out) = (0, 0, Vec::new());
    while at < dir.len() {
        let l = dir[at] as usize;
        if l == 0 {
            at = (at / S + 1) * S;
            continue;
        }
        if k >= 2 && dir[at + 25] & 2 != 0 {
            out.push(u32::from_le_bytes(dir[at + 2..at + 6].try_into().unwrap()) as usize);
        }
        (at, k) = (at + l, k + 1);
    }
    out
}

#[test]
fn the_image_reads_through_iso_9660_as_it_is() {
    let t = tempfile::tempdir().unwrap();
    let (img, expected) = bridge(t.path());
    let mut src = source::open_image(&img).unwrap();
    assert_reads_all(&mut src, &expected);
    assert_eq!(src.iso_damage(), None);
    assert_eq!(src.label().as_deref(), Some("DV-UDF-0001"));
}

#[test]
fn without_iso_9660_descriptors_the_udf_tree_is_read_under_the_real_names() {
    let t = tempfile::tempdir().unwrap();
    let (img, expected) = bridge(t.path());
    let sectors = std::fs::metadata(&img).unwrap().len() / S as u64;
    // The primary and Joliet descriptors and the terminator wiped: no ISO 9660 tree.
    edit(&img, |b| b[16 * S..19 * S].fill(0xEE));
    assert!(IsoReader::open(std::fs::File::open(&img).unwrap()).is_err());
    let mut src = source::open_image(&img).unwrap();
    assert_reads_all(&mut src, &expected);
    assert!(src.iso_damage().unwrap().contains("CD001"));
    assert_eq!(src.label().as_deref(), Some("DV-UDF-0001"));
    assert_eq!(src.total_sectors(), sectors);
    assert_eq!(
        source::volume_id(&mut src).unwrap(),
        "DV-UDF-0001",
        "the volume record is read through the UDF tree"
    );
    // The extents verify scans are the UDF tree's, under the real paths.
    let entries = src.take_file_entries().unwrap();
    assert_eq!(
        entries.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    let long = disc_path(&records()[2]);
    assert_eq!(entries[&long].path_bytes(), long);
    // Files are still read once the listing was taken.
    let mut got = Vec::new();
    src.read(&long, &mut got).unwrap();
    assert_eq!(got, expected[&long]);
}

#[test]
fn with_its_iso_9660_folders_damaged_the_udf_tree_is_read() {
    let t = tempfile::tempdir().unwrap();
    let (img, expected) = bridge(t.path());
    edit(&img, |b| {
        for lba in iso_subdirs(b) {
            b[lba * S..(lba + 1) * S].fill(0xEE);
        }
    });
    let mut src = source::open_image(&img).unwrap();
    assert_reads_all(&mut src, &expected);
    assert!(src.iso_damage().is_some());
}

#[test]
fn a_file_missing_from_the_iso_9660_tree_is_read_through_udf() {
    let t = tempfile::tempdir().unwrap();
    let (img, expected) = bridge(t.path());
    let name = b"only-in-udf.txt";
    // The ISO 9660 folder `sub` (the sector holding the file's Rock Ridge name) emptied.
    edit(&img, |b| {
        let at = (0..b.len() - 5 - name.len())
            .find(|&i| &b[i..i + 2] == b"NM" && &b[i + 5..i + 5 + name.len()] == name)
            .unwrap();
        b[at / S * S..(at / S + 1) * S].fill(0);
    });
    let mut src = source::open_image(&img).unwrap();
    let path = "data/全宗/sub/only-in-udf.txt".as_bytes();
    assert!(
        src.files().unwrap().iter().all(|f| f.path != path),
        "the ISO 9660 tree lists the rest"
    );
    let mut got = Vec::new();
    src.read(path, &mut got).unwrap();
    assert_eq!(got, expected[path]);
    assert_eq!(src.iso_damage(), None);
    let e = src.read(b"data/nowhere", &mut Vec::new()).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{e}");
    // What verify adds to the listing: the UDF tree's files, under their real paths.
    let iso = src.take_file_entries().unwrap();
    let udf = src.take_udf_file_entries().unwrap().unwrap();
    assert!(!iso.contains_key(path) && udf.contains_key(path));
    assert_eq!(
        udf.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    // An image without UDF has none.
    let plain = t.path().join("plain.iso");
    write_image(&plain, &[(b"a.txt".to_vec(), b"a".to_vec())], false);
    let mut src = source::open_image(&plain).unwrap();
    assert!(src.take_udf_file_entries().is_none());
    let e = src.read(b"b.txt", &mut Vec::new()).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{e}");
}

#[test]
fn an_image_with_neither_tree_readable_is_an_error_naming_it() {
    let t = tempfile::tempdir().unwrap();
    let (img, _) = bridge(t.path());
    let shown = img.display().to_string();
    // No UDF either (both anchors gone): the ISO 9660 error.
    let last = std::fs::metadata(&img).unwrap().len() as usize / S - 1;
    let none = t.path().join("none.iso");
    std::fs::copy(&img, &none).unwrap();
    edit(&none, |b| {
        b[16 * S..19 * S].fill(0xEE);
        b[256 * S..257 * S].fill(0);
        b[last * S..(last + 1) * S].fill(0);
    });
    assert!(UdfReader::open(std::fs::File::open(&none).unwrap())
        .unwrap()
        .is_none());
    let e = source::open_image(&none).err().unwrap().to_string();
    assert!(
        e.contains(&none.display().to_string()) && e.contains("CD001"),
        "{e}"
    );
    // A UDF volume whose descriptors are damaged: both errors, naming the image.
    edit(&img, |b| {
        b[16 * S..19 * S].fill(0xEE);
        for s in [32, 48] {
            b[s * S..(s + 6) * S].fill(0xEE);
        }
    });
    let e = source::open_image(&img).err().unwrap().to_string();
    assert!(
        e.contains(&shown) && e.contains("ISO 9660: ") && e.contains("UDF: "),
        "{e}"
    );
    // The ISO 9660 folders and the UDF tree damaged: listing fails naming both.
    let t2 = tempfile::tempdir().unwrap();
    let (img, _) = bridge(t2.path());
    edit(&img, |b| {
        for lba in iso_subdirs(b) {
            b[lba * S..(lba + 1) * S].fill(0xEE);
        }
        // The UDF root's entry (the first file entry of the partition).
        let fe = (257..b.len() / S)
            .find(|&s| b[s * S..s * S + 2] == [5, 1])
            .unwrap();
        b[fe * S + 100] ^= 0xFF;
    });
    let mut src = source::open_image(&img).unwrap();
    let e = src.files().unwrap_err().to_string();
    assert!(
        e.contains(&img.display().to_string()) && e.contains("UDF: "),
        "{e}"
    );
}

/// Writes the UDF tree of `img` into a new folder `root`, as a mounted bridge disc shows it
/// (extracted with our UDF reader), but the files at the paths `keep` refuses.
fn udf_folder(img: &Path, root: &Path, keep: impl Fn(&[u8]) -> bool) {
    let mut udf = UdfReader::open(std::fs::File::open(img).unwrap())
        .unwrap()
        .unwrap();
    for e in udf.entries().unwrap() {
        let at = root.join(std::ffi::OsStr::new(&e.display_path()));
        if e.kind == isoimage::IsoEntryKind::Dir {
            std::fs::create_dir_all(&at).unwrap();
        } else if keep(&e.path_bytes()) {
            std::fs::create_dir_all(at.parent().unwrap()).unwrap();
            let mut data = Vec::new();
            udf.read_file(&e, &mut data).unwrap();
            std::fs::write(&at, data).unwrap();
        }
    }
}

/// A folder holding the UDF tree as a mounted bridge disc shows it (extracted with our UDF
/// reader): its files are listed and read under their real names.
#[test]
fn a_folder_showing_the_udf_tree_speaks_the_real_names() {
    let t = tempfile::tempdir().unwrap();
    let (img, expected) = bridge(t.path());
    let root = t.path().join("mnt");
    udf_folder(&img, &root, |_| true);
    let mut src = source::open(&root).unwrap();
    assert_reads_all(src.as_mut(), &expected);
    // Read before any listing: a miss finds the UDF name.
    let mut src = source::open(&root).unwrap();
    let long = disc_path(&records()[3]);
    let mut got = Vec::new();
    src.read(&long, &mut got).unwrap();
    assert_eq!(got, expected[&long]);
}

/// Writes `files` (path, bytes) into a new folder `root`.
fn folder_of<'a>(root: &Path, files: impl IntoIterator<Item = (&'a Vec<u8>, &'a Vec<u8>)>) {
    for (p, data) in files {
        let at = root.join(std::ffi::OsStr::from_bytes(p));
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::fs::write(&at, data).unwrap();
    }
}

/// A record missing from a folder is missing, not the record whose real name its UDF name is
/// (the `~1` clash: the first record's name, shortened, is the second one's).
#[test]
fn a_missing_record_is_not_read_as_the_record_its_udf_name_names() {
    let t = tempfile::tempdir().unwrap();
    let (img, expected) = bridge(t.path());
    let (first, second) = (disc_path(&records()[4]), disc_path(&records()[5]));
    let udf_of_first = isoimage::udf_paths(&[&first, &second]).unwrap();
    assert_eq!(udf_of_first[0], second, "the clash the test is about");
    let rest = || expected.iter().filter(|(p, _)| **p != first);
    // The first record missing from a folder showing the real names, and from one showing
    // the UDF tree (where it is under the second one's real name, the second under `~1`):
    // read before any listing and after it.
    let real = t.path().join("real");
    folder_of(&real, rest());
    let shown = t.path().join("udf");
    udf_folder(&img, &shown, |p| p != second);
    for (root, list_first) in [
        (&real, false),
        (&real, true),
        (&shown, false),
        (&shown, true),
    ] {
        let mut src = source::open(root).unwrap();
        if list_first {
            let listed: Vec<_> = src.files().unwrap().into_iter().map(|f| f.path).collect();
            assert_eq!(listed, rest().map(|(p, _)| p.clone()).collect::<Vec<_>>());
        }
        let e = src.read(&first, &mut Vec::new()).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{e}");
        let mut got = Vec::new();
        src.read(&second, &mut got).unwrap();
        assert!(got == expected[&second]);
        assert_eq!(src.udf_names_error(), None);
    }
    // Only the two records, both there under their UDF names: the second one's `~1` name is
    // what shows the folder's names are UDF's.
    let pair: Vec<Record> = records().drain(4..6).collect();
    let paths: Vec<Vec<u8>> = pair.iter().map(disc_path).collect();
    let shown = t.path().join("pair");
    let json = (b"discvault/volume.json".to_vec(), volume_json(&pair));
    let at: Vec<(Vec<u8>, Vec<u8>)> = isoimage::udf_paths(&paths)
        .unwrap()
        .into_iter()
        .zip(&paths)
        .map(|(at, real)| (at, expected[real].clone()))
        .chain([json])
        .collect();
    folder_of(&shown, at.iter().map(|(p, d)| (p, d)));
    let mut src = source::open(&shown).unwrap();
    for real in &paths {
        let mut got = Vec::new();
        src.read(real, &mut got).unwrap();
        assert!(got == expected[real]);
    }
}

/// A volume record whose paths cannot be named as UDF names them: the UDF tree's own names
/// are used, and the source says why.
#[test]
fn a_volume_record_that_gives_no_udf_names_is_reported() {
    let t = tempfile::tempdir().unwrap();
    let mut recs = records();
    recs.push(Record {
        path: recs[0].path.clone(),
        part: None,
    });
    let mut files: Vec<(Vec<u8>, Vec<u8>)> =
        vec![(b"discvault/volume.json".to_vec(), volume_json(&recs))];
    recs.pop();
    for r in &recs {
        files.push((disc_path(r), b"data".to_vec()));
    }
    let img = t.path().join("bridge.iso");
    write_image(&img, &files, true);
    edit(&img, |b| b[16 * S..19 * S].fill(0xEE));
    let mut src = source::open_image(&img).unwrap();
    let listed: Vec<_> = src.files().unwrap().into_iter().map(|f| f.path).collect();
    let long = disc_path(&recs[2]);
    assert!(!listed.contains(&long), "listed under its UDF name");
    let why = src.udf_names_error().unwrap();
    let dup = String::from_utf8(disc_path(&recs[0])).unwrap();
    assert!(why.contains("volume.json") && why.contains(&dup), "{why}");
    let damage = src.iso_damage().unwrap();
    assert!(
        damage.contains("CD001") && damage.contains("own names are used") && damage.contains(&why),
        "{damage}"
    );
}
