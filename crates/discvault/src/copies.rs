//! Copies of volumes: registering them, moving them, marking their state, and whether a copy
//! can be trusted.

use crate::catalog::copies::{CopyChange, CopyState, DiscCopy, NewCopy, Place};
use crate::{Error, Result, Vault};
use serde::{Deserialize, Serialize};

/// Options of `copies add`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AddCopiesOptions {
    /// Roles, one copy each; the configured set (sealed, access, offsite) when empty.
    pub roles: Vec<String>,
    pub medium: Option<String>,
    pub brand: String,
    pub batch: String,
    pub place: Option<String>,
    /// Barcode and RFID tag, only when one copy is added.
    pub barcode: Option<String>,
    pub rfid: Option<String>,
    pub state: Option<String>,
}

/// Registers copies of a volume.
pub fn add(vault: &Vault, volume_id: &str, o: &AddCopiesOptions) -> Result<Vec<DiscCopy>> {
    let volume = vault.catalog.volume(volume_id)?;
    let roles = if o.roles.is_empty() {
        vault.config.copies.roles.clone()
    } else {
        o.roles.clone()
    };
    if roles.len() > 1 && (o.barcode.is_some() || o.rfid.is_some()) {
        return Err(Error::Invalid {
            field: "barcode/rfid".into(),
            detail: format!(
                "{} copies asked for ({}): a barcode or RFID tag belongs to one copy, add them one role at a time",
                roles.len(),
                roles.join(", ")
            ),
        });
    }
    let place = o
        .place
        .as_deref()
        .map(Place::parse)
        .transpose()?
        .unwrap_or_default();
    let state = o.state.as_deref().map(CopyState::parse).transpose()?;
    let new: Vec<NewCopy> = roles
        .iter()
        .map(|r| NewCopy {
            barcode: o.barcode.clone(),
            rfid: o.rfid.clone(),
            role: r.trim().to_string(),
            medium: o.medium.clone().unwrap_or_else(|| volume.media.clone()),
            brand: o.brand.clone(),
            batch: o.batch.clone(),
            state,
            place: place.clone(),
            replaces: None,
        })
        .collect();
    vault.catalog.add_copies(volume_id, &new)
}

/// Moves a copy (by id, barcode or RFID) to a new place.
pub fn move_to(vault: &Vault, key: &str, place: &str) -> Result<DiscCopy> {
    let mut c = vault.catalog.copy(key)?;
    let to = Place::parse(place)?;
    let detail = format!("copy {} moved from {} to {}", c.copy_id, c.place, to);
    c.place = to;
    vault.catalog.update_copies(&[CopyChange {
        copy: c.clone(),
        event_type: "transfer",
        outcome: "success",
        detail,
    }])?;
    vault.catalog.copy(&c.copy_id)
}

/// Marks the state of a copy, with a note for the record. `at` dates a check done earlier
/// (results of past inspections entered later); it defaults to now.
pub fn mark(
    vault: &Vault,
    key: &str,
    state: &str,
    note: &str,
    at: Option<i64>,
) -> Result<DiscCopy> {
    let mut c = vault.catalog.copy(key)?;
    let to = CopyState::parse(state)?;
    let detail = format!(
        "copy {} marked {} (was {}){}",
        c.copy_id,
        to.as_str(),
        c.state.as_str(),
        if note.is_empty() {
            String::new()
        } else {
            format!(": {note}")
        }
    );
    let event = if to == CopyState::Retired {
        "deaccession"
    } else {
        "metadata modification"
    };
    c.state = to;
    if to == CopyState::Verified {
        c.verified_at = Some(at.unwrap_or_else(crate::now_unix));
    }
    vault.catalog.update_copies(&[CopyChange {
        copy: c.clone(),
        event_type: event,
        outcome: "success",
        detail,
    }])?;
    if to == CopyState::Verified {
        crate::migrate::settle(vault)?;
    }
    vault.catalog.copy(&c.copy_id)
}

/// Whether a copy counts as a trusted copy at `now`: written or verified, and checked (or
/// written) within the inspection interval. An unverified copy expires, as git-annex expires
/// unverified copies.
pub fn trusted(vault: &Vault, c: &DiscCopy, now: i64) -> bool {
    crate::inspect::active(c) && now <= crate::inspect::due_at(vault, c) && c.grade != "act_now"
}

/// A copy with its trust, as `locate` and `copies list` show it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CopyView {
    #[serde(flatten)]
    pub copy: DiscCopy,
    pub place_text: String,
    pub trusted: bool,
}

pub fn view(vault: &Vault, c: DiscCopy) -> CopyView {
    view_at(vault, c, crate::now_unix())
}

/// A copy with its trust at a given time.
pub fn view_at(vault: &Vault, c: DiscCopy, now: i64) -> CopyView {
    CopyView {
        trusted: trusted(vault, &c, now),
        place_text: c.place.to_string(),
        copy: c,
    }
}

/// Copies, optionally of one volume, in the order a person walks the cabinets.
pub fn list(vault: &Vault, volume: Option<&str>) -> Result<Vec<CopyView>> {
    list_at(vault, volume, crate::now_unix())
}

/// The same, with trust judged at `now`.
pub fn list_at(vault: &Vault, volume: Option<&str>, now: i64) -> Result<Vec<CopyView>> {
    Ok(vault
        .catalog
        .copies(volume)?
        .into_iter()
        .map(|c| view_at(vault, c, now))
        .collect())
}
