//! Primera PTBurn (Bravo, Disc Publisher XRP ...): the job request folder.
//!
//! A client writes a `.JRQ` job request (`Key = Value` lines) into the folder (the share
//! `PTBurnJobs` by default). PTBurn renames it `QRJ` (seen), `INP` (in progress), then `DON` or
//! `ERR`. Status: `Status/SystemStatus.txt` (`[RobotList]`, `SysErrorNumber`,
//! `SysErrorString`) and `Status/<robot>.txt` with a section per job (`JobState`,
//! `CurrentStatusState`, `GoodDiscs`, `BadDiscs`, `DiscsRemaining`, `JobErrorNumber`,
//! `JobErrorString`, and with `LoadUnloadOverride = YES` `LoadDiscStateX` and `LoadDiscDriveX`).
//! Messages are `.PTM` files named after the job: `Message = ABORT`, and for the load/unload
//! override `PROCESS_DISC`, `UNLOAD_DISC`, `REJECT_DISC` with `DiscID = X`; PTBurn deletes a
//! message once it has acted on it.

use crate::ini::Ini;
use crate::{CodePage, Error, IoAt, Result};
use std::path::{Path, PathBuf};

/// A PTBurn job request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Jrq {
    pub job_id: String,
    /// At most 32 characters.
    pub client_id: String,
    /// A prepared image to burn (ISO).
    pub image_file: String,
    /// 1 to 10000.
    pub copies: u32,
    /// At most 32 characters.
    pub volume_name: String,
    pub verify_disc: bool,
    pub reject_if_not_blank: bool,
    /// `PrintLabel = <.std|.jpg|.bmp|.prn>`.
    pub print_label: Option<String>,
    /// `MergeField = <value>`, in the order of the label template's fields.
    pub merge_fields: Vec<String>,
    /// The robot holds each disc in the drive before and after recording until the client says
    /// `PROCESS_DISC`, then `UNLOAD_DISC` or `REJECT_DISC`.
    pub load_unload_override: bool,
    pub extra: Vec<(String, String)>,
}

fn field(file: &str, key: &str, detail: impl Into<String>) -> Error {
    Error::Field {
        file: file.to_string(),
        key: key.to_string(),
        detail: detail.into(),
    }
}

fn yes(b: bool) -> &'static str {
    if b {
        "YES"
    } else {
        "NO"
    }
}

impl Jrq {
    pub fn file_name(&self) -> String {
        format!("{}.JRQ", self.job_id)
    }

    pub fn validate(&self) -> Result<()> {
        let f = self.file_name();
        if self.job_id.is_empty()
            || !self
                .job_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(field(
                &f,
                "JobID",
                format!("{:?}: A-Z a-z 0-9 - _", self.job_id),
            ));
        }
        if self.client_id.is_empty() || self.client_id.chars().count() > 32 {
            return Err(field(&f, "ClientID", "1 to 32 characters"));
        }
        if !(1..=10000).contains(&self.copies) {
            return Err(field(&f, "Copies", format!("{}: 1 to 10000", self.copies)));
        }
        if self.volume_name.chars().count() > 32 {
            return Err(field(&f, "VolumeName", "more than 32 characters"));
        }
        if self.image_file.is_empty() {
            return Err(field(&f, "ImageFile", "no image"));
        }
        if let Some(l) = &self.print_label {
            let ext = l.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
            if !["std", "jpg", "jpeg", "bmp", "prn"].contains(&ext.as_str()) {
                return Err(field(
                    &f,
                    "PrintLabel",
                    format!("{l:?}: a .std, .jpg, .bmp or .prn file"),
                ));
            }
        }
        let mut values: Vec<(&str, &str)> = vec![
            ("ClientID", &self.client_id),
            ("ImageFile", &self.image_file),
            ("VolumeName", &self.volume_name),
            ("PrintLabel", self.print_label.as_deref().unwrap_or("")),
        ];
        for m in &self.merge_fields {
            values.push(("MergeField", m));
        }
        for (k, v) in &self.extra {
            values.push((k, v));
        }
        for (k, v) in values {
            if v.contains(['\r', '\n']) {
                return Err(field(&f, k, "a value cannot hold a line break"));
            }
        }
        Ok(())
    }

    pub fn to_lines(&self) -> Vec<String> {
        let mut l = vec![
            format!("JobID = {}", self.job_id),
            format!("ClientID = {}", self.client_id),
            format!("ImageFile = {}", self.image_file),
            format!("Copies = {}", self.copies),
            format!("VolumeName = {}", self.volume_name),
            format!("VerifyDisc = {}", yes(self.verify_disc)),
            format!("RejectIfNotBlank = {}", yes(self.reject_if_not_blank)),
        ];
        if let Some(p) = &self.print_label {
            l.push(format!("PrintLabel = {p}"));
        }
        for m in &self.merge_fields {
            l.push(format!("MergeField = {m}"));
        }
        if self.load_unload_override {
            l.push("LoadUnloadOverride = YES".into());
        }
        for (k, v) in &self.extra {
            l.push(format!("{k} = {v}"));
        }
        l
    }

    pub fn parse(file: &str, text: &str) -> Result<Jrq> {
        let mut j = Jrq {
            copies: 1,
            ..Default::default()
        };
        for line in text.lines() {
            let line = line.trim_end_matches('\r').trim();
            if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(Error::Syntax {
                    file: file.into(),
                    detail: format!("line {line:?} is not Key = Value"),
                });
            };
            let (k, v) = (k.trim(), v.trim().to_string());
            let flag = |v: &str| v.eq_ignore_ascii_case("YES");
            match k {
                "JobID" => j.job_id = v,
                "ClientID" => j.client_id = v,
                "ImageFile" => j.image_file = v,
                "Copies" => {
                    j.copies = v
                        .parse()
                        .map_err(|_| field(file, k, format!("{v:?} is not a number")))?
                }
                "VolumeName" => j.volume_name = v,
                "VerifyDisc" => j.verify_disc = flag(&v),
                "RejectIfNotBlank" => j.reject_if_not_blank = flag(&v),
                "PrintLabel" => j.print_label = Some(v),
                "MergeField" => j.merge_fields.push(v),
                "LoadUnloadOverride" => j.load_unload_override = flag(&v),
                _ => j.extra.push((k.to_string(), v)),
            }
        }
        if j.job_id.is_empty() {
            // PTBurn takes the file name for a missing JobID.
            j.job_id = file
                .rsplit_once('.')
                .map(|(b, _)| b)
                .unwrap_or(file)
                .to_string();
        }
        j.validate()?;
        Ok(j)
    }
}

/// Writes a job request into the folder, atomically.
pub fn submit(folder: &Path, jrq: &Jrq, cp: CodePage) -> Result<PathBuf> {
    jrq.validate()?;
    let path = folder.join(jrq.file_name());
    crate::write_atomic(
        &path,
        &cp.encode(&jrq.file_name(), &crate::crlf(&jrq.to_lines()))?,
    )?;
    Ok(path)
}

/// A message to PTBurn about a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Abort { client_id: String },
    ProcessDisc { disc: u32 },
    UnloadDisc { disc: u32 },
    RejectDisc { disc: u32 },
}

impl Message {
    pub fn to_lines(&self) -> Vec<String> {
        match self {
            Message::Abort { client_id } => {
                vec!["Message = ABORT".into(), format!("ClientID = {client_id}")]
            }
            Message::ProcessDisc { disc } => {
                vec!["Message = PROCESS_DISC".into(), format!("DiscID = {disc}")]
            }
            Message::UnloadDisc { disc } => {
                vec!["Message = UNLOAD_DISC".into(), format!("DiscID = {disc}")]
            }
            Message::RejectDisc { disc } => {
                vec!["Message = REJECT_DISC".into(), format!("DiscID = {disc}")]
            }
        }
    }

    pub fn parse(text: &str) -> Option<Message> {
        let ini = Ini::parse(text);
        let disc = || ini.get("", "DiscID").and_then(|d| d.parse().ok());
        Some(match ini.get("", "Message")? {
            "ABORT" => Message::Abort {
                client_id: ini.get("", "ClientID").unwrap_or("").to_string(),
            },
            "PROCESS_DISC" => Message::ProcessDisc { disc: disc()? },
            "UNLOAD_DISC" => Message::UnloadDisc { disc: disc()? },
            "REJECT_DISC" => Message::RejectDisc { disc: disc()? },
            _ => return None,
        })
    }
}

/// The message file of a job: `<JobID>.PTM`.
pub fn message_path(folder: &Path, job_id: &str) -> PathBuf {
    folder.join(format!("{job_id}.PTM"))
}

/// Sends a message; `false` when the previous message of the job was not taken yet.
pub fn send(folder: &Path, job_id: &str, msg: &Message, cp: CodePage) -> Result<bool> {
    let path = message_path(folder, job_id);
    if path.exists() {
        return Ok(false);
    }
    crate::write_atomic(&path, &cp.encode("PTM", &crate::crlf(&msg.to_lines()))?)?;
    Ok(true)
}

/// Where a job is, by its file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobFile {
    Submitted,
    Seen,
    InProgress,
    Done,
    Error,
}

pub const JOB_EXTENSIONS: [&str; 5] = ["JRQ", "QRJ", "INP", "DON", "ERR"];

impl JobFile {
    pub fn from_ext(ext: &str) -> Option<JobFile> {
        Some(match ext {
            "JRQ" => JobFile::Submitted,
            "QRJ" => JobFile::Seen,
            "INP" => JobFile::InProgress,
            "DON" => JobFile::Done,
            "ERR" => JobFile::Error,
            _ => return None,
        })
    }

    pub fn ext(self) -> &'static str {
        JOB_EXTENSIONS[self as usize]
    }
}

pub fn job_file(folder: &Path, job_id: &str) -> Result<Option<(JobFile, PathBuf)>> {
    Ok(crate::find_state(folder, job_id, &JOB_EXTENSIONS)?
        .and_then(|(e, p)| JobFile::from_ext(&e).map(|s| (s, p))))
}

/// `JobState` values.
pub mod job_state {
    pub const NOT_STARTED: i64 = 0;
    pub const RUNNING: i64 = 1;
    pub const DONE_OK: i64 = 2;
    pub const FAILED: i64 = 3;
}

/// `CurrentStatusState` values.
pub mod status_state {
    pub const RECORDING: i64 = 0;
    pub const VERIFYING: i64 = 2;
    pub const PRINTING: i64 = 3;
    pub const LOADING: i64 = 4;
    pub const UNLOADING: i64 = 5;
    pub const WAITING_FOR_RECORDER: i64 = 7;
    pub const REJECTING: i64 = 9;
    pub const COMPLETE: i64 = 10;
    pub const PAUSED: i64 = 11;
    pub const ABORTED: i64 = 13;
    pub const INITIALIZING: i64 = 14;
    pub const FAILED: i64 = 15;
}

/// `LoadDiscStateX` values.
pub mod load_state {
    pub const NOT_IN_USE: i64 = -1;
    pub const LOADING: i64 = 0;
    /// Loaded, held before recording: send `PROCESS_DISC`.
    pub const LOADED_HOLD: i64 = 1;
    pub const PROCESSING: i64 = 2;
    /// Recorded, held: read it back, then send `UNLOAD_DISC` or `REJECT_DISC`.
    pub const PROCESSED_HOLD: i64 = 3;
    pub const UNLOADED: i64 = 4;
}

/// A job's section of its robot's status file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobStatus {
    pub robot: String,
    pub job_state: i64,
    pub current_state: i64,
    pub current_status: String,
    pub good_discs: i64,
    pub bad_discs: i64,
    pub discs_remaining: i64,
    pub error_number: i64,
    pub error_string: String,
    /// `(disc id X, LoadDiscStateX, LoadDiscDriveX)`.
    pub loaded: Vec<(u32, i64, String)>,
    /// `DrivePercentX` found in the robot's file, when writing.
    pub percent: Option<i64>,
}

/// The status of a job, from `<status dir>/<robot>.txt` (every `.txt` file but
/// `SystemStatus.txt`). The files are PTBurn's: a value that is not what the protocol says (a
/// count that is not a number, a drive that is not a drive letter) is an error naming the file.
pub fn job_status(status_dir: &Path, job_id: &str, cp: CodePage) -> Result<Option<JobStatus>> {
    let rd = match std::fs::read_dir(status_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::Io {
                path: status_dir.to_path_buf(),
                source: e,
            })
        }
    };
    let mut files = Vec::new();
    for e in rd {
        let p = e.at(status_dir)?.path();
        if p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("txt"))
            && p.file_name().and_then(|n| n.to_str()) != Some("SystemStatus.txt")
        {
            files.push(p);
        }
    }
    files.sort();
    for f in files {
        let Some(bytes) = crate::read_now(&f)? else {
            continue;
        };
        let name = f.display().to_string();
        let ini = Ini::parse(&cp.decode(&bytes));
        let Some(s) = ini.section(job_id) else {
            continue;
        };
        let num = |k: &str| -> Result<i64> { Ok(ini.number(&name, job_id, k)?.unwrap_or(-1)) };
        // Looked up once per key of the section (not by scanning it again for each key).
        let values = Ini::last_values(s);
        let mut loaded = Vec::new();
        for (k, _) in s {
            let Some(x) = k.strip_prefix("LoadDiscState") else {
                continue;
            };
            let x: u32 = x.parse().map_err(|_| Error::Syntax {
                file: name.clone(),
                detail: format!("[{job_id}] {k}: not a disc number"),
            })?;
            let drive = values
                .get(format!("LoadDiscDrive{x}").as_str())
                .copied()
                .unwrap_or("")
                .to_string();
            let letter = drive.trim_end_matches([':', '\\']);
            if !(letter.len() == 1 && letter.bytes().all(|b| b.is_ascii_alphabetic())) {
                return Err(Error::Syntax {
                    file: name.clone(),
                    detail: format!(
                        "[{job_id}] LoadDiscDrive{x} = {drive:?} is not a drive letter"
                    ),
                });
            }
            let state = Ini::number_of(&name, job_id, k, values.get(k.as_str()).copied())?;
            loaded.push((x, state.unwrap_or(-1), letter.to_ascii_uppercase()));
        }
        let mut percent = None;
        for (sec, kv) in &ini.sections {
            let mut values = None;
            for (k, _) in kv {
                if k.starts_with("DrivePercent") {
                    let v = values
                        .get_or_insert_with(|| Ini::last_values(kv))
                        .get(k.as_str())
                        .copied();
                    if let Some(v) = Ini::number_of(&name, sec, k, v)? {
                        if v > 0 && percent.is_none_or(|p| v > p) {
                            percent = Some(v);
                        }
                    }
                }
            }
        }
        return Ok(Some(JobStatus {
            robot: f
                .file_stem()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_string(),
            job_state: num("JobState")?,
            current_state: num("CurrentStatusState")?,
            current_status: ini.get(job_id, "CurrentStatus").unwrap_or("").to_string(),
            good_discs: num("GoodDiscs")?,
            bad_discs: num("BadDiscs")?,
            discs_remaining: num("DiscsRemaining")?,
            error_number: num("JobErrorNumber")?,
            error_string: ini.get(job_id, "JobErrorString").unwrap_or("").to_string(),
            loaded,
            percent,
        }));
    }
    Ok(None)
}

/// `SysErrorNumber` and `SysErrorString` of `SystemStatus.txt`, when an error is set.
pub fn system_error(status_dir: &Path, cp: CodePage) -> Result<Option<(i64, String)>> {
    let path = status_dir.join("SystemStatus.txt");
    let Some(b) = crate::read_now(&path)? else {
        return Ok(None);
    };
    let name = path.display().to_string();
    let ini = Ini::parse(&cp.decode(&b));
    let mut n = 0;
    let mut text = String::new();
    for (sec, kv) in &ini.sections {
        if kv.iter().any(|(k, _)| k == "SysErrorNumber") {
            n = ini.number(&name, sec, "SysErrorNumber")?.unwrap_or(0);
            text = ini.get(sec, "SysErrorString").unwrap_or("").to_string();
            break;
        }
    }
    Ok((n != 0).then_some((n, text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Jrq {
        Jrq {
            job_id: "J-000002-DV-000001-C2-1".into(),
            client_id: "discvault".into(),
            image_file: "D:\\spool\\DV-000001.iso".into(),
            copies: 1,
            volume_name: "DV-000001".into(),
            verify_disc: true,
            reject_if_not_blank: true,
            print_label: Some("D:\\spool\\J-000002.jpg".into()),
            merge_fields: vec!["文书档案".into(), "DV-000001-C2".into()],
            load_unload_override: true,
            extra: vec![],
        }
    }

    #[test]
    fn job_request_fields_crlf_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = submit(dir.path(), &job(), CodePage::GBK).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        let text = CodePage::GBK.decode(&bytes);
        assert!(text.ends_with("\r\n") && !text.replace("\r\n", "").contains('\n'));
        for line in [
            "JobID = J-000002-DV-000001-C2-1",
            "ImageFile = D:\\spool\\DV-000001.iso",
            "Copies = 1",
            "VolumeName = DV-000001",
            "VerifyDisc = YES",
            "RejectIfNotBlank = YES",
            "PrintLabel = D:\\spool\\J-000002.jpg",
            "MergeField = 文书档案",
            "LoadUnloadOverride = YES",
        ] {
            assert!(text.split("\r\n").any(|l| l == line), "{line} in {text}");
        }
        assert_eq!(Jrq::parse("x.JRQ", &text).unwrap(), job());
        let mut j = job();
        j.volume_name = "x".repeat(33);
        assert!(j.validate().unwrap_err().to_string().contains("VolumeName"));
        let mut j = job();
        j.print_label = Some("a.png".into());
        assert!(j.validate().unwrap_err().to_string().contains("PrintLabel"));
    }

    #[test]
    fn garbled_status_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let robot = dir.path().join("Robot.txt");
        let write = |t: &str| std::fs::write(&robot, t).unwrap();
        write("[J]\r\nJobState = 1\r\nLoadDiscState0 = 3\r\nLoadDiscDrive0 = F\r\n");
        let s = job_status(dir.path(), "J", CodePage::GBK).unwrap().unwrap();
        assert_eq!(s.loaded, [(0, 3, "F".to_string())]);
        for (text, needle) in [
            ("[J]\r\nGoodDiscs = lots\r\n", "GoodDiscs"),
            (
                "[J]\r\nLoadDiscState0 = 3\r\nLoadDiscDrive0 = ..\\..\\etc\r\n",
                "LoadDiscDrive0",
            ),
            ("[J]\r\nLoadDiscStateX = 3\r\n", "LoadDiscStateX"),
            (
                "[J]\r\n[RobotStatus]\r\nDrivePercent0 = %\r\n",
                "DrivePercent0",
            ),
        ] {
            write(text);
            let e = job_status(dir.path(), "J", CodePage::GBK)
                .unwrap_err()
                .to_string();
            assert!(e.contains("Robot.txt") && e.contains(needle), "{e}");
        }
        std::fs::write(
            dir.path().join("SystemStatus.txt"),
            "[System]\r\nSysErrorNumber = x4\r\n",
        )
        .unwrap();
        let e = system_error(dir.path(), CodePage::GBK)
            .unwrap_err()
            .to_string();
        assert!(e.contains("SystemStatus.txt") && e.contains("x4"), "{e}");
    }

    #[test]
    fn messages_wait_until_taken() {
        let dir = tempfile::tempdir().unwrap();
        assert!(send(
            dir.path(),
            "J",
            &Message::UnloadDisc { disc: 0 },
            CodePage::GBK
        )
        .unwrap());
        assert!(!send(
            dir.path(),
            "J",
            &Message::RejectDisc { disc: 0 },
            CodePage::GBK
        )
        .unwrap());
        let t = std::fs::read_to_string(message_path(dir.path(), "J")).unwrap();
        assert_eq!(Message::parse(&t), Some(Message::UnloadDisc { disc: 0 }));
    }
}
