//! What the hot-folder publishers share: following a job (how long it is stuck, the device's
//! percentage), paths as the publisher's PC sees them, publisher job ids, label merge fields.

use super::*;

/// How a hot-folder job is followed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Follow {
    pub(super) poll: Duration,
    /// Stop following a job paused (or not taken) this long; it stays open for a rerun.
    pub(super) give_up: Option<Duration>,
}

/// Counts how long a job has been stuck, and says so once per reason.
pub(super) struct Stuck {
    pub(super) since: Option<Instant>,
    pub(super) said: String,
}

impl Stuck {
    pub(super) fn new() -> Stuck {
        Stuck {
            since: None,
            said: String::new(),
        }
    }

    /// The job is stuck for `why`: an error once it has been so for longer than allowed.
    pub(super) fn check(
        &mut self,
        follow: &Follow,
        target: &str,
        job: &str,
        why: &str,
        progress: &dyn Progress,
    ) -> Result<()> {
        let since = *self.since.get_or_insert_with(Instant::now);
        if self.said != why {
            progress.note(&crate::progress::Message::PublisherSays {
                job: job.to_string(),
                detail: why.to_string(),
            });
            self.said = why.to_string();
        }
        if let Some(limit) = follow.give_up {
            if since.elapsed() > limit {
                return Err(Error::Publisher {
                    target: target.to_string(),
                    job: job.to_string(),
                    detail: format!(
                        "{why} for {} s; the job stays open: rerun `discvault publish` to follow it again",
                        since.elapsed().as_secs()
                    ),
                });
            }
        }
        Ok(())
    }
}

/// Asked to stop (a task cancelled, the server stopping): stops following `job`, which stays
/// open on the publisher for a rerun to follow again.
pub(super) fn stop_asked(progress: &dyn Progress, target: &str, job: &str) -> Result<()> {
    if progress.cancelled() {
        return Err(Error::Cancelled(format!(
            "publishing to {target}: stopped following job {job}, which stays open: rerun `discvault publish` to follow it again, or cancel it"
        )));
    }
    Ok(())
}

impl Stuck {
    pub(super) fn moving(&mut self) {
        self.since = None;
        self.said.clear();
    }
}

/// Reports a device percentage as a share of the image's bytes.
pub(super) struct Percent {
    pub(super) last: u64,
    pub(super) total: u64,
}

impl Percent {
    pub(super) fn to(&mut self, pct: i64, progress: &dyn Progress) {
        let now = self.total * pct.clamp(0, 100) as u64 / 100;
        if now > self.last {
            progress.advance(0, now - self.last);
            self.last = now;
        }
    }
}

pub(super) fn pub_err(target: &str, job: &str, e: discpublisher::Error) -> Error {
    Error::Publisher {
        target: target.to_string(),
        job: job.to_string(),
        detail: e.to_string(),
    }
}

/// A path as the publisher's PC sees it: `LOCAL=REMOTE` maps a prefix (Windows separators
/// after a remote prefix with a drive letter or a backslash).
pub(super) fn map_path(map: &str, p: &Path) -> String {
    if let Some((local, remote)) = map.split_once('=') {
        if let Ok(rest) = p.strip_prefix(local.trim()) {
            let windows = remote.contains('\\') || remote.get(1..2) == Some(":");
            let sep = if windows { '\\' } else { '/' };
            let mut r = remote.trim().trim_end_matches(['\\', '/']).to_string();
            for c in rest.components() {
                r.push(sep);
                r.push_str(&c.as_os_str().to_string_lossy());
            }
            return r;
        }
    }
    p.display().to_string()
}

/// The publisher job id of one disc: `<job>-<copy>-<attempt>` (TD Bridge: at most 40 of
/// `[A-Za-z0-9_-]`).
pub(super) fn disc_job_id(req: &BurnRequest) -> String {
    let id: String = format!("{}-{}-{}", req.job_id, req.copy.copy_id, req.attempt)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    id.chars()
        .rev()
        .take(40)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

/// The merge fields of a copy's label: the label's own fields plus its barcode and QR payload.
pub(super) fn merge_fields(vault: &Vault, copy: &DiscCopy) -> Result<Vec<(String, String)>> {
    let d = crate::label::label_data(vault, &copy.copy_id)?;
    let mut f: Vec<(String, String)> = d
        .fields
        .into_iter()
        .filter(|(k, _)| !k.starts_with("outer_") && !k.starts_with("inner_"))
        .collect();
    f.push(("barcode".into(), d.barcode));
    f.push(("qr".into(), d.qr));
    Ok(f)
}

pub(super) fn jobs_dir(vault: &Vault) -> Result<PathBuf> {
    let d = vault.root.join("spool").join("jobs");
    std::fs::create_dir_all(&d).at(&d)?;
    Ok(d)
}

/// TD Bridge's `FORMAT=` for a volume: the file systems it was planned with (Epson writes its
/// own UDF 1.02 bridge, or ISO 9660 with Joliet), so that the disc is what its README and
/// volume.json say.
pub(super) fn tdbridge_format(volume: &crate::model::Volume) -> &'static str {
    if volume.has_udf() {
        "UDF102_BRIDGE"
    } else {
        "JOLIET"
    }
}

pub(super) fn disc_type(media: &str) -> &'static str {
    match media {
        m if m.starts_with("cd") => "CD",
        "dvd9" => "DVD-DL",
        m if m.starts_with("dvd") => "DVD",
        "bd25" => "BD",
        m if m.starts_with("bd") => "BD-DL",
        _ => "DVD",
    }
}
