//! One catalog on PostgreSQL shared by several stations: each test starts a throwaway server of
//! its own (scripts/pg.sh: a cluster in a temporary folder, 127.0.0.1 only, a free port) and
//! stops it at the end. The rest of the CLI suite runs on PostgreSQL too (scripts/test.sh sets
//! DISCVAULT_TEST_POSTGRES for a second run).

mod common;
use common::records_tree as tree;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// A PostgreSQL server of this test.
struct Server {
    dir: String,
    admin: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg.sh")
}

impl Server {
    fn start() -> Server {
        let out = testkit::run(Command::new("bash").arg(script()).arg("start"));
        let var = |name: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(&format!("export {name}=")))
                .unwrap_or_else(|| panic!("pg.sh start printed no {name}: {out}"))
                .to_string()
        };
        Server {
            dir: var("PG_DIR"),
            admin: var("DISCVAULT_TEST_POSTGRES"),
        }
    }

    /// A new database on the server: its URL.
    fn database(&self, name: &str) -> String {
        self.psql(&self.admin, &format!("CREATE DATABASE {name}"));
        format!("{}/{name}", self.admin.rsplit_once('/').unwrap().0)
    }

    fn psql(&self, url: &str, q: &str) -> String {
        testkit::run(
            Command::new("psql")
                .arg(url)
                .args(["-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c"])
                .arg(q),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

/// `discvault --vault STATION` with nothing from the environment: the catalog is the one the
/// station's discvault.toml names.
fn station(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_discvault"));
    c.env_remove("DISCVAULT_VAULT")
        .env_remove("DISCVAULT_CATALOG")
        .arg("--vault")
        .arg(dir);
    c
}

fn ok(cmd: &mut Command) -> String {
    testkit::run(cmd)
}

fn json(cmd: &mut Command) -> Value {
    let out = ok(cmd.arg("--json"));
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{cmd:?}: not JSON ({e}): {out}"))
}

fn finish(c: Child, what: &str) -> Output {
    let out = c.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{what}: {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn spawn(cmd: &mut Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn stations_add_plan_and_master_at_once_on_one_catalog() {
    let pg = Server::start();
    let url = pg.database("shared");
    let t = tempfile::tempdir().unwrap();
    let stations: Vec<PathBuf> = ["ingest", "publisher", "reading-room"]
        .iter()
        .map(|s| t.path().join(s))
        .collect();
    for s in &stations {
        ok(station(s).args(["--catalog", &url, "init"]));
        let toml = std::fs::read_to_string(s.join("discvault.toml")).unwrap();
        assert!(toml.contains(&format!("url = \"{url}\"")), "{toml}");
        assert!(!s.join("catalog.sqlite").exists());
    }
    let src = t.path().join("src");
    let trees: Vec<PathBuf> = (0..3)
        .map(|k| tree(&src, &format!("文书档案{k}"), 40, k as u64))
        .collect();
    // Three stations add at once, two of them the same tree.
    let adds: Vec<Child> = vec![
        spawn(station(&stations[0]).arg("add").arg(&trees[0])),
        spawn(station(&stations[1]).arg("add").arg(&trees[1])),
        spawn(station(&stations[2]).arg("add").arg(&trees[2])),
        spawn(station(&stations[1]).arg("add").arg(&trees[0])),
    ];
    for (i, c) in adds.into_iter().enumerate() {
        finish(c, &format!("add #{i}"));
    }
    let s = json(station(&stations[2]).arg("status"));
    assert_eq!(s["ingested"]["files"], 120, "{s}");
    assert_eq!(s["unplanned"]["files"], 120, "{s}");

    // Two stations plan and master at once, a third reads meanwhile.
    let outs: Vec<PathBuf> = (0..2)
        .map(|k| t.path().join(format!("images{k}")))
        .collect();
    let work: Vec<Child> = (0..2)
        .map(|k| {
            spawn(
                Command::new("sh")
                    .arg("-c")
                    .arg("\"$0\" --vault \"$1\" plan --media custom:400000 --redundancy 0 --file-systems iso9660 && \"$0\" --vault \"$1\" master --out \"$2\"")
                    .arg(env!("CARGO_BIN_EXE_discvault"))
                    .arg(&stations[k])
                    .arg(&outs[k])
                    .env_remove("DISCVAULT_CATALOG"),
            )
        })
        .collect();
    for _ in 0..5 {
        ok(station(&stations[2]).args(["locate", "通知"]));
    }
    for (k, c) in work.into_iter().enumerate() {
        finish(c, &format!("plan and master on station {k}"));
    }
    let s = json(station(&stations[2]).arg("status"));
    assert_eq!(s["unplanned"]["files"], 0, "{s}");
    assert_eq!(s["mastered"]["files"], 120, "{s}");
    let volumes: Vec<String> = s["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["volume_id"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = (1..=volumes.len()).map(|n| format!("DV-{n:06}")).collect();
    assert_eq!(volumes, expected, "volume ids unique and in order");
    assert!(volumes.len() > 1, "{volumes:?}");
    // Every record on exactly one volume; every image verifies against the shared catalog.
    let placements = pg.psql(
        &url,
        "SELECT COUNT(*), COUNT(DISTINCT file_id) FROM volume_contents",
    );
    assert_eq!(placements.trim(), "120|120");
    let mut images = Vec::new();
    for o in &outs {
        for e in std::fs::read_dir(o).into_iter().flatten() {
            images.push(e.unwrap().path());
        }
    }
    images.sort();
    assert_eq!(images.len(), volumes.len(), "{images:?}");
    for img in &images {
        let out = ok(station(&stations[2]).arg("verify").arg(img));
        assert!(out.contains("clean"), "{out}");
    }
    // One vault, whichever station mastered the disc: each carries the catalog's identity.
    let vault_id = pg.psql(
        &url,
        "SELECT value FROM catalog_settings WHERE key = 'vault_id'",
    );
    for img in [&images[0], images.last().unwrap()] {
        let x = t.path().join("x");
        let _ = std::fs::remove_dir_all(&x);
        testkit::extract_xorriso(img, &x);
        let record: Value =
            serde_json::from_slice(&std::fs::read(x.join("discvault/volume.json")).unwrap())
                .unwrap();
        assert_eq!(record["vault_id"].as_str(), Some(vault_id.trim()));
    }
    // One policy for every station once it is set in the catalog: the reading room's status
    // follows what the ingest station set, whatever the reading room's own file says.
    let before = json(station(&stations[2]).arg("status"));
    assert!(
        !before["shortfalls"].as_array().unwrap().is_empty(),
        "{before}"
    );
    let set = json(station(&stations[0]).args([
        "policy",
        "set",
        "--min-copies",
        "1",
        "--min-sites",
        "0",
    ]));
    assert_eq!(set["source"], "catalog", "{set}");
    let shown = json(station(&stations[2]).args(["policy", "show"]));
    assert_eq!(shown, set);
    let cfg = stations[2].join("discvault.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace("min_trusted_copies = 3", "min_trusted_copies = 7"),
    )
    .unwrap();
    let after = json(station(&stations[2]).arg("status"));
    let short: Vec<&Value> = after["shortfalls"].as_array().unwrap().iter().collect();
    // Volumes without a trusted copy still lack one; none lacks three or seven.
    assert!(
        short
            .iter()
            .all(|f| f["required_copies"] == 1 && f["trusted_copies"] == 0),
        "{after}"
    );
    json(station(&stations[1]).args(["policy", "reset"]));
    let back = json(station(&stations[2]).arg("status"));
    assert!(
        back["shortfalls"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["required_copies"] == 7),
        "{back}"
    );
    std::fs::write(&cfg, text).unwrap();
    // The catalog is whole: one event chain, every invariant.
    let check = ok(station(&stations[1]).arg("check"));
    assert!(check.contains("catalog intact"), "{check}");
}

#[test]
fn a_station_waits_for_another_then_says_who_holds_the_catalog() {
    let pg = Server::start();
    let url = pg.database("busy");
    let t = tempfile::tempdir().unwrap();
    let a = t.path().join("a");
    ok(station(&a).args(["--catalog", &url, "init"]));
    let cfg = a.join("discvault.toml");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("lock_wait_seconds = 600", "lock_wait_seconds = 2");
    std::fs::write(&cfg, text).unwrap();
    // Another station holds the whole catalog (its session's advisory lock: a migration, say)
    // for 20 s.
    let holder = spawn(
        // (each -c its own transaction: the holder is seen at once)
        Command::new("psql")
            .arg(&url)
            .args(["-q", "-c"])
            .arg(
                "INSERT INTO catalog_settings (key, value) VALUES ('holder:' || pg_backend_pid(), 'station B: migrate, since 09:00')
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .args(["-c", "SELECT pg_advisory_lock(110457976484974)"])
            .args(["-c", "SELECT pg_sleep(20)"]),
    );
    std::thread::sleep(std::time::Duration::from_secs(2));
    let src = tree(t.path(), "档案", 3, 9);
    let out = testkit::output(station(&a).arg("add").arg(&src));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("busy") && err.contains("station B: migrate"),
        "{err}"
    );
    // Nothing was recorded.
    assert_eq!(pg.psql(&url, "SELECT COUNT(*) FROM files").trim(), "0");
    // Once the other station is gone (its session ended), the add goes through.
    pg.psql(
        &url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'psql' AND pid <> pg_backend_pid()",
    );
    let mut holder = holder;
    let _ = holder.wait();
    ok(station(&a).arg("add").arg(&src));
    assert_eq!(pg.psql(&url, "SELECT COUNT(*) FROM files").trim(), "3");
}

#[test]
fn locate_finds_the_same_records_on_sqlite_and_postgresql() {
    let pg = Server::start();
    let url = pg.database("locate");
    let t = tempfile::tempdir().unwrap();
    let src = tree(t.path(), "会计档案", 60, 3);
    std::fs::write(src.join("Report-2024.PDF"), b"pdf").unwrap();
    std::fs::write(src.join("a.txt"), b"a").unwrap();
    let lite = t.path().join("sqlite");
    let post = t.path().join("postgres");
    ok(station(&lite).arg("init"));
    ok(station(&post).args(["--catalog", &url, "init"]));
    for v in [&lite, &post] {
        ok(station(v)
            .arg("add")
            .arg(&src)
            .args(["--meta", "保管期限=30年"]));
    }
    let sha = json(station(&lite).args(["locate", "a.txt"]))[0]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let queries = [
        "会",
        "通知",
        "档案",
        "计档",
        "作的通",
        "2021年度",
        "卷003",
        "年度/卷",
        "report",
        ".pdf",
        "a",
        "会计档案",
        "通知059",
        "没有",
        "度卷",
        "知0",
        &sha,
        &sha[..12],
        "保管期限=30年",
        "collection=会计档案",
    ];
    let mut found_any = 0;
    for q in queries {
        let paths = |v: &Path| -> Vec<String> {
            let r = json(station(v).args(["locate", "--limit", "1000", q]));
            let mut p: Vec<String> = r
                .as_array()
                .unwrap()
                .iter()
                .map(|f| format!("{}/{} v{}", f["collection"], f["path"], f["version"]))
                .collect();
            p.sort();
            p
        };
        let (a, b) = (paths(&lite), paths(&post));
        assert_eq!(a, b, "locate {q:?}: SQLite and PostgreSQL differ");
        found_any += usize::from(!a.is_empty());
    }
    assert_eq!(
        found_any,
        queries.len() - 2,
        "all but two queries find something"
    );

    // The server keeps the paths in memory for locate by a piece of a path
    // (catalog/search_cache.rs): the same files, the first in id order as the command finds
    // them, and files added while it runs found at once.
    ok(station(&post).args(["user", "add", "reader", "--role", "auditor"]));
    let token = json(station(&post).args(["token", "create", "--user", "reader"]))["token"]
        .as_str()
        .unwrap()
        .to_string();
    let server = serve(&post);
    let api = |q: &str, limit: usize| -> Vec<String> {
        let path = format!(
            "/api/v1/locate?limit={limit}&q={}",
            form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
        );
        let r = testkit::http::get(&server.1, &path, Some(&token));
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{}/{} v{}", f["collection"], f["path"], f["version"]))
            .collect()
    };
    let cli = |q: &str, limit: usize| -> Vec<String> {
        json(station(&post).args(["locate", "--limit", &limit.to_string(), q]))
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{}/{} v{}", f["collection"], f["path"], f["version"]))
            .collect()
    };
    for q in queries.iter().filter(|q| !q.contains('=') && q.len() < 40) {
        for limit in [1, 3, 1000] {
            assert_eq!(api(q, limit), cli(q, limit), "locate {q:?} --limit {limit}");
        }
    }
    let more = t.path().join("more/新增批次/补充目录");
    std::fs::create_dir_all(&more).unwrap();
    for i in 1..=3 {
        std::fs::write(more.join(format!("第{i}号补充说明.txt")), format!("{i}")).unwrap();
    }
    ok(station(&post).arg("add").arg(more.parent().unwrap()));
    assert_eq!(
        api("补充说明", 1000).len(),
        3,
        "files added while the server runs"
    );
    assert_eq!(api("号补充说明.TXT", 2), cli("号补充说明.TXT", 2));
    // Two characters, through the search cache on the server and the character index in the
    // CLI: "补充" in the new files' folder and names, "录第" across a '/'.
    for q in ["补充", "录第"] {
        assert_eq!(api(q, 1000).len(), 3, "{q}");
        assert_eq!(api(q, 1000), cli(q, 1000), "{q}");
    }
}

/// `discvault serve` over the station's catalog on 127.0.0.1: the process and its address.
fn serve(station_dir: &Path) -> (KillOnDrop, String) {
    use std::io::BufRead;
    let mut child = station(station_dir)
        .args(["serve", "--listen", "127.0.0.1:0", "--workers", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("serve printed {line:?}"))
        .to_string();
    (KillOnDrop(child), addr)
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_catalog_of_a_newer_schema_is_refused_with_a_clear_error() {
    let pg = Server::start();
    let url = pg.database("newer");
    let t = tempfile::tempdir().unwrap();
    let v = t.path().join("v");
    ok(station(&v).args(["--catalog", &url, "init"]));
    pg.psql(&url, "INSERT INTO schema_version (version) VALUES (999)");
    let out = testkit::output(station(&v).arg("status"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("999") && err.contains("upgrade discvault"),
        "{err}"
    );
    // A catalog that cannot be reached names the server, never its password.
    let out = testkit::output(station(&v).args([
        "--catalog",
        "postgres://dv:secret@127.0.0.1:1/none",
        "status",
    ]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("127.0.0.1:1") && !err.contains("secret"),
        "{err}"
    );
}

#[test]
fn a_catalog_moves_from_sqlite_to_postgresql_and_back_checked() {
    let pg = Server::start();
    let url = pg.database("moved");
    let t = tempfile::tempdir().unwrap();
    let v = t.path().join("v");
    let src = tree(t.path(), "文书档案", 30, 5);
    ok(station(&v).arg("init"));
    ok(station(&v)
        .arg("archive")
        .arg(&src)
        .args(["--media", "cd74", "--out"])
        .arg(t.path().join("img")));
    let img = t.path().join("img/DV-000001.iso");
    ok(station(&v)
        .args(["publish", "DV-000001", "--copies", "1", "--to"])
        .arg(format!("images:{}", t.path().join("copies").display())));
    let before = json(station(&v).arg("status"));
    let found = json(station(&v).args(["locate", "通知"]));

    // A target that holds records is refused, changing nothing.
    let busy = pg.database("busy");
    let other = t.path().join("other");
    ok(station(&other).args(["--catalog", &busy, "init"]));
    ok(station(&other).arg("add").arg(&src));
    let out = testkit::output(station(&v).args(["catalog", "copy", "--to", &busy]));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    assert!(std::fs::read_to_string(v.join("discvault.toml"))
        .unwrap()
        .contains("url = \"sqlite:catalog.sqlite\""));

    let r = json(station(&v).args(["catalog", "copy", "--switch", "--to", &url]));
    let rows = |name: &str| {
        r["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x[0] == name)
            .unwrap()[1]
            .as_u64()
            .unwrap()
    };
    assert_eq!(rows("files"), 30);
    assert_eq!(rows("copies"), 1);
    assert!(r["events"].as_u64().unwrap() > 3, "{r}");
    assert!(std::fs::read_to_string(v.join("discvault.toml"))
        .unwrap()
        .contains(&format!("url = \"{url}\"")));
    // The vault now runs on PostgreSQL, and knows all it knew.
    assert_eq!(
        pg.psql(&url, "SELECT COUNT(*) FROM files").trim(),
        "30",
        "the rows are in PostgreSQL"
    );
    assert_eq!(json(station(&v).arg("status")), before);
    assert_eq!(json(station(&v).args(["locate", "通知"])), found);
    let out = ok(station(&v).arg("verify").arg(&img));
    assert!(out.contains("clean"), "{out}");
    assert!(ok(station(&v).arg("check")).contains("catalog intact"));
    // New work continues the numbering after the copied ids.
    let more = tree(t.path(), "会计档案", 5, 6);
    ok(station(&v)
        .arg("archive")
        .arg(&more)
        .args(["--media", "cd74", "--out"])
        .arg(t.path().join("img")));
    assert!(t.path().join("img/DV-000002.iso").is_file());

    // And back to a single PC.
    let back = t.path().join("back.sqlite");
    let r = json(
        station(&v)
            .args(["catalog", "copy", "--switch", "--to"])
            .arg(format!("sqlite:{}", back.display())),
    );
    assert_eq!(
        r["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x[0] == "files")
            .unwrap()[1],
        35
    );
    let status = json(station(&v).arg("status"));
    assert_eq!(status["mastered"]["files"], 35, "{status}");
    for q in ["通知", "会", "计档"] {
        let n = json(station(&v).args(["locate", q]))
            .as_array()
            .unwrap()
            .len();
        assert!(
            n > 0,
            "locate {q} on the copied SQLite catalog (its path indexes rebuilt)"
        );
    }
    assert!(ok(station(&v).arg("check")).contains("catalog intact"));
    assert!(ok(station(&v).args(["log", "verify"])).contains("intact"));
}
