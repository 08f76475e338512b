//! `xorriso:DEVICE[,DEVICE...]`: drives through xorriso/libburn (`stdio:FILE` pseudo drives in
//! tests); a person, when there is one, changes discs through an [`Operator`](super::Operator).

use super::*;

pub(super) struct XorrisoPublisher<'a> {
    pub(super) devices: Vec<String>,
    pub(super) next: usize,
    pub(super) used: Vec<bool>,
    /// Who changes discs; without one, each drive takes one disc per run.
    pub(super) operator: Option<&'a dyn Operator>,
}

/// What xorriso says of the medium in a drive.
pub(super) fn media_status(dev: &str) -> Result<String> {
    let out = Command::new("xorriso")
        .args(["-outdev", dev, "-toc"])
        .stdin(Stdio::null())
        .output()
        .at("xorriso")?;
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    text.lines()
        .find_map(|l| {
            l.strip_prefix("Media status :")
                .map(|s| s.trim().to_string())
        })
        .ok_or_else(|| Error::Source {
            source_name: dev.to_string(),
            detail: format!(
                "no disc, or the drive cannot be opened: {}",
                text.lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
            ),
        })
}

pub(super) fn drive_path(dev: &str) -> PathBuf {
    PathBuf::from(dev.strip_prefix("stdio:").unwrap_or(dev))
}

impl XorrisoPublisher<'_> {
    /// A drive with a blank disc in it, asking the operator for one when there is one.
    pub(super) fn blank_drive(&mut self, vault_hint: &str) -> Result<String> {
        loop {
            // Each drive takes one disc per run unless a person can change discs.
            let k = self.next % self.devices.len();
            let dev = self.devices[k].clone();
            if self.used[k] {
                let Some(op) = self.operator else {
                    return Err(Error::Source {
                        source_name: dev,
                        detail: "holds the disc just burned; give more drives, or run on a terminal to be asked for the next disc".into(),
                    });
                };
                op.ask(&format!("{vault_hint}: put a blank disc into {dev}"))?;
                self.used[k] = false;
            }
            let status = media_status(&dev)?;
            if status.starts_with("is blank") {
                self.used[k] = true;
                self.next = k + 1;
                return Ok(dev);
            }
            let holds = crate::source::open_image(&drive_path(&dev))
                .ok()
                .and_then(|mut s| crate::source::volume_id(&mut s).ok());
            let detail = format!(
                "the disc is not blank ({status}{}); insert a blank disc",
                holds.map(|h| format!(", holds {h}")).unwrap_or_default()
            );
            let Some(op) = self.operator else {
                return Err(Error::Source {
                    source_name: dev,
                    detail,
                });
            };
            op.ask(&format!("{dev}: {detail}"))?;
        }
    }
}

impl Publisher for XorrisoPublisher<'_> {
    fn start(
        &mut self,
        _vault: &Vault,
        req: &BurnRequest,
        progress: &dyn Progress,
    ) -> Result<String> {
        let dev = self.blank_drive(&req.copy.copy_id)?;
        let mut child = Command::new("xorriso")
            .args(["-as", "cdrecord", "-v"])
            .arg(format!("dev={dev}"))
            .arg(req.image)
            .stdin(Stdio::null())
            // Not read: a full pipe would stop xorriso mid-burn. Its messages are on stderr.
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .at("xorriso")?;
        // "xorriso : UPDATE : 12 of 130 MB written" lines give the progress.
        let mut last_mb = 0u64;
        let mut tail = Vec::new();
        if let Some(err) = child.stderr.take() {
            // Every byte is drained (a line that is not UTF-8 is read lossily, not a reason to
            // stop reading while xorriso writes on).
            for line in std::io::BufReader::new(err).split(b'\n') {
                let line = String::from_utf8_lossy(&line.at("xorriso")?).into_owned();
                if let Some((done, _)) = line
                    .split_once(" of ")
                    .and_then(|(a, b)| Some((a.split_whitespace().last()?.parse::<u64>().ok()?, b)))
                {
                    if done > last_mb {
                        progress.advance(0, (done - last_mb) << 20);
                        last_mb = done;
                    }
                }
                tail.push(line);
                if tail.len() > 20 {
                    tail.remove(0);
                }
            }
        }
        let status = child.wait().at("xorriso")?;
        if !status.success() {
            return Err(Error::Source {
                source_name: dev,
                detail: format!(
                    "burning {} failed ({status}): {}",
                    req.volume.volume_id,
                    tail.join(" | ")
                ),
            });
        }
        Ok(dev)
    }

    fn finish(
        &mut self,
        _vault: &Vault,
        handle: &str,
        _total: u64,
        _p: &dyn Progress,
    ) -> Result<Burned> {
        Ok(Burned::Readable(drive_path(handle)))
    }

    fn rejected(&self, handle: &str, copy: &DiscCopy, _kind: RejectKind) -> Disposition {
        Disposition {
            place: format!("drive {handle}"),
            label: "unlabelled".into(),
            action: format!(
                "take the disc out of {handle} and destroy it: it is not a good disc of copy {}",
                copy.copy_id
            ),
        }
    }
}
