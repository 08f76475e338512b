//! Which volume a disc is: from its own volume record (else its label), refused when it is a
//! disc of another vault or of a volume this catalog does not know.

use crate::model::Volume;
use crate::source::{self, DiscSource};
use crate::{Result, Vault};

/// Finds which catalog volume a source holds: from its volume record, else its label. A disc
/// of another vault, or of a volume this catalog does not know, is
/// [`crate::Error::ForeignDisc`].
pub fn identify(vault: &Vault, src: &mut dyn DiscSource) -> Result<Volume> {
    let said = source::identity(src);
    resolve(vault, &src.name(), said, src.label())
}

/// The catalog volume of a disc that says `said` about itself (its label as a fallback when its
/// volume record cannot be read): refused when the disc belongs to another vault.
pub(crate) fn resolve(
    vault: &Vault,
    source_name: &str,
    said: Result<source::DiscIdentity>,
    label: Option<String>,
) -> Result<Volume> {
    let d = match said {
        Ok(d) => d,
        Err(first) => {
            return match label {
                Some(label) if vault.catalog.volume(&label).is_ok() => vault.catalog.volume(&label),
                _ => Err(first),
            }
        }
    };
    let foreign = |detail: String| crate::Error::ForeignDisc {
        source_name: source_name.to_string(),
        volume_id: d.volume_id.clone(),
        detail,
    };
    if let Some(other) = d.vault_id.as_deref().filter(|&o| o != vault.id) {
        return Err(foreign(format!(
            "disc {} was written by another vault (vault id {other}; this vault at {} is {})",
            d.volume_id,
            vault.root.display(),
            vault.id
        )));
    }
    let volume = match vault.catalog.volume(&d.volume_id) {
        Ok(v) => v,
        Err(crate::Error::UnknownVolume(_)) => {
            return Err(foreign(format!(
                "disc {} is not a volume of the vault at {}",
                d.volume_id,
                vault.root.display()
            )))
        }
        Err(e) => return Err(e),
    };
    if d.vault_id.is_none() {
        // A disc older than vault identities: its planning facts must be this volume's.
        let created = crate::rfc3339(volume.created_at);
        if d.plan_id.is_some_and(|p| p != volume.plan_id)
            || d.created_at.as_deref().is_some_and(|c| c != created)
        {
            return Err(foreign(format!(
                "disc {} (plan {}, planned {}) is not the volume {} of the vault at {} (plan {}, planned {created}): a disc of another vault",
                d.volume_id,
                d.plan_id.unwrap_or_default(),
                d.created_at.as_deref().unwrap_or("?"),
                volume.volume_id,
                vault.root.display(),
                volume.plan_id
            )));
        }
    } else if volume.format_version < crate::format::VAULT_ID_SINCE {
        return Err(foreign(format!(
            "disc {} carries a vault id, but this vault's {} was planned without one: not this vault's disc",
            d.volume_id, volume.volume_id
        )));
    }
    Ok(volume)
}
