//! Inspection (检测): when each copy is due for a read-back, and the pick list of a round.
//!
//! A copy is due `interval` days after its last clean check, or after it was written when it
//! was never checked. The interval is the medium's (or the default, 4 years per GB/T 18894),
//! shortened to the warning interval when the copy's last quality grade was "act within a
//! year". Each round picks every due copy and, when they are fewer than the sample share of all
//! active copies, the copies due soonest until the share is reached; so every copy is checked
//! at the latest when it falls due. The clock is a parameter: rounds can be simulated.

use crate::copies::CopyView;
use crate::model::DiscCopy;
use crate::{Result, Vault};
use serde::{Deserialize, Serialize};

const DAY: i64 = 86_400;

/// The interval of a copy, in seconds (the vault's policy: see
/// [`crate::catalog::copies::interval`]).
pub fn interval(vault: &Vault, c: &DiscCopy) -> i64 {
    crate::catalog::copies::interval(&vault.config.inspection, c)
}

/// When a copy falls due: its last clean check (or its writing) plus its interval.
pub fn due_at(vault: &Vault, c: &DiscCopy) -> i64 {
    crate::catalog::copies::due_at(&vault.config.inspection, c)
}

pub use crate::catalog::copies::active;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DueCopy {
    #[serde(flatten)]
    pub copy: CopyView,
    pub due_at: String,
    /// Days past due (negative: not yet due).
    pub overdue_days: i64,
    /// `overdue`, `warning` (due after a quality warning) or `sample` (picked to reach the share).
    pub reason: String,
}

/// The pick list of one inspection round, in the order of the copies' places.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DuePick {
    pub at: String,
    pub active_copies: u64,
    /// At least this many copies are picked each round (the sample share).
    pub quota: u64,
    pub copies: Vec<DueCopy>,
}

pub fn due(vault: &Vault, now: i64) -> Result<DuePick> {
    let cfg = &vault.config.inspection;
    let (active_copies, rows) = vault.catalog.due_copies(now, cfg.sample_percent)?;
    let quota = ((active_copies as f64) * cfg.sample_percent / 100.0).ceil() as u64;
    let mut picked: Vec<DueCopy> = rows
        .into_iter()
        .map(|(c, due)| {
            debug_assert_eq!(due, due_at(vault, &c));
            let reason = if due > now {
                "sample"
            } else if c.grade == "watch" {
                "warning"
            } else {
                "overdue"
            };
            DueCopy {
                due_at: crate::rfc3339(due),
                overdue_days: (now - due).div_euclid(DAY),
                reason: reason.into(),
                copy: crate::copies::view_at(vault, c, now),
            }
        })
        .collect();
    picked.sort_by_cached_key(|d| {
        let pl = &d.copy.copy.place;
        (
            pl.site.clone(),
            pl.room.clone(),
            pl.cabinet.clone(),
            pl.shelf.clone(),
            pl.slot.parse::<u64>().unwrap_or(u64::MAX),
            pl.slot.clone(),
            d.copy.copy.copy_id.clone(),
        )
    });
    Ok(DuePick {
        at: crate::rfc3339(now),
        active_copies,
        quota,
        copies: picked,
    })
}
