//! The preservation report: what falls short of the policy, what is overdue, what to migrate,
//! and the health of the discs over time and by media batch, as JSON or as an HTML page with
//! its charts drawn inline (SVG), readable in any browser without scripts.

use crate::copies::CopyView;
use crate::error::IoContext;
use crate::inspect::DueCopy;
use crate::model::CopyState;
use crate::status::Status;
use crate::{Error, Result, Vault};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The records of one year (年度) on mastered volumes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RecordsYear {
    /// The collections' `年度` (or `year`) metadata; empty where none is given.
    pub year: String,
    pub files: u64,
    pub bytes: u64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct YearChecks {
    pub year: i32,
    pub success: u64,
    pub failure: u64,
}

/// Quality measurements of one year by grade: disc health over time.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct YearQuality {
    pub year: i32,
    pub good: u64,
    pub watch: u64,
    pub act_now: u64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BatchHealth {
    pub medium: String,
    pub brand: String,
    pub batch: String,
    pub good: u64,
    pub watch: u64,
    pub act_now: u64,
    pub ungraded: u64,
    pub damaged: u64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub generated_at: String,
    pub status: Status,
    /// Copies past due for inspection.
    pub overdue: Vec<DueCopy>,
    /// Damaged, missing, or graded "act now".
    pub to_migrate: Vec<CopyView>,
    /// Read-back results per year (fixity checks recorded against volumes and copies).
    pub checks_by_year: Vec<YearChecks>,
    /// The records on discs by the year they belong to (年度).
    pub holdings_by_records_year: Vec<RecordsYear>,
    /// Quality measurements per year by grade (tester figures over time).
    pub quality_by_year: Vec<YearQuality>,
    /// Quality grades and damage per medium, brand and batch.
    pub health_by_batch: Vec<BatchHealth>,
}

/// The calendar year (UTC) of a Unix time.
pub fn year_of(t: i64) -> i32 {
    time::OffsetDateTime::from_unix_timestamp(t)
        .map(|t| t.year())
        .unwrap_or(1970)
}

/// The read-backs (fixity checks of a disc) of each year, passed and failed, oldest year first.
pub fn checks_by_year(vault: &Vault) -> Result<Vec<YearChecks>> {
    let mut years: BTreeMap<i32, YearChecks> = BTreeMap::new();
    for (at, outcome) in vault.catalog.event_outcomes("fixity check")? {
        let year = year_of(at);
        let y = years.entry(year).or_insert(YearChecks {
            year,
            ..Default::default()
        });
        if outcome == "success" {
            y.success += 1;
        } else {
            y.failure += 1;
        }
    }
    Ok(years.into_values().collect())
}

/// The volumes mastered in each year: (year, volumes, payload bytes), oldest year first.
pub fn mastered_by_year(vault: &Vault) -> Result<Vec<(i32, u64, u64)>> {
    let mut years: BTreeMap<i32, (u64, u64)> = BTreeMap::new();
    for v in vault.catalog.volumes()? {
        if let (crate::model::VolumeState::Mastered, Some(at)) = (v.state, v.mastered_at) {
            let e = years.entry(year_of(at)).or_default();
            e.0 += 1;
            e.1 += v.payload_bytes;
        }
    }
    Ok(years.into_iter().map(|(y, (n, b))| (y, n, b)).collect())
}

/// The records on mastered volumes by the year they belong to (年度, as each collection records
/// it: its `年度` or `year` metadata, the latest value when it was changed; "" where a
/// collection has none), in year order. A collection that gathers several years counts under
/// its 年度.
pub fn holdings_by_records_year(vault: &Vault) -> Result<Vec<RecordsYear>> {
    let on_discs = vault.catalog.mastered_by_collection()?;
    let mut years: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for c in vault.catalog.collections()? {
        let Some(&(files, bytes)) = on_discs.get(&c.id).filter(|t| t.0 > 0) else {
            continue;
        };
        let year = c
            .metadata
            .get("年度")
            .or_else(|| c.metadata.get("year"))
            .map(|y| y.trim().to_string())
            .unwrap_or_default();
        let e = years.entry(year).or_default();
        e.0 += files;
        e.1 += bytes;
    }
    Ok(years
        .into_iter()
        .map(|(year, (files, bytes))| RecordsYear { year, files, bytes })
        .collect())
}

pub fn build(vault: &Vault, now: i64) -> Result<Report> {
    let status = crate::status::status(vault)?;
    let overdue = crate::inspect::due(vault, now)?
        .copies
        .into_iter()
        .filter(|d| d.reason != "sample")
        .collect();
    let copies = crate::copies::list_at(vault, None, now)?;
    let to_migrate = copies
        .iter()
        .filter(|c| {
            matches!(c.copy.state, CopyState::Damaged | CopyState::Missing)
                || (c.copy.grade == "act_now" && c.copy.state != CopyState::Retired)
        })
        .cloned()
        .collect();
    let checks_by_year = checks_by_year(vault)?;
    let mut quality: BTreeMap<i32, YearQuality> = BTreeMap::new();
    for (at, grade) in vault.catalog.quality_grades()? {
        let year = year_of(at);
        let q = quality.entry(year).or_insert(YearQuality {
            year,
            ..Default::default()
        });
        match grade.as_str() {
            "good" => q.good += 1,
            "watch" => q.watch += 1,
            _ => q.act_now += 1,
        }
    }
    let mut batches: BTreeMap<(String, String, String), BatchHealth> = BTreeMap::new();
    for c in &copies {
        let k = (
            c.copy.medium.clone(),
            c.copy.brand.clone(),
            c.copy.batch.clone(),
        );
        let b = batches.entry(k.clone()).or_insert(BatchHealth {
            medium: k.0,
            brand: k.1,
            batch: k.2,
            ..Default::default()
        });
        match c.copy.grade.as_str() {
            "good" => b.good += 1,
            "watch" => b.watch += 1,
            "act_now" => b.act_now += 1,
            _ => b.ungraded += 1,
        }
        if c.copy.state == CopyState::Damaged {
            b.damaged += 1;
        }
    }
    Ok(Report {
        generated_at: crate::rfc3339(now),
        status,
        overdue,
        to_migrate,
        checks_by_year,
        holdings_by_records_year: holdings_by_records_year(vault)?,
        quality_by_year: quality.into_values().collect(),
        health_by_batch: batches.into_values().collect(),
    })
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One segment of a bar: value, colour, name.
type Segment = (u64, &'static str, &'static str);

/// A stacked bar chart: one bar per label.
fn bars(title: &str, rows: &[(String, Vec<Segment>)]) -> String {
    let w = 640;
    let bar_h = 22;
    let left = 170;
    let h = 40 + rows.len() * (bar_h + 8) + 30;
    let max = rows
        .iter()
        .map(|(_, s)| s.iter().map(|x| x.0).sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{t}\">\n<text x=\"0\" y=\"18\" font-size=\"15\" font-weight=\"bold\">{t}</text>\n",
        t = esc(title)
    );
    for (i, (label, segs)) in rows.iter().enumerate() {
        let y = 32 + i * (bar_h + 8);
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text>\n",
            y + 15,
            esc(label)
        ));
        let mut x = left as f64;
        for (v, colour, name) in segs {
            if *v == 0 {
                continue;
            }
            let len = (*v as f64) / (max as f64) * (w - left - 60) as f64;
            svg.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{len:.1}\" height=\"{bar_h}\" fill=\"{colour}\"><title>{}: {v}</title></rect>\n",
                esc(name)
            ));
            x += len;
        }
        let total: u64 = segs.iter().map(|s| s.0).sum();
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"12\">{total}</text>\n",
            x + 6.0,
            y + 15
        ));
    }
    let legend_y = h - 10;
    let mut lx: i32 = 0;
    if let Some((_, segs)) = rows.first() {
        for (_, colour, name) in segs {
            svg.push_str(&format!(
                "<rect x=\"{lx}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{colour}\"/><text x=\"{}\" y=\"{legend_y}\" font-size=\"12\">{}</text>\n",
                legend_y - 10,
                lx + 16,
                esc(name)
            ));
            lx += 24 + 8 * name.chars().count() as i32;
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// The report as a self-contained HTML page (charts as inline SVG).
pub fn html(r: &Report) -> String {
    let s = &r.status;
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>discvault 保存报告 Preservation report</title>\n<style>body{font-family:'WenQuanYi Micro Hei','Noto Sans CJK SC',sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}td,th{border:1px solid #aaa;padding:3px 8px;text-align:left}.bad{color:#b00}</style>\n</head>\n<body>\n");
    h.push_str(&format!(
        "<h1>保存报告 Preservation report</h1>\n<p>{} · {}</p>\n",
        esc(&s.vault),
        esc(&r.generated_at)
    ));
    h.push_str(&format!(
        "<h2>概况 Summary</h2>\n<table>\n<tr><th>files ingested</th><td>{}</td></tr>\n<tr><th>not on any disc</th><td>{}</td></tr>\n<tr><th>volumes</th><td>{}</td></tr>\n<tr><th>copies</th><td>{} ({} trusted)</td></tr>\n<tr><th>overdue for inspection 待检</th><td>{}</td></tr>\n<tr><th>to repair or migrate 待迁移</th><td>{}</td></tr>\n</table>\n",
        s.ingested.files,
        s.unplanned.files,
        s.volumes.len(),
        s.copies.total,
        s.copies.trusted,
        s.copies.overdue,
        s.copies.to_migrate
    ));
    h.push_str("<h2>不符合保存策略的卷 Volumes short of the policy</h2>\n");
    if s.shortfalls.is_empty() {
        h.push_str("<p>none</p>\n");
    } else {
        h.push_str("<table>\n<tr><th>volume</th><th>files</th><th>trusted copies</th><th>sites</th><th>problems</th></tr>\n");
        for f in &s.shortfalls {
            h.push_str(&format!(
                "<tr class=\"bad\"><td>{}</td><td>{}</td><td>{} / {}</td><td>{}</td><td>{}</td></tr>\n",
                esc(&f.volume_id),
                f.files,
                f.trusted_copies,
                f.required_copies,
                esc(&f.sites.join(", ")),
                esc(&f.problems.join("; "))
            ));
        }
        h.push_str("</table>\n");
    }
    h.push_str("<h2>已刻录馆藏按档案年度 Holdings on disc by the records' year</h2>\n");
    if r.holdings_by_records_year.is_empty() {
        h.push_str("<p>none</p>\n");
    } else {
        h.push_str("<table>\n<tr><th>年度 year</th><th>files</th><th>bytes</th></tr>\n");
        for y in &r.holdings_by_records_year {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                if y.year.is_empty() {
                    "未著录 none given".to_string()
                } else {
                    esc(&y.year)
                },
                y.files,
                y.bytes
            ));
        }
        h.push_str("</table>\n");
    }
    h.push_str("<h2>光盘健康 Disc health</h2>\n");
    let years: Vec<(String, Vec<Segment>)> = r
        .checks_by_year
        .iter()
        .map(|y| {
            (
                y.year.to_string(),
                vec![
                    (y.success, "#3a7", "clean"),
                    (y.failure, "#c33", "damage found"),
                ],
            )
        })
        .collect();
    h.push_str(&bars("返读检测 Read-back checks per year", &years));
    let quality: Vec<(String, Vec<Segment>)> = r
        .quality_by_year
        .iter()
        .map(|q| {
            (
                q.year.to_string(),
                vec![
                    (q.good, "#3a7", "good"),
                    (q.watch, "#e90", "act within a year"),
                    (q.act_now, "#c33", "act now"),
                ],
            )
        })
        .collect();
    h.push_str(&bars(
        "质量检测 Quality measurements per year, by grade",
        &quality,
    ));
    let batches: Vec<(String, Vec<Segment>)> = r
        .health_by_batch
        .iter()
        .map(|b| {
            (
                format!("{} {} {}", b.medium, b.brand, b.batch)
                    .trim()
                    .to_string(),
                vec![
                    (b.good, "#3a7", "good"),
                    (b.watch, "#e90", "act within a year"),
                    (b.act_now, "#c33", "act now"),
                    (b.ungraded, "#bbb", "not measured"),
                ],
            )
        })
        .collect();
    h.push_str(&bars(
        "质量等级 Quality grades by medium and batch",
        &batches,
    ));
    let copy_table = |h: &mut String, title: &str, rows: Vec<(String, String, String, String)>| {
        h.push_str(&format!("<h2>{}</h2>\n", esc(title)));
        if rows.is_empty() {
            h.push_str("<p>none</p>\n");
            return;
        }
        h.push_str("<table>\n<tr><th>copy</th><th>place</th><th>state</th><th>note</th></tr>\n");
        for (a, b, c, d) in rows {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                esc(&a),
                esc(&b),
                esc(&c),
                esc(&d)
            ));
        }
        h.push_str("</table>\n");
    };
    copy_table(
        &mut h,
        "待检光盘 Copies overdue for inspection",
        r.overdue
            .iter()
            .map(|d| {
                (
                    d.copy.copy.copy_id.clone(),
                    d.copy.place_text.clone(),
                    d.copy.copy.state.as_str().to_string(),
                    format!("due {} ({})", &d.due_at[..10], d.reason),
                )
            })
            .collect(),
    );
    copy_table(
        &mut h,
        "待迁移光盘 Copies to repair or migrate",
        r.to_migrate
            .iter()
            .map(|c| {
                (
                    c.copy.copy_id.clone(),
                    c.place_text.clone(),
                    c.copy.state.as_str().to_string(),
                    if c.copy.grade.is_empty() {
                        String::new()
                    } else {
                        format!("grade {}", c.copy.grade)
                    },
                )
            })
            .collect(),
    );
    h.push_str("</body>\n</html>\n");
    h
}

/// [`pdf`] as bytes (the server's answer), printed in a temporary folder.
pub fn pdf_bytes(html: &str, browser: &str) -> Result<Vec<u8>> {
    let work = tempfile::tempdir().map_err(|e| Error::Io {
        path: std::env::temp_dir(),
        source: e,
    })?;
    let out = work.path().join("report.pdf");
    pdf(html, browser, &out)?;
    std::fs::read(&out).at(&out)
}

/// Prints the HTML report to PDF with a headless Chromium (the browser lays out the Chinese
/// text and the SVG charts; the PDF embeds the fonts). `browser` names the program; empty
/// means the first of chromium, chromium-browser, google-chrome found on the PATH.
pub fn pdf(html: &str, browser: &str, out: &Path) -> Result<()> {
    let exe = if browser.is_empty() {
        ["chromium", "chromium-browser", "google-chrome"]
            .into_iter()
            .find_map(|b| {
                std::env::var_os("PATH").and_then(|p| {
                    std::env::split_paths(&p)
                        .map(|d| d.join(b))
                        .find(|x| x.is_file())
                })
            })
            .ok_or_else(|| Error::Invalid {
                field: "report.browser".into(),
                detail: "the PDF report is printed by Chromium: install it (apt-get install chromium) or set report.browser in discvault.toml".into(),
            })?
    } else {
        PathBuf::from(browser)
    };
    let work = tempfile::tempdir().map_err(|e| Error::Io {
        path: std::env::temp_dir(),
        source: e,
    })?;
    let page = work.path().join("report.html");
    std::fs::write(&page, html).at(&page)?;
    let out_abs = std::path::absolute(out).at(out)?;
    let res = std::process::Command::new(&exe)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-pdf-header-footer",
        ])
        .arg(format!(
            "--user-data-dir={}",
            work.path().join("profile").display()
        ))
        .arg(format!("--print-to-pdf={}", out_abs.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(std::process::Stdio::null())
        .output()
        .at(&exe)?;
    let made = std::fs::metadata(&out_abs)
        .map(|m| m.len() > 0)
        .unwrap_or(false);
    if !res.status.success() || !made {
        return Err(Error::Invalid {
            field: "report.browser".into(),
            detail: format!(
                "{} did not print {} ({}): {}",
                exe.display(),
                out.display(),
                res.status,
                String::from_utf8_lossy(&res.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            ),
        });
    }
    Ok(())
}
