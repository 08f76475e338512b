//! Progress bars on a terminal (files, bytes, rate, ETA); with `--json`, JSON lines on stderr
//! (stdout keeps the result); otherwise only the notices (a vault created, a busy vault waited
//! for, a disc burned again), one a line on stderr.

use discvault::progress::{Message, NoProgress, Progress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;

pub struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    items: Mutex<(u64, u64)>,
}

impl Progress for Bar {
    fn start(&self, stage: &Message, items: u64, bytes: u64) {
        let b = ProgressBar::with_draw_target(Some(bytes), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template(
                "{prefix:>12} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        b.set_prefix(stage.to_string());
        *self.items.lock().unwrap() = (0, items);
        *self.bar.lock().unwrap() = Some(b);
    }
    fn advance(&self, items: u64, bytes: u64) {
        if let Some(b) = self.bar.lock().unwrap().as_ref() {
            if bytes > 0 {
                b.inc(bytes);
            }
            if items > 0 {
                let mut it = self.items.lock().unwrap();
                it.0 += items;
                b.set_message(format!("{}/{} files", it.0, it.1));
            }
        }
    }
    fn note(&self, message: &Message) {
        match self.bar.lock().unwrap().as_ref() {
            Some(b) => b.println(message.to_string()),
            None => eprintln!("{message}"),
        }
    }
    fn finish(&self) {
        if let Some(b) = self.bar.lock().unwrap().take() {
            b.finish_and_clear();
        }
    }
}

/// Progress as JSON lines on stderr, one object per event:
/// `{"event":"start","stage":..,"step":{"code":..},"items":..,"bytes":..}`,
/// `{"event":"progress","stage":..,"bytes_done":..,"bytes_total":..,"percent":..,"items_done":..}`
/// (when the whole percentage changes), `{"event":"note","message":..,"step":{"code":..}}`,
/// `{"event":"finish","stage":..}`. `stage` and `message` are in English; `step` is the same as
/// a code and its arguments (a task's `step` in the API).
pub struct JsonLines {
    state: Mutex<JsonState>,
}

#[derive(Default)]
struct JsonState {
    stage: String,
    items: (u64, u64),
    bytes: (u64, u64),
    percent: i64,
}

fn emit(v: serde_json::Value) {
    use std::io::Write;
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "{v}");
}

impl Progress for JsonLines {
    fn start(&self, stage: &Message, items: u64, bytes: u64) {
        let mut s = self.state.lock().unwrap();
        *s = JsonState {
            stage: stage.to_string(),
            items: (0, items),
            bytes: (0, bytes),
            percent: -1,
        };
        emit(serde_json::json!({
            "event": "start", "stage": stage.to_string(), "step": stage,
            "items": items, "bytes": bytes
        }));
    }
    fn advance(&self, items: u64, bytes: u64) {
        let mut s = self.state.lock().unwrap();
        s.items.0 += items;
        s.bytes.0 += bytes;
        let Some(pct) = (s.bytes.0 * 100)
            .checked_div(s.bytes.1)
            .or_else(|| (s.items.0 * 100).checked_div(s.items.1))
            .map(|p| p as i64)
        else {
            return;
        };
        if pct != s.percent {
            s.percent = pct;
            emit(serde_json::json!({
                "event": "progress", "stage": s.stage, "bytes_done": s.bytes.0,
                "bytes_total": s.bytes.1, "items_done": s.items.0, "percent": pct
            }));
        }
    }
    fn note(&self, message: &Message) {
        emit(serde_json::json!({"event": "note", "message": message.to_string(), "step": message}));
    }
    fn finish(&self) {
        let s = self.state.lock().unwrap();
        emit(serde_json::json!({"event": "finish", "stage": s.stage}));
    }
}

pub fn for_cli(quiet: bool, json: bool) -> Box<dyn Progress> {
    if json && !quiet {
        return Box::new(JsonLines {
            state: Mutex::new(JsonState::default()),
        });
    }
    for_terminal(quiet)
}

/// Only the notices, a line each on stderr (no bars where no terminal shows them).
struct Notes;

impl Progress for Notes {
    fn note(&self, message: &Message) {
        eprintln!("{message}");
    }
}

pub fn for_terminal(quiet: bool) -> Box<dyn Progress> {
    if quiet {
        Box::new(NoProgress)
    } else if !std::io::stderr().is_terminal() {
        Box::new(Notes)
    } else {
        Box::new(Bar {
            bar: Mutex::new(None),
            items: Mutex::new((0, 0)),
        })
    }
}
