//! Catalog benchmark (issue 12), on SQLite or PostgreSQL.
//!
//! Fills a vault's catalog through the library's bulk path (`Catalog::record_ingest`, what
//! `discvault add` records files with) with records shaped like real holdings: collections per
//! archive category with metadata, paths 全宗/年度/卷/件 with Chinese titles
//! (`J001/2015/卷0012/件003-关于加强安全生产工作的通知.pdf`), planned onto volumes by the
//! planner, volumes recorded as mastered, three copies each with places, barcodes and past
//! read-backs. Then times, in-process: 1,000 mixed locate queries (one and two Chinese
//! characters, substrings, path pieces, digests, barcodes, metadata, misses), `status`,
//! `report` (built and rendered as HTML) and `inspect due`.
//!
//! usage: locate_bench VAULT_DIR [FILES] [--catalog URL] [--media PROFILE] [--round FILES]
//!                     [--fill-only]
//!
//! The vault is created when missing (and filled); an existing vault is only measured.
//! Files are ingested in batches of 50,000 and planned after every round of `--round` files
//! (1,000,000 by default), as an archive plans what it has taken in.

use discvault::catalog::copies::{CopyChange, CopyState, NewCopy, Place};
use discvault::catalog::{FileKind, NewFile};
use discvault::digest::{digest_bytes, HashAlg};
use discvault::plan::PlanOptions;
use discvault::progress::NoProgress;
use discvault::Vault;
use std::collections::BTreeMap;
use std::time::Instant;

/// Collections (archive categories, per retention period) and their share of the files, in
/// twentieths.
const COLLECTIONS: [(&str, &str, &str, u64); 8] = [
    ("文书档案-永久", "文书档案", "永久", 5),
    ("文书档案-30年", "文书档案", "30年", 4),
    ("文书档案-10年", "文书档案", "10年", 3),
    ("会计档案-30年", "会计档案", "30年", 3),
    ("照片档案-永久", "照片档案", "永久", 2),
    ("科技档案-永久", "科技档案", "永久", 1),
    ("城建档案-永久", "城建档案", "永久", 1),
    ("声像档案-永久", "声像档案", "永久", 1),
];
const TOPICS: [&str; 24] = [
    "加强安全生产工作",
    "做好防汛抗旱工作",
    "开展档案执法检查",
    "印发年度工作要点",
    "召开全市档案工作会议",
    "调整领导小组成员",
    "推进数字档案馆建设",
    "规范公文处理",
    "下达年度财政预算",
    "开展节能减排",
    "表彰先进集体和个人",
    "做好信访维稳工作",
    "加强疫情防控",
    "开展消防安全大检查",
    "成立城市管理执法局",
    "征收国有土地上房屋",
    "批准建设用地规划",
    "落实河长制",
    "开展扶贫资金审计",
    "启用新印章",
    "做好春节期间值班",
    "推行政务公开",
    "举办职工运动会",
    "报送统计数据",
];
const DOC_TYPES: [&str; 8] = [
    "通知",
    "请示",
    "批复",
    "报告",
    "会议纪要",
    "决定",
    "意见",
    "函",
];
const EVENTS: [&str; 8] = [
    "市政府常务会议",
    "防汛现场",
    "城市风貌",
    "重点项目开工仪式",
    "人大代表视察",
    "运动会",
    "新区建设",
    "档案馆新馆落成",
];

/// Files for one `record_ingest` call, none replacing an earlier version.
type Batch = Vec<(NewFile, Option<(i64, i64)>)>;

fn mix(mut x: u64) -> u64 {
    // splitmix64: a fixed pseudo-random choice per file.
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Collection index of file `i`.
fn collection_of(i: u64) -> usize {
    let mut t = mix(i) % 20;
    for (k, c) in COLLECTIONS.iter().enumerate() {
        if t < c.3 {
            return k;
        }
        t -= c.3;
    }
    0
}

/// Path of file `i` (without its collection) and its size: 30 items (件) per file unit (卷),
/// units dealt over 50 fonds (全宗) × 25 years.
fn record(i: u64) -> (String, u64) {
    let r = mix(i ^ 0xA5A5);
    let unit = i / 30;
    let item = i % 30 + 1;
    let fonds = unit % 50 + 1;
    let year = 2000 + unit / 50 % 25;
    let juan = unit / 1250 + 1;
    let head = format!("J{fonds:03}/{year}/卷{juan:04}/件{item:03}");
    match COLLECTIONS[collection_of(i)].1 {
        "照片档案" => (
            format!("{head}-{}{}.jpg", EVENTS[(r % 8) as usize], r % 90 + 10),
            2_000_000 + r % 6_000_000,
        ),
        "声像档案" => (
            format!("{head}-{}.mp4", EVENTS[(r % 8) as usize]),
            50_000_000 + r % 400_000_000,
        ),
        "会计档案" => (
            format!("{head}-记账凭证第{:04}号.pdf", r % 5000),
            100_000 + r % 1_000_000,
        ),
        _ => (
            format!(
                "{head}-关于{}的{}.{}",
                TOPICS[(r % 24) as usize],
                DOC_TYPES[(r / 24 % 8) as usize],
                if r.is_multiple_of(5) { "ofd" } else { "pdf" }
            ),
            50_000 + r % 3_000_000,
        ),
    }
}

fn content_digests(i: u64) -> discvault::digest::Digests {
    digest_bytes(&[HashAlg::Sha256], &i.to_le_bytes())
}

fn hex_digest(i: u64) -> String {
    content_digests(i).get(HashAlg::Sha256).unwrap().to_string()
}

struct Args {
    dir: std::path::PathBuf,
    files: u64,
    catalog: Option<String>,
    media: String,
    round: u64,
    fill_only: bool,
}

fn args() -> Result<Args, Box<dyn std::error::Error>> {
    let mut a = Args {
        dir: Default::default(),
        files: 1_000_000,
        catalog: None,
        media: "dvd5".into(),
        round: 1_000_000,
        fill_only: false,
    };
    let mut pos = 0;
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        match x.as_str() {
            "--catalog" => a.catalog = it.next(),
            "--media" => a.media = it.next().ok_or("--media PROFILE")?,
            "--fill-only" => a.fill_only = true,
            "--round" => a.round = it.next().ok_or("--round FILES")?.parse()?,
            _ if pos == 0 => {
                a.dir = x.into();
                pos += 1
            }
            _ if pos == 1 => {
                a.files = x.parse()?;
                pos += 1
            }
            _ => return Err(format!("unexpected argument {x:?}").into()),
        }
    }
    if pos == 0 {
        return Err(
            "usage: locate_bench VAULT_DIR [FILES] [--catalog URL] [--media P] [--round N] [--fill-only]".into(),
        );
    }
    Ok(a)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = args()?;
    let (vault, created) = Vault::open_or_init_with(&a.dir, a.catalog.as_deref())?;
    let n = if created {
        fill(&vault, &a)?;
        if a.fill_only {
            return Ok(());
        }
        a.files
    } else {
        discvault::status::status(&vault)?.ingested.files
    };
    measure(&vault, n)
}

/// Places of the copies: the sealed and access copies in cabinets of the archive's disc store,
/// the offsite copy at the backup centre; 8 shelves of 50 slots per cabinet.
fn place(volume: u64, role: usize) -> Place {
    let (site, room) = match role {
        2 => ("异地备份中心", "B1库房"),
        _ => ("市档案馆", "光盘库房"),
    };
    let n = if role == 1 { volume + 200_000 } else { volume };
    Place {
        site: site.into(),
        room: room.into(),
        cabinet: format!("光盘柜{:03}", n / 400 + 1),
        shelf: (n / 50 % 8 + 1).to_string(),
        slot: (n % 50 + 1).to_string(),
    }
}

fn barcode(volume: u64, role: usize) -> String {
    format!("DA{volume:06}{}", ["F", "L", "Y"][role])
}

fn fill(vault: &Vault, a: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut cols = Vec::new();
    for (name, series, retention, _) in COLLECTIONS {
        let meta: BTreeMap<String, String> = [
            ("fonds", "J001-J050"),
            ("series", series),
            ("retention", retention),
            ("保管单位", "市档案馆"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        cols.push(vault.catalog.ensure_collection(name, &meta, false)?.0.id);
    }
    let (mut t_ingest, mut t_plan, mut t_copies) = (0.0, 0.0, 0.0);
    let mut volumes_done = 0u64;
    let mut start = 0u64;
    let roles = ["sealed", "access", "offsite"];
    let now = discvault::now_unix();
    while start < a.files {
        let end = (start + a.round).min(a.files);
        // Ingest: batches of 50,000 files, one collection per record_ingest call (as `add`
        // records one collection per transaction).
        let t = Instant::now();
        let mut batches: Vec<Batch> = vec![Vec::new(); cols.len()];
        for i in start..end {
            let c = collection_of(i);
            let (p, size) = record(i);
            batches[c].push((
                NewFile {
                    path_raw: p.clone().into_bytes(),
                    kind: FileKind::File,
                    size,
                    mtime: 1_420_070_400 + (i as i64 % 300_000_000),
                    mode: 0o644,
                    link_target: None,
                    source: format!("/data/收集/{}/{p}", COLLECTIONS[c].0).into_bytes(),
                    staged: false,
                    digests: content_digests(i),
                },
                None,
            ));
            if batches[c].len() == 50_000 {
                vault
                    .catalog
                    .record_ingest(cols[c], &batches[c], "synthetic")?;
                batches[c].clear();
            }
        }
        for (c, b) in batches.iter().enumerate() {
            if !b.is_empty() {
                vault.catalog.record_ingest(cols[c], b, "synthetic")?;
            }
        }
        let dt = t.elapsed().as_secs_f64();
        t_ingest += dt;
        eprintln!(
            "ingested files {start}..{end} in {dt:.1} s ({:.0} files/s)",
            (end - start) as f64 / dt
        );
        // Plan what was taken in, record the volumes as mastered, register three copies each.
        let t = Instant::now();
        let plan = discvault::plan::plan_and_record(
            vault,
            &PlanOptions {
                media: Some(a.media.clone()),
                ..Default::default()
            },
            false,
            &NoProgress,
        )?;
        let dtp = t.elapsed().as_secs_f64();
        t_plan += dtp;
        eprintln!("planned {} volumes in {dtp:.1} s", plan.volumes.len());
        let t = Instant::now();
        for pv in &plan.volumes {
            let v = vault.catalog.volume(&pv.volume_id)?;
            vault.catalog.record_master(
                &v,
                &hex_digest(u64::MAX - v.id as u64),
                pv.image_bytes,
                &[],
                "synthetic",
            )?;
            let vn = v.id as u64;
            let new: Vec<NewCopy> = (0..3)
                .map(|role| NewCopy {
                    barcode: Some(barcode(vn, role)),
                    role: roles[role].into(),
                    medium: a.media.clone(),
                    brand: "中国紫光档案级".into(),
                    batch: format!("2024-{:02}", vn % 12 + 1),
                    state: Some(CopyState::Written),
                    place: place(vn, role),
                    ..Default::default()
                })
                .collect();
            // Past read-backs recorded as `copies mark --state verified --at DATE` records
            // them (copies::mark without its settle pass over all copies, which makes marking
            // copies one by one quadratic: nothing here replaces anything), the last clean
            // check spread over the past five years (some past due).
            let changes: Vec<CopyChange> = vault
                .catalog
                .add_copies(&v.volume_id, &new)?
                .into_iter()
                .map(|mut c| {
                    let at = now - (mix(vn * 3 + c.id as u64) % (5 * 365)) as i64 * 86_400 - 3600;
                    c.state = CopyState::Verified;
                    c.verified_at = Some(at);
                    CopyChange {
                        detail: format!("copy {} marked verified (synthetic)", c.copy_id),
                        copy: c,
                        event_type: "fixity check",
                        outcome: "success",
                    }
                })
                .collect();
            vault.catalog.update_copies(&changes)?;
        }
        let dtc = t.elapsed().as_secs_f64();
        t_copies += dtc;
        volumes_done += plan.volumes.len() as u64;
        eprintln!("volumes mastered, 3 copies each, in {dtc:.1} s");
        start = end;
    }
    println!(
        "fill files={} ingest_s={t_ingest:.1} files_per_s={:.0} plan_s={t_plan:.1} copies_s={t_copies:.1} volumes={volumes_done} copies={}",
        a.files,
        a.files as f64 / t_ingest,
        volumes_done * 3
    );
    Ok(())
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

const KINDS: [&str; 10] = [
    "1 Chinese character",
    "2 Chinese characters",
    "Chinese substring (4-9 chars)",
    "substring with digits",
    "path piece fonds/year",
    "path piece fonds/year/卷",
    "sha256 digest",
    "barcode (locate --barcode)",
    "metadata KEY=VALUE",
    "Latin / miss",
];

fn query(k: u64, n: u64, volumes: u64) -> String {
    let r = mix(k ^ 0x5151);
    match k % 10 {
        0 => ["纪", "函", "照", "批", "档", "税", "汛", "甲", "乙", "鑫"][(k / 10 % 10) as usize]
            .to_string(),
        1 => [
            "会议", "通知", "安全", "批复", "防汛", "凭证", "照片", "档案", "预算", "熊猫",
        ][(k / 10 % 10) as usize]
            .to_string(),
        2 => [
            "安全生产",
            "关于印发年度工作要点",
            "数字档案馆",
            "开工仪式",
            "记账凭证",
            "城市管理执法局的决定",
            "政务公开的意见",
            "河长制",
            "人大代表视察",
            "不存在的标题",
        ][(k / 10 % 10) as usize]
            .to_string(),
        3 => match k / 10 % 3 {
            0 => format!("件{:03}-关于", r % 30 + 1),
            1 => format!("第{:04}号", r % 5000),
            _ => format!("{}{}", EVENTS[(r % 8) as usize], r % 90 + 10),
        },
        4 => format!("J{:03}/{}", r % 50 + 1, 2000 + r / 50 % 25),
        5 => {
            // A unit that exists: one of the first n files' paths cut after 卷.
            let (p, _) = record(r % n);
            p.split('/').take(3).collect::<Vec<_>>().join("/")
        }
        6 => hex_digest(r % n),
        7 => barcode(r % volumes.max(1) + 1, (r % 3) as usize),
        8 => [
            "retention=永久",
            "series=照片档案",
            "collection=会计档案-30年",
            "保管单位=市档案馆",
            "retention=5年",
        ][(k / 10 % 5) as usize]
            .to_string(),
        _ => [".OFD", "jpg", "mp4", "nothing-here", "J051/2030"][(k / 10 % 5) as usize].to_string(),
    }
}

fn measure(vault: &Vault, n: u64) -> Result<(), Box<dyn std::error::Error>> {
    let volumes = vault.catalog.volumes()?.len() as u64;
    let mut times = Vec::new();
    let mut hits = [0usize; 10];
    let mut examples: Vec<String> = Vec::new();
    for k in 0..1000u64 {
        let q = query(k, n, volumes);
        let t = Instant::now();
        let found = if k % 10 == 7 {
            discvault::locate::locate_barcode(vault, &q).map(|_| 1)?
        } else {
            discvault::locate::locate(vault, &q, 100)?.len()
        };
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        hits[(k % 10) as usize] += found;
        if k < 10 {
            examples.push(q);
        }
    }
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "locate files={n} queries={} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        times.len(),
        pct(&sorted, 0.50),
        pct(&sorted, 0.99),
        sorted[sorted.len() - 1]
    );
    println!("| query kind | example | results (100 queries) | p50 | p99 | max |");
    println!("|---|---|---:|---:|---:|---:|");
    for kind in 0..10 {
        let mut k: Vec<f64> = times.iter().skip(kind).step_by(10).copied().collect();
        k.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let ex = if kind == 6 {
            format!("{}…", &examples[kind][..12])
        } else {
            examples[kind].clone()
        };
        println!(
            "| {} | `{ex}` | {} | {:.2} ms | {:.2} ms | {:.2} ms |",
            KINDS[kind],
            hits[kind],
            pct(&k, 0.5),
            pct(&k, 0.99),
            k[k.len() - 1]
        );
    }
    // status, report, inspect due, in-process: 5 runs, or fewer (at least 2) once they have
    // taken 30 s.
    let now = discvault::now_unix();
    let time5 = |name: &str, f: &dyn Fn() -> discvault::Result<usize>| {
        let mut t: Vec<f64> = Vec::new();
        let mut size = 0;
        while t.len() < 5 && (t.len() < 2 || t.iter().sum::<f64>() < 30_000.0) {
            let s = Instant::now();
            size = f()?;
            t.push(s.elapsed().as_secs_f64() * 1000.0);
        }
        t.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "{name} runs={} min_ms={:.1} median_ms={:.1} max_ms={:.1} ({size})",
            t.len(),
            t[0],
            t[t.len() / 2],
            t[t.len() - 1]
        );
        Ok::<_, discvault::Error>(())
    };
    time5("status", &|| {
        discvault::status::status(vault).map(|s| s.ingested.files as usize)
    })?;
    time5("report", &|| {
        discvault::report::build(vault, now).map(|r| discvault::report::html(&r).len())
    })?;
    time5("inspect_due", &|| {
        discvault::inspect::due(vault, now).map(|d| d.copies.len())
    })?;
    Ok(())
}
