//! A PAR2 file is input from a disc: crafted or damaged fields must give a clear
//! `Error::Format` naming the file and the field, never a panic, a hang or an allocation
//! beyond the budget. Each case starts from a real set made by `create`, patches one field and
//! fixes up the packet's MD5, so that the hostile field is what the reader meets.

use par2::packets::{self, Id};
use par2::{create, repair, verify, CreateOptions, Error, Input};
use std::fs;
use std::path::{Path, PathBuf};
use testkit::pseudo_random as bytes;

/// One packet of a file: kind, set id, body.
#[derive(Clone)]
struct Pkt {
    kind: [u8; 16],
    set: Id,
    body: Vec<u8>,
}

/// The packets of a PAR2 file written by `create` (all intact, back to back).
fn split(b: &[u8]) -> Vec<Pkt> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < b.len() {
        let len = u64::from_le_bytes(b[at + 8..at + 16].try_into().unwrap()) as usize;
        out.push(Pkt {
            set: b[at + 32..at + 48].try_into().unwrap(),
            kind: b[at + 48..at + 64].try_into().unwrap(),
            body: b[at + 64..at + len].to_vec(),
        });
        at += len;
    }
    out
}

/// The packets again, each with a correct MD5.
fn join(p: &[Pkt]) -> Vec<u8> {
    p.iter()
        .flat_map(|p| packets::packet(&p.set, &p.kind, &p.body))
        .collect()
}

struct Fixture {
    _t: tempfile::TempDir,
    root: PathBuf,
    index: PathBuf,
    volume: PathBuf,
    /// The index file as `create` wrote it.
    original: Vec<u8>,
}

/// A set over two files (6 and 2 slices of 4096 bytes), 3 recovery slices.
fn fixture() -> Fixture {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("disc");
    fs::create_dir_all(root.join("sub")).unwrap();
    let names = ["a.bin".to_string(), "sub/b.bin".to_string()];
    fs::write(root.join(&names[0]), bytes(6 * 4096 - 100, 1)).unwrap();
    fs::write(root.join(&names[1]), bytes(2 * 4096, 2)).unwrap();
    let inputs: Vec<Input> = names
        .iter()
        .map(|n| Input::file(n.clone(), root.join(n)))
        .collect();
    let c = create(
        &inputs,
        &t.path().join("rec"),
        "set",
        &CreateOptions {
            slice_size: Some(4096),
            recovery_slices: Some(3),
            ..Default::default()
        },
    )
    .unwrap();
    Fixture {
        root,
        index: c.files[0].clone(),
        volume: c.files[1].clone(),
        original: fs::read(&c.files[0]).unwrap(),
        _t: t,
    }
}

impl Fixture {
    fn packets(&self) -> Vec<Pkt> {
        split(&self.original)
    }
    /// Rewrites the index file with `p` and verifies with it alone.
    fn verify_with(&self, p: &[Pkt]) -> par2::Result<par2::SetReport> {
        fs::write(&self.index, join(p)).unwrap();
        verify(
            std::slice::from_ref(&self.index),
            std::slice::from_ref(&self.root),
        )
    }
}

fn kind(p: &Pkt) -> &'static str {
    match &p.kind {
        k if k == packets::TYPE_MAIN => "main",
        k if k == packets::TYPE_FILE_DESC => "desc",
        k if k == packets::TYPE_IFSC => "ifsc",
        k if k == packets::TYPE_RECOVERY => "recovery",
        _ => "other",
    }
}

fn find(p: &[Pkt], k: &str) -> usize {
    p.iter().position(|x| kind(x) == k).unwrap()
}

/// Asserts a `Format` error naming `file` whose detail holds every one of `words`.
#[track_caller]
fn assert_format<T: std::fmt::Debug>(r: par2::Result<T>, file: &Path, words: &[&str]) {
    match r {
        Err(Error::Format { file: f, detail }) => {
            assert_eq!(f, file.display().to_string(), "{detail}");
            for w in words {
                assert!(detail.contains(w), "{w:?} not in {detail:?}");
            }
        }
        other => panic!("expected a format error with {words:?}, got {other:?}"),
    }
}

#[test]
fn the_fixture_verifies_intact() {
    let f = fixture();
    let r = f.verify_with(&f.packets()).unwrap();
    assert_eq!((r.input_slices, r.missing_slices), (8, 0));
    // Every packet once more, identical: still one set (duplicates that agree are fine).
    let mut twice = f.packets();
    twice.extend(f.packets());
    let r = f.verify_with(&twice).unwrap();
    assert_eq!((r.input_slices, r.files.len()), (8, 2));
}

#[test]
fn slice_size_zero_odd_and_huge_are_refused() {
    for (slice, words) in [
        (0u64, &["slice size 0", "multiple of 4"][..]),
        (4098, &["slice size 4098", "multiple of 4"][..]),
        (1 << 40, &["slice size 1099511627776", "memory budget"][..]),
    ] {
        let f = fixture();
        let mut p = f.packets();
        let m = find(&p, "main");
        p[m].body[..8].copy_from_slice(&slice.to_le_bytes());
        assert_format(f.verify_with(&p), &f.index, words);
    }
}

#[test]
fn file_counts_beyond_the_ids_or_the_limit_are_refused() {
    let f = fixture();
    let mut p = f.packets();
    let m = find(&p, "main");
    p[m].body[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_format(
        f.verify_with(&p),
        &f.index,
        &["main packet", "file count 4294967295"],
    );

    // A main packet listing 40,000 (distinct) files: more than PAR2's input slices.
    let mut p = f.packets();
    let m = find(&p, "main");
    let n = 40_000u32;
    let mut body = p[m].body[..8].to_vec();
    body.extend_from_slice(&n.to_le_bytes());
    for i in 0..n {
        body.extend_from_slice(&packets::md5(&i.to_le_bytes()));
    }
    p[m].body = body;
    assert_format(
        f.verify_with(&p),
        &f.index,
        &["main packet", "file count 40000"],
    );

    // A file id listed twice.
    let mut p = f.packets();
    let m = find(&p, "main");
    let first: Vec<u8> = p[m].body[12..28].to_vec();
    p[m].body[28..44].copy_from_slice(&first);
    assert_format(
        f.verify_with(&p),
        &f.index,
        &["main packet", "listed twice"],
    );
}

#[test]
fn packet_lengths_too_small_huge_or_unaligned_make_the_packet_damaged() {
    for len in [0u64, 8, 63, 66, 1 << 62, u64::MAX, u64::MAX - 3] {
        let f = fixture();
        let mut b = join(&f.packets());
        // The main packet is the first: its length field is at 8.
        assert_eq!(&b[48..64], packets::TYPE_MAIN);
        b[8..16].copy_from_slice(&len.to_le_bytes());
        fs::write(&f.index, &b).unwrap();
        let r = verify(
            std::slice::from_ref(&f.index),
            std::slice::from_ref(&f.root),
        );
        assert_format(r, &f.index, &["no intact main packet"]);
    }
}

#[test]
fn truncated_files_lose_their_last_packets() {
    let f = fixture();
    let p = f.packets();
    let full = join(&p);
    // The creator packet comes last: losing it loses nothing.
    assert_eq!(kind(&p[p.len() - 1]), "other");
    fs::write(&f.index, &full[..full.len() - 1]).unwrap();
    assert!(verify(
        std::slice::from_ref(&f.index),
        std::slice::from_ref(&f.root)
    )
    .is_ok());
    let critical = full.len() - packets::packet(&p[0].set, &p[0].kind, &p[p.len() - 1].body).len();
    for cut in [10, 64, 100, full.len() / 2, critical - 1] {
        fs::write(&f.index, &full[..cut]).unwrap();
        let r = verify(
            std::slice::from_ref(&f.index),
            std::slice::from_ref(&f.root),
        );
        let Err(Error::Format { detail, .. }) = r else {
            panic!("cut at {cut}: {r:?}");
        };
        assert!(
            detail.contains("no intact main packet") || detail.contains("are missing"),
            "{detail}"
        );
    }
}

#[test]
fn a_huge_file_length_is_refused_before_anything_is_allocated() {
    let f = fixture();
    let mut p = f.packets();
    let d = find(&p, "desc");
    p[d].body[48..56].copy_from_slice(&(1u64 << 60).to_le_bytes());
    assert_format(
        f.verify_with(&p),
        &f.index,
        &[
            "file description",
            "length 1152921504606846976",
            "input slices",
        ],
    );
}

#[test]
fn slice_checksums_must_match_the_file_length() {
    // One checksum fewer, one more.
    for delta in [-1i32, 1] {
        let f = fixture();
        let mut p = f.packets();
        let i = find(&p, "ifsc");
        let n = (p[i].body.len() - 16) / 20;
        if delta < 0 {
            p[i].body.truncate(16 + (n - 1) * 20);
        } else {
            let last = p[i].body[p[i].body.len() - 20..].to_vec();
            p[i].body.extend_from_slice(&last);
        }
        let want = format!("{} checksums for {n} slices", (n as i32 + delta));
        assert_format(f.verify_with(&p), &f.index, &["IFSC", &want]);
    }
}

#[test]
fn conflicting_packets_are_refused() {
    // A second description of the first file, with another length.
    let f = fixture();
    let mut p = f.packets();
    let d = find(&p, "desc");
    let mut other = p[d].clone();
    other.body[48..56].copy_from_slice(&5u64.to_le_bytes());
    p.push(other);
    assert_format(
        f.verify_with(&p),
        &f.index,
        &["file description of", "differ"],
    );

    // A second main packet of the same set with another slice size.
    let mut p = f.packets();
    let m = find(&p, "main");
    let mut other = p[m].clone();
    other.body[..8].copy_from_slice(&8192u64.to_le_bytes());
    p.push(other);
    assert_format(f.verify_with(&p), &f.index, &["main packet", "differ"]);

    // Other checksums for a file.
    let mut p = f.packets();
    let i = find(&p, "ifsc");
    let mut other = p[i].clone();
    other.body[20] ^= 1;
    p.push(other);
    assert_format(f.verify_with(&p), &f.index, &["IFSC", "differ"]);

    // Conflicting packets in another PAR2 file are named by that file.
    let p = f.packets();
    let d = find(&p, "desc");
    let mut other = p[d].clone();
    other.body[16] ^= 1;
    let second = f.index.with_file_name("other.par2");
    fs::write(&second, join(&[other])).unwrap();
    fs::write(&f.index, join(&p)).unwrap();
    let r = verify(
        &[f.index.clone(), second.clone()],
        std::slice::from_ref(&f.root),
    );
    assert_format(r, &second, &["file description of", "differ"]);

    // Two files given one name.
    let mut p = f.packets();
    let descs: Vec<usize> = (0..p.len()).filter(|&i| kind(&p[i]) == "desc").collect();
    let name0 = p[descs[0]].body[56..].to_vec();
    p[descs[1]].body.truncate(56);
    p[descs[1]].body.extend_from_slice(&name0);
    assert_format(f.verify_with(&p), &f.index, &["given to two files"]);
}

#[test]
fn names_that_leave_the_folder_or_hold_nul_are_refused() {
    for bad in [
        &b"../escape"[..],
        b"/etc/passwd",
        b"a/../../b",
        b"a//b",
        b"./a",
        b"a/./b",
        b"a\0b",
        b"bad-\xff\xfe",
        b"\0\0\0\0",
    ] {
        let f = fixture();
        let mut p = f.packets();
        let d = find(&p, "desc");
        p[d].body.truncate(56);
        p[d].body.extend_from_slice(bad);
        let r = f.verify_with(&p);
        let Err(Error::Format { file, detail }) = r else {
            panic!("{bad:?}: {r:?}");
        };
        assert_eq!(file, f.index.display().to_string());
        assert!(detail.contains("file description of"), "{detail}");
        assert!(
            detail.contains("not a plain relative path"),
            "{bad:?}: {detail}"
        );
    }
}

#[test]
fn headers_overlapping_each_other_are_not_hashed_forever() {
    // A header every 16 bytes, each claiming the rest of the file: hashing each claim would be
    // quadratic. The scan gives up after a bounded number of bytes.
    let t = tempfile::tempdir().unwrap();
    let size = 2usize << 20;
    let mut b = vec![0u8; size];
    for at in (0..size - 64).step_by(16) {
        b[at..at + 8].copy_from_slice(packets::MAGIC);
    }
    // Each header's length field lies at +8: the rest of the file from there.
    for at in (0..size - 64).step_by(16) {
        let len = (size - at) as u64 & !3;
        b[at + 8..at + 16].copy_from_slice(&len.to_le_bytes());
    }
    let p = t.path().join("x.par2");
    fs::write(&p, &b).unwrap();
    let started = std::time::Instant::now();
    let r = packets::scan(&p);
    assert_format(r, &p, &["damaged packets"]);
    assert!(started.elapsed().as_secs() < 60);
}

#[test]
fn recovery_packets_of_unusable_exponents_or_sizes_are_not_counted() {
    let f = fixture();
    let mut v = split(&fs::read(&f.volume).unwrap());
    let r = (0..v.len())
        .filter(|&i| kind(&v[i]) == "recovery")
        .collect::<Vec<_>>();
    assert_eq!(r.len(), 3);
    // Exponent 65535 (its constants are those of exponent 0), and a slice of the wrong size.
    v[r[0]].body[..4].copy_from_slice(&65535u32.to_le_bytes());
    v[r[1]].body.truncate(4 + 2048);
    fs::write(&f.volume, join(&v)).unwrap();
    let rep = verify(
        &[f.index.clone(), f.volume.clone()],
        std::slice::from_ref(&f.root),
    )
    .unwrap();
    assert_eq!(rep.recovery_slices, 1);
}

#[test]
fn a_repair_matrix_beyond_the_budget_is_refused_before_it_is_allocated() {
    // 9,000 slices of 4 bytes, all missing, and 9,000 recovery packets (crafted: their data is
    // never reached): the matrix would take 324 MB, beyond the PAR2 files' size plus 256 MiB.
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), bytes(9000 * 4, 3)).unwrap();
    let c = create(
        &[Input::file("f", src.join("f"))],
        &t.path().join("rec"),
        "s",
        &CreateOptions {
            slice_size: Some(4),
            recovery_slices: Some(1),
            ..Default::default()
        },
    )
    .unwrap();
    let set = split(&fs::read(&c.files[0]).unwrap())[0].set;
    let extra: Vec<Pkt> = (1..9000u32)
        .map(|e| Pkt {
            kind: *packets::TYPE_RECOVERY,
            set,
            body: [e.to_le_bytes(), [0; 4]].concat(),
        })
        .collect();
    let more = t.path().join("rec/s.vol01+8999.par2");
    fs::write(&more, join(&extra)).unwrap();
    fs::remove_file(src.join("f")).unwrap();
    let files = vec![c.files[0].clone(), c.files[1].clone(), more];
    let r = verify(&files, std::slice::from_ref(&src)).unwrap();
    assert_eq!((r.missing_slices, r.recovery_slices), (9000, 9000));
    assert!(r.repairable);
    let out = t.path().join("out");
    assert_format(
        repair(&files, &[src], &out, 64 << 20),
        &files[0],
        &["matrix", "budget"],
    );
    assert!(!out.exists() || fs::read_dir(&out).unwrap().next().is_none());
}

#[test]
fn a_name_like_the_repairs_own_temporary_files_is_refused_by_repair() {
    let f = fixture();
    let mut p = f.packets();
    let d = find(&p, "desc");
    p[d].body.truncate(56);
    p[d].body.extend_from_slice(b"sub/.par2-partial-0");
    fs::write(&f.index, join(&p)).unwrap();
    let out = f.root.with_file_name("out");
    let r = repair(
        std::slice::from_ref(&f.index),
        std::slice::from_ref(&f.root),
        &out,
        0,
    );
    assert_format(r, &f.index, &[".par2-partial-", "temporary"]);
}

#[test]
fn many_recovery_packets_are_counted_in_linear_time() {
    // 150,000 recovery packets of 4-byte slices (10 MB), exponents 1..=65534 over and over:
    // each distinct exponent is counted once, without comparing every packet with every other.
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), bytes(400, 4)).unwrap();
    let c = create(
        &[Input::file("f", src.join("f"))],
        &t.path().join("rec"),
        "s",
        &CreateOptions {
            slice_size: Some(4),
            recovery_slices: Some(1),
            ..Default::default()
        },
    )
    .unwrap();
    let set = split(&fs::read(&c.files[0]).unwrap())[0].set;
    let many = t.path().join("rec/s.many.par2");
    let mut b = Vec::with_capacity(150_000 * 72);
    for k in 0..150_000u32 {
        let e = 1 + k % 65534;
        b.extend(packets::packet(
            &set,
            packets::TYPE_RECOVERY,
            &[e.to_le_bytes(), [0; 4]].concat(),
        ));
    }
    fs::write(&many, b).unwrap();
    let started = std::time::Instant::now();
    let r = verify(&[c.files[0].clone(), many], &[src]).unwrap();
    assert_eq!((r.recovery_slices, r.missing_slices), (65534, 0));
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
}
