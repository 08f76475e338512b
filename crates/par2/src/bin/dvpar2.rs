//! `dvpar2`: discvault's PAR2 codec on the command line, for benchmarks and for trying it.
//!
//!   dvpar2 create [-s SLICE_BYTES] [-r PERCENT] [-m MEMORY_MIB] BASE.par2 FILE...
//!       (names in the set are the files' paths relative to BASE.par2's folder)
//!   dvpar2 verify BASE.par2 [SOURCE_DIR...]
//!   dvpar2 repair BASE.par2 OUT_DIR [SOURCE_DIR...]
//!
//! Every PAR2 file beside BASE.par2 whose name starts with BASE is read.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn set_files(index: &Path) -> Vec<PathBuf> {
    let dir = index.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let base = index
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .trim_end_matches(".par2")
        .to_string();
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    n.starts_with(&base) && n.ends_with(".par2")
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn run(args: Vec<String>) -> Result<u8, String> {
    let usage = "usage: dvpar2 create [-s SLICE] [-r PCT] [-m MIB] BASE.par2 FILE... | verify BASE.par2 [DIR...] | repair BASE.par2 OUT [DIR...]";
    let mut it = args.into_iter();
    match it.next().as_deref() {
        Some("create") => {
            let mut opts = par2::CreateOptions::default();
            let mut rest = Vec::new();
            while let Some(a) = it.next() {
                let mut val = |flag: &str| -> Result<String, String> {
                    if a.len() > 2 {
                        Ok(a[2..].to_string())
                    } else {
                        it.next().ok_or(format!("{flag} needs a value"))
                    }
                };
                if a.starts_with("-s") {
                    opts.slice_size = Some(val("-s")?.parse().map_err(|e| format!("-s: {e}"))?);
                } else if a.starts_with("-r") {
                    opts.redundancy_percent = val("-r")?.parse().map_err(|e| format!("-r: {e}"))?;
                } else if a.starts_with("-m") {
                    let mib: usize = val("-m")?.parse().map_err(|e| format!("-m: {e}"))?;
                    opts.memory_limit = mib << 20;
                } else {
                    rest.push(a);
                }
            }
            let (index, files) = rest.split_first().ok_or(usage)?;
            let index = PathBuf::from(index);
            let dir = index.parent().unwrap_or(Path::new(".")).to_path_buf();
            let base = index
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or(usage)?
                .trim_end_matches(".par2")
                .to_string();
            let root = std::fs::canonicalize(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                &dir
            })
            .map_err(|e| e.to_string())?;
            let inputs: Vec<par2::Input> = files
                .iter()
                .map(|f| {
                    let p = std::fs::canonicalize(f).map_err(|e| format!("{f}: {e}"))?;
                    let name = p
                        .strip_prefix(&root)
                        .map_err(|_| format!("{f} is not below {}", root.display()))?
                        .to_string_lossy()
                        .to_string();
                    Ok(par2::Input::file(name, p))
                })
                .collect::<Result<_, String>>()?;
            let c = par2::create(&inputs, &dir, &base, &opts).map_err(|e| e.to_string())?;
            println!(
                "{} input slices of {} bytes, {} recovery slices, {} pass(es): {}",
                c.input_slices,
                c.slice_size,
                c.recovery_slices,
                c.passes,
                c.files
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            Ok(0)
        }
        Some(cmd @ ("verify" | "repair")) => {
            let index = PathBuf::from(it.next().ok_or(usage)?);
            let out = if cmd == "repair" {
                Some(PathBuf::from(it.next().ok_or(usage)?))
            } else {
                None
            };
            let mut sources: Vec<PathBuf> = it.map(PathBuf::from).collect();
            if sources.is_empty() {
                sources.push(index.parent().unwrap_or(Path::new(".")).to_path_buf());
            }
            let files = set_files(&index);
            let mut repaired = false;
            let report = match &out {
                None => par2::verify(&files, &sources).map_err(|e| e.to_string())?,
                Some(o) => {
                    let r =
                        par2::repair(&files, &sources, o, 256 << 20).map_err(|e| e.to_string())?;
                    for l in &r.lost {
                        println!("lost: {l}");
                    }
                    println!("{} files written to {}", r.written.len(), o.display());
                    repaired = r.lost.is_empty();
                    r.before
                }
            };
            for f in &report.files {
                if !f.intact() {
                    println!(
                        "damaged: {} ({} of {} slices missing)",
                        f.name,
                        f.missing_slices.len(),
                        f.slices
                    );
                }
            }
            println!(
                "{} of {} slices missing, {} recovery slices: {}",
                report.missing_slices,
                report.input_slices,
                report.recovery_slices,
                if report.missing_slices == 0 {
                    "all files are correct"
                } else if report.repairable {
                    "repairable"
                } else {
                    "not repairable"
                }
            );
            // verify: 0 intact, 1 repairable, 2 not; repair: 0 when every file was written.
            Ok(if report.missing_slices == 0 || repaired {
                0
            } else if report.repairable {
                1
            } else {
                2
            })
        }
        _ => Err(usage.into()),
    }
}

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(c) => ExitCode::from(c),
        Err(e) => {
            eprintln!("dvpar2: {e}");
            ExitCode::from(3)
        }
    }
}
