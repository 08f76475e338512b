//! Disc quality figures from testers (CD BLER, DVD PI8/PIF, BD symbol error rate and burst
//! length), imported per copy from CSV and graded with the configured thresholds.

use crate::error::IoContext;
use crate::model::{CopyChange, DiscCopy};
use crate::{Error, Result, Vault};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Grades from best to worst.
pub const GRADES: [&str; 3] = ["good", "watch", "act_now"];

/// Grades one value of a metric: `good`, `watch` (act within a year) or `act_now`.
pub fn grade(vault: &Vault, metric: &str, value: f64) -> Result<&'static str> {
    let t = vault
        .config
        .quality
        .thresholds
        .get(metric)
        .ok_or_else(|| Error::Invalid {
            field: "metric".into(),
            detail: format!(
                "{metric:?} has no thresholds (known: {})",
                vault
                    .config
                    .quality
                    .thresholds
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })?;
    Ok(if t.act_now.is_some_and(|x| value >= x) {
        "act_now"
    } else if t.watch.is_some_and(|x| value >= x) {
        "watch"
    } else {
        "good"
    })
}

/// The columns of a quality CSV.
pub const HEADER: [&str; 4] = ["copy", "measured_at", "metric", "value"];

/// One measurement of a file being imported, graded.
struct Measured {
    copy: DiscCopy,
    at: i64,
    metric: String,
    value: f64,
    grade: &'static str,
}

#[derive(Debug, Deserialize)]
struct Row {
    copy: String,
    measured_at: String,
    metric: String,
    value: String,
}

/// One copy's result of an import.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Graded {
    pub copy_id: String,
    pub measurements: u64,
    /// The worst grade of its latest measurements.
    pub grade: String,
    pub previous_grade: String,
}

/// Imports measurements (`copy,measured_at,metric,value`; copy by id, barcode or RFID), from
/// UTF-8 (with or without BOM) or GBK text ([`crate::csvfile`]). A file with any bad row is
/// refused whole, every bad row named.
pub fn import(vault: &Vault, path: &Path) -> Result<Vec<Graded>> {
    let bytes = std::fs::read(path).at(path)?;
    import_of(vault, path, &bytes)
}

/// [`import`] of measurements already read (a request's body); `name` stands for the file in
/// errors.
pub fn import_of(vault: &Vault, name: &Path, bytes: &[u8]) -> Result<Vec<Graded>> {
    let path = name;
    let (mut rdr, _) = crate::csvfile::reader_of(path, bytes, &HEADER, &HEADER.join(","))?;
    let mut errors = Vec::new();
    let mut rows: Vec<Measured> = Vec::new();
    for (i, rec) in rdr.deserialize::<Row>().enumerate() {
        let line = i + 2;
        let r = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let copy = match vault.catalog.copy(&r.copy) {
            Ok(c) => Some(c),
            Err(_) => {
                errors.push(format!("line {line}: unknown copy {:?}", r.copy));
                None
            }
        };
        let at = crate::parse_date(&r.measured_at).ok();
        if at.is_none() {
            errors.push(format!(
                "line {line}: measured_at {:?} is not a date (YYYY-MM-DD)",
                r.measured_at
            ));
        }
        let value = r
            .value
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0);
        if value.is_none() {
            errors.push(format!("line {line}: value {:?} is not a number", r.value));
        }
        let metric = r.metric.to_ascii_lowercase();
        let g = match value.map(|v| grade(vault, &metric, v)) {
            Some(Ok(g)) => Some(g),
            Some(Err(e)) => {
                errors.push(format!("line {line}: {e}"));
                None
            }
            None => None,
        };
        if let (Some(c), Some(at), Some(v), Some(g)) = (copy, at, value, g) {
            rows.push(Measured {
                copy: c,
                at,
                metric,
                value: v,
                grade: g,
            });
        }
    }
    if !errors.is_empty() {
        return Err(Error::BadRows {
            path: path.to_path_buf(),
            errors,
        });
    }
    // Per copy: the worst grade among its latest measurement of each metric.
    let mut by_copy: std::collections::BTreeMap<String, Vec<&Measured>> = Default::default();
    for r in &rows {
        by_copy.entry(r.copy.copy_id.clone()).or_default().push(r);
    }
    let mut out = Vec::new();
    let mut changes = Vec::new();
    for (copy_id, list) in by_copy {
        let mut latest: std::collections::BTreeMap<&str, (i64, &str)> = Default::default();
        for r in &list {
            let e = latest.entry(r.metric.as_str()).or_insert((r.at, r.grade));
            if r.at >= e.0 {
                *e = (r.at, r.grade);
            }
        }
        let worst = latest
            .values()
            .map(|(_, g)| *g)
            .max_by_key(|g| GRADES.iter().position(|x| x == g))
            .unwrap_or("good");
        let when = latest.values().map(|(t, _)| *t).max().unwrap_or(0);
        let mut c = list[0].copy.clone();
        let previous = c.grade.clone();
        c.grade = worst.to_string();
        c.graded_at = Some(when);
        let detail = format!(
            "copy {copy_id}: {} quality measurements graded {worst} ({})",
            list.len(),
            latest
                .iter()
                .map(|(m, (_, g))| format!("{m} {g}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        changes.push(CopyChange {
            copy: c,
            event_type: "validation",
            outcome: if worst == "good" {
                "success"
            } else {
                "warning"
            },
            detail,
        });
        out.push(Graded {
            copy_id,
            measurements: list.len() as u64,
            grade: worst.to_string(),
            previous_grade: previous,
        });
    }
    let records: Vec<(i64, i64, String, f64, String)> = rows
        .iter()
        .map(|r| {
            (
                r.copy.id,
                r.at,
                r.metric.clone(),
                r.value,
                r.grade.to_string(),
            )
        })
        .collect();
    vault.catalog.record_quality(&records, &changes)?;
    Ok(out)
}
