//! Repair: a volume's image rebuilt, identical to the one mastered, from damaged copies of it.
//!
//! The catalog knows the volume's exact layout (mastering is deterministic), so nothing on the
//! damaged discs has to be trusted to find the records: not the file system's directories, not
//! the volume record. Every copy given (image file, pseudo drive, optical drive) is read sector
//! by sector at the extents the layout names, with retries; each record is then taken, in this
//! order:
//! 1. from a copy where it reads whole and matches its ingest digest;
//! 2. merged from the readable sectors of several copies (a drive names the sectors it cannot
//!    read), when the merged bytes match the digest;
//! 3. from the disc's PAR2 recovery data, with the slices of every copy pooled (the intact
//!    slices of each are used before any recovery slice is spent) and the tag files as
//!    mastering writes them, so that no recovery slice is spent on them.
//!
//! When the copies cannot give every record back (or no copy is left), and the parity disc of
//! the volume's group is given with the group's other discs, the whole image is rebuilt from
//! the parity set, the damaged copies' intact slices pooled with the other images.
//!
//! Records beyond repair are named and nothing is written. Otherwise the image is mastered
//! again from the recovered records and must come out with the sha256 recorded when the volume
//! was mastered: a replacement copy, ready to burn. [`analyse`] stops before writing (what
//! `--dry-run` shows).

use crate::digest::HashAlg;
use crate::error::IoContext;
use crate::master::{self, DataSource, Prepared};
use crate::model::{Volume, VolumeKind, VolumeState};
use crate::progress::{Message, Progress};
use crate::recovery;
use crate::scan::{
    self, FileDevice, ItemResult, ItemSink, ScanItem, ScanOptions, SectorDevice, SectorMap,
    SectorRanges, SECTOR,
};
use crate::{Error, Result, Vault};
use isoimage::{EntryKind, Layout};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Options of `discvault repair`. The work files go to `to` too, and are removed at the end.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default)]
pub struct RepairOptions {
    /// Copies of one volume: image files, pseudo drives, block devices (optical drives).
    #[cfg_attr(feature = "clap", arg(required = true))]
    pub sources: Vec<PathBuf>,
    /// Folder the repaired image is written to.
    #[cfg_attr(feature = "clap", arg(long))]
    pub to: PathBuf,
    /// The volume, when the copies cannot tell (their file system is damaged).
    #[cfg_attr(feature = "clap", arg(long))]
    pub volume: Option<String>,
    /// Reads of a failed sector after the first.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 2))]
    pub retries: u32,
}

/// What one copy gave.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CopyFindings {
    pub source: String,
    /// Sectors that could not be read.
    pub bad_sectors: SectorRanges,
    /// Records that read whole and match their digest.
    pub records_intact: u64,
    /// Records that do not (disc paths).
    pub records_damaged: Vec<String>,
}

/// The result of a repair.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RepairReport {
    pub volume_id: String,
    pub copies: Vec<CopyFindings>,
    /// Records of the volume (files and parts with data).
    pub records: u64,
    /// Records rebuilt from the readable sectors of several copies.
    pub merged: Vec<String>,
    /// Records rebuilt from PAR2 recovery data.
    pub rebuilt: Vec<String>,
    /// Records that could not be rebuilt: the volume is beyond repair, no image is written.
    pub lost: Vec<String>,
    pub repairable: bool,
    /// The parity volume the whole image was rebuilt from, when the copies were not enough.
    pub from_parity: Option<String>,
    /// The repaired image, identical to the one mastered (not with `analyse`).
    pub image: Option<PathBuf>,
    pub image_sha256: Option<String>,
}

/// Writes each scanned item to its own file.
struct ToFiles<'a>(&'a [PathBuf]);

impl ItemSink for ToFiles<'_> {
    fn open(&self, item: usize) -> std::io::Result<Option<Box<dyn Write>>> {
        let p = &self.0[item];
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d)?;
        }
        Ok(Some(Box::new(std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(p)?,
        ))))
    }
}

/// A file with data in the image.
struct Laid {
    entry: usize,
    path: Vec<u8>,
    size: u64,
    lba: u64,
    /// The sha256 it must have, for records.
    expect: Option<String>,
}

/// What a source given to repair is.
#[derive(Debug, Clone, PartialEq)]
enum Role {
    /// A copy of the volume to repair (or a disc that cannot tell, with `--volume`).
    Copy,
    /// A copy of a parity volume of its group.
    Parity(String),
    /// A copy of another data volume of that group.
    Member(String),
}

/// Which volume to repair (the one asked for, else the first source that says), and what each
/// source is.
fn classify(vault: &Vault, opts: &RepairOptions) -> Result<(Volume, Vec<Role>)> {
    let said: Vec<std::result::Result<Volume, String>> = opts
        .sources
        .iter()
        .map(|s| {
            crate::source::open(s)
                .and_then(|mut src| crate::identify::identify(vault, &mut *src))
                .map_err(|e| format!("{}: {e}", s.display()))
        })
        .collect();
    let volume = match &opts.volume {
        Some(v) => vault.catalog.volume(v)?,
        None => match said.iter().find_map(|r| r.as_ref().ok()) {
            Some(v) => v.clone(),
            None => {
                let why: Vec<String> = said.into_iter().filter_map(|r| r.err()).collect();
                return Err(Error::Invalid {
                    field: "volume".into(),
                    detail: format!(
                        "no copy says which volume it holds ({}): give --volume",
                        why.join("; ")
                    ),
                });
            }
        },
    };
    if volume.kind == VolumeKind::Parity {
        return Err(Error::Volume {
            volume: volume.volume_id.clone(),
            detail: "is a parity volume: master it again from its members' images (put them in a folder and run master VOLUME --again --out FOLDER)".into(),
        });
    }
    let parity = vault.catalog.parity_of(&volume)?;
    let members: Vec<Volume> = match parity.first() {
        Some(p) => vault.catalog.parity_members(p)?,
        None => Vec::new(),
    };
    let roles = said
        .into_iter()
        .zip(&opts.sources)
        .map(|(r, s)| match r {
            Ok(v) if v.id == volume.id => Ok(Role::Copy),
            Ok(v) if parity.iter().any(|p| p.id == v.id) => Ok(Role::Parity(v.volume_id)),
            Ok(v) if members.iter().any(|m| m.id == v.id) => Ok(Role::Member(v.volume_id)),
            Ok(v) => Err(Error::Invalid {
                field: "sources".into(),
                detail: format!(
                    "{} holds {}, which is neither {} nor a disc of its parity group",
                    s.display(),
                    v.volume_id,
                    volume.volume_id
                ),
            }),
            // A disc that cannot say what it holds is taken as a copy of the volume asked for.
            Err(_) => Ok(Role::Copy),
        })
        .collect::<Result<Vec<Role>>>()?;
    Ok((volume, roles))
}

fn sha256_file(p: &Path) -> Result<String> {
    let mut f = std::fs::File::open(p).at(p)?;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h).at(p)?;
    Ok(hex::encode(h.finalize()))
}

fn display(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
}

/// Opens the copies named in `opts`.
fn open_copies(opts: &RepairOptions) -> Result<Vec<Box<dyn SectorDevice>>> {
    opts.sources
        .iter()
        .map(|s| Ok(Box::new(FileDevice::open(s)?) as Box<dyn SectorDevice>))
        .collect()
}

/// Reads the copies and works out every record; with `write`, masters the repaired image.
fn run(
    vault: &Vault,
    opts: &RepairOptions,
    devices: Vec<Box<dyn SectorDevice>>,
    write: bool,
    progress: &dyn Progress,
) -> Result<RepairReport> {
    if opts.sources.is_empty() {
        return Err(Error::Invalid {
            field: "sources".into(),
            detail: "give at least one disc: copies of the volume, or its parity disc and the other discs of its group".into(),
        });
    }
    if let Some(d) = opts.sources.iter().find(|s| s.is_dir()) {
        return Err(Error::Invalid {
            field: "sources".into(),
            detail: format!(
                "{}: a folder; repair reads the disc itself (an image, a pseudo drive or the drive's device, e.g. /dev/sr0)",
                d.display()
            ),
        });
    }
    let (volume, roles) = classify(vault, opts)?;
    // One repair of a volume at a time, beside other work; what a killed one left goes.
    let _claim = if write {
        let claim = vault.claim_waiting(
            &crate::vault::volume_claim(&volume.volume_id),
            "repair",
            progress,
        )?;
        std::fs::create_dir_all(&opts.to).at(&opts.to)?;
        vault.remove_litter(&opts.to, &volume.volume_id, &claim)?;
        Some(claim)
    } else {
        None
    };
    let Some(recorded_sha) = volume
        .image_sha256
        .clone()
        .filter(|_| volume.state == VolumeState::Mastered)
    else {
        return Err(Error::Volume {
            volume: volume.volume_id.clone(),
            detail: "is not mastered: there is no image to repair (master it)".into(),
        });
    };
    let vol_err = |detail: String| Error::Volume {
        volume: volume.volume_id.clone(),
        detail,
    };
    std::fs::create_dir_all(&opts.to).at(&opts.to)?;
    let mut p = master::prepare(vault, &volume, Some(&opts.to))?;
    let layout = Layout::new(&p.spec).map_err(|e| vol_err(e.to_string()))?;
    let lbas = layout.file_lbas();
    let laid: Vec<Laid> = p
        .spec
        .entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e.kind {
            EntryKind::File { size } if size > 0 => Some(Laid {
                entry: i,
                path: e.path.clone(),
                size,
                lba: lbas[&i] as u64,
                expect: match &p.sources[i] {
                    DataSource::File { item, .. } => master::item_digests(&p.contents[*item])
                        .get(HashAlg::Sha256)
                        .map(str::to_string),
                    _ => None,
                },
            }),
            _ => None,
        })
        .collect();
    let work = tempfile::Builder::new()
        .prefix(&vault.work_name(&format!("repair-{}.", volume.volume_id)))
        .tempdir_in(&opts.to)
        .at(&opts.to)?;
    let rel = |root: &Path, path: &[u8]| root.join(std::ffi::OsStr::from_bytes(path));

    // The tag files as mastering writes them (the tag manifest aside: no set protects it).
    let tags = work.path().join("tags");
    for k in 0..p.tags.len() {
        let path = p.tags.name(k);
        if path != master::TAG_MANIFEST {
            let f = rel(&tags, path.as_bytes());
            std::fs::create_dir_all(f.parent().unwrap()).at(&f)?;
            let mut out = std::fs::File::create(&f).at(&f)?;
            p.tags.write(k, &mut out).at(&f)?;
        }
    }

    // Every copy, read at the layout's extents.
    let items: Vec<ScanItem> = laid
        .iter()
        .map(|l| ScanItem {
            extents: vec![(l.lba, l.size)],
            digest: l.expect.as_ref().map(|_| HashAlg::Sha256),
        })
        .collect();
    let mut copies = Vec::new();
    let mut copy_dirs = Vec::new();
    // results[copy][item]
    let mut results = Vec::new();
    let copy_sources: Vec<(&PathBuf, &dyn SectorDevice)> = opts
        .sources
        .iter()
        .zip(&devices)
        .zip(&roles)
        .filter(|(_, r)| **r == Role::Copy)
        .map(|((s, d), _)| (s, d.as_ref()))
        .collect();
    for (k, (src, dev)) in copy_sources.iter().enumerate() {
        let dir = work.path().join(format!("copy-{k}"));
        let outs: Vec<PathBuf> = laid.iter().map(|l| rel(&dir, &l.path)).collect();
        let (res, map) = read_into(
            *dev,
            &src.display().to_string(),
            layout.total_sectors(),
            &items,
            &outs,
            opts.retries,
            progress,
        )?;
        let mut damaged = Vec::new();
        let mut intact = 0;
        for (l, r) in laid.iter().zip(&res) {
            if let Some(e) = &l.expect {
                if r.digest.as_ref() == Some(e) {
                    intact += 1;
                } else {
                    damaged.push(display(&l.path));
                }
            }
        }
        copies.push(CopyFindings {
            source: src.display().to_string(),
            bad_sectors: map.pending(),
            records_intact: intact,
            records_damaged: damaged,
        });
        copy_dirs.push(dir);
        results.push(res);
    }

    // Each record: an intact copy, else merged sectors, else PAR2.
    let mut chosen: Vec<Option<PathBuf>> = vec![None; laid.len()];
    let mut merged = Vec::new();
    let mut damaged: Vec<usize> = Vec::new();
    for (i, l) in laid.iter().enumerate() {
        let Some(expect) = &l.expect else { continue };
        if let Some(k) = (0..copies.len()).find(|&k| results[k][i].digest.as_ref() == Some(expect))
        {
            chosen[i] = Some(rel(&copy_dirs[k], &l.path));
            continue;
        }
        // Sectors each copy could not read are known: fill them from the others.
        let bad: Vec<SectorRanges> = (0..copies.len())
            .map(|k| results[k][i].bad.union(&results[k][i].unread))
            .collect();
        if copies.len() > 1 && bad.iter().any(|b| !b.is_empty()) {
            let base = (0..copies.len())
                .min_by_key(|&k| bad[k].count())
                .expect("copies");
            let out = work.path().join("merged").join(format!("{i}"));
            std::fs::create_dir_all(out.parent().unwrap()).at(&out)?;
            std::fs::copy(rel(&copy_dirs[base], &l.path), &out).at(&out)?;
            let mut holes = bad[base].clone();
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&out)
                .at(&out)?;
            for k in (0..copies.len()).filter(|&k| k != base) {
                let fill = holes.minus(&bad[k]);
                if fill.is_empty() {
                    continue;
                }
                let src = std::fs::File::open(rel(&copy_dirs[k], &l.path)).at(&out)?;
                for &(a, b) in &fill.0 {
                    use std::os::unix::fs::FileExt;
                    let off = (a - l.lba) * SECTOR;
                    let len = ((b - a) * SECTOR).min(l.size - off) as usize;
                    let mut buf = vec![0u8; len];
                    src.read_exact_at(&mut buf, off).at(&out)?;
                    f.write_all_at(&buf, off).at(&out)?;
                }
                holes = holes.minus(&fill);
            }
            drop(f);
            if holes.is_empty() && sha256_file(&out)? == *expect {
                chosen[i] = Some(out);
                merged.push(display(&l.path));
                continue;
            }
        }
        damaged.push(i);
    }

    // PAR2, set by set, for the records still missing.
    let mut rebuilt = Vec::new();
    let entry_of: std::collections::HashMap<usize, usize> =
        laid.iter().enumerate().map(|(i, l)| (l.entry, i)).collect();
    for (n, set) in p.recovery.iter().enumerate() {
        let wanted: Vec<usize> = set
            .members
            .iter()
            .filter_map(|e| entry_of.get(e).copied())
            .filter(|i| damaged.contains(i))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let par2_files: Vec<PathBuf> = copy_dirs
            .iter()
            .flat_map(|d| {
                [
                    rel(d, set.index_path().as_bytes()),
                    rel(d, set.volume_path().as_bytes()),
                ]
            })
            .filter(|f| f.exists())
            .collect();
        let mut folders = vec![tags.clone()];
        folders.extend(copy_dirs.iter().cloned());
        let out = work.path().join(format!("rebuilt-{n}"));
        // A set whose critical packets are lost in every copy cannot help: its records stay
        // missing and are named below. A file we cannot write or read in our own work folder
        // is our failure, not the disc's.
        match par2::repair(&par2_files, &folders, &out, 208 << 20) {
            Ok(_) => {}
            Err(e) => {
                if let Some(e) = own_failure(e) {
                    return Err(e);
                }
                continue;
            }
        }
        for i in wanted {
            let f = rel(&out, &laid[i].path);
            if f.exists() && Some(sha256_file(&f)?) == laid[i].expect {
                chosen[i] = Some(f);
                rebuilt.push(display(&laid[i].path));
                damaged.retain(|&d| d != i);
            }
        }
    }
    let lost: Vec<String> = damaged.iter().map(|&i| display(&laid[i].path)).collect();
    let mut report = RepairReport {
        volume_id: volume.volume_id.clone(),
        copies,
        records: laid.iter().filter(|l| l.expect.is_some()).count() as u64,
        merged,
        rebuilt,
        repairable: lost.is_empty(),
        lost,
        from_parity: None,
        image: None,
        image_sha256: None,
    };

    // Beyond what the copies give: the whole image from the parity disc of its group.
    let parity_given: Vec<String> = roles
        .iter()
        .filter_map(|r| match r {
            Role::Parity(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    if !report.repairable && !parity_given.is_empty() {
        let rebuilt = from_parity(
            vault,
            &volume,
            opts,
            &devices,
            &roles,
            work.path(),
            write,
            progress,
        )?;
        if let Some(image) = rebuilt {
            let mut used = parity_given.clone();
            used.dedup();
            report.from_parity = Some(used.join(", "));
            report.repairable = true;
            report.lost.clear();
            if let Some(tmp) = image {
                let path = opts.to.join(format!("{}.iso", volume.volume_id));
                std::fs::rename(&tmp, &path).at(&path)?;
                let detail = format!(
                    "repaired {} from parity volume {} into {}: image sha256 {} as mastered",
                    volume.volume_id,
                    report.from_parity.as_deref().unwrap_or(""),
                    path.display(),
                    recorded_sha
                );
                vault
                    .catalog
                    .add_event("repair", "success", &detail, Some(&volume))?;
                report.image = Some(path);
                report.image_sha256 = Some(recorded_sha);
            }
        }
        return Ok(report);
    }
    if !write || !report.repairable {
        return Ok(report);
    }

    // Master again from the recovered records: the image must be the one mastered.
    for (i, l) in laid.iter().enumerate() {
        if let (DataSource::File { from, .. }, Some(c)) = (&mut p.sources[l.entry], &chosen[i]) {
            *from = Some(c.as_os_str().as_bytes().to_vec());
        }
    }
    let prefix = vault.work_name(&format!("{}.", volume.volume_id));
    let image = remaster(
        &p,
        &layout,
        &volume,
        &opts.to,
        &prefix,
        &recorded_sha,
        progress,
    )?;
    let detail = format!(
        "repaired {} from {} cop{} into {}: {} records ({} merged from several copies, {} rebuilt from recovery data); image sha256 {} as mastered",
        volume.volume_id,
        report.copies.len(),
        if report.copies.len() == 1 { "y" } else { "ies" },
        image.display(),
        report.records,
        report.merged.len(),
        report.rebuilt.len(),
        recorded_sha
    );
    vault
        .catalog
        .add_event("repair", "success", &detail, Some(&volume))?;
    report.image = Some(image);
    report.image_sha256 = Some(recorded_sha);
    Ok(report)
}

/// Reads `items` of a device, with retries, each into its file of `outs`; unreadable sectors
/// come out zeroed and are named in the results. A work file that cannot be written is an
/// error.
fn read_into(
    dev: &dyn SectorDevice,
    what: &str,
    total_sectors: u64,
    items: &[ScanItem],
    outs: &[PathBuf],
    retries: u32,
    progress: &dyn Progress,
) -> Result<(Vec<ItemResult>, SectorMap)> {
    let bytes = items.iter().flat_map(|i| &i.extents).map(|e| e.1).sum();
    progress.start(
        &Message::Reading {
            from: what.to_string(),
        },
        items.len() as u64,
        bytes,
    );
    let (res, map) = scan::scan(
        dev,
        total_sectors,
        items,
        &ScanOptions {
            retries,
            ..Default::default()
        },
        &ToFiles(outs),
        progress,
    );
    progress.finish();
    if let Some((r, out)) = res.iter().zip(outs).find(|(r, _)| r.sink_error.is_some()) {
        return Err(Error::Io {
            path: out.clone(),
            source: std::io::Error::other(r.sink_error.clone().unwrap_or_default()),
        });
    }
    Ok((res, map))
}

/// Reads `len` bytes from sector 0 of a device into `to`; returns the unreadable sectors.
fn read_whole(
    dev: &dyn SectorDevice,
    len: u64,
    to: &Path,
    retries: u32,
    progress: &dyn Progress,
) -> Result<SectorRanges> {
    let items = [ScanItem {
        extents: vec![(0, len.min(dev.size()))],
        digest: None,
    }];
    let what = dev.name();
    let (_, map) = read_into(
        dev,
        &what,
        len.div_ceil(SECTOR),
        &items,
        &[to.to_path_buf()],
        retries,
        progress,
    )?;
    Ok(map.pending())
}

/// Rebuilds the whole image of `volume` from the parity volume of its group: the parity set
/// read from the parity copies at the parity volume's layout, the images of the other members
/// and of the partial copies as its inputs (the intact slices of each are used). With `write`,
/// returns the rebuilt image (in `work`), checked against the recorded sha256; without, only
/// whether it can be rebuilt (`Some(None)`). `None`: the group cannot give it back.
#[allow(clippy::too_many_arguments)]
fn from_parity(
    vault: &Vault,
    volume: &Volume,
    opts: &RepairOptions,
    devices: &[Box<dyn SectorDevice>],
    roles: &[Role],
    work: &Path,
    write: bool,
    progress: &dyn Progress,
) -> Result<Option<Option<PathBuf>>> {
    let mut par2_files = Vec::new();
    let mut folders = Vec::new();
    for (k, ((dev, role), src)) in devices.iter().zip(roles).zip(&opts.sources).enumerate() {
        match role {
            Role::Parity(pvid) => {
                // Its set's files, where the parity volume's layout puts them.
                let parity = vault.catalog.volume(pvid)?;
                let pp = master::prepare(vault, &parity, None)?;
                let layout = Layout::new(&pp.spec).map_err(|e| Error::Volume {
                    volume: parity.volume_id.clone(),
                    detail: e.to_string(),
                })?;
                let lbas = layout.file_lbas();
                let dir = format!("{}/", recovery::RECOVERY_DIR);
                let (items, outs): (Vec<ScanItem>, Vec<PathBuf>) = pp
                    .spec
                    .entries
                    .iter()
                    .enumerate()
                    .filter_map(|(i, e)| match e.kind {
                        EntryKind::File { size } if e.path.starts_with(dir.as_bytes()) => Some((
                            ScanItem {
                                extents: vec![(lbas[&i] as u64, size)],
                                digest: None,
                            },
                            work.join(format!("parity-{k}"))
                                .join(std::ffi::OsStr::from_bytes(&e.path)),
                        )),
                        _ => None,
                    })
                    .unzip();
                read_into(
                    dev.as_ref(),
                    &src.display().to_string(),
                    layout.total_sectors(),
                    &items,
                    &outs,
                    opts.retries,
                    progress,
                )?;
                par2_files.extend(outs);
            }
            // The other discs' images, and the damaged copies' (their intact slices count).
            Role::Member(_) | Role::Copy => {
                let m = match role {
                    Role::Member(vid) => vault.catalog.volume(vid)?,
                    _ => volume.clone(),
                };
                let dir = work.join(format!("images-{k}"));
                std::fs::create_dir_all(&dir).at(&dir)?;
                read_whole(
                    dev.as_ref(),
                    m.image_bytes,
                    &dir.join(format!("{}.iso", m.volume_id)),
                    opts.retries,
                    progress,
                )
                .map_err(|e| Error::Volume {
                    volume: m.volume_id.clone(),
                    detail: format!("reading {}: {e}", src.display()),
                })?;
                folders.push(dir);
            }
        }
    }
    if !write {
        return Ok(match par2::verify(&par2_files, &folders) {
            Ok(r) if r.repairable => Some(None),
            _ => None,
        });
    }
    let out = work.join("rebuilt-image");
    let rep = match par2::repair(&par2_files, &folders, &out, 208 << 20) {
        Ok(r) => r,
        Err(e) => {
            return match own_failure(e) {
                Some(e) => Err(e),
                None => Ok(None),
            }
        }
    };
    let name = format!("{}.iso", volume.volume_id);
    if !rep.written.contains(&name) {
        return Ok(None);
    }
    let image = out.join(&name);
    if Some(sha256_file(&image)?) != volume.image_sha256 {
        return Err(Error::Volume {
            volume: volume.volume_id.clone(),
            detail: "the image rebuilt from the parity volume does not have the sha256 recorded at mastering: nothing written".into(),
        });
    }
    Ok(Some(Some(image)))
}

/// Sorts a PAR2 error: an I/O error is on a file of our work folder (the copies were read into
/// it), so it is our own failure and is returned; a set that cannot be read or used is the
/// disc's damage (`None`).
fn own_failure(e: par2::Error) -> Option<Error> {
    match e {
        par2::Error::Io { path, source } => Some(Error::Io { path, source }),
        par2::Error::Format { .. } | par2::Error::Input(_) => None,
    }
}

/// Writes the image of `p` into `dir` as `<volume id>.iso`, only if its sha256 is `want`.
fn remaster(
    p: &Prepared,
    layout: &Layout,
    volume: &Volume,
    dir: &Path,
    prefix: &str,
    want: &str,
    progress: &dyn Progress,
) -> Result<PathBuf> {
    let tmp = tempfile::Builder::new()
        .prefix(prefix)
        .suffix(".partial")
        .tempfile_in(dir)
        .at(dir)?;
    let file = tmp.as_file().try_clone().at(tmp.path())?;
    progress.start(
        &Message::MasteringAgain {
            volume: volume.volume_id.clone(),
        },
        p.contents.len() as u64,
        volume.payload_bytes,
    );
    let res = master::write_image(
        p,
        layout,
        crate::sparse::SparseFile::new(file),
        tmp.path(),
        progress,
    )
    .and_then(|(sha, f)| Ok((sha, f.into_inner()?)));
    progress.finish();
    let (sha, file) = res.map_err(|e| Error::Volume {
        volume: volume.volume_id.clone(),
        detail: format!("writing the repaired image: {e}"),
    })?;
    if sha != want {
        return Err(Error::Volume {
            volume: volume.volume_id.clone(),
            detail: format!(
                "the repaired image has sha256 {sha}, not {want} as mastered: nothing written"
            ),
        });
    }
    file.sync_all().at(tmp.path())?;
    let path = dir.join(format!("{}.iso", volume.volume_id));
    tmp.persist(&path).map_err(|e| Error::Io {
        path: path.clone(),
        source: e.error,
    })?;
    Ok(path)
}

/// Repairs a volume from its damaged copies into `opts.to`.
pub fn repair(
    vault: &Vault,
    opts: &RepairOptions,
    progress: &dyn Progress,
) -> Result<RepairReport> {
    run(vault, opts, open_copies(opts)?, true, progress)
}

/// What [`repair`] would do: reads the copies and works out every record, writes no image.
pub fn analyse(
    vault: &Vault,
    opts: &RepairOptions,
    progress: &dyn Progress,
) -> Result<RepairReport> {
    run(vault, opts, open_copies(opts)?, false, progress)
}

/// [`repair`] from copies read through `devices` (one per `opts.sources`, which name them and
/// identify the volume when `opts.volume` does not): drives reached some other way.
pub fn repair_from(
    vault: &Vault,
    opts: &RepairOptions,
    devices: Vec<Box<dyn SectorDevice>>,
    progress: &dyn Progress,
) -> Result<RepairReport> {
    if devices.len() != opts.sources.len() {
        return Err(Error::Invalid {
            field: "sources".into(),
            detail: format!(
                "{} devices for {} sources",
                devices.len(),
                opts.sources.len()
            ),
        });
    }
    run(vault, opts, devices, true, progress)
}
