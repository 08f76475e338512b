//! Disc cabinets: the slot map as CSV (`copy_id,barcode,rfid,cabinet,slot`), exported for a
//! smart cabinet and imported from its inventory, reconciled against the catalog.

use crate::catalog::copies::{normalize_rfid, CopyChange, CopyState, DiscCopy};
use crate::error::IoContext;
use crate::{Error, Result, Vault};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

pub const HEADER: [&str; 5] = ["copy_id", "barcode", "rfid", "cabinet", "slot"];

/// Writes the slot map of one cabinet (every copy the catalog places there), by slot.
pub fn export(vault: &Vault, cabinet: &str, out: &mut dyn std::io::Write) -> Result<usize> {
    let mut copies: Vec<DiscCopy> = vault
        .catalog
        .copies(None)?
        .into_iter()
        .filter(|c| c.place.cabinet == cabinet && c.state != CopyState::Retired)
        .collect();
    copies.sort_by_key(|c| {
        (
            c.place.slot.parse::<u64>().unwrap_or(u64::MAX),
            c.place.slot.clone(),
        )
    });
    let mut w = csv::Writer::from_writer(out);
    w.write_record(HEADER).map_err(csv_io)?;
    for c in &copies {
        w.write_record([
            c.copy_id.as_str(),
            &c.barcode,
            c.rfid.as_deref().unwrap_or(""),
            &c.place.cabinet,
            &c.place.slot,
        ])
        .map_err(csv_io)?;
    }
    w.flush().map_err(|e| Error::Io {
        path: "slot map".into(),
        source: e,
    })?;
    Ok(copies.len())
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
    pub slot: String,
}

/// The result of reconciling a cabinet's inventory with the catalog.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Reconciliation {
    pub cabinets: Vec<String>,
    pub rows: u64,
    pub matched: u64,
    pub found_unexpected: Vec<Misplaced>,
    pub missing: Vec<Absent>,
    /// True when the reported places were written to the catalog.
    pub applied: bool,
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
    slot: String,
}

/// Reads a cabinet's inventory and compares it with the catalog. With `apply`, the copies found
/// elsewhere are moved to where the cabinet saw them. A file with any bad row is refused whole:
/// every bad row is named, and nothing is applied.
pub fn import(vault: &Vault, path: &Path, apply: bool) -> Result<Reconciliation> {
    let text = std::fs::read(path).at(path)?;
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_slice());
    let headers = rdr.headers().map_err(|e| Error::BadRows {
        path: path.to_path_buf(),
        errors: vec![format!("header: {e}")],
    })?;
    let names: Vec<String> = headers.iter().map(|h| h.to_ascii_lowercase()).collect();
    for need in ["barcode", "cabinet", "slot"] {
        if !names.iter().any(|n| n == need) {
            return Err(Error::BadRows {
                path: path.to_path_buf(),
                errors: vec![format!(
                    "line 1: no {need:?} column (expected {})",
                    HEADER.join(",")
                )],
            });
        }
    }
    rdr.set_headers(csv::StringRecord::from(names));
    let copies = vault.catalog.copies(None)?;
    let by_barcode: BTreeMap<&str, &DiscCopy> =
        copies.iter().map(|c| (c.barcode.as_str(), c)).collect();
    let mut errors = Vec::new();
    let mut seen_slots: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut seen_copies: BTreeMap<String, usize> = BTreeMap::new();
    let mut rows: Vec<(&DiscCopy, String, String)> = Vec::new();
    for (i, rec) in rdr.deserialize::<Row>().enumerate() {
        let line = i + 2;
        let row = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let Some(&copy) = by_barcode.get(row.barcode.as_str()) else {
            errors.push(format!("line {line}: unknown barcode {:?}", row.barcode));
            continue;
        };
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
        if row.cabinet.is_empty() {
            errors.push(format!("line {line}: empty cabinet"));
        }
        match row.slot.parse::<u64>() {
            Ok(n) if n >= 1 => {}
            _ => errors.push(format!(
                "line {line}: slot {:?} is not a slot number (1, 2, 3 ...)",
                row.slot
            )),
        }
        if let Some(first) = seen_slots.insert((row.cabinet.clone(), row.slot.clone()), line) {
            errors.push(format!(
                "line {line}: cabinet {} slot {} is already taken on line {first}",
                row.cabinet, row.slot
            ));
        }
        if let Some(first) = seen_copies.insert(copy.copy_id.clone(), line) {
            errors.push(format!(
                "line {line}: copy {} is already listed on line {first}",
                copy.copy_id
            ));
        }
        rows.push((copy, row.cabinet, row.slot));
    }
    if !errors.is_empty() {
        return Err(Error::BadRows {
            path: path.to_path_buf(),
            errors,
        });
    }
    let cabinets: BTreeSet<String> = rows.iter().map(|r| r.1.clone()).collect();
    let mut rec = Reconciliation {
        cabinets: cabinets.iter().cloned().collect(),
        rows: rows.len() as u64,
        ..Default::default()
    };
    let listed: BTreeSet<&str> = rows.iter().map(|r| r.0.copy_id.as_str()).collect();
    let mut moves = Vec::new();
    for (copy, cabinet, slot) in &rows {
        if copy.place.cabinet == *cabinet && copy.place.slot == *slot {
            rec.matched += 1;
            continue;
        }
        rec.found_unexpected.push(Misplaced {
            copy_id: copy.copy_id.clone(),
            barcode: copy.barcode.clone(),
            cabinet: cabinet.clone(),
            slot: slot.clone(),
            expected: copy.place.to_string(),
        });
        let mut moved = (*copy).clone();
        // Site and room of a cabinet are those of the copies already in it.
        if let Some(other) = copies.iter().find(|c| c.place.cabinet == *cabinet) {
            moved.place.site = other.place.site.clone();
            moved.place.room = other.place.room.clone();
        }
        moved.place.cabinet = cabinet.clone();
        moved.place.shelf = String::new();
        moved.place.slot = slot.clone();
        let detail = format!(
            "copy {} found by cabinet inventory in {cabinet} slot {slot} (catalog had {})",
            copy.copy_id, copy.place
        );
        moves.push(CopyChange {
            copy: moved,
            event_type: "transfer",
            outcome: "success",
            detail,
        });
    }
    for c in &copies {
        if cabinets.contains(&c.place.cabinet)
            && !listed.contains(c.copy_id.as_str())
            && c.state != CopyState::Retired
        {
            rec.missing.push(Absent {
                copy_id: c.copy_id.clone(),
                barcode: c.barcode.clone(),
                cabinet: c.place.cabinet.clone(),
                slot: c.place.slot.clone(),
            });
        }
    }
    if apply {
        vault.catalog.update_copies(&moves)?;
        rec.applied = true;
    }
    Ok(rec)
}
