//! Locate benchmark: fills a vault's catalog with synthetic records shaped like the shared
//! corpus (Chinese names, deep folders) and times 1,000 queries of every kind in-process.
//!
//! usage: locate_bench VAULT_DIR [FILES]   (default 1,000,000 files; the vault is created)

use discvault::catalog::{FileKind, NewFile};
use discvault::digest::{digest_bytes, HashAlg};
use discvault::Vault;
use std::collections::BTreeMap;
use std::time::Instant;

const WORDS: [&str; 12] = [
    "通知",
    "会议纪要",
    "报告",
    "请示",
    "批复",
    "函",
    "决定",
    "意见",
    "合同",
    "发票",
    "照片",
    "扫描件",
];
const FONDS: [&str; 4] = ["全宗-J001", "全宗-J002", "Records-2024", "城管执法案卷"];

fn path(i: u64) -> String {
    format!(
        "{}/{}/卷{:03}/件{:02}/文书-{:07}-{}.pdf",
        FONDS[(i % 4) as usize],
        2015 + i % 10,
        i % 97,
        i % 13,
        i,
        WORDS[(i * 7 % 12) as usize]
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::Path::new(&args[1]);
    let n: u64 = args
        .get(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let (vault, created) = Vault::open_or_init(dir)?;
    if created {
        let t = Instant::now();
        let (col, _) = vault
            .catalog
            .ensure_collection("bench", &BTreeMap::new(), false)?;
        let mut batch = Vec::new();
        for i in 0..n {
            let p = path(i);
            batch.push((
                NewFile {
                    path_raw: p.clone().into_bytes(),
                    kind: FileKind::File,
                    size: i,
                    mtime: 0,
                    mode: 0o644,
                    link_target: None,
                    source: p.into_bytes(),
                    staged: false,
                    digests: digest_bytes(&[HashAlg::Sha256], &i.to_le_bytes()),
                },
                None,
            ));
            if batch.len() == 50_000 || i + 1 == n {
                vault.catalog.record_ingest(col.id, &batch, "synthetic")?;
                batch.clear();
            }
        }
        eprintln!(
            "catalog of {n} files built in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    // 1,000 queries: 1 and 2 Chinese characters, longer substrings, digests, misses.
    let mut queries: Vec<String> = Vec::new();
    for k in 0..1000u64 {
        let q = match k % 8 {
            0 => ["纪", "函", "照", "批", "卷", "档", "甲", "乙"][(k / 8 % 8) as usize].to_string(),
            1 => [
                "会议", "通知", "扫描", "合同", "决定", "档案", "发票", "请示",
            ][(k / 8 % 8) as usize]
                .to_string(),
            2 => format!("文书-{:07}", k * 997 % n),
            3 => format!("J00{}/20{}", 1 + k % 2, 15 + k % 10),
            4 => format!("卷{:03}/件{:02}", k % 97, k % 13),
            5 => hex_digest(k * 7919 % n),
            6 => format!("records-2024/{}", 2015 + k % 10),
            _ => format!("nothing-{k}"),
        };
        queries.push(q);
    }
    let mut times = Vec::new();
    let mut hits = 0usize;
    for q in &queries {
        let t = Instant::now();
        let found = discvault::locate::locate(&vault, q, 100)?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        hits += found.len();
    }
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)];
    println!(
        "locate over {n} files, {} queries ({hits} results): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        queries.len(),
        pct(0.50),
        pct(0.99),
        sorted[sorted.len() - 1]
    );
    for (kind, example) in queries.iter().enumerate().take(8) {
        let mut k: Vec<f64> = times.iter().skip(kind).step_by(8).copied().collect();
        k.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "  kind {kind} ({example:>16}): p50 {:7.2} ms  p99 {:7.2} ms",
            k[k.len() / 2],
            k[k.len() * 99 / 100]
        );
    }
    Ok(())
}

fn hex_digest(i: u64) -> String {
    digest_bytes(&[HashAlg::Sha256], &i.to_le_bytes())
        .get(HashAlg::Sha256)
        .unwrap()
        .to_string()
}
