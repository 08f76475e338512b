//! The preservation policy in force: how many trusted copies each mastered volume needs and in
//! how many sites, generally and per collection. Kept in the catalog once set there (from the
//! CLI, the API or the web UI), so that every station of a shared catalog follows the same
//! one; until then each station follows the `[policy]` of its `discvault.toml`.

use crate::catalog::PolicyWrite;
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

/// The policy stored in the catalog (its JSON), checked.
fn parse(json: &str) -> Result<PolicySection> {
    let bad = |detail: String| Error::CatalogData {
        what: "catalog_settings.policy".into(),
        detail,
    };
    let policy: PolicySection = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
    policy.check().map_err(bad)?;
    Ok(policy)
}

/// The policy in force and where it comes from.
pub fn show(vault: &Vault) -> Result<PolicyView> {
    match vault.catalog.stored_policy()? {
        Some(json) => Ok(PolicyView {
            policy: parse(&json)?,
            source: PolicySource::Catalog,
        }),
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

/// Changes the policy in force and keeps it in the catalog, for every station: `edit` gets
/// the policy in force, read in the same write transaction (the catalog's, or this station's
/// file's when the catalog holds none), and changes it. The result is checked (1 to 99
/// copies, no more sites than copies; the error names the key); an event says what changed.
pub fn change(
    vault: &Vault,
    edit: impl FnOnce(&mut PolicySection) -> Result<()>,
) -> Result<PolicyView> {
    let mut edit = Some(edit);
    vault.catalog.update_policy(&mut |stored| {
        let before = match &stored {
            Some(json) => parse(json)?,
            None => vault.config.policy.clone(),
        };
        let mut after = before.clone();
        if let Some(edit) = edit.take() {
            edit(&mut after)?;
        }
        after.check().map_err(|detail| Error::Invalid {
            field: "policy".into(),
            detail,
        })?;
        let json = serde_json::to_string(&after).map_err(|e| Error::Invalid {
            field: "policy".into(),
            detail: e.to_string(),
        })?;
        Ok(Some(PolicyWrite {
            json: Some(json),
            detail: format!(
                "preservation policy set in the catalog: {}",
                changes(&before, &after)
            ),
        }))
    })?;
    show(vault)
}

/// Sets the whole policy in the catalog (see [`change`]).
pub fn set(vault: &Vault, policy: &PolicySection) -> Result<PolicyView> {
    change(vault, |p| {
        *p = policy.clone();
        Ok(())
    })
}

/// Removes the catalog's policy: each station follows its `discvault.toml` again. When the
/// catalog holds none, nothing is written (no event either).
pub fn reset(vault: &Vault) -> Result<PolicyView> {
    vault.catalog.update_policy(&mut |stored| {
        let Some(json) = stored else {
            return Ok(None);
        };
        let before = parse(&json)?;
        Ok(Some(PolicyWrite {
            json: None,
            detail: format!(
                "preservation policy removed from the catalog; each station's discvault.toml again: {}",
                changes(&before, &vault.config.policy)
            ),
        }))
    })?;
    show(vault)
}
