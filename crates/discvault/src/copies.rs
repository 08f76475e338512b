//! Copies of volumes: registering them, moving them, marking their state, and whether a copy
//! can be trusted.

use crate::model::{CopyChange, CopyState, DiscCopy, NewCopy, Place};
use crate::{Error, Result, Vault};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A place as given on the command line: the whole place (`site/room/cabinet/shelf/slot`, all
/// five parts), or parts by name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default)]
pub struct PlaceInput {
    /// site/room/cabinet/shelf/slot, all five parts; leave an unknown part empty
    /// (//柜03/1/9). A slot is a number from 1.
    #[cfg_attr(
        feature = "clap",
        arg(long, conflicts_with_all = ["site", "room", "cabinet", "shelf", "slot"])
    )]
    pub place: Option<String>,
    #[cfg_attr(feature = "clap", arg(long))]
    pub site: Option<String>,
    #[cfg_attr(feature = "clap", arg(long))]
    pub room: Option<String>,
    #[cfg_attr(feature = "clap", arg(long))]
    pub cabinet: Option<String>,
    #[cfg_attr(feature = "clap", arg(long))]
    pub shelf: Option<String>,
    #[cfg_attr(feature = "clap", arg(long))]
    pub slot: Option<String>,
}

impl PlaceInput {
    fn named(&self) -> [&Option<String>; 5] {
        [
            &self.site,
            &self.room,
            &self.cabinet,
            &self.shelf,
            &self.slot,
        ]
    }

    /// Whether no place is given.
    pub fn is_empty(&self) -> bool {
        self.place.is_none() && self.named().iter().all(|p| p.is_none())
    }

    /// The place given, starting from `base` (the copy's place for a move, an unknown place for
    /// a new copy): a whole place replaces it; parts by name replace those parts, keep the
    /// coarser parts of `base` above the coarsest part given, and clear the finer ones not
    /// given (`--cabinet B` forgets the old cabinet's shelf and slot). `None` when nothing is
    /// given.
    pub fn resolve(&self, base: &Place) -> Result<Option<Place>> {
        let named = self.named();
        let coarsest = named.iter().position(|p| p.is_some());
        match (&self.place, coarsest) {
            (None, None) => Ok(None),
            (Some(_), Some(k)) => Err(Error::Invalid {
                field: "place".into(),
                detail: format!(
                    "give the whole place or its parts by name, not both (--place and --{})",
                    ["site", "room", "cabinet", "shelf", "slot"][k]
                ),
            }),
            (Some(p), None) => Place::parse(p).map(Some),
            (None, Some(k)) => {
                let old = base.parts();
                let part = |i: usize| -> String {
                    match named[i] {
                        Some(v) => v.clone(),
                        None if i < k => old[i].1.to_string(),
                        None => String::new(),
                    }
                };
                Place::from_parts(&part(0), &part(1), &part(2), &part(3), &part(4)).map(Some)
            }
        }
    }
}

/// Options of `copies add`. A copy is verified by reading it back (`verify --copy`), or by
/// recording a past check with [`mark`]. With the `clap` feature, the command line's options
/// but the roles (a comma separated list there).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default)]
pub struct AddCopiesOptions {
    /// Roles, one copy each, from the configured roles; the configured set (sealed, access,
    /// offsite) when empty.
    #[cfg_attr(feature = "clap", arg(skip))]
    pub roles: Vec<String>,
    #[cfg_attr(feature = "clap", arg(long))]
    pub medium: Option<String>,
    #[cfg_attr(feature = "clap", arg(long, default_value = ""))]
    pub brand: String,
    #[cfg_attr(feature = "clap", arg(long, default_value = ""))]
    pub batch: String,
    #[serde(flatten)]
    #[cfg_attr(feature = "clap", command(flatten))]
    pub place: PlaceInput,
    /// Barcode (default: the copy id), only with one role.
    #[cfg_attr(feature = "clap", arg(long))]
    pub barcode: Option<String>,
    /// RFID tag id (EPC, 24 hex digits), only with one role.
    #[cfg_attr(feature = "clap", arg(long))]
    pub rfid: Option<String>,
    /// planned or written (the default). Not trusted until read back: `verify SOURCE
    /// --copy COPY`, or `copies mark COPY --state verified --at DATE` for a past check.
    #[cfg_attr(feature = "clap", arg(long))]
    pub state: Option<String>,
}

/// Registers copies of a volume. A copy registered here is not trusted until it is read back.
pub fn add(vault: &Vault, volume_id: &str, o: &AddCopiesOptions) -> Result<Vec<DiscCopy>> {
    let volume = vault.catalog.volume(volume_id)?;
    let roles = if o.roles.is_empty() {
        vault.config.copies.roles.clone()
    } else {
        o.roles
            .iter()
            .map(|r| vault.config.copies.role(r))
            .collect::<Result<Vec<_>>>()?
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
    let place = o.place.resolve(&Place::default())?.unwrap_or_default();
    if roles.len() > 1 && !place.slot.is_empty() {
        return Err(Error::Invalid {
            field: "place".into(),
            detail: format!(
                "{} copies asked for ({}) in one slot ({place}): a slot holds one disc, add them one role at a time",
                roles.len(),
                roles.join(", ")
            ),
        });
    }
    let state = o.state.as_deref().map(CopyState::parse).transpose()?;
    if state == Some(CopyState::Verified) {
        return Err(Error::Invalid {
            field: "state".into(),
            detail: "a copy is not verified when it is registered: read it back (`discvault verify SOURCE --copy COPY`), or record a check done earlier with `copies mark COPY --state verified --at DATE`".into(),
        });
    }
    let new: Vec<NewCopy> = roles
        .iter()
        .map(|r| NewCopy {
            barcode: o.barcode.clone(),
            rfid: o.rfid.clone(),
            role: r.clone(),
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

/// Moves a copy (by id, barcode or RFID) to a new place; the slot must be free.
pub fn move_to(vault: &Vault, key: &str, to: &PlaceInput) -> Result<DiscCopy> {
    let mut c = vault.catalog.copy(key)?;
    let Some(to) = to.resolve(&c.place)? else {
        return Err(Error::Invalid {
            field: "place".into(),
            detail: format!(
                "no place given for copy {}: {} or parts by name (site, room, cabinet, shelf, slot)",
                c.copy_id,
                crate::model::PLACE_FORM
            ),
        });
    };
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

/// Marks the state of a copy, with a note for the record. Marking a copy verified records a
/// clean read-back done earlier (results of past inspections entered later): `at`, its date,
/// is then required, and may not be in the future.
pub fn mark(
    vault: &Vault,
    key: &str,
    state: &str,
    note: &str,
    at: Option<i64>,
) -> Result<DiscCopy> {
    let mut c = vault.catalog.copy(key)?;
    let to = CopyState::parse(state)?;
    if to == CopyState::Verified {
        match at {
            None => {
                return Err(Error::Invalid {
                    field: "at".into(),
                    detail: format!(
                        "marking copy {} verified records a clean read-back done earlier: give its date (--at YYYY-MM-DD); `discvault verify SOURCE --copy {}` reads it back now",
                        c.copy_id, c.copy_id
                    ),
                })
            }
            Some(t) if t > crate::now_unix() => {
                return Err(Error::Invalid {
                    field: "at".into(),
                    detail: format!(
                        "{} is in the future: a check is recorded after it was done",
                        crate::rfc3339(t)
                    ),
                })
            }
            Some(_) => {}
        }
    }
    let detail = format!(
        "copy {} marked {} (was {}){}{}",
        c.copy_id,
        to.as_str(),
        c.state.as_str(),
        match (to, at) {
            (CopyState::Verified, Some(t)) => format!(", checked on {}", &crate::rfc3339(t)[..10]),
            _ => String::new(),
        },
        if note.is_empty() {
            String::new()
        } else {
            format!(": {note}")
        }
    );
    // A check done earlier, entered now, is a fixity check as much as one read here.
    let event = match to {
        CopyState::Retired => "deaccession",
        CopyState::Verified => "fixity check",
        _ => "metadata modification",
    };
    c.state = to;
    if to == CopyState::Verified {
        c.verified_at = at;
    }
    vault.catalog.update_copies(&[CopyChange {
        copy: c.clone(),
        event_type: event,
        outcome: "success",
        detail,
    }])?;
    if to == CopyState::Verified {
        settle(vault)?;
    }
    vault.catalog.copy(&c.copy_id)
}

/// Why a copy is not trusted at `now`, or `None` when it is. The one rule of trust, used by
/// status, report, inspect, locate, restore, migrate and publish: a copy is trusted only when
/// it was read back clean (state verified, with the date of that read-back: `verify --copy`, a
/// publisher's read-back, or a past check recorded by `copies mark --state verified --at`),
/// that check is within the inspection interval, and its quality is not "act now". A copy
/// that was only registered, is missing (a cabinet inventory did not see it), damaged or
/// retired is not trusted.
pub fn distrust(vault: &Vault, c: &DiscCopy, now: i64) -> Option<String> {
    let checked = match (c.state, c.verified_at) {
        (CopyState::Verified, Some(t)) => t,
        (CopyState::Verified, None) => {
            return Some("verified, but with no date of its check".into())
        }
        (CopyState::Planned, _) => return Some("planned: not written yet".into()),
        (CopyState::Written, _) => {
            return Some("never read back since it was registered or found".into())
        }
        (s, _) => return Some(s.as_str().into()),
    };
    if checked > now {
        return Some(format!(
            "read back only on {}",
            &crate::rfc3339(checked)[..10]
        ));
    }
    let due = crate::catalog::copies::due_at(&vault.config.inspection, c);
    if now > due {
        return Some(format!(
            "last read back on {}, due since {}",
            &crate::rfc3339(checked)[..10],
            &crate::rfc3339(due)[..10]
        ));
    }
    if c.grade == "act_now" {
        return Some("quality graded act now".into());
    }
    None
}

/// Whether a copy counts as a trusted copy at `now` (see [`distrust`]).
pub fn trusted(vault: &Vault, c: &DiscCopy, now: i64) -> bool {
    distrust(vault, c, now).is_none()
}

/// A copy with its trust, as `locate` and `copies list` show it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CopyView {
    #[serde(flatten)]
    pub copy: DiscCopy,
    pub place_text: String,
    pub trusted: bool,
    /// Why the copy is not trusted (absent when it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_trusted: Option<String>,
}

pub fn view(vault: &Vault, c: DiscCopy) -> CopyView {
    view_at(vault, c, crate::now_unix())
}

/// A copy with its trust at a given time.
pub fn view_at(vault: &Vault, c: DiscCopy, now: i64) -> CopyView {
    let not_trusted = distrust(vault, &c, now);
    CopyView {
        trusted: not_trusted.is_none(),
        not_trusted,
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

/// The copies in the cabinets of this name (`""`: not placed), in walking order, with trust
/// judged at `now`.
pub fn in_cabinet_at(vault: &Vault, cabinet: &str, now: i64) -> Result<Vec<CopyView>> {
    Ok(vault
        .catalog
        .copies_in_cabinet(cabinet)?
        .into_iter()
        .map(|c| view_at(vault, c, now))
        .collect())
}

/// Retires old copies whose replacements have been verified; returns their ids.
pub fn settle(vault: &Vault) -> Result<Vec<String>> {
    let copies = vault.catalog.copies(None)?;
    let by_id: BTreeMap<&str, &DiscCopy> = copies.iter().map(|c| (c.copy_id.as_str(), c)).collect();
    let mut by_volume: BTreeMap<&str, Vec<&DiscCopy>> = BTreeMap::new();
    for c in &copies {
        by_volume.entry(c.volume_id.as_str()).or_default().push(c);
    }
    let mut retire: BTreeMap<String, String> = BTreeMap::new();
    // A copy replaced by a verified copy.
    for c in &copies {
        if c.state != CopyState::Verified {
            continue;
        }
        if let Some(old) = c.replaces.as_deref().and_then(|r| by_id.get(r)) {
            if old.state != CopyState::Retired {
                retire.insert(
                    old.copy_id.clone(),
                    format!("replaced by copy {}, verified", c.copy_id),
                );
            }
        }
    }
    // Copies of a remastered volume: every new volume has a verified copy of the same role (or,
    // when none has that role, as many verified copies as the old volume had copies).
    let mut children: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (new, old, _) in vault.catalog.lineage()? {
        children.entry(old).or_default().push(new);
    }
    for (old, news) in &children {
        let olds: Vec<&DiscCopy> = by_volume
            .get(old.as_str())
            .map(|v| {
                v.iter()
                    .copied()
                    .filter(|c| c.state != CopyState::Retired)
                    .collect()
            })
            .unwrap_or_default();
        for c in &olds {
            let covered = news.iter().all(|n| {
                let nc = by_volume.get(n.as_str()).cloned().unwrap_or_default();
                let verified: Vec<&&DiscCopy> = nc
                    .iter()
                    .filter(|x| x.state == CopyState::Verified)
                    .collect();
                if nc.iter().any(|x| x.role == c.role) {
                    verified.iter().any(|x| x.role == c.role)
                } else {
                    verified.len() >= olds.len()
                }
            });
            if covered {
                retire.insert(
                    c.copy_id.clone(),
                    format!("its records are on {}, verified", news.join(", ")),
                );
            }
        }
    }
    let changes: Vec<CopyChange> = retire
        .iter()
        .map(|(id, why)| {
            let mut c = by_id[id.as_str()].clone();
            let was = c.state;
            c.state = CopyState::Retired;
            CopyChange {
                detail: format!("copy {id} retired (was {}): {why}", was.as_str()),
                copy: c,
                event_type: "deaccession",
                outcome: "success",
            }
        })
        .collect();
    if !changes.is_empty() {
        vault.catalog.update_copies(&changes)?;
    }
    Ok(retire.into_keys().collect())
}
