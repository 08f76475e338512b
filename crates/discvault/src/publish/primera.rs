//! `ptburn:FOLDER`: Primera PTBurn's job folder (one `.JRQ` per disc with the image and the
//! rendered label; `LoadUnloadOverride` holds the disc in the robot's drive so that discvault
//! reads it back before the robot prints and stacks it, or rejects it).

use super::*;

pub(super) struct PtBurnPublisher {
    pub(super) target: String,
    pub(super) folder: PathBuf,
    pub(super) cfg: PtBurnSection,
    pub(super) cp: CodePage,
    pub(super) follow: Follow,
    /// Disc id (`X` of `LoadDiscStateX`) of each job's held disc.
    pub(super) held: std::collections::BTreeMap<String, u32>,
}

impl PtBurnPublisher {
    fn status_dir(&self) -> PathBuf {
        if self.cfg.status_dir.is_empty() {
            self.folder.join("Status")
        } else {
            PathBuf::from(&self.cfg.status_dir)
        }
    }

    /// Where this PC reads the robot's drive `letter`.
    fn drive(&self, id: &str, letter: &str) -> Result<PathBuf> {
        let l = letter.trim_end_matches([':', '\\']);
        if let Some(d) = self.cfg.drives.get(l) {
            return Ok(drive_path(d));
        }
        let sim = self.folder.join("Simulator").join("Drives").join(l);
        if sim.exists() {
            return Ok(sim);
        }
        Err(Error::Publisher {
            target: self.target.clone(),
            job: id.to_string(),
            detail: format!(
                "the robot holds the disc in its drive {l}:, which this PC does not know: map it in [publish.ptburn.drives], e.g. {l} = \"/dev/sr1\""
            ),
        })
    }

    fn send(&self, id: &str, msg: &ptburn::Message) -> Result<()> {
        let t0 = Instant::now();
        loop {
            if ptburn::send(&self.folder, id, msg, self.cp)
                .map_err(|e| pub_err(&self.target, id, e))?
            {
                return Ok(());
            }
            if t0.elapsed() > Duration::from_secs(120) {
                return Err(Error::Publisher {
                    target: self.target.clone(),
                    job: id.to_string(),
                    detail: "PTBurn has not taken the previous message for 120 s".into(),
                });
            }
            std::thread::sleep(self.follow.poll);
        }
    }
}

impl Publisher for PtBurnPublisher {
    fn preflight(&self, vault: &Vault) -> Result<()> {
        let d = &self.cfg.status_dir;
        if !d.is_empty() && !Path::new(d).is_dir() {
            return Err(config_error(
                vault,
                format!("publish.ptburn.status_dir = {d:?}: no such folder; nothing was burned"),
            ));
        }
        Ok(())
    }

    fn rejected(&self, handle: &str, _copy: &DiscCopy, kind: RejectKind) -> Disposition {
        let sim = self.folder.join("Simulator").join("Reject");
        Disposition {
            place: if sim.is_dir() {
                format!("PTBurn's reject bin ({})", sim.display())
            } else {
                "PTBurn's reject bin".into()
            },
            label: format!("not printed; PTBurn job {handle}"),
            action: format!(
                "destroy the disc of PTBurn job {handle} in the reject bin: {}",
                match kind {
                    RejectKind::AtPublisher => "PTBurn failed it, it holds no copy",
                    RejectKind::ReadBack => "its read-back found damage",
                }
            ),
        }
    }

    fn start(
        &mut self,
        vault: &Vault,
        req: &BurnRequest,
        _progress: &dyn Progress,
    ) -> Result<String> {
        let id = disc_job_id(req);
        let map = |p: &Path| map_path(&self.cfg.path_map, p);
        let print_label = match self.cfg.print_label.as_str() {
            "none" => None,
            ext => {
                let format = if ext == "bmp" {
                    crate::label::LabelFormat::Bmp
                } else {
                    crate::label::LabelFormat::Jpg
                };
                let bytes = crate::label::render(
                    vault,
                    &crate::label::LabelOptions {
                        subject: crate::label::LabelSubject::Face(req.copy.copy_id.clone()),
                        format,
                        template: None,
                        template_file: None,
                    },
                )?;
                let p = jobs_dir(vault)?.join(format!("{id}.{ext}"));
                discpublisher::write_atomic(&p, &bytes)
                    .map_err(|e| pub_err(&self.target, &id, e))?;
                Some(map(&p))
            }
        };
        let jrq = ptburn::Jrq {
            job_id: id.clone(),
            client_id: self.cfg.client_id.clone(),
            image_file: map(req.image),
            copies: 1,
            volume_name: req.volume.volume_id.chars().take(32).collect(),
            verify_disc: true,
            reject_if_not_blank: true,
            print_label,
            merge_fields: Vec::new(),
            load_unload_override: true,
            extra: Vec::new(),
        };
        ptburn::submit(&self.folder, &jrq, self.cp).map_err(|e| pub_err(&self.target, &id, e))?;
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
        let mut processed = false;
        loop {
            let file = ptburn::job_file(&self.folder, id).map_err(err)?;
            let js = ptburn::job_status(&self.status_dir(), id, self.cp).map_err(err)?;
            let sys = ptburn::system_error(&self.status_dir(), self.cp).map_err(err)?;
            if let Some(js) = &js {
                for (x, state, letter) in &js.loaded {
                    match *state {
                        ptburn::load_state::LOADED_HOLD if !processed => {
                            self.send(id, &ptburn::Message::ProcessDisc { disc: *x })?;
                            processed = true;
                        }
                        ptburn::load_state::PROCESSED_HOLD => {
                            self.held.insert(id.to_string(), *x);
                            return Ok(Burned::Held(self.drive(id, letter)?));
                        }
                        ptburn::load_state::PROCESSING => processed = false,
                        _ => {}
                    }
                }
            }
            match file.map(|f| f.0) {
                None => {
                    return Err(Error::Publisher {
                        target: self.target.clone(),
                        job: id.to_string(),
                        detail: format!(
                            "the job request {id}.JRQ (or its renamed states) is gone from {}",
                            self.folder.display()
                        ),
                    })
                }
                Some(end @ (ptburn::JobFile::Done | ptburn::JobFile::Error)) if js.is_none() => {
                    // Nothing tells whether a disc was burned: not a guess either way.
                    return Err(Error::Publisher {
                        target: self.target.clone(),
                        job: id.to_string(),
                        detail: format!(
                            "PTBurn ended the job ({}), but no status file in {} has its section: read a disc of it back with `discvault verify DRIVE --copy COPY`, or cancel the job (`discvault jobs --cancel`)",
                            end.ext(),
                            self.status_dir().display()
                        ),
                    });
                }
                Some(ptburn::JobFile::Done) => {
                    let good = js.as_ref().map_or(0, |j| j.good_discs);
                    return Ok(if good >= 1 {
                        // Stacked without the hold: read it back from the output bin.
                        Burned::Away("出料仓 PTBurn output bin".into())
                    } else {
                        Burned::DiscFailed("PTBurn finished the job without a good disc".into())
                    });
                }
                Some(ptburn::JobFile::Error) => {
                    let js = js.unwrap_or_default();
                    if js.current_state == ptburn::status_state::ABORTED {
                        return Ok(Burned::Cancelled(format!(
                            "aborted at PTBurn: {}",
                            js.error_string
                        )));
                    }
                    if js.bad_discs <= 0 && js.good_discs <= 0 && js.loaded.is_empty() {
                        // The job failed before a disc was loaded (PTBurn refused it).
                        return Ok(Burned::Refused(format!(
                            "PTBurn did not run the job {id} (nothing was burned): error {}: {}",
                            js.error_number, js.error_string
                        )));
                    }
                    return Ok(Burned::DiscFailed(format!(
                        "PTBurn: error {}: {} ({} bad disc(s))",
                        js.error_number,
                        js.error_string,
                        js.bad_discs.max(0)
                    )));
                }
                Some(ptburn::JobFile::Submitted) => {
                    stuck.check(
                        &self.follow,
                        &self.target,
                        id,
                        "waiting for PTBurn to take the job",
                        progress,
                    )?;
                }
                Some(ptburn::JobFile::Seen | ptburn::JobFile::InProgress) => {
                    let paused =
                        js.as_ref().map(|j| j.current_state) == Some(ptburn::status_state::PAUSED);
                    if paused {
                        let why = sys
                            .map(|(n, t)| format!("{t} (system error {n})"))
                            .or_else(|| js.as_ref().map(|j| j.current_status.clone()))
                            .unwrap_or_else(|| "paused".into());
                        stuck.check(
                            &self.follow,
                            &self.target,
                            id,
                            &format!("paused at the publisher: {why}"),
                            progress,
                        )?;
                    } else {
                        stuck.moving();
                        if let Some(p) = js.as_ref().and_then(|j| j.percent) {
                            pct.to(p, progress);
                        }
                    }
                }
            }
            stop_asked(progress, &self.target, id)?;
            std::thread::sleep(self.follow.poll);
        }
    }

    fn release(&mut self, id: &str, good: bool) -> Result<()> {
        // Only a disc this run saw held is let go: another DiscID would unload the wrong disc.
        let disc = self.held.remove(id).ok_or_else(|| Error::Publisher {
            target: self.target.clone(),
            job: id.to_string(),
            detail: "no disc of this job is known to be held in the robot's drive".into(),
        })?;
        self.send(
            id,
            &if good {
                ptburn::Message::UnloadDisc { disc }
            } else {
                ptburn::Message::RejectDisc { disc }
            },
        )
    }

    fn cancel(&mut self, id: &str) -> Result<()> {
        // An abort goes through whatever message is waiting.
        let waiting = ptburn::message_path(&self.folder, id);
        match std::fs::remove_file(&waiting) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::Io {
                    path: waiting,
                    source: e,
                })
            }
            _ => {}
        }
        self.send(
            id,
            &ptburn::Message::Abort {
                client_id: self.cfg.client_id.clone(),
            },
        )
    }
}
