//! An image is input from a disc: crafted directories, extents, continuation areas and names
//! must give a clear `IsoError::Corrupt`, never a panic, a hang or unbounded memory. Each case
//! starts from a real image written by our writer and patches its bytes.

use isoimage::{Entry, EntryKind, ImageSpec, IsoError, IsoReader, Layout, Limits, NameSource};
use std::io::Cursor;

const S: usize = 2048;

fn file(path: &str, size: u64) -> Entry {
    Entry {
        path: path.as_bytes().to_vec(),
        kind: EntryKind::File { size },
        mode: 0o644,
        mtime: 1_700_000_000,
    }
}

/// An image of a small tree: nested folders, two siblings, a 255-byte name (its Rock Ridge
/// name goes to a continuation area), a name patched below.
fn image() -> Vec<u8> {
    let long = format!("long/{}", "n".repeat(255));
    let entries = vec![
        file("d1/d2/d3/f.txt", 5000),
        file("d1/d2/g.txt", 10),
        file("x/a.txt", 3),
        file("y/b.txt", 4),
        file("abc", 7),
        file("xy", 2),
        file("jolietname", 1),
        file("m/aa", 2),
        file("m/ab", 3),
        file(&long, 1),
    ];
    let spec = ImageSpec {
        volume_id: "HOSTILE".into(),
        created: 1_700_000_000,
        entries,
        udf: false,
        ..Default::default()
    };
    let layout = Layout::new(&spec).unwrap();
    let mut out = Vec::new();
    layout
        .write(&mut out, &mut |i, w| {
            let EntryKind::File { size } = spec.entries[i].kind else {
                unreachable!()
            };
            w.write_all(&vec![b'a' + i as u8; size as usize])?;
            Ok(())
        })
        .unwrap();
    out
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes(b[..4].try_into().unwrap())
}

/// Writes a both-endian 32-bit number (ECMA-119 7.3.3).
fn put_both(img: &mut [u8], at: usize, v: u32) {
    img[at..at + 4].copy_from_slice(&v.to_le_bytes());
    img[at + 4..at + 8].copy_from_slice(&v.to_be_bytes());
}

/// A directory record: where it is in the image, its extent, length, and its Rock Ridge name
/// (from an inline NM entry), and where its system use area starts.
#[derive(Debug, Clone)]
struct Rec {
    at: usize,
    extent: u32,
    len: u32,
    name: Vec<u8>,
    su: usize,
    su_len: usize,
}

fn records(img: &[u8], extent: u32, len: u32) -> Vec<Rec> {
    let base = extent as usize * S;
    let mut out = Vec::new();
    let mut i = 0;
    while i < len as usize {
        let l = img[base + i] as usize;
        if l == 0 {
            i = (i / S + 1) * S;
            continue;
        }
        let r = &img[base + i..base + i + l];
        let id_len = r[32] as usize;
        let su = 33 + id_len + (id_len + 1) % 2;
        let mut name = Vec::new();
        let mut j = su;
        while j + 4 <= l {
            let el = r[j + 2] as usize;
            if el < 4 {
                break;
            }
            if &r[j..j + 2] == b"NM" {
                name.extend_from_slice(&r[j + 5..j + el]);
            }
            j += el;
        }
        out.push(Rec {
            at: base + i,
            extent: le32(&r[2..]),
            len: le32(&r[10..]),
            name,
            su: base + i + su,
            su_len: l - su,
        });
        i += l;
    }
    out
}

fn root(img: &[u8]) -> (u32, u32) {
    let pvd = &img[16 * S..17 * S];
    (le32(&pvd[158..]), le32(&pvd[166..]))
}

/// The record of `path` (Rock Ridge names) in the primary tree.
fn find(img: &[u8], path: &str) -> Rec {
    let (mut ext, mut len) = root(img);
    let mut rec = None;
    for c in path.split('/') {
        let r = records(img, ext, len)
            .into_iter()
            .find(|r| r.name == c.as_bytes())
            .unwrap_or_else(|| panic!("{c} in {path}"));
        (ext, len) = (r.extent, r.len);
        rec = Some(r);
    }
    rec.unwrap()
}

fn list(img: &[u8]) -> isoimage::Result<Vec<isoimage::IsoEntry>> {
    IsoReader::open(Cursor::new(img))?.entries()
}

#[track_caller]
fn assert_corrupt<T: std::fmt::Debug>(r: isoimage::Result<T>, words: &[&str]) {
    match r {
        Err(IsoError::Corrupt(m)) => {
            for w in words {
                assert!(m.contains(w), "{w:?} not in {m:?}");
            }
        }
        other => panic!("expected Corrupt with {words:?}, got {other:?}"),
    }
}

fn total_sectors(img: &[u8]) -> u32 {
    le32(&img[16 * S + 80..])
}

#[test]
fn the_image_reads_intact() {
    let img = image();
    let e = list(&img).unwrap();
    assert!(e.iter().any(|e| e.path_bytes() == b"d1/d2/d3/f.txt"));
    assert_eq!(find(&img, "d1/d2/d3/f.txt").len, 5000);
    assert_eq!(total_sectors(&img) as usize * S, img.len());
}

#[test]
fn directory_loops_are_refused() {
    // A child pointing at an ancestor (the root).
    let mut img = image();
    let d3 = find(&img, "d1/d2/d3");
    let top = root(&img).0;
    put_both(&mut img, d3.at + 2, top);
    assert_corrupt(list(&img), &["directory loop", "d3"]);

    // At itself: d2's subdirectory d3 given d2's own extent.
    let mut img = image();
    let d2 = find(&img, "d1/d2");
    put_both(&mut img, d3.at + 2, d2.extent);
    put_both(&mut img, d3.at + 10, d2.len);
    assert_corrupt(list(&img), &["directory loop"]);

    // Two directories sharing one extent.
    let mut img = image();
    let (x, y) = (find(&img, "x"), find(&img, "y"));
    put_both(&mut img, y.at + 2, x.extent);
    assert_corrupt(list(&img), &["directory loop"]);
}

#[test]
fn extents_beyond_the_image_are_refused() {
    let n = total_sectors(&image());
    // A directory running past the end, one claiming 4 GiB, a file past the end.
    let mut img = image();
    let d1 = find(&img, "d1");
    put_both(&mut img, d1.at + 2, n - 1);
    put_both(&mut img, d1.at + 10, 4096);
    assert_corrupt(list(&img), &["directory at sector", "beyond the image"]);

    let mut img = image();
    put_both(&mut img, d1.at + 10, u32::MAX);
    assert_corrupt(list(&img), &["claims 4294967295 bytes"]);

    let mut img = image();
    let f = find(&img, "d1/d2/d3/f.txt");
    put_both(&mut img, f.at + 2, n - 2);
    assert_corrupt(list(&img), &["d1/d2/d3/f.txt", "beyond the image"]);
    let mut img = image();
    put_both(&mut img, f.at + 10, u32::MAX);
    assert_corrupt(list(&img), &["f.txt", "beyond the image"]);

    // A volume space size beyond the image file (a truncated copy): listed; the data that is
    // not there is an error when read.
    let img = image();
    let cut = &img[..find(&img, "d1/d2/d3/f.txt").extent as usize * S + 100];
    let mut r = IsoReader::open(Cursor::new(cut)).unwrap();
    let e = r.entries().unwrap();
    let f = e
        .iter()
        .find(|e| e.path_bytes() == b"d1/d2/d3/f.txt")
        .unwrap();
    let err = r.read_file(f, &mut Vec::new()).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn rock_ridge_continuation_loops_and_huge_lengths_are_refused() {
    let img = image();
    let long = find(&img, "long");
    // After "." and "..": the file of the 255-byte name.
    let rec = records(&img, long.extent, long.len)[2].clone();
    let ce = (rec.su..rec.su + rec.su_len)
        .find(|&k| &img[k..k + 2] == b"CE")
        .expect("a 255-byte name needs a continuation area");

    // The continuation area is the record's own system use area, CE included: a loop.
    let mut img2 = img.clone();
    put_both(&mut img2, ce + 4, (rec.at / S) as u32);
    put_both(&mut img2, ce + 12, ((rec.su) % S) as u32);
    put_both(&mut img2, ce + 20, rec.su_len as u32);
    assert_corrupt(
        list(&img2),
        &["continuation areas chained more than 64 times"],
    );

    // A huge length, an offset past the sector, a sector past the image.
    for (field, v) in [(20, u32::MAX), (12, 5000), (4, total_sectors(&img) + 10)] {
        let mut img2 = img.clone();
        put_both(&mut img2, ce + field, v);
        assert_corrupt(list(&img2), &["continuation area out of range"]);
    }
}

/// Replaces the content of the NM entry of `path` (same length).
fn rename(img: &mut [u8], path: &str, to: &[u8]) {
    let r = find(img, path);
    let nm = (r.su..r.su + r.su_len)
        .find(|&k| &img[k..k + 2] == b"NM")
        .unwrap();
    assert_eq!(img[nm + 2] as usize - 5, to.len());
    img[nm + 5..nm + 5 + to.len()].copy_from_slice(to);
}

#[test]
fn rock_ridge_names_with_slash_nul_or_dots_are_refused() {
    for (path, to, why, folder) in [
        ("abc", &b"a/c"[..], "'/'", "/"),
        ("abc", b"a\0c", "NUL", "/"),
        ("xy", b"..", "'.' or '..'", "/"),
        ("d1/d2/g.txt", b"..///", "'/'", "d1/d2"),
    ] {
        let mut img = image();
        rename(&mut img, path, to);
        assert_corrupt(list(&img), &[why, &format!("in folder {folder:?}")]);
    }
}

#[test]
fn joliet_names_with_slash_or_nul_are_refused() {
    let img = image();
    // Without the SP entry of the root's "." record, Rock Ridge is not used: Joliet names.
    let (ext, len) = root(&img);
    let dot = &records(&img, ext, len)[0];
    let sp = (dot.su..dot.su + dot.su_len)
        .find(|&k| &img[k..k + 2] == b"SP")
        .unwrap();
    let mut plain = img.clone();
    plain[sp] = b'X';
    let mut r = IsoReader::open(Cursor::new(&plain)).unwrap();
    assert_eq!(r.name_source(), NameSource::Joliet);
    assert!(r
        .entries()
        .unwrap()
        .iter()
        .any(|e| e.path_bytes() == b"jolietname"));
    let utf16: Vec<u8> = "jolietname"
        .encode_utf16()
        .flat_map(|u| u.to_be_bytes())
        .collect();
    let at = plain.windows(utf16.len()).position(|w| w == utf16).unwrap();
    for (unit, why) in [(b'/', "'/'"), (0, "NUL")] {
        let mut img = plain.clone();
        img[at + 3] = unit;
        assert_corrupt(list(&img), &[why, "lietname", "folder \"/\""]);
    }
}

#[test]
fn the_budget_bounds_entries_directory_bytes_names_and_depth() {
    let img = image();
    let n = list(&img).unwrap().len();
    let with = |l: Limits| {
        let mut r = IsoReader::open(Cursor::new(&img)).unwrap();
        r.set_limits(l);
        r.entries()
    };
    let d = Limits::default();
    assert_eq!(with(d).unwrap().len(), n);
    assert_corrupt(
        with(Limits {
            entries: n - 1,
            ..d
        }),
        &[&format!("more than {} entries", n - 1)],
    );
    assert_corrupt(
        with(Limits {
            total_dir_bytes: 3 * S as u64,
            ..d
        }),
        &["bytes of directories"],
    );
    assert_corrupt(
        with(Limits {
            path_bytes: 100,
            ..d
        }),
        &["bytes of names"],
    );
    assert_corrupt(with(Limits { depth: 2, ..d }), &["deeper than 2"]);
    assert_corrupt(
        with(Limits {
            dir_bytes: 100,
            ..d
        }),
        &["claims 2048 bytes"],
    );
}

#[test]
fn a_multi_extent_file_larger_than_the_image_is_refused() {
    let mut img = image();
    let (aa, ab) = (find(&img, "m/aa"), find(&img, "m/ab"));
    // "aa" continued by the next record of the same name: one file of two extents.
    img[aa.at + 25] |= 0x80;
    rename(&mut img, "m/ab", b"aa");
    let e = list(&img).unwrap();
    let f = e.iter().find(|e| e.path_bytes() == b"m/aa").unwrap();
    assert_eq!((f.size, f.extents.len()), (5, 2));
    // Its second extent: the whole image, each extent within it, both more than it holds.
    let whole = total_sectors(&img) * S as u32;
    put_both(&mut img, ab.at + 2, 0);
    put_both(&mut img, ab.at + 10, whole);
    assert_corrupt(list(&img), &["m/aa", "2 extents", "more than the image"]);
}

/// The checks against hostile images refuse nothing a real writer makes: images by xorriso
/// (Rock Ridge and Joliet, then Joliet alone) with empty files and folders, hard links (files
/// sharing an extent), long and Chinese names, a deep tree, are listed and read whole.
#[test]
fn images_made_by_xorriso_are_read_whole() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("tree");
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("a.txt".into(), b"hello".to_vec()),
        ("empty".into(), vec![]),
        ("空/文件 一.txt".into(), vec![7; 5000]),
        (format!("long/{}", "档".repeat(30)), vec![1; 3]),
        ("d1/d2/d3/d4/d5/d6/d7/d8/deep.bin".into(), vec![9; 70_000]),
    ];
    for (n, d) in &files {
        let p = root.join(n);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, d).unwrap();
    }
    std::fs::create_dir_all(root.join("empty-dir")).unwrap();
    std::fs::hard_link(root.join("a.txt"), root.join("hard-link.txt")).unwrap();
    files.push(("hard-link.txt".into(), b"hello".to_vec()));
    files.sort();
    for (flags, source) in [
        (&["-r", "-J", "-joliet-long"][..], NameSource::RockRidge),
        (&["--norock", "-J", "-joliet-long"][..], NameSource::Joliet),
    ] {
        let img = t.path().join("x.iso");
        let _ = std::fs::remove_file(&img);
        testkit::run(
            std::process::Command::new("xorriso")
                .args(["-as", "mkisofs", "-quiet"])
                .args(flags)
                .arg("-o")
                .arg(&img)
                .arg(&root),
        );
        let bytes = std::fs::read(&img).unwrap();
        let mut r = IsoReader::open(Cursor::new(&bytes)).unwrap();
        assert_eq!(r.name_source(), source);
        let entries = r.entries().unwrap();
        let mut got = Vec::new();
        for e in &entries {
            if e.kind == isoimage::IsoEntryKind::File {
                let mut data = Vec::new();
                r.read_file(e, &mut data).unwrap();
                got.push((e.display_path(), data));
            }
        }
        got.sort();
        assert_eq!(got, files, "{flags:?}");
        assert!(entries.iter().any(|e| e.display_path() == "empty-dir"));
    }
}
