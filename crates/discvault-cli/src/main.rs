//! The `discvault` command: a thin shell over the library. `--json` prints the library's result
//! values, the same JSON the server's API returns.
//!
//! Exit codes: 0 done and clean; 1 error; 2 bad command line; 3 damage found (verify, restore,
//! archive); 4 restore needs volumes that were not given; 5 a disc of another vault or of a
//! volume this catalog does not know (nothing checked or recorded).

mod cli;
mod commands;
mod output;
mod progress;

use clap::Parser;
use cli::Cli;
use commands::run;

/// The error's message with its causes, each cause left out when the message before it
/// already says it (our errors carry their I/O cause in their own text).
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let c = cause.to_string();
        if !text.contains(&c) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&c);
        }
    }
    text
}

/// Exit code and kind of an error: the library's when it is one of its errors.
fn error_code(e: &anyhow::Error) -> (i32, &'static str) {
    match e.downcast_ref::<discvault::Error>() {
        Some(d) => (d.exit_code(), d.kind()),
        None => (1, "error"),
    }
}

fn main() {
    // A closed pipe (`discvault locate x | head -1`) ends the command quietly, as it ends other
    // Unix tools, instead of a panic on the next write to standard output.
    #[cfg(unix)]
    // SAFETY: resetting a signal's disposition to its default before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            let (code, kind) = error_code(&e);
            let text = error_text(&e);
            if json {
                eprintln!(
                    "{}",
                    serde_json::json!({"error": text, "kind": kind, "exit_code": code})
                );
            } else {
                eprintln!("discvault: error: {text}");
            }
            std::process::exit(code);
        }
    }
}
