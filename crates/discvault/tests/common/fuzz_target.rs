//! The volume record fuzz target, shared by the fuzzer (`examples/fuzz_volume.rs`) and the
//! corpus replay (`tests/fuzz_corpus.rs`): the input is a disc's `discvault/volume.json`, read
//! as restore reads it without a catalog (who the disc is, then the pick lists of a pattern and
//! of the whole volume, every target path checked to stay inside the restore folder).

use discvault::format::VolumeRecord;
use discvault::restore::{pick_from_records, safe_target, Selection};
use discvault::source::DiscIdentity;

/// The seeds: records as discvault writes them, with a split file, a name that is not UTF-8,
/// a link with a non-UTF-8 target, recovery data and a parity group.
pub fn seeds() -> Vec<Vec<u8>> {
    let file = |path: &str, size: u64, part: Option<(u32, u32, u64, u64)>| {
        let mut f = serde_json::json!({
            "collection": "文书档案",
            "path": path,
            "kind": "file",
            "disc_path": format!("data/文书档案/{path}"),
            "version": 1,
            "size": size,
            "mtime": 1_700_000_000,
            "mode": 0o644,
            "digests": {"sha256": "ab".repeat(32), "md5": "cd".repeat(16)},
        });
        if let Some((index, count, offset, length)) = part {
            f["part"] = serde_json::json!({
                "index": index, "count": count, "offset": offset, "length": length,
                "digests": {"sha256": "ef".repeat(32)},
            });
            f["disc_path"] = format!("data/文书档案/{path}.part-{index:02}-of-{count:02}").into();
        }
        f
    };
    let record = serde_json::json!({
        "format": "discvault-volume",
        "format_version": 2,
        "vault_id": "614fbb0f-cdfa-43f4-aed9-6925778e2dfc",
        "volume_id": "DV-000001",
        "seq": 1,
        "seq_count": 2,
        "plan_id": 1,
        "media": "dvd5",
        "capacity_sectors": 2_295_104,
        "created_at": "2026-12-01T00:00:00Z",
        "software": "discvault 0.1.0",
        "collections": [{"name": "文书档案", "fonds": "J001", "series": "", "retention": "30年", "metadata": {"保管期限": "30年"}}],
        "files": [
            file("2024/卷001/关于档案数字化工作的通知.pdf", 3000, None),
            file("2024/大文件.tif", 5_000_000_000, Some((1, 2, 0, 4_000_000_000))),
            {
                "collection": "文书档案", "path": "gbk-\\xB5\\xB5.txt", "path_hex": "67626b2db5b52e747874",
                "kind": "file", "disc_path": "data/文书档案/gbk-\\xB5\\xB5.txt", "version": 2, "size": 4,
                "mtime": 0, "mode": 0o600, "digests": {"sha256": "00".repeat(32)},
            },
            {
                "collection": "文书档案", "path": "link", "kind": "symlink", "version": 1, "size": 0,
                "mtime": 0, "mode": 0o777, "link_target": "../\\xB5", "link_target_hex": "2e2e2fb5",
                "digests": {},
            },
        ],
        "recovery": {"format": "PAR2 2.0", "folder": "recovery", "redundancy_permille": 100, "slices_per_set": 1000, "protects": "every file"},
        "parity_group": {"set": "recovery/DV-000001_DV-000002.par2", "parity_discs": ["DV-000003"]},
    });
    let pretty = serde_json::to_vec_pretty(&record).unwrap();
    let compact = serde_json::to_vec(&record).unwrap();
    vec![pretty, compact]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not a volume record (errors are fine).
    Refused,
    /// A volume record whose pick lists could not be made (a bad hex name: an error).
    Parsed,
    /// Both pick lists made, every target checked.
    Picked,
}

/// Runs one input: errors are fine, a panic is a finding.
pub fn run(data: &[u8]) -> Outcome {
    let _ = serde_json::from_slice::<DiscIdentity>(data);
    let Ok(rec) = serde_json::from_slice::<VolumeRecord>(data) else {
        return Outcome::Refused;
    };
    let records = [rec];
    let mut outcome = Outcome::Picked;
    for sel in [
        Selection::Pattern("文书档案/2024".into()),
        Selection::Pattern("*".into()),
        Selection::Volume(records[0].volume_id.clone()),
    ] {
        match pick_from_records(&records, &sel) {
            Ok(list) => {
                for f in &list.files {
                    // Whatever the record says, a target stays inside the folder or is refused.
                    if let Ok(t) =
                        safe_target(std::path::Path::new("/r"), &f.collection, &f.path_raw)
                    {
                        assert!(t.starts_with("/r/"), "{t:?} leaves the restore folder");
                    }
                }
            }
            Err(_) => outcome = Outcome::Parsed,
        }
    }
    outcome
}
