//! The publisher files fuzz target, shared by the fuzzer (`examples/fuzz_publisher.rs`) and the
//! corpus replay (`tests/fuzz_corpus.rs`). The input is one file of a disc publisher's hot
//! folder, read by every reader that could meet it, as discvault and the simulators read them:
//! decoded in the code page (GBK, then UTF-8, as `CodePage::decode` does), then as a TD Bridge
//! job (`Jdf::parse`), a PTBurn job request (`Jrq::parse`), a PTBurn message
//! (`Message::parse`), `TDBStatus.txt` (`read_status`, a job's counts, the drive progress), a
//! PTBurn robot status file and `SystemStatus.txt` (`job_status`, `system_error`, from a
//! status folder holding the input), and plain INI (`Ini::parse`).

use discpublisher::ini::Ini;
use discpublisher::{ptburn, tdbridge, CodePage};
use std::path::Path;

/// Job ids of the seeds, asked for in every status file.
const JOBS: [&str; 3] = ["J-000001-DV-000001-C1-1", "J-000002-DV-000001-C2-1", "A"];

/// Section names past these are not asked for (discvault asks for its own jobs only).
const SECTIONS_ASKED: usize = 2;

/// The seeds: the files our writers put in a hot folder (job files and messages through
/// `submit`/`cancel`/`send`, in GBK and UTF-8), and status files written with `Ini::to_text` as
/// the simulators write them (the keys and values of a job under way, finished, failed,
/// waiting for the load/unload override). Writes into `dir`.
pub fn seeds(dir: &Path) -> Vec<Vec<u8>> {
    std::fs::create_dir_all(dir).unwrap();
    let mut out = Vec::new();
    let jdf = tdbridge::Jdf {
        job_id: JOBS[0].into(),
        publisher: Some("PP-100II".into()),
        copies: 2,
        out_stacker: Some(2),
        disc_type: "DVD".into(),
        format: "UDF102".into(),
        data: vec![
            (
                "D:\\spool\\DV-000001\\文书档案".into(),
                Some("文书档案".into()),
            ),
            ("D:\\spool\\DV-000001\\discvault".into(), None),
        ],
        volume_label: Some("DV-000001".into()),
        label: Some("D:\\labels\\archive.tdd".into()),
        replace_field: Some("D:\\spool\\J-000001.dat".into()),
        priority_high: true,
        extra: vec![("COMPARE".into(), "YES".into())],
    };
    let jrq = ptburn::Jrq {
        job_id: JOBS[1].into(),
        client_id: "discvault".into(),
        image_file: "D:\\spool\\DV-000001.iso".into(),
        copies: 1,
        volume_name: "DV-000001".into(),
        verify_disc: true,
        reject_if_not_blank: true,
        print_label: Some("D:\\spool\\J-000002.jpg".into()),
        merge_fields: vec!["文书档案".into(), "DV-000001-C2".into()],
        load_unload_override: true,
        extra: vec![("CloseDisc".into(), "YES".into())],
    };
    for cp in [CodePage::GBK, CodePage::UTF8] {
        let sub = dir.join(format!("seed-{}", cp.name()));
        std::fs::create_dir_all(&sub).unwrap();
        out.push(std::fs::read(tdbridge::submit(&sub, &jdf, cp).unwrap()).unwrap());
        out.push(std::fs::read(tdbridge::cancel(&sub, JOBS[0], cp).unwrap()).unwrap());
        out.push(std::fs::read(ptburn::submit(&sub, &jrq, cp).unwrap()).unwrap());
        for (i, m) in [
            ptburn::Message::Abort {
                client_id: "discvault".into(),
            },
            ptburn::Message::ProcessDisc { disc: 0 },
            ptburn::Message::UnloadDisc { disc: 0 },
            ptburn::Message::RejectDisc { disc: 1 },
        ]
        .iter()
        .enumerate()
        {
            let id = format!("M{i}");
            assert!(ptburn::send(&sub, &id, m, cp).unwrap());
            out.push(std::fs::read(ptburn::message_path(&sub, &id)).unwrap());
        }
        std::fs::remove_dir_all(&sub).unwrap();
    }
    // TDBStatus.txt: a job under way and one finished with a disc in error (GBK: the error text
    // in Chinese).
    let mut st = Ini::default();
    st.set("PUBLISHER1", "NAME", "PP-100II 光盘刻录机");
    st.set("PUBLISHER1", "STACKER1", 48);
    st.set("PUBLISHER1", "DRIVE1_PROGRESS", 57);
    st.set("PUBLISHER1", "DRIVE2_PROGRESS", 0);
    st.set("PUBLISHER1", "INK_C", 80);
    st.set("ACTIVE_JOB", "JOB1", JOBS[0]);
    st.set(JOBS[0], "STATUS", tdbridge::job_status::PROCESSING);
    st.set(JOBS[0], "PUBLICATION_NUMBER", 2);
    st.set(JOBS[0], "COMPLETION_NUMBER", 1);
    st.set(JOBS[0], "ERRORDISC_NUMBER", 0);
    st.set(JOBS[0], "ERROR", "");
    st.set("COMPLETE_JOB", "JOB1", "A");
    st.set("A", "STATUS", tdbridge::job_status::ABNORMAL);
    st.set("A", "PUBLICATION_NUMBER", 1);
    st.set("A", "COMPLETION_NUMBER", 0);
    st.set("A", "ERRORDISC_NUMBER", 1);
    st.set("A", "ERROR", "光盘写入失败 write error");
    st.set("A", "ESTIMATION_TIME", 0);
    let tdb = st.to_text("=");
    out.push(CodePage::GBK.encode("TDBStatus.txt", &tdb).unwrap());
    out.push(tdb.into_bytes());
    // A PTBurn robot's status: a disc held for the read-back, a job failed; SystemStatus.txt.
    let mut r = Ini::default();
    let id = JOBS[1];
    r.set(id, "JobState", ptburn::job_state::RUNNING);
    r.set(id, "CurrentStatusState", ptburn::status_state::RECORDING);
    r.set(id, "CurrentStatus", "Recording disc");
    r.set(id, "JobErrorNumber", 0);
    r.set(id, "JobErrorString", "");
    r.set(id, "GoodDiscs", 0);
    r.set(id, "BadDiscs", 0);
    r.set(id, "DiscsRemaining", 1);
    r.set(id, "LoadDiscState0", ptburn::load_state::PROCESSED_HOLD);
    r.set(id, "LoadDiscDrive0", "F");
    r.set("RobotStatus", "DrivePercent0", 42);
    r.set("A", "JobState", ptburn::job_state::FAILED);
    r.set("A", "CurrentStatusState", ptburn::status_state::FAILED);
    r.set("A", "JobErrorNumber", 2);
    r.set("A", "JobErrorString", "光盘被拒 disc rejected");
    let robot = r.to_text(" = ");
    out.push(CodePage::GBK.encode("Robot.txt", &robot).unwrap());
    out.push(robot.into_bytes());
    let mut s = Ini::default();
    s.set("System", "SysErrorNumber", 5);
    s.set("System", "SysErrorString", "打印机墨水不足 ink low");
    s.set("RobotList", "Robot0", "Bravo 4100");
    out.push(
        CodePage::GBK
            .encode("SystemStatus.txt", &s.to_text(" = "))
            .unwrap(),
    );
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Read by no reader without an error (text, but not a file of the protocols).
    Refused,
    /// Read by at least one reader.
    Read,
}

/// Runs one input; `dir` is a scratch folder (the status folder PTBurn's readers look in).
/// Errors are fine, a panic is a finding.
pub fn run(dir: &Path, data: &[u8]) -> Outcome {
    let mut read = false;
    let status = dir.join("Status");
    std::fs::create_dir_all(&status).unwrap();
    std::fs::write(status.join("Robot.txt"), data).unwrap();
    std::fs::write(status.join("SystemStatus.txt"), data).unwrap();
    std::fs::write(dir.join("TDBStatus.txt"), data).unwrap();
    for cp in [CodePage::GBK, CodePage::UTF8] {
        let text = cp.decode(data);
        read |= tdbridge::Jdf::parse("x.JDF", &text).is_ok();
        read |= ptburn::Jrq::parse("x.JRQ", &text).is_ok();
        read |= ptburn::Message::parse(&text).is_some();
        let ini = Ini::parse(&text);
        let mut ids: Vec<String> = JOBS.iter().map(|s| s.to_string()).collect();
        ids.extend(
            ini.sections
                .iter()
                .take(SECTIONS_ASKED)
                .map(|(n, _)| n.clone()),
        );
        if let Some(st) = tdbridge::read_status(&dir.join("TDBStatus.txt"), cp).unwrap() {
            for id in &ids {
                read |= matches!(st.job(id), Ok(Some(_)));
            }
            read |= matches!(st.drive_progress(), Ok(Some(_)));
            let _ = st.publishers();
        }
        for id in &ids {
            read |= matches!(ptburn::job_status(&status, id, cp), Ok(Some(_)));
        }
        read |= matches!(ptburn::system_error(&status, cp), Ok(Some(_)));
    }
    if read {
        Outcome::Read
    } else {
        Outcome::Refused
    }
}
