//! discvault: archival storage on write-once optical discs.
//!
//! This crate owns the domain. The stages follow the life of a disc, one way through:
//! [`ingest`] (fixity) → [`plan`] (span across discs) → [`master`] (self-describing images) →
//! [`verify`] → [`restore`] and [`repair`], with [`locate`] and [`status`] reading the [`catalog`]. Each stage
//! reads the catalog, writes its result and an event. Planning returns a value
//! ([`plan::VolumePlan`], [`restore::PickList`]) that can be shown before anything is written.
//!
//! The library never prints: long operations report through [`progress::Progress`].
//! Everything stored for readers decades away (on-disc files, catalog schema) lives in [`format`]
//! and [`catalog::schema`], described in `docs/FORMAT.md`.

pub mod accounts;
pub mod archive;
pub mod audit;
pub mod cabinet;
pub mod catalog;
pub mod check;
pub mod config;
pub mod copies;
pub mod csvfile;
pub mod digest;
pub mod error;
pub mod format;
pub mod identify;
pub mod ingest;
pub mod inspect;
pub mod label;
pub mod locate;
pub mod master;
pub mod media;
pub mod migrate;
pub mod model;
pub mod orchestrate;
mod pipe;
pub mod plan;
pub mod policy;
pub mod progress;
pub mod publish;
pub mod quality;
pub mod readback;
pub mod recovery;
pub mod repair;
pub mod report;
pub mod restore;
pub mod scan;
pub mod source;
mod sparse;
pub mod status;
pub mod tasks;
pub mod uploads;
pub mod vault;
pub mod verify;
pub mod watched;
pub mod webhooks;

pub use error::{Error, Result};
pub use vault::Vault;

/// Name and version of this software, as recorded in events and on every disc.
pub const SOFTWARE: &str = concat!("discvault ", env!("CARGO_PKG_VERSION"));

/// Current time as seconds since the Unix epoch.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The time a plan is recorded with, which every disc of the plan carries (its dates, its
/// README, its volume record): now, or `SOURCE_DATE_EPOCH` (Unix seconds) when that is set, as
/// for reproducible builds, so that the same records planned again give the same images.
pub fn planning_time() -> i64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .filter(|t| *t >= 0)
        .unwrap_or_else(now_unix)
}

/// A size as people read it, in binary units: `512 B`, `1.5 KiB`, `4.4 GiB` (the CLI's lines
/// and the web UI alike).
pub fn human_bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// RFC 3339 UTC text of a Unix time, as used in the catalog and on discs.
pub fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Parses `YYYY-MM-DD` (midnight UTC) or an RFC 3339 date-time to Unix seconds.
pub fn parse_date(s: &str) -> Result<i64> {
    let s = s.trim();
    if let Ok(d) = time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")) {
        return Ok(d.midnight().assume_utc().unix_timestamp());
    }
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| Error::Invalid {
            field: "date".into(),
            detail: format!("{s:?}: use YYYY-MM-DD or an RFC 3339 date-time"),
        })
}
