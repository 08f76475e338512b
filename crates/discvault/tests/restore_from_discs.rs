//! What the command line used to decide itself, now the library's: the pick list of a restore
//! from discs (falling back to the discs' own records with no vault, or a vault that does not
//! know them), why a selection matched nothing, and the PREMIS export of the audit trail.

use discvault::ingest::{self, AddOptions};
use discvault::master::{self, MasterOptions};
use discvault::plan::{self, PlanOptions};
use discvault::progress::NoProgress;
use discvault::restore::{self, NoMatch, RestoreOptions, Selection};
use discvault::Vault;
use std::path::{Path, PathBuf};

/// A vault with two files on one mastered volume: the vault, the image, the volume id.
fn mastered(t: &Path) -> (Vault, PathBuf, String) {
    let src = t.join("c");
    std::fs::create_dir_all(src.join("信")).unwrap();
    std::fs::write(src.join("信/一.txt"), b"first letter").unwrap();
    std::fs::write(src.join("small.txt"), b"small").unwrap();
    let vault = Vault::init(&t.join("vault")).unwrap();
    ingest::add(
        &vault,
        std::slice::from_ref(&src),
        &AddOptions::default(),
        &NoProgress,
    )
    .unwrap();
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
    let m = master::master(
        &vault,
        &MasterOptions {
            out: t.join("img"),
            ..Default::default()
        },
        &NoProgress,
    )
    .unwrap();
    (vault, m[0].image.clone(), m[0].volume_id.clone())
}

#[test]
fn a_restore_from_discs_falls_back_to_their_own_records() {
    let t = tempfile::tempdir().unwrap();
    let (vault, img, volume) = mastered(t.path());
    let from = vec![img.clone()];
    let pattern = Selection::Pattern("c/信".into());

    // The vault knows the disc: the catalog's pick list, read from the disc at hand.
    let list = restore::pick_for_restore(Some(&vault), &pattern, None, &from).unwrap();
    assert!(!list.from_discs);
    assert_eq!(list.files.len(), 1);
    assert_eq!(list.volumes, std::slice::from_ref(&volume));

    // Without the discs, the catalog alone says which volumes are needed.
    let list = restore::pick_for_restore(Some(&vault), &pattern, None, &[]).unwrap();
    assert!(!list.from_discs);
    assert_eq!(list.volumes, std::slice::from_ref(&volume));

    // No vault at all: none is opened when discs are given, and their records are read.
    let nowhere = t.path().join("no-vault");
    assert!(restore::open_vault(&nowhere, None, &from)
        .unwrap()
        .is_none());
    assert!(matches!(
        restore::open_vault(&nowhere, None, &[]),
        Err(discvault::Error::NoVault(_))
    ));
    let list = restore::pick_for_restore(None, &pattern, None, &from).unwrap();
    assert!(list.from_discs);
    assert_eq!(list.files.len(), 1);
    assert_eq!(list.files[0].path, "信/一.txt");

    // A vault that does not know the volume: the discs' records too.
    let other = Vault::init(&t.path().join("other")).unwrap();
    let by_volume = Selection::Volume(volume.clone());
    let list = restore::pick_for_restore(Some(&other), &by_volume, None, &from).unwrap();
    assert!(list.from_discs);
    assert_eq!(list.files.len(), 2);
    // ... but without discs, that is an unknown volume.
    assert!(matches!(
        restore::pick_for_restore(Some(&other), &by_volume, None, &[]),
        Err(discvault::Error::UnknownVolume(_))
    ));

    // The list from the discs' records restores the files, checked.
    let to = t.path().join("restored");
    let r = restore::restore(
        None,
        &list,
        &RestoreOptions {
            to: to.clone(),
            from,
            ..Default::default()
        },
        &NoProgress,
    )
    .unwrap();
    assert_eq!(r.restored, 2, "{r:?}");
    assert!(!r.damaged && r.problems.is_empty() && r.missing_volumes.is_empty());
    assert_eq!(
        std::fs::read(to.join("c/信/一.txt")).unwrap(),
        b"first letter"
    );
}

#[test]
fn an_empty_pick_list_says_why() {
    let t = tempfile::tempdir().unwrap();
    let (vault, _, _) = mastered(t.path());
    let why = |p: &str, version: Option<i64>| {
        let sel = Selection::Pattern(p.into());
        let list = restore::pick_for_restore(Some(&vault), &sel, version, &[]).unwrap();
        assert!(list.files.is_empty(), "{p}");
        restore::no_match(Some(&vault), &sel, version).unwrap()
    };
    assert_eq!(
        why("nowhere", None),
        NoMatch::Nothing {
            pattern: "nowhere".into()
        }
    );
    // Contained in a path, but neither a prefix of folders nor a glob.
    let w = why("mall", None);
    assert_eq!(
        w,
        NoMatch::NotAPath {
            pattern: "mall".into()
        }
    );
    assert!(w.to_string().contains("'*mall*'"), "{w}");
    let w = why("small.txt", Some(7));
    assert_eq!(
        w,
        NoMatch::NoSuchVersion {
            pattern: "small.txt".into(),
            version: 7,
            example: "c/small.txt".into(),
            has: 1
        }
    );
    assert_eq!(
        w.to_string(),
        "no version 7 of the files matching \"small.txt\" (e.g. c/small.txt has v1; see `discvault locate --all-versions \"small.txt\"`)"
    );
    let v = Selection::Volume("X-1".into());
    assert_eq!(
        restore::no_match(None, &v, None).unwrap().to_string(),
        "volume X-1 holds no records"
    );
}

#[test]
fn the_audit_trail_is_exported_as_premis() {
    let t = tempfile::tempdir().unwrap();
    let (vault, _, volume) = mastered(t.path());
    let xml = discvault::audit::premis(&vault).unwrap();
    let events = vault.catalog.event_records().unwrap();
    assert!(xml.starts_with("<?xml"));
    assert_eq!(xml.matches("<premis:event>").count(), events.len());
    assert!(xml.contains(&format!(
        "<premis:objectIdentifierValue>{volume}</premis:objectIdentifierValue>"
    )));
    assert!(xml.contains(&format!(
        "<premis:objectIdentifierValue>{}</premis:objectIdentifierValue>",
        vault.root.display()
    )));
}
