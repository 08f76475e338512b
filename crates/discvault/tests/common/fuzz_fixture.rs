//! A small vault with one mastered disc and placed copies, made with discvault's own code, for
//! the seeds (and, for the CSV imports, the catalog) of the fuzz targets of files discvault
//! writes and reads back: the disc's manifests and catalog snapshot, and slot maps.

#![allow(dead_code)]

use discvault::cabinet;
use discvault::copies::{self, AddCopiesOptions, PlaceInput};
use discvault::digest::HashAlg;
use discvault::ingest::{self, AddOptions};
use discvault::master::{self, MasterOptions};
use discvault::plan::{self, PlanOptions};
use discvault::progress::NoProgress;
use discvault::source::{self, DiscSource};
use discvault::Vault;
use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

pub struct Fixture {
    /// The vault's folder.
    pub vault: PathBuf,
    pub volume_id: String,
    /// The files at the disc's root and in `discvault/` (tag files, manifests, volume record,
    /// catalog snapshot), by path on the disc, as read back from the image.
    pub tag_files: BTreeMap<String, Vec<u8>>,
    /// `cabinet export` of the cabinet holding the copies (UTF-8 with a byte order mark).
    pub slot_map: Vec<u8>,
    /// Copy ids and barcodes of the copies.
    pub copies: Vec<(String, String)>,
}

/// Builds the fixture in `dir` (empty or absent): records with Chinese names, a name with a
/// `%` and blanks, a name that is not UTF-8, nested folders; three digests each (three
/// manifests); one CD volume with its PAR2 data; three copies placed in two cabinets.
pub fn build(dir: &Path) -> Fixture {
    let _ = std::fs::remove_dir_all(dir);
    let src = dir.join("src/文书档案");
    std::fs::create_dir_all(src.join("2024/卷001")).unwrap();
    std::fs::write(
        src.join("2024/卷001/关于档案数字化工作的通知.pdf"),
        b"%PDF-1.4 notice".repeat(40),
    )
    .unwrap();
    std::fs::write(src.join("2024/50% of plan  .txt"), b"half\r\n").unwrap();
    std::fs::write(
        src.join(std::ffi::OsStr::from_bytes(b"gbk-\xb5\xb5.txt")),
        b"gbk",
    )
    .unwrap();
    std::fs::write(src.join("empty.txt"), b"").unwrap();
    let vault_dir = dir.join("vault");
    let vault = Vault::init(&vault_dir).unwrap();
    ingest::add(
        &vault,
        std::slice::from_ref(&src),
        &AddOptions {
            digests: vec![HashAlg::Sha256, HashAlg::Sm3, HashAlg::Md5],
            ..Default::default()
        },
        &NoProgress,
    )
    .unwrap();
    let p = plan::plan(
        &vault,
        &PlanOptions {
            media: Some("cd74".into()),
            ..Default::default()
        },
    )
    .unwrap();
    plan::execute(&vault, &p).unwrap();
    let images = master::master(
        &vault,
        &MasterOptions {
            out: dir.join("img"),
            ..Default::default()
        },
        &NoProgress,
    )
    .unwrap();
    let image = &images[0];
    let mut src = source::open_image(&image.image).unwrap();
    let mut tag_files = BTreeMap::new();
    for f in src.files().unwrap() {
        if f.path.starts_with(b"data/") || f.path.starts_with(b"recovery/") {
            continue;
        }
        let mut bytes = Vec::new();
        src.read(&f.path, &mut bytes).unwrap();
        tag_files.insert(String::from_utf8(f.path).unwrap(), bytes);
    }
    let mut copies_made = Vec::new();
    for (role, cabinet, slot, barcode) in [
        ("sealed", "光盘柜A", "1", "DV000001S"),
        ("access", "光盘柜A", "2", "DV000001A"),
        ("offsite", "异地柜1", "7", "DV000001O"),
    ] {
        let c = copies::add(
            &vault,
            &image.volume_id,
            &AddCopiesOptions {
                roles: vec![role.into()],
                place: PlaceInput {
                    place: Some(format!("总馆/302室/{cabinet}/3/{slot}")),
                    ..Default::default()
                },
                barcode: Some(barcode.into()),
                ..Default::default()
            },
        )
        .unwrap();
        copies_made.push((c[0].copy_id.clone(), c[0].barcode.clone()));
    }
    let mut slot_map = Vec::new();
    cabinet::export(&vault, "光盘柜A", &mut slot_map).unwrap();
    Fixture {
        vault: vault_dir,
        volume_id: image.volume_id.clone(),
        tag_files,
        slot_map,
        copies: copies_made,
    }
}
