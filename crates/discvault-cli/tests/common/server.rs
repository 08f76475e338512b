//! The real `discvault serve` process for the tests that drive it over HTTP.

use super::{dv, json};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use testkit::http;

pub fn ok(cmd: &mut Command) -> Value {
    let (rc, v) = json(cmd);
    assert_eq!(rc, 0, "{cmd:?}: {v}");
    v
}

/// The server process, stopped (SIGTERM) when dropped.
pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Server {
    pub fn start(vault: &std::path::Path) -> Server {
        Server::start_with(vault, &[])
    }

    pub fn start_with(vault: &std::path::Path, args: &[&str]) -> Server {
        let mut child = dv(vault)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let at = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("serve printed {line:?}"));
        // `http://ADDR`, or `https://ADDR` with a certificate configured.
        let addr = at
            .strip_prefix("http://")
            .or_else(|| at.strip_prefix("https://"))
            .unwrap_or_else(|| panic!("serve printed {line:?}"))
            .to_string();
        Server { child, addr }
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> http::Response {
        http::get(&self.addr, path, token)
    }

    /// SIGTERM, then the exit status within 30 s.
    pub fn stop(mut self) -> std::process::ExitStatus {
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

pub fn body(r: &http::Response) -> Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.text()))
}

pub fn post(server: &Server, path: &str, token: &str, body: &Value) -> http::Response {
    let auth = format!("Bearer {token}");
    http::request(
        &server.addr,
        "POST",
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body.to_string().as_bytes(),
    )
}

/// `cmd` with `input` on its standard input (a password), its `--json` value.
pub fn ok_with_input(cmd: &mut Command, input: &str) -> Value {
    use std::io::Write;
    let mut child = cmd
        .arg("--json")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A browser's session: its cookie (`NAME=VALUE`) and CSRF token.
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
}

impl Server {
    /// POST /api/v1/session with a name and a password.
    pub fn try_login(&self, user: &str, password: &str) -> http::Response {
        http::request(
            &self.addr,
            "POST",
            "/api/v1/session",
            &[("Content-Type", "application/json")],
            serde_json::json!({"user": user, "password": password})
                .to_string()
                .as_bytes(),
        )
    }

    /// Logs in: the session's cookie and CSRF token.
    pub fn login(&self, user: &str, password: &str) -> Browser {
        let r = self.try_login(user, password);
        assert_eq!(r.status, 200, "login of {user}: {}", r.text());
        let set = r.header("set-cookie").expect("a Set-Cookie header");
        Browser {
            cookie: set.split(';').next().unwrap().to_string(),
            csrf: body(&r)["csrf_token"].as_str().unwrap().to_string(),
        }
    }

    /// A request as the browser: its cookie, and its CSRF token when `csrf`.
    pub fn as_browser(
        &self,
        b: &Browser,
        csrf: bool,
        method: &str,
        path: &str,
        ctype: &str,
        body: &[u8],
    ) -> http::Response {
        let mut headers = vec![("Cookie", b.cookie.as_str()), ("Content-Type", ctype)];
        if csrf {
            headers.push(("X-CSRF-Token", b.csrf.as_str()));
        }
        http::request(&self.addr, method, path, &headers, body)
    }
}
