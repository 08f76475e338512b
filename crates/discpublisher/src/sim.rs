//! Simulators of the two hot-folder publishers. They watch a folder as TD Bridge and PTBurn do,
//! take job files through the documented states, keep the documented status files, and "burn"
//! each disc into an image file:
//!
//! - `Simulator/Stacker/<job>-<n>.iso`: a published disc (TD Bridge's output stacker, PTBurn's
//!   output bin), beside it what was "printed" on it (`.label.txt` with TD Bridge's label and
//!   merge data; PTBurn's `PrintLabel` image file);
//! - `Simulator/Reject/<job>-<n>.iso`: a rejected disc;
//! - `Simulator/Drives/<letter>`: PTBurn's drive, holding the disc while the robot waits for a
//!   client under `LoadUnloadOverride` (read it back as a pseudo drive).
//!
//! TD Bridge writes the job's `DATA=` folders as an ISO 9660 image with Rock Ridge and Joliet
//! (with xorriso, whatever `FORMAT` says); PTBurn copies its `ImageFile`.
//!
//! The file `simulator-control.txt` in the folder tells the simulator what to do next, and the
//! simulator counts down what it used (edit it while it runs):
//!
//! ```text
//! blanks=5          # blank discs left in the input (-1: endless, the default)
//! fail_discs=1      # the next disc(s) fail while burning (rejected, counted as errors)
//! damage_discs=1    # the next disc(s) come out scratched without the robot noticing
//! paused=1          # the robot stops before its next disc (cover open)
//! ```

use crate::ini::Ini;
use crate::{ptburn, tdbridge, CodePage, IoAt, Result};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How a simulator runs.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub folder: PathBuf,
    pub code_page: CodePage,
    /// Time to burn one disc.
    pub disc_seconds: f64,
    /// The publisher's (robot's) name in the status files.
    pub name: String,
}

/// `simulator-control.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    pub blanks: i64,
    pub fail_discs: i64,
    pub damage_discs: i64,
    pub paused: bool,
}

impl Default for Control {
    fn default() -> Self {
        Control {
            blanks: -1,
            fail_discs: 0,
            damage_discs: 0,
            paused: false,
        }
    }
}

pub fn control_path(folder: &Path) -> PathBuf {
    folder.join("simulator-control.txt")
}

impl Control {
    /// The control file; the defaults when there is none. A value that is not a number is an
    /// error naming the file and the key (a typo must not quietly mean "endless blanks").
    pub fn read(folder: &Path) -> Result<Control> {
        let path = control_path(folder);
        let mut c = Control::default();
        let Some(bytes) = crate::read_now(&path)? else {
            return Ok(c);
        };
        let ini = Ini::parse(&String::from_utf8_lossy(&bytes));
        let name = path.display().to_string();
        let n = |k: &str, d: i64| -> Result<i64> { Ok(ini.number(&name, "", k)?.unwrap_or(d)) };
        c.blanks = n("blanks", -1)?;
        c.fail_discs = n("fail_discs", 0)?;
        c.damage_discs = n("damage_discs", 0)?;
        c.paused = n("paused", 0)? != 0;
        Ok(c)
    }

    pub fn write(&self, folder: &Path) -> Result<()> {
        let text = format!(
            "blanks={}\nfail_discs={}\ndamage_discs={}\npaused={}\n",
            self.blanks, self.fail_discs, self.damage_discs, self.paused as i32
        );
        crate::write_atomic(&control_path(folder), text.as_bytes())
    }
}

/// What happens to the next disc, taken from the control file (and counted down there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DiscFate {
    Good,
    Fail,
    Damage,
}

fn take_disc(folder: &Path) -> Result<DiscFate> {
    let mut c = Control::read(folder)?;
    if c.blanks > 0 {
        c.blanks -= 1;
    }
    let fate = if c.fail_discs > 0 {
        c.fail_discs -= 1;
        DiscFate::Fail
    } else if c.damage_discs > 0 {
        c.damage_discs -= 1;
        DiscFate::Damage
    } else {
        DiscFate::Good
    };
    c.write(folder)?;
    Ok(fate)
}

/// Damages a disc the way a scratch does: a byte changed in each of 512 sectors (1 MiB) from a
/// quarter into the disc.
fn damage(image: &Path) -> Result<()> {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(image)
        .at(image)?;
    let len = f.metadata().at(image)?.len();
    let mut at = (len / 4) / 2048 * 2048 + 1000;
    for _ in 0..512 {
        if at >= len {
            break;
        }
        let mut b = [0u8];
        f.seek(SeekFrom::Start(at)).at(image)?;
        f.read_exact(&mut b).at(image)?;
        f.seek(SeekFrom::Start(at)).at(image)?;
        f.write_all(&[b[0] ^ 0x5a]).at(image)?;
        at += 2048;
    }
    f.sync_all().at(image)
}

fn dirs(folder: &Path) -> Result<(PathBuf, PathBuf, PathBuf)> {
    let root = folder.join("Simulator");
    let (s, r, d) = (
        root.join("Stacker"),
        root.join("Reject"),
        root.join("Drives"),
    );
    for p in [&s, &r, &d] {
        std::fs::create_dir_all(p).at(p)?;
    }
    Ok((s, r, d))
}

fn tick() {
    std::thread::sleep(Duration::from_millis(40));
}

/// Job files waiting, oldest name first.
fn waiting(folder: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(folder).at(folder)? {
        let p = e.at(folder)?.path();
        if p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case(ext))
            && !p
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or(".")
                .starts_with('.')
        {
            v.push(p);
        }
    }
    v.sort();
    Ok(v)
}

/// Moves a file; a source that is not there is no error (`Ok(false)`).
fn move_if_there(from: &Path, to: &Path) -> Result<bool> {
    match std::fs::rename(from, to) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(crate::Error::Io {
            path: to.to_path_buf(),
            source: e,
        }),
    }
}

/// Takes a new job file (renaming it from `new` to `seen`; a file taken before a restart keeps
/// its state): its path, name, base name (the job id when it has none) and text.
fn take_job(
    path: &Path,
    new: &str,
    seen: &str,
    cp: CodePage,
) -> Result<(PathBuf, String, String, String)> {
    let file = if path.extension().and_then(|e| e.to_str()) == Some(new) {
        rename_ext(path, seen)?
    } else {
        path.to_path_buf()
    };
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("job")
        .to_string();
    let base = name
        .rsplit_once('.')
        .map(|(b, _)| b)
        .unwrap_or(&name)
        .to_string();
    let text = cp.decode(&std::fs::read(&file).at(&file)?);
    Ok((file, name, base, text))
}

fn rename_ext(path: &Path, ext: &str) -> Result<PathBuf> {
    let to = path.with_extension(ext);
    std::fs::rename(path, &to).at(&to)?;
    Ok(to)
}

/// The TD Bridge simulator: runs until `stop` is set.
pub fn run_tdbridge(opts: &SimOptions, stop: &AtomicBool) -> Result<()> {
    let mut sim = Tdb {
        opts: opts.clone(),
        status: Ini::default(),
        complete: Vec::new(),
    };
    sim.status.set("PUBLISHER1", "NAME", &opts.name);
    sim.publisher_idle()?;
    while !stop.load(Ordering::Relaxed) {
        sim.refuse_stray_cancels(None)?;
        // Jobs taken before a restart are taken again.
        let mut next = Vec::new();
        for ext in ["INP", "STP", "RJD", "JDF"] {
            next.extend(waiting(&opts.folder, ext)?);
        }
        match next.into_iter().next() {
            Some(p) => sim.job(&p, stop)?,
            None => {
                sim.publisher_idle()?;
                tick();
            }
        }
    }
    Ok(())
}

struct Tdb {
    opts: SimOptions,
    status: Ini,
    complete: Vec<String>,
}

enum Step {
    Go,
    Cancelled,
    Stop,
}

impl Tdb {
    fn write_status(&self) -> Result<()> {
        let bytes = self
            .opts
            .code_page
            .encode("TDBStatus.txt", &self.status.to_text("="))?;
        crate::write_atomic(&self.opts.folder.join("TDBStatus.txt"), &bytes)
    }

    fn publisher_idle(&mut self) -> Result<()> {
        let c = Control::read(&self.opts.folder)?;
        self.status.set("PUBLISHER1", "STACKER1", c.blanks);
        self.status.set("PUBLISHER1", "DRIVE1_PROGRESS", 0);
        self.status.set("PUBLISHER1", "INK_C", 80);
        self.write_status()
    }

    /// Answers cancel requests for jobs other than `current`: CER (no such running job).
    fn refuse_stray_cancels(&self, current: Option<&str>) -> Result<()> {
        for p in waiting(&self.opts.folder, "JCF")? {
            let id = self.cancel_target(&p)?;
            if current.is_some() && id.as_deref() == current {
                continue;
            }
            rename_ext(&p, "CER")?;
        }
        Ok(())
    }

    /// The job a cancel request names (`None`: it names none, or it is gone).
    fn cancel_target(&self, p: &Path) -> Result<Option<String>> {
        let Some(b) = crate::read_now(p)? else {
            return Ok(None);
        };
        let ini = Ini::parse(&self.opts.code_page.decode(&b));
        Ok(ini.get("CANCEL", "JOB_ID").map(str::to_string))
    }

    /// Waits a tick; answers cancels and pauses.
    fn step(
        &mut self,
        id: &str,
        file: &mut PathBuf,
        stop: &AtomicBool,
        need_blank: bool,
    ) -> Result<Step> {
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(Step::Stop);
            }
            self.refuse_stray_cancels(Some(id))?;
            for p in waiting(&self.opts.folder, "JCF")? {
                if self.cancel_target(&p)?.as_deref() == Some(id) {
                    rename_ext(&p, "CDN")?;
                    return Ok(Step::Cancelled);
                }
            }
            let c = Control::read(&self.opts.folder)?;
            let why = if c.paused {
                Some("paused: the cover is open")
            } else if need_blank && c.blanks == 0 {
                Some("no blank discs in stacker 1")
            } else {
                None
            };
            self.status.set("PUBLISHER1", "STACKER1", c.blanks);
            match why {
                Some(why) => {
                    if file.extension().and_then(|e| e.to_str()) != Some("STP") {
                        *file = rename_ext(file, "STP")?;
                    }
                    self.status.set(id, "STATUS", tdbridge::job_status::PAUSED);
                    self.status.set(id, "ERROR", why);
                    self.write_status()?;
                    tick();
                }
                None => {
                    if file.extension().and_then(|e| e.to_str()) == Some("STP") {
                        *file = rename_ext(file, "INP")?;
                        self.status
                            .set(id, "STATUS", tdbridge::job_status::PROCESSING);
                        self.status.set(id, "ERROR", "");
                        self.write_status()?;
                    }
                    return Ok(Step::Go);
                }
            }
        }
    }

    fn job(&mut self, path: &Path, stop: &AtomicBool) -> Result<()> {
        let folder = self.opts.folder.clone();
        let (stacker, reject, _) = dirs(&folder)?;
        let (mut file, name, base, text) = take_job(path, "JDF", "RJD", self.opts.code_page)?;
        let jdf = match tdbridge::Jdf::parse(&name, &text) {
            Ok(j) => j,
            Err(e) => {
                let id = base;
                self.status
                    .set(&id, "STATUS", tdbridge::job_status::NOT_ACCEPTED);
                self.status.set(&id, "ERROR", e.to_string());
                self.write_status()?;
                rename_ext(&file, "ERR")?;
                return Ok(());
            }
        };
        let id = jdf.job_id.clone();
        let prior = self
            .status
            .get_i64(&id, "COMPLETION_NUMBER")
            .unwrap_or(0)
            .max(0);
        let mut errors = self
            .status
            .get_i64(&id, "ERRORDISC_NUMBER")
            .unwrap_or(0)
            .max(0);
        self.status.set("ACTIVE_JOB", "JOB1", &id);
        self.status
            .set(&id, "STATUS", tdbridge::job_status::REGISTERED);
        self.status.set(&id, "PUBLICATION_NUMBER", jdf.copies);
        self.status.set(&id, "COMPLETION_NUMBER", prior);
        self.status.set(&id, "ERRORDISC_NUMBER", errors);
        self.status.set(&id, "ERROR", "");
        self.write_status()?;
        if file.extension().and_then(|e| e.to_str()) != Some("STP") {
            file = rename_ext(&file, "INP")?;
        }
        self.status
            .set(&id, "STATUS", tdbridge::job_status::PROCESSING);
        self.write_status()?;
        let mut done = prior;
        let mut cancelled = false;
        let mut n = prior + errors;
        while done + errors < jdf.copies as i64 {
            match self.step(&id, &mut file, stop, true)? {
                Step::Stop => return Ok(()),
                Step::Cancelled => {
                    cancelled = true;
                    break;
                }
                Step::Go => {}
            }
            n += 1;
            let fate = take_disc(&folder)?;
            let steps = 10;
            let mut stopped = false;
            for s in 1..=steps {
                std::thread::sleep(Duration::from_secs_f64(
                    self.opts.disc_seconds / steps as f64,
                ));
                self.status
                    .set("PUBLISHER1", "DRIVE1_PROGRESS", s * 100 / steps);
                self.status.set(
                    &id,
                    "ESTIMATION_TIME",
                    ((steps - s) as f64 * self.opts.disc_seconds / steps as f64).ceil() as i64,
                );
                self.write_status()?;
                match self.step(&id, &mut file, stop, false)? {
                    Step::Go => {}
                    Step::Stop => return Ok(()),
                    Step::Cancelled => {
                        cancelled = true;
                        stopped = true;
                        break;
                    }
                }
            }
            if stopped {
                break;
            }
            let disc = format!("{id}-{n}.iso");
            let tmp = stacker.join(format!(".{disc}.part"));
            let burned = author(&jdf, &tmp);
            match (fate, &burned) {
                (DiscFate::Fail, _) | (_, Err(_)) => {
                    move_if_there(&tmp, &reject.join(&disc))?;
                    errors += 1;
                    self.status.set(&id, "ERRORDISC_NUMBER", errors);
                    // The simulator's own failure to write the disc (xorriso missing, a DATA
                    // folder it cannot read) is said, not passed off as a bad disc.
                    let why = match &burned {
                        Err(e) => format!("writing to the disc failed: {e}"),
                        Ok(()) => "writing to the disc failed; the disc was rejected".into(),
                    };
                    self.status
                        .set(&id, "ERROR", why.replace(['\r', '\n'], " "));
                }
                (fate, Ok(())) => {
                    if fate == DiscFate::Damage {
                        damage(&tmp)?;
                    }
                    self.print(&jdf, &stacker.join(format!("{id}-{n}.label.txt")))?;
                    std::fs::rename(&tmp, stacker.join(&disc)).at(&stacker)?;
                    done += 1;
                    self.status.set(&id, "COMPLETION_NUMBER", done);
                }
            }
            self.status.set("PUBLISHER1", "DRIVE1_PROGRESS", 0);
            self.status.set("PUBLISHER1", "COMPLETE_DISC_COPIES", done);
            self.write_status()?;
        }
        self.status.remove_section("ACTIVE_JOB");
        self.complete.push(id.clone());
        for (i, j) in self.complete.iter().enumerate() {
            self.status.set("COMPLETE_JOB", &format!("JOB{}", i + 1), j);
        }
        let abnormal = errors > 0 && !cancelled;
        self.status.set(
            &id,
            "STATUS",
            if abnormal {
                tdbridge::job_status::ABNORMAL
            } else {
                tdbridge::job_status::COMPLETED
            },
        );
        if cancelled {
            self.status.set(&id, "ERROR", "cancelled");
        }
        self.status.set(&id, "ESTIMATION_TIME", 0);
        self.write_status()?;
        rename_ext(&file, if abnormal { "ERR" } else { "DON" })?;
        Ok(())
    }

    /// "Prints" the label: what the printer would put on the disc, as text.
    fn print(&self, jdf: &tdbridge::Jdf, to: &Path) -> Result<()> {
        let mut lines = vec![format!("LABEL={}", jdf.label.clone().unwrap_or_default())];
        if let Some(m) = &jdf.replace_field {
            let b = std::fs::read(m).at(Path::new(m))?;
            lines.extend(
                self.opts
                    .code_page
                    .decode(&b)
                    .lines()
                    .map(|l| l.trim_end_matches('\r').to_string()),
            );
        }
        std::fs::write(to, lines.join("\n") + "\n").at(to)
    }
}

/// Writes the `DATA=` sources of a job as an ISO 9660 image (Rock Ridge, Joliet) with xorriso.
fn author(jdf: &tdbridge::Jdf, out: &Path) -> std::io::Result<()> {
    let mut cmd = std::process::Command::new("xorriso");
    cmd.env("LC_ALL", "C.UTF-8")
        .args([
            "-as",
            "mkisofs",
            "-quiet",
            "-iso-level",
            "3",
            "-R",
            "-J",
            "-joliet-long",
        ])
        .arg("-V")
        .arg(
            jdf.volume_label
                .clone()
                .unwrap_or_else(|| jdf.job_id.clone()),
        )
        .arg("-o")
        .arg(out)
        .arg("-graft-points");
    for (src, dest) in &jdf.data {
        let dest = dest.clone().unwrap_or_default().replace('\\', "/");
        let dest = dest.trim_matches('/');
        let esc = |s: &str| s.replace('\\', "\\\\").replace('=', "\\=");
        cmd.arg(format!("/{}={}", esc(dest), esc(src)));
    }
    let out = cmd.stdin(std::process::Stdio::null()).output()?;
    if !out.status.success() {
        return Err(std::io::Error::other(
            String::from_utf8_lossy(&out.stderr).to_string(),
        ));
    }
    Ok(())
}

/// The PTBurn simulator: one robot with one drive (`F`), until `stop` is set.
pub fn run_ptburn(opts: &SimOptions, stop: &AtomicBool) -> Result<()> {
    let mut sim = Ptb {
        opts: opts.clone(),
        robot: Ini::default(),
    };
    sim.system(0, "")?;
    sim.write_robot()?;
    while !stop.load(Ordering::Relaxed) {
        let mut next = Vec::new();
        for ext in ["INP", "QRJ", "JRQ"] {
            next.extend(waiting(&opts.folder, ext)?);
        }
        match next.into_iter().next() {
            Some(p) => sim.job(&p, stop)?,
            None => tick(),
        }
    }
    Ok(())
}

struct Ptb {
    opts: SimOptions,
    robot: Ini,
}

const DRIVE: &str = "F";

impl Ptb {
    fn status_dir(&self) -> PathBuf {
        self.opts.folder.join("Status")
    }

    fn system(&self, err: i64, text: &str) -> Result<()> {
        let dir = self.status_dir();
        std::fs::create_dir_all(&dir).at(&dir)?;
        let mut ini = Ini::default();
        ini.set("System", "SysErrorNumber", err);
        ini.set("System", "SysErrorString", text);
        ini.set("RobotList", "Robot0", &self.opts.name);
        let bytes = self
            .opts
            .code_page
            .encode("SystemStatus.txt", &ini.to_text(" = "))?;
        crate::write_atomic(&dir.join("SystemStatus.txt"), &bytes)
    }

    fn write_robot(&self) -> Result<()> {
        let dir = self.status_dir();
        std::fs::create_dir_all(&dir).at(&dir)?;
        let name = format!("{}.txt", self.opts.name);
        let bytes = self
            .opts
            .code_page
            .encode(&name, &self.robot.to_text(" = "))?;
        crate::write_atomic(&dir.join(name), &bytes)
    }

    /// The job's message, if one is waiting; it is deleted once read (a message PTBurn does
    /// not understand is deleted and ignored, as PTBurn does).
    fn message(&self, id: &str) -> Result<Option<ptburn::Message>> {
        let p = ptburn::message_path(&self.opts.folder, id);
        let Some(b) = crate::read_now(&p)? else {
            return Ok(None);
        };
        std::fs::remove_file(&p).at(&p)?;
        Ok(ptburn::Message::parse(&self.opts.code_page.decode(&b)))
    }

    /// Waits for one of the messages `want` accepts (an abort always ends the wait).
    fn wait_message(
        &mut self,
        id: &str,
        stop: &AtomicBool,
        want: impl Fn(&ptburn::Message) -> bool,
    ) -> Result<Option<ptburn::Message>> {
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            if let Some(m) = self.message(id)? {
                if matches!(m, ptburn::Message::Abort { .. }) || want(&m) {
                    return Ok(Some(m));
                }
            }
            tick();
        }
    }

    fn set(&mut self, id: &str, k: &str, v: impl ToString) {
        self.robot.set(id, k, v);
    }

    fn job(&mut self, path: &Path, stop: &AtomicBool) -> Result<()> {
        let (stacker, reject, drives) = dirs(&self.opts.folder)?;
        let drive = drives.join(DRIVE);
        let (file, name, base, text) = take_job(path, "JRQ", "QRJ", self.opts.code_page)?;
        let jrq = match ptburn::Jrq::parse(&name, &text) {
            Ok(j) => j,
            Err(e) => {
                let id = base;
                self.set(&id, "JobState", ptburn::job_state::FAILED);
                self.set(&id, "CurrentStatusState", ptburn::status_state::FAILED);
                self.set(&id, "JobErrorNumber", 1);
                self.set(&id, "JobErrorString", e.to_string());
                self.write_robot()?;
                rename_ext(&file, "ERR")?;
                return Ok(());
            }
        };
        let id = jrq.job_id.clone();
        let file = if file.extension().and_then(|e| e.to_str()) != Some("INP") {
            rename_ext(&file, "INP")?
        } else {
            file
        };
        let mut good = self.robot.get_i64(&id, "GoodDiscs").unwrap_or(0).max(0);
        let mut bad = self.robot.get_i64(&id, "BadDiscs").unwrap_or(0).max(0);
        self.set(&id, "JobState", ptburn::job_state::RUNNING);
        self.set(
            &id,
            "CurrentStatusState",
            ptburn::status_state::INITIALIZING,
        );
        self.set(&id, "CurrentStatus", "Job initializing");
        self.set(&id, "JobErrorNumber", 0);
        self.set(&id, "JobErrorString", "");
        let mut aborted = false;
        let mut disc_no = good + bad;
        'discs: while good + bad < jrq.copies as i64 {
            self.set(&id, "GoodDiscs", good);
            self.set(&id, "BadDiscs", bad);
            self.set(&id, "DiscsRemaining", jrq.copies as i64 - good - bad);
            self.write_robot()?;
            // A blank disc, and not paused.
            loop {
                if stop.load(Ordering::Relaxed) {
                    return Ok(());
                }
                if let Some(ptburn::Message::Abort { .. }) = self.message(&id)? {
                    aborted = true;
                    break 'discs;
                }
                let c = Control::read(&self.opts.folder)?;
                if c.paused || c.blanks == 0 {
                    self.set(&id, "CurrentStatusState", ptburn::status_state::PAUSED);
                    self.set(
                        &id,
                        "CurrentStatus",
                        if c.paused {
                            "Paused: cover open"
                        } else {
                            "Input bin empty"
                        },
                    );
                    self.write_robot()?;
                    self.system(
                        if c.paused { 17 } else { 4 },
                        if c.paused {
                            "Cover open"
                        } else {
                            "Input bin empty: load blank discs"
                        },
                    )?;
                    tick();
                    continue;
                }
                self.system(0, "")?;
                break;
            }
            let fate = take_disc(&self.opts.folder)?;
            disc_no += 1;
            self.set(&id, "CurrentStatusState", ptburn::status_state::LOADING);
            self.set(&id, "CurrentStatus", "Loading disc");
            if jrq.load_unload_override {
                self.set(&id, "LoadDiscState0", ptburn::load_state::LOADED_HOLD);
                self.set(&id, "LoadDiscDrive0", DRIVE);
                self.write_robot()?;
                match self.wait_message(&id, stop, |m| {
                    matches!(m, ptburn::Message::ProcessDisc { disc: 0 })
                })? {
                    None => return Ok(()),
                    Some(ptburn::Message::Abort { .. }) => {
                        aborted = true;
                        break 'discs;
                    }
                    Some(_) => {}
                }
                self.set(&id, "LoadDiscState0", ptburn::load_state::PROCESSING);
            }
            self.set(&id, "CurrentStatusState", ptburn::status_state::RECORDING);
            self.set(&id, "CurrentStatus", "Recording disc");
            let steps = 10;
            for s in 1..=steps {
                std::thread::sleep(Duration::from_secs_f64(
                    self.opts.disc_seconds / steps as f64,
                ));
                self.robot
                    .set("RobotStatus", "DrivePercent0", s * 100 / steps);
                self.write_robot()?;
                if stop.load(Ordering::Relaxed) {
                    return Ok(());
                }
                if let Some(ptburn::Message::Abort { .. }) = self.message(&id)? {
                    aborted = true;
                    break 'discs;
                }
            }
            self.robot.set("RobotStatus", "DrivePercent0", 0);
            let src = Path::new(&jrq.image_file);
            let burned = std::fs::copy(src, &drive).map(|_| ());
            let disc = format!("{id}-{disc_no}.iso");
            if fate == DiscFate::Fail || burned.is_err() {
                move_if_there(&drive, &reject.join(&disc))?;
                bad += 1;
                self.set(&id, "CurrentStatusState", ptburn::status_state::REJECTING);
                self.set(&id, "JobErrorNumber", 2);
                // The simulator's own failure to read the image is said, not passed off as a
                // bad disc.
                let why = match burned {
                    Err(e) => format!("Recording failed: {}: {e}", src.display()),
                    Ok(()) => "Recording failed; disc rejected".into(),
                };
                self.set(&id, "JobErrorString", why.replace(['\r', '\n'], " "));
                if jrq.load_unload_override {
                    self.set(&id, "LoadDiscState0", ptburn::load_state::UNLOADED);
                }
                continue;
            }
            if fate == DiscFate::Damage {
                damage(&drive)?;
            }
            if jrq.verify_disc {
                // The robot compares what it wrote; the damage of a marginal disc passes it.
                self.set(&id, "CurrentStatusState", ptburn::status_state::VERIFYING);
                self.set(&id, "CurrentStatus", "Verifying disc");
                self.write_robot()?;
            }
            let mut accept = true;
            if jrq.load_unload_override {
                self.set(&id, "LoadDiscState0", ptburn::load_state::PROCESSED_HOLD);
                self.set(&id, "CurrentStatus", "Waiting for client");
                self.write_robot()?;
                match self.wait_message(&id, stop, |m| {
                    matches!(
                        m,
                        ptburn::Message::UnloadDisc { disc: 0 }
                            | ptburn::Message::RejectDisc { disc: 0 }
                    )
                })? {
                    None => return Ok(()),
                    Some(ptburn::Message::Abort { .. }) => {
                        move_if_there(&drive, &reject.join(&disc))?;
                        aborted = true;
                        break 'discs;
                    }
                    Some(ptburn::Message::RejectDisc { .. }) => accept = false,
                    Some(_) => {}
                }
                self.set(&id, "LoadDiscState0", ptburn::load_state::UNLOADED);
            }
            if accept {
                if let Some(l) = &jrq.print_label {
                    self.set(&id, "CurrentStatusState", ptburn::status_state::PRINTING);
                    let ext = l.rsplit('.').next().unwrap_or("jpg").to_ascii_lowercase();
                    let to = stacker.join(format!("{id}-{disc_no}.{ext}"));
                    std::fs::copy(l, &to).at(Path::new(l))?;
                }
                std::fs::rename(&drive, stacker.join(&disc)).at(&stacker)?;
                good += 1;
            } else {
                self.set(&id, "CurrentStatusState", ptburn::status_state::REJECTING);
                std::fs::rename(&drive, reject.join(&disc)).at(&reject)?;
                bad += 1;
            }
        }
        self.set(&id, "GoodDiscs", good);
        self.set(&id, "BadDiscs", bad);
        self.set(&id, "DiscsRemaining", 0);
        let ok = !aborted && good >= jrq.copies as i64;
        self.set(
            &id,
            "JobState",
            if ok {
                ptburn::job_state::DONE_OK
            } else {
                ptburn::job_state::FAILED
            },
        );
        if aborted {
            self.set(&id, "CurrentStatusState", ptburn::status_state::ABORTED);
            self.set(&id, "CurrentStatus", "Job aborted");
            self.set(&id, "JobErrorNumber", 13);
            self.set(&id, "JobErrorString", "Job aborted by client");
        } else if ok {
            self.set(&id, "CurrentStatusState", ptburn::status_state::COMPLETE);
            self.set(&id, "CurrentStatus", "Job complete");
        } else {
            self.set(&id, "CurrentStatusState", ptburn::status_state::FAILED);
            self.set(&id, "CurrentStatus", "Job failed");
            if self
                .robot
                .get(&id, "JobErrorString")
                .unwrap_or("")
                .is_empty()
            {
                self.set(&id, "JobErrorNumber", 2);
                self.set(&id, "JobErrorString", format!("{bad} disc(s) rejected"));
            }
        }
        self.write_robot()?;
        rename_ext(&file, if ok { "DON" } else { "ERR" })?;
        Ok(())
    }
}
