//! Copies of volumes and where they are: site → room → cabinet → shelf → slot; the checks of
//! a place, a barcode and an RFID tag. How rows become copies, and the rules the catalog keeps
//! over them (inspection, slots), are the catalog's (`catalog/copies.rs`).

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// State of a copy.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CopyState {
    Planned,
    Written,
    Verified,
    Missing,
    Damaged,
    Retired,
}

impl CopyState {
    pub const ALL: [CopyState; 6] = [
        CopyState::Planned,
        CopyState::Written,
        CopyState::Verified,
        CopyState::Missing,
        CopyState::Damaged,
        CopyState::Retired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CopyState::Planned => "planned",
            CopyState::Written => "written",
            CopyState::Verified => "verified",
            CopyState::Missing => "missing",
            CopyState::Damaged => "damaged",
            CopyState::Retired => "retired",
        }
    }

    pub fn parse(s: &str) -> Result<CopyState> {
        CopyState::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| Error::Invalid {
                field: "state".into(),
                detail: format!(
                    "{s:?}: use planned, written, verified, missing, damaged or retired"
                ),
            })
    }
}

/// Where a copy is kept. Empty parts are unknown.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub site: String,
    pub room: String,
    pub cabinet: String,
    pub shelf: String,
    pub slot: String,
}

/// The form of a place, for messages.
pub const PLACE_FORM: &str = "site/room/cabinet/shelf/slot";

/// A shelf or slot number as one spelling: `09` and `9` are the same slot (Excel drops leading
/// zeros when it saves a CSV). Text that is not all digits is kept as it is.
pub fn canonical_number(s: &str) -> String {
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        let n = t.trim_start_matches('0');
        if n.is_empty() {
            "0".into()
        } else {
            n.into()
        }
    } else {
        t.to_string()
    }
}

impl Place {
    /// Parses a place written as `site/room/cabinet/shelf/slot`: always five parts, so that a
    /// part is never taken for another (`光盘柜A/1/09` is refused, not read as site/room/
    /// cabinet). A part that is not known is left empty (`//光盘柜A/1/9`). An empty text is an
    /// unknown place.
    pub fn parse(s: &str) -> Result<Place> {
        if s.trim().is_empty() || s.trim() == "-" {
            return Ok(Place::default());
        }
        let parts: Vec<&str> = s.split('/').map(str::trim).collect();
        if parts.len() != 5 {
            return Err(Error::Invalid {
                field: "place".into(),
                detail: format!(
                    "{s:?} has {} part{}; a place is {PLACE_FORM}, all five parts (leave an unknown part empty, e.g. \"//{}/1/9\"), or give the parts by name (site, room, cabinet, shelf, slot)",
                    parts.len(),
                    if parts.len() == 1 { "" } else { "s" },
                    parts.first().copied().filter(|p| !p.is_empty()).unwrap_or("柜01")
                ),
            });
        }
        Place::from_parts(parts[0], parts[1], parts[2], parts[3], parts[4])
    }

    /// A place from its parts, checked: no part holds a `/`; a shelf or slot needs a cabinet;
    /// a slot is a number from 1. Shelf and slot numbers are stored without leading zeros.
    pub fn from_parts(
        site: &str,
        room: &str,
        cabinet: &str,
        shelf: &str,
        slot: &str,
    ) -> Result<Place> {
        let p = Place {
            site: site.trim().to_string(),
            room: room.trim().to_string(),
            cabinet: cabinet.trim().to_string(),
            shelf: canonical_number(shelf),
            slot: canonical_number(slot),
        };
        p.check()?;
        Ok(p)
    }

    /// Checks the rules of [`Place::from_parts`].
    pub fn check(&self) -> Result<()> {
        for (name, v) in self.parts() {
            if v.contains('/') {
                return Err(Error::Invalid {
                    field: name.into(),
                    detail: format!(
                        "{v:?} holds a '/', which separates the parts of a place ({PLACE_FORM})"
                    ),
                });
            }
        }
        if self.cabinet.is_empty() && !(self.shelf.is_empty() && self.slot.is_empty()) {
            return Err(Error::Invalid {
                field: "cabinet".into(),
                detail: format!(
                    "a shelf or slot is in a cabinet: place {self} names no cabinet ({PLACE_FORM})"
                ),
            });
        }
        if !self.slot.is_empty() && !matches!(self.slot.parse::<u64>(), Ok(n) if n >= 1) {
            return Err(Error::Invalid {
                field: "slot".into(),
                detail: format!("{:?} is not a slot number (1, 2, 3 ...)", self.slot),
            });
        }
        Ok(())
    }

    /// The parts by name, coarsest first.
    pub fn parts(&self) -> [(&'static str, &str); 5] {
        [
            ("site", &self.site),
            ("room", &self.room),
            ("cabinet", &self.cabinet),
            ("shelf", &self.shelf),
            ("slot", &self.slot),
        ]
    }

    /// The cabinet, with the site and room it stands in: `site/room/cabinet`.
    pub fn cabinet_path(&self) -> String {
        format!("{}/{}/{}", self.site, self.room, self.cabinet)
    }

    /// Whether both places are the same slot (shelf and slot numbers compared as numbers).
    pub fn same_slot(&self, o: &Place) -> bool {
        self.site == o.site
            && self.room == o.room
            && self.cabinet == o.cabinet
            && canonical_number(&self.shelf) == canonical_number(&o.shelf)
            && canonical_number(&self.slot) == canonical_number(&o.slot)
    }
}

impl fmt::Display for Place {
    /// `site/room/cabinet/shelf/slot`, always five parts (as [`Place::parse`] reads it back);
    /// `-` when nothing is known.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.parts().iter().all(|(_, p)| p.is_empty()) {
            return f.write_str("-");
        }
        write!(
            f,
            "{}/{}/{}/{}/{}",
            self.site, self.room, self.cabinet, self.shelf, self.slot
        )
    }
}

/// One physical copy of a volume.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscCopy {
    #[serde(skip)]
    pub id: i64,
    pub copy_id: String,
    pub volume_id: String,
    pub barcode: String,
    pub rfid: Option<String>,
    /// Role in the copy set: sealed (封存), access (利用), offsite (异地), or configured names.
    pub role: String,
    pub medium: String,
    pub brand: String,
    pub batch: String,
    pub state: CopyState,
    pub place: Place,
    pub verified_at: Option<i64>,
    pub created_at: i64,
    /// Latest quality grade: "" (none), "good", "watch" (act within a year), "act_now".
    pub grade: String,
    pub graded_at: Option<i64>,
    /// The copy this one replaces, when a migration made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

/// A change of a copy's state or place, with the event that records it.
#[derive(Debug, Clone)]
pub struct CopyChange {
    pub copy: DiscCopy,
    pub event_type: &'static str,
    pub outcome: &'static str,
    pub detail: String,
}

/// A copy to register.
#[derive(Debug, Clone, Default)]
pub struct NewCopy {
    pub barcode: Option<String>,
    pub rfid: Option<String>,
    pub role: String,
    pub medium: String,
    pub brand: String,
    pub batch: String,
    pub state: Option<CopyState>,
    pub place: Place,
    /// The copy this one replaces (a migration): retired when this one is verified.
    pub replaces: Option<String>,
}

/// Checks an RFID tag id: an EPC of 96 bits, 24 hex digits (stored upper case).
pub fn normalize_rfid(s: &str) -> Result<String> {
    let t = s.trim().to_ascii_uppercase();
    if t.len() != 24 || !t.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::Invalid {
            field: "rfid".into(),
            detail: format!("{s:?}: an EPC is 96 bits, written as 24 hex digits"),
        });
    }
    Ok(t)
}

/// Checks a barcode: printable ASCII (Code 128), 1 to 48 characters.
pub fn check_barcode(s: &str) -> Result<()> {
    if s.is_empty() || s.len() > 48 || !s.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Error::Invalid {
            field: "barcode".into(),
            detail: format!("{s:?}: 1 to 48 printable ASCII characters (Code 128)"),
        });
    }
    Ok(())
}
