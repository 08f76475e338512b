//! `discvault policy`: the preservation policy in force, set in the catalog or reset.

use super::Ctx;
use crate::cli::PolicyCmd;
use crate::output::print_json;
use anyhow::Result;
use discvault::config::CollectionPolicy;
use discvault::policy::{PolicySource, PolicyView};

pub fn policy(ctx: &Ctx, cmd: &PolicyCmd) -> Result<i32> {
    let v = ctx.open()?;
    let view = match cmd {
        PolicyCmd::Show => discvault::policy::show(&v)?,
        PolicyCmd::Reset => discvault::policy::reset(&v)?,
        PolicyCmd::Set {
            min_copies,
            min_sites,
            collection,
            general,
        } => {
            if min_copies.is_none() && min_sites.is_none() && !general {
                anyhow::bail!("give --min-copies, --min-sites, or --collection NAME --general");
            }
            discvault::policy::change(&v, |p| {
                match collection {
                    Some(name) if *general => {
                        if p.collections.remove(name).is_none() {
                            return Err(discvault::Error::NotFound(format!(
                                "collection {name:?} has no rule of its own"
                            )));
                        }
                    }
                    Some(name) => {
                        let was = p
                            .collections
                            .get(name)
                            .copied()
                            .unwrap_or(CollectionPolicy {
                                min_trusted_copies: p.min_trusted_copies,
                                min_sites: p.min_sites,
                            });
                        p.collections.insert(
                            name.clone(),
                            CollectionPolicy {
                                min_trusted_copies: min_copies.unwrap_or(was.min_trusted_copies),
                                min_sites: min_sites.unwrap_or(was.min_sites),
                            },
                        );
                    }
                    None => {
                        p.min_trusted_copies = min_copies.unwrap_or(p.min_trusted_copies);
                        p.min_sites = min_sites.unwrap_or(p.min_sites);
                    }
                }
                Ok(())
            })?
        }
    };
    if ctx.json {
        print_json(&view)?;
    } else {
        print_view(&view);
    }
    Ok(0)
}

fn print_view(view: &PolicyView) {
    let p = &view.policy;
    println!(
        "{} trusted copies of each volume, in {} sites ({})",
        p.min_trusted_copies,
        p.min_sites,
        match view.source {
            PolicySource::Catalog => "set in the catalog, for every station",
            PolicySource::Config => "from discvault.toml",
        }
    );
    for (name, c) in &p.collections {
        println!(
            "  {name}: {} trusted copies in {} sites",
            c.min_trusted_copies, c.min_sites
        );
    }
}
