//! Master: write one self-describing image per planned volume (ISO 9660, and UDF on a bridge).
//!
//! Every byte of every record is hashed on its way into the image and compared with the digest
//! recorded at ingest; a mismatch aborts that volume, removes its partial image and records
//! nothing. The same catalog state always gives a byte-identical image.

use crate::digest::{Digests, HashAlg, MultiHasher};
use crate::error::IoContext;
use crate::format::{self, SnapshotLine, VolumeContext, VolumeItem};
use crate::model::{Collection, Content, ContentEntry, FileKind, Volume, VolumeKind, VolumeState};
use crate::progress::{Message, Progress};
use crate::recovery::{self, RecoverySet};
use crate::{Error, Result, Vault};
use isoimage::{Entry, EntryKind, ImageSpec, Layout};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Options of `discvault master`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default, deny_unknown_fields)]
pub struct MasterOptions {
    /// Volumes to master; every planned volume when empty.
    #[cfg_attr(
        feature = "clap",
        arg(help = "Volumes to master (default: every planned volume)")
    )]
    pub volumes: Vec<String>,
    /// Directory the images are written to.
    #[cfg_attr(feature = "clap", arg(long))]
    pub out: PathBuf,
    /// Write again volumes that are already mastered (the image must come out identical).
    #[cfg_attr(
        feature = "clap",
        arg(
            long,
            help = "Master again volumes already mastered (the image must come out identical)"
        )
    )]
    pub again: bool,
}

/// One image written.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MasteredImage {
    pub volume_id: String,
    pub image: PathBuf,
    pub image_bytes: u64,
    pub image_sha256: String,
    pub files: u64,
    pub payload_bytes: u64,
    /// Share of the disc's capacity the image fills.
    pub fill_ratio: f64,
    /// The PAR2 sets written in `recovery/`.
    pub recovery: Vec<RecoverySet>,
    /// Bytes of the recovery files.
    pub recovery_bytes: u64,
}

mod snapshot;
mod spec;
mod write;

pub(crate) use snapshot::{snapshot, snapshot_budget, volume_context};
pub(crate) use spec::{
    add_parity, add_recovery, build_spec, parity_members, DataSource, TAG_MANIFEST,
};
pub(crate) use write::write_image;
use write::Mismatch;

/// Reads the parts of split files once more to compute the parts' digests, checking the whole
/// file against its ingest digest on the way.
fn part_digests(volume: &Volume, contents: &mut [ContentEntry], algs: &[HashAlg]) -> Result<()> {
    for e in contents.iter_mut() {
        if e.content.parts <= 1 || e.content.part_digests.is_some() {
            continue;
        }
        let path = PathBuf::from(std::ffi::OsStr::from_bytes(
            e.file.source.as_deref().unwrap_or_default(),
        ));
        let mut f = std::fs::File::open(&path).at(&path)?;
        f.seek(SeekFrom::Start(e.content.part_offset)).at(&path)?;
        let mut h = MultiHasher::new(algs);
        let n = std::io::copy(&mut (&mut f).take(e.content.length), &mut h).at(&path)?;
        if n != e.content.length {
            return Err(Error::Volume {
                volume: volume.volume_id.clone(),
                detail: format!(
                    "{}: source is shorter than recorded ({} bytes missing in part {})",
                    path.display(),
                    e.content.length - n,
                    e.content.part
                ),
            });
        }
        e.content.part_digests = Some(h.finish());
    }
    Ok(())
}

/// Masters the volumes asked for.
pub fn master(
    vault: &Vault,
    opts: &MasterOptions,
    progress: &dyn Progress,
) -> Result<Vec<MasteredImage>> {
    let _lock = vault.lock_shared("master", progress)?;
    let named = !opts.volumes.is_empty();
    let chosen: Vec<Volume> = if named {
        let mut v = Vec::new();
        for id in &opts.volumes {
            v.push(vault.catalog.volume(id)?);
        }
        v
    } else {
        vault
            .catalog
            .volumes()?
            .into_iter()
            .filter(|v| opts.again || v.state == VolumeState::Planned)
            .collect()
    };
    std::fs::create_dir_all(&opts.out).at(&opts.out)?;
    let mut out = Vec::new();
    for v in chosen {
        if progress.cancelled() {
            let done: Vec<&str> = out
                .iter()
                .map(|m: &MasteredImage| m.volume_id.as_str())
                .collect();
            return Err(Error::Cancelled(format!(
                "master: stopped before {}; mastered before the stop: {}",
                v.volume_id,
                if done.is_empty() {
                    "none".to_string()
                } else {
                    done.join(", ")
                }
            )));
        }
        // Each volume claimed while it is mastered: another process or station masters,
        // publishes or repairs other volumes meanwhile. A volume named is waited for; of the
        // volumes left to master, one held elsewhere is left to its holder.
        let key = crate::vault::volume_claim(&v.volume_id);
        let claim = match vault.claim(&key, "master", named, progress)? {
            Ok(c) => c,
            Err(holder) => {
                progress.note(&Message::LeftToHolder {
                    volume: v.volume_id.clone(),
                    holder,
                });
                continue;
            }
        };
        // As it is now, the claim held: another station may have mastered it meanwhile.
        let v = vault.catalog.volume(&v.volume_id)?;
        if !named && !opts.again && v.state != VolumeState::Planned {
            continue;
        }
        // What an interrupted run of this vault left in the output folder for it.
        vault.remove_litter(&opts.out, &v.volume_id, &claim)?;
        out.push(master_one(vault, &v, &opts.out, progress)?);
    }
    Ok(out)
}

/// Digests of the bytes of `e` on its disc: the part's for a split file, else the file's.
pub(crate) fn item_digests(e: &ContentEntry) -> &Digests {
    e.content.part_digests.as_ref().unwrap_or(&e.file.digests)
}

/// Everything needed to write a volume's image, computed before the first byte is written.
pub(crate) struct Prepared {
    pub tags: format::TagFiles,
    pub spec: ImageSpec,
    pub sources: Vec<DataSource>,
    pub contents: Vec<ContentEntry>,
    pub recovery: Vec<RecoverySet>,
    /// For a parity volume: the images its set is computed from (else the set's members are
    /// entries of this image).
    pub parity_inputs: Vec<par2::Input>,
    pub parity: Vec<format::ParityMember>,
}

/// With `spill_dir`, the tag files are made into an unnamed temporary file there, to be
/// written into the image; without, they are only counted (enough for the layout).
pub(crate) fn prepare(vault: &Vault, v: &Volume, spill_dir: Option<&Path>) -> Result<Prepared> {
    let mut contents = vault.catalog.volume_contents(v)?;
    let algs: Vec<HashAlg> = HashAlg::ALL
        .into_iter()
        .filter(|a| {
            contents
                .iter()
                .filter(|e| e.file.kind == FileKind::File)
                .all(|e| e.file.digests.get(*a).is_some())
        })
        .collect();
    part_digests(v, &mut contents, &algs)?;
    let collections = vault.catalog.collections()?;
    let budget = snapshot_budget(
        v.capacity_sectors * crate::media::SECTOR,
        vault.config.plan.index_share_percent,
        vault.catalog.count_files_on_volumes_upto(v.id)?,
    );
    let snap = snapshot(vault, v, &contents, budget)?;
    let items: Vec<VolumeItem> = contents
        .iter()
        .map(|e| VolumeItem {
            collection: &e.collection,
            file: &e.file,
            content: &e.content,
            digests: std::borrow::Cow::Borrowed(item_digests(e)),
        })
        .collect();
    let parity = match v.kind {
        VolumeKind::Parity => parity_members(vault, v)?,
        VolumeKind::Data => Vec::new(),
    };
    let mut ctx = volume_context(vault, v, &collections, items, snap);
    ctx.parity = parity.clone();
    if let Some(first) = parity.first() {
        let member = vault.catalog.volume(&first.volume_id)?;
        ctx.parity_discs = vault
            .catalog
            .parity_of(&member)?
            .into_iter()
            .map(|p| p.volume_id)
            .collect();
    }
    if v.kind == VolumeKind::Data {
        let parity = vault.catalog.parity_of(v)?;
        if let Some(first) = parity.first() {
            let members: Vec<String> = vault
                .catalog
                .parity_members(first)?
                .into_iter()
                .map(|m| m.volume_id)
                .collect();
            ctx.covered_by = Some(format::ParityGroup {
                set: format!(
                    "{}/{}.par2",
                    recovery::RECOVERY_DIR,
                    recovery::parity_base(&members)
                ),
                parity_discs: parity.into_iter().map(|p| p.volume_id).collect(),
            });
        }
    }
    let sink = match spill_dir {
        Some(dir) => format::TagSink::Spill(tempfile::tempfile_in(dir).at(dir)?),
        None => format::TagSink::Count,
    };
    // Only writing the spill file can fail (a full disk, say): our own failure, named by the
    // folder it is in, never damage of anything.
    let tags = format::TagFiles::make(&ctx, sink).map_err(|e| match spill_dir {
        Some(dir) => Error::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::new(
                e.kind(),
                format!("temporary tag files of {}: {e}", v.volume_id),
            ),
        },
        None => Error::Volume {
            volume: v.volume_id.clone(),
            detail: format!("its tag files: {e}"),
        },
    })?;
    let (mut spec, mut sources) = build_spec(v, &tags, &ctx.items);
    drop(ctx);
    let recovery = match v.kind {
        VolumeKind::Parity => vec![add_parity(v, &mut spec, &mut sources, &parity, false)],
        VolumeKind::Data => add_recovery(v, &mut spec, &mut sources, false),
    };
    Ok(Prepared {
        tags,
        spec,
        sources,
        contents,
        recovery,
        parity_inputs: Vec::new(),
        parity,
    })
}

/// The member images a parity volume is computed from, in `dir`, each checked against the
/// size and sha256 recorded when it was mastered.
fn parity_inputs(
    v: &Volume,
    members: &[format::ParityMember],
    dir: &Path,
) -> Result<Vec<par2::Input>> {
    members
        .iter()
        .map(|m| {
            let path = dir.join(&m.image);
            let bad = |detail: String| Error::Volume {
                volume: v.volume_id.clone(),
                detail: format!("{}: {detail}", path.display()),
            };
            let len = std::fs::metadata(&path)
                .map_err(|e| bad(format!("{e}: the parity volume is computed from the images of its group; master {} into this folder (master --again)", m.volume_id)))?
                .len();
            if len != m.image_bytes {
                return Err(bad(format!("{len} bytes, {} was mastered with {}", m.volume_id, m.image_bytes)));
            }
            let mut f = std::fs::File::open(&path).at(&path)?;
            let mut h = sha2::Sha256::new();
            std::io::copy(&mut f, &mut h).at(&path)?;
            let sha = hex::encode(h.finalize());
            if sha != m.image_sha256 {
                return Err(bad(format!("sha256 {sha}, {} was mastered as {}", m.volume_id, m.image_sha256)));
            }
            Ok(par2::Input::file(m.image.clone(), path))
        })
        .collect()
}

fn master_one(
    vault: &Vault,
    v: &Volume,
    out_dir: &Path,
    progress: &dyn Progress,
) -> Result<MasteredImage> {
    let mut p = prepare(vault, v, Some(out_dir))?;
    if v.kind == VolumeKind::Parity {
        p.parity_inputs = parity_inputs(v, &p.parity, out_dir)?;
    }
    let layout = Layout::new(&p.spec).map_err(|e| Error::Volume {
        volume: v.volume_id.clone(),
        detail: e.to_string(),
    })?;
    if layout.total_sectors() > v.capacity_sectors {
        return Err(Error::Volume {
            volume: v.volume_id.clone(),
            detail: format!(
                "image needs {} sectors, the disc holds {}",
                layout.total_sectors(),
                v.capacity_sectors
            ),
        });
    }
    let payload: u64 = p
        .contents
        .iter()
        .filter(|e| e.file.kind == FileKind::File)
        .map(|e| e.content.length)
        .sum();
    let files = p
        .contents
        .iter()
        .filter(|e| e.file.kind == FileKind::File)
        .count() as u64;
    progress.start(
        &Message::Mastering {
            volume: v.volume_id.clone(),
        },
        files,
        payload,
    );
    let final_path = out_dir.join(format!("{}.iso", v.volume_id));
    let tmp = tempfile::Builder::new()
        .prefix(&vault.work_name(&format!("{}.", v.volume_id)))
        .suffix(".partial")
        .tempfile_in(out_dir)
        .at(out_dir)?;
    let file = tmp.as_file().try_clone().at(tmp.path())?;
    // Chunks of 4 MiB reach the file from the pipe's writer thread: no buffering needed here.
    // Blocks of zeros stay holes, so an image of sparse recordings takes only its data's disk.
    let result = write_image(
        &p,
        &layout,
        crate::sparse::SparseFile::new(file),
        tmp.path(),
        progress,
    )
    .and_then(|(sha, f)| Ok((sha, f.into_inner()?)));
    progress.finish();
    let (sha, file) = match result {
        Ok(x) => x,
        Err(e) => {
            // The partial image is removed when `tmp` drops; nothing is recorded.
            let e = match e.get_ref().and_then(|r| r.downcast_ref::<Mismatch>()) {
                Some(m) => Error::MasterMismatch {
                    volume: v.volume_id.clone(),
                    path: m.path.clone(),
                    expected: m.expected.clone(),
                    actual: m.actual.clone(),
                },
                None => Error::Volume {
                    volume: v.volume_id.clone(),
                    detail: format!("writing image: {e}"),
                },
            };
            return Err(e);
        }
    };
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
        .at(tmp.path())?;
    file.sync_all().at(tmp.path())?;
    // Checked before the image takes its place: a differing one must not replace a good image
    // of the volume in the output folder (the partial image is removed when `tmp` drops).
    if let (VolumeState::Mastered, Some(old)) = (v.state, &v.image_sha256) {
        if *old != sha {
            return Err(Error::Volume {
                volume: v.volume_id.clone(),
                detail: format!(
                    "mastered again but the image differs (was sha256 {old}, now {sha}): the catalog changed since"
                ),
            });
        }
    }
    tmp.persist(&final_path).map_err(|e| Error::Io {
        path: final_path.clone(),
        source: e.error,
    })?;
    // Where each item's bytes start: its entry's first sector.
    let lbas = layout.file_lbas();
    let mut item_lba: Vec<Option<u32>> = vec![None; p.contents.len()];
    for (i, source) in p.sources.iter().enumerate() {
        if let DataSource::File { item, .. } = source {
            item_lba[*item] = lbas.get(&i).copied();
        }
    }
    drop(lbas);
    let mut recorded = Vec::with_capacity(p.contents.len());
    for (e, lba) in p.contents.iter().zip(item_lba) {
        let mut c = e.content.clone();
        c.lba = lba;
        if c.parts > 1 {
            c.part_digests = Some(item_digests(e).clone());
        }
        recorded.push(c);
    }
    let image_bytes = layout.total_bytes();
    let recovery_bytes: u64 = p.recovery.iter().map(|s| s.bytes()).sum();
    vault.catalog.record_master(
        v,
        &sha,
        image_bytes,
        &recorded,
        &format!(
            "mastered {} to {}: {} files, {} payload bytes, image {} bytes, sha256 {}{}",
            v.volume_id,
            final_path.display(),
            files,
            payload,
            image_bytes,
            sha,
            match p.recovery.len() {
                0 => String::new(),
                n => format!(
                    "; recovery data {} bytes in {} PAR2 set{} ({}‰)",
                    recovery_bytes,
                    n,
                    if n == 1 { "" } else { "s" },
                    v.recovery_permille
                ),
            }
        ),
    )?;
    Ok(MasteredImage {
        volume_id: v.volume_id.clone(),
        image: final_path,
        image_bytes,
        image_sha256: sha,
        files,
        payload_bytes: payload,
        fill_ratio: image_bytes as f64 / (v.capacity_sectors * crate::media::SECTOR) as f64,
        recovery: p.recovery,
        recovery_bytes,
    })
}
