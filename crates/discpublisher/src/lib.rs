//! The hot-folder protocols of disc publishers, as their vendors document them, and simulators
//! that follow them.
//!
//! - [`tdbridge`]: Epson Discproducer TD Bridge. `.JDF` job files (`KEY=VALUE`, CRLF, the PC's
//!   Windows code page), renamed by TD Bridge through `RJD`, `INP`, `STP`, `DON` or `ERR`;
//!   `TDBStatus.txt` with counts and errors; `.JCF` cancel requests.
//! - [`ptburn`]: Primera PTBurn. `.JRQ` job requests (`Key = Value`), renamed through `QRJ`,
//!   `INP`, `DON` or `ERR`; `Status/SystemStatus.txt` and one status file per robot; `.PTM`
//!   messages (abort, and the load/unload override that lets a client read a disc back before
//!   the robot prints and stacks it).
//! - [`sim`]: simulators of both, which "burn" discs into image files and can be told to fail
//!   discs, run out of blanks or pause. discvault's tests drive them, and users run them to try
//!   an integration without hardware.
//!
//! This crate knows nothing of archives: it writes and reads the files of the protocols.

pub mod ini;
pub mod ptburn;
pub mod sim;
pub mod tdbridge;

use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A value cannot be written in a job file (too long, bad characters, not in the code page).
    #[error("{file}: {key}: {detail}")]
    Field {
        file: String,
        key: String,
        detail: String,
    },
    /// A job or status file that does not follow the protocol.
    #[error("{file}: {detail}")]
    Syntax { file: String, detail: String },
}

pub type Result<T> = std::result::Result<T, Error>;

pub(crate) trait IoAt<T> {
    fn at(self, path: &Path) -> Result<T>;
}

impl<T> IoAt<T> for std::io::Result<T> {
    fn at(self, path: &Path) -> Result<T> {
        self.map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// A Windows "ANSI" code page, in which Windows programs read and write text files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodePage(&'static encoding_rs::Encoding);

impl CodePage {
    /// GBK (CP936): Chinese Windows.
    pub const GBK: CodePage = CodePage(encoding_rs::GBK);
    pub const UTF8: CodePage = CodePage(encoding_rs::UTF_8);

    /// By name or number: `gbk`, `cp936`, `936`, `gb18030`, `big5`, `cp950`, `shift_jis`,
    /// `cp932`, `windows-1252`, `cp1252`, `utf-8` ...
    pub fn parse(name: &str) -> Option<CodePage> {
        let n = name.trim().to_ascii_lowercase();
        let label = match n.trim_start_matches("cp") {
            "936" => "gbk",
            "950" => "big5",
            "932" => "shift_jis",
            "949" => "euc-kr",
            "65001" => "utf-8",
            x if x.len() == 4 && x.starts_with("125") => {
                return Self::parse(&format!("windows-{x}"))
            }
            _ => n.as_str(),
        };
        encoding_rs::Encoding::for_label(label.as_bytes()).map(CodePage)
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// Encodes text; a character the code page cannot hold is an error naming it (Windows would
    /// write a `?` and the publisher would look for a file that does not exist).
    pub fn encode(&self, file: &str, text: &str) -> Result<Vec<u8>> {
        let (bytes, _, unmappable) = self.0.encode(text);
        if unmappable {
            let bad: String = text
                .chars()
                .filter(|c| self.0.encode(&c.to_string()).2)
                .take(5)
                .collect();
            let line = text
                .lines()
                .find(|l| l.chars().any(|c| bad.contains(c)))
                .unwrap_or("");
            return Err(Error::Field {
                file: file.to_string(),
                key: line.split('=').next().unwrap_or("").trim().to_string(),
                detail: format!(
                    "{bad:?} cannot be written in code page {} (line {line:?}); set the publisher's code page",
                    self.name()
                ),
            });
        }
        Ok(bytes.into_owned())
    }

    pub fn decode(&self, bytes: &[u8]) -> String {
        self.0.decode(bytes).0.into_owned()
    }
}

/// Lines joined with CRLF, as Windows programs expect them.
pub fn crlf(lines: &[String]) -> String {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n");
    s
}

/// Writes a file the watcher of a hot folder must never see half written: under a temporary
/// name (with an extension the watcher ignores), flushed to disk, then renamed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("job")
    ));
    let mut f = std::fs::File::create(&tmp).at(&tmp)?;
    f.write_all(bytes).at(&tmp)?;
    f.sync_all().at(&tmp)?;
    drop(f);
    std::fs::rename(&tmp, path).at(path)
}

/// The largest status file, message or control file read from a hot folder (a real one is a
/// few KB): what a publisher, or anyone able to write there, puts in the folder is hostile
/// input, and a larger file is refused before it fills the memory.
pub const READ_BUDGET: u64 = 16 << 20;

/// Reads a file at once and closes it (publishers cannot rewrite a status file held open).
/// `None` when it does not exist; a file larger than [`READ_BUDGET`] is a [`Error::Syntax`]
/// naming it.
pub fn read_now(path: &Path) -> Result<Option<Vec<u8>>> {
    use std::io::Read;
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::Io {
                path: path.to_path_buf(),
                source: e,
            })
        }
    };
    let mut b = Vec::new();
    f.take(READ_BUDGET + 1).read_to_end(&mut b).at(path)?;
    if b.len() as u64 > READ_BUDGET {
        return Err(Error::Syntax {
            file: path.display().to_string(),
            detail: format!(
                "larger than {} MiB, the most a publisher's file may take",
                READ_BUDGET >> 20
            ),
        });
    }
    Ok(Some(b))
}

/// The file `<base>.<ext>` in `dir` whose extension is one of `exts` (compared without case, as
/// Windows does), with the extension found, upper case.
pub fn find_state(dir: &Path, base: &str, exts: &[&str]) -> Result<Option<(String, PathBuf)>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::Io {
                path: dir.to_path_buf(),
                source: e,
            })
        }
    };
    for e in rd {
        let e = e.at(dir)?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((b, ext)) = name.rsplit_once('.') else {
            continue;
        };
        if b == base {
            let up = ext.to_ascii_uppercase();
            if exts.contains(&up.as_str()) {
                return Ok(Some((up, e.path())));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_beyond_the_budget_is_refused_naming_it() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("TDBStatus.txt");
        std::fs::write(&p, vec![b'x'; READ_BUDGET as usize + 1]).unwrap();
        let e = read_now(&p).unwrap_err().to_string();
        assert!(e.contains("TDBStatus.txt") && e.contains("16 MiB"), "{e}");
        std::fs::write(&p, b"[System]\r\n").unwrap();
        assert_eq!(read_now(&p).unwrap().unwrap(), b"[System]\r\n");
        assert!(read_now(&t.path().join("none")).unwrap().is_none());
    }

    /// Text a device (or a person) could leave in a job or status file: any mix of the
    /// protocols' own bytes, multi-byte characters and controls. Every reader answers with a
    /// value or an error, never a panic.
    #[test]
    fn hostile_job_and_status_text_never_panics() {
        let pieces = [
            "[",
            "]",
            "=",
            " = ",
            "\r\n",
            "\n",
            "\r",
            "\t",
            "#",
            ";",
            "JOB_ID",
            "J-1",
            "COPIES",
            "STATUS",
            "COMPLETION_NUMBER",
            "ERRORDISC_NUMBER",
            "PUBLISHER",
            "PUBLISHER1",
            "DRIVE1_PROGRESS",
            "DATA",
            "LoadDiscState",
            "LoadDiscState0",
            "LoadDiscDrive0",
            "DrivePercent0",
            "JobID",
            "Copies",
            "Message",
            "DiscID",
            "PROCESS_DISC",
            "-1",
            "99999999999999999999",
            "4",
            "档案",
            "\u{0}",
            "\u{feff}",
            "\\",
            "F:",
            "é",
            "😀",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let dir = std::env::temp_dir().join(format!("dp-hostile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for _ in 0..3000 {
            let mut t = String::new();
            for _ in 0..(x % 40) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                t.push_str(pieces[(x % pieces.len() as u64) as usize]);
            }
            let _ = tdbridge::Jdf::parse("x.JDF", &t);
            let _ = ptburn::Jrq::parse("x.JRQ", &t);
            let _ = ptburn::Message::parse(&t);
            let st = tdbridge::Status::parse("TDBStatus.txt", &t);
            let _ = st.job("J-1");
            let _ = st.drive_progress();
            std::fs::write(dir.join("Robot.txt"), &t).unwrap();
            std::fs::write(dir.join("SystemStatus.txt"), &t).unwrap();
            let _ = ptburn::job_status(&dir, "J-1", CodePage::UTF8);
            let _ = ptburn::system_error(&dir, CodePage::UTF8);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn gbk_round_trip_and_unmappable_characters_named() {
        let cp = CodePage::parse("cp936").unwrap();
        assert_eq!(cp, CodePage::GBK);
        let bytes = cp.encode("a.JDF", "DATA=D:\\档案\\文书\r\n").unwrap();
        assert_eq!(&bytes[..10], b"DATA=D:\\\xb5\xb5");
        assert_eq!(cp.decode(&bytes), "DATA=D:\\档案\\文书\r\n");
        let e = cp
            .encode("a.JDF", "VOLUME_LABEL=ok\nDATA=C:\\😀\n")
            .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("DATA") && text.contains('😀') && text.contains("GBK"),
            "{text}"
        );
        assert_eq!(CodePage::parse("1252").unwrap().name(), "windows-1252");
        assert!(CodePage::parse("klingon").is_none());
    }
}
