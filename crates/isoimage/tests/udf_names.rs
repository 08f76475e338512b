//! `udf_paths` says where the writer put each file in the UDF tree: for every file of a bridge
//! image, the path it computes is the one our UDF reader lists, over the file's own data.

use isoimage::{udf_paths, Entry, EntryKind, ImageSpec, IsoEntryKind, IsoReader, Layout};
use isoimage::{IsoEntry, UdfReader};
use std::collections::BTreeMap;
use std::io::Cursor;

/// Files whose names UDF keeps whole, and names it must shorten: 255 bytes of ASCII, Chinese
/// with ASCII (150 UTF-16 units), long names that shorten to the same name, one a real name
/// equal to another's shortened form, long folder names, a name that is not UTF-8.
fn paths() -> Vec<Vec<u8>> {
    let ascii255 = "x".repeat(251) + ".txt";
    let mixed = format!("{}{}.dat", "a".repeat(100), "档".repeat(50));
    let mut p: Vec<Vec<u8>> = vec![
        "README.txt".into(),
        "discvault/volume.json".into(),
        "data/全宗/说明.txt".into(),
        format!("data/全宗/{}", "档".repeat(85)).into(),
        format!("data/long/{ascii255}").into(),
        format!("data/long/{mixed}").into(),
        // 255 bytes, shortened to 254: the name of the next one, a real name, which sorts
        // after it and so takes `~1`; then two more clashes.
        format!("data/clash/{}!.txt", "c".repeat(250)).into(),
        format!("data/clash/{}.txt", "c".repeat(250)).into(),
        format!("data/clash/{}1.txt", "c".repeat(250)).into(),
        format!("data/clash/{}2.txt", "c".repeat(250)).into(),
        // Folders shortened (no extension kept), two to the same name.
        format!("data/{}/a.txt", "d".repeat(255)).into(),
        format!("data/{}/b.txt", "d".repeat(255)).into(),
        format!("data/{}e/c.txt", "d".repeat(254)).into(),
        format!("data/{}.x/d.txt", "d".repeat(253)).into(),
        // Not UTF-8: both decode to the same name.
        b"data/bad-\xff\xfe.bin".to_vec(),
        b"data/bad-\xfe\xff.bin".to_vec(),
    ];
    for i in 0..20 {
        p.push(format!("data/many/file-{i:03}.dat").into_bytes());
    }
    p
}

fn image(paths: &[Vec<u8>]) -> Vec<u8> {
    let mut entries: Vec<Entry> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| Entry {
            path: p.clone(),
            kind: EntryKind::File {
                size: i as u64 * 100,
            },
            mode: 0o644,
            mtime: 1_700_000_000,
        })
        .collect();
    // Links are in the ISO 9660 tree only: they take no part in the UDF names.
    entries.push(Entry {
        path: format!("data/clash/{}0.txt", "c".repeat(250)).into_bytes(),
        kind: EntryKind::Symlink {
            target: b"x".to_vec(),
        },
        mode: 0o777,
        mtime: 1_700_000_000,
    });
    let spec = ImageSpec {
        volume_id: "NAMES".into(),
        created: 1_700_000_000,
        entries,
        udf: true,
        ..Default::default()
    };
    let layout = Layout::new(&spec).unwrap();
    let mut out = Vec::new();
    layout
        .write(&mut out, &mut |i, w| w.write_all(&vec![i as u8; i * 100]))
        .unwrap();
    out
}

fn files(entries: Vec<IsoEntry>) -> BTreeMap<Vec<u8>, IsoEntry> {
    entries
        .into_iter()
        .filter(|e| e.kind == IsoEntryKind::File)
        .map(|e| (e.path_bytes(), e))
        .collect()
}

#[test]
fn the_computed_paths_are_those_the_udf_reader_lists_over_the_same_data() {
    let paths = paths();
    let img = image(&paths);
    let iso = files(
        IsoReader::open(Cursor::new(&img))
            .unwrap()
            .entries()
            .unwrap(),
    );
    let mut udf = UdfReader::open(Cursor::new(&img)).unwrap().unwrap();
    let listed = files(udf.entries().unwrap());
    let computed = udf_paths(&paths).unwrap();
    assert_eq!(computed.len(), paths.len());
    let mut shortened = 0;
    for (real, at) in paths.iter().zip(&computed) {
        let shown = String::from_utf8_lossy(real);
        let e = listed
            .get(at)
            .unwrap_or_else(|| panic!("{shown}: {:?} not listed", String::from_utf8_lossy(at)));
        // The same file: its ISO 9660 record holds the same sectors.
        assert_eq!(e.extents, iso[real].extents, "{shown}");
        let mut data = Vec::new();
        udf.read_file(e, &mut data).unwrap();
        let i = paths.iter().position(|p| p == real).unwrap();
        assert_eq!(data, vec![i as u8; i * 100], "{shown}");
        shortened += usize::from(at != real);
    }
    // Every file listed is one of them, and those not UTF-8 or too long were renamed.
    assert_eq!(listed.len(), paths.len());
    assert_eq!(shortened, 12);
    // Whole where they fit: 85 Chinese characters (255 bytes) and the short names.
    for i in [0, 1, 2, 3, 16] {
        assert_eq!(
            computed[i],
            paths[i],
            "{}",
            String::from_utf8_lossy(&paths[i])
        );
    }
    // The real name equal to another's shortened form lost it to the one sorted first.
    assert_eq!(computed[6], paths[7]);
    assert_ne!(computed[7], paths[7]);
    assert_eq!(computed[4].len(), "data/long/".len() + 254);
    assert_eq!(udf.total_sectors(), img.len() as u64 / 2048);
}
