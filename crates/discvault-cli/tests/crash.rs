//! The crash harness: `kill -9` at many points of the commands that change a vault. After each
//! kill, `discvault check` finds the catalog whole, and running the command again ends as an
//! uninterrupted run ends (the same catalog counts, the same image bytes). The points are
//! spread over each command's measured duration by a fixed pseudo-random sequence, so a run is
//! reproducible; how many kills landed while the command was still running is printed (and
//! must be most of them).

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use testkit::*;

mod common;
use common::json;

fn write(path: &Path, data: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
}

/// A copy of a whole folder (a vault before the command, with its catalog wherever it is;
/// images), as it is.
fn copy_dir(from: &Path, to: &Path) {
    if to.exists() {
        fs::remove_dir_all(to).unwrap();
    }
    run(Command::new("cp").arg("-a").arg(from).arg(to));
    if from.join("discvault.toml").is_file() {
        common::copy_catalog(from, to);
    }
}

/// `discvault` with a fixed planning time, so that plans made in different runs (a migration
/// done again) give the same images.
fn dv(vault: &Path) -> Command {
    let mut c = common::dv(vault);
    c.env("SOURCE_DATE_EPOCH", "1764547200");
    c
}

fn sha256(p: &Path) -> String {
    run(Command::new("sha256sum").arg(p))
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// The catalog must hold every check.
fn assert_whole(vault: &Path, what: &str) {
    let (rc, r) = json(dv(vault).arg("check"));
    assert_eq!(rc, 0, "{what}: check found: {r}");
}

/// What a finished run leaves, to compare runs by.
fn state(vault: &Path, images: &Path) -> Value {
    let (_, s) = json(dv(vault).arg("status"));
    let (_, copies) = json(dv(vault).args(["copies", "list"]));
    let copies: Vec<String> = copies
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| format!("{} {} {}", c["copy_id"], c["state"], c["place"]))
                .collect()
        })
        .unwrap_or_default();
    let mut imgs: Vec<(String, String)> = Vec::new();
    let mut litter: Vec<String> = Vec::new();
    for e in walkdir(images) {
        let name = e.file_name().unwrap().to_string_lossy().into_owned();
        let rel = e.strip_prefix(images).unwrap().display().to_string();
        if name.starts_with(".discvault-") {
            litter.push(rel);
        } else if name.ends_with(".iso") {
            imgs.push((rel, sha256(&e)));
        }
    }
    imgs.sort();
    litter.sort();
    serde_json::json!({
        "ingested": s["ingested"],
        "unplanned": s["unplanned"],
        "planned": s["planned"],
        "mastered": s["mastered"],
        "volumes": s["volumes"],
        "images": imgs,
        "litter": litter,
        "copies": copies,
    })
}

/// Every file and folder below `dir`.
fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(dir) else {
        return out;
    };
    for e in rd.filter_map(|e| e.ok()) {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        // A simulated publisher's own folder (`hot`) is its business, not the vault's.
        if name == "hot" {
            continue;
        }
        if e.file_type().unwrap().is_dir() && !name.starts_with(".discvault-") {
            out.extend(walkdir(&p));
        }
        out.push(p);
    }
    out
}

/// A tiny fixed sequence of pseudo-random numbers (xorshift), for reproducible kill points.
struct Points(u64);

impl Points {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below.max(1)
    }
}

/// One command of the harness: how to run it on a vault (its images folder beside it).
struct Op {
    name: &'static str,
    kills: usize,
    args: fn(&Path, &Path) -> Command,
    /// A disc publisher simulated on `<images>/hot` while the command runs (tdbridge, ptburn).
    sim: Option<&'static str>,
}

/// A simulated disc publisher, stopped when dropped.
struct Sim(Option<std::process::Child>);

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            c.kill().ok();
            c.wait().ok();
        }
    }
}

fn simulate(op: &Op, images: &Path) -> Sim {
    Sim(op.sim.map(|kind| {
        let hot = images.join("hot");
        fs::create_dir_all(&hot).unwrap();
        Command::new(env!("CARGO_BIN_EXE_discvault"))
            .args(["-q", "simulate", kind])
            .arg(&hot)
            .args(["--disc-seconds", "0.05"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }))
}

/// Runs `op` to its end on a copy of `before`, then `kills` times: a fresh copy, the command
/// killed with SIGKILL at a point within its measured duration, `check`, the command again;
/// the end state must be the uninterrupted one. Returns (kills, kills that landed mid-run).
fn harness(work: &Path, before: &Path, images_before: &Path, op: &Op, seed: u64) -> (usize, usize) {
    let vault = work.join(format!("{}-vault", op.name));
    let images = work.join(format!("{}-images", op.name));
    copy_dir(before, &vault);
    copy_dir(images_before, &images);
    let sim = simulate(op, &images);
    let t0 = Instant::now();
    let out = output(&mut (op.args)(&vault, &images));
    let took = t0.elapsed();
    drop(sim);
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 3),
        "{}: {}",
        op.name,
        String::from_utf8_lossy(&out.stderr)
    );
    let want = state(&vault, &images);
    let mut points = Points(seed);
    let mut landed = 0;
    for k in 0..op.kills {
        copy_dir(before, &vault);
        copy_dir(images_before, &images);
        let _sim = simulate(op, &images);
        let at = Duration::from_micros(points.next(took.as_micros() as u64 + 1));
        let mut child = (op.args)(&vault, &images)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(at);
        if child.try_wait().unwrap().is_none() {
            landed += 1;
        }
        child.kill().ok();
        child.wait().unwrap();
        let what = format!("{} killed at {:?} (kill {k})", op.name, at);
        assert_whole(&vault, &what);
        let again = output(&mut (op.args)(&vault, &images));
        assert!(
            again.status.code().is_some_and(|c| c == 0 || c == 3),
            "{what}: the rerun failed: {}",
            String::from_utf8_lossy(&again.stderr)
        );
        assert_whole(&vault, &format!("{what}, after the rerun"));
        assert_eq!(
            state(&vault, &images),
            want,
            "{what}: the rerun ends differently; it said:\n{}\n{}",
            String::from_utf8_lossy(&again.stdout),
            String::from_utf8_lossy(&again.stderr)
        );
    }
    (op.kills, landed)
}

#[test]
fn kill_9_anywhere_leaves_a_whole_catalog_and_the_rerun_ends_the_same() {
    let t = tempfile::tempdir().unwrap();
    let w = t.path();
    let src = w.join("全宗-J001");
    for i in 0..60u64 {
        let size = if i % 10 == 0 {
            4 << 20
        } else {
            20_000 + i as usize * 97
        };
        write(
            &src.join(format!("{}/卷{:03}/文件-{i:04}.bin", 2020 + i % 4, i % 7)),
            &pseudo_random(size, i),
        );
    }
    let empty = w.join("empty-images");
    fs::create_dir_all(&empty).unwrap();

    // The states before each command.
    let fresh = w.join("fresh");
    run(dv(&fresh).arg("init"));
    let added = w.join("added");
    copy_dir(&fresh, &added);
    run(dv(&added).arg("add").arg(&src));
    let planned = w.join("planned");
    copy_dir(&added, &planned);
    run(dv(&planned).args(["plan", "--media", "custom:20000000"]));
    let mastered = w.join("mastered");
    let mastered_images = w.join("mastered-images");
    copy_dir(&planned, &mastered);
    run(dv(&mastered)
        .arg("master")
        .arg("--out")
        .arg(&mastered_images));
    // A damaged copy of the first disc, to repair from.
    let damaged = w.join("damaged-images");
    copy_dir(&mastered_images, &damaged);
    let img = damaged.join("DV-000001.iso");
    let mut bytes = fs::read(&img).unwrap();
    let n = bytes.len();
    for b in &mut bytes[n / 2..n / 2 + 300_000] {
        *b ^= 0x5a;
    }
    fs::write(&img, &bytes).unwrap();

    // Copies registered in a cabinet, and the cabinet's inventory: one disc moved, one not seen.
    let placed = w.join("placed");
    copy_dir(&mastered, &placed);
    for (v, slot) in [("DV-000001", "1"), ("DV-000001", "2"), ("DV-000002", "3")] {
        run(dv(&placed).args([
            "copies",
            "add",
            v,
            "--roles",
            "sealed",
            "--place",
            &format!("总馆/库房/柜A/1/{slot}"),
        ]));
    }
    let csv = w.join("inventory.csv");
    fs::write(
        &csv,
        "copy_id,barcode,rfid,cabinet,shelf,slot\nDV-000001-C1,DV-000001-C1,,柜A,1,1\nDV-000002-C1,DV-000002-C1,,柜A,2,7\n",
    )
    .unwrap();
    std::env::set_var("CRASH_CSV", &csv);
    // For the disc publishers: one trusted copy per volume is the policy, the hot folder is
    // looked at every 50 ms.
    let one_copy = w.join("one-copy");
    copy_dir(&mastered, &one_copy);
    let cfg = one_copy.join("discvault.toml");
    let text = fs::read_to_string(&cfg)
        .unwrap()
        .replace("min_trusted_copies = 3", "min_trusted_copies = 1")
        .replace("min_sites = 2", "min_sites = 1")
        .replace("poll_ms = 500", "poll_ms = 50");
    fs::write(&cfg, text).unwrap();

    let src2 = src.clone();
    let ops = [
        (
            Op {
                name: "add",
                kills: 20,
                sim: None,
                args: |v, _| {
                    let mut c = dv(v);
                    c.arg("add").arg(std::env::var("CRASH_SRC").unwrap());
                    c
                },
            },
            &fresh,
            &empty,
        ),
        (
            Op {
                name: "plan",
                kills: 15,
                sim: None,
                args: |v, _| {
                    let mut c = dv(v);
                    c.args(["plan", "--media", "custom:20000000"]);
                    c
                },
            },
            &added,
            &empty,
        ),
        (
            Op {
                name: "master",
                kills: 30,
                sim: None,
                args: |v, i| {
                    let mut c = dv(v);
                    c.arg("master").arg("--out").arg(i);
                    c
                },
            },
            &planned,
            &empty,
        ),
        (
            Op {
                name: "repair",
                kills: 20,
                sim: None,
                args: |v, i| {
                    let mut c = dv(v);
                    c.arg("repair")
                        .arg(i.join("DV-000001.iso"))
                        .arg("--to")
                        .arg(i.join("repaired"));
                    c
                },
            },
            &mastered,
            &damaged,
        ),
        (
            Op {
                name: "publish",
                kills: 15,
                sim: None,
                args: |v, i| {
                    let mut c = dv(v);
                    // Without volumes: every mastered volume short of the copy policy, so
                    // that a rerun does what is left and no more.
                    c.arg("publish")
                        .arg("--to")
                        .arg(format!("images:{}", i.display()));
                    c
                },
            },
            &mastered,
            &empty,
        ),
        (
            Op {
                name: "migrate",
                kills: 15,
                sim: None,
                args: |v, i| {
                    let mut c = dv(v);
                    c.args([
                        "migrate",
                        "--obsolete",
                        "custom:20000000",
                        "--to-media",
                        "cd74",
                    ])
                    .arg("--from")
                    .arg(i.join("DV-000001.iso"))
                    .arg(i.join("DV-000002.iso"))
                    .arg("--out")
                    .arg(i.join("new"));
                    c
                },
            },
            &placed,
            &mastered_images,
        ),
        (
            Op {
                name: "cabinet-import",
                kills: 10,
                sim: None,
                args: |v, _| {
                    let mut c = dv(v);
                    c.args(["cabinet", "import"])
                        .arg(std::env::var("CRASH_CSV").unwrap());
                    c
                },
            },
            &placed,
            &empty,
        ),
        (
            Op {
                name: "publish-tdbridge",
                kills: 8,
                sim: Some("tdbridge"),
                args: |v, i| {
                    let mut c = dv(v);
                    c.arg("publish")
                        .arg("--to")
                        .arg(format!("tdbridge:{}", i.join("hot").display()))
                        .args(["--give-up-after", "60"]);
                    c
                },
            },
            &one_copy,
            &empty,
        ),
        (
            Op {
                name: "publish-ptburn",
                kills: 8,
                sim: Some("ptburn"),
                args: |v, i| {
                    let mut c = dv(v);
                    c.arg("publish")
                        .arg("--to")
                        .arg(format!("ptburn:{}", i.join("hot").display()))
                        .args(["--give-up-after", "60"]);
                    c
                },
            },
            &one_copy,
            &empty,
        ),
    ];
    std::env::set_var("CRASH_SRC", &src2);
    let (mut total, mut landed) = (0, 0);
    // CRASH_ONLY=master,repair runs those commands only (their kills do not add up to 141).
    let only = std::env::var("CRASH_ONLY").ok();
    for (k, (op, before, images)) in ops.iter().enumerate() {
        if only
            .as_ref()
            .is_some_and(|o| !o.split(',').any(|x| x == op.name))
        {
            continue;
        }
        let (n, l) = harness(w, before, images, op, 0x9e37_79b9_7f4a_7c15 ^ k as u64);
        eprintln!("{}: {n} kills, {l} while it ran", op.name);
        total += n;
        landed += l;
    }
    eprintln!("crash harness: {total} kills, {landed} while the command ran");
    if only.is_some() {
        return;
    }
    assert!(total >= 141);
    assert!(
        landed * 2 >= total,
        "most kills land while the command runs"
    );
    let _: PathBuf = src2;
}

#[test]
fn check_names_what_is_broken_in_a_catalog() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("文书");
    write(&src.join("a.txt"), b"a\n");
    write(&src.join("b/c.txt"), b"c\n");
    let vault = t.path().join("vault");
    let (rc, r) = common::archive(&vault, &src, "cd74", &t.path().join("img"));
    assert_eq!(rc, 0, "{r}");
    run(dv(&vault).args(["copies", "add", "DV-000001", "--roles", "sealed"]));
    assert_whole(&vault, "a fresh archive");
    let sql = |q: &str| common::sql(&vault, q);
    // A mastered volume without its digest, a verified copy nobody checked, an edited event.
    sql("UPDATE volumes SET image_sha256 = NULL WHERE volume_id = 'DV-000001'");
    sql("UPDATE copies SET state = 'verified'");
    sql("UPDATE events SET detail = 'edited' WHERE id = 2");
    // Two discs in one slot (written into the table by another tool).
    run(dv(&vault).args([
        "copies",
        "add",
        "DV-000001",
        "--roles",
        "access",
        "--place",
        "总馆/A/柜1/1/2",
    ]));
    run(dv(&vault).args([
        "copies",
        "add",
        "DV-000001",
        "--roles",
        "offsite",
        "--place",
        "总馆/A/柜1/1/3",
    ]));
    sql("UPDATE copies SET slot = '2' WHERE slot = '3'");
    let (rc, r) = json(dv(&vault).arg("check"));
    assert_eq!(rc, 3, "{r}");
    let broken: Vec<(String, Vec<String>)> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["problems"].as_array().unwrap().is_empty())
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["problems"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    let names: Vec<&str> = broken.iter().map(|b| b.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "the audit trail's hash chain is intact",
            "a mastered volume has its image's sha256 and size",
            "a verified copy has the event of its check",
            "a cabinet slot holds one disc",
        ],
        "{r}"
    );
    assert_eq!(broken[1].1, ["DV-000001"]);
    assert_eq!(broken[2].1, ["DV-000001-C1"]);
    assert_eq!(broken[3].1, ["总馆/A/柜1/1/2"]);
}
