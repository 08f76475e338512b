//! `tdbridge:FOLDER`: Epson TD Bridge's monitoring folder (one `.JDF` per disc with the
//! volume's files and the label's merge data; followed through its renamed states and
//! `TDBStatus.txt`).

use super::*;

pub(super) struct TdBridgePublisher {
    pub(super) target: String,
    pub(super) folder: PathBuf,
    pub(super) cfg: TdBridgeSection,
    pub(super) cp: CodePage,
    pub(super) follow: Follow,
}

impl TdBridgePublisher {
    fn status_path(&self) -> PathBuf {
        if self.cfg.status_file.is_empty() {
            self.folder.join("TDBStatus.txt")
        } else {
            PathBuf::from(&self.cfg.status_file)
        }
    }

    /// Where finished discs can be read as image files: the configured `stacker_dir`, else
    /// the simulator's stacker when there is one.
    fn stacker_dir(&self) -> Option<PathBuf> {
        if self.cfg.stacker_dir.is_empty() {
            let sim = self.folder.join("Simulator").join("Stacker");
            sim.is_dir().then_some(sim)
        } else {
            Some(PathBuf::from(&self.cfg.stacker_dir))
        }
    }

    /// The finished disc as an image file, where discs can be read so (`None`: the disc left
    /// the robot for a person to read back). A stacker folder that cannot be read is an error.
    fn stacked_disc(&self, id: &str) -> Result<Option<PathBuf>> {
        let Some(dir) = self.stacker_dir() else {
            return Ok(None);
        };
        let prefix = format!("{id}-");
        let mut found: Option<(std::time::SystemTime, PathBuf)> = None;
        for e in std::fs::read_dir(&dir).at(&dir)? {
            let p = e.at(&dir)?.path();
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if n.starts_with(&prefix)
                && n.ends_with(".iso")
                && n[prefix.len()..n.len() - 4]
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            {
                let t = std::fs::metadata(&p).and_then(|m| m.modified()).at(&p)?;
                if found.as_ref().is_none_or(|(f, _)| t >= *f) {
                    found = Some((t, p));
                }
            }
        }
        Ok(found.map(|(_, p)| p))
    }

    /// The output stacker discs go to, as a person finds it.
    fn out_stacker(&self) -> String {
        if self.cfg.out_stacker > 0 {
            format!("出料仓 output stacker {}", self.cfg.out_stacker)
        } else {
            "出料仓 TD Bridge's output stacker".into()
        }
    }
}

/// The local path of a file named as a publisher's PC sees it (`LOCAL=REMOTE` mapped back), when
/// this PC can see it: `None` for a path on the publisher's PC only.
pub(super) fn local_path(map: &str, remote: &str) -> Option<PathBuf> {
    if let Some((local, prefix)) = map.split_once('=') {
        let prefix = prefix.trim().trim_end_matches(['\\', '/']);
        if !prefix.is_empty() && remote.len() > prefix.len() {
            let (head, rest) = remote.split_at(prefix.len());
            if head.eq_ignore_ascii_case(prefix) && rest.starts_with(['\\', '/']) {
                let mut p = PathBuf::from(local.trim());
                for part in rest.split(['\\', '/']).filter(|c| !c.is_empty()) {
                    p.push(part);
                }
                return Some(p);
            }
        }
    }
    let p = Path::new(remote);
    p.is_absolute().then(|| p.to_path_buf())
}

impl Publisher for TdBridgePublisher {
    fn prepare(
        &mut self,
        vault: &Vault,
        volume: &Volume,
        image: &Path,
        progress: &dyn Progress,
    ) -> Result<()> {
        spool_tree(vault, volume, image, progress).map(|_| ())
    }

    fn preflight(&self, vault: &Vault) -> Result<()> {
        let t = &self.cfg.label_template;
        if !t.is_empty() {
            if let Some(local) = local_path(&self.cfg.path_map, t) {
                if !local.is_file() {
                    return Err(config_error(
                        vault,
                        format!(
                            "publish.tdbridge.label_template = {t:?}: no such label file ({}); nothing was burned: design the label in Total Disc Maker and save it there, or set label_template = \"\" for unprinted discs",
                            local.display()
                        ),
                    ));
                }
            }
        }
        let d = &self.cfg.stacker_dir;
        if !d.is_empty() && !Path::new(d).is_dir() {
            return Err(config_error(
                vault,
                format!(
                    "publish.tdbridge.stacker_dir = {d:?}: no such folder; nothing was burned (set it to \"\" when discs cannot be read back as image files)"
                ),
            ));
        }
        Ok(())
    }

    fn rejected(&self, handle: &str, copy: &DiscCopy, kind: RejectKind) -> Disposition {
        match kind {
            RejectKind::AtPublisher => {
                let sim = self.folder.join("Simulator").join("Reject");
                Disposition {
                    place: if sim.is_dir() {
                        format!("TD Bridge's error discs ({})", sim.display())
                    } else {
                        "where TD Bridge puts the discs it failed (see Total Disc Monitor)".into()
                    },
                    label: format!("TD Bridge job {handle}, not printed"),
                    action: format!(
                        "destroy the disc of TD Bridge job {handle}: TD Bridge failed it, it holds no copy"
                    ),
                }
            }
            RejectKind::ReadBack => {
                let place = self.out_stacker();
                let label = if self.cfg.label_template.is_empty() {
                    format!("not printed; TD Bridge job {handle}")
                } else {
                    format!(
                        "printed as copy {} (barcode {}); TD Bridge job {handle}",
                        copy.copy_id, copy.barcode
                    )
                };
                Disposition {
                    action: format!(
                        "discard the disc of TD Bridge job {handle} in {place}: its read-back found damage; it {} but is not that copy",
                        if self.cfg.label_template.is_empty() {
                            "looks like the good disc of the copy".to_string()
                        } else {
                            format!("carries the label of copy {}", copy.copy_id)
                        }
                    ),
                    place,
                    label,
                }
            }
        }
    }

    fn start(
        &mut self,
        vault: &Vault,
        req: &BurnRequest,
        progress: &dyn Progress,
    ) -> Result<String> {
        let id = disc_job_id(req);
        let tree = spool_tree(vault, req.volume, req.image, progress)?;
        let map = |p: &Path| map_path(&self.cfg.path_map, p);
        let (label, replace_field) = if self.cfg.label_template.is_empty() {
            (None, None)
        } else {
            let merge = jobs_dir(vault)?.join(format!("{id}.dat"));
            let lines = tdbridge::merge_lines(&merge_fields(vault, req.copy)?);
            let bytes = self
                .cp
                .encode(&merge.display().to_string(), &discpublisher::crlf(&lines))
                .map_err(|e| pub_err(&self.target, &id, e))?;
            discpublisher::write_atomic(&merge, &bytes)
                .map_err(|e| pub_err(&self.target, &id, e))?;
            (Some(self.cfg.label_template.clone()), Some(map(&merge)))
        };
        let jdf = tdbridge::Jdf {
            job_id: id.clone(),
            publisher: (!self.cfg.publisher.is_empty()).then(|| self.cfg.publisher.clone()),
            copies: 1,
            out_stacker: (self.cfg.out_stacker > 0).then_some(self.cfg.out_stacker),
            disc_type: if self.cfg.disc_type.is_empty() {
                disc_type(&req.volume.media).to_string()
            } else {
                self.cfg.disc_type.clone()
            },
            format: if self.cfg.format.is_empty() {
                tdbridge_format(req.volume).to_string()
            } else {
                self.cfg.format.clone()
            },
            data: vec![(map(&tree), None)],
            volume_label: Some(req.volume.volume_id.clone()),
            label,
            replace_field,
            priority_high: false,
            extra: self
                .cfg
                .extra
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        tdbridge::submit(&self.folder, &jdf, self.cp).map_err(|e| pub_err(&self.target, &id, e))?;
        Ok(id)
    }

    fn finish(
        &mut self,
        _vault: &Vault,
        id: &str,
        total: u64,
        progress: &dyn Progress,
    ) -> Result<Burned> {
        let err = |e| pub_err(&self.target, id, e);
        let mut stuck = Stuck::new();
        let mut pct = Percent { last: 0, total };
        loop {
            let file = tdbridge::job_file(&self.folder, id).map_err(err)?;
            let status = tdbridge::read_status(&self.status_path(), self.cp).map_err(err)?;
            let js = match &status {
                Some(s) => s.job(id).map_err(err)?,
                None => None,
            };
            match file.map(|f| f.0) {
                None => {
                    return Err(Error::Publisher {
                        target: self.target.clone(),
                        job: id.to_string(),
                        detail: format!(
                            "the job file {id}.JDF (or its renamed states) is gone from {}",
                            self.folder.display()
                        ),
                    })
                }
                Some(tdbridge::JobFile::Done | tdbridge::JobFile::Error) => {
                    let Some(js) = js else {
                        return Err(Error::Publisher {
                            target: self.target.clone(),
                            job: id.to_string(),
                            detail: format!(
                                "finished, but {} does not tell how: read the disc back with `discvault verify DRIVE --copy COPY`",
                                self.status_path().display()
                            ),
                        });
                    };
                    if js.completion >= 1 {
                        return Ok(match self.stacked_disc(id)? {
                            Some(p) => Burned::Readable(p),
                            None => Burned::Away(self.out_stacker()),
                        });
                    }
                    if js.status == tdbridge::job_status::NOT_ACCEPTED && js.error_discs <= 0 {
                        return Ok(Burned::Refused(format!(
                            "TD Bridge did not accept the job {id} (nothing was burned): {}",
                            js.error
                        )));
                    }
                    if js.status == tdbridge::job_status::COMPLETED && js.error_discs <= 0 {
                        return Ok(Burned::Cancelled(format!(
                            "cancelled at TD Bridge{}",
                            if js.error.is_empty() {
                                String::new()
                            } else {
                                format!(": {}", js.error)
                            }
                        )));
                    }
                    return Ok(Burned::DiscFailed(format!(
                        "TD Bridge: {} disc(s) failed (status {}): {}",
                        js.error_discs.max(0),
                        js.status,
                        js.error
                    )));
                }
                Some(tdbridge::JobFile::Paused) => {
                    let why = js
                        .map(|j| j.error)
                        .filter(|e| !e.is_empty())
                        .unwrap_or_else(|| "paused".into());
                    stuck.check(
                        &self.follow,
                        &self.target,
                        id,
                        &format!("paused at the publisher: {why}"),
                        progress,
                    )?;
                }
                Some(tdbridge::JobFile::Submitted) => {
                    stuck.check(
                        &self.follow,
                        &self.target,
                        id,
                        "waiting for TD Bridge to take the job",
                        progress,
                    )?;
                }
                Some(tdbridge::JobFile::Received | tdbridge::JobFile::InProgress) => {
                    stuck.moving();
                    if let Some(s) = &status {
                        if let Some(p) = s.drive_progress().map_err(err)? {
                            pct.to(p, progress);
                        }
                    }
                }
            }
            stop_asked(progress, &self.target, id)?;
            std::thread::sleep(self.follow.poll);
        }
    }

    fn cancel(&mut self, id: &str) -> Result<()> {
        tdbridge::cancel(&self.folder, id, self.cp).map_err(|e| pub_err(&self.target, id, e))?;
        Ok(())
    }
}
