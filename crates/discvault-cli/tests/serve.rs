//! `discvault serve` driven over HTTP as a records system drives it: the real server process,
//! on 127.0.0.1, over a vault with records on discs (SQLite in the suite's first run,
//! PostgreSQL in its second). Every endpoint × every role × no credentials; the answers are
//! the CLI's `--json`; the OpenAPI document passes openapi-spec-validator, and schemathesis
//! finds no server error and no answer that breaks it.

mod common;
use common::{archive, dv, json, records_tree};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use testkit::http;

fn ok(cmd: &mut Command) -> Value {
    let (rc, v) = json(cmd);
    assert_eq!(rc, 0, "{cmd:?}: {v}");
    v
}

/// The server process, stopped (SIGTERM) when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(vault: &std::path::Path) -> Server {
        let mut child = dv(vault)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("serve printed {line:?}"))
            .to_string();
        Server { child, addr }
    }

    fn get(&self, path: &str, token: Option<&str>) -> http::Response {
        http::get(&self.addr, path, token)
    }

    /// SIGTERM, then the exit status within 30 s.
    fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        for _ in 0..300 {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the server did not stop within 30 s of SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn body(r: &http::Response) -> Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.text()))
}

#[test]
fn the_api_answers_each_role_as_it_may_with_the_clis_json() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("档案库");
    let src = records_tree(&t.path().join("src"), "文书档案", 30, 7);
    let (rc, report) = archive(&vault, &src, "cd74", &t.path().join("img"));
    assert_eq!(rc, 0, "{report}");
    let copy = ok(dv(&vault).args(["copies", "add", "DV-000001", "--roles", "access"]));
    let barcode = copy[0]["barcode"].as_str().unwrap().to_string();

    // A user of every role, with a token each; tokens that must let no one in.
    let mut tokens = Vec::new();
    for (user, role) in [
        ("管理员", "admin"),
        ("li.archivist", "archivist"),
        ("wang_op", "operator"),
        ("审计", "auditor"),
    ] {
        ok(dv(&vault).args(["user", "add", user, "--role", role]));
        let t = ok(dv(&vault).args(["token", "create", "--user", user]));
        tokens.push((role, t["token"].as_str().unwrap().to_string()));
    }
    let token = |role: &str| tokens.iter().find(|(r, _)| *r == role).unwrap().1.clone();
    ok(dv(&vault).args(["user", "add", "former", "--role", "admin"]));
    let disabled = ok(dv(&vault).args(["token", "create", "--user", "former"]));
    ok(dv(&vault).args(["user", "disable", "former"]));
    let revoked = ok(dv(&vault).args(["token", "create", "--user", "审计"]));
    ok(dv(&vault).args(["token", "revoke", revoked["token_id"].as_str().unwrap()]));
    let expired = ok(dv(&vault).args(["token", "create", "--user", "审计", "--expires-days", "0"]));

    let server = Server::start(&vault);

    // Health needs nothing.
    let h = server.get("/api/health", None);
    assert_eq!(h.status, 200, "{}", h.text());
    assert_eq!(body(&h)["status"], "ok");

    // Every endpoint × every role × no credentials.
    let q = "/api/v1/locate?q=%E9%80%9A%E7%9F%A5&limit=5"; // 通知
    let by_barcode = format!("/api/v1/locate/barcode/{barcode}");
    let table: &[(&str, &[&str])] = &[
        (
            "/api/openapi.json",
            &["admin", "archivist", "operator", "auditor"],
        ),
        ("/api/v1/me", &["admin", "archivist", "operator", "auditor"]),
        (
            "/api/v1/status",
            &["admin", "archivist", "operator", "auditor"],
        ),
        (q, &["admin", "archivist", "operator", "auditor"]),
        (&by_barcode, &["admin", "archivist", "operator", "auditor"]),
        ("/api/v1/users", &["admin"]),
    ];
    for (path, allowed) in table {
        let none = server.get(path, None);
        assert_eq!(
            none.status,
            401,
            "{path} without credentials: {}",
            none.text()
        );
        assert_eq!(body(&none)["kind"], "unauthorized");
        assert!(none
            .header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer")));
        for bad in [
            disabled["token"].as_str().unwrap(),
            revoked["token"].as_str().unwrap(),
            expired["token"].as_str().unwrap(),
            "dvt_00000000_0000",
            "not-a-token",
        ] {
            assert_eq!(server.get(path, Some(bad)).status, 401, "{path} with {bad}");
        }
        for role in ["admin", "archivist", "operator", "auditor"] {
            let r = server.get(path, Some(&token(role)));
            let want = if allowed.contains(&role) { 200 } else { 403 };
            assert_eq!(r.status, want, "{path} as {role}: {}", r.text());
            if want == 403 {
                assert_eq!(body(&r)["kind"], "forbidden");
            }
        }
    }

    // The same JSON as the CLI's --json.
    let auditor = token("auditor");
    let api_status = body(&server.get("/api/v1/status", Some(&auditor)));
    assert_eq!(api_status, ok(dv(&vault).arg("status")));
    let api_found = body(&server.get(q, Some(&auditor)));
    assert_eq!(
        api_found,
        ok(dv(&vault).args(["locate", "通知", "--limit", "5"]))
    );
    assert_eq!(api_found.as_array().unwrap().len(), 5);
    let api_copy = body(&server.get(&by_barcode, Some(&auditor)));
    assert_eq!(
        api_copy,
        ok(dv(&vault).args(["locate", "--barcode", &barcode]))
    );
    let users = body(&server.get("/api/v1/users", Some(&token("admin"))));
    assert_eq!(users, ok(dv(&vault).args(["user", "list"])));
    assert_eq!(
        body(&server.get("/api/v1/me", Some(&auditor))),
        serde_json::json!({"user": "审计", "role": "auditor"})
    );

    // Pages: 30 files match 通知; pages of 7 give them all, once each, in the CLI's order.
    let all = ok(dv(&vault).args(["locate", "通知", "--limit", "100"]));
    assert_eq!(all.as_array().unwrap().len(), 30);
    let mut paged = Vec::new();
    for page in 0.. {
        let r = server.get(
            &format!(
                "/api/v1/locate?q=%E9%80%9A%E7%9F%A5&limit=7&offset={}",
                page * 7
            ),
            Some(&auditor),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        paged.extend(body(&r).as_array().unwrap().iter().cloned());
        if r.header("x-more") == Some("false") {
            break;
        }
        assert_eq!(r.header("x-more"), Some("true"));
    }
    assert_eq!(Value::Array(paged), all);

    // Bad requests are named; unknown things are 404 with the CLI's error kind.
    for (path, status, kind) in [
        ("/api/v1/locate?q=x&limit=0", 400, "invalid"),
        ("/api/v1/locate?q=x&limit=100000", 400, "invalid"),
        ("/api/v1/locate/barcode/NO-SUCH-DISC", 404, ""),
        ("/api/v1/no-such-thing", 404, "not_found"),
    ] {
        let r = server.get(path, Some(&auditor));
        assert_eq!(r.status, status, "{path}: {}", r.text());
        if !kind.is_empty() {
            assert_eq!(body(&r)["kind"], kind, "{path}");
        }
    }

    // The OpenAPI document is valid OpenAPI 3.1 and lists every route of the table.
    let doc = server.get("/api/openapi.json", Some(&auditor));
    let spec: Value = body(&doc);
    assert_eq!(spec["openapi"], "3.1.0");
    for p in [
        "/api/health",
        "/api/v1/status",
        "/api/v1/locate",
        "/api/v1/locate/barcode/{code}",
        "/api/v1/users",
        "/api/v1/me",
    ] {
        assert!(spec["paths"].get(p).is_some(), "{p} not in the document");
    }
    let file = t.path().join("openapi.json");
    std::fs::write(&file, &doc.body).unwrap();
    let check = testkit::output(
        Command::new("python3")
            .args(["-m", "openapi_spec_validator"])
            .arg(&file),
    );
    assert!(
        check.status.success(),
        "openapi-spec-validator: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    // schemathesis against the live server, as the admin: no server error, no answer that
    // breaks the document (a fixed seed, so that a run is repeatable).
    let st = testkit::output(
        Command::new("schemathesis")
            .arg("run")
            .arg(&file)
            .args(["--url", &format!("http://{}", server.addr)])
            .args(["-H", &format!("Authorization: Bearer {}", token("admin"))])
            .args([
                "--checks",
                "all",
                "--max-examples",
                "40",
                "--seed",
                "20261202",
                "--no-color",
            ]),
    );
    assert!(
        st.status.success(),
        "schemathesis: {}{}",
        String::from_utf8_lossy(&st.stdout),
        String::from_utf8_lossy(&st.stderr)
    );

    // SIGTERM stops it cleanly.
    let status = server.stop();
    assert!(status.success(), "serve ended with {status}");
}
