//! The orchestration: what chains stages, so that stages do not call each other. Verify, then,
//! for every damaged volume, the repair outlook (whether the sources verified can repair it).

use crate::error::IoContext;
use crate::progress::Progress;
use crate::verify::{self, RepairOutlook, VerifyOptions, VerifyReport};
use crate::{Result, Vault};
use std::collections::BTreeMap;

/// Verifies every source ([`verify::verify`]: a fixity-check event per volume); a damaged
/// volume's report says whether the sources verified can repair it.
pub fn verify(
    vault: &Vault,
    sources: &[std::path::PathBuf],
    opts: &VerifyOptions,
    progress: &dyn Progress,
) -> Result<Vec<VerifyReport>> {
    let mut out = verify::verify(vault, sources, opts, progress)?;
    repair_outlooks(vault, sources, &mut out, opts, progress)?;
    Ok(out)
}

/// Works out, for every damaged volume among `reports`, whether the sources verified can
/// repair it ([`crate::repair::analyse`]: reads them again, in a temporary folder).
fn repair_outlooks(
    vault: &Vault,
    sources: &[std::path::PathBuf],
    reports: &mut [VerifyReport],
    opts: &VerifyOptions,
    progress: &dyn Progress,
) -> Result<()> {
    let mut done: BTreeMap<String, RepairOutlook> = BTreeMap::new();
    for r in 0..reports.len() {
        if reports[r].clean || reports[r].volume_id.is_empty() {
            continue;
        }
        let vid = reports[r].volume_id.clone();
        if let Some(o) = done.get(&vid) {
            reports[r].repair = Some(o.clone());
            continue;
        }
        let volume = vault.catalog.volume(&vid)?;
        let parity = vault.catalog.parity_of(&volume)?;
        let mut group: Vec<String> = vec![vid.clone()];
        group.extend(parity.iter().map(|p| p.volume_id.clone()));
        if let Some(p) = parity.first() {
            group.extend(
                vault
                    .catalog
                    .parity_members(p)?
                    .into_iter()
                    .map(|m| m.volume_id),
            );
        }
        let usable: Vec<std::path::PathBuf> = sources
            .iter()
            .zip(reports.iter())
            .filter(|(s, rep)| !s.is_dir() && group.contains(&rep.volume_id))
            .map(|(s, _)| s.clone())
            .collect();
        let names: Vec<String> = usable.iter().map(|s| s.display().to_string()).collect();
        let outlook = if volume.kind == crate::model::VolumeKind::Parity {
            RepairOutlook::not_tried(
                Vec::new(),
                "a parity volume is mastered again from its members' images".into(),
            )
        } else if usable.is_empty() {
            RepairOutlook::not_tried(
                Vec::new(),
                "repair reads the disc itself (an image or a drive), not a mounted folder".into(),
            )
        } else {
            let tmp = tempfile::tempdir().at(std::env::temp_dir())?;
            let ro = crate::repair::RepairOptions {
                sources: usable.clone(),
                volume: Some(vid.clone()),
                to: tmp.path().to_path_buf(),
                retries: opts.scan.retries,
            };
            match crate::repair::analyse(vault, &ro, progress) {
                Ok(a) => RepairOutlook {
                    repairable: a.repairable,
                    sources: names,
                    from_parity: a.from_parity,
                    lost: a.lost,
                    detail: None,
                },
                Err(e) => RepairOutlook::not_tried(names, e.to_string()),
            }
        };
        reports[r].repair = Some(outlook.clone());
        done.insert(vid, outlook);
    }
    Ok(())
}
