//! The catalog's own integrity: the database file, its references, and the invariants every
//! stage keeps (`discvault check`). A crash at any point must leave none of these broken.

use super::{db, Catalog};
use crate::Result;

pub use crate::model::check::Check;

/// The invariants, each a query listing what breaks it.
const INVARIANTS: &[(&str, &str)] = &[
    (
        "a mastered volume has its image's sha256 and size",
        "SELECT volume_id FROM volumes WHERE state = 'mastered' AND (image_sha256 IS NULL OR image_bytes <= 0) ORDER BY id",
    ),
    (
        "a data volume holds records",
        "SELECT v.volume_id FROM volumes v WHERE v.kind = 'data'
         AND NOT EXISTS (SELECT 1 FROM volume_contents vc WHERE vc.volume = v.id) ORDER BY v.id",
    ),
    (
        "a plan has the volumes it was recorded with",
        "SELECT 'plan ' || p.id FROM plans p
         WHERE p.volume_count <> (SELECT COUNT(*) FROM volumes v WHERE v.plan_id = p.id) ORDER BY p.id",
    ),
    (
        "a verified copy has the event of its check",
        "SELECT k.copy_id FROM copies k WHERE k.state = 'verified' AND (k.verified_at IS NULL
         OR NOT EXISTS (SELECT 1 FROM events e WHERE e.copy = k.id AND e.event_type = 'fixity check' AND e.outcome = 'success'))
         ORDER BY k.id",
    ),
    (
        "a publishing job has its copies",
        "SELECT j.job_id FROM jobs j WHERE NOT EXISTS (SELECT 1 FROM job_copies jc WHERE jc.job = j.id) ORDER BY j.id",
    ),
    (
        "a record has at most one current version",
        "SELECT c.name || '/' || f.path FROM files f JOIN collections c ON c.id = f.collection_id
         WHERE f.current = 1 GROUP BY f.collection_id, f.path_raw, c.name, f.path HAVING COUNT(*) > 1",
    ),
    (
        "a cabinet slot holds one disc",
        "SELECT site || '/' || room || '/' || cabinet || '/' || shelf || '/' || slot FROM copies
         WHERE slot <> '' AND state NOT IN ('missing', 'retired')
         GROUP BY site, room, cabinet, shelf, slot HAVING COUNT(*) > 1",
    ),
    (
        "a part of a file lies within the file",
        "SELECT v.volume_id || ': ' || f.path FROM volume_contents vc JOIN files f ON f.id = vc.file_id
         JOIN volumes v ON v.id = vc.volume WHERE vc.part_offset + vc.length > f.size",
    ),
];

impl Catalog {
    /// Runs every check: SQLite's integrity and foreign keys, the event chain, the invariants.
    pub fn check(&self) -> Result<Vec<Check>> {
        let mut out = Vec::new();
        let sqlite = |pragma: &str| -> Result<Vec<String>> {
            self.scoped(|| {
                let rows = db::query(pragma).fetch_all(&self.db)?;
                Ok(rows.iter().map(|r| r.text()).collect())
            })
        };
        if self.dialect == super::Dialect::Sqlite {
            let integrity: Vec<String> = sqlite("PRAGMA integrity_check")?
                .into_iter()
                .filter(|r| r != "ok")
                .collect();
            out.push(Check {
                name: "the database file is intact (SQLite integrity_check)".into(),
                problems: integrity,
            });
            out.push(Check {
                name: "every reference points at a row (SQLite foreign_key_check)".into(),
                problems: sqlite("PRAGMA foreign_key_check")?,
            });
        }
        let chain = self.verify_chain()?;
        out.push(Check {
            name: "the audit trail's hash chain is intact".into(),
            problems: chain.problems,
        });
        out.push(Check {
            name: "the file totals (status) equal a recount of the files".into(),
            problems: self.totals_problems()?,
        });
        for (name, q) in INVARIANTS {
            let problems = self.scoped(|| {
                let rows = db::query(q).fetch_all(&self.db)?;
                rows.iter()
                    .map(|r| r.try_get::<String, _>(0))
                    .collect::<Result<Vec<_>>>()
            })?;
            out.push(Check {
                name: name.to_string(),
                problems,
            });
        }
        Ok(out)
    }
}
