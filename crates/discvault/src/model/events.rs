//! The audit trail's records: preservation events as stored and as appended, who acts, and
//! what a check of the hash chain found. The chain itself is kept by the catalog
//! (`catalog/events.rs`).

use serde::{Deserialize, Serialize};

/// An event as stored, with the objects it touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    pub id: i64,
    pub at: i64,
    /// PREMIS event type: ingestion, creation, fixity check, replication, migration ...
    pub event_type: String,
    pub agent: String,
    pub software: String,
    pub outcome: String,
    pub detail: String,
    pub volume_id: Option<String>,
    pub collection: Option<String>,
    pub copy_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// An event to append.
#[derive(Debug, Clone, Default)]
pub struct NewEvent<'a> {
    pub event_type: &'a str,
    pub outcome: &'a str,
    pub detail: &'a str,
    pub volume: Option<i64>,
    pub collection: Option<i64>,
    pub copy: Option<i64>,
    pub file: Option<i64>,
}

/// What `log verify` found.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChainReport {
    pub events: u64,
    pub intact: bool,
    /// Every break found, first first.
    pub problems: Vec<String>,
    pub head_hash: String,
}

thread_local! {
    static ACTING: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with `agent` as the one who acts in every event it records on this thread: the
/// server's user behind a request (`alice@api`), instead of the account running the process.
pub fn acting_as<R>(agent: &str, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<String>);
    impl Drop for Restore {
        fn drop(&mut self) {
            ACTING.with(|a| *a.borrow_mut() = self.0.take());
        }
    }
    let _restore = Restore(ACTING.with(|a| a.borrow_mut().replace(agent.to_string())));
    f()
}

/// Who acts: the user running discvault (or the one [`acting_as`] names), as recorded in
/// events and changes.
pub(crate) fn agent() -> String {
    if let Some(a) = ACTING.with(|a| a.borrow().clone()) {
        return a;
    }
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into())
}
