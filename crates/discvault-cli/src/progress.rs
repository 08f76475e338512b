//! Progress bars on a terminal (files, bytes, rate, ETA), nothing otherwise.

use discvault::progress::{NoProgress, Progress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;

pub struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    items: Mutex<(u64, u64)>,
}

impl Progress for Bar {
    fn start(&self, stage: &str, items: u64, bytes: u64) {
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
    fn note(&self, message: &str) {
        match self.bar.lock().unwrap().as_ref() {
            Some(b) => b.println(message),
            None => eprintln!("{message}"),
        }
    }
    fn finish(&self) {
        if let Some(b) = self.bar.lock().unwrap().take() {
            b.finish_and_clear();
        }
    }
}

pub fn for_terminal(quiet: bool) -> Box<dyn Progress> {
    if quiet || !std::io::stderr().is_terminal() {
        Box::new(NoProgress)
    } else {
        Box::new(Bar {
            bar: Mutex::new(None),
            items: Mutex::new((0, 0)),
        })
    }
}
