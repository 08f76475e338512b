//! Helpers of the binary's integration tests: running `discvault` against a vault.
#![allow(dead_code)]

pub mod server;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `discvault --vault VAULT`, ignoring any DISCVAULT_VAULT of the environment. When the suite
/// runs on PostgreSQL (`DISCVAULT_TEST_POSTGRES`, set by scripts/test.sh), the vault's catalog
/// is a database of its own on that server (given as DISCVAULT_CATALOG, which `init` and
/// `archive` write into the new vault's discvault.toml).
pub fn dv(vault: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_discvault"));
    c.env_remove("DISCVAULT_VAULT")
        .env_remove("DISCVAULT_CATALOG")
        .arg("--vault")
        .arg(vault);
    if let Some(url) = catalog_url(vault) {
        c.env("DISCVAULT_CATALOG", url);
    }
    c
}

/// The admin URL of the PostgreSQL server the suite runs on, if it does.
pub fn postgres() -> Option<String> {
    std::env::var("DISCVAULT_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
}

/// The name of the PostgreSQL database of the vault at `vault`.
fn database_name(vault: &Path) -> String {
    let abs = std::path::absolute(vault).unwrap();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in abs.as_os_str().as_encoded_bytes() {
        h = (h ^ *b as u64).wrapping_mul(0x100_0000_01b3);
    }
    format!("dv_{:016x}_{}", h, std::process::id())
}

/// The databases this test process made.
fn made() -> std::sync::MutexGuard<'static, Vec<String>> {
    static MADE: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    MADE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Makes the database `name` on the server, once.
fn make_database(admin: &str, name: &str) {
    let mut made = made();
    if !made.iter().any(|m| m == name) {
        testkit::run(
            Command::new("psql")
                .arg(admin)
                .args(["-q", "-v", "ON_ERROR_STOP=1", "-c"])
                .arg(format!("CREATE DATABASE {name}")),
        );
        made.push(name.to_string());
    }
}

/// The PostgreSQL catalog of the vault at `vault` (a database made for it on first use), or
/// None on SQLite.
pub fn catalog_url(vault: &Path) -> Option<String> {
    let admin = postgres()?;
    let name = database_name(vault);
    make_database(&admin, &name);
    let base = admin.rsplit_once('/').unwrap().0;
    Some(format!("{base}/{name}"))
}

/// On PostgreSQL, makes the catalog of the vault at `to` a copy of the one of `from` (any
/// catalog `to` had is dropped); on SQLite, the catalog is a file of the vault folder and
/// nothing is done.
pub fn copy_catalog(from: &Path, to: &Path) {
    let Some(admin) = postgres() else {
        return;
    };
    let (from, to) = (database_name(from), database_name(to));
    // A session of a command just ended may linger for a moment on the template.
    let mut tries = 0;
    loop {
        let out = testkit::output(
            Command::new("psql")
                .arg(&admin)
                .args(["-q", "-v", "ON_ERROR_STOP=1"])
                .args(["-c", &format!("DROP DATABASE IF EXISTS {to} WITH (FORCE)")])
                .args(["-c", &format!("CREATE DATABASE {to} TEMPLATE {from}")]),
        );
        if out.status.success() {
            break;
        }
        tries += 1;
        assert!(
            tries < 50,
            "copying database {from} to {to}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let mut made = made();
    if !made.contains(&to) {
        made.push(to);
    }
}

/// A copy of the vault `from` (its configuration and its catalog) at `to`, for a test that
/// tampers with one while keeping the other.
pub fn copy_vault(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    std::fs::copy(from.join("discvault.toml"), to.join("discvault.toml")).unwrap();
    match postgres() {
        Some(_) => copy_catalog(from, to),
        None => {
            // Everything into the database file first (WAL), then the file.
            testkit::run(
                Command::new("sqlite3")
                    .arg(from.join("catalog.sqlite"))
                    .arg("PRAGMA wal_checkpoint(TRUNCATE)"),
            );
            std::fs::copy(from.join("catalog.sqlite"), to.join("catalog.sqlite")).unwrap();
        }
    }
}

/// Runs the command with `--json`: its exit code and the parsed output.
pub fn json(cmd: &mut Command) -> (i32, Value) {
    let out = testkit::output(cmd.arg("--json"));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{cmd:?}: not JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

/// `discvault archive SRC --media MEDIA --out OUT --json`: exit code and report.
pub fn archive(vault: &Path, src: &Path, media: &str, out: &Path) -> (i32, Value) {
    json(
        dv(vault)
            .arg("archive")
            .arg(src)
            .args(["--media", media, "--out"])
            .arg(out),
    )
}

/// What the sqlite3 command prints for query `q` on the vault's catalog (psql, printing the
/// same way, when the suite runs on PostgreSQL).
pub fn sql(vault: &Path, q: &str) -> String {
    match catalog_url(vault) {
        Some(url) => testkit::run(
            Command::new("psql")
                .arg(url)
                .args(["-q", "-A", "-t", "-F", "|", "-v", "ON_ERROR_STOP=1", "-c"])
                .arg(q),
        ),
        None => testkit::run(
            Command::new("sqlite3")
                .arg(vault.join("catalog.sqlite"))
                .arg(q),
        ),
    }
}

/// The codes zbarimg reads in an image: (type, value), sorted.
pub fn zbar(image: &Path) -> Vec<(String, String)> {
    let out = testkit::output(Command::new("zbarimg").args(["-q"]).arg(image));
    let mut v: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    v.sort();
    v
}

/// A tree of `n` records with Chinese names under `root/NAME` (年度 and 卷 folders), contents
/// unique to `seed`.
pub fn records_tree(root: &Path, name: &str, n: usize, seed: u64) -> std::path::PathBuf {
    let top = root.join(name);
    for i in 0..n {
        let dir = top.join(format!("{}年度/卷{:03}", 2020 + i % 3, i / 10));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(format!("关于档案工作的通知{i:03}.txt")),
            testkit::pseudo_random(1000 + i * 37, seed * 1000 + i as u64),
        )
        .unwrap();
    }
    top
}

/// Waits up to 60 s for `f` to hold.
pub fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let t0 = std::time::Instant::now();
    while !f() {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A publisher simulator process (`discvault simulate`), stopped when dropped.
pub struct Sim(std::process::Child);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the simulator of `kind` (tdbridge, ptburn) on `folder`, a disc every 0.3 s.
pub fn simulate(kind: &str, folder: &Path) -> Sim {
    std::fs::create_dir_all(folder).unwrap();
    Sim(Command::new(env!("CARGO_BIN_EXE_discvault"))
        .args(["-q", "simulate", kind])
        .arg(folder)
        .args(["--disc-seconds", "0.3"])
        .spawn()
        .unwrap())
}

/// A 255-byte ASCII name and an 85-character Chinese name (255 bytes in UTF-8): the longest
/// names ext4 and NTFS allow.
pub fn long_names() -> (String, String) {
    let ascii = format!("{}.txt", "a".repeat(251));
    let cjk = format!("{}档案", "关于".repeat(41) + "会");
    assert_eq!((ascii.len(), cjk.len()), (255, 255));
    (ascii, cjk)
}

/// Every name a records office meets: the longest names (ASCII and Chinese), a newline and `%`
/// in names, NFC and NFD twins, case twins, emoji, a 12-level path, an empty file.
pub fn hostile_tree(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let (ascii, cjk) = long_names();
    let deep: PathBuf = (0..12).map(|i| format!("层{i:02}")).collect();
    let files: Vec<(PathBuf, Vec<u8>)> = vec![
        (PathBuf::from(&ascii), b"ascii\n".to_vec()),
        (PathBuf::from("卷001").join(&cjk), b"cjk\n".to_vec()),
        (PathBuf::from("line\nbreak.txt"), b"newline\n".to_vec()),
        (PathBuf::from("100%.txt"), b"percent\n".to_vec()),
        (PathBuf::from("%0A%25.txt"), b"encoded-looking\n".to_vec()),
        (PathBuf::from("caf\u{e9}.txt"), b"nfc\n".to_vec()),
        (PathBuf::from("cafe\u{301}.txt"), b"nfd\n".to_vec()),
        (PathBuf::from("Readme.txt"), b"case 1\n".to_vec()),
        (PathBuf::from("README.txt"), b"case 2\n".to_vec()),
        (PathBuf::from("📁档案🎉.txt"), b"emoji\n".to_vec()),
        (deep.join("深.txt"), b"deep\n".to_vec()),
        (PathBuf::from("empty.txt"), Vec::new()),
        (
            PathBuf::from("target.bin"),
            testkit::pseudo_random(256 << 10, 42),
        ),
    ];
    for (p, d) in &files {
        let p = root.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, d).unwrap();
    }
    files
}

/// A 5 GiB sparse file with some data at the start, the middle and the end.
pub fn sparse_5g(path: &Path) {
    use std::io::{Seek, SeekFrom, Write};
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = std::fs::File::create(path).unwrap();
    for at in [0u64, 4 << 30, (5 << 30) - 4096] {
        f.seek(SeekFrom::Start(at)).unwrap();
        f.write_all(&[0xA5; 4096]).unwrap();
    }
    f.set_len(5 << 30).unwrap();
}

/// `restore COLLECTION --to TO --from DISC` gives back the collection's source folder `src`
/// whole, every name and byte (COLLECTION: the folder's name). With a `vault` that has no
/// catalog, restore reads the disc's own records.
pub fn assert_restores(what: &str, vault: &Path, disc: &Path, src: &Path, to: &Path) {
    let name = src.file_name().unwrap().to_str().unwrap();
    let (rc, r) = json(
        dv(vault)
            .args(["restore", name, "--to"])
            .arg(to)
            .arg("--from")
            .arg(disc),
    );
    assert_eq!(rc, 0, "{what}: {r}");
    testkit::assert_same_tree(what, &testkit::tree(&to.join(name)), &testkit::tree(src));
}

/// The hostile-name tree ([`hostile_tree`]) of a folder `文书档案` under `dir`, archived on a
/// cd74 by a new vault `dir/vault` into `dir/img`.
pub struct ArchivedHostile {
    pub src: PathBuf,
    pub files: Vec<(PathBuf, Vec<u8>)>,
    pub vault: PathBuf,
    pub img: PathBuf,
}

pub fn archived_hostile(dir: &Path) -> ArchivedHostile {
    let src = dir.join("文书档案");
    let files = hostile_tree(&src);
    let vault = dir.join("vault");
    let (rc, r) = archive(&vault, &src, "cd74", &dir.join("img"));
    assert_eq!(rc, 0, "{r}");
    ArchivedHostile {
        src,
        files,
        vault,
        img: dir.join("img/DV-000001.iso"),
    }
}

/// `repair BAD --to FIXED` mends the disc (exit 0) into the very image that was mastered.
pub fn assert_repairs_into(vault: &Path, bad: &Path, fixed: &Path, mastered: &Path) {
    let (rc, r) = json(dv(vault).arg("repair").arg(bad).arg("--to").arg(fixed));
    assert_eq!(rc, 0, "{r}");
    assert_eq!(
        std::fs::read(fixed.join("DV-000001.iso")).unwrap(),
        std::fs::read(mastered).unwrap()
    );
}
