//! A hostile UDF tree: damaged or crafted descriptors are refused with an error naming what
//! is wrong, never followed and never a panic; a bridge whose ISO 9660 tree is damaged is
//! still read through its UDF tree.

use isoimage::{Entry, EntryKind, ImageSpec, IsoError, IsoReader, Layout, UdfReader};
use std::io::Cursor;

fn image() -> Vec<u8> {
    let file = |p: &str, n: u64| Entry {
        path: p.as_bytes().to_vec(),
        kind: EntryKind::File { size: n },
        mode: 0o644,
        mtime: 1_700_000_000,
    };
    let spec = ImageSpec {
        volume_id: "HOSTILE".into(),
        created: 1_700_000_000,
        entries: vec![
            file("全宗/2024/文书-0001.pdf", 3000),
            file("全宗/2024/说明.txt", 20),
            file("a/b/c/d.txt", 5),
            file("empty.txt", 0),
        ],
        udf: true,
        ..Default::default()
    };
    let layout = Layout::new(&spec).unwrap();
    let mut out = Vec::new();
    layout
        .write(&mut out, &mut |i, w| {
            let n = match &spec.entries[i].kind {
                EntryKind::File { size } => *size as usize,
                _ => 0,
            };
            w.write_all(&vec![b'x'; n])
        })
        .unwrap();
    out
}

fn list(img: &[u8]) -> Result<Vec<isoimage::IsoEntry>, IsoError> {
    match UdfReader::open(Cursor::new(img))? {
        Some(mut r) => r.entries(),
        None => Err(IsoError::NotIso("no UDF".into())),
    }
}

/// The sector of the first descriptor with this tag identifier at or after `from`.
fn find(img: &[u8], id: u16, from: usize) -> usize {
    (from..img.len() / 2048)
        .find(|&s| img[s * 2048..s * 2048 + 2] == id.to_le_bytes())
        .unwrap()
}

/// Recomputes the CRC and checksum of the descriptor at `at` (of `len` bytes), as a crafted
/// image would.
fn retag(img: &mut [u8], at: usize, len: usize) {
    let crc = {
        let mut c: u16 = 0;
        for &b in &img[at + 16..at + len] {
            c ^= (b as u16) << 8;
            for _ in 0..8 {
                c = if c & 0x8000 != 0 {
                    (c << 1) ^ 0x1021
                } else {
                    c << 1
                };
            }
        }
        c
    };
    img[at + 8..at + 10].copy_from_slice(&crc.to_le_bytes());
    img[at + 10..at + 12].copy_from_slice(&((len - 16) as u16).to_le_bytes());
    let sum = img[at..at + 16]
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 4)
        .fold(0u8, |s, (_, &b)| s.wrapping_add(b));
    img[at + 4] = sum;
}

#[test]
fn the_image_reads_whole() {
    let entries = list(&image()).unwrap();
    let files: Vec<String> = entries
        .iter()
        .filter(|e| e.kind == isoimage::IsoEntryKind::File)
        .map(|e| e.display_path())
        .collect();
    assert_eq!(files.len(), 4, "{files:?}");
    assert!(files.contains(&"全宗/2024/说明.txt".to_string()));
}

#[test]
fn a_damaged_iso_tree_is_still_read_through_udf() {
    let mut img = image();
    // The ISO 9660 primary and Joliet descriptors wiped: no ISO 9660 tree, and no recognition
    // sequence either; the anchor at 256 still leads to the UDF tree.
    img[16 * 2048..18 * 2048].fill(0xEE);
    assert!(IsoReader::open(Cursor::new(&img)).is_err());
    let files = list(&img).unwrap();
    assert_eq!(
        files
            .iter()
            .filter(|e| e.kind == isoimage::IsoEntryKind::File)
            .count(),
        4
    );
}

#[test]
fn bad_checksums_crcs_and_locations_are_refused() {
    let base = image();
    // A byte of the logical volume descriptor (its CRC no longer holds), in both sequences:
    // refused, naming the CRC.
    let mut img = base.clone();
    for s in [35, 51] {
        img[s * 2048 + 100] ^= 1;
    }
    let e = list(&img).unwrap_err().to_string();
    assert!(e.contains("CRC"), "{e}");
    // The main sequence alone damaged: the reserve is read.
    let mut img = base.clone();
    img[35 * 2048 + 100] ^= 1;
    assert!(list(&img).is_ok());
    // Both anchors gone: no anchor.
    let mut img = base.clone();
    let last = img.len() / 2048 - 1;
    img[256 * 2048] ^= 0xFF;
    img[last * 2048] ^= 0xFF;
    let e = list(&img).unwrap_err().to_string();
    assert!(e.contains("anchor"), "{e}");
    // A file's entry copied over the next file's (its recorded location then differs).
    let mut img = base.clone();
    let fe = (257..img.len() / 2048)
        .find(|&s| {
            [s, s + 1]
                .iter()
                .all(|&b| img[b * 2048..b * 2048 + 2] == [5, 1] && img[b * 2048 + 27] == 5)
        })
        .unwrap();
    let copy = img[fe * 2048..fe * 2048 + 2048].to_vec();
    img[(fe + 1) * 2048..(fe + 2) * 2048].copy_from_slice(&copy);
    let e = list(&img).unwrap_err().to_string();
    assert!(e.contains("recorded at") || e.contains("tag"), "{e}");
}

#[test]
fn the_file_sets_root_must_be_in_the_partition_but_its_implementation_use_is_free() {
    let base = image();
    let fsd = find(&base, 256, 257) * 2048;
    // The root's long_ad: length at 400, block at 404, partition at 408, implementation use
    // from 410 (a unique id there, as other writers record it, changes nothing).
    let mut img = base.clone();
    img[fsd + 412..fsd + 416].copy_from_slice(&7u32.to_le_bytes());
    retag(&mut img, fsd, 512);
    assert_eq!(list(&img).unwrap().len(), list(&base).unwrap().len());
    let mut img = base.clone();
    img[fsd + 408] = 1;
    retag(&mut img, fsd, 512);
    let e = list(&img).unwrap_err().to_string();
    assert!(e.contains("root directory in another partition"), "{e}");
}

#[test]
fn crafted_loops_lengths_and_names_are_refused() {
    let base = image();
    // The first subdirectory's entry made the root's: a directory met twice.
    let mut img = base.clone();
    let root_fe = find(&img, 261, 257);
    // The root's identifiers, in its entry (a small directory's are): the parent (40 bytes),
    // then the children; point the first child at the root's own entry, and tag the
    // identifier and the entry anew, as a crafted image would.
    let fe = root_fe * 2048;
    assert_eq!(img[fe + 34] & 7, 3, "identifiers in the entry");
    let child = fe + 176 + 40;
    let root_lbn = (root_fe - 257) as u32;
    img[child + 24..child + 28].copy_from_slice(&root_lbn.to_le_bytes());
    let len = (38 + img[child + 19] as usize).div_ceil(4) * 4;
    retag(&mut img, child, len);
    let l_ad = u32::from_le_bytes(img[fe + 172..fe + 176].try_into().unwrap()) as usize;
    retag(&mut img, fe, 176 + l_ad);
    let e = list(&img).unwrap_err().to_string();
    assert!(e.contains("loop") || e.contains("twice"), "{e}");
    // A file longer than its extents.
    let mut img = base.clone();
    let files: Vec<usize> = (257..img.len() / 2048)
        .filter(|&s| img[s * 2048..s * 2048 + 2] == [5, 1] && img[s * 2048 + 27] == 5)
        .collect();
    let fe = files[0] * 2048;
    img[fe + 56..fe + 64].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let l_ad = u32::from_le_bytes(img[fe + 172..fe + 176].try_into().unwrap()) as usize;
    retag(&mut img, fe, 176 + l_ad);
    let e = list(&img).unwrap_err().to_string();
    assert!(e.contains("extents of"), "{e}");
    // An extent beyond the partition.
    let mut img = base.clone();
    let fe = files.iter().find(|&&s| img[s * 2048 + 172] == 8).unwrap() * 2048;
    img[fe + 180..fe + 184].copy_from_slice(&0x7FFF_FFF0u32.to_le_bytes());
    retag(&mut img, fe, 184);
    let e = list(&img).unwrap_err().to_string();
    assert!(e.contains("beyond the partition"), "{e}");
    // A name with a '/': refused.
    let mut img = base.clone();
    let at = (257 * 2048..img.len())
        .step_by(4)
        .find(|&a| img[a..a + 2] == [1, 1] && img[a + 19] > 1 && img[a + 38] == 8)
        .expect("an 8-bit name");
    img[at + 39] = b'/';
    let len = (38 + img[at + 19] as usize).div_ceil(4) * 4;
    retag(&mut img, at, len);
    // In an entry's block: the entry's CRC covers it too.
    let fe = at / 2048 * 2048;
    if img[fe..fe + 2] == [5, 1] {
        let l_ad = u32::from_le_bytes(img[fe + 172..fe + 176].try_into().unwrap()) as usize;
        retag(&mut img, fe, 176 + l_ad);
    }
    let e = list(&img).unwrap_err().to_string();
    assert!(e.contains("the name"), "{e}");
}

#[test]
fn random_damage_never_panics() {
    // Deterministic pseudo-random bytes flipped in the UDF structures (sectors 19..300), a
    // few at a time: every outcome is a listing or an error.
    let base = image();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let span = (300 * 2048).min(base.len()) - 19 * 2048;
    for _ in 0..3000 {
        let mut img = base.clone();
        for _ in 0..1 + next() % 4 {
            let at = 19 * 2048 + (next() as usize % span);
            img[at] = next() as u8;
        }
        let _ = list(&img);
    }
    // Cut short anywhere.
    for cut in (0..base.len()).step_by(4096) {
        let _ = list(&base[..cut]);
    }
}
