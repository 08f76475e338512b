//! The preservation policy in force: how many trusted copies each mastered volume needs and in
//! how many sites, generally and per collection. Kept in the catalog once set there (from the
//! CLI, the API or the web UI), so that every station of a shared catalog follows the same
//! one; until then each station follows the `[policy]` of its `discvault.toml`.

use crate::config::PolicySection;
use crate::{Error, Result, Vault};
use serde::{Deserialize, Serialize};

/// Where the policy in force comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PolicySource {
    /// Set in the catalog: the same on every station.
    Catalog,
    /// The `[policy]` of this station's `discvault.toml`.
    Config,
}

/// The policy in force and where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyView {
    pub policy: PolicySection,
    pub source: PolicySource,
}

/// The policy in force.
pub fn effective(vault: &Vault) -> Result<PolicySection> {
    Ok(show(vault)?.policy)
}

/// The policy in force and where it comes from.
pub fn show(vault: &Vault) -> Result<PolicyView> {
    match vault.catalog.stored_policy()? {
        Some(json) => {
            let bad = |detail: String| Error::CatalogData {
                what: "catalog_settings.policy".into(),
                detail,
            };
            let policy: PolicySection =
                serde_json::from_str(&json).map_err(|e| bad(e.to_string()))?;
            policy.check().map_err(bad)?;
            Ok(PolicyView {
                policy,
                source: PolicySource::Catalog,
            })
        }
        None => Ok(PolicyView {
            policy: vault.config.policy.clone(),
            source: PolicySource::Config,
        }),
    }
}

/// What changed from one policy to another, in words (the event's detail).
fn changes(from: &PolicySection, to: &PolicySection) -> String {
    let mut said = Vec::new();
    let pair = |said: &mut Vec<String>, what: String, a: u32, b: u32| {
        if a != b {
            said.push(format!("{what} {a} -> {b}"));
        }
    };
    pair(
        &mut said,
        "min_trusted_copies".into(),
        from.min_trusted_copies,
        to.min_trusted_copies,
    );
    pair(&mut said, "min_sites".into(), from.min_sites, to.min_sites);
    let names: std::collections::BTreeSet<&String> = from
        .collections
        .keys()
        .chain(to.collections.keys())
        .collect();
    for n in names {
        match (from.collections.get(n), to.collections.get(n)) {
            (Some(a), Some(b)) => {
                pair(
                    &mut said,
                    format!("{n}: min_trusted_copies"),
                    a.min_trusted_copies,
                    b.min_trusted_copies,
                );
                pair(
                    &mut said,
                    format!("{n}: min_sites"),
                    a.min_sites,
                    b.min_sites,
                );
            }
            (None, Some(b)) => said.push(format!(
                "{n}: {} trusted copies in {} sites (new)",
                b.min_trusted_copies, b.min_sites
            )),
            (Some(_), None) => said.push(format!("{n}: the general rule again")),
            (None, None) => {}
        }
    }
    if said.is_empty() {
        "unchanged".into()
    } else {
        said.join("; ")
    }
}

/// Sets the policy in the catalog, for every station; an event says what changed.
pub fn set(vault: &Vault, policy: &PolicySection) -> Result<PolicyView> {
    policy.check().map_err(|detail| Error::Invalid {
        field: "policy".into(),
        detail,
    })?;
    let before = effective(vault)?;
    let json = serde_json::to_string(policy).map_err(|e| Error::Invalid {
        field: "policy".into(),
        detail: e.to_string(),
    })?;
    vault.catalog.store_policy(
        Some(&json),
        &format!(
            "preservation policy set in the catalog: {}",
            changes(&before, policy)
        ),
    )?;
    show(vault)
}

/// Removes the catalog's policy: each station follows its `discvault.toml` again.
pub fn reset(vault: &Vault) -> Result<PolicyView> {
    let before = effective(vault)?;
    vault.catalog.store_policy(
        None,
        &format!(
            "preservation policy removed from the catalog; each station's discvault.toml again: {}",
            changes(&before, &vault.config.policy)
        ),
    )?;
    show(vault)
}
