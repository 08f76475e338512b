//! Epson Discproducer TD Bridge (PP-50, PP-100, PP-100II, PP-7050BD): the hot folder.
//!
//! A client writes a `.JDF` job file (one `KEY=VALUE` per line, keys upper case and
//! case-sensitive, the value up to the line end, `#` comments; CRLF; the PC's Windows code page)
//! into TD Bridge's monitoring folder, under a temporary name first. TD Bridge renames it as the
//! job goes: `JDF` → `RJD` (received) → `INP` (in progress) → `DON` (done) or `ERR`; `STP`
//! while paused. A cancelled job ends as `DON` too: the counts in `TDBStatus.txt` tell. A
//! `.JCF` file (`[CANCEL]`, `JOB_ID=`) cancels; it becomes `.CDN` (cancelled) or `.CER`.

use crate::ini::Ini;
use crate::{CodePage, Error, Result};
use std::path::{Path, PathBuf};

/// A TD Bridge job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Jdf {
    /// At most 40 of `[A-Za-z0-9_-]`.
    pub job_id: String,
    /// The publisher's name in Total Disc Setup (at most 64 characters); TD Bridge's default
    /// when `None`.
    pub publisher: Option<String>,
    /// 1 to 1000.
    pub copies: u32,
    pub out_stacker: Option<u32>,
    /// `CD`, `DVD`, `DVD-DL`, `BD`, `BD-DL` (the BD values are not in Epson's examples).
    pub disc_type: String,
    /// File system TD Bridge writes: `ISO9660L2`, `JOLIET`, `UDF102` ...
    pub format: String,
    /// `DATA=<source>\t<destination on the disc>`: a source folder's contents are written.
    pub data: Vec<(String, Option<String>)>,
    pub volume_label: Option<String>,
    /// `LABEL=`: a `.tdd` label designed in Total Disc Maker.
    pub label: Option<String>,
    /// `REPLACE_FIELD=`: the merge data for the label's fields.
    pub replace_field: Option<String>,
    pub priority_high: bool,
    /// Other keys, written as given (for keys Epson documents per model, such as `COMPARE`).
    pub extra: Vec<(String, String)>,
}

fn field(file: &str, key: &str, detail: impl Into<String>) -> Error {
    Error::Field {
        file: file.to_string(),
        key: key.to_string(),
        detail: detail.into(),
    }
}

impl Jdf {
    /// The job file's name: `<JOB_ID>.JDF`.
    pub fn file_name(&self) -> String {
        format!("{}.JDF", self.job_id)
    }

    /// Checks the values against TD Bridge's documented limits.
    pub fn validate(&self) -> Result<()> {
        let f = self.file_name();
        if self.job_id.is_empty()
            || self.job_id.len() > 40
            || !self
                .job_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(field(
                &f,
                "JOB_ID",
                format!("{:?}: 1 to 40 of A-Z a-z 0-9 - _", self.job_id),
            ));
        }
        if let Some(p) = &self.publisher {
            if p.chars().count() > 64 {
                return Err(field(&f, "PUBLISHER", "more than 64 characters"));
            }
        }
        if !(1..=1000).contains(&self.copies) {
            return Err(field(&f, "COPIES", format!("{}: 1 to 1000", self.copies)));
        }
        if self.data.is_empty() {
            return Err(field(&f, "DATA", "nothing to write"));
        }
        let mut values: Vec<(&str, &str)> = vec![
            ("DISC_TYPE", &self.disc_type),
            ("FORMAT", &self.format),
            ("VOLUME_LABEL", self.volume_label.as_deref().unwrap_or("")),
            ("LABEL", self.label.as_deref().unwrap_or("")),
            ("REPLACE_FIELD", self.replace_field.as_deref().unwrap_or("")),
        ];
        for (s, d) in &self.data {
            values.push(("DATA", s));
            values.push(("DATA", d.as_deref().unwrap_or("")));
        }
        for (k, v) in &self.extra {
            if k.is_empty()
                || k.bytes()
                    .any(|b| !(b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'))
            {
                return Err(field(&f, k, "keys are upper case letters, digits and _"));
            }
            values.push((k, v));
        }
        for (k, v) in values {
            if v.contains(['\r', '\n']) {
                return Err(field(&f, k, "a value cannot hold a line break"));
            }
        }
        if self.data.iter().any(|(s, _)| s.contains('\t')) {
            return Err(field(&f, "DATA", "a source path cannot hold a tab"));
        }
        Ok(())
    }

    /// The lines of the job file.
    pub fn to_lines(&self) -> Vec<String> {
        let mut l = vec![
            "# discvault publishing job".to_string(),
            format!("JOB_ID={}", self.job_id),
        ];
        if let Some(p) = &self.publisher {
            l.push(format!("PUBLISHER={p}"));
        }
        l.push(format!("COPIES={}", self.copies));
        if let Some(s) = self.out_stacker {
            l.push(format!("OUT_STACKER={s}"));
        }
        l.push(format!("DISC_TYPE={}", self.disc_type));
        l.push(format!("FORMAT={}", self.format));
        for (s, d) in &self.data {
            match d {
                Some(d) => l.push(format!("DATA={s}\t{d}")),
                None => l.push(format!("DATA={s}")),
            }
        }
        if let Some(v) = &self.volume_label {
            l.push(format!("VOLUME_LABEL={v}"));
        }
        if let Some(v) = &self.label {
            l.push(format!("LABEL={v}"));
        }
        if let Some(v) = &self.replace_field {
            l.push(format!("REPLACE_FIELD={v}"));
        }
        if self.priority_high {
            l.push("PRIORITY=HIGH".into());
        }
        for (k, v) in &self.extra {
            l.push(format!("{k}={v}"));
        }
        l
    }

    /// Reads a job file's text as TD Bridge does: keys are case-sensitive and a key with lower
    /// case letters or spaces around it is not a key; the value runs to the line end.
    pub fn parse(file: &str, text: &str) -> Result<Jdf> {
        let mut j = Jdf {
            copies: 1,
            ..Default::default()
        };
        for line in text.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(Error::Syntax {
                    file: file.into(),
                    detail: format!("line {line:?} is not KEY=VALUE"),
                });
            };
            if k.is_empty()
                || k.bytes()
                    .any(|b| !(b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'))
            {
                // TD Bridge ignores it as an invalid command.
                continue;
            }
            let v = v.to_string();
            match k {
                "JOB_ID" => j.job_id = v,
                "PUBLISHER" => j.publisher = Some(v),
                "COPIES" => {
                    j.copies = v
                        .parse()
                        .map_err(|_| field(file, k, format!("{v:?} is not a number")))?
                }
                "OUT_STACKER" => {
                    j.out_stacker = Some(
                        v.parse()
                            .map_err(|_| field(file, k, format!("{v:?} is not a number")))?,
                    )
                }
                "DISC_TYPE" => j.disc_type = v,
                "FORMAT" => j.format = v,
                "DATA" => j.data.push(match v.split_once('\t') {
                    Some((s, d)) => (s.to_string(), Some(d.to_string())),
                    None => (v, None),
                }),
                "VOLUME_LABEL" => j.volume_label = Some(v),
                "LABEL" => j.label = Some(v),
                "REPLACE_FIELD" => j.replace_field = Some(v),
                "PRIORITY" => j.priority_high = v == "HIGH",
                _ => j.extra.push((k.to_string(), v)),
            }
        }
        j.validate()?;
        Ok(j)
    }
}

/// Writes a job into the monitoring folder, atomically; returns its path.
pub fn submit(folder: &Path, jdf: &Jdf, cp: CodePage) -> Result<PathBuf> {
    jdf.validate()?;
    let path = folder.join(jdf.file_name());
    let bytes = cp.encode(&jdf.file_name(), &crate::crlf(&jdf.to_lines()))?;
    crate::write_atomic(&path, &bytes)?;
    Ok(path)
}

/// Asks TD Bridge to cancel a job: `<JOB_ID>.JCF`.
pub fn cancel(folder: &Path, job_id: &str, cp: CodePage) -> Result<PathBuf> {
    let path = folder.join(format!("{job_id}.JCF"));
    let text = crate::crlf(&["[CANCEL]".to_string(), format!("JOB_ID={job_id}")]);
    crate::write_atomic(&path, &cp.encode(&format!("{job_id}.JCF"), &text)?)?;
    Ok(path)
}

/// The merge data for a `.tdd` label's fields: `FieldName=value` lines.
pub fn merge_lines(fields: &[(String, String)]) -> Vec<String> {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace(['\r', '\n'], " ")))
        .collect()
}

/// Where a job is, by its file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobFile {
    /// `JDF`: written, not yet taken.
    Submitted,
    /// `RJD`
    Received,
    /// `INP`
    InProgress,
    /// `STP`: paused (cover open, out of discs, ink).
    Paused,
    /// `DON`: finished, or cancelled: read the status counts.
    Done,
    /// `ERR`
    Error,
}

pub const JOB_EXTENSIONS: [&str; 6] = ["JDF", "RJD", "INP", "STP", "DON", "ERR"];

impl JobFile {
    pub fn from_ext(ext: &str) -> Option<JobFile> {
        Some(match ext {
            "JDF" => JobFile::Submitted,
            "RJD" => JobFile::Received,
            "INP" => JobFile::InProgress,
            "STP" => JobFile::Paused,
            "DON" => JobFile::Done,
            "ERR" => JobFile::Error,
            _ => return None,
        })
    }

    pub fn ext(self) -> &'static str {
        JOB_EXTENSIONS[self as usize]
    }
}

/// The state of a job's file in the folder; `None` when no file of the job is there.
pub fn job_file(folder: &Path, job_id: &str) -> Result<Option<(JobFile, PathBuf)>> {
    Ok(crate::find_state(folder, job_id, &JOB_EXTENSIONS)?
        .and_then(|(e, p)| JobFile::from_ext(&e).map(|s| (s, p))))
}

/// The answer to a cancel request: `Some(true)` cancelled (`CDN`), `Some(false)` refused (`CER`).
pub fn cancel_result(folder: &Path, job_id: &str) -> Result<Option<bool>> {
    Ok(crate::find_state(folder, job_id, &["CDN", "CER"])?.map(|(e, _)| e == "CDN"))
}

/// `STATUS` of a job in `TDBStatus.txt`.
pub mod job_status {
    pub const REGISTERED: i64 = 1;
    pub const PROCESSING: i64 = 2;
    pub const PAUSED: i64 = 3;
    /// Completed; also a job the user cancelled.
    pub const COMPLETED: i64 = 4;
    /// Completed abnormally (an error), even when some discs were published.
    pub const ABNORMAL: i64 = 5;
    pub const NOT_ACCEPTED: i64 = 6;
    pub const UNKNOWN: i64 = 99;
}

/// A job's section of `TDBStatus.txt`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobStatus {
    pub status: i64,
    pub publication: i64,
    pub completion: i64,
    pub error_discs: i64,
    pub estimation_seconds: i64,
    pub error: String,
}

/// `TDBStatus.txt`, written by TD Bridge: read as hostile input, a garbled value is an error
/// naming the file, never a default.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// The file it was read from, for errors.
    pub file: String,
    pub ini: Ini,
}

impl Status {
    pub fn parse(file: &str, text: &str) -> Status {
        Status {
            file: file.to_string(),
            ini: Ini::parse(text),
        }
    }

    /// A job's section; counts TD Bridge left out are -1, counts that are not numbers are an
    /// error naming the file, the section and the key.
    pub fn job(&self, job_id: &str) -> Result<Option<JobStatus>> {
        if self.ini.section(job_id).is_none() {
            return Ok(None);
        }
        let num =
            |k: &str| -> Result<i64> { Ok(self.ini.number(&self.file, job_id, k)?.unwrap_or(-1)) };
        Ok(Some(JobStatus {
            status: num("STATUS")?,
            publication: num("PUBLICATION_NUMBER")?,
            completion: num("COMPLETION_NUMBER")?,
            error_discs: num("ERRORDISC_NUMBER")?,
            estimation_seconds: num("ESTIMATION_TIME")?,
            error: self.ini.get(job_id, "ERROR").unwrap_or("").to_string(),
        }))
    }

    /// Publisher sections: `[PUBLISHER1]`, `[PUBLISHER2]` ...
    pub fn publishers(&self) -> Vec<&str> {
        self.ini
            .sections
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| is_publisher(n))
            .collect()
    }

    /// The highest drive progress (0–100) of any publisher, when one is writing or verifying.
    pub fn drive_progress(&self) -> Result<Option<i64>> {
        let mut best = None;
        // One pass over each publisher's keys (looking each one up would take the square of
        // their number, and a status file is hostile input).
        for (p, kv) in self.ini.sections.iter().filter(|(n, _)| is_publisher(n)) {
            let values = Ini::last_values(kv);
            for (k, _) in kv {
                if k.starts_with("DRIVE") && k.ends_with("_PROGRESS") {
                    if let Some(v) =
                        Ini::number_of(&self.file, p, k, values.get(k.as_str()).copied())?
                    {
                        if v > 0 && best.is_none_or(|b| v > b) {
                            best = Some(v);
                        }
                    }
                }
            }
        }
        Ok(best)
    }
}

/// `[PUBLISHER1]`, `[PUBLISHER2]` ...: a publisher's section of `TDBStatus.txt`.
fn is_publisher(section: &str) -> bool {
    section
        .strip_prefix("PUBLISHER")
        .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
}

/// Reads the status file at once (TD Bridge cannot rewrite it while it is held open).
pub fn read_status(path: &Path, cp: CodePage) -> Result<Option<Status>> {
    Ok(crate::read_now(path)?.map(|b| Status::parse(&path.display().to_string(), &cp.decode(&b))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Jdf {
        Jdf {
            job_id: "J-000001-DV-000001-C1-1".into(),
            publisher: Some("PP-100II".into()),
            copies: 1,
            out_stacker: Some(2),
            disc_type: "DVD".into(),
            format: "UDF102".into(),
            data: vec![(
                "D:\\spool\\DV-000001\\文书档案".into(),
                Some("文书档案".into()),
            )],
            volume_label: Some("DV-000001".into()),
            label: Some("D:\\labels\\archive.tdd".into()),
            replace_field: Some("D:\\spool\\J-000001.dat".into()),
            priority_high: false,
            extra: vec![("COMPARE".into(), "YES".into())],
        }
    }

    #[test]
    fn job_file_is_gbk_crlf_with_documented_keys_and_parses_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = submit(dir.path(), &job(), CodePage::GBK).unwrap();
        assert_eq!(p.file_name().unwrap(), "J-000001-DV-000001-C1-1.JDF");
        let bytes = std::fs::read(&p).unwrap();
        assert!(std::str::from_utf8(&bytes).is_err(), "GBK, not UTF-8");
        assert!(bytes.ends_with(b"\r\n"));
        assert_eq!(
            bytes.windows(2).filter(|w| w == b"\r\n").count(),
            bytes.iter().filter(|&&b| b == b'\n').count()
        );
        let text = CodePage::GBK.decode(&bytes);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert!(lines.contains(&"JOB_ID=J-000001-DV-000001-C1-1"));
        assert!(lines.contains(&"COPIES=1"));
        assert!(lines.contains(&"DATA=D:\\spool\\DV-000001\\文书档案\t文书档案"));
        assert!(lines.contains(&"REPLACE_FIELD=D:\\spool\\J-000001.dat"));
        assert_eq!(Jdf::parse("x", &text).unwrap(), job());
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn bad_values_are_refused_with_their_key() {
        let mut j = job();
        j.job_id = "J 1".into();
        assert!(j.validate().unwrap_err().to_string().contains("JOB_ID"));
        let mut j = job();
        j.copies = 1001;
        assert!(j.validate().unwrap_err().to_string().contains("COPIES"));
        let mut j = job();
        j.volume_label = Some("a\nCOPIES=1000".into());
        assert!(j
            .validate()
            .unwrap_err()
            .to_string()
            .contains("VOLUME_LABEL"));
        // Lower-case keys are not keys for TD Bridge.
        let t = "JOB_ID=A\r\ncopies=5\r\nDISC_TYPE=CD\r\nFORMAT=JOLIET\r\nDATA=C:\\x\r\n";
        assert_eq!(Jdf::parse("x", t).unwrap().copies, 1);
    }

    #[test]
    fn status_counts_and_progress() {
        let s = Status::parse(
            "TDBStatus.txt",
            "[ACTIVE_JOB]\r\nJOB1=A\r\n[COMPLETE_JOB]\r\n[A]\r\nSTATUS=2\r\nPUBLICATION_NUMBER=3\r\nCOMPLETION_NUMBER=1\r\nERRORDISC_NUMBER=0\r\nERROR=\r\n[PUBLISHER1]\r\nNAME=PP-100\r\nSTACKER1=-1\r\nDRIVE1_PROGRESS=0\r\nDRIVE2_PROGRESS=57\r\n",
        );
        let j = s.job("A").unwrap().unwrap();
        assert_eq!(
            (j.status, j.publication, j.completion, j.error_discs),
            (2, 3, 1, 0)
        );
        assert_eq!(s.drive_progress().unwrap(), Some(57));
        assert!(s.job("B").unwrap().is_none());
    }

    #[test]
    fn a_garbled_status_file_is_an_error_naming_the_file_and_key() {
        let s = Status::parse(
            "/x/TDBStatus.txt",
            "[A]\r\nSTATUS=4\r\nCOMPLETION_NUMBER=one\r\n[PUBLISHER1]\r\nDRIVE1_PROGRESS=5O\r\n[PUBLISHER\r\n=\r\n\u{0}\r\n",
        );
        let e = s.job("A").unwrap_err().to_string();
        assert!(
            e.contains("/x/TDBStatus.txt") && e.contains("COMPLETION_NUMBER") && e.contains("one"),
            "{e}"
        );
        let e = s.drive_progress().unwrap_err().to_string();
        assert!(e.contains("DRIVE1_PROGRESS") && e.contains("5O"), "{e}");
        // Keys left out are unknown (-1), not an error.
        let s = Status::parse("t", "[A]\r\nSTATUS=2\r\n");
        assert_eq!(s.job("A").unwrap().unwrap().completion, -1);
    }
}
