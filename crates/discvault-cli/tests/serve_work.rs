//! The disc work of a records office over HTTP, against the real `discvault serve` process on
//! 127.0.0.1 (SQLite in the suite's first run, PostgreSQL in its second): copies, cabinets,
//! quality, labels, previews, and the long operations as tasks (verify, readback, restore,
//! publish) followed as server-sent events; and webhooks, signed, reaching a receiver that was
//! down for a while.

mod common;
use common::server::{body, ok, post, Server};
use common::{archive, dv, records_tree, sql, zbar};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use testkit::http;

/// The vault's configuration with its roots, and these lines of its `[server]` section set.
fn configure(vault: &Path, roots: &[&Path], extra: &str) {
    let cfg = vault.join("discvault.toml");
    let roots: Vec<String> = roots
        .iter()
        .map(|r| format!("{:?}", r.display().to_string()))
        .collect();
    let mut text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("roots = []", &format!("roots = [{}]", roots.join(", ")));
    // Each `key = value` of `extra` replaces the line of its key.
    for line in extra.lines().filter(|l| !l.trim().is_empty()) {
        let key = line.split('=').next().unwrap().trim();
        let old = text
            .lines()
            .find(|l| l.starts_with(&format!("{key} =")))
            .unwrap_or_else(|| panic!("no {key} in discvault.toml"))
            .to_string();
        text = text.replace(&old, line);
    }
    std::fs::write(&cfg, text).unwrap();
}

fn tokens(vault: &Path) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (user, role) in [
        ("管理员", "admin"),
        ("档案员", "archivist"),
        ("操作员", "operator"),
        ("审计员", "auditor"),
    ] {
        ok(dv(vault).args(["user", "add", user, "--role", role]));
        let t = ok(dv(vault).args(["token", "create", "--user", user]));
        out.push((role, t["token"].as_str().unwrap().to_string()));
    }
    out
}

fn send(
    server: &Server,
    method: &str,
    path: &str,
    token: &str,
    ctype: &str,
    b: &[u8],
) -> http::Response {
    let auth = format!("Bearer {token}");
    http::request(
        &server.addr,
        method,
        path,
        &[("Authorization", &auth), ("Content-Type", ctype)],
        b,
    )
}

/// Queues a task and follows it as server-sent events to its end: the events' tasks, in order.
fn run_task(server: &Server, token: &str, task: Value) -> Vec<Value> {
    let r = post(server, "/api/v1/tasks", token, &task);
    assert_eq!(r.status, 202, "{task}: {}", r.text());
    let id = body(&r)["task_id"].as_str().unwrap().to_string();
    let stream = server.get(&format!("/api/v1/tasks/{id}/events"), Some(token));
    assert_eq!(stream.status, 200, "{}", stream.text());
    assert!(stream
        .header("content-type")
        .unwrap()
        .starts_with("text/event-stream"));
    let text = stream.text();
    let mut events = Vec::new();
    let mut name = String::new();
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("event: ") {
            name = n.to_string();
        } else if let Some(d) = line.strip_prefix("data: ") {
            assert_eq!(name, "task", "{text}");
            events.push(serde_json::from_str::<Value>(d).unwrap());
        }
    }
    assert!(!events.is_empty(), "{text}");
    let last = events.last().unwrap();
    assert_eq!(last["task_id"], id.as_str());
    assert!(
        !matches!(last["state"].as_str(), Some("queued" | "running")),
        "the stream ended before the task: {text}"
    );
    events
}

#[test]
fn a_records_offices_disc_work_goes_through_the_api() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("档案库");
    let src = records_tree(&t.path().join("src"), "文书档案", 20, 11);
    let images = t.path().join("images");
    let (rc, report) = archive(&vault, &src, "cd74", &images);
    assert_eq!(rc, 0, "{report}");
    let work = t.path().join("工作区");
    std::fs::create_dir_all(&work).unwrap();
    configure(&vault, &[&images, &work], "");
    let tokens = tokens(&vault);
    let token = |role: &str| tokens.iter().find(|(r, _)| *r == role).unwrap().1.clone();
    let (admin, archivist, operator, auditor) = (
        token("admin"),
        token("archivist"),
        token("operator"),
        token("auditor"),
    );
    let server = Server::start(&vault);
    assert_eq!(
        body(&server.get("/api/v1/webhooks", Some(&admin))),
        json!([])
    );

    // Copies registered, moved and marked over HTTP by an operator; not by an auditor or an
    // archivist.
    let add = json!({"volume": "DV-000001", "roles": ["access"], "place": "本馆/一号库房/柜03/1/5", "brand": "中国紫金"});
    for who in [&auditor, &archivist] {
        assert_eq!(post(&server, "/api/v1/copies", who, &add).status, 403);
    }
    let r = post(&server, "/api/v1/copies", &operator, &add);
    assert_eq!(r.status, 200, "{}", r.text());
    let copy = body(&r)[0].clone();
    let copy_id = copy["copy_id"].as_str().unwrap().to_string();
    assert_eq!(copy["place"]["cabinet"], "柜03", "{copy}");
    let listed = ok(dv(&vault).args(["copies", "list", "--volume", "DV-000001"]));
    assert!(listed.as_array().unwrap().contains(&copy), "{listed}");
    let moved = post(
        &server,
        &format!("/api/v1/copies/{copy_id}/move"),
        &operator,
        &json!({"place": "本馆/一号库房/柜03/2/7"}),
    );
    assert_eq!(moved.status, 200, "{}", moved.text());
    assert_eq!(body(&moved)["place"]["slot"], "7");
    let bad = post(
        &server,
        &format!("/api/v1/copies/{copy_id}/mark"),
        &operator,
        &json!({"state": "verified"}),
    );
    assert_eq!(bad.status, 400, "verified needs a date: {}", bad.text());
    assert!(bad.text().contains("--at"), "{}", bad.text());
    assert_eq!(
        post(
            &server,
            "/api/v1/copies/NO-SUCH-COPY/move",
            &operator,
            &json!({"cabinet": "柜01"})
        )
        .status,
        404
    );

    // The cabinet's inventory is the CLI's export, byte for byte; a stocktaking sent back as
    // the body (GBK, as Excel on Chinese Windows saves it) is compared as the CLI compares a
    // file, and applied only when asked.
    let inv = server.get(
        "/api/v1/cabinets/%E6%9F%9C03/inventory", // 柜03
        Some(&auditor),
    );
    assert_eq!(inv.status, 200, "{}", inv.text());
    assert!(inv.header("content-type").unwrap().starts_with("text/csv"));
    let cli = testkit::output(dv(&vault).args(["cabinet", "export", "柜03"]));
    assert_eq!(inv.body, cli.stdout);
    let seen = format!(
        "copy_id,barcode,rfid,cabinet,shelf,slot\n{copy_id},{},,柜03,2,9\n",
        copy["barcode"].as_str().unwrap()
    );
    let (gbk, _, _) = encoding_rs::GBK.encode(&seen);
    let file = t.path().join("stocktaking.csv");
    std::fs::write(&file, &gbk).unwrap();
    // Exit 3: the cabinet and the catalog disagree.
    let (rc, cli) = common::json(
        dv(&vault)
            .args(["cabinet", "import", "--dry-run"])
            .arg(&file),
    );
    assert_eq!(rc, 3, "{cli}");
    let r = send(
        &server,
        "POST",
        "/api/v1/cabinets/import?dry_run=true",
        &operator,
        "text/csv",
        &gbk,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(body(&r), cli);
    assert_eq!(body(&r)["found_unexpected"][0]["slot"], "9", "{}", r.text());
    let r = send(
        &server,
        "POST",
        "/api/v1/cabinets/import",
        &operator,
        "text/csv",
        &gbk,
    );
    assert_eq!(body(&r)["applied"], true, "{}", r.text());
    let now = ok(dv(&vault).args(["locate", "--barcode", &copy_id]));
    assert_eq!(now["copy"]["place"]["slot"], "9", "{now}");
    // A bad row names its line and the body, and changes nothing.
    let r = send(
        &server,
        "POST",
        "/api/v1/cabinets/import",
        &operator,
        "text/csv",
        "copy_id,barcode,rfid,cabinet,shelf,slot\nX,NO-SUCH,,柜03,1,abc\n".as_bytes(),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("line 2") && r.text().contains("request"),
        "{}",
        r.text()
    );
    // Quality measurements, as a disc analyser exports them.
    let q = format!("copy,measured_at,metric,value\n{copy_id},2026-11-30,bler,20\n");
    let r = send(
        &server,
        "POST",
        "/api/v1/quality/import",
        &operator,
        "text/csv",
        q.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(body(&r)[0]["copy_id"], copy_id.as_str(), "{}", r.text());
    assert_eq!(
        send(
            &server,
            "POST",
            "/api/v1/quality/import",
            &auditor,
            "text/csv",
            q.as_bytes()
        )
        .status,
        403
    );
    // A body over the limit is refused before it is read whole.
    let big = vec![b'x'; 17 << 20];
    let r = send(
        &server,
        "POST",
        "/api/v1/quality/import",
        &operator,
        "text/csv",
        &big,
    );
    assert_eq!(r.status, 413);
    assert_eq!(body(&r)["kind"], "too_large", "{}", r.text());

    // Reading: every role; the same JSON as the CLI.
    for (path, cli) in [
        ("/api/v1/jobs", ok(dv(&vault).arg("jobs"))),
        (
            "/api/v1/restore/pick?pattern=%E6%96%87%E4%B9%A6%E6%A1%A3%E6%A1%88/*", // 文书档案/*
            ok(dv(&vault)
                .args(["restore", "文书档案/*", "--to"])
                .arg(t.path().join("unused"))),
        ),
        (
            "/api/v1/migrate/plan",
            ok(dv(&vault).args(["migrate", "--plan"])),
        ),
    ] {
        for (role, tok) in &tokens {
            let r = server.get(path, Some(tok));
            assert_eq!(r.status, 200, "{path} as {role}: {}", r.text());
        }
        assert_eq!(body(&server.get(path, Some(&auditor))), cli, "{path}");
        assert_eq!(server.get(path, None).status, 401, "{path}");
    }
    let vols = body(&server.get("/api/v1/volumes", Some(&auditor)));
    assert_eq!(vols[0]["volume_id"], "DV-000001", "{vols}");
    assert_eq!(
        body(&server.get("/api/v1/volumes/DV-000001", Some(&auditor))),
        vols[0]
    );
    assert_eq!(
        server
            .get("/api/v1/volumes/DV-999999", Some(&auditor))
            .status,
        404
    );
    let cols = body(&server.get("/api/v1/collections", Some(&auditor)));
    assert_eq!(cols[0]["name"], "文书档案", "{cols}");
    assert_eq!(
        server.get("/api/v1/restore/pick", Some(&auditor)).status,
        400
    );

    // Labels: the SVG is the CLI's; the PNG's barcode reads back with zbarimg; the PDF has a
    // page pdftotext reads the volume from.
    let svg = server.get("/api/v1/labels/face/DV-000001", Some(&auditor));
    assert_eq!(svg.status, 200, "{}", svg.text());
    assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
    let out = t.path().join("face.svg");
    testkit::run(dv(&vault).args(["label", "DV-000001", "--out"]).arg(&out));
    assert_eq!(svg.body, std::fs::read(&out).unwrap());
    let png = server.get(
        &format!("/api/v1/labels/face/{copy_id}?format=png"),
        Some(&auditor),
    );
    assert_eq!(png.header("content-type"), Some("image/png"));
    let png_file = t.path().join("face.png");
    std::fs::write(&png_file, &png.body).unwrap();
    let codes = zbar(&png_file);
    assert!(codes.iter().any(|(_, v)| v == &copy_id), "{codes:?}");
    let pdf = server.get("/api/v1/labels/spine/DV-000001?format=pdf", Some(&auditor));
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    let pdf_file = t.path().join("spine.pdf");
    std::fs::write(&pdf_file, &pdf.body).unwrap();
    let text = testkit::run(Command::new("pdftotext").arg(&pdf_file).arg("-"));
    assert!(text.contains("DV-000001"), "{text}");
    assert_eq!(
        server
            .get("/api/v1/labels/face/NO-SUCH?format=svg", Some(&auditor))
            .status,
        404
    );
    assert_eq!(
        server
            .get("/api/v1/labels/back/DV-000001", Some(&auditor))
            .status,
        400
    );
    // Templates by name: the list is the CLI's; the slim spine's barcode reads back; a name
    // that is not a template of the kind (a path least of all) is a 400 naming it.
    let tpls = body(&server.get("/api/v1/labels/templates", Some(&auditor)));
    assert_eq!(tpls, ok(dv(&vault).args(["label", "--list-templates"])));
    let slim = server.get(
        "/api/v1/labels/spine/DV-000001?format=png&template=slim",
        Some(&auditor),
    );
    assert_eq!(slim.status, 200, "{}", slim.text());
    let slim_file = t.path().join("slim.png");
    std::fs::write(&slim_file, &slim.body).unwrap();
    let codes = zbar(&slim_file);
    assert!(codes.iter().any(|(_, v)| v == "DV-000001"), "{codes:?}");
    // The PNG's width and height (IHDR): 118 × 4.5 mm.
    let be = |b: &[u8]| u32::from_be_bytes(b.try_into().unwrap());
    let (w, h) = (be(&slim.body[16..20]), be(&slim.body[20..24]));
    assert!(w > 25 * h && w < 27 * h, "118 × 4.5 mm: {w} × {h}");
    for bad in ["slim", "..%2F..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fhostname"] {
        let r = server.get(
            &format!("/api/v1/labels/face/DV-000001?template={bad}"),
            Some(&auditor),
        );
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
        assert!(
            r.text().contains("no face template has that name"),
            "{}",
            r.text()
        );
    }
    // The report as PDF, printed by the server's Chromium.
    let rep = server.get("/api/v1/report?format=pdf", Some(&auditor));
    assert_eq!(rep.status, 200, "{}", rep.text());
    let rep_file = t.path().join("report.pdf");
    std::fs::write(&rep_file, &rep.body).unwrap();
    let text = testkit::run(Command::new("pdftotext").arg(&rep_file).arg("-"));
    assert!(
        text.contains("Preservation report") && text.contains("files ingested\n20\n"),
        "{text}"
    );

    // The plan preview records nothing.
    let more = records_tree(&t.path().join("more"), "照片档案", 4, 12);
    ok(dv(&vault)
        .args(["add", "--collection", "照片档案"])
        .arg(&more));
    let before = sql(&vault, "SELECT COUNT(*) FROM volumes");
    assert_eq!(
        post(
            &server,
            "/api/v1/plan/preview",
            &operator,
            &json!({"media": "cd74"})
        )
        .status,
        403
    );
    let r = post(
        &server,
        "/api/v1/plan/preview",
        &archivist,
        &json!({"media": "cd74"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        body(&r)["volumes"].as_array().unwrap().len(),
        1,
        "{}",
        r.text()
    );
    assert_eq!(sql(&vault, "SELECT COUNT(*) FROM volumes"), before);

    // The long operations as tasks, followed as server-sent events.
    let iso = images.join("DV-000001.iso");
    let v = run_task(
        &server,
        &operator,
        json!({"kind": "verify", "params": {"sources": [iso], "copy": copy_id}}),
    );
    let done = v.last().unwrap();
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["result"][0]["clean"], true, "{done}");
    let trusted = ok(dv(&vault).args(["locate", "--barcode", &copy_id]));
    assert_eq!(trusted["copy"]["trusted"], true, "{trusted}");

    let rb = run_task(
        &server,
        &operator,
        json!({"kind": "readback", "params": {"source": iso, "to": work.join("返读")}}),
    );
    let done = rb.last().unwrap();
    assert_eq!(done["state"], "done", "{done}");
    // The 20 records, checked, and the disc's own files (bag, manifests, README) beside them.
    assert_eq!(done["result"]["verify"]["files_ok"], 20, "{done}");
    assert!(
        done["result"]["files_written"].as_u64().unwrap() > 20,
        "{done}"
    );
    assert!(work.join("返读/DV-000001").is_dir());

    // Restore: the archivist; the files come back with their bytes.
    assert_eq!(
        post(&server, "/api/v1/tasks", &operator, &json!({"kind": "restore", "params": {"pattern": "文书档案/*", "from": [iso], "to": work.join("恢复")}})).status,
        403
    );
    let rs = run_task(
        &server,
        &archivist,
        json!({"kind": "restore", "params": {"pattern": "文书档案/*", "from": [iso], "to": work.join("恢复")}}),
    );
    let done = rs.last().unwrap();
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["result"]["restored"], 20, "{done}");
    let mut n = 0;
    for e in walk(&src) {
        let rel = e.strip_prefix(&src).unwrap();
        let back = work.join("恢复").join("文书档案").join(rel);
        assert_eq!(
            std::fs::read(&e).unwrap(),
            std::fs::read(&back).unwrap(),
            "{}",
            back.display()
        );
        n += 1;
    }
    assert_eq!(n, 20);
    // Without a folder: restored for download, as tar or zip; the archives hold the records
    // with their bytes, as bsdtar and 7z read them.
    let dl = run_task(
        &server,
        &archivist,
        json!({"kind": "restore", "params": {"pattern": "文书档案/*", "from": [iso]}}),
    );
    let dl_id = dl.last().unwrap()["task_id"].as_str().unwrap().to_string();
    assert_eq!(dl.last().unwrap()["state"], "done", "{:?}", dl.last());
    assert_eq!(
        server
            .get(&format!("/api/v1/tasks/{dl_id}/download"), Some(&operator))
            .status,
        403
    );
    for (form, lister, extract) in [
        ("tar", vec!["bsdtar", "-tf"], vec!["bsdtar", "-xf"]),
        ("zip", vec!["7z", "l", "-ba"], vec!["7z", "x", "-y"]),
    ] {
        let r = server.get(
            &format!("/api/v1/tasks/{dl_id}/download?format={form}"),
            Some(&archivist),
        );
        assert_eq!(r.status, 200, "{form}: {}", r.text());
        assert!(r
            .header("content-disposition")
            .unwrap()
            .contains(&format!("{dl_id}.{form}")));
        let file = t.path().join(format!("download.{form}"));
        std::fs::write(&file, &r.body).unwrap();
        let listing = testkit::run(Command::new(lister[0]).args(&lister[1..]).arg(&file));
        assert!(listing.contains("关于档案工作的通知000.txt"), "{listing}");
        let out = t.path().join(format!("解包-{form}"));
        std::fs::create_dir_all(&out).unwrap();
        testkit::run(
            Command::new(extract[0])
                .args(&extract[1..])
                .arg(&file)
                .current_dir(&out),
        );
        let mut n = 0;
        for e in walk(&src) {
            let rel = e.strip_prefix(&src).unwrap();
            let back = out.join("文书档案").join(rel);
            assert_eq!(
                std::fs::read(&e).unwrap(),
                std::fs::read(&back).unwrap(),
                "{form}: {}",
                back.display()
            );
            n += 1;
        }
        assert_eq!(n, 20, "{form}");
    }
    let del = http::request(
        &server.addr,
        "DELETE",
        &format!("/api/v1/tasks/{dl_id}/download"),
        &[("Authorization", &format!("Bearer {archivist}"))],
        b"",
    );
    assert_eq!(del.status, 204, "{}", del.text());
    assert_eq!(
        server
            .get(&format!("/api/v1/tasks/{dl_id}/download"), Some(&archivist))
            .status,
        404
    );
    // A restore into a folder of the roots is not a download.
    let restored_id = rs.last().unwrap()["task_id"].as_str().unwrap().to_string();
    assert_eq!(
        server
            .get(
                &format!("/api/v1/tasks/{restored_id}/download"),
                Some(&archivist)
            )
            .status,
        400
    );

    // A restore from outside the roots is refused before it is queued.
    let r = post(
        &server,
        "/api/v1/tasks",
        &archivist,
        &json!({"kind": "restore", "params": {"pattern": "*", "from": ["/etc/passwd"], "to": work.join("x")}}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("/etc/passwd"), "{}", r.text());

    // Publish as images into a folder inside the roots: the copies are burned and checked.
    let out = work.join("刻录");
    std::fs::create_dir_all(&out).unwrap();
    let p = run_task(
        &server,
        &operator,
        json!({"kind": "publish", "params": {"volumes": ["DV-000001"], "target": format!("images:{}", out.display()), "roles": ["offsite"]}}),
    );
    let done = p.last().unwrap();
    assert_eq!(done["state"], "done", "{done}");
    let written: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
    assert_eq!(written.len(), 1, "{done}");
    let r = post(
        &server,
        "/api/v1/tasks",
        &operator,
        &json!({"kind": "publish", "params": {"target": "images:/tmp"}}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let jobs = body(&server.get("/api/v1/jobs", Some(&auditor)));
    assert_eq!(jobs, ok(dv(&vault).arg("jobs")));

    // The events of the work name who asked for it.
    let agents = sql(
        &vault,
        "SELECT DISTINCT agent FROM events WHERE event_type = 'fixity check' AND copy IS NOT NULL",
    );
    assert!(agents.contains("操作员@api"), "{agents}");

    // The OpenAPI document lists them all.
    let spec = body(&server.get("/api/openapi.json", Some(&auditor)));
    for p in [
        "/api/v1/copies/{copy}/move",
        "/api/v1/copies/{copy}/mark",
        "/api/v1/cabinets/import",
        "/api/v1/cabinets/{cabinet}/inventory",
        "/api/v1/quality/import",
        "/api/v1/labels/{kind}/{key}",
        "/api/v1/tasks/{task_id}/events",
        "/api/v1/plan/preview",
        "/api/v1/restore/pick",
        "/api/v1/migrate/plan",
        "/api/v1/volumes",
        "/api/v1/collections",
        "/api/v1/jobs/{job_id}/cancel",
        "/api/v1/webhooks",
        "/api/v1/webhooks/{webhook_id}/deliveries",
    ] {
        assert!(spec["paths"].get(p).is_some(), "{p} not in the document");
    }
    assert!(server.stop().success());
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// A message a receiver took: its headers (names in lower case) and body.
#[derive(Debug, Clone)]
struct Received {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} header: {:?}", self.headers))
    }
}

/// A webhook receiver on 127.0.0.1: answers 503 while `down`, else 200 and keeps the message.
struct Receiver {
    addr: String,
    down: Arc<Mutex<bool>>,
    got: Arc<Mutex<Vec<Received>>>,
    refused: Arc<Mutex<u32>>,
}

impl Receiver {
    fn start() -> Receiver {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let down = Arc::new(Mutex::new(true));
        let got = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(Mutex::new(0));
        let (d, g, r) = (down.clone(), got.clone(), refused.clone());
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                let mut rd = BufReader::new(s.try_clone().unwrap());
                let mut headers = Vec::new();
                let mut line = String::new();
                rd.read_line(&mut line).unwrap();
                assert!(line.starts_with("POST "), "{line}");
                loop {
                    line.clear();
                    rd.read_line(&mut line).unwrap();
                    let l = line.trim_end();
                    if l.is_empty() {
                        break;
                    }
                    let (k, v) = l.split_once(':').unwrap();
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .map(|(_, v)| v.parse().unwrap())
                    .unwrap_or(0);
                let mut body = vec![0; len];
                rd.read_exact(&mut body).unwrap();
                let answer = if *d.lock().unwrap() {
                    *r.lock().unwrap() += 1;
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                } else {
                    g.lock().unwrap().push(Received { headers, body });
                    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                };
                let _ = s.write_all(answer.as_bytes());
            }
        });
        Receiver {
            addr,
            down,
            got,
            refused,
        }
    }
}

/// HMAC-SHA256 as openssl computes it: the signature a receiver expects.
fn openssl_hmac(secret: &str, message: &[u8]) -> String {
    let mut c = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-hmac", secret])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(message).unwrap();
    let out = c.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.trim().rsplit(' ').next().unwrap().to_string()
}

#[test]
fn webhooks_are_signed_and_reach_a_receiver_that_was_down() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("vault");
    let src = records_tree(&t.path().join("src"), "文书档案", 6, 21);
    let images = t.path().join("images");
    let (rc, report) = archive(&vault, &src, "cd74", &images);
    assert_eq!(rc, 0, "{report}");
    configure(&vault, &[&images], "webhook_retry_seconds = 1\n");
    let tokens = tokens(&vault);
    let token = |role: &str| tokens.iter().find(|(r, _)| *r == role).unwrap().1.clone();
    let admin = token("admin");
    let receiver = Receiver::start();
    let server = Server::start(&vault);

    // Admin only; a URL that is not http(s) or a short secret is refused.
    let sub = json!({"url": format!("http://{}/hooks/档案", receiver.addr), "events": ["volume.mastered", "copy.verified", "damage.found", "job.failed", "inspection.due"]});
    for role in ["archivist", "operator", "auditor"] {
        assert_eq!(
            post(&server, "/api/v1/webhooks", &token(role), &sub).status,
            403
        );
        assert_eq!(
            server.get("/api/v1/webhooks", Some(&token(role))).status,
            403
        );
    }
    for bad in [
        json!({"url": "ftp://example.org/x"}),
        json!({"url": "http://"}),
        json!({"url": "http://a b"}),
        json!({"url": format!("http://{}/", receiver.addr), "secret": "short"}),
        json!({"url": format!("http://{}/", receiver.addr), "events": ["disc.eaten"]}),
    ] {
        let r = post(&server, "/api/v1/webhooks", &admin, &bad);
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
    let r = post(&server, "/api/v1/webhooks", &admin, &sub);
    assert_eq!(r.status, 201, "{}", r.text());
    let hook = body(&r);
    let secret = hook["secret"].as_str().unwrap().to_string();
    let hook_id = hook["webhook_id"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_") && secret.len() > 40, "{hook}");
    // Listed without its secret, as the CLI lists it.
    let listed = body(&server.get("/api/v1/webhooks", Some(&admin)));
    assert!(!listed.to_string().contains(&secret));
    assert_eq!(listed, ok(dv(&vault).args(["webhook", "list"])));

    // While the receiver is down: a copy verified, a damaged image found, new records
    // mastered, a task that fails.
    let copy = ok(dv(&vault).args(["copies", "add", "DV-000001", "--roles", "access"]));
    let copy_id = copy[0]["copy_id"].as_str().unwrap().to_string();
    let iso = images.join("DV-000001.iso");
    ok(dv(&vault).args(["verify", "--copy", &copy_id]).arg(&iso));
    let bad_copy = t.path().join("damaged.iso");
    let mut bytes = std::fs::read(&iso).unwrap();
    // A record's bytes on the disc, found by its content, flipped.
    let record = std::fs::read(&walk(&src)[0]).unwrap();
    let at = bytes
        .windows(record.len().min(64))
        .position(|w| w == &record[..record.len().min(64)])
        .expect("the record is on the image");
    for b in &mut bytes[at..at + record.len().min(64)] {
        *b ^= 0x5a;
    }
    std::fs::write(&bad_copy, &bytes).unwrap();
    let (rc, _) = common::json(dv(&vault).arg("verify").arg(&bad_copy));
    assert_ne!(rc, 0, "the damaged image must fail its check");
    let more = records_tree(&t.path().join("more"), "照片档案", 3, 22);
    ok(dv(&vault)
        .args(["add", "--collection", "照片档案"])
        .arg(&more));
    ok(dv(&vault).args(["plan", "--media", "cd74"]));
    ok(dv(&vault).args(["master", "--out"]).arg(&images));
    let r = post(
        &server,
        "/api/v1/tasks",
        &token("archivist"),
        &json!({"kind": "restore", "params": {"pattern": "没有这个文件/*", "from": [iso], "to": images.join("r")}}),
    );
    assert_eq!(r.status, 202, "{}", r.text());

    // The server tries, is refused, and backs off.
    common::wait_for("attempts refused by the receiver", || {
        *receiver.refused.lock().unwrap() >= 3
    });
    let log = body(&server.get(
        &format!("/api/v1/webhooks/{hook_id}/deliveries"),
        Some(&admin),
    ));
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|d| d["state"] == "pending" && d["last_status"] == 503),
        "{log}"
    );
    assert!(receiver.got.lock().unwrap().is_empty());
    std::thread::sleep(std::time::Duration::from_secs(2));
    *receiver.down.lock().unwrap() = false;

    // Back up: every message arrives, once, signed.
    let want = [
        "copy.verified",
        "damage.found",
        "volume.mastered",
        "job.failed",
        "inspection.due",
    ];
    common::wait_for("every event delivered", || {
        let got = receiver.got.lock().unwrap();
        want.iter()
            .all(|w| got.iter().any(|r| r.header("x-discvault-event") == *w))
            && body(&server.get(
                &format!("/api/v1/webhooks/{hook_id}/deliveries"),
                Some(&admin),
            ))
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["state"] == "delivered")
    });
    let got = receiver.got.lock().unwrap().clone();
    let mut ids = std::collections::BTreeSet::new();
    for r in &got {
        let ts = r.header("x-discvault-timestamp");
        let mut signed = format!("{ts}.").into_bytes();
        signed.extend_from_slice(&r.body);
        assert_eq!(
            r.header("x-discvault-signature"),
            format!("sha256={}", openssl_hmac(&secret, &signed)),
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        let b: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(b["delivery"], r.header("x-discvault-delivery"));
        assert_eq!(b["event"], r.header("x-discvault-event"));
        assert!(
            ids.insert(b["delivery"].as_str().unwrap().to_string()),
            "delivered twice: {b}"
        );
        match b["event"].as_str().unwrap() {
            "copy.verified" => assert_eq!(b["copy_id"], copy_id.as_str(), "{b}"),
            "damage.found" => assert_eq!(b["volume_id"], "DV-000001", "{b}"),
            "volume.mastered" => assert_eq!(b["volume_id"], "DV-000002", "{b}"),
            "job.failed" => assert_eq!(b["task"]["state"], "failed", "{b}"),
            "inspection.due" => assert!(b["due"].as_u64().unwrap() >= 1, "{b}"),
            other => panic!("not subscribed: {other}"),
        }
    }
    let log = body(&server.get(
        &format!("/api/v1/webhooks/{hook_id}/deliveries"),
        Some(&admin),
    ));
    assert_eq!(log.as_array().unwrap().len(), got.len(), "{log}");
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|d| d["attempts"].as_i64().unwrap() > 1),
        "{log}"
    );
    assert_eq!(
        log,
        ok(dv(&vault).args(["webhook", "deliveries", &hook_id]))
    );

    // Subscribing is in the audit trail, with the admin as agent.
    let ev = sql(&vault, &format!("SELECT agent || '|' || detail FROM events WHERE detail LIKE 'webhook {hook_id} subscribed%'"));
    assert!(ev.starts_with("管理员@api|"), "{ev}");
    // Removed: nothing more is sent; removing again is a conflict.
    let r = http::request(
        &server.addr,
        "DELETE",
        &format!("/api/v1/webhooks/{hook_id}"),
        &[("Authorization", &format!("Bearer {admin}"))],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(body(&r)["removed_at"].is_i64());
    let r = http::request(
        &server.addr,
        "DELETE",
        &format!("/api/v1/webhooks/{hook_id}"),
        &[("Authorization", &format!("Bearer {admin}"))],
        b"",
    );
    assert_eq!(r.status, 409, "{}", r.text());
    ok(dv(&vault).args(["verify", "--copy", &copy_id]).arg(&iso));
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(receiver.got.lock().unwrap().len(), got.len());
    assert!(server.stop().success());
}

/// The one folder in `dir` (a `done/` or `error/` stamp folder), and its one entry named
/// `name`.
fn moved(dir: &Path, name: &str) -> std::path::PathBuf {
    let stamps: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.join(name).exists())
        .collect();
    assert_eq!(stamps.len(), 1, "{name} in {}: {stamps:?}", dir.display());
    stamps[0].clone()
}

#[test]
fn watched_folders_add_complete_deliveries_once() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("vault");
    ok(dv(&vault).arg("init"));
    let drop = t.path().join("交换区");
    std::fs::create_dir_all(&drop).unwrap();
    let cfg = vault.join("discvault.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(&format!(
        "\n[[server.watched]]\npath = {:?}\nsettle_seconds = 2\n",
        drop.display().to_string()
    ));
    std::fs::write(&cfg, text).unwrap();
    let server = Server::start(&vault);

    // A delivery with its marker and a JSON sidecar.
    let a = records_tree(&t.path().join("staging"), "2024-文书-001", 5, 31);
    std::fs::write(
        a.join("metadata.json"),
        r#"{"collection": "文书档案", "全宗号": "J001", "年度": "2024", "保管期限": "永久", "密级": "内部", "题名": "二〇二四年文书"}"#,
    )
    .unwrap();
    std::fs::write(a.join("READY"), "").unwrap();
    let a_bytes: Vec<(std::path::PathBuf, Vec<u8>)> = walk(&a)
        .into_iter()
        .filter(|p| !p.ends_with("READY"))
        .map(|p| {
            (
                p.strip_prefix(&a).unwrap().to_path_buf(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    std::fs::rename(&a, drop.join("2024-文书-001")).unwrap();
    // One without a marker, its sidecar as CSV in GBK: added once it stops changing.
    let b = records_tree(&t.path().join("staging"), "2024-照片-002", 3, 32);
    let (gbk, _, _) =
        encoding_rs::GBK.encode("key,value\ncollection,照片档案\n全宗号,J002\n年度,2024\n");
    std::fs::write(b.join("metadata.csv"), &gbk).unwrap();
    std::fs::rename(&b, drop.join("2024-照片-002")).unwrap();
    // One whose sidecar is wrong: to error/, with the reason, nothing added.
    let c = records_tree(&t.path().join("staging"), "2024-坏-003", 2, 33);
    std::fs::write(
        c.join("metadata.json"),
        r#"{"collection": "文书档案", "保管期限": "forever"}"#,
    )
    .unwrap();
    std::fs::write(c.join("READY"), "").unwrap();
    std::fs::rename(&c, drop.join("2024-坏-003")).unwrap();

    common::wait_for("the deliveries moved", || {
        ["done", "error"].iter().all(|d| drop.join(d).is_dir())
            && std::fs::read_dir(&drop).unwrap().count()
                == 2 + usize::from(drop.join(".ingesting").exists())
            && drop.join("done").read_dir().unwrap().count() == 2
    });
    let a_done = moved(&drop.join("done"), "2024-文书-001").join("2024-文书-001");
    for (rel, bytes) in &a_bytes {
        assert_eq!(
            &std::fs::read(a_done.join(rel)).unwrap(),
            bytes,
            "{}",
            rel.display()
        );
    }
    let b_done = moved(&drop.join("done"), "2024-照片-002");
    assert!(b_done.join("2024-照片-002").is_dir());
    let c_err = moved(&drop.join("error"), "2024-坏-003");
    let reason = std::fs::read_to_string(c_err.join("REASON.txt")).unwrap();
    assert!(
        reason.contains("保管期限") && reason.contains("forever"),
        "{reason}"
    );
    assert!(reason.contains("metadata.json"), "{reason}");

    // In the catalog: the records under their delivery's name, the sidecar's metadata on the
    // collection, the agent named; nothing of the bad delivery.
    let found = ok(dv(&vault).args(["locate", "2024-文书-001", "--limit", "100"]));
    assert_eq!(
        found.as_array().unwrap().len(),
        6,
        "5 records and the sidecar: {found}"
    );
    let found = ok(dv(&vault).args(["locate", "2024-照片-002", "--limit", "100"]));
    assert_eq!(found.as_array().unwrap().len(), 4, "{found}");
    assert_eq!(ok(dv(&vault).args(["locate", "2024-坏-003"])), json!([]));
    assert_eq!(
        sql(
            &vault,
            "SELECT fonds, retention FROM collections WHERE name = '文书档案'"
        )
        .trim(),
        "J001|永久"
    );
    assert_eq!(
        sql(&vault, "SELECT value FROM collection_metadata m JOIN collections c ON c.id = m.collection_id WHERE c.name = '文书档案' AND key = '密级'").trim(),
        "内部"
    );
    assert_eq!(
        sql(
            &vault,
            "SELECT fonds FROM collections WHERE name = '照片档案'"
        )
        .trim(),
        "J002"
    );
    assert!(sql(
        &vault,
        "SELECT DISTINCT agent FROM events WHERE event_type = 'ingestion'"
    )
    .contains("watched folder"));
    assert!(server.stop().success());
    let files = sql(&vault, "SELECT COUNT(*) FROM files");

    // A delivery claimed by a server that stopped after adding it, before moving it to done/:
    // added again when the server starts, once (what the catalog has is not added again).
    // (claimed by a process of this host that is gone)
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let again = drop.join(format!(
        ".ingesting/20261202T000000Z~{}~999999999~0",
        host.trim()
    ));
    // One claimed by a station elsewhere is left to it.
    let theirs = drop.join(".ingesting/20261202T000000Z~档案室二号机~4242~0/别处的移交");
    std::fs::create_dir_all(&theirs).unwrap();
    std::fs::write(theirs.join("a.txt"), "x").unwrap();
    std::fs::create_dir_all(&again).unwrap();
    std::fs::rename(&a_done, again.join("2024-文书-001")).unwrap();
    // Staged in the vault: done/ may be emptied, and the records still master.
    std::fs::remove_dir_all(drop.join("done")).unwrap();
    let server = Server::start(&vault);
    common::wait_for("the claimed delivery finished", || {
        drop.join("done").is_dir() && !again.exists()
    });
    moved(&drop.join("done"), "2024-文书-001");
    assert_eq!(sql(&vault, "SELECT COUNT(*) FROM files"), files);
    assert!(theirs.is_dir(), "another station's claim was taken");
    std::fs::remove_dir_all(drop.join("done")).unwrap();
    let images = t.path().join("images");
    ok(dv(&vault).args(["plan", "--media", "cd74"]));
    ok(dv(&vault).args(["master", "--out"]).arg(&images));
    let status = ok(dv(&vault).arg("status"));
    assert_eq!(status["mastered"]["files"], 10, "{status}");
    assert!(server.stop().success());
}

fn curl(args: &[&str]) -> (i32, String) {
    let out = testkit::output(
        Command::new("curl")
            .args(["-sS", "--max-time", "20"])
            .args(args),
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_server_speaks_https_with_a_configured_certificate() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("vault");
    ok(dv(&vault).arg("init"));
    let (cert, key) = (t.path().join("cert.pem"), t.path().join("key.pem"));
    testkit::run(
        Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args([
                "-subj",
                "/CN=discvault test",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert),
    );
    ok(dv(&vault).args(["user", "add", "审计员", "--role", "auditor"]));
    let token = ok(dv(&vault).args(["token", "create", "--user", "审计员"]))["token"]
        .as_str()
        .unwrap()
        .to_string();
    let cfg = vault.join("discvault.toml");
    let plain = std::fs::read_to_string(&cfg).unwrap();
    let set = |cert_line: &str, key_line: &str| {
        let text = plain
            .replace("# tls_cert = \"/etc/discvault/cert.pem\"", cert_line)
            .replace("# tls_key = \"/etc/discvault/key.pem\"", key_line);
        assert_ne!(text, plain);
        std::fs::write(&cfg, text).unwrap();
    };

    // A certificate without its key, or a file that is no key: refused before listening,
    // named.
    set(&format!("tls_cert = {:?}", cert.display().to_string()), "");
    let refused = |says: &str| {
        let out = testkit::output(dv(&vault).args(["serve", "--listen", "127.0.0.1:0"]));
        let e = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success() && e.contains(says), "{e}");
    };
    refused("tls_key");
    set(
        &format!("tls_cert = {:?}", cert.display().to_string()),
        &format!("tls_key = {:?}", cfg.display().to_string()),
    );
    refused("discvault.toml");

    set(
        &format!("tls_cert = {:?}", cert.display().to_string()),
        &format!("tls_key = {:?}", key.display().to_string()),
    );
    let server = Server::start(&vault);
    let base = format!("https://{}", server.addr);
    let cacert = cert.display().to_string();
    let (rc, health) = curl(&["--cacert", &cacert, &format!("{base}/api/health")]);
    assert_eq!(rc, 0, "{health}");
    assert_eq!(
        serde_json::from_str::<Value>(&health).unwrap()["status"],
        "ok"
    );
    let auth = format!("Authorization: Bearer {token}");
    let (rc, me) = curl(&[
        "--cacert",
        &cacert,
        "-H",
        &auth,
        &format!("{base}/api/v1/me"),
    ]);
    assert_eq!(rc, 0, "{me}");
    assert_eq!(
        serde_json::from_str::<Value>(&me).unwrap()["user"],
        "审计员"
    );
    // Not without trusting the certificate, and not in plain HTTP.
    let (rc, _) = curl(&[&format!("{base}/api/health")]);
    assert_eq!(rc, 60, "curl must refuse a certificate it does not trust");
    let (rc, _) = curl(&[&format!("http://{}/api/health", server.addr)]);
    assert_ne!(rc, 0, "plain HTTP to the HTTPS port");
    assert!(server.stop().success());
}

fn sha256sum(b: &[u8]) -> String {
    let mut c = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(b).unwrap();
    let out = c.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

#[test]
fn records_uploaded_over_http_are_checked_resumed_and_added() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("vault");
    ok(dv(&vault).arg("init"));
    let tokens = tokens(&vault);
    let token = |role: &str| tokens.iter().find(|(r, _)| *r == role).unwrap().1.clone();
    let (archivist, operator) = (token("archivist"), token("operator"));
    let server = Server::start(&vault);
    let auth = format!("Bearer {archivist}");

    // Larger than the 16 MiB a JSON or CSV body may be: a file is limited by its manifest.
    let big = testkit::pseudo_random((17 << 20) + 123, 41);
    let small = testkit::pseudo_random(5000, 42);
    let files = [
        ("2024-文书/卷001/扫描件.tif", big.clone()),
        ("2024-文书/卷001/目录.txt", small.clone()),
        (
            "2024-文书/说明.txt",
            "二〇二四年文书档案移交说明\n".as_bytes().to_vec(),
        ),
    ];
    let manifest: Vec<Value> = files
        .iter()
        .map(|(p, b)| json!({"path": p, "size": b.len(), "sha256": sha256sum(b)}))
        .collect();
    let req = json!({"collection": "文书档案", "metadata": {"fonds": "J001"}, "files": manifest});
    assert_eq!(
        post(&server, "/api/v1/uploads", &operator, &req).status,
        403
    );
    // A bad manifest is refused whole, each bad entry named.
    let bad = json!({"collection": "文书档案", "files": [
        {"path": "../etc/passwd", "size": 1, "sha256": "00".repeat(32)},
        {"path": "a.txt", "size": 1, "sha256": "xyz"},
        {"path": "b.txt", "size": 1, "sha256": "00".repeat(32)},
        {"path": "b.txt", "size": 1, "sha256": "00".repeat(32)},
    ]});
    let r = post(&server, "/api/v1/uploads", &archivist, &bad);
    assert_eq!(r.status, 400, "{}", r.text());
    for says in ["../etc/passwd", "a.txt: sha256", "b.txt: listed twice"] {
        assert!(r.text().contains(says), "{says}: {}", r.text());
    }
    let r = post(&server, "/api/v1/uploads", &archivist, &req);
    assert_eq!(r.status, 201, "{}", r.text());
    let id = body(&r)["upload_id"].as_str().unwrap().to_string();
    let file_url = |p: &str| {
        let enc: String = p
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        format!("/api/v1/uploads/{id}/file?path={enc}")
    };
    let put = |p: &str, range: Option<String>, b: &[u8]| {
        let mut h = vec![("Authorization", auth.clone())];
        if let Some(r) = range {
            h.push(("Content-Range", r));
        }
        let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
        http::request(&server.addr, "PUT", &file_url(p), &h, b)
    };

    // The big file in two requests: the first breaks off after 1 MiB (a request of its own
    // here), the second resumes where the upload says it stands.
    let cut = 1 << 20;
    let r = put(files[0].0, None, &big[..cut]);
    assert_eq!(r.status, 200, "{}", r.text());
    let u = body(&server.get(&format!("/api/v1/uploads/{id}"), Some(&archivist)));
    assert_eq!(u["files"][0]["received"], cut as u64, "{u}");
    assert_eq!(u["files"][0]["verified"], false);
    // (a short body: the server answers before reading it)
    let wrong = put(
        files[0].0,
        Some(format!("bytes 0-9/{}", big.len())),
        &big[..10],
    );
    assert_eq!(wrong.status, 409, "{}", wrong.text());
    assert!(
        wrong.text().contains(&format!("send from byte {cut}")),
        "{}",
        wrong.text()
    );
    let r = put(
        files[0].0,
        Some(format!("bytes {cut}-{}/{}", big.len() - 1, big.len())),
        &big[cut..],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(body(&r)["files"][0]["verified"], true, "{}", r.text());
    // A file whose bytes are not the manifest's: dropped, to be sent again.
    let mut spoilt = small.clone();
    spoilt[100] ^= 1;
    let r = put(files[1].0, None, &spoilt);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("SHA-256"), "{}", r.text());
    let u = body(&server.get(&format!("/api/v1/uploads/{id}"), Some(&archivist)));
    assert_eq!(u["files"][1]["received"], 0, "{u}");
    // Not every file there: no commit.
    let r = post(
        &server,
        &format!("/api/v1/uploads/{id}/commit"),
        &archivist,
        &json!({}),
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("目录.txt"), "{}", r.text());

    // The other two as a multipart form, as a browser or curl -F sends them.
    let boundary = "----discvault-test-boundary";
    let mut form = Vec::new();
    for (p, b) in &files[1..] {
        form.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{p}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        form.extend_from_slice(b);
        form.extend_from_slice(b"\r\n");
    }
    form.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let ctype = format!("multipart/form-data; boundary={boundary}");
    let r = http::request(
        &server.addr,
        "POST",
        &format!("/api/v1/uploads/{id}/files"),
        &[("Authorization", &auth), ("Content-Type", &ctype)],
        &form,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let u = body(&r);
    assert!(
        u["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["verified"] == true),
        "{u}"
    );

    // Files of one upload sent at once: each is kept, none lost in the upload's state.
    let many: Vec<(String, Vec<u8>)> = (0..6)
        .map(|i| {
            (
                format!("并行/文件{i}.bin"),
                testkit::pseudo_random(300_000 + i * 7, 70 + i as u64),
            )
        })
        .collect();
    let req2 = json!({"collection": "文书档案", "files": many.iter().map(|(p, b)| json!({"path": p, "size": b.len(), "sha256": sha256sum(b)})).collect::<Vec<_>>()});
    let id2 = body(&post(&server, "/api/v1/uploads", &archivist, &req2))["upload_id"]
        .as_str()
        .unwrap()
        .to_string();
    let senders: Vec<_> = many
        .iter()
        .cloned()
        .map(|(p, b)| {
            let (addr, auth, id2) = (server.addr.clone(), auth.clone(), id2.clone());
            std::thread::spawn(move || {
                let enc: String = p
                    .bytes()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || b"-._~/".contains(&c) {
                            (c as char).to_string()
                        } else {
                            format!("%{c:02X}")
                        }
                    })
                    .collect();
                http::request(
                    &addr,
                    "PUT",
                    &format!("/api/v1/uploads/{id2}/file?path={enc}"),
                    &[("Authorization", &auth)],
                    &b,
                )
                .status
            })
        })
        .collect();
    for s in senders {
        assert_eq!(s.join().unwrap(), 200);
    }
    let u2 = body(&server.get(&format!("/api/v1/uploads/{id2}"), Some(&archivist)));
    assert!(
        u2["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["verified"] == true),
        "{u2}"
    );
    let r = http::request(
        &server.addr,
        "DELETE",
        &format!("/api/v1/uploads/{id2}"),
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(r.status, 204, "{}", r.text());

    // Committed: an add task records them, staged in the vault; the upload's folder goes.
    let r = post(
        &server,
        &format!("/api/v1/uploads/{id}/commit"),
        &archivist,
        &json!({}),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let task = body(&r)["task_id"].as_str().unwrap().to_string();
    common::wait_for("the upload's add task", || {
        let t = body(&server.get(&format!("/api/v1/tasks/{task}"), Some(&archivist)));
        t["state"] == "done" || t["state"] == "failed"
    });
    let done = body(&server.get(&format!("/api/v1/tasks/{task}"), Some(&archivist)));
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["result"]["added"], 3, "{done}");
    assert_eq!(done["requested_by"], "档案员@api", "{done}");
    assert_eq!(
        server
            .get(&format!("/api/v1/uploads/{id}"), Some(&archivist))
            .status,
        404
    );
    assert!(!vault.join("uploads").join(&id).exists());
    let found = ok(dv(&vault).args(["locate", "扫描件"]));
    assert_eq!(found[0]["path"], "2024-文书/卷001/扫描件.tif", "{found}");
    assert_eq!(found[0]["size"], big.len() as u64, "{found}");
    // Mastered from the vault's staged copies, read back by xorriso.
    let images = t.path().join("images");
    ok(dv(&vault).args(["plan", "--media", "dvd5"]));
    ok(dv(&vault).args(["master", "--out"]).arg(&images));
    let out = t.path().join("out.tif");
    testkit::run(
        Command::new("xorriso")
            .args(["-indev"])
            .arg(images.join("DV-000001.iso"))
            .args(["-osirrox", "on", "-extract"])
            .arg("/data/文书档案/2024-文书/卷001/扫描件.tif")
            .arg(&out),
    );
    assert_eq!(std::fs::read(&out).unwrap(), big);

    // An upload larger than the disk is refused at once (413, naming the folder); one left
    // half-sent for longer than [server] stale_transfer_days is deleted by the server (here,
    // when it starts again).
    let huge = json!({"collection": "文书档案", "files": [
        {"path": "a.bin", "size": 1u64 << 49, "sha256": sha256sum(b"")}]});
    let r = post(&server, "/api/v1/uploads", &archivist, &huge);
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(body(&r)["kind"], "no_space");
    assert!(
        body(&r)["error"].as_str().unwrap().contains("uploads"),
        "{}",
        r.text()
    );
    let left = json!({"collection": "文书档案", "files": [
        {"path": "a.txt", "size": 10, "sha256": sha256sum(b"0123456789")}]});
    let left = body(&post(&server, "/api/v1/uploads", &archivist, &left))["upload_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = http::request(
        &server.addr,
        "PUT",
        &format!("/api/v1/uploads/{left}/file?path=a.txt"),
        &[("Authorization", &auth), ("Content-Range", "bytes 0-3/10")],
        b"0123",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(server.stop().success());
    let folder = vault.join("uploads").join(&left);
    for entry in walk(&folder).into_iter().chain([folder.clone()]) {
        testkit::run(
            Command::new("touch")
                .args(["-h", "-d", "8 days ago"])
                .arg(&entry),
        );
    }
    configure(&vault, &[], "transfer_idle_seconds = 1");
    let server = Server::start(&vault);
    common::wait_for("the stale upload to be deleted", || !folder.exists());
    assert_eq!(
        server
            .get(&format!("/api/v1/uploads/{left}"), Some(&archivist))
            .status,
        404
    );

    // A client that stops sending midway is cut off after [server] transfer_idle_seconds: what
    // came is kept, to resume from.
    let slow = json!({"collection": "文书档案", "files": [
        {"path": "b.txt", "size": 10, "sha256": sha256sum(b"0123456789")}]});
    let slow = body(&post(&server, "/api/v1/uploads", &archivist, &slow))["upload_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut stream = std::net::TcpStream::connect(&server.addr).unwrap();
    write!(
        stream,
        "PUT /api/v1/uploads/{slow}/file?path=b.txt HTTP/1.1\r\nHost: {}\r\n\
         Authorization: {auth}\r\nContent-Length: 10\r\n\r\n0123",
        server.addr
    )
    .unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("resume from byte 4"), "{answer}");
    let u = body(&server.get(&format!("/api/v1/uploads/{slow}"), Some(&archivist)));
    assert_eq!(u["files"][0]["received"], 4, "{u}");
    assert!(server.stop().success());
}

/// Waits for a task to be in one of `states`; its last answer.
fn task_in(server: &Server, token: &str, id: &str, states: &[&str]) -> Value {
    let mut last = Value::Null;
    common::wait_for(&format!("task {id} in {states:?}"), || {
        last = body(&server.get(&format!("/api/v1/tasks/{id}"), Some(token)));
        states.iter().any(|s| last["state"] == *s)
    });
    last
}

#[test]
fn a_running_task_is_cancelled_and_one_the_server_stopped_runs_again() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("vault");
    let src = records_tree(&t.path().join("src"), "文书档案", 4, 51);
    let (rc, report) = archive(&vault, &src, "cd74", &t.path().join("images"));
    assert_eq!(rc, 0, "{report}");
    // A disc publisher's hot folder that nothing serves: the job waits to be taken.
    let folder = t.path().join("TDBridge");
    std::fs::create_dir_all(&folder).unwrap();
    configure(&vault, &[&folder], "");
    let tokens = tokens(&vault);
    let operator = tokens
        .iter()
        .find(|(r, _)| *r == "operator")
        .unwrap()
        .1
        .clone();
    let server = Server::start(&vault);
    let r = post(
        &server,
        "/api/v1/tasks",
        &operator,
        &json!({"kind": "publish", "params": {"volumes": ["DV-000001"], "target": format!("tdbridge:{}", folder.display()), "copies": 1}}),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let id = body(&r)["task_id"].as_str().unwrap().to_string();
    task_in(&server, &operator, &id, &["running"]);

    // The server stops while it runs, with a client following the task: the stream ends,
    // the server stops in time, the task is queued again, saying why, and runs again when
    // the server is back.
    let (addr, path, tok) = (
        server.addr.clone(),
        format!("/api/v1/tasks/{id}/events"),
        operator.clone(),
    );
    let follower = std::thread::spawn(move || http::get(&addr, &path, Some(&tok)));
    std::thread::sleep(std::time::Duration::from_millis(500));
    let t0 = std::time::Instant::now();
    assert!(server.stop().success());
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        t0.elapsed()
    );
    let streamed = follower.join().unwrap();
    assert_eq!(streamed.status, 200);
    assert!(
        streamed.text().contains("\"state\":\"running\""),
        "{}",
        streamed.text()
    );
    let again = sql(
        &vault,
        &format!("SELECT state || '|' || error FROM tasks WHERE task_id = '{id}'"),
    );
    assert!(
        again.starts_with("queued|") && again.contains("resumes"),
        "{again}"
    );
    let server = Server::start(&vault);
    task_in(&server, &operator, &id, &["running"]);

    // Cancelled while it runs: it stops following the publisher's job, which stays open.
    let c = post(
        &server,
        &format!("/api/v1/tasks/{id}/cancel"),
        &operator,
        &json!({}),
    );
    assert_eq!(c.status, 200, "{}", c.text());
    let ended = task_in(&server, &operator, &id, &["cancelled", "failed", "done"]);
    assert_eq!(ended["state"], "cancelled", "{ended}");
    assert!(
        ended["error"].as_str().unwrap().contains("stays open"),
        "{ended}"
    );
    let jobs = body(&server.get("/api/v1/jobs", Some(&operator)));
    assert_eq!(jobs[0]["state"], "open", "{jobs}");
    // The job itself, cancelled by the operator: the publisher is asked to stop it.
    let job = jobs[0]["job_id"].as_str().unwrap();
    let r = post(
        &server,
        &format!("/api/v1/jobs/{job}/cancel"),
        &operator,
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(body(&r)["job"]["state"], "cancelled", "{}", r.text());
    assert_eq!(
        body(&server.get("/api/v1/jobs", Some(&operator))),
        ok(dv(&vault).arg("jobs"))
    );
    assert!(server.stop().success());
}

#[test]
fn two_workers_share_the_queue_and_a_silent_worker_is_found() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("vault");
    let src = records_tree(&t.path().join("src"), "文书档案", 6, 61);
    let images = t.path().join("images");
    let (rc, report) = archive(&vault, &src, "cd74", &images);
    assert_eq!(rc, 0, "{report}");
    configure(&vault, &[&images], "");
    let tokens = tokens(&vault);
    let operator = tokens
        .iter()
        .find(|(r, _)| *r == "operator")
        .unwrap()
        .1
        .clone();
    let server = Server::start_with(&vault, &["--workers", "0"]);
    let iso = images.join("DV-000001.iso");
    let checks = |v: &Path| {
        sql(
            v,
            "SELECT COUNT(*) FROM events WHERE event_type = 'fixity check'",
        )
    };
    let before: u64 = checks(&vault).trim().parse().unwrap();
    let mut ids = Vec::new();
    for _ in 0..6 {
        let r = post(
            &server,
            "/api/v1/tasks",
            &operator,
            &json!({"kind": "verify", "params": {"sources": [iso]}}),
        );
        assert_eq!(r.status, 202, "{}", r.text());
        ids.push(body(&r)["task_id"].as_str().unwrap().to_string());
    }
    // Two stations' workers at once: every task runs, once.
    let workers: Vec<_> = (0..2)
        .map(|_| {
            dv(&vault)
                .args(["worker", "--until-idle", "--json"])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut ran = 0;
    for w in workers {
        let out = w.wait_with_output().unwrap();
        assert!(out.status.success());
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        ran += v["tasks"].as_u64().unwrap();
    }
    assert_eq!(ran, 6);
    for id in &ids {
        let t = body(&server.get(&format!("/api/v1/tasks/{id}"), Some(&operator)));
        assert_eq!(t["state"], "done", "{t}");
        assert_eq!(t["result"][0]["clean"], true, "{t}");
    }
    let after: u64 = checks(&vault).trim().parse().unwrap();
    assert_eq!(after - before, 6, "each task recorded its check once");

    // A task whose worker, on another station, went silent past the lease: marked
    // interrupted by the next worker; one whose worker beat lately is left running.
    let mut two = Vec::new();
    for _ in 0..2 {
        let r = post(
            &server,
            "/api/v1/tasks",
            &operator,
            &json!({"kind": "verify", "params": {"sources": [iso]}}),
        );
        two.push(body(&r)["task_id"].as_str().unwrap().to_string());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    sql(
        &vault,
        &format!(
            "UPDATE tasks SET state = 'running', worker = '档案室二号机/4242', heartbeat_at = {} WHERE task_id = '{}'",
            now - 3600,
            two[0]
        ),
    );
    sql(
        &vault,
        &format!(
            "UPDATE tasks SET state = 'running', worker = '档案室二号机/4343', heartbeat_at = {now} WHERE task_id = '{}'",
            two[1]
        ),
    );
    assert_eq!(ok(dv(&vault).args(["worker", "--until-idle"]))["tasks"], 0);
    let silent = body(&server.get(&format!("/api/v1/tasks/{}", two[0]), Some(&operator)));
    assert_eq!(silent["state"], "interrupted", "{silent}");
    assert!(
        silent["error"].as_str().unwrap().contains("went silent"),
        "{silent}"
    );
    let alive = body(&server.get(&format!("/api/v1/tasks/{}", two[1]), Some(&operator)));
    assert_eq!(alive["state"], "running", "{alive}");
    assert!(server.stop().success());
}

#[test]
fn users_and_tokens_are_managed_over_the_api() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("vault");
    ok(dv(&vault).arg("init"));
    let tokens = tokens(&vault);
    let token = |role: &str| tokens.iter().find(|(r, _)| *r == role).unwrap().1.clone();
    let admin = token("admin");
    let server = Server::start(&vault);
    let add = json!({"name": "档案系统", "role": "archivist"});
    assert_eq!(
        post(&server, "/api/v1/users", &token("archivist"), &add).status,
        403
    );
    let r = post(&server, "/api/v1/users", &admin, &add);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        post(&server, "/api/v1/users", &admin, &add).status,
        400,
        "a second 档案系统"
    );
    assert_eq!(
        post(
            &server,
            "/api/v1/users",
            &admin,
            &json!({"name": "x", "role": "king"})
        )
        .status,
        400
    );
    let r = post(
        &server,
        "/api/v1/tokens",
        &admin,
        &json!({"user": "档案系统", "expires_days": 30}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let made = body(&r);
    let secret = made["token"].as_str().unwrap().to_string();
    let me = body(&server.get("/api/v1/me", Some(&secret)));
    assert_eq!(me, json!({"user": "档案系统", "role": "archivist"}));
    // A token scoped to reading: the role's other duties are refused to it (by name), and a
    // scope beyond the role is refused when the token is made.
    let r = post(
        &server,
        "/api/v1/tokens",
        &admin,
        &json!({"user": "档案系统", "scopes": ["read"]}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(body(&r)["scopes"], json!(["read"]));
    let reader = body(&r)["token"].as_str().unwrap().to_string();
    assert_eq!(
        body(&server.get("/api/v1/me", Some(&reader))),
        json!({"user": "档案系统", "role": "archivist", "scopes": ["read"]})
    );
    assert_eq!(server.get("/api/v1/status", Some(&reader)).status, 200);
    let r = post(
        &server,
        "/api/v1/plan/preview",
        &reader,
        &json!({"media": "cd74"}),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(
        body(&r)["error"]
            .as_str()
            .unwrap()
            .contains("may only read"),
        "{}",
        r.text()
    );
    let r = post(
        &server,
        "/api/v1/tokens",
        &admin,
        &json!({"user": "档案系统", "scopes": ["operate"]}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    // The CLI makes the same.
    let cli = ok(dv(&vault).args([
        "token",
        "create",
        "--user",
        "档案系统",
        "--scope",
        "read,archive",
    ]));
    assert_eq!(cli["scopes"], json!(["read", "archive"]));
    let cli = cli["token"].as_str().unwrap().to_string();
    let r = post(
        &server,
        "/api/v1/plan/preview",
        &cli,
        &json!({"media": "cd74"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // Listed without secrets, as the CLI lists them.
    let listed = server.get(
        "/api/v1/tokens?user=%E6%A1%A3%E6%A1%88%E7%B3%BB%E7%BB%9F",
        Some(&admin),
    );
    assert!(!listed.text().contains(&secret));
    assert_eq!(
        body(&listed),
        ok(dv(&vault).args(["token", "list", "--user", "档案系统"]))
    );
    assert_eq!(
        body(&server.get("/api/v1/users", Some(&admin))),
        ok(dv(&vault).args(["user", "list"]))
    );
    // Disabled: its token lets no one in; enabled again, it does; revoked, never again.
    let r = post(
        &server,
        "/api/v1/users/%E6%A1%A3%E6%A1%88%E7%B3%BB%E7%BB%9F/disable",
        &admin,
        &json!({}),
    );
    assert_eq!(body(&r)["disabled"], true, "{}", r.text());
    assert_eq!(server.get("/api/v1/me", Some(&secret)).status, 401);
    post(
        &server,
        "/api/v1/users/%E6%A1%A3%E6%A1%88%E7%B3%BB%E7%BB%9F/enable",
        &admin,
        &json!({}),
    );
    assert_eq!(server.get("/api/v1/me", Some(&secret)).status, 200);
    let id = made["token_id"].as_str().unwrap();
    let r = http::request(
        &server.addr,
        "DELETE",
        &format!("/api/v1/tokens/{id}"),
        &[("Authorization", &format!("Bearer {admin}"))],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(server.get("/api/v1/me", Some(&secret)).status, 401);
    // Each change over the API is an event with the admin as agent (the CLI's token, one
    // with the CLI's agent).
    let agents = sql(
        &vault,
        "SELECT DISTINCT agent FROM events WHERE detail LIKE '%档案系统%' AND detail NOT LIKE '%(scopes read, archive)'",
    );
    assert_eq!(agents.trim(), "管理员@api", "{agents}");
    assert!(server.stop().success());
}
