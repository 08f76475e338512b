//! Repair from drives that cannot read some sectors: the unreadable sectors of one copy are
//! taken from another, and the image comes out as mastered. Read errors are made by a device
//! that fails on chosen sectors (no drive with bad sectors is at hand), around a real image.

use discvault::ingest::{self, AddOptions};
use discvault::master::{self, MasterOptions};
use discvault::plan::{self, PlanOptions};
use discvault::progress::NoProgress;
use discvault::repair::{repair_from, RepairOptions};
use discvault::scan::{FileDevice, SectorDevice, SECTOR};
use discvault::Vault;
use std::path::{Path, PathBuf};

/// An image whose sectors in `bad` fail to read, as a scratched disc in a drive.
struct Scratched {
    inner: FileDevice,
    bad: std::ops::Range<u64>,
}

impl SectorDevice for Scratched {
    fn name(&self) -> String {
        format!("{} (sectors {:?} unreadable)", self.inner.name(), self.bad)
    }
    fn size(&self) -> u64 {
        self.inner.size()
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        let first = offset / SECTOR;
        let last = (offset + buf.len() as u64).div_ceil(SECTOR);
        if first < self.bad.end && self.bad.start < last {
            return Err(std::io::Error::from_raw_os_error(5)); // EIO
        }
        self.inner.read_at(buf, offset)
    }
    fn parallel(&self) -> bool {
        false
    }
}

fn sha256(p: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(p).unwrap()))
}

#[test]
fn unreadable_sectors_of_one_copy_are_read_from_another() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("c");
    std::fs::create_dir_all(&src).unwrap();
    let record: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(src.join("录像.bin"), &record).unwrap();
    std::fs::write(src.join("small.txt"), b"small").unwrap();
    let vault = Vault::init(&t.path().join("vault")).unwrap();
    ingest::add(
        &vault,
        std::slice::from_ref(&src),
        &AddOptions::default(),
        &NoProgress,
    )
    .unwrap();
    // Without recovery data: only the other copy can give the lost sectors back.
    let p = plan::plan(
        &vault,
        &PlanOptions {
            media: Some("cd74".into()),
            redundancy_percent: Some(0.0),
            ..Default::default()
        },
    )
    .unwrap();
    plan::execute(&vault, &p).unwrap();
    let out = t.path().join("img");
    let m = master::master(
        &vault,
        &MasterOptions {
            out: out.clone(),
            ..Default::default()
        },
        &NoProgress,
    )
    .unwrap();
    let img = m[0].image.clone();
    let data = std::fs::read(&img).unwrap();
    let at = data.windows(64).position(|w| w == &record[..64]).unwrap() as u64 / SECTOR;
    let copies = |a: std::ops::Range<u64>, b: std::ops::Range<u64>| -> Vec<Box<dyn SectorDevice>> {
        vec![
            Box::new(Scratched {
                inner: FileDevice::open(&img).unwrap(),
                bad: a,
            }),
            Box::new(Scratched {
                inner: FileDevice::open(&img).unwrap(),
                bad: b,
            }),
        ]
    };
    let opts = RepairOptions {
        sources: vec![PathBuf::from("drive-1"), PathBuf::from("drive-2")],
        volume: Some(m[0].volume_id.clone()),
        to: t.path().join("repaired"),
        retries: 1,
    };

    // Both copies have lost the same sectors: the record is lost, nothing is written.
    let r = repair_from(
        &vault,
        &opts,
        copies(at + 10..at + 20, at + 15..at + 30),
        &NoProgress,
    )
    .unwrap();
    assert!(!r.repairable);
    assert_eq!(r.lost, ["data/c/录像.bin"]);
    assert_eq!(r.copies[0].bad_sectors.0, [(at + 10, at + 20)]);
    assert!(r.image.is_none());

    // Different sectors: merged, and the image is the one mastered.
    let r = repair_from(
        &vault,
        &opts,
        copies(at + 10..at + 20, at + 100..at + 300),
        &NoProgress,
    )
    .unwrap();
    assert!(r.repairable, "{r:?}");
    assert_eq!(r.merged, ["data/c/录像.bin"]);
    assert_eq!(r.copies[1].records_damaged, ["data/c/录像.bin"]);
    let image = r.image.unwrap();
    assert_eq!(sha256(&image), m[0].image_sha256);
}
