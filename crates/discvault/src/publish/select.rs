//! What a run of `publish` takes up: copies to replace, the volumes named, the open jobs on the
//! target, or the volumes short of the policy, each with why; or why there is nothing to do.

use super::*;

/// Roles of the copies to make: the given ones, or the configured set, cut or repeated (with
/// `access`) to the count.
pub(super) fn roles_for(vault: &Vault, opts: &PublishOptions) -> Vec<String> {
    let mut roles = if opts.roles.is_empty() {
        vault.config.copies.roles.clone()
    } else {
        opts.roles.clone()
    };
    if let Some(n) = opts.copies {
        roles.resize(n as usize, "access".into());
    }
    roles
}

/// What is done for one volume.
pub(super) enum Work {
    Resume(Job),
    New(Vec<String>),
    Replace(Vec<DiscCopy>),
}

/// The open job of a volume on a target.
pub(super) fn open_job_on(vault: &Vault, volume_id: &str, target: &str) -> Result<Option<Job>> {
    Ok(vault
        .catalog
        .open_jobs(volume_id)?
        .into_iter()
        .find(|j| j.target == target))
}

pub(super) fn mastered(vault: &Vault, volume_id: &str) -> Result<Volume> {
    let volume = vault.catalog.volume(volume_id)?;
    if volume.state != VolumeState::Mastered {
        return Err(Error::Volume {
            volume: volume.volume_id.clone(),
            detail: "not mastered yet: run `discvault master` first".into(),
        });
    }
    Ok(volume)
}

/// The copies `--replace` names, by volume, each checked: not retired, not in an open job.
pub(super) fn replacements(
    vault: &Vault,
    opts: &PublishOptions,
    target: &str,
) -> Result<Vec<(Volume, Work, String)>> {
    if opts.copies.is_some() || !opts.roles.is_empty() {
        return Err(Error::Invalid {
            field: "--replace".into(),
            detail: "burns the copies named again; --copies and --roles make new copies: give one or the other".into(),
        });
    }
    let open: Vec<Job> = vault
        .catalog
        .jobs()?
        .into_iter()
        .filter(|j| j.state == "open")
        .collect();
    let mut by_volume: Vec<(Volume, Vec<DiscCopy>)> = Vec::new();
    for key in &opts.replace {
        let key = key.trim();
        let short = key.len() >= 2
            && key.starts_with(['C', 'c'])
            && key[1..].bytes().all(|b| b.is_ascii_digit());
        let copy = match (&opts.volumes[..], short) {
            ([v], true) => vault.catalog.copy(&format!("{v}-{}", key.to_ascii_uppercase()))?,
            (_, true) => {
                return Err(Error::Invalid {
                    field: "--replace".into(),
                    detail: format!(
                        "{key:?}: name the volume (`publish VOLUME --replace {key}`) or give the whole copy id"
                    ),
                })
            }
            _ => vault.catalog.copy(key)?,
        };
        if !opts.volumes.is_empty() && !opts.volumes.contains(&copy.volume_id) {
            return Err(Error::Invalid {
                field: "--replace".into(),
                detail: format!(
                    "copy {} is a copy of {}, which is not among the volumes named",
                    copy.copy_id, copy.volume_id
                ),
            });
        }
        if copy.state == CopyState::Retired {
            return Err(Error::Invalid {
                field: "--replace".into(),
                detail: format!(
                    "copy {} is retired; publish a new copy of {} instead",
                    copy.copy_id, copy.volume_id
                ),
            });
        }
        if let Some(j) = open.iter().find(|j| {
            j.copies.iter().any(|c| {
                c.copy_id == copy.copy_id
                    && !matches!(
                        c.state,
                        JobCopyState::Done | JobCopyState::Failed | JobCopyState::Cancelled
                    )
            })
        }) {
            return Err(Error::Invalid {
                field: "--replace".into(),
                detail: format!(
                    "copy {} is in the open job {} on {}: finish it (`discvault publish --to {}`) or cancel it (`discvault jobs --cancel {}`)",
                    copy.copy_id, j.job_id, j.target, j.target, j.job_id
                ),
            });
        }
        match by_volume
            .iter_mut()
            .find(|(v, _)| v.volume_id == copy.volume_id)
        {
            Some((_, cs)) => {
                if !cs.iter().any(|c| c.copy_id == copy.copy_id) {
                    cs.push(copy)
                }
            }
            None => by_volume.push((mastered(vault, &copy.volume_id)?, vec![copy])),
        }
    }
    let mut out = Vec::new();
    for (volume, copies) in by_volume {
        if let Some(j) = open_job_on(vault, &volume.volume_id, target)? {
            return Err(Error::Invalid {
                field: "--replace".into(),
                detail: format!(
                    "{} has the open job {} on {target}: finish it first (`discvault publish --to {target}`) or cancel it",
                    volume.volume_id, j.job_id
                ),
            });
        }
        let reason = format!(
            "replacement disc{} of {}",
            if copies.len() > 1 { "s" } else { "" },
            copies
                .iter()
                .map(|c| format!("copy {} ({}, {})", c.copy_id, c.state.as_str(), c.place))
                .collect::<Vec<_>>()
                .join(", ")
        );
        out.push((volume, Work::Replace(copies), reason));
    }
    Ok(out)
}

/// The roles a volume lacks: the configured roles not held by its copies that count (or will,
/// once inspected), then `access`, to `lacking` copies.
pub(super) fn lacking_roles(vault: &Vault, holding: &[&DiscCopy], lacking: usize) -> Vec<String> {
    let mut roles = vault.config.copies.roles.clone();
    for c in holding {
        if let Some(k) = roles.iter().position(|r| *r == c.role) {
            roles.remove(k);
        }
    }
    roles.truncate(lacking);
    roles.resize(lacking, "access".into());
    roles
}

/// Volumes short of trusted copies under the policy (as `status` counts them), with the copies
/// each lacks; volumes publishing cannot help are named in `report.not_published`.
pub(super) fn short_of_policy(
    vault: &Vault,
    report: &mut PublishReport,
) -> Result<Vec<(Volume, Work, String)>> {
    let now = crate::now_unix();
    let open: Vec<Job> = vault
        .catalog
        .jobs()?
        .into_iter()
        .filter(|j| j.state == "open")
        .collect();
    let mut out = Vec::new();
    for s in crate::status::status(vault)?.shortfalls {
        let why = s.problems.join("; ");
        let skip = |reason: String| VolumeReason {
            volume_id: s.volume_id.clone(),
            reason,
        };
        if s.trusted_copies >= s.required_copies as u64 {
            report.not_published.push(skip(format!(
                "{why}: more discs do not change the sites; move a trusted copy to another site (`discvault copies move`)"
            )));
            continue;
        }
        if let Some(j) = open.iter().find(|j| j.volume_id == s.volume_id) {
            report.not_published.push(skip(format!(
                "{why}; its open job {} on {} will add copies: run `discvault publish --to {}`",
                j.job_id, j.target, j.target
            )));
            continue;
        }
        let copies = vault.catalog.copies(Some(&s.volume_id))?;
        let trusted: Vec<&DiscCopy> = copies
            .iter()
            .filter(|c| crate::copies::trusted(vault, c, now))
            .collect();
        // Copies past their inspection but otherwise sound count again once read back.
        let overdue: Vec<&DiscCopy> = copies
            .iter()
            .filter(|c| {
                crate::inspect::active(c)
                    && c.grade != "act_now"
                    && !crate::copies::trusted(vault, c, now)
            })
            .collect();
        let lacking = (s.required_copies as usize).saturating_sub(trusted.len() + overdue.len());
        let overdue_text = if overdue.is_empty() {
            String::new()
        } else {
            format!(
                "; {} overdue for inspection (verify {} before burning more)",
                overdue
                    .iter()
                    .map(|c| c.copy_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                if overdue.len() > 1 { "them" } else { "it" }
            )
        };
        if lacking == 0 {
            report
                .not_published
                .push(skip(format!("{why}{overdue_text}")));
            continue;
        }
        let holding: Vec<&DiscCopy> = trusted.iter().chain(overdue.iter()).copied().collect();
        let roles = lacking_roles(vault, &holding, lacking);
        let reason = format!(
            "{why} (policy): {} new cop{} ({}){overdue_text}",
            roles.len(),
            if roles.len() > 1 { "ies" } else { "y" },
            roles.join(", ")
        );
        out.push((mastered(vault, &s.volume_id)?, Work::New(roles), reason));
    }
    Ok(out)
}

/// What to publish: the copies `--replace` names; else the volumes named (their open job on
/// the target resumed, or a new one); else the open jobs on the target and the volumes short of
/// the policy that no open job will fill.
pub(super) fn select(
    vault: &Vault,
    opts: &PublishOptions,
    target: &str,
    report: &mut PublishReport,
) -> Result<Vec<(Volume, Work, String)>> {
    if !opts.replace.is_empty() {
        return replacements(vault, opts, target);
    }
    let explicit = opts.copies.is_some() || !opts.roles.is_empty();
    if !opts.volumes.is_empty() {
        let mut out = Vec::new();
        for v in &opts.volumes {
            let volume = mastered(vault, v)?;
            match open_job_on(vault, v, target)? {
                Some(job) => {
                    let roles: Vec<String> = job.copies.iter().map(|c| c.role.clone()).collect();
                    if explicit && roles != roles_for(vault, opts) {
                        return Err(Error::Invalid {
                            field: "--copies/--roles".into(),
                            detail: format!(
                                "{v} has the open job {} on {target} for copies {}: rerun without --copies and --roles to resume it, or cancel it (`discvault jobs --cancel {}`)",
                                job.job_id,
                                roles.join(","),
                                job.job_id
                            ),
                        });
                    }
                    let reason = format!("its open job {} on {target} resumed", job.job_id);
                    out.push((volume, Work::Resume(job), reason));
                }
                None => {
                    let roles = roles_for(vault, opts);
                    let reason = format!("named: new copies ({})", roles.join(", "));
                    out.push((volume, Work::New(roles), reason));
                }
            }
        }
        return Ok(out);
    }
    if explicit {
        return Err(Error::Invalid {
            field: "--copies/--roles".into(),
            detail: "name the volumes they are for; without volumes, publish resumes the open jobs on the target or makes the copies the policy lacks".into(),
        });
    }
    let mut out = Vec::new();
    for job in vault.catalog.jobs()? {
        if job.state == "open" && job.target == target {
            let volume = mastered(vault, &job.volume_id)?;
            let reason = format!("its open job {} on {target} resumed", job.job_id);
            out.push((volume, Work::Resume(job), reason));
        }
    }
    // Then the volumes short of the policy that have no open job: a run interrupted between
    // volumes is finished by running it again (the resumed jobs are not "left" for later).
    let resumed: Vec<String> = out.iter().map(|(v, _, _)| v.volume_id.clone()).collect();
    out.extend(short_of_policy(vault, report)?);
    report
        .not_published
        .retain(|v| !resumed.contains(&v.volume_id));
    if out.is_empty() {
        let p = &crate::policy::effective(vault)?;
        report.nothing_to_do = Some(format!(
            "nothing to publish: no open job on {target}, and no mastered volume lacks trusted copies under the policy (min_trusted_copies = {}{}){}",
            p.min_trusted_copies,
            if p.collections.is_empty() { "" } else { ", more for some collections" },
            if report.not_published.is_empty() {
                String::new()
            } else {
                format!(
                    "; short of the policy in ways new discs do not fix: {} (see not_published)",
                    report
                        .not_published
                        .iter()
                        .map(|v| v.volume_id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ));
    }
    Ok(out)
}
