//! The web UI in a real browser: headless Chromium (Debian's `chromium`) driven through
//! chromedriver over WebDriver, against the real `discvault serve` on 127.0.0.1 (SQLite in the
//! suite's first run, PostgreSQL in its second). Every page is checked by axe-core (no serious
//! or critical violation) and photographed in both languages (`target/ui-shots/`, or the
//! folder in DISCVAULT_UI_SHOTS; docs/UI.md shows them).

mod common;
use common::server::{ok, ok_with_input, Server};
use common::{archive, dv, records_tree};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// chromedriver on a free port of 127.0.0.1, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (apt-get install chromium-driver)");
    let url = format!("http://127.0.0.1:{port}");
    let addr = format!("127.0.0.1:{port}");
    common::wait_for("chromedriver to listen", || {
        std::net::TcpStream::connect(&addr).is_ok()
    });
    Driver { child, url }
}

/// A headless Chromium whose browser prefers `lang` (`zh-CN` or `en-US`).
async fn browser(d: &Driver, lang: &str) -> Client {
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900", format!("--lang={lang}")],
            "prefs": {"intl.accept_languages": lang},
        }
    });
    let caps = caps.as_object().unwrap().clone().into_iter().collect();
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&d.url)
        .await
        .expect("a session of chromedriver")
}

/// axe-core's engine (`npm pack axe-core`: scripts/test.sh puts it in target/axe).
fn axe_js() -> String {
    let path = std::env::var("AXE_JS").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../target/axe/package/axe.min.js"
        )
        .into()
    });
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("axe-core at {path} ({e}): scripts/test.sh fetches it"))
}

/// axe-core run in the page: no serious or critical violation.
async fn accessible(c: &Client, page: &str) {
    c.execute(&axe_js(), vec![]).await.unwrap();
    let v = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {resultTypes: ['violations']})
                .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,
                    help: v.help, nodes: v.nodes.map(n => n.html).slice(0, 3)}))))
                .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e)}]));",
            vec![],
        )
        .await
        .unwrap();
    let bad: Vec<&Value> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| matches!(x["impact"].as_str(), Some("serious") | Some("critical")))
        .collect();
    assert!(bad.is_empty(), "axe-core on {page}: {bad:#?}");
}

fn shots_dir() -> PathBuf {
    let dir = std::env::var("DISCVAULT_UI_SHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/ui-shots"
            ))
        });
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The page checked by axe-core and photographed as `NAME.png`.
async fn page(c: &Client, name: &str) {
    accessible(c, name).await;
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
    std::fs::write(shots_dir().join(format!("{name}.png")), png).unwrap();
}

/// On a task's page: waits (60 s at most) until it says the task is done.
async fn task_done(c: &Client) {
    c.wait().for_element(Locator::Id("task")).await.unwrap();
    for _ in 0..600 {
        match text(c, "#task-state").await.as_str() {
            "已完成" => return,
            "排队中" | "进行中" => {}
            other => {
                let error = match c.find(Locator::Id("task-error")).await {
                    Ok(e) => e.text().await.unwrap(),
                    Err(_) => String::new(),
                };
                panic!("the task is {other}: {error}");
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the task is {}", text(c, "#task-state").await);
}

/// A form queued a task: its link followed, the task waited for until done.
async fn follow_queued(c: &Client) {
    c.wait()
        .for_element(Locator::Css("#queued a"))
        .await
        .unwrap();
    click(c, "#queued a").await;
    task_done(c).await;
}

/// Types into the element with this id.
async fn type_into(c: &Client, id: &str, text: &str) {
    c.find(Locator::Id(id))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

/// Types into the element with this id what it then holds, anything before cleared.
async fn fill(c: &Client, id: &str, text: &str) {
    c.find(Locator::Id(id))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    type_into(c, id, text).await;
}

/// The text of the element `css` finds, once it is there (a form's answer, a preview).
async fn waited_text(c: &Client, css: &str) -> String {
    c.wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// A query value percent-encoded.
fn urllib_escape(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The text of the first element `css` finds (read again when the page was reloaded in
/// between, as a task's page is when its task ends).
async fn text(c: &Client, css: &str) -> String {
    let mut last = None;
    for _ in 0..20 {
        match c.find(Locator::Css(css)).await {
            Ok(e) => match e.text().await {
                Ok(t) => return t,
                Err(err) => last = Some(err),
            },
            Err(err) => last = Some(err),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{css}: {last:?}");
}

/// Logs in through the form; `then` is what the next page must show (the dashboard's header,
/// or the login's error).
async fn log_in(c: &Client, base: &str, user: &str, password: &str, then: &str) {
    c.goto(&format!("{base}/")).await.unwrap();
    // Not logged in: the login page, which sends back to the page asked for.
    assert!(c.current_url().await.unwrap().path() == "/login");
    type_into(c, "user", user).await;
    type_into(c, "password", password).await;
    click(c, "form button[type=submit]").await;
    c.wait().for_element(Locator::Css(then)).await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn an_archivist_logs_in_finds_records_and_switches_language() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("档案库");
    let src = records_tree(&t.path().join("src"), "文书档案", 24, 5);
    let (rc, report) = archive(&vault, &src, "cd74", &t.path().join("img"));
    assert_eq!(rc, 0, "{report}");
    ok(dv(&vault).args(["copies", "add", "DV-000001", "--roles", "access"]));
    ok_with_input(
        dv(&vault).args([
            "user",
            "add",
            "李档案",
            "--role",
            "archivist",
            "--password-stdin",
        ]),
        "李档案员的登录密码\n",
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
    ok_with_input(
        dv(&vault).args([
            "user",
            "add",
            "王操作员",
            "--role",
            "operator",
            "--password-stdin",
        ]),
        "操作员的登录密码\n",
    );
    ok_with_input(
        dv(&vault).args([
            "user",
            "add",
            "管理员",
            "--role",
            "admin",
            "--password-stdin",
        ]),
        "管理员的登录密码\n",
    );
    // Folders on the server that requests may name.
    let incoming = t.path().join("交接区");
    let more = records_tree(&incoming, "会议纪要", 40, 9);
    let cfg = vault.join("discvault.toml");
    let text_cfg = std::fs::read_to_string(&cfg).unwrap().replace(
        "roots = []",
        &format!("roots = [{:?}]", incoming.display().to_string()),
    );
    std::fs::write(&cfg, text_cfg).unwrap();
    let server = Server::start(&vault);
    let base = format!("http://{}", server.addr);
    let driver = chromedriver();

    // Chinese first, from the browser's language.
    let c = browser(&driver, "zh-CN").await;
    c.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/login");
    assert_eq!(text(&c, "h1").await, "登录");
    page(&c, "login-zh").await;
    // A wrong password: said, in Chinese, on the page.
    log_in(&c, &base, "李档案", "不对的密码不对", "#login-error").await;
    assert_eq!(
        text(&c, "#login-error").await,
        "用户名或密码错误，或该用户已停用。"
    );
    log_in(&c, &base, "李档案", "李档案员的登录密码", "header .who").await;
    assert_eq!(c.current_url().await.unwrap().path(), "/");
    assert_eq!(text(&c, "h1").await, "工作台");
    assert!(text(&c, "header .who").await.contains("李档案"));
    // The dashboard's figures are the status's.
    let status = ok(dv(&vault).arg("status"));
    let ingested = text(&c, "#ingested .detail").await;
    assert!(
        ingested.starts_with(&format!("{} 个文件", status["ingested"]["files"])),
        "{ingested}"
    );
    page(&c, "dashboard-zh").await;

    // Search by two Chinese characters: every file found, with its disc and copy.
    click(&c, "nav a[href='/search']").await;
    let q = c.wait().for_element(Locator::Id("q")).await.unwrap();
    q.send_keys("通知").await.unwrap();
    click(&c, "form.search button").await;
    c.wait()
        .for_element(Locator::Css("#results-title"))
        .await
        .unwrap();
    let rows = c
        .find_all(Locator::Css("table.results tbody tr"))
        .await
        .unwrap();
    let cli = ok(dv(&vault).args(["locate", "通知", "--limit", "100"]));
    assert_eq!(rows.len(), cli.as_array().unwrap().len());
    let first = rows[0].text().await.unwrap();
    assert!(first.contains(cli[0]["path"].as_str().unwrap()), "{first}");
    assert!(first.contains("DV-000001"), "{first}");
    let barcode = ok(dv(&vault).args(["copies", "list", "--volume", "DV-000001"]))[0]["barcode"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(first.contains(&barcode), "{first}");
    page(&c, "search-zh").await;

    // Plan: new records added, the volumes previewed (nothing recorded), then confirmed: a
    // plan task, followed on its page until done.
    // Ingest a folder of the server with its metadata; a folder outside the roots is refused
    // on the page.
    click(&c, "nav a[href='/ingest']").await;
    c.wait().for_element(Locator::Id("folder")).await.unwrap();
    page(&c, "ingest-zh").await;
    fill(&c, "folder", &t.path().join("src").display().to_string()).await;
    fill(&c, "collection", "会议纪要").await;
    click(&c, "form.ingest button").await;
    let refused = waited_text(&c, "#ingest-result .error").await;
    assert!(refused.starts_with("无法接收："), "{refused}");
    fill(&c, "folder", &more.display().to_string()).await;
    fill(&c, "fonds", "J017").await;
    fill(&c, "year", "2024").await;
    click(&c, "#retention option[value='永久']").await;
    click(&c, "#classification option[value='内部']").await;
    fill(&c, "more", "立档单位=市档案馆").await;
    click(&c, "form.ingest button").await;
    follow_queued(&c).await;
    assert_eq!(ok(dv(&vault).arg("status"))["unplanned"]["files"], 40);
    let by_fonds = ok(dv(&vault).args(["locate", "fonds=J017", "--limit", "100"]));
    assert_eq!(by_fonds.as_array().unwrap().len(), 40);
    let by_key = ok(dv(&vault).args(["locate", "立档单位=市档案馆", "--limit", "100"]));
    assert_eq!(by_key.as_array().unwrap().len(), 40);

    // Upload from this computer: two files and a folder chosen in the form, hashed by the
    // page's script (checked by the server on arrival, and here by sha256sum), sent, and added
    // by a task with the form's metadata.
    let local = t.path().join("本机");
    std::fs::create_dir_all(local.join("扫描/第一卷")).unwrap();
    let notice = local.join("关于二〇二四年度档案移交工作的通知（第三次修订稿）.txt");
    std::fs::write(&notice, "各单位：请于十二月底前移交。\n").unwrap();
    // 5 MiB and 3 bytes of noise: past the script's 4 MiB pieces and its 64-byte blocks.
    let scan = local.join("扫描件.bin");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..(5 << 20) + 3)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&scan, &noise).unwrap();
    std::fs::write(local.join("扫描/第一卷/目录.csv"), "件号,题名\n1,通知\n").unwrap();
    std::fs::write(local.join("扫描/空.txt"), "").unwrap();
    // A name that a script's plain object already "holds".
    std::fs::write(local.join("扫描/constructor"), "c").unwrap();
    click(&c, "nav a[href='/ingest']").await;
    c.wait()
        .for_element(Locator::Id("upload-files"))
        .await
        .unwrap();
    type_into(
        &c,
        "upload-files",
        &format!("{}\n{}", notice.display(), scan.display()),
    )
    .await;
    type_into(
        &c,
        "upload-folder",
        &local.join("扫描").display().to_string(),
    )
    .await;
    fill(&c, "collection", "会议纪要").await;
    // Metadata the server refuses (a line without '='): said under the form after the
    // hashing; no upload is made.
    fill(&c, "year", "2024").await;
    fill(&c, "more", "立档单位：市档案馆").await;
    click(&c, "form.ingest button").await;
    let refused = waited_text(&c, "#ingest-result .error").await;
    assert!(
        refused.starts_with("无法接收：") && refused.contains("KEY=VALUE"),
        "{refused}"
    );
    let uploads = vault.join("uploads");
    assert!(
        !uploads.exists() || std::fs::read_dir(&uploads).unwrap().next().is_none(),
        "an upload was left in {}",
        uploads.display()
    );
    fill(&c, "more", "立档单位=市档案馆").await;
    click(&c, "form.ingest button").await;
    task_done(&c).await;
    assert_eq!(ok(dv(&vault).arg("status"))["unplanned"]["files"], 45);
    for (path, file) in [
        (
            "关于二〇二四年度档案移交工作的通知（第三次修订稿）.txt".to_string(),
            notice.clone(),
        ),
        ("扫描件.bin".to_string(), scan.clone()),
        (
            "扫描/第一卷/目录.csv".to_string(),
            local.join("扫描/第一卷/目录.csv"),
        ),
        ("扫描/空.txt".to_string(), local.join("扫描/空.txt")),
        (
            "扫描/constructor".to_string(),
            local.join("扫描/constructor"),
        ),
    ] {
        let found = ok(dv(&vault).args(["locate", "collection=会议纪要", "--limit", "100"]));
        let f = found
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path.as_str())
            .unwrap_or_else(|| panic!("{path} not recorded: {found}"));
        let want = Command::new("sha256sum").arg(&file).output().unwrap();
        assert!(want.status.success());
        assert_eq!(
            f["sha256"].as_str().unwrap(),
            &String::from_utf8_lossy(&want.stdout)[..64],
            "{path}"
        );
    }

    click(&c, "nav a[href='/plan']").await;
    c.wait().for_element(Locator::Id("media")).await.unwrap();
    page(&c, "plan-zh").await;
    c.find(Locator::Css("#media option[value=cd74]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // ISO 9660 only, chosen here instead of the configured bridge.
    c.find(Locator::Css("#file-systems option[value=iso9660]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click(&c, "form.plan button").await;
    let summary = waited_text(&c, "#plan-summary").await;
    let dry = ok(dv(&vault).args([
        "plan",
        "--media",
        "cd74",
        "--file-systems",
        "iso9660",
        "--dry-run",
    ]));
    assert!(
        summary.contains(&format!(
            "{} 张光盘",
            dry["volumes"].as_array().unwrap().len()
        )) && summary.contains("仅 ISO 9660"),
        "{summary}"
    );
    assert_eq!(ok(dv(&vault).arg("status"))["planned"]["files"], 0);
    page(&c, "plan-preview-zh").await;
    click(&c, "#preview form button").await;
    follow_queued(&c).await;
    assert_eq!(
        ok(dv(&vault).arg("status"))["planned"]["files"],
        dry["files"]
    );
    assert_eq!(
        common::sql(
            &vault,
            "SELECT DISTINCT file_systems FROM volumes WHERE plan_id = (SELECT MAX(plan_id) FROM volumes)"
        )
        .trim(),
        "iso9660"
    );
    page(&c, "task-zh").await;
    // Master the planned volume into a folder of the server; publishing is not the
    // archivist's: not shown, and refused when asked all the same.
    click(&c, "nav a[href='/volumes']").await;
    c.wait().for_element(Locator::Id("out")).await.unwrap();
    assert!(c.find(Locator::Id("publish")).await.is_err());
    let out = incoming.join("镜像");
    fill(&c, "out", &out.display().to_string()).await;
    click(&c, "form.master button").await;
    follow_queued(&c).await;
    assert!(out.join("DV-000002.iso").is_file());
    // The task's progress in the page's language (the library's code and arguments), the
    // same as the catalog's English.
    let said = waited_text(&c, "#task-progress").await;
    let id = c
        .find(Locator::Id("task"))
        .await
        .unwrap()
        .attr("data-task")
        .await
        .unwrap()
        .unwrap();
    let task = c
        .execute(
            "const r = await fetch('/api/v1/tasks/' + arguments[0]); return await r.json();",
            vec![json!(id)],
        )
        .await
        .unwrap();
    let (code, items) = (&task["step"]["code"], &task["step"]["items"]);
    let english = task["progress"].as_str().unwrap();
    let want = match code.as_str() {
        Some("mastering") => format!("正在制作镜像 DV-000002：共 {items} 项"),
        Some("verifying") => format!("正在校验 DV-000002：共 {items} 项"),
        _ => panic!("{task}"),
    };
    assert_eq!(said, want, "{task}");
    assert!(
        english.ends_with(&format!("DV-000002: {items} items")),
        "{task}"
    );
    let status = c
        .execute(
            "const t = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token'];
             const r = await fetch('/volumes/publish', {method: 'POST', headers: {'X-CSRF-Token': t,
                 'Content-Type': 'application/x-www-form-urlencoded'}, body: 'kind=images&where=/tmp'});
             return r.status;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(status, 403);
    click(&c, "nav a[href='/tasks']").await;
    c.wait().for_element(Locator::Id("tasks")).await.unwrap();
    page(&c, "tasks-zh").await;

    // English one click away, kept for the next pages.
    c.goto(&format!("{base}/search?q=%E9%80%9A%E7%9F%A5"))
        .await
        .unwrap();
    let found = ok(dv(&vault).args(["locate", "通知", "--limit", "100"]))
        .as_array()
        .unwrap()
        .len();
    click(&c, "header a.lang").await;
    c.wait()
        .for_element(Locator::Css("html[lang=en]"))
        .await
        .unwrap();
    assert_eq!(text(&c, "h1").await, "Search");
    assert_eq!(c.current_url().await.unwrap().path(), "/search");
    c.goto(&format!("{base}/search?q=%E9%80%9A%E7%9F%A5"))
        .await
        .unwrap();
    assert_eq!(
        text(&c, "#results-title").await,
        format!("Results ({found})")
    );
    page(&c, "search-en").await;
    c.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(text(&c, "h1").await, "Dashboard");
    page(&c, "dashboard-en").await;
    for (path, h1, name) in [
        ("/ingest", "Ingest", "ingest-en"),
        ("/plan", "Plan", "plan-en"),
        ("/volumes", "Volumes and publishing", "volumes-en"),
        ("/labels", "Labels", "labels-en"),
        ("/cabinets?cabinet=%E6%9F%9C01", "Cabinets", "cabinets-en"),
        ("/audit", "Audit log", "audit-en"),
        ("/inspect?at=2031-01-01", "Inspection round", "inspect-en"),
        ("/pick?f=%E4%BC%9A%E8%AE%AE%E7%BA%AA%E8%A6%81%2F%E4%BC%9A%E8%AE%AE%E7%BA%AA%E8%A6%81%2F2020%E5%B9%B4%E5%BA%A6%2F%E5%8D%B7000%2F%E5%85%B3%E4%BA%8E%E6%A1%A3%E6%A1%88%E5%B7%A5%E4%BD%9C%E7%9A%84%E9%80%9A%E7%9F%A5000.txt", "Pick list", "pick-en"),
        ("/tasks", "Jobs", "tasks-en"),
        ("/tasks/T-000002", "Task T-000002", "task-en"),
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        assert_eq!(text(&c, "h1").await, h1);
        page(&c, name).await;
    }
    assert_eq!(text(&c, "#task-state").await, "done");

    // Logging out ends the session: the pages lead to the login again.
    click(&c, "header button.logout").await;
    for _ in 0..50 {
        if c.current_url().await.unwrap().path() == "/login" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(c.current_url().await.unwrap().path(), "/login");
    assert_eq!(text(&c, "h1").await, "Log in");
    page(&c, "login-en").await;
    c.goto(&format!("{base}/search")).await.unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/login");
    c.close().await.unwrap();

    // An operator publishes: as image files, then to an Epson disc publisher (the TD Bridge
    // simulator on a hot folder of the server).
    let c = browser(&driver, "zh-CN").await;
    log_in(&c, &base, "王操作员", "操作员的登录密码", "header .who").await;
    click(&c, "nav a[href='/volumes']").await;
    c.wait().for_element(Locator::Id("publish")).await.unwrap();
    assert!(
        c.find(Locator::Id("out")).await.is_err(),
        "mastering is not the operator's"
    );
    page(&c, "volumes-zh").await;
    // What the volume lacks, said in Chinese from the policy's numbers.
    let lacks = waited_text(&c, "#short tbody").await;
    assert!(lacks.contains("DV-000002"), "{lacks}");
    assert!(
        lacks.contains("可信副本 0 份，应有") && !lacks.contains("required"),
        "{lacks}"
    );
    let published = incoming.join("刻录结果");
    let hot = incoming.join("TDBridge");
    let _sim = common::simulate("tdbridge", &hot);
    for (kind, place) in [("images", &published), ("tdbridge", &hot)] {
        if kind == "tdbridge" {
            // The disc publisher fails the first disc: the task's page names it, where it is
            // and what to do with it, and the copy is burned again.
            let tmp = hot.join(".control.tmp");
            std::fs::write(&tmp, "fail_discs=1\n").unwrap();
            std::fs::rename(&tmp, hot.join("simulator-control.txt")).unwrap();
        }
        c.goto(&format!("{base}/volumes")).await.unwrap();
        c.wait().for_element(Locator::Id("publish")).await.unwrap();
        click(&c, &format!("#kind option[value='{kind}']")).await;
        type_into(&c, "where", &place.display().to_string()).await;
        type_into(&c, "copies", "1").await;
        click(&c, "form.publish button").await;
        follow_queued(&c).await;
        if kind == "tdbridge" {
            let rejected = text(&c, "#rejected").await;
            assert!(
                rejected.contains("J-0") && rejected.contains("Reject"),
                "{rejected}"
            );
            let rows = c
                .find_all(Locator::Css("#rejected tbody tr"))
                .await
                .unwrap();
            assert_eq!(rows.len(), 1, "{rejected}");
            page(&c, "task-rejected-zh").await;
        } else {
            assert!(c.find(Locator::Id("rejected")).await.is_err());
        }
    }
    let copies = ok(dv(&vault).args(["copies", "list", "--volume", "DV-000002"]));
    assert_eq!(copies.as_array().unwrap().len(), 2, "{copies}");
    assert!(published.read_dir().unwrap().next().is_some());

    // The disc face as it will print, and its PDF, read by pdftotext.
    click(&c, "nav a[href='/labels']").await;
    c.wait().for_element(Locator::Id("label")).await.unwrap();
    assert_eq!(text(&c, "#label-title").await, "盘面 · DV-000002");
    let drawn = c
        .execute(
            "const i = document.getElementById('label');
             if (!i.complete) await new Promise(r => i.addEventListener('load', r));
             return i.naturalWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(drawn.as_u64().unwrap() > 100, "{drawn}");
    page(&c, "labels-zh").await;
    let pdf = c
        .execute(
            "const r = await fetch(document.getElementById('pdf').href);
             return [r.status, r.headers.get('content-type'),
                     Array.from(new Uint8Array(await r.arrayBuffer()))];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(pdf[0], 200);
    assert_eq!(pdf[1], "application/pdf");
    let bytes: Vec<u8> = serde_json::from_value(pdf[2].clone()).unwrap();
    let file = t.path().join("DV-000002-face.pdf");
    std::fs::write(&file, &bytes).unwrap();
    let words = testkit::run(Command::new("pdftotext").arg(&file).arg("-"));
    assert!(words.contains("DV-000002"), "{words}");
    // Another template chosen: the plain face, whose PNG carries the barcode and no QR code.
    let options = c
        .execute(
            "return Array.from(document.querySelectorAll('#template option'), o => o.value);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(options, json!(["standard", "tree", "plain"]));
    c.find(Locator::Id("template"))
        .await
        .unwrap()
        .select_by_value("plain")
        .await
        .unwrap();
    click(&c, "form.labels button").await;
    c.wait().for_element(Locator::Id("label")).await.unwrap();
    let png = c
        .execute(
            "const r = await fetch(document.getElementById('png').href);
             return [document.getElementById('template').value, r.status,
                     Array.from(new Uint8Array(await r.arrayBuffer()))];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!((&png[0], &png[1]), (&json!("plain"), &json!(200)));
    let bytes: Vec<u8> = serde_json::from_value(png[2].clone()).unwrap();
    let file = t.path().join("DV-000002-plain.png");
    std::fs::write(&file, &bytes).unwrap();
    assert_eq!(
        common::zbar(&file),
        [("CODE-128".to_string(), "DV-000002".to_string())]
    );

    // An inspection round: the due list as of 2031 in cabinet order; the disc in hand
    // confirmed by its barcode, read back from its image on the server, the result recorded
    // against the copy.
    c.goto(&format!("{base}/inspect?at=2031-01-01"))
        .await
        .unwrap();
    c.wait().for_element(Locator::Id("due")).await.unwrap();
    let due = ok(dv(&vault).args(["inspect", "due", "--at", "2031-01-01"]));
    let rows = c.find_all(Locator::Css("#due tbody tr")).await.unwrap();
    assert_eq!(rows.len(), due["copies"].as_array().unwrap().len());
    assert!(rows[0]
        .text()
        .await
        .unwrap()
        .contains(due["copies"][0]["barcode"].as_str().unwrap()));
    page(&c, "inspect-zh").await;
    // The copy published as an image file (the other went to the disc publisher).
    let copy = copies
        .as_array()
        .unwrap()
        .iter()
        .find(|x| {
            published
                .join(format!("{}.iso", x["copy_id"].as_str().unwrap()))
                .is_file()
        })
        .expect("a copy published as an image");
    let image = published.join(format!("{}.iso", copy["copy_id"].as_str().unwrap()));
    type_into(&c, "code", copy["barcode"].as_str().unwrap()).await;
    click(&c, "form.scan button").await;
    let in_hand = waited_text(&c, "#in-hand").await;
    assert!(in_hand.contains("DV-000002"), "{in_hand}");
    type_into(&c, "source", &image.display().to_string()).await;
    click(&c, "form.verify button").await;
    follow_queued(&c).await;
    let after = ok(dv(&vault).args(["copies", "list", "--volume", "DV-000002"]));
    let checked = after
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["copy_id"] == copy["copy_id"])
        .unwrap();
    assert!(checked["verified_at"].is_i64(), "{checked}");

    // The cabinet view: the verified copy moved into 柜01, shelf 1, slot 3, and shown there as
    // trusted; the other copy marked missing, and shown so.
    c.goto(&format!("{base}/cabinets")).await.unwrap();
    c.wait().for_element(Locator::Id("copy")).await.unwrap();
    // A copy that is not there: the kind of refusal in Chinese, then the library's message
    // naming it.
    type_into(&c, "copy", "NO-SUCH-COPY").await;
    type_into(&c, "place", "本馆/一号库房/柜01/1/3").await;
    click(&c, "form.move button").await;
    let refused = waited_text(&c, "#move-result p.error").await;
    assert!(
        refused.contains("找不到：") && refused.contains("NO-SUCH-COPY"),
        "{refused}"
    );
    let barcode = copy["barcode"].as_str().unwrap().to_string();
    fill(&c, "copy", &barcode).await;
    click(&c, "form.move button").await;
    let moved = waited_text(&c, "#moved").await;
    assert!(moved.contains("柜01"), "{moved}");
    let other = copies
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["copy_id"] != copy["copy_id"])
        .unwrap();
    type_into(&c, "mark-copy", other["barcode"].as_str().unwrap()).await;
    click(&c, "#state option[value='missing']").await;
    click(&c, "form.mark button").await;
    c.wait()
        .for_element(Locator::Css("#move-result #moved"))
        .await
        .unwrap();
    c.goto(&format!("{base}/cabinets?cabinet=%E6%9F%9C01"))
        .await
        .unwrap();
    let slot = text(&c, ".slot").await;
    assert!(slot.contains("格 3") && slot.contains(&barcode), "{slot}");
    assert!(c.find(Locator::Css(".slot .disc.ok")).await.is_ok());
    page(&c, "cabinets-zh").await;
    let listed = ok(dv(&vault).args(["copies", "list", "--volume", "DV-000002"]));
    let states: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["state"].as_str().unwrap())
        .collect();
    assert!(states.contains(&"missing"), "{listed}");

    // A stocktaking of 柜01 (a scanner's CSV): the verified copy seen in slot 4, not 3. The
    // preview shows the move and changes nothing; applied, the copy is in slot 4.
    let stock = t.path().join("柜01盘点.csv");
    std::fs::write(
        &stock,
        format!("barcode,cabinet,shelf,slot\n{barcode},柜01,1,4\n"),
    )
    .unwrap();
    let slot_of = || {
        ok(dv(&vault).args(["copies", "list", "--volume", "DV-000002"]))
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["barcode"] == barcode.as_str())
            .unwrap()["place"]["slot"]
            .as_str()
            .unwrap()
            .to_string()
    };
    type_into(&c, "stock-file", &stock.display().to_string()).await;
    click(&c, "form.stock button").await;
    let moved = waited_text(&c, "#stock-moved").await;
    assert!(
        moved.contains(&barcode) && moved.contains("柜01/1/4"),
        "{moved}"
    );
    assert!(text(&c, "#stock-summary").await.starts_with("预览"));
    assert_eq!(slot_of(), "3", "a preview changes nothing");
    c.execute("document.getElementById('stock').scrollIntoView();", vec![])
        .await
        .unwrap();
    page(&c, "stocktaking-zh").await;
    click(&c, "form.stock-apply button").await;
    for _ in 0..50 {
        if text(&c, "#stock-summary").await.starts_with("已应用") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(text(&c, "#stock-summary").await.starts_with("已应用"));
    assert_eq!(slot_of(), "4", "applied, the copy is where it was seen");

    // The audit log: every change above among the newest events, with who made it; the
    // chain checked whole.
    c.goto(&format!("{base}/audit")).await.unwrap();
    let events = text(&c, "#events").await;
    assert!(events.contains("王操作员@api"), "{events}");
    assert!(events.contains("李档案@api"), "{events}");
    click(&c, "#check").await;
    let chain = waited_text(&c, "#chain-state").await;
    let cli = ok(dv(&vault).args(["log", "verify"]));
    assert!(
        chain.contains("完整") && chain.contains(&cli["events"].to_string()),
        "{chain}"
    );
    page(&c, "audit-zh").await;
    c.close().await.unwrap();

    // The reading room: an archivist ticks two files found, gets the pick list of the discs to
    // fetch (as `restore` without `--from` gives it), and restores the two from the published
    // image, kept for download: the ZIP holds them byte for byte.
    let c = browser(&driver, "zh-CN").await;
    log_in(&c, &base, "李档案", "李档案员的登录密码", "header .who").await;
    c.goto(&format!(
        "{base}/search?q=%E4%BC%9A%E8%AE%AE%E7%BA%AA%E8%A6%81"
    ))
    .await
    .unwrap();
    c.wait()
        .for_element(Locator::Id("pick-form"))
        .await
        .unwrap();
    let boxes = c
        .find_all(Locator::Css("#pick-form input[name=f]"))
        .await
        .unwrap();
    assert!(boxes.len() >= 2, "{}", boxes.len());
    let mut picked = Vec::new();
    for b in &boxes[..2] {
        b.click().await.unwrap();
        picked.push(b.attr("value").await.unwrap().unwrap());
    }
    click(&c, "#pick-form button[type=submit]").await;
    c.wait()
        .for_element(Locator::Id("pick-discs"))
        .await
        .unwrap();
    let discs = text(&c, "#pick-discs").await;
    let files = text(&c, "#pick-files").await;
    for f in &picked {
        let list = ok(dv(&vault).args(["restore", f, "--to", "/nonexistent"]));
        for v in list["volumes"].as_array().unwrap() {
            let v = v.as_str().unwrap();
            assert!(discs.contains(v), "{v} not in {discs}");
            for k in ok(dv(&vault).args(["copies", "list", "--volume", v]))
                .as_array()
                .unwrap()
            {
                assert!(discs.contains(k["barcode"].as_str().unwrap()), "{discs}");
            }
        }
        let path = f.split_once('/').unwrap().1;
        assert!(files.contains(path), "{path} not in {files}");
    }
    assert!(c.find(Locator::Css("button[data-print]")).await.is_ok());
    page(&c, "pick-zh").await;
    // A pick names files exactly: a folder or a wildcard picks nothing.
    let prefix = urllib_escape("会议纪要/会议纪要/2020年度");
    let star = urllib_escape("会议纪要/*");
    c.goto(&format!("{base}/pick?f={prefix}&f={star}"))
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Id("pick-files"))
        .await
        .unwrap();
    assert!(c
        .find_all(Locator::Css("#pick-files tbody tr"))
        .await
        .unwrap()
        .is_empty());
    let missing = text(&c, "#pick-files ~ p.warn").await;
    assert!(
        missing.contains("未找到") && missing.contains("会议纪要/*"),
        "{missing}"
    );
    c.back().await.unwrap();
    c.wait().for_element(Locator::Id("from")).await.unwrap();
    type_into(&c, "from", &image.display().to_string()).await;
    click(&c, "form.restore button").await;
    c.wait()
        .for_element(Locator::Css("#queued a"))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for a in c.find_all(Locator::Css("#queued a")).await.unwrap() {
        tasks.push(a.attr("href").await.unwrap().unwrap());
    }
    assert_eq!(tasks.len(), 2, "a restore task for each file");
    let mut got = Vec::new();
    for (k, href) in tasks.iter().enumerate() {
        c.goto(&format!("{base}{href}")).await.unwrap();
        task_done(&c).await;
        let zip = c
            .execute(
                "const r = await fetch(document.querySelector('#download a').href);
                 return [r.status, Array.from(new Uint8Array(await r.arrayBuffer()))];",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(zip[0], 200);
        let bytes: Vec<u8> = serde_json::from_value(zip[1].clone()).unwrap();
        let dir = t.path().join(format!("下载{k}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("restore.zip"), &bytes).unwrap();
        testkit::run(
            Command::new("bsdtar")
                .arg("-xf")
                .arg(dir.join("restore.zip"))
                .arg("-C")
                .arg(&dir),
        );
        got.push(dir);
        if k == 0 {
            page(&c, "task-download-zh").await;
        }
    }
    for f in &picked {
        let path = f.split_once('/').unwrap().1;
        // The collection's paths begin with the folder added.
        let want = std::fs::read(more.parent().unwrap().join(path)).unwrap();
        let found = got.iter().any(|d| {
            [d.join(f), d.join(path)]
                .iter()
                .any(|x| std::fs::read(x).ok().as_deref() == Some(&want[..]))
        });
        assert!(found, "{f} restored byte for byte in a download");
    }
    c.close().await.unwrap();

    // The admin adds a user, makes a token for it (shown once, and it works), then
    // disables the user (the token no longer works).
    let c = browser(&driver, "zh-CN").await;
    log_in(&c, &base, "管理员", "管理员的登录密码", "header .who").await;
    click(&c, "nav a[href='/users']").await;
    c.wait().for_element(Locator::Id("new-name")).await.unwrap();
    type_into(&c, "new-name", "新档案员").await;
    click(&c, "#new-role option[value='archivist']").await;
    type_into(&c, "new-password", "新档案员的登录密码").await;
    click(&c, "form.add-user button").await;
    c.wait()
        .for_element(Locator::Id("users-done"))
        .await
        .unwrap();
    c.goto(&format!("{base}/users")).await.unwrap();
    c.wait()
        .for_element(Locator::Id("token-user"))
        .await
        .unwrap();
    click(&c, "#token-user option[value='新档案员']").await;
    // A token narrowed to reading, for 30 days.
    click(&c, "fieldset.scopes input[value='read']").await;
    type_into(&c, "token-days", "30").await;
    click(&c, "form.add-token button").await;
    let made = waited_text(&c, "#new-token code").await;
    let me = testkit::http::get(&server.addr, "/api/v1/me", Some(&made));
    assert_eq!(me.status, 200, "{}", me.text());
    assert!(me.text().contains("新档案员"));
    let auth = format!("Bearer {made}");
    let change = testkit::http::request(
        &server.addr,
        "POST",
        "/api/v1/tasks",
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ],
        br#"{"kind":"plan","params":{"media":"cd74"}}"#,
    );
    assert_eq!(
        change.status,
        403,
        "an archivist's token for reading only: {}",
        change.text()
    );
    let listed = ok(dv(&vault).args(["token", "list"]));
    let narrowed = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["user"] == "新档案员")
        .unwrap();
    assert_eq!(
        narrowed["scopes"],
        serde_json::json!(["read"]),
        "{narrowed}"
    );
    assert!(narrowed["expires_at"].is_i64(), "{narrowed}");
    c.goto(&format!("{base}/reports")).await.unwrap();
    page(&c, "reports-zh").await;
    c.goto(&format!("{base}/settings")).await.unwrap();
    let roots = text(&c, "#roots").await;
    assert!(roots.contains(&incoming.display().to_string()), "{roots}");
    // The admin changes the policy: kept in the catalog, as the CLI then shows it. A rule that
    // cannot be kept is refused in Chinese, and changes nothing.
    assert!(text(&c, "#policy-source").await.contains("discvault.toml"));
    fill(&c, "min_copies", "2").await;
    fill(&c, "min_sites", "3").await;
    click(&c, "#policy-form button").await;
    let refused = waited_text(&c, "#policy-result p.error").await;
    assert!(refused.contains("馆址数不能多于可信副本数"), "{refused}");
    assert_eq!(ok(dv(&vault).args(["policy", "show"]))["source"], "config");
    fill(&c, "min_sites", "1").await;
    fill(&c, "collection", "会议纪要").await;
    fill(&c, "coll_copies", "3").await;
    fill(&c, "coll_sites", "2").await;
    click(&c, "#policy-form button").await;
    c.wait()
        .for_element(Locator::Id("policy-saved"))
        .await
        .unwrap();
    let shown = ok(dv(&vault).args(["policy", "show"]));
    assert_eq!(shown["source"], "catalog", "{shown}");
    assert_eq!(
        (
            &shown["policy"]["min_trusted_copies"],
            &shown["policy"]["min_sites"]
        ),
        (&json!(2), &json!(1)),
        "{shown}"
    );
    assert_eq!(
        shown["policy"]["collections"]["会议纪要"],
        json!({"min_trusted_copies": 3, "min_sites": 2})
    );
    assert!(text(&c, "#policy-source").await.contains("所有工作站共用"));
    assert_eq!(text(&c, "#min-copies").await, "2");
    page(&c, "settings-zh").await;
    // The collection follows the general rule again; then the file's policy again (each from
    // the page anew, so that the notice waited for is the change's).
    c.goto(&format!("{base}/settings")).await.unwrap();
    click(&c, "#policy-collections form button").await;
    c.wait()
        .for_element(Locator::Id("policy-saved"))
        .await
        .unwrap();
    let shown = ok(dv(&vault).args(["policy", "show"]));
    assert_eq!(shown["policy"]["collections"], json!({}), "{shown}");
    c.goto(&format!("{base}/settings")).await.unwrap();
    click(&c, "#policy-reset button").await;
    c.wait()
        .for_element(Locator::Css("#policy-saved"))
        .await
        .unwrap();
    assert!(c.find(Locator::Id("policy-reset")).await.is_err());
    assert_eq!(ok(dv(&vault).args(["policy", "show"]))["source"], "config");
    c.goto(&format!("{base}/users")).await.unwrap();
    page(&c, "users-zh").await;
    let rows = c.find_all(Locator::Css("#users tbody tr")).await.unwrap();
    let mut disabled = false;
    for r in rows {
        if r.text().await.unwrap().starts_with("新档案员") {
            r.find(Locator::Css("button"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            disabled = true;
            break;
        }
    }
    assert!(disabled);
    c.wait()
        .for_element(Locator::Id("users-done"))
        .await
        .unwrap();
    let me = testkit::http::get(&server.addr, "/api/v1/me", Some(&made));
    assert_eq!(me.status, 401, "{}", me.text());
    click(&c, "header a.lang").await;
    c.wait()
        .for_element(Locator::Css("html[lang=en]"))
        .await
        .unwrap();
    assert_eq!(text(&c, "h1").await, "Users and tokens");
    page(&c, "users-en").await;
    c.close().await.unwrap();

    // An auditor sees what waits, not the archivist's work.
    let c = browser(&driver, "en-US").await;
    log_in(&c, &base, "审计", "审计员的密码很长", "header .who").await;
    assert_eq!(text(&c, "h1").await, "Dashboard");
    assert!(c.find(Locator::Id("unplanned")).await.is_err());
    assert!(c.find(Locator::Id("overdue")).await.is_ok());
    // A page that is not there says so, as a page.
    c.goto(&format!("{base}/no-such-page")).await.unwrap();
    assert_eq!(text(&c, "p.error").await, "There is no such page.");
    // Users are the admin's only.
    assert!(c.find(Locator::Css("nav a[href='/users']")).await.is_err());
    c.goto(&format!("{base}/users")).await.unwrap();
    assert_eq!(text(&c, "p.error").await, "Your role may not do this.");
    c.goto(&format!("{base}/")).await.unwrap();
    // Planning is not the auditor's: no link, and the page itself is refused.
    assert!(c.find(Locator::Css("nav a[href='/plan']")).await.is_err());
    c.goto(&format!("{base}/plan")).await.unwrap();
    assert_eq!(text(&c, "p.error").await, "Your role may not do this.");
    // Reports: the read-back results by year as `report` counts them, the volumes mastered
    // this year.
    c.goto(&format!("{base}/")).await.unwrap();
    click(&c, "nav a[href='/reports']").await;
    assert_eq!(text(&c, "h1").await, "Reports");
    let report = ok(dv(&vault).arg("report"));
    let checks = text(&c, "#checks").await;
    let years = report["checks_by_year"].as_array().unwrap();
    assert!(!years.is_empty(), "{report}");
    for y in years {
        // The chart's label, then its value.
        let passed = format!("{} passed\n{}", y["year"], y["success"]);
        assert!(checks.contains(&passed), "{passed:?} not in {checks}");
    }
    let mastered = ok(dv(&vault).arg("status"))["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["state"] == "mastered")
        .count();
    let holdings = text(&c, "#holdings").await;
    assert!(
        holdings.contains(&format!("{mastered} volumes")),
        "{holdings}"
    );
    page(&c, "reports-en").await;
    // The dashboard shows the same two charts.
    click(&c, "nav a[href='/']").await;
    let on_dashboard = text(&c, "#checks-by-year").await;
    for y in years {
        let passed = format!("{} passed\n{}", y["year"], y["success"]);
        assert!(
            on_dashboard.contains(&passed),
            "{passed:?} not in {on_dashboard}"
        );
    }
    let by_year = text(&c, "#holdings-by-year").await;
    assert!(
        by_year.contains(&format!("{mastered} volumes")),
        "{by_year}"
    );
    // And the holdings by the records' year (年度 given at ingest), as `report --json` has them.
    let by_records = text(&c, "#holdings-by-records-year").await;
    let report = ok(dv(&vault).arg("report"));
    let years = report["holdings_by_records_year"].as_array().unwrap();
    assert!(years.iter().any(|y| y["year"] == "2024"), "{report}");
    for y in years {
        let label = match y["year"].as_str().unwrap() {
            "" => "No year given".to_string(),
            year => year.to_string(),
        };
        let row = format!("{label}\n");
        let files = format!("{} files", y["files"]);
        assert!(
            by_records.contains(&row) && by_records.contains(&files),
            "{row:?} {files:?} not in {by_records}"
        );
    }
    // Settings: the policy in force, as the vault's configuration sets it; the server's
    // roots are the admin's only.
    click(&c, "nav a[href='/settings']").await;
    let config = std::fs::read_to_string(vault.join("discvault.toml")).unwrap();
    let value_of = |key: &str| {
        config
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("{key} in discvault.toml"))
            .trim()
            .to_string()
    };
    assert_eq!(
        text(&c, "#min-copies").await,
        value_of("min_trusted_copies")
    );
    let interval = text(&c, "#interval").await;
    assert_eq!(interval, format!("{} days", value_of("interval_days")));
    assert!(c.find(Locator::Id("roots")).await.is_err());
    page(&c, "settings-en").await;
    c.close().await.unwrap();
    assert!(server.stop().success());
}
