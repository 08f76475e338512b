//! Disc cabinets: the slot map as CSV (`copy_id,barcode,rfid,cabinet,shelf,slot`), exported for
//! a smart cabinet and imported from its inventory, reconciled against the catalog.
//!
//! - A cabinet is named by its name, or by `site/room/cabinet` when the catalog knows two
//!   cabinets of that name (in different rooms or sites); exports write it the same way.
//! - A slot is a number from 1 on its shelf; a slot holds one disc.
//! - Exports are UTF-8 with a byte order mark (so that Excel shows Chinese); imports read
//!   UTF-8 with or without BOM and GBK (Excel's "CSV" on Chinese Windows), see [`crate::csvfile`].
//! - Export then import of the same file changes nothing.
//! - The older form without a shelf column (`copy_id,barcode,rfid,cabinet,slot`) is still
//!   read: a copy reported in the slot of that number where the catalog has it (on any shelf)
//!   is where expected; a copy reported elsewhere is moved there with its shelf unknown.
//! - A copy of a reported cabinet that the inventory did not see is marked missing (and so no
//!   longer trusted); a missing copy seen again becomes written: it is trusted again once it is
//!   read back.

use crate::error::IoContext;
use crate::model::{canonical_number, normalize_rfid, CopyChange, CopyState, DiscCopy, Place};
use crate::{Error, Result, Vault};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The columns of a slot map.
pub const HEADER: [&str; 6] = ["copy_id", "barcode", "rfid", "cabinet", "shelf", "slot"];

/// A cabinet: site, room and name.
type CabinetKey = (String, String, String);

fn key_of(p: &Place) -> CabinetKey {
    (p.site.clone(), p.room.clone(), p.cabinet.clone())
}

/// The cabinets the catalog knows: every cabinet a copy is (or was, when retired) placed in.
struct Cabinets(BTreeSet<CabinetKey>);

impl Cabinets {
    fn of(copies: &[DiscCopy]) -> Cabinets {
        Cabinets(
            copies
                .iter()
                .filter(|c| !c.place.cabinet.is_empty())
                .map(|c| key_of(&c.place))
                .collect(),
        )
    }

    /// How a slot map names a cabinet: its name, or `site/room/cabinet` when the name is not
    /// unique.
    fn label(&self, k: &CabinetKey) -> String {
        if self.0.iter().filter(|o| o.2 == k.2).count() > 1 {
            format!("{}/{}/{}", k.0, k.1, k.2)
        } else {
            k.2.clone()
        }
    }

    fn listing(&self) -> String {
        if self.0.is_empty() {
            return "none: no copy is placed in a cabinet".into();
        }
        self.0
            .iter()
            .map(|k| self.label(k))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The cabinet a name (or `site/room/cabinet`) names; a cabinet given as
    /// `site/room/cabinet` may be one the catalog does not know yet.
    fn find(&self, name: &str) -> std::result::Result<CabinetKey, String> {
        let name = name.trim();
        if name.is_empty() {
            return Err("empty cabinet".into());
        }
        let parts: Vec<&str> = name.split('/').map(str::trim).collect();
        if parts.len() == 3 && !parts[2].is_empty() {
            let k = (
                parts[0].to_string(),
                parts[1].to_string(),
                parts[2].to_string(),
            );
            // Known or not, a cabinet given with its site and room is that cabinet.
            return Ok(k);
        }
        if parts.len() != 1 {
            return Err(format!(
                "cabinet {name:?}: a cabinet is named by its name or as site/room/cabinet"
            ));
        }
        let want = canonical_number(name);
        let found: Vec<&CabinetKey> = self
            .0
            .iter()
            .filter(|k| canonical_number(&k.2) == want)
            .collect();
        match found.as_slice() {
            [] => Err(format!(
                "unknown cabinet {name:?} (known: {}; a cabinet the catalog does not know yet is written site/room/cabinet)",
                self.listing()
            )),
            [k] => Ok((*k).clone()),
            many => Err(format!(
                "cabinet {name:?} names {} cabinets ({}): write it as site/room/cabinet",
                many.len(),
                many.iter()
                    .map(|k| format!("{}/{}/{}", k.0, k.1, k.2))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

/// Sort key of a place within a cabinet: shelf, then slot, numbers as numbers.
fn slot_order(p: &Place) -> (u64, String, u64, String) {
    let num = |s: &str| s.parse::<u64>().unwrap_or(u64::MAX);
    (num(&p.shelf), p.shelf.clone(), num(&p.slot), p.slot.clone())
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SlotMap {
    /// The cabinet as the slot map names it.
    pub cabinet: String,
    /// Where it stands: `site/room/cabinet`.
    pub cabinet_path: String,
    pub copies: u64,
}

/// Writes the slot map of one cabinet (named by its name or `site/room/cabinet`): every copy
/// the catalog expects in it (not retired, not missing), by shelf and slot, as UTF-8 with a
/// byte order mark. An unknown cabinet is an error that lists the known ones.
pub fn export(vault: &Vault, cabinet: &str, out: &mut dyn std::io::Write) -> Result<SlotMap> {
    let all = vault.catalog.copies(None)?;
    let cabinets = Cabinets::of(&all);
    let invalid = |detail: String| Error::Invalid {
        field: "cabinet".into(),
        detail,
    };
    let key = match cabinets.find(cabinet).map_err(invalid)? {
        k if cabinets.0.contains(&k) => k,
        _ => {
            return Err(invalid(format!(
                "unknown cabinet {cabinet:?} (known: {})",
                cabinets.listing()
            )))
        }
    };
    let label = cabinets.label(&key);
    let mut copies: Vec<&DiscCopy> = all
        .iter()
        .filter(|c| {
            key_of(&c.place) == key && !matches!(c.state, CopyState::Retired | CopyState::Missing)
        })
        .collect();
    copies.sort_by_cached_key(|c| (slot_order(&c.place), c.copy_id.clone()));
    let mut buf = Vec::new();
    buf.extend_from_slice("\u{FEFF}".as_bytes());
    {
        let mut w = csv::Writer::from_writer(&mut buf);
        w.write_record(HEADER).map_err(csv_io)?;
        for c in &copies {
            w.write_record([
                c.copy_id.as_str(),
                &c.barcode,
                c.rfid.as_deref().unwrap_or(""),
                &label,
                &c.place.shelf,
                &c.place.slot,
            ])
            .map_err(csv_io)?;
        }
        w.flush().map_err(|e| Error::Io {
            path: "slot map".into(),
            source: e,
        })?;
    }
    out.write_all(&buf).map_err(|e| Error::Io {
        path: "slot map".into(),
        source: e,
    })?;
    Ok(SlotMap {
        cabinet: label,
        cabinet_path: format!("{}/{}/{}", key.0, key.1, key.2),
        copies: copies.len() as u64,
    })
}

fn csv_io(e: csv::Error) -> Error {
    Error::Io {
        path: "slot map".into(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// A disc the cabinet reports where the catalog does not expect it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Misplaced {
    pub copy_id: String,
    pub barcode: String,
    pub cabinet: String,
    /// Empty when the file has no shelf column.
    pub shelf: String,
    pub slot: String,
    /// Where the catalog had it.
    pub expected: String,
}

/// A disc the catalog expects in a reported cabinet that the cabinet did not report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Absent {
    pub copy_id: String,
    pub barcode: String,
    pub cabinet: String,
    pub shelf: String,
    pub slot: String,
}

/// The result of reconciling a cabinet's inventory with the catalog.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Reconciliation {
    pub cabinets: Vec<String>,
    pub rows: u64,
    pub matched: u64,
    pub found_unexpected: Vec<Misplaced>,
    /// Copies the catalog expects in a reported cabinet that the inventory did not see: marked
    /// missing when applied (no longer trusted).
    pub missing: Vec<Absent>,
    /// Copies marked missing that the inventory saw: written again when applied (trusted once
    /// read back).
    #[serde(default)]
    pub found_again: Vec<String>,
    /// False when the file had no shelf column (the older five-column form).
    #[serde(default)]
    pub shelves: bool,
    /// True when the reported places were written to the catalog.
    pub applied: bool,
}

impl Reconciliation {
    /// Whether the inventory agrees with the catalog.
    pub fn agrees(&self) -> bool {
        self.found_unexpected.is_empty() && self.missing.is_empty() && self.found_again.is_empty()
    }
}

#[derive(Debug, Deserialize)]
struct Row {
    #[serde(default)]
    copy_id: String,
    #[serde(default)]
    barcode: String,
    #[serde(default)]
    rfid: String,
    #[serde(default)]
    cabinet: String,
    #[serde(default)]
    shelf: String,
    #[serde(default)]
    slot: String,
}

/// One good row: the copy, and where the cabinet saw it.
struct Seen<'a> {
    copy: &'a DiscCopy,
    cabinet: CabinetKey,
    shelf: Option<String>,
    slot: String,
}

/// Reads a cabinet's inventory and compares it with the catalog. With `apply`, the copies found
/// elsewhere are moved to where the cabinet saw them, the copies it did not see are marked
/// missing, and missing copies it saw are written again. A file with any bad row is refused
/// whole: every bad row is named, and nothing is applied.
pub fn import(vault: &Vault, path: &Path, apply: bool) -> Result<Reconciliation> {
    let bytes = std::fs::read(path).at(path)?;
    import_of(vault, path, &bytes, apply)
}

/// [`import`] of an inventory already read (a request's body); `name` stands for the file in
/// errors.
pub fn import_of(vault: &Vault, name: &Path, bytes: &[u8], apply: bool) -> Result<Reconciliation> {
    let path = name;
    let (mut rdr, names) = crate::csvfile::reader_of(
        path,
        bytes,
        &["barcode", "cabinet", "slot"],
        &HEADER.join(","),
    )?;
    let shelves = names.iter().any(|n| n == "shelf");
    let copies = vault.catalog.copies(None)?;
    let cabinets = Cabinets::of(&copies);
    let by_barcode: BTreeMap<&str, &DiscCopy> =
        copies.iter().map(|c| (c.barcode.as_str(), c)).collect();
    let mut errors = Vec::new();
    let mut seen_slots: BTreeMap<(CabinetKey, String, String), usize> = BTreeMap::new();
    let mut seen_copies: BTreeMap<String, usize> = BTreeMap::new();
    let mut rows: Vec<Seen> = Vec::new();
    let header = csv::StringRecord::from(names.clone());
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("line {line}: {e}"));
                continue;
            }
        };
        // Excel leaves lines of empty cells below a table.
        if rec.iter().all(|f| f.is_empty()) {
            continue;
        }
        let row: Row = match rec.deserialize(Some(&header)) {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let copy = by_barcode.get(row.barcode.as_str()).copied();
        if copy.is_none() {
            errors.push(format!("line {line}: unknown barcode {:?}", row.barcode));
        }
        if let Some(copy) = copy {
            if !row.copy_id.is_empty() && row.copy_id != copy.copy_id {
                errors.push(format!(
                    "line {line}: barcode {} belongs to copy {}, not {}",
                    row.barcode, copy.copy_id, row.copy_id
                ));
            }
            if !row.rfid.is_empty() {
                match normalize_rfid(&row.rfid) {
                    Err(e) => errors.push(format!("line {line}: {e}")),
                    Ok(r) if copy.rfid.as_deref() != Some(r.as_str()) => errors.push(format!(
                        "line {line}: RFID {r} is not the tag of copy {} ({})",
                        copy.copy_id,
                        copy.rfid.as_deref().unwrap_or("none recorded")
                    )),
                    Ok(_) => {}
                }
            }
        }
        let cabinet = match cabinets.find(&row.cabinet) {
            Ok(k) => Some(k),
            Err(e) => {
                errors.push(format!("line {line}: {e}"));
                None
            }
        };
        let slot = match row.slot.parse::<u64>() {
            Ok(n) if n >= 1 => Some(n.to_string()),
            _ => {
                errors.push(format!(
                    "line {line}: slot {:?} is not a slot number (1, 2, 3 ...)",
                    row.slot
                ));
                None
            }
        };
        let shelf = shelves.then(|| canonical_number(&row.shelf));
        if let Some(s) = shelf.as_deref().filter(|s| s.contains('/')) {
            errors.push(format!("line {line}: shelf {s:?} holds a '/'"));
        }
        if let Some(copy) = copy {
            if let Some(first) = seen_copies.insert(copy.copy_id.clone(), line) {
                errors.push(format!(
                    "line {line}: copy {} is already listed on line {first}",
                    copy.copy_id
                ));
            }
        }
        let (Some(copy), Some(cabinet), Some(slot)) = (copy, cabinet, slot) else {
            continue;
        };
        let at = (
            cabinet.clone(),
            shelf.clone().unwrap_or_default(),
            slot.clone(),
        );
        if let Some(first) = seen_slots.insert(at, line) {
            errors.push(if shelves {
                format!(
                    "line {line}: cabinet {} shelf {} slot {slot} is already taken on line {first}",
                    row.cabinet.trim(),
                    shelf.as_deref().filter(|s| !s.is_empty()).unwrap_or("(none)")
                )
            } else {
                format!(
                    "line {line}: cabinet {} slot {slot} is already taken on line {first} (without a shelf column a slot number names one slot of the cabinet; the header with shelves is {})",
                    row.cabinet.trim(),
                    HEADER.join(",")
                )
            });
        }
        rows.push(Seen {
            copy,
            cabinet,
            shelf,
            slot,
        });
    }
    if !errors.is_empty() {
        return Err(Error::BadRows {
            path: path.to_path_buf(),
            errors,
        });
    }
    let reported: BTreeSet<CabinetKey> = rows.iter().map(|r| r.cabinet.clone()).collect();
    let mut rec = Reconciliation {
        cabinets: reported.iter().map(|k| cabinets.label(k)).collect(),
        rows: rows.len() as u64,
        shelves,
        ..Default::default()
    };
    let listed: BTreeSet<&str> = rows.iter().map(|r| r.copy.copy_id.as_str()).collect();
    let mut changes = Vec::new();
    for r in &rows {
        let copy = r.copy;
        let label = cabinets.label(&r.cabinet);
        let same_cabinet = key_of(&copy.place) == r.cabinet;
        let same_slot = same_cabinet
            && canonical_number(&copy.place.slot) == r.slot
            && r.shelf
                .as_ref()
                .is_none_or(|s| canonical_number(&copy.place.shelf) == *s);
        let found_again = copy.state == CopyState::Missing;
        if same_slot {
            rec.matched += 1;
        } else {
            rec.found_unexpected.push(Misplaced {
                copy_id: copy.copy_id.clone(),
                barcode: copy.barcode.clone(),
                cabinet: label.clone(),
                shelf: r.shelf.clone().unwrap_or_default(),
                slot: r.slot.clone(),
                expected: copy.place.to_string(),
            });
        }
        if found_again {
            rec.found_again.push(copy.copy_id.clone());
        }
        if same_slot && !found_again {
            continue;
        }
        let mut c = copy.clone();
        if !same_slot {
            c.place = Place {
                site: r.cabinet.0.clone(),
                room: r.cabinet.1.clone(),
                cabinet: r.cabinet.2.clone(),
                shelf: r.shelf.clone().unwrap_or_default(),
                slot: r.slot.clone(),
            };
        }
        if found_again {
            c.state = CopyState::Written;
        }
        let detail = format!(
            "copy {} seen by the cabinet inventory at {}{}",
            copy.copy_id,
            c.place,
            match (same_slot, found_again) {
                (true, _) => ", where the catalog has it; it was missing: to be read back".into(),
                (false, false) => format!(" (catalog had {})", copy.place),
                (false, true) => format!(" (catalog had {}, missing): to be read back", copy.place),
            }
        );
        changes.push(CopyChange {
            copy: c,
            event_type: "transfer",
            outcome: "success",
            detail,
        });
    }
    for c in &copies {
        if reported.contains(&key_of(&c.place))
            && !listed.contains(c.copy_id.as_str())
            && c.state != CopyState::Retired
        {
            rec.missing.push(Absent {
                copy_id: c.copy_id.clone(),
                barcode: c.barcode.clone(),
                cabinet: cabinets.label(&key_of(&c.place)),
                shelf: c.place.shelf.clone(),
                slot: c.place.slot.clone(),
            });
            if c.state != CopyState::Missing {
                let mut m = c.clone();
                m.state = CopyState::Missing;
                changes.push(CopyChange {
                    detail: format!(
                        "copy {} not seen by the cabinet inventory of {} (expected at {}, was {}): marked missing",
                        c.copy_id,
                        cabinets.label(&key_of(&c.place)),
                        c.place,
                        c.state.as_str()
                    ),
                    copy: m,
                    event_type: "metadata modification",
                    outcome: "warning",
                });
            }
        }
    }
    if apply {
        vault.catalog.update_copies(&changes)?;
        rec.applied = true;
    }
    Ok(rec)
}
