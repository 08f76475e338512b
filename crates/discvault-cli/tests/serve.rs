//! `discvault serve` driven over HTTP as a records system drives it: the real server process,
//! on 127.0.0.1, over a vault with records on discs (SQLite in the suite's first run,
//! PostgreSQL in its second). Every endpoint × every role × no credentials; the answers are
//! the CLI's `--json`; the OpenAPI document passes openapi-spec-validator, and schemathesis
//! finds no server error and no answer that breaks it.

mod common;
use common::server::{body, ok, ok_with_input, post, Browser, Server};
use common::{archive, dv, records_tree, sql};
use serde_json::Value;
use std::process::Command;
use testkit::http;

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
        // A password for the browser's login: the same tables run with a session cookie.
        ok_with_input(
            dv(&vault).args(["user", "add", user, "--role", role, "--password-stdin"]),
            &format!("{user}的密码 2026\n"),
        );
        let t = ok(dv(&vault).args(["token", "create", "--user", user]));
        tokens.push((role, t["token"].as_str().unwrap().to_string()));
    }
    let users = [
        ("admin", "管理员"),
        ("archivist", "li.archivist"),
        ("operator", "wang_op"),
        ("auditor", "审计"),
    ];
    let token = |role: &str| tokens.iter().find(|(r, _)| *r == role).unwrap().1.clone();
    ok(dv(&vault).args(["user", "add", "former", "--role", "admin"]));
    let disabled = ok(dv(&vault).args(["token", "create", "--user", "former"]));
    ok(dv(&vault).args(["user", "disable", "former"]));
    let revoked = ok(dv(&vault).args(["token", "create", "--user", "审计"]));
    ok(dv(&vault).args(["token", "revoke", revoked["token_id"].as_str().unwrap()]));
    let expired = ok(dv(&vault).args(["token", "create", "--user", "审计", "--expires-days", "0"]));

    let server = Server::start(&vault);
    let browsers: Vec<(&str, Browser)> = users
        .iter()
        .map(|(role, user)| (*role, server.login(user, &format!("{user}的密码 2026"))))
        .collect();
    let browser = |role: &str| &browsers.iter().find(|(r, _)| *r == role).unwrap().1;

    // The scheme's name in any case; a method a path does not take is the JSON error too.
    let lower = format!("bearer {}", token("auditor"));
    let r = http::request(
        &server.addr,
        "GET",
        "/api/v1/me",
        &[("Authorization", &lower)],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = http::request(
        &server.addr,
        "DELETE",
        "/api/v1/status",
        &[("Authorization", &lower)],
        b"",
    );
    assert_eq!(r.status, 405, "{}", r.text());
    assert_eq!(body(&r)["kind"], "method_not_allowed");

    // Health needs nothing.
    let h = server.get("/api/health", None);
    assert_eq!(h.status, 200, "{}", h.text());
    assert_eq!(body(&h)["status"], "ok");

    // Every endpoint × every role × no credentials.
    let q = "/api/v1/locate?q=%E9%80%9A%E7%9F%A5&limit=5"; // 通知
    let by_barcode = format!("/api/v1/locate/barcode/{barcode}");
    const ALL: [&str; 4] = ["admin", "archivist", "operator", "auditor"];
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
        (
            "/api/v1/copies?volume=DV-000001",
            &["admin", "archivist", "operator", "auditor"],
        ),
        (
            "/api/v1/inspect/due?at=2030-01-01",
            &["admin", "archivist", "operator", "auditor"],
        ),
        (
            "/api/v1/report",
            &["admin", "archivist", "operator", "auditor"],
        ),
        (
            "/api/v1/report?format=html",
            &["admin", "archivist", "operator", "auditor"],
        ),
        (
            "/api/v1/audit/verify",
            &["admin", "archivist", "operator", "auditor"],
        ),
        (
            "/api/v1/audit/premis",
            &["admin", "archivist", "operator", "auditor"],
        ),
        (
            "/api/v1/tasks",
            &["admin", "archivist", "operator", "auditor"],
        ),
        ("/api/v1/users", &["admin"]),
        ("/api/v1/webhooks", &["admin"]),
        ("/api/v1/collections", &ALL),
        ("/api/v1/volumes", &ALL),
        ("/api/v1/volumes/DV-000001", &ALL),
        ("/api/v1/jobs", &ALL),
        ("/api/v1/restore/pick?pattern=*", &ALL),
        ("/api/v1/migrate/plan", &ALL),
        ("/api/v1/labels/face/DV-000001", &ALL),
        ("/api/v1/labels/spine/DV-000001?format=png", &ALL),
        ("/api/v1/labels/templates", &ALL),
        ("/api/v1/policy", &ALL),
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
            // A browser of the role: reads need no CSRF token.
            let r = server.as_browser(browser(role), false, "GET", path, "text/plain", b"");
            assert_eq!(r.status, want, "{path} as {role}'s browser: {}", r.text());
        }
    }

    // The same JSON as the CLI's --json.
    let auditor = token("auditor");
    let api_status = body(&server.get("/api/v1/status", Some(&auditor)));
    assert_eq!(api_status, ok(dv(&vault).arg("status")));
    // The server keeps the status it made until something is recorded: a copy registered by
    // another station is in the next answer.
    ok(dv(&vault).args(["copies", "add", "DV-000001", "--roles", "sealed"]));
    let again = body(&server.get("/api/v1/status", Some(&auditor)));
    assert_ne!(again["copies"], api_status["copies"]);
    assert_eq!(again, ok(dv(&vault).arg("status")));
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
    assert_eq!(
        body(&server.get("/api/v1/copies?volume=DV-000001", Some(&auditor))),
        ok(dv(&vault).args(["copies", "list", "--volume", "DV-000001"]))
    );
    assert_eq!(
        body(&server.get("/api/v1/inspect/due?at=2030-01-01", Some(&auditor))),
        ok(dv(&vault).args(["inspect", "due", "--at", "2030-01-01"]))
    );
    let mut api_report = body(&server.get("/api/v1/report", Some(&auditor)));
    let cli_report = testkit::run(dv(&vault).args(["report", "--format", "json"]));
    let mut cli_report: Value = serde_json::from_str(&cli_report).unwrap();
    for r in [&mut api_report, &mut cli_report] {
        r.as_object_mut().unwrap().remove("generated_at");
    }
    assert_eq!(api_report, cli_report);
    // The policy: set over the API, seen by the CLI (the catalog's, for every station); a
    // policy that cannot be kept is a 400 naming the key, and changes nothing.
    let admin_auth = format!("Bearer {}", token("admin"));
    let put = |body: &str| {
        http::request(
            &server.addr,
            "PUT",
            "/api/v1/policy",
            &[
                ("Authorization", &admin_auth),
                ("Content-Type", "application/json"),
            ],
            body.as_bytes(),
        )
    };
    let r = put(r#"{"min_trusted_copies": 2, "min_sites": 3, "collections": {}}"#);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("min_sites = 3"), "{}", r.text());
    let r = put(r#"{"min_trusted_copies": 2, "min_sites": 1, "extra": 1}"#);
    assert_eq!(r.status, 400, "{}", r.text());
    // A partial body never stands for the rest: every key is asked for.
    let r = put(r#"{"min_trusted_copies": 2, "min_sites": 1}"#);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("collections"), "{}", r.text());
    assert_eq!(ok(dv(&vault).args(["policy", "show"]))["source"], "config");
    let r = put(r#"{"min_trusted_copies": 1, "min_sites": 1, "collections": {}}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(body(&r), ok(dv(&vault).args(["policy", "show"])));
    assert_eq!(body(&r)["source"], "catalog");
    let short = body(&server.get("/api/v1/status", Some(&auditor)));
    assert_eq!(short, ok(dv(&vault).arg("status")));
    let r = http::request(
        &server.addr,
        "DELETE",
        "/api/v1/policy",
        &[("Authorization", &admin_auth)],
        b"",
    );
    assert_eq!(body(&r)["source"], "config");
    let page = server.get("/api/v1/report?format=html", Some(&auditor));
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(page.text().contains("DV-000001"), "{}", page.text());
    assert_eq!(
        body(&server.get("/api/v1/audit/verify", Some(&auditor))),
        ok(dv(&vault).args(["log", "verify"]))
    );
    let premis = server.get("/api/v1/audit/premis", Some(&auditor));
    assert!(premis
        .header("content-type")
        .unwrap()
        .starts_with("application/xml"));
    let xml = t.path().join("premis.xml");
    std::fs::write(&xml, &premis.body).unwrap();
    testkit::run(Command::new("xmllint").arg("--noout").arg(&xml));
    assert!(premis.text().contains("ingestion"), "{}", premis.text());
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
        // A NUL character: refused alike on both backends (PostgreSQL cannot hold one).
        ("/api/v1/copies?volume=DV%00x", 400, "invalid"),
        ("/api/v1/locate?q=%E4%BC%9A%00", 400, "invalid"),
        ("/api/v1/locate/barcode/DA%00", 400, "invalid"),
    ] {
        let r = server.get(path, Some(&auditor));
        assert_eq!(r.status, status, "{path}: {}", r.text());
        if !kind.is_empty() {
            assert_eq!(body(&r)["kind"], kind, "{path}");
        }
    }

    // Every change × every role × no credentials, each with a body it takes (the
    // operations that need things a table cannot repeat, such as an open publishing job or a
    // webhook to remove, are in serve_work.rs).
    let stock = format!("copy_id,barcode,rfid,cabinet,shelf,slot\n{barcode},{barcode},,柜01,1,1\n");
    let quality = format!("copy,measured_at,metric,value\n{barcode},2026-11-30,bler,20\n");
    // (method, path, content type, body, roles allowed)
    type Change<'a> = (&'a str, String, &'a str, Vec<u8>, &'a [&'a str]);
    let changes: Vec<Change> = vec![
        (
            "POST",
            "/api/v1/copies".into(),
            "application/json",
            br#"{"volume": "DV-000001", "roles": ["offsite"]}"#.to_vec(),
            &["admin", "operator"],
        ),
        (
            "POST",
            format!("/api/v1/copies/{barcode}/move"),
            "application/json",
            r#"{"place": "本馆/一号库房/柜01/1/1"}"#.as_bytes().to_vec(),
            &["admin", "operator"],
        ),
        (
            "POST",
            "/api/v1/cabinets/import?dry_run=true".into(),
            "text/csv",
            stock.into_bytes(),
            &["admin", "operator"],
        ),
        (
            "POST",
            "/api/v1/quality/import".into(),
            "text/csv",
            quality.into_bytes(),
            &["admin", "operator"],
        ),
        (
            "POST",
            "/api/v1/plan/preview".into(),
            "application/json",
            br#"{"media": "cd74"}"#.to_vec(),
            &["admin", "archivist"],
        ),
        (
            "POST",
            "/api/v1/tasks".into(),
            "application/json",
            br#"{"kind": "plan", "params": {"media": "cd74"}}"#.to_vec(),
            &["admin", "archivist"],
        ),
        (
            "PUT",
            "/api/v1/policy".into(),
            "application/json",
            r#"{"min_trusted_copies": 3, "min_sites": 2, "collections": {"文书档案": {"min_trusted_copies": 4, "min_sites": 2}}}"#.as_bytes().to_vec(),
            &["admin"],
        ),
        (
            "DELETE",
            "/api/v1/policy".into(),
            "application/json",
            Vec::new(),
            &["admin"],
        ),
        (
            "POST",
            "/api/v1/webhooks".into(),
            "application/json",
            br#"{"url": "http://127.0.0.1:9/discard", "events": ["job.failed"]}"#.to_vec(),
            &["admin"],
        ),
    ];
    for (method, path, ctype, body_bytes, allowed) in &changes {
        let none = http::request(
            &server.addr,
            method,
            path,
            &[("Content-Type", ctype)],
            body_bytes,
        );
        assert_eq!(none.status, 401, "{method} {path}: {}", none.text());
        for role in ALL {
            let auth = format!("Bearer {}", token(role));
            let r = http::request(
                &server.addr,
                method,
                path,
                &[("Authorization", &auth), ("Content-Type", ctype)],
                body_bytes,
            );
            let ok = (200..300).contains(&r.status);
            if allowed.contains(&role) {
                assert!(ok, "{method} {path} as {role}: {} {}", r.status, r.text());
            } else {
                assert_eq!(r.status, 403, "{method} {path} as {role}: {}", r.text());
            }
            // A browser of the role: without its CSRF token every change is refused (and
            // changes nothing); with it, as the token.
            let b = browser(role);
            let r = server.as_browser(b, false, method, path, ctype, body_bytes);
            assert_eq!(
                r.status,
                403,
                "{method} {path} as {role}'s browser: {}",
                r.text()
            );
            assert_eq!(body(&r)["kind"], "csrf");
            let r = server.as_browser(b, true, method, path, ctype, body_bytes);
            if allowed.contains(&role) {
                assert!(
                    (200..300).contains(&r.status),
                    "{method} {path} as {role}'s browser: {} {}",
                    r.status,
                    r.text()
                );
            } else {
                assert_eq!(
                    r.status,
                    403,
                    "{method} {path} as {role}'s browser: {}",
                    r.text()
                );
                assert_eq!(body(&r)["kind"], "forbidden");
            }
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
    // breaks the document (a fixed seed, so that a run is repeatable). A request valid by the
    // document may still be refused for what it names (a path outside the roots, a copy or a
    // volume that is not there, a row of a CSV): a 400, 404 or 409 naming it, which the
    // configuration allows.
    let config = t.path().join("schemathesis.toml");
    // Webhooks are left out: a URL schemathesis makes up could send the server's messages
    // beyond 127.0.0.1 (they are tested against a receiver of the test's own in
    // serve_work.rs). The PDF report runs Chromium: a few examples are enough.
    std::fs::write(
        &config,
        "[checks.positive_data_acceptance]\n\
         expected-statuses = [\"2xx\", \"400\", \"401\", \"403\", \"404\", \"409\", \"413\", \"429\"]\n\
         [[operations]]\ninclude-name = \"GET /api/v1/report\"\ngeneration.max-examples = 6\n",
    )
    .unwrap();
    // Run in the test's folder: schemathesis keeps a cache where it runs.
    let st = testkit::output(
        Command::new("schemathesis")
            .current_dir(t.path())
            .arg("--config-file")
            .arg(&config)
            .arg("run")
            .arg(&file)
            .args(["--url", &format!("http://{}", server.addr)])
            .args(["-H", &format!("Authorization: Bearer {}", token("admin"))])
            .args(["--exclude-name", "POST /api/v1/webhooks"])
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

/// A browser logs in with a password: the session cookie's flags, the CSRF token its changes
/// need, logout, a new password ending the sessions, the log of logins, and guessing slowed
/// down (429) while others still log in.
#[test]
fn browsers_log_in_and_guessing_is_slowed() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("档案库");
    let src = records_tree(&t.path().join("src"), "文书档案", 5, 3);
    let (rc, report) = archive(&vault, &src, "cd74", &t.path().join("img"));
    assert_eq!(rc, 0, "{report}");
    ok_with_input(
        dv(&vault).args([
            "user",
            "add",
            "王操作员",
            "--role",
            "operator",
            "--password-stdin",
        ]),
        "光盘 库房 2026\r\n",
    );
    ok_with_input(
        dv(&vault).args([
            "user",
            "add",
            "审计",
            "--role",
            "auditor",
            "--password-stdin",
        ]),
        "审计员的密码很长\n",
    );
    ok(dv(&vault).args(["user", "add", "system", "--role", "archivist"]));
    ok(dv(&vault).args(["user", "add", "管理员", "--role", "admin"]));
    let admin = ok(dv(&vault).args(["token", "create", "--user", "管理员"]))["token"]
        .as_str()
        .unwrap()
        .to_string();
    let server = Server::start(&vault);

    // Wrong password, unknown user, a user without a password, a token as a password: all
    // alike, 401.
    for (user, password) in [
        ("王操作员", "光盘 库房 2025"),
        ("nobody", "光盘 库房 2026"),
        ("system", ""),
        ("system", admin.as_str()),
    ] {
        let r = server.try_login(user, password);
        assert_eq!(r.status, 401, "{user}: {}", r.text());
        assert_eq!(
            body(&r)["error"],
            "wrong user name or password, or the user is disabled"
        );
        assert!(r.header("set-cookie").is_none());
    }
    let r = server.try_login("王操作员", "光盘 库房 2026");
    assert_eq!(r.status, 200, "{}", r.text());
    let set = r.header("set-cookie").unwrap().to_string();
    for flag in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=43200",
    ] {
        assert!(set.split("; ").any(|f| f == flag), "{flag} in {set}");
    }
    assert!(set.starts_with("discvault_session=dvs_"), "{set}");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let answer = body(&r);
    assert_eq!(answer["user"], "王操作员");
    assert_eq!(answer["role"], "operator");
    assert_eq!(answer["idle_seconds"], 1800);
    let b = Browser {
        cookie: set.split(';').next().unwrap().to_string(),
        csrf: answer["csrf_token"].as_str().unwrap().to_string(),
    };
    let me = server.as_browser(&b, false, "GET", "/api/v1/me", "text/plain", b"");
    assert_eq!(
        body(&me),
        serde_json::json!({"user": "王操作员", "role": "operator"})
    );
    let again = server.as_browser(&b, false, "GET", "/api/v1/session", "text/plain", b"");
    assert_eq!(body(&again), answer);
    // A token is no session.
    assert_eq!(server.get("/api/v1/session", Some(&admin)).status, 404);

    // A change: refused without the token, or with another session's, or with a wrong one;
    // done with it, the user the agent of its event.
    let add = br#"{"volume": "DV-000001", "roles": ["offsite"]}"#;
    let other = server.login("审计", "审计员的密码很长");
    for csrf in [None, Some(other.csrf.as_str()), Some("0000")] {
        let mut headers = vec![
            ("Cookie", b.cookie.as_str()),
            ("Content-Type", "application/json"),
        ];
        if let Some(c) = csrf {
            headers.push(("X-CSRF-Token", c));
        }
        let r = http::request(&server.addr, "POST", "/api/v1/copies", &headers, add);
        assert_eq!(r.status, 403, "{csrf:?}: {}", r.text());
        assert_eq!(body(&r)["kind"], "csrf");
    }
    assert_eq!(
        ok(dv(&vault).args(["copies", "list", "--volume", "DV-000001"]))
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let r = server.as_browser(&b, true, "POST", "/api/v1/copies", "application/json", add);
    assert!((200..300).contains(&r.status), "{}", r.text());
    let agent = sql(&vault, "SELECT agent FROM events ORDER BY id DESC LIMIT 1");
    assert_eq!(agent.trim(), "王操作员@api");

    // Logout needs the token too; then the cookie lets no one in.
    let r = server.as_browser(&b, false, "DELETE", "/api/v1/session", "text/plain", b"");
    assert_eq!(r.status, 403, "{}", r.text());
    let r = server.as_browser(&b, true, "DELETE", "/api/v1/session", "text/plain", b"");
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    let r = server.as_browser(&b, false, "GET", "/api/v1/me", "text/plain", b"");
    assert_eq!(r.status, 401, "{}", r.text());

    // A new password set by the admin ends the user's sessions.
    let r = server.as_browser(&other, false, "GET", "/api/v1/me", "text/plain", b"");
    assert_eq!(r.status, 200);
    let r = post(
        &server,
        "/api/v1/users/%E5%AE%A1%E8%AE%A1/password", // 审计
        &admin,
        &serde_json::json!({"password": "新的审计员的密码"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = server.as_browser(&other, false, "GET", "/api/v1/me", "text/plain", b"");
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(server.try_login("审计", "审计员的密码很长").status, 401);
    server.login("审计", "新的审计员的密码");

    // The log of logins, as the CLI lists it.
    let sessions = body(&server.get("/api/v1/sessions?limit=10", Some(&admin)));
    assert_eq!(
        sessions,
        ok(dv(&vault).args(["user", "sessions", "--limit", "10"]))
    );
    let list = sessions.as_array().unwrap();
    assert_eq!(list.len(), 3, "{sessions}");
    assert!(
        list.iter().all(|s| s["client"] == "127.0.0.1"),
        "{sessions}"
    );
    assert_eq!(list.iter().filter(|s| s["ended_at"].is_null()).count(), 1);
    assert!(!sessions.to_string().contains("dvs_"));

    // Guessing: five wrong passwords for one name from one address, then even the right one
    // waits (429, Retry-After); another user from the same address still logs in.
    for _ in 0..5 {
        assert_eq!(server.try_login("王操作员", "guess guess").status, 401);
    }
    let r = server.try_login("王操作员", "光盘 库房 2026");
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(body(&r)["kind"], "too_many_attempts");
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((800..=900).contains(&wait), "{wait}");
    server.login("审计", "新的审计员的密码");

    let status = server.stop();
    assert!(status.success(), "serve ended with {status}");
}

/// Add, plan and master asked for over HTTP, run by `discvault worker` as another station
/// would: confined to the configured roots, cancelled while queued, recovered after a worker
/// died, each event with the asking user as agent.
#[test]
fn tasks_queued_over_http_are_run_by_a_worker() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("vault");
    let incoming = t.path().join("incoming");
    let src = records_tree(&incoming, "文书档案", 12, 3);
    let images = t.path().join("images");
    ok(dv(&vault).arg("init"));
    let cfg = vault.join("discvault.toml");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "roots = []",
        &format!(
            "roots = [{:?}, {:?}]",
            incoming.display().to_string(),
            images.display().to_string()
        ),
    );
    std::fs::write(&cfg, text).unwrap();
    ok(dv(&vault).args(["user", "add", "li", "--role", "archivist"]));
    ok(dv(&vault).args(["user", "add", "zhao", "--role", "operator"]));
    let li = ok(dv(&vault).args(["token", "create", "--user", "li"]))["token"]
        .as_str()
        .unwrap()
        .to_string();
    let zhao = ok(dv(&vault).args(["token", "create", "--user", "zhao"]))["token"]
        .as_str()
        .unwrap()
        .to_string();

    // No worker inside the server: the tasks wait for `discvault worker`.
    let server = Server::start_with(&vault, &["--workers", "0"]);
    let add = serde_json::json!({"kind": "add", "params": {"paths": [src], "collection": "文书档案", "metadata": {"fonds": "J001", "retention": "永久"}}});
    assert_eq!(
        post(&server, "/api/v1/tasks", &zhao, &add).status,
        403,
        "an operator may not add"
    );
    // Paths outside the roots, with "..", relative, or through a link leading out: refused,
    // named, nothing queued.
    std::os::unix::fs::symlink("/etc", incoming.join("out")).unwrap();
    for bad in [
        "/etc".to_string(),
        format!("{}/../vault", incoming.display()),
        "incoming/文书档案".to_string(),
        format!("{}/out", incoming.display()),
    ] {
        let body = serde_json::json!({"kind": "add", "params": {"paths": [bad]}});
        let r = post(&server, "/api/v1/tasks", &li, &body);
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
        assert!(r.text().contains(&bad), "{}", r.text());
    }
    // Unknown kinds and options (a misspelt option must not be ignored), wrong types, and
    // following links (they could lead outside the roots).
    for (bad, names) in [
        (serde_json::json!({"kind": "burn", "params": {}}), "burn"),
        (
            serde_json::json!({"kind": "plan", "params": {"media": 5}}),
            "media",
        ),
        (
            serde_json::json!({"kind": "plan", "params": {"no_such_option": 1}}),
            "no_such_option",
        ),
        (
            serde_json::json!({"kind": "master", "params": {"out": images, "volume": ["DV-000009"]}}),
            "volume",
        ),
        (
            serde_json::json!({"kind": "add", "params": {"paths": [src], "colection": "x"}}),
            "colection",
        ),
        (
            serde_json::json!({"kind": "add", "params": {"paths": [src], "follow": true}}),
            "follow",
        ),
        (
            serde_json::json!({"kind": "plan", "params": {}, "extra": 1}),
            "extra",
        ),
        (
            serde_json::json!({"kind": "plan", "params": [null]}),
            "params",
        ),
    ] {
        let r = post(&server, "/api/v1/tasks", &li, &bad);
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
        assert_eq!(body(&r)["kind"], "invalid");
        assert!(r.text().contains(names), "{bad}: {}", r.text());
    }
    assert_eq!(
        body(&server.get("/api/v1/tasks", Some(&li))),
        serde_json::json!([])
    );

    let r = post(&server, "/api/v1/tasks", &li, &add);
    assert_eq!(r.status, 202, "{}", r.text());
    let queued = body(&r);
    assert_eq!(
        (queued["task_id"].as_str(), queued["state"].as_str()),
        (Some("T-000001"), Some("queued"))
    );
    assert_eq!(queued["requested_by"], "li@api");
    // A second task, cancelled while it waits: it never runs.
    let plan =
        serde_json::json!({"kind": "plan", "params": {"media": "cd74", "redundancy_percent": 0.0}});
    let second = body(&post(&server, "/api/v1/tasks", &li, &plan));
    let id2 = second["task_id"].as_str().unwrap().to_string();
    let c = post(
        &server,
        &format!("/api/v1/tasks/{id2}/cancel"),
        &li,
        &serde_json::json!({}),
    );
    assert_eq!(c.status, 200, "{}", c.text());
    assert_eq!(body(&c)["state"], "cancelled");
    let twice = post(
        &server,
        &format!("/api/v1/tasks/{id2}/cancel"),
        &li,
        &serde_json::json!({}),
    );
    assert_eq!(twice.status, 409, "{}", twice.text());
    assert_eq!(body(&twice)["kind"], "conflict");

    // Another station's worker runs what is queued.
    let w = ok(dv(&vault).args(["worker", "--until-idle"]));
    assert_eq!(w["tasks"], 1, "{w}");
    let done = body(&server.get("/api/v1/tasks/T-000001", Some(&zhao)));
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["result"]["added"], 12, "{done}");
    assert_eq!(
        body(&server.get(&format!("/api/v1/tasks/{id2}"), Some(&zhao)))["state"],
        "cancelled"
    );

    // Plan and master, then the images are on disk and the records mastered.
    let p = body(&post(&server, "/api/v1/tasks", &li, &plan));
    let m = body(&post(
        &server,
        "/api/v1/tasks",
        &li,
        &serde_json::json!({"kind": "master", "params": {"out": images}}),
    ));
    assert_eq!(ok(dv(&vault).args(["worker", "--until-idle"]))["tasks"], 2);
    for id in [&p["task_id"], &m["task_id"]] {
        let t = body(&server.get(
            &format!("/api/v1/tasks/{}", id.as_str().unwrap()),
            Some(&li),
        ));
        assert_eq!(t["state"], "done", "{t}");
    }
    let status = body(&server.get("/api/v1/status", Some(&li)));
    assert_eq!(status["mastered"]["files"], 12, "{status}");
    assert!(images.join("DV-000001.iso").is_file());
    // The events of the work name who asked for it.
    let agents = sql(&vault, "SELECT DISTINCT agent FROM events WHERE event_type IN ('ingestion', 'plan') OR (event_type = 'creation' AND detail LIKE 'mastered%')");
    assert_eq!(agents.trim(), "li@api", "{agents}");

    // A worker that died with a task running: the next worker marks it interrupted.
    let again = body(&post(
        &server,
        "/api/v1/tasks",
        &li,
        &serde_json::json!({"kind": "master", "params": {"out": images, "again": true}}),
    ));
    let id = again["task_id"].as_str().unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    sql(
        &vault,
        &format!(
            "UPDATE tasks SET state = 'running', worker = '{}/999999999' WHERE task_id = '{id}'",
            host.trim()
        ),
    );
    assert_eq!(ok(dv(&vault).args(["worker", "--until-idle"]))["tasks"], 0);
    let t = body(&server.get(&format!("/api/v1/tasks/{id}"), Some(&li)));
    assert_eq!(t["state"], "interrupted", "{t}");
    assert!(
        t["error"].as_str().unwrap().contains("worker stopped"),
        "{t}"
    );
    let list = body(&server.get("/api/v1/tasks?state=done", Some(&li)));
    assert_eq!(list.as_array().unwrap().len(), 3, "{list}");

    assert!(server.stop().success());
}

/// The server's own worker runs a task queued over HTTP.
#[test]
fn the_servers_own_worker_runs_tasks() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("vault");
    let incoming = t.path().join("incoming");
    let src = records_tree(&incoming, "照片档案", 5, 9);
    ok(dv(&vault).arg("init"));
    let cfg = vault.join("discvault.toml");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "roots = []",
        &format!("roots = [{:?}]", incoming.display().to_string()),
    );
    std::fs::write(&cfg, text).unwrap();
    ok(dv(&vault).args(["user", "add", "admin", "--role", "admin"]));
    let token = ok(dv(&vault).args(["token", "create", "--user", "admin"]))["token"]
        .as_str()
        .unwrap()
        .to_string();
    let server = Server::start(&vault);
    let r = post(
        &server,
        "/api/v1/tasks",
        &token,
        &serde_json::json!({"kind": "add", "params": {"paths": [src]}}),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let id = body(&r)["task_id"].as_str().unwrap().to_string();
    let mut state = String::new();
    for _ in 0..600 {
        state = body(&server.get(&format!("/api/v1/tasks/{id}"), Some(&token)))["state"]
            .as_str()
            .unwrap()
            .to_string();
        if state != "queued" && state != "running" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(state, "done");
    assert_eq!(
        body(&server.get("/api/v1/status", Some(&token)))["ingested"]["files"],
        5
    );
    assert!(server.stop().success());
}
