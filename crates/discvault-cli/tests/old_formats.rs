//! Discs of the older on-disc formats, written by the old discvault binaries: the current one
//! still restores, verifies, reads back and repairs them (issue 11: "version-1 discs still
//! read, tested with a version-1 image kept as a fixture"; issue 15: "discs of the older
//! formats still verified, restored and repaired (a fixture image of each older format is kept
//! in the tests)"). Each fixture in tests/fixtures/format-vN was made by the binary of the last
//! commit of format version N (its README.txt says how; ../make-fixture.sh writes the same
//! records for every one): the image, the old vault's catalog, and the records' SHA-256
//! digests, links, modes and times. Everything here runs the current binary on them, every
//! test once per fixture (`format_v1::…`, `format_v2::…`, see the end of the file).

use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use testkit::*;

/// `discvault --vault VAULT` on the vault's own SQLite catalog: the old vault's catalog is the
/// SQLite file the old binary wrote, so the suite's PostgreSQL mode (tests/common's `dv`, which
/// gives every vault a database on the server) does not apply here.
fn dv(vault: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_discvault"));
    c.env_remove("DISCVAULT_VAULT")
        .env_remove("DISCVAULT_CATALOG")
        .arg("--vault")
        .arg(vault);
    c
}

/// Runs the command with `--json`: its exit code and the parsed output.
fn json(cmd: &mut Command) -> (i32, Value) {
    let out = output(cmd.arg("--json"));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{cmd:?}: not JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

/// A disc of an older format and the vault that wrote it, as kept in tests/fixtures.
struct Fixture {
    /// The on-disc format version of the disc (and of its volume in the old catalog).
    version: u32,
    /// The folder below tests/fixtures.
    folder: &'static str,
    /// sha256 of the image as the old binary mastered it.
    image_sha256: &'static str,
    /// The vault id the disc carries (format 2 on), the old catalog's `vault_id`.
    vault_id: Option<&'static str>,
    /// The old catalog's schema version (`schema_version`), before the current binary opens it.
    schema_version: u32,
}

/// Made by the binary of commit 24340d1, the last before format version 2.
const V1: Fixture = Fixture {
    version: 1,
    folder: "format-v1",
    image_sha256: "c70db79d0fba8215f29f2c9f16d2fe79fd96271242dbe871bcdac5ebdeb2a056",
    vault_id: None,
    schema_version: 6,
};

/// Made by the binary of commit 11083b9, the last of format version 2.
const V2: Fixture = Fixture {
    version: 2,
    folder: "format-v2",
    image_sha256: "b7afe1857d3032977084f0011fca2f3fea9d7ae1a42268a5a52c340b8a524941",
    vault_id: Some("6502a0c4-b59a-4061-aa1d-7a50049de2d9"),
    schema_version: 12,
};

const COLLECTION: &str = "文书档案";
/// The record the damage tests spoil: 40,841 bytes, many sectors.
const DAMAGED: &str = "会议纪要/2023年第一次会议纪要.txt";

impl Fixture {
    fn dir(&self) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(self.folder)
    }
}

/// What the fixture's README.txt lists: files (path → sha256) and links (path → target).
struct Expected {
    files: BTreeMap<String, String>,
    links: BTreeMap<String, String>,
}

fn expected(f: &Fixture) -> Expected {
    let readme = fs::read_to_string(f.dir().join("README.txt")).unwrap();
    let mut files = BTreeMap::new();
    let mut links = BTreeMap::new();
    for l in readme.lines() {
        if let Some((sum, path)) = l.split_once("  ") {
            if sum.len() == 64 && sum.bytes().all(|b| b.is_ascii_hexdigit()) {
                files.insert(path.to_string(), sum.to_string());
            }
        }
        if let Some((path, target)) = l.strip_prefix("link ").and_then(|r| r.split_once(" -> ")) {
            links.insert(path.to_string(), target.to_string());
        }
    }
    assert_eq!((files.len(), links.len()), (5, 2), "README.txt's lists");
    Expected { files, links }
}

/// `gzip -dc SRC > DST`: the gzip command, as discvault-cli's tests have no gzip crate among
/// their dependencies.
fn gunzip(src: &Path, dst: &Path) {
    let out = fs::File::create(dst).unwrap();
    let st = Command::new("gzip")
        .arg("-dc")
        .arg(src)
        .stdout(Stdio::from(out))
        .status()
        .expect("gzip");
    assert!(st.success(), "gzip -dc {}", src.display());
}

/// The fixture's image, decompressed into `dir`, checked to be the image mastered.
fn image(f: &Fixture, dir: &Path) -> PathBuf {
    let img = dir.join("DV-000001.iso");
    gunzip(&f.dir().join("DV-000001.iso.gz"), &img);
    assert_eq!(sha256(&img), f.image_sha256, "the fixture's image");
    img
}

/// The old vault (discvault.toml and catalog.sqlite), unpacked into `dir/vault`.
fn old_vault(f: &Fixture, dir: &Path) -> PathBuf {
    run(Command::new("tar")
        .arg("-xzf")
        .arg(f.dir().join("vault.tar.gz"))
        .arg("-C")
        .arg(dir));
    let v = dir.join("vault");
    assert!(v.join("catalog.sqlite").is_file() && v.join("discvault.toml").is_file());
    v
}

/// sha256sum's digest of a file: a reader independent of discvault.
fn sha256(p: &Path) -> String {
    run(Command::new("sha256sum").arg(p))
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn code(cmd: &mut Command) -> (i32, String, String) {
    let out = output(cmd);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What sqlite3 prints for query `q` on the vault's catalog.
fn sql(vault: &Path, q: &str) -> String {
    run(Command::new("sqlite3")
        .arg(vault.join("catalog.sqlite"))
        .arg(q))
    .trim()
    .to_string()
}

/// Every file and link below `root` (paths relative to it): files with their sha256, links
/// with their targets. Anything else (a fifo, a device) fails the test.
fn restored(root: &Path) -> Expected {
    let mut files = BTreeMap::new();
    let mut links = BTreeMap::new();
    fn walk(
        root: &Path,
        dir: &Path,
        files: &mut BTreeMap<String, String>,
        links: &mut BTreeMap<String, String>,
    ) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_string();
            let ft = e.file_type().unwrap();
            if ft.is_symlink() {
                let t = fs::read_link(&p).unwrap();
                links.insert(rel, t.to_str().unwrap().to_string());
            } else if ft.is_dir() {
                walk(root, &p, files, links);
            } else if ft.is_file() {
                files.insert(rel, sha256(&p));
            } else {
                panic!("{}: neither file, link nor folder", p.display());
            }
        }
    }
    walk(root, root, &mut files, &mut links);
    Expected { files, links }
}

fn assert_restored(f: &Fixture, what: &str, root: &Path) {
    let want = expected(f);
    let got = restored(root);
    assert_eq!(got.files, want.files, "{what}: files and their sha256");
    assert_eq!(got.links, want.links, "{what}: links and their targets");
}

/// A copy of the image with one sector inside `DAMAGED`'s data flipped.
fn damaged_copy(img: &Path, record: &[u8], to: &Path) {
    let mut bytes = fs::read(img).unwrap();
    let at = bytes
        .windows(64)
        .position(|w| w == &record[..64])
        .expect("the record's bytes are in the image");
    for b in &mut bytes[at + 4096..at + 4096 + 2048] {
        *b ^= 0xff;
    }
    fs::write(to, &bytes).unwrap();
}

/// The vault id the catalog of `vault` keeps, if any.
fn catalog_vault_id(vault: &Path) -> Option<String> {
    Some(sql(
        vault,
        "SELECT value FROM catalog_settings WHERE key = 'vault_id'",
    ))
    .filter(|id| !id.is_empty())
}

/// The `vault_id` of a volume record or snapshot header: a string, or no such key.
fn vault_id_of(v: &Value) -> Option<&str> {
    v.get("vault_id").map(|id| {
        id.as_str()
            .unwrap_or_else(|| panic!("vault_id not a string: {v}"))
    })
}

fn the_fixture_is_a_disc_of_its_format(f: &Fixture) {
    // What this file tests only means something if the image really is of its format
    // version: version 1 has no vault id anywhere on it; version 2 names the vault in
    // bag-info.txt, volume.json and the catalog snapshot's header, the same id the old
    // vault's catalog keeps.
    let t = tempfile::tempdir().unwrap();
    let img = image(f, t.path());
    let x = t.path().join("x");
    extract_xorriso(&img, &x);
    let rec: Value =
        serde_json::from_slice(&fs::read(x.join("discvault/volume.json")).unwrap()).unwrap();
    assert_eq!(rec["format_version"], f.version, "{rec}");
    assert_eq!(rec["volume_id"], "DV-000001");
    assert_eq!(vault_id_of(&rec), f.vault_id, "{rec}");
    let info = fs::read_to_string(x.join("bag-info.txt")).unwrap();
    assert!(
        info.contains(&format!("\nDiscvault-Format-Version: {}\n", f.version)),
        "{info}"
    );
    match f.vault_id {
        Some(id) => assert!(
            info.contains(&format!("\nDiscvault-Vault-Id: {id}\n")),
            "{info}"
        ),
        None => assert!(!info.contains("Vault-Id"), "{info}"),
    }
    let snapshot = run(Command::new("sh")
        .arg("-c")
        .arg("gzip -dc discvault/catalog.jsonl.gz | head -n 1")
        .current_dir(&x));
    let header: Value = serde_json::from_str(&snapshot).unwrap();
    assert_eq!(header["type"], "header", "{header}");
    assert_eq!(header["format_version"], f.version, "{header}");
    assert_eq!(vault_id_of(&header), f.vault_id, "{header}");
    // The old catalog as the old binary left it: its schema, the volume's format version,
    // the vault id (none before version 2).
    let t2 = tempfile::tempdir().unwrap();
    let vault = old_vault(f, t2.path());
    assert_eq!(
        sql(&vault, "SELECT max(version) FROM schema_version"),
        f.schema_version.to_string()
    );
    assert_eq!(
        sql(&vault, "SELECT format_version FROM volumes"),
        f.version.to_string()
    );
    assert_eq!(catalog_vault_id(&vault).as_deref(), f.vault_id);
}

fn restores_byte_exact_without_a_vault(f: &Fixture) {
    let t = tempfile::tempdir().unwrap();
    let img = image(f, t.path());
    let to = t.path().join("restored");
    let (rc, _, err) = code(
        dv(&t.path().join("no-vault"))
            .args(["restore", COLLECTION, "--to"])
            .arg(&to)
            .arg("--from")
            .arg(&img),
    );
    assert_eq!(rc, 0, "{err}");
    let root = to.join(COLLECTION);
    assert_restored(f, "restore without a vault", &root);
    assert_eq!(fs::metadata(root.join("空文件.txt")).unwrap().len(), 0);
    // Modes and modification times as the disc records them (README.txt).
    let mode = |p: &str| fs::metadata(root.join(p)).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode("会议纪要/附件/签到表.csv"), 0o640);
    assert_eq!(mode("照片/扫描件 001.bin"), 0o600);
    assert_eq!(mode(DAMAGED), 0o644);
    let mtime = |p: &str| {
        fs::metadata(root.join(p))
            .unwrap()
            .modified()
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    assert_eq!(mtime("关于开展档案数字化工作的通知.txt"), 1677657600);
    assert_eq!(mtime(DAMAGED), 1678872600);
    assert!(!t.path().join("no-vault").exists(), "restore made a vault");
    // A pattern restores just what it names, from the disc's own records.
    let one = t.path().join("one");
    let (rc, _, err) = code(
        dv(&t.path().join("no-vault"))
            .args(["restore", &format!("{COLLECTION}/会议纪要/附件"), "--to"])
            .arg(&one)
            .arg("--from")
            .arg(&img),
    );
    assert_eq!(rc, 0, "{err}");
    let got = restored(&one.join(COLLECTION));
    assert_eq!(
        got.files.keys().collect::<Vec<_>>(),
        ["会议纪要/附件/签到表.csv"]
    );
    assert_eq!(
        got.links.keys().collect::<Vec<_>>(),
        ["会议纪要/附件/纪要原文"]
    );
}

fn independent_readers_accept_it(f: &Fixture) {
    let t = tempfile::tempdir().unwrap();
    let img = image(f, t.path());
    let want = expected(f);
    // isoinfo's Rock Ridge listing holds every record under data/.
    let listed = isoinfo_paths(&img);
    for p in want.files.keys() {
        let full = format!("/data/{COLLECTION}/{p}");
        assert!(
            listed.contains(&full),
            "isoinfo does not list {full}: {listed:?}"
        );
    }
    // xorriso extracts a valid bag whose records are the files listed; its manifests check
    // out without discvault (the README's instructions).
    let x = t.path().join("x");
    extract_xorriso(&img, &x);
    bagit_validate(&x);
    let data = restored(&x.join("data").join(COLLECTION));
    assert_eq!(data.files, want.files, "xorriso's extraction");
    let sums = run(Command::new("sha256sum")
        .args(["-c", "manifest-sha256.txt"])
        .current_dir(&x));
    assert_eq!(
        sums.lines().filter(|l| l.ends_with(": OK")).count(),
        want.files.len(),
        "{sums}"
    );
    run(Command::new("sha256sum")
        .args(["-c", "tagmanifest-sha256.txt"])
        .current_dir(&x));
    // par2cmdline finds the disc's recovery data complete.
    run(Command::new(PAR2CMDLINE)
        .args(["verify", "-q", "-B.", "recovery/DV-000001.par2"])
        .current_dir(&x));
    // bsdtar reads the same records.
    let b = t.path().join("bsdtar");
    extract_bsdtar(&img, &b);
    assert_eq!(
        restored(&b.join("data").join(COLLECTION)).files,
        want.files,
        "bsdtar's extraction"
    );
    // discvault's verify needs a catalog: a new vault that has no volume of its own does not
    // take the disc for one of its (exit 5; a disc that names its vault, as another vault's),
    // and records nothing.
    let fresh = t.path().join("fresh");
    run(dv(&fresh).arg("init"));
    let (rc, _, err) = code(dv(&fresh).arg("verify").arg(&img));
    assert_eq!(rc, 5, "{err}");
    if let Some(id) = f.vault_id {
        assert!(err.contains(id), "{err}");
    }
    assert_eq!(
        sql(
            &fresh,
            "SELECT count(*) FROM events WHERE event_type = 'fixity check'"
        ),
        "0"
    );
}

fn the_old_vault_verifies_reads_back_repairs_and_restores_it(f: &Fixture) {
    let t = tempfile::tempdir().unwrap();
    let img = image(f, t.path());
    let vault = old_vault(f, t.path());
    let copy_checks = || {
        sql(
            &vault,
            "SELECT count(*) FROM events WHERE event_type = 'fixity check' AND copy = \
             (SELECT id FROM copies WHERE copy_id = 'DV-000001-C1')",
        )
        .parse::<u32>()
        .unwrap()
    };
    // The current binary opens the old catalog: whole, its audit trail intact, a vault id
    // given (before version 2), or kept (the one its discs carry). The volume keeps its
    // format version.
    let (rc, out, err) = code(dv(&vault).arg("check"));
    assert_eq!(rc, 0, "{out}{err}");
    let (rc, out, err) = code(dv(&vault).args(["log", "verify"]));
    assert_eq!(rc, 0, "{out}{err}");
    let id = catalog_vault_id(&vault).expect("a vault id");
    assert_eq!(id.len(), 36, "{id}");
    if let Some(old) = f.vault_id {
        assert_eq!(id, old, "the old vault's id");
    }
    assert_eq!(
        sql(&vault, "SELECT format_version FROM volumes"),
        f.version.to_string()
    );

    // verify and verify --copy: clean, the read-back recorded against the copy.
    let (rc, r) = json(dv(&vault).arg("verify").arg(&img));
    assert_eq!(rc, 0, "{r}");
    assert_eq!(
        (r[0]["volume_id"].as_str(), r[0]["clean"].as_bool()),
        (Some("DV-000001"), Some(true)),
        "{r}"
    );
    assert_eq!(r[0]["files_ok"], 5, "{r}");
    let before = copy_checks();
    let (rc, r) = json(
        dv(&vault)
            .arg("verify")
            .arg(&img)
            .args(["--copy", "DV-000001-C1"]),
    );
    assert_eq!(rc, 0, "{r}");
    assert_eq!(r[0]["clean"], true, "{r}");
    assert_eq!(copy_checks(), before + 1, "verify --copy recorded no check");
    assert_eq!(
        sql(
            &vault,
            "SELECT state FROM copies WHERE copy_id = 'DV-000001-C1'"
        ),
        "verified"
    );

    // readback: every record written, as the digests say.
    let rb = t.path().join("rb");
    let (rc, r) = json(
        dv(&vault)
            .arg("readback")
            .arg(&img)
            .arg("--to")
            .arg(&rb)
            .args(["--copy", "DV-000001-C1"]),
    );
    assert_eq!(rc, 0, "{r}");
    assert_eq!(r["not_written"], serde_json::json!([]), "{r}");
    assert_eq!(
        restored(&rb.join("DV-000001/data").join(COLLECTION)).files,
        expected(f).files,
        "readback"
    );
    bagit_validate(&rb.join("DV-000001"));

    // A copy with one sector of a record spoilt: damage (exit 3) naming that record, also when
    // read back as the copy (then no longer trusted).
    let record = fs::read(rb.join("DV-000001/data").join(COLLECTION).join(DAMAGED)).unwrap();
    let bad = t.path().join("bad.iso");
    damaged_copy(&img, &record, &bad);
    let (rc, r) = json(dv(&vault).arg("verify").arg(&bad));
    assert_eq!(rc, 3, "{r}");
    let named: Vec<&str> = r[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["disc_path"].as_str().unwrap())
        .collect();
    assert_eq!(named, [format!("data/{COLLECTION}/{DAMAGED}")], "{r}");
    let (rc, r) = json(
        dv(&vault)
            .arg("verify")
            .arg(&bad)
            .args(["--copy", "DV-000001-C1"]),
    );
    assert_eq!(rc, 3, "{r}");
    assert_eq!(r[0]["clean"], false, "{r}");
    assert_eq!(
        sql(
            &vault,
            "SELECT state FROM copies WHERE copy_id = 'DV-000001-C1'"
        ),
        "damaged"
    );
    let rb2 = t.path().join("rb-bad");
    let (rc, r) = json(dv(&vault).arg("readback").arg(&bad).arg("--to").arg(&rb2));
    assert_eq!(rc, 3, "{r}");
    assert_eq!(
        r["not_written"],
        serde_json::json!([format!("data/{COLLECTION}/{DAMAGED}")]),
        "{r}"
    );

    // repair from the damaged copy and the disc's PAR2 data: the very image the old binary
    // mastered, of the disc's own format version.
    let fixed = t.path().join("fixed");
    let (rc, r) = json(dv(&vault).arg("repair").arg(&bad).arg("--to").arg(&fixed));
    assert_eq!(rc, 0, "{r}");
    assert_eq!(r["image_sha256"], f.image_sha256, "{r}");
    let fixed_img = fixed.join("DV-000001.iso");
    assert_eq!(sha256(&fixed_img), f.image_sha256);
    // The mended disc read back as the copy is trusted again.
    let (rc, r) = json(
        dv(&vault)
            .arg("verify")
            .arg(&fixed_img)
            .args(["--copy", "DV-000001-C1"]),
    );
    assert_eq!(rc, 0, "{r}");
    assert_eq!(
        sql(
            &vault,
            "SELECT state FROM copies WHERE copy_id = 'DV-000001-C1'"
        ),
        "verified"
    );
    // Restored through the catalog, from the mended image.
    let to = t.path().join("restored");
    let (rc, _, err) = code(
        dv(&vault)
            .args(["restore", COLLECTION, "--to"])
            .arg(&to)
            .arg("--from")
            .arg(&fixed_img),
    );
    assert_eq!(rc, 0, "{err}");
    assert_restored(f, "restore with the old vault", &to.join(COLLECTION));
    // After all of it the catalog is still whole.
    let (rc, out, err) = code(dv(&vault).arg("check"));
    assert_eq!(rc, 0, "{out}{err}");
}

/// Every test above, once per fixture: `mod format_vN { #[test] fn TEST() }`.
macro_rules! tests_of_old_formats {
    ($($module:ident: $fixture:ident;)*) => {$(
        mod $module {
            #[test]
            fn the_fixture_is_a_disc_of_its_format() {
                super::the_fixture_is_a_disc_of_its_format(&super::$fixture)
            }
            #[test]
            fn restores_byte_exact_without_a_vault() {
                super::restores_byte_exact_without_a_vault(&super::$fixture)
            }
            #[test]
            fn independent_readers_accept_it() {
                super::independent_readers_accept_it(&super::$fixture)
            }
            #[test]
            fn the_old_vault_verifies_reads_back_repairs_and_restores_it() {
                super::the_old_vault_verifies_reads_back_repairs_and_restores_it(&super::$fixture)
            }
        }
    )*};
}

tests_of_old_formats! {
    format_v1: V1;
    format_v2: V2;
}
