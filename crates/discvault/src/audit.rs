//! The audit trail for readers outside discvault: every event of the catalog's hash chain as
//! PREMIS 3.0 (`discvault log export --premis`).

use crate::{Result, Vault};

/// The audit trail as PREMIS 3.0 XML: one representation object for the vault (named by its
/// folder) and one per volume, then every event in the order of the chain, with its agents
/// and the objects it concerns.
pub fn premis(vault: &Vault) -> Result<String> {
    let events = vault.catalog.event_records()?;
    let volumes: Vec<String> = vault
        .catalog
        .volumes()?
        .into_iter()
        .map(|v| v.volume_id)
        .collect();
    Ok(crate::catalog::events::premis_xml(
        &vault.root.display().to_string(),
        &volumes,
        &events,
    ))
}
