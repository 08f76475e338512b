//! Publishing: copies burned on targets (image folders, xorriso pseudo drives), read back and
//! verified before they count, as jobs that survive a crash.

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::*;

mod common;
use common::{dv, json, zbar};

fn archived() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("vault");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample");
    let (rc, r) = common::archive(&vault, &sample, "cd74", &t.path().join("img"));
    assert_eq!(rc, 0, "{r}");
    let img = t.path().join("img/DV-000001.iso");
    (t, vault, img)
}

fn copies(vault: &Path) -> Vec<Value> {
    let (_, c) = json(dv(vault).args(["copies", "list"]));
    c.as_array().unwrap().clone()
}

fn state_of(vault: &Path, id: &str) -> String {
    copies(vault)
        .iter()
        .find(|c| c["copy_id"] == id)
        .map(|c| c["state"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

#[test]
fn images_target_makes_verified_copies_and_a_crashed_job_resumes_without_double_counting() {
    let (t, vault, img) = archived();
    let out = t.path().join("out");
    let to = format!("images:{}", out.display());
    let (rc, r) = json(dv(&vault).args(["publish", "DV-000001", "--to", &to, "--copies", "2"]));
    assert_eq!(rc, 0, "{r}");
    let job = &r["jobs"][0];
    assert_eq!(job["state"], "done", "{r}");
    assert_eq!(r["verified"], 2);
    let original = fs::read(&img).unwrap();
    for (id, role) in [("DV-000001-C1", "sealed"), ("DV-000001-C2", "access")] {
        assert!(
            fs::read(out.join(format!("{id}.iso"))).unwrap() == original,
            "{id}"
        );
        let c = copies(&vault)
            .into_iter()
            .find(|c| c["copy_id"] == id)
            .unwrap();
        assert_eq!(
            (c["state"].as_str(), c["role"].as_str()),
            (Some("verified"), Some(role))
        );
        assert_eq!(c["trusted"], true);
        assert_eq!(c["place"]["cabinet"], "待上架 to be shelved");
    }
    // A kill right after a disc is burned, before it is read back.
    let out2 = t.path().join("out2");
    let to2 = format!("images:{}", out2.display());
    let o = output(
        dv(&vault)
            .env("DISCVAULT_CRASH_AFTER_BURN", "DV-000001-C3")
            .args([
                "publish",
                "DV-000001",
                "--to",
                &to2,
                "--roles",
                "offsite,access",
            ]),
    );
    assert_eq!(o.status.code(), None, "killed by a signal");
    assert_eq!(
        state_of(&vault, "DV-000001-C3"),
        "planned",
        "not counted before its read-back"
    );
    assert_eq!(state_of(&vault, "DV-000001-C4"), "planned");
    let (_, jobs) = json(dv(&vault).arg("jobs"));
    let open = &jobs[1];
    assert_eq!(open["state"], "open", "{jobs}");
    // Burned and recorded with its disc, not yet read back.
    assert_eq!(open["copies"][0]["state"], "burning");
    assert_eq!(
        open["copies"][0]["medium"],
        out2.join("DV-000001-C3.iso").display().to_string()
    );
    assert_eq!(open["copies"][1]["state"], "pending");
    let burned_at = fs::metadata(out2.join("DV-000001-C3.iso"))
        .unwrap()
        .modified()
        .unwrap();
    // The rerun reads the burned disc back instead of burning another, then does the rest.
    let (rc, r) = json(dv(&vault).args(["publish", "--to", &to2]));
    assert_eq!(rc, 0, "{r}");
    assert_eq!(r["jobs"][0]["state"], "done", "{r}");
    assert_eq!(r["jobs"][0]["copies"][0]["attempts"], 1, "{r}");
    assert_eq!(
        fs::metadata(out2.join("DV-000001-C3.iso"))
            .unwrap()
            .modified()
            .unwrap(),
        burned_at
    );
    let all = copies(&vault);
    assert_eq!(all.len(), 4, "no copy registered twice");
    assert!(all.iter().all(|c| c["state"] == "verified"), "{all:?}");
    // Every copy has its replication event.
    let (_, log) = json(dv(&vault).args(["log", "verify"]));
    assert_eq!(log["intact"], true);
}

fn premis(vault: &Path) -> String {
    run(dv(vault).args(["log", "export", "--premis"]))
}

#[test]
fn publish_without_volumes_makes_what_the_policy_lacks_says_when_nothing_is_to_do_and_replaces_a_copy(
) {
    let (t, vault, img) = archived();
    let out = t.path().join("out");
    let to = format!("images:{}", out.display());
    let text = run(dv(&vault).arg("jobs"));
    assert_eq!(text.trim(), "no publishing jobs");

    // No volume named, no open job: the volume has no trusted copy of the 3 the policy asks,
    // so the three configured roles are burned, and the report says why.
    let (rc, r) = json(dv(&vault).args(["publish", "--to", &to]));
    assert_eq!(rc, 0, "{r}");
    assert_eq!(r["published"][0]["volume_id"], "DV-000001", "{r}");
    let why = r["published"][0]["reason"].as_str().unwrap();
    assert!(
        why.contains("0 trusted copies of 3 required") && why.contains("sealed, access, offsite"),
        "{why}"
    );
    assert_eq!(r["verified"], 3, "{r}");
    assert!(r["nothing_to_do"].is_null(), "{r}");
    let roles: Vec<&str> = r["jobs"][0]["copies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["sealed", "access", "offsite"]);

    // Three trusted copies, all waiting to be shelved: short of sites, which discs do not fix.
    let (rc, r) = json(dv(&vault).args(["publish", "--to", &to]));
    assert_eq!((rc, r["jobs"].as_array().unwrap().len()), (0, 0), "{r}");
    let nothing = r["nothing_to_do"].as_str().unwrap();
    assert!(nothing.contains("nothing to publish"), "{nothing}");
    assert_eq!(r["not_published"][0]["volume_id"], "DV-000001");
    assert!(
        r["not_published"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("copies move"),
        "{r}"
    );
    for (c, place) in [
        ("DV-000001-C1", "本馆/A101/柜03/1/5"),
        ("DV-000001-C2", "本馆/A101/柜03/1/6"),
        ("DV-000001-C3", "异地库/B1/柜01/1/1"),
    ] {
        run(dv(&vault).args(["copies", "move", c, "--place", place]));
    }
    // The policy is met: the CLI says plainly that there is nothing to do.
    let o = output(dv(&vault).args(["publish", "--to", &to]));
    assert_eq!(o.status.code(), Some(0));
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.contains("nothing to publish") && said.contains("min_trusted_copies = 3"),
        "{said}"
    );
    // --copies or --roles without a volume are refused rather than ignored.
    let o = output(dv(&vault).args(["publish", "--to", &to, "--copies", "1"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("name the volumes"));

    // The access copy's disc is scratched: a replacement disc is burned for the same copy,
    // which keeps its id, role and place; no copy C4 appears.
    run(dv(&vault).args(["copies", "mark", "DV-000001-C2", "--state", "damaged"]));
    let o = output(dv(&vault).args([
        "publish",
        "DV-000001",
        "--to",
        &to,
        "--replace",
        "C2",
        "--copies",
        "1",
    ]));
    assert_eq!(o.status.code(), Some(2), "--replace and --copies conflict");
    let out2 = t.path().join("replacement");
    let to2 = format!("images:{}", out2.display());
    let (rc, r) = json(dv(&vault).args(["publish", "DV-000001", "--to", &to2, "--replace", "C2"]));
    assert_eq!(rc, 0, "{r}");
    assert_eq!(r["verified"], 1, "{r}");
    let jc = &r["jobs"][0]["copies"];
    assert_eq!(jc.as_array().unwrap().len(), 1, "{r}");
    assert_eq!(
        (jc[0]["copy_id"].as_str(), jc[0]["replaces"].as_str()),
        (Some("DV-000001-C2"), Some("damaged")),
        "{r}"
    );
    assert!(
        r["published"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("replacement disc of copy DV-000001-C2 (damaged"),
        "{r}"
    );
    assert!(fs::read(out2.join("DV-000001-C2.iso")).unwrap() == fs::read(&img).unwrap());
    let all = copies(&vault);
    assert_eq!(all.len(), 3, "no new copy: {all:?}");
    let c2 = all.iter().find(|c| c["copy_id"] == "DV-000001-C2").unwrap();
    assert_eq!(
        (
            c2["state"].as_str(),
            c2["role"].as_str(),
            c2["place_text"].as_str(),
            c2["trusted"].as_bool()
        ),
        (
            Some("verified"),
            Some("access"),
            Some("本馆/A101/柜03/1/6"),
            Some(true)
        ),
        "{c2}"
    );
    let log = premis(&vault);
    assert!(
        log.contains("a replacement disc of copy DV-000001-C2 (now damaged)")
            && log.contains("copy DV-000001-C2 replaced"),
        "{log}"
    );
    // A copy that is not there, or the short form without a volume, is an error.
    let o = output(dv(&vault).args(["publish", "DV-000001", "--to", &to2, "--replace", "C9"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("DV-000001-C9"));
    let o = output(dv(&vault).args(["publish", "--to", &to2, "--replace", "C2"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("name the volume"));
    let (_, log) = json(dv(&vault).args(["log", "verify"]));
    assert_eq!(log["intact"], true);
}

#[test]
fn publish_without_volumes_resumes_the_open_jobs_and_fills_the_other_volumes_short_of_the_policy() {
    let (t, vault, _) = archived();
    // A second volume: records added later, planned and mastered.
    let more = t.path().join("续档");
    fs::create_dir_all(&more).unwrap();
    fs::write(more.join("第二卷.txt"), "第二卷\n").unwrap();
    run(dv(&vault).arg("add").arg(&more));
    run(dv(&vault).args(["plan", "--media", "cd74"]));
    run(dv(&vault)
        .arg("master")
        .arg("--out")
        .arg(t.path().join("img")));
    let to = format!("images:{}", t.path().join("out").display());
    // DV-000001's job is killed after its first disc.
    let o = output(
        dv(&vault)
            .env("DISCVAULT_CRASH_AFTER_BURN", "DV-000001-C1")
            .args(["publish", "DV-000001", "--to", &to]),
    );
    assert_eq!(o.status.code(), None, "killed by a signal");
    // The rerun without volumes finishes that job and makes DV-000002's copies too.
    let (rc, r) = json(dv(&vault).args(["publish", "--to", &to]));
    assert_eq!(rc, 0, "{r}");
    let published: Vec<(&str, &str)> = r["published"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["volume_id"].as_str().unwrap(),
                p["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(published.len(), 2, "{r}");
    assert_eq!(published[0].0, "DV-000001");
    assert!(published[0].1.contains("open job J-000001"), "{r}");
    assert_eq!(published[1].0, "DV-000002");
    assert!(
        published[1].1.contains("0 trusted copies of 3 required"),
        "{r}"
    );
    assert_eq!(r["verified"], 6, "{r}");
    let all = copies(&vault);
    assert_eq!(all.len(), 6, "{all:?}");
    assert!(all.iter().all(|c| c["state"] == "verified"), "{all:?}");
}

#[test]
fn a_catalog_error_is_reported_not_read_as_nothing_to_publish() {
    let (t, vault, _) = archived();
    let out = t.path().join("out");
    let to = format!("images:{}", out.display());
    let (rc, r) = json(dv(&vault).args(["publish", "DV-000001", "--to", &to, "--copies", "1"]));
    assert_eq!(rc, 0, "{r}");
    // A job left open, whose record is garbled.
    common::sql(
        &vault,
        "UPDATE jobs SET state = 'open'; UPDATE job_copies SET state = 'bogus';",
    );
    let o = output(dv(&vault).args(["publish", "--to", &to]));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("job_copies.state") && err.contains("bogus"),
        "{err}"
    );
}

#[test]
fn xorriso_pseudo_drives_are_burned_read_back_and_a_written_disc_is_refused() {
    let (t, vault, img) = archived();
    let (d1, d2) = (t.path().join("drive1"), t.path().join("drive2"));
    let to = format!("xorriso:stdio:{},stdio:{}", d1.display(), d2.display());
    let (rc, r) = json(dv(&vault).args(["publish", "DV-000001", "--to", &to, "--copies", "2"]));
    assert_eq!(rc, 0, "{r}");
    assert_eq!(r["verified"], 2, "{r}");
    assert_eq!(
        r["jobs"][0]["copies"][1]["medium"],
        format!("stdio:{}", d2.display())
    );
    // What is on the pseudo drive is the image, as another reader sees it.
    let x = t.path().join("x");
    extract_xorriso(&d1, &x);
    bagit_validate(&x);
    let len = fs::metadata(&img).unwrap().len() as usize;
    assert!(fs::read(&d2).unwrap()[..len] == fs::read(&img).unwrap()[..]);

    // A drive that already holds a disc is refused, and nothing is counted.
    let to1 = format!("xorriso:stdio:{}", d1.display());
    let o = output(dv(&vault).args(["publish", "DV-000001", "--to", &to1, "--copies", "1"]));
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("drive1") && err.contains("not blank") && err.contains("DV-000001"),
        "{err}"
    );
    assert_eq!(state_of(&vault, "DV-000001-C3"), "planned");
    // With a blank disc in the drive, the rerun finishes the job.
    fs::remove_file(&d1).unwrap();
    let (rc, r) = json(dv(&vault).args(["publish", "--to", &to1]));
    assert_eq!(rc, 0, "{r}");
    assert_eq!(state_of(&vault, "DV-000001-C3"), "verified");
    // xorriso itself reads the burned pseudo drive back.
    let check = output(
        Command::new("xorriso")
            .arg("-indev")
            .arg(format!("stdio:{}", d1.display()))
            .args(["-check_media", "--"]),
    );
    assert!(String::from_utf8_lossy(&check.stdout).contains("+ good"));
}

#[test]
fn labels_carry_codes_that_decode_to_what_the_catalog_holds() {
    let (t, vault, _) = archived();
    run(dv(&vault).args(["copies", "add", "DV-000001", "--place", "本馆/A101/柜03/1/"]));
    run(dv(&vault).args([
        "copies",
        "move",
        "DV-000001-C2",
        "--place",
        "本馆/A101/柜03/1/6",
    ]));
    run(dv(&vault).args([
        "copies",
        "move",
        "DV-000001-C3",
        "--place",
        "异地库/B1/柜01/1/1",
    ]));
    let (_, st) = json(dv(&vault).arg("status"));
    let sha = st["volumes"][0]["image_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let p = |n: &str| t.path().join(n);

    // PNG at print resolution: both codes decode to the catalog's values.
    run(dv(&vault)
        .args(["label", "DV-000001-C1", "--format", "png", "--out"])
        .arg(p("face.png")));
    assert_eq!(
        zbar(&p("face.png")),
        [
            ("CODE-128".to_string(), "DV-000001-C1".to_string()),
            (
                "QR-Code".to_string(),
                format!("discvault:v1;volume=DV-000001;copy=DV-000001-C1;image-sha256={sha}")
            )
        ]
    );
    let png = output(Command::new("file").arg(p("face.png")));
    assert!(
        String::from_utf8_lossy(&png.stdout).contains("2835 x 2835"),
        "120 mm at 600 dpi"
    );

    // PDF: 120 mm square, vector, the CJK font embedded, the text readable, the codes still
    // decode from a rendering of it.
    run(dv(&vault)
        .args(["label", "DV-000001-C2", "--out"])
        .arg(p("face.pdf")));
    let info = run(Command::new("pdfinfo").arg(p("face.pdf")));
    assert!(info.contains("340.157 x 340.157 pts"), "{info}");
    let fonts = run(Command::new("pdffonts").arg(p("face.pdf")));
    assert!(
        fonts.contains("WenQuanYi") && fonts.contains(" yes yes "),
        "{fonts}"
    );
    let text = run(Command::new("pdftotext").arg(p("face.pdf")).arg("-"));
    for needle in [
        "DV-000001",
        "利用 access",
        "sample/全宗-J001/2024/ (5)",
        "城管执法案卷",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
    run(Command::new("pdftoppm")
        .args(["-r", "400", "-png", "-singlefile"])
        .arg(p("face.pdf"))
        .arg(p("pdfface")));
    let codes = zbar(&p("pdfface.png"));
    assert!(
        codes.contains(&("CODE-128".into(), "DV-000001-C2".into())),
        "{codes:?}"
    );

    // SVG: well-formed, with the three pictures of the volume as thumbnails.
    run(dv(&vault)
        .args(["label", "DV-000001", "--format", "svg", "--out"])
        .arg(p("face.svg")));
    run(Command::new("xmllint").arg("--noout").arg(p("face.svg")));
    let svg = fs::read_to_string(p("face.svg")).unwrap();
    assert_eq!(svg.matches("data:image/png;base64").count(), 3);

    // A template of one's own, with merge fields.
    fs::write(
        p("mine.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"80mm\" height=\"40mm\" viewBox=\"0 0 80 40\"><text x=\"5\" y=\"8\" font-size=\"5\">{{volume_id}} {{role}}</text><g transform=\"translate(5 12)\">{{barcode:70:20}}</g></svg>",
    )
    .unwrap();
    run(dv(&vault)
        .args(["label", "DV-000001-C1", "--format", "png", "--template"])
        .arg(p("mine.svg"))
        .arg("--out")
        .arg(p("mine.png")));
    assert_eq!(
        zbar(&p("mine.png")),
        [("CODE-128".into(), "DV-000001-C1".into())]
    );
    fs::write(p("bad.svg"), "<svg>{{volume id}}</svg>").unwrap();
    let o = output(
        dv(&vault)
            .args(["label", "DV-000001-C1", "--template"])
            .arg(p("bad.svg"))
            .arg("--out")
            .arg(p("bad.pdf")),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad.svg"));

    // The case spine, and a sheet of slot labels for the cabinet.
    run(dv(&vault)
        .args(["label", "DV-000001-C3", "--spine", "--out"])
        .arg(p("spine.pdf")));
    let text = run(Command::new("pdftotext").arg(p("spine.pdf")).arg("-"));
    assert!(
        text.contains("DV-000001") && text.contains("异地 offsite"),
        "{text}"
    );
    run(dv(&vault)
        .args(["label", "--slots", "柜03", "--out"])
        .arg(p("slots.pdf")));
    run(Command::new("pdftoppm")
        .args(["-r", "300", "-png", "-singlefile"])
        .arg(p("slots.pdf"))
        .arg(p("slots")));
    let codes: Vec<String> = zbar(&p("slots.png")).into_iter().map(|c| c.1).collect();
    assert_eq!(
        codes,
        ["DV-000001-C1", "DV-000001-C2"],
        "the two copies in 柜03"
    );
    let text = run(Command::new("pdftotext").arg(p("slots.pdf")).arg("-"));
    assert!(text.contains("本馆/A101/柜03/1/6"), "{text}");

    // Templates chosen by name: the shipped ones of each kind, and one of the vault's own.
    let (rc, list) = json(dv(&vault).args(["label", "--list-templates"]));
    assert_eq!(rc, 0, "{list}");
    let names = |kind: &str| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .filter(|t| t["kind"] == kind)
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names("face"), ["standard", "tree", "plain"], "{list}");
    assert_eq!(names("spine"), ["standard", "slim"]);
    assert_eq!(names("slot"), ["standard", "small"]);
    // The plain face: the barcode, and no QR code.
    run(dv(&vault)
        .args(["label", "DV-000001-C2", "--template", "plain", "--out"])
        .arg(p("plain.png")));
    assert_eq!(
        zbar(&p("plain.png")),
        [("CODE-128".into(), "DV-000001-C2".into())]
    );
    // Small slot labels: the same two copies, on one page.
    run(dv(&vault)
        .args(["label", "--slots", "柜03", "--template", "small", "--out"])
        .arg(p("small.pdf")));
    run(Command::new("pdftoppm")
        .args(["-r", "300", "-png", "-singlefile"])
        .arg(p("small.pdf"))
        .arg(p("small")));
    let codes: Vec<String> = zbar(&p("small.png")).into_iter().map(|c| c.1).collect();
    assert_eq!(codes, ["DV-000001-C1", "DV-000001-C2"]);
    // A name that is not a template of the kind is refused, with the names there are.
    let o = output(
        dv(&vault)
            .args(["label", "DV-000001", "--template", "slim", "--out"])
            .arg(p("x.pdf")),
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("\"slim\": no face template") && err.contains("standard, tree, plain"),
        "{err}"
    );
    assert!(!p("x.pdf").exists());
    // The vault's own template, named in discvault.toml and made the face's default: the
    // publisher's printed labels use it too.
    fs::create_dir_all(vault.join("labels")).unwrap();
    fs::write(
        vault.join("labels/本馆.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"120mm\" height=\"120mm\" viewBox=\"0 0 120 120\"><text x=\"20\" y=\"30\" font-size=\"6\">本馆自制 {{volume_id}}</text><g transform=\"translate(30 70)\">{{barcode:60:15}}</g></svg>",
    )
    .unwrap();
    let toml = vault.join("discvault.toml");
    let cfg = fs::read_to_string(&toml).unwrap();
    let own = cfg
        .replace("face_template = \"standard\"", "face_template = \"本馆\"")
        .replace(
            "slot_template = \"standard\"",
            "slot_template = \"standard\"\n\n[[label.templates]]\nname = \"本馆\"\nkind = \"face\"\nfile = \"labels/本馆.svg\"\nabout = \"本馆自制\"",
        );
    assert_ne!(own, cfg);
    fs::write(&toml, &own).unwrap();
    let (rc, list) = json(dv(&vault).args(["label", "--list-templates"]));
    assert_eq!(rc, 0, "{list}");
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "本馆")
        .unwrap();
    assert_eq!(mine["shipped"], false);
    assert_eq!(mine["default"], true);
    run(dv(&vault)
        .args(["label", "DV-000001-C1", "--out"])
        .arg(p("own.pdf")));
    let text = run(Command::new("pdftotext").arg(p("own.pdf")).arg("-"));
    assert!(text.contains("本馆自制 DV-000001"), "{text}");
    // Its file gone: the error names the file, not the disc.
    fs::remove_file(vault.join("labels/本馆.svg")).unwrap();
    let o = output(
        dv(&vault)
            .args(["label", "DV-000001-C1", "--out"])
            .arg(p("own2.pdf")),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("labels/本馆.svg"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A default that names no template is refused when the vault is opened.
    fs::write(
        &toml,
        cfg.replace("spine_template = \"standard\"", "spine_template = \"wide\""),
    )
    .unwrap();
    let o = output(dv(&vault).args(["status"]));
    assert_ne!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("label.spine_template = \"wide\"") && err.contains("standard, slim"),
        "{err}"
    );
    fs::write(&toml, &cfg).unwrap();
}
