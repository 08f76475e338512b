//! Master: write one self-describing ISO 9660 image per planned volume.
//!
//! Every byte of every record is hashed on its way into the image and compared with the digest
//! recorded at ingest; a mismatch aborts that volume, removes its partial image and records
//! nothing. The same catalog state always gives a byte-identical image.

use crate::digest::{Digests, HashAlg, MultiHasher};
use crate::error::IoContext;
use crate::format::{self, SnapshotLine, VolumeContext, VolumeItem};
use crate::model::{Collection, Content, ContentEntry, FileKind, Volume, VolumeKind, VolumeState};
use crate::progress::Progress;
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
#[serde(default)]
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

/// Where the bytes of one image entry come from.
pub(crate) enum DataSource {
    Tag(usize),
    /// A file of recovery set `set` (its index file, or its volume file), computed from the
    /// image's own bytes once everything before it is written.
    Recovery {
        set: usize,
        volume_file: bool,
    },
    /// The tag manifest (tag `k`), with the recovery files' lines added.
    TagManifest(usize),
    /// The bytes of item `item` (of the items the description was built from: in master,
    /// [`Prepared::contents`]), checked against its BLAKE3 when recorded (at ingest since
    /// format 2's records: a quarter of SHA-256's cost, while the image gets its own SHA-256),
    /// else its SHA-256.
    File {
        item: usize,
        /// A file to read the bytes from instead of the record's source (from its start): a
        /// repair's recovered copy.
        from: Option<Vec<u8>>,
    },
}

/// Builds the image description of a volume from its tag files and items.
pub(crate) fn build_spec(
    volume: &Volume,
    tags: &[(String, Vec<u8>)],
    items: &[VolumeItem],
) -> (ImageSpec, Vec<DataSource>) {
    let t = volume.created_at;
    let mut entries = Vec::new();
    let mut sources = Vec::new();
    let mut dirs = BTreeSet::new();
    dirs.insert(b"data".to_vec());
    dirs.insert(b"discvault".to_vec());
    for i in items {
        dirs.insert(format!("data/{}", i.collection).into_bytes());
    }
    for d in dirs {
        entries.push(Entry {
            path: d,
            kind: EntryKind::Dir,
            mode: 0o755,
            mtime: t,
        });
        sources.push(DataSource::Tag(usize::MAX));
    }
    for (k, (p, data)) in tags.iter().enumerate() {
        entries.push(Entry {
            path: p.as_bytes().to_vec(),
            kind: EntryKind::File {
                size: data.len() as u64,
            },
            mode: 0o444,
            mtime: t,
        });
        sources.push(DataSource::Tag(k));
    }
    let mut payload: Vec<(Vec<u8>, usize, &VolumeItem)> = items
        .iter()
        .enumerate()
        .filter(|(_, i)| i.file.kind == FileKind::File)
        .map(|(k, i)| (format::disc_path(i.collection, i.file, i.content), k, i))
        .collect();
    payload.sort_by(|a, b| a.0.cmp(&b.0));
    for (p, k, i) in payload {
        entries.push(Entry {
            path: p,
            kind: EntryKind::File {
                size: i.content.length,
            },
            mode: i.file.mode & 0o7777,
            mtime: i.file.mtime,
        });
        sources.push(DataSource::File {
            item: k,
            from: None,
        });
    }
    let spec = ImageSpec {
        volume_id: volume.volume_id.clone(),
        volume_set_id: format!("PLAN-{:06}", volume.plan_id),
        publisher: String::new(),
        preparer: crate::SOFTWARE.into(),
        application: format!("{} format {}", crate::SOFTWARE, volume.format_version),
        created: t,
        entries,
    };
    (spec, sources)
}

/// Path of the tag manifest on a disc.
pub(crate) const TAG_MANIFEST: &str = "tagmanifest-sha256.txt";

/// Bytes one line of the tag manifest takes for a file at `path`.
fn tag_line_bytes(path: &str) -> u64 {
    64 + 2 + path.len() as u64 + 1
}

/// Adds a volume's recovery data to its image description: the PAR2 sets over every file with
/// data but the tag manifest, then the tag manifest (which lists the recovery files), as the
/// last data of the image. Nothing changes for a volume without recovery data.
/// With `for_plan`, the recovery files are counted at an upper bound of their size (see
/// [`recovery::plan_sets`]).
pub(crate) fn add_recovery(
    volume: &Volume,
    spec: &mut ImageSpec,
    sources: &mut Vec<DataSource>,
    for_plan: bool,
) -> Vec<RecoverySet> {
    let Some(tm) = tag_manifest_entry(spec) else {
        return Vec::new();
    };
    // Entry indices as they are once the tag manifest has moved to the end.
    let with_data: Vec<usize> = (0..spec.entries.len())
        .filter(|&i| i != tm && matches!(spec.entries[i].kind, EntryKind::File { .. }))
        .collect();
    let files: Vec<(&[u8], u64)> = with_data
        .iter()
        .map(|&i| match spec.entries[i].kind {
            EntryKind::File { size } => (spec.entries[i].path.as_slice(), size),
            _ => unreachable!(),
        })
        .collect();
    let mut sets = recovery::plan_sets(
        &volume.volume_id,
        &files,
        volume.recovery_permille,
        volume.recovery_slices,
        for_plan,
    );
    for s in sets.iter_mut() {
        for m in s.members.iter_mut() {
            let i = with_data[*m];
            *m = if i > tm { i - 1 } else { i };
        }
    }
    if !sets.is_empty() {
        lay_out_sets(volume, spec, sources, &sets);
    }
    sets
}

fn tag_manifest_entry(spec: &ImageSpec) -> Option<usize> {
    spec.entries
        .iter()
        .position(|e| e.path == TAG_MANIFEST.as_bytes())
}

/// Appends the files of `sets` in `recovery/`, then the tag manifest (moved from where it was,
/// grown by the recovery files' lines), as the last data of the image.
fn lay_out_sets(
    volume: &Volume,
    spec: &mut ImageSpec,
    sources: &mut Vec<DataSource>,
    sets: &[RecoverySet],
) {
    let tm = tag_manifest_entry(spec).expect("every volume has a tag manifest");
    let mut entry = spec.entries.remove(tm);
    let source = sources.remove(tm);
    let DataSource::Tag(k) = source else {
        unreachable!("the tag manifest is a tag file")
    };
    let t = volume.created_at;
    spec.entries.push(Entry {
        path: recovery::RECOVERY_DIR.as_bytes().to_vec(),
        kind: EntryKind::Dir,
        mode: 0o755,
        mtime: t,
    });
    sources.push(DataSource::Tag(usize::MAX));
    let mut extra = 0;
    for (n, s) in sets.iter().enumerate() {
        for (volume_file, path, size) in [
            (false, s.index_path(), s.index_bytes),
            (true, s.volume_path(), s.volume_bytes),
        ] {
            extra += tag_line_bytes(&path);
            spec.entries.push(Entry {
                path: path.into_bytes(),
                kind: EntryKind::File { size },
                mode: 0o444,
                mtime: t,
            });
            sources.push(DataSource::Recovery {
                set: n,
                volume_file,
            });
        }
    }
    if let EntryKind::File { size } = &mut entry.kind {
        *size += extra;
    }
    spec.entries.push(entry);
    sources.push(DataSource::TagManifest(k));
}

/// Lays out a parity volume's set over the images of `members` (mastered data volumes).
pub(crate) fn add_parity(
    volume: &Volume,
    spec: &mut ImageSpec,
    sources: &mut Vec<DataSource>,
    members: &[format::ParityMember],
    for_plan: bool,
) -> RecoverySet {
    let images: Vec<(String, u64)> = members
        .iter()
        .map(|m| (m.image.clone(), m.image_bytes))
        .collect();
    let ids: Vec<String> = members.iter().map(|m| m.volume_id.clone()).collect();
    let set = recovery::parity_set(
        &recovery::parity_base(&ids),
        &images,
        volume.recovery_slices,
        volume.parity_index,
        for_plan,
    );
    lay_out_sets(volume, spec, sources, std::slice::from_ref(&set));
    set
}

/// The members of a parity volume as its disc describes them; every member must be mastered.
pub(crate) fn parity_members(vault: &Vault, v: &Volume) -> Result<Vec<format::ParityMember>> {
    vault
        .catalog
        .parity_members(v)?
        .into_iter()
        .map(|m| match (&m.image_sha256, m.state) {
            (Some(sha), VolumeState::Mastered) => Ok(format::ParityMember {
                image: format!("{}.iso", m.volume_id),
                volume_id: m.volume_id.clone(),
                image_bytes: m.image_bytes,
                image_sha256: sha.clone(),
            }),
            _ => Err(Error::Volume {
                volume: v.volume_id.clone(),
                detail: format!(
                    "parity volume of {}, which is not mastered yet: master it first",
                    m.volume_id
                ),
            }),
        })
        .collect()
}

/// The catalog snapshot a volume carries: the catalog as planned up to this volume, or, when
/// that exceeds `budget` bytes, the index of all volumes plus this volume's own records.
pub(crate) fn snapshot(
    vault: &Vault,
    volume: &Volume,
    contents: &[ContentEntry],
    budget: u64,
) -> Result<Vec<u8>> {
    let cat = &vault.catalog;
    let collections = cat.collections()?;
    let by_id: BTreeMap<i64, &Collection> = collections.iter().map(|c| (c.id, c)).collect();
    let volumes: Vec<Volume> = cat
        .volumes()?
        .into_iter()
        .filter(|v| v.id <= volume.id)
        .collect();
    let vault_id = (volume.format_version >= format::VAULT_ID_SINCE).then(|| vault.id.clone());
    let header = |scope: &str| SnapshotLine::Header {
        format: "discvault-catalog-snapshot".into(),
        format_version: volume.format_version,
        vault_id: vault_id.clone(),
        volume_id: volume.volume_id.clone(),
        scope: scope.into(),
    };
    // Only what was fixed when this volume was planned: the collections of the records on it
    // and on the volumes before it (a collection added later would change a re-mastered image).
    let mut used = cat.collections_on_volumes_upto(volume.id)?;
    used.extend(contents.iter().map(|e| e.file.collection_id));
    let mut base = Vec::new();
    for c in collections.iter().filter(|c| used.contains(&c.id)) {
        base.push(SnapshotLine::Collection(format::CollectionRecord {
            name: c.name.clone(),
            fonds: c.fonds.clone(),
            series: c.series.clone(),
            retention: c.retention.clone(),
            metadata: c.metadata.clone(),
        }));
    }
    for v in &volumes {
        base.push(SnapshotLine::Volume {
            volume_id: v.volume_id.clone(),
            plan_id: v.plan_id,
            seq: v.seq,
            seq_count: v.seq_count,
            media: v.media.clone(),
            created_at: v.created_at,
        });
    }
    let content_line = |vid: &str, c: &Content| SnapshotLine::Content {
        volume_id: vid.to_string(),
        file_id: c.file_id,
        part: c.part,
        parts: c.parts,
        offset: c.part_offset,
        length: c.length,
    };
    // The records and contents are compressed as the catalog gives them (a million records
    // are never held at once), and given up as soon as they are over the budget.
    let mut full = format::GzipLines::new();
    full.push(&header("all volumes up to this one"));
    for l in &base {
        full.push(l);
    }
    let mut within = true;
    cat.each_file_on_volumes_upto(volume.id, |f| {
        let cname = by_id
            .get(&f.collection_id)
            .map(|c| c.name.as_str())
            .unwrap_or("");
        full.push(&format::snapshot_file(cname, &f));
        within = full.compressed_len() <= budget;
        within
    })?;
    if within {
        cat.each_content_upto(volume.id, |vid, c| {
            full.push(&content_line(vid, &c));
            within = full.compressed_len() <= budget;
            within
        })?;
    }
    if within {
        let data = full.finish();
        if data.len() as u64 <= budget {
            return Ok(data);
        }
    }
    let mut own = format::GzipLines::new();
    own.push(&header("index of all volumes; files of this volume only"));
    for l in &base {
        own.push(l);
    }
    for e in contents {
        own.push(&format::snapshot_file(&e.collection, &e.file));
        own.push(&content_line(&volume.volume_id, &e.content));
    }
    let data = own.finish();
    if data.len() as u64 > budget {
        return Err(Error::Volume {
            volume: volume.volume_id.clone(),
            detail: format!(
                "catalog snapshot needs {} bytes, more than the {} reserved for it",
                data.len(),
                budget
            ),
        });
    }
    Ok(data)
}

/// Bytes reserved on a disc for the catalog snapshot.
pub(crate) fn snapshot_budget(capacity_bytes: u64, share_percent: f64, files: u64) -> u64 {
    let cap = (capacity_bytes as f64 * share_percent / 100.0) as u64;
    (256 * 1024 + 160 * files).min(cap)
}

/// The tag-file inputs of a volume: its items, and the collections they belong to.
pub(crate) fn volume_context<'a>(
    vault: &'a Vault,
    volume: &'a Volume,
    collections: &'a [Collection],
    items: Vec<VolumeItem<'a>>,
    snapshot: Vec<u8>,
) -> VolumeContext<'a> {
    let used: BTreeSet<&str> = items.iter().map(|i| i.collection).collect();
    VolumeContext {
        volume,
        vault_id: (volume.format_version >= crate::format::VAULT_ID_SINCE)
            .then_some(vault.id.as_str()),
        organization: &vault.config.vault.organization,
        volume_prefix: &vault.config.vault.volume_prefix,
        collections: collections
            .iter()
            .filter(|c| used.contains(c.name.as_str()))
            .collect(),
        items,
        snapshot,
        parity: Vec::new(),
        parity_discs: Vec::new(),
        covered_by: None,
    }
}

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
        // Each volume claimed while it is mastered: another process or station masters,
        // publishes or repairs other volumes meanwhile. A volume named is waited for; of the
        // volumes left to master, one held elsewhere is left to its holder.
        let key = crate::vault::volume_claim(&v.volume_id);
        let claim = match vault.claim(&key, "master", named, progress)? {
            Ok(c) => c,
            Err(holder) => {
                progress.note(&format!("{}: left to {holder}, who holds it", v.volume_id));
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
    pub tags: Vec<(String, Vec<u8>)>,
    pub spec: ImageSpec,
    pub sources: Vec<DataSource>,
    pub contents: Vec<ContentEntry>,
    pub recovery: Vec<RecoverySet>,
    /// For a parity volume: the images its set is computed from (else the set's members are
    /// entries of this image).
    pub parity_inputs: Vec<par2::Input>,
    pub parity: Vec<format::ParityMember>,
}

pub(crate) fn prepare(vault: &Vault, v: &Volume) -> Result<Prepared> {
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
    let tags = format::tag_files(&ctx);
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

/// A digest mismatch found while writing, carried through the image writer's I/O error.
#[derive(Debug)]
struct Mismatch {
    path: String,
    expected: String,
    actual: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "digest mismatch in {}", self.path)
    }
}

impl std::error::Error for Mismatch {}

/// Writes the image of a prepared volume to `w`, checking every record's digest. `image` is
/// the file `w` writes to: the recovery data are computed from it.
pub(crate) fn write_image<W: Write + Send + 'static>(
    p: &Prepared,
    layout: &Layout,
    w: W,
    image: &Path,
    progress: &dyn Progress,
) -> std::result::Result<(String, W), std::io::Error> {
    let mut hw = crate::pipe::HashPipe::new(w);
    let mut buf = vec![0u8; 1 << 20];
    let lbas = layout.file_lbas();
    // Recovery files of the set being written (in a folder of their own beside the image), and
    // the sha256 of every recovery file written, for the tag manifest.
    let work = match p.recovery.is_empty() {
        true => None,
        false => Some(
            // Named after the partial image, so that what a killed run leaves is found with it.
            tempfile::Builder::new()
                .prefix(&format!(
                    "{}-recovery.",
                    image.file_name().unwrap_or_default().to_string_lossy()
                ))
                .tempdir_in(image.parent().unwrap_or(Path::new(".")))?,
        ),
    };
    let mut created: Option<par2::Created> = None;
    let mut recovery_sums: Vec<(String, String)> = Vec::new();
    let res = layout.write(&mut hw, &mut |index, out| match &p.sources[index] {
        DataSource::Tag(k) => out.write_all(&p.tags[*k].1),
        DataSource::Recovery { set, volume_file } => {
            let s = &p.recovery[*set];
            if !*volume_file {
                // Everything the set protects is in the image file once the pipe is flushed.
                out.flush()?;
                let inputs: Vec<par2::Input> = if !p.parity_inputs.is_empty() {
                    p.parity_inputs.clone()
                } else {
                    s.members
                        .iter()
                        .map(|&i| {
                            let e = &p.spec.entries[i];
                            let EntryKind::File { size } = e.kind else {
                                unreachable!("recovery sets protect files")
                            };
                            let name = String::from_utf8(e.path.clone()).expect("UTF-8 member");
                            par2::Input::part(name, image, lbas[&i] as u64 * isoimage::SECTOR, size)
                        })
                        .collect()
                };
                let opts = par2::CreateOptions {
                    slice_size: Some(s.slice_size),
                    recovery_slices: Some(s.recovery_slices),
                    first_exponent: s.first_exponent,
                    creator: recovery::creator(),
                    ..Default::default()
                };
                let dir = work.as_ref().expect("recovery folder").path();
                created = Some(
                    par2::create(&inputs, dir, &s.base, &opts)
                        .map_err(|e| std::io::Error::other(format!("recovery data: {e}")))?,
                );
            }
            let c = created.as_ref().expect("set created before its files");
            let path = &c.files[*volume_file as usize];
            let (disc_path, size) = match volume_file {
                false => (s.index_path(), s.index_bytes),
                true => (s.volume_path(), s.volume_bytes),
            };
            let mut f = std::fs::File::open(path)?;
            let len = f.metadata()?.len();
            if len != size {
                return Err(std::io::Error::other(format!(
                    "recovery file {disc_path} has {len} bytes, {size} were laid out"
                )));
            }
            let mut h = sha2::Sha256::new();
            loop {
                let got = f.read(&mut buf)?;
                if got == 0 {
                    break;
                }
                h.update(&buf[..got]);
                out.write_all(&buf[..got])?;
            }
            drop(f);
            std::fs::remove_file(path)?;
            recovery_sums.push((disc_path, hex::encode(h.finalize())));
            Ok(())
        }
        DataSource::TagManifest(k) => {
            let mut lines: Vec<(String, String)> = std::str::from_utf8(&p.tags[*k].1)
                .expect("UTF-8 tag manifest")
                .lines()
                .filter_map(|l| l.split_once("  "))
                .map(|(sum, path)| (path.to_string(), sum.to_string()))
                .collect();
            lines.extend(recovery_sums.iter().map(|(p, s)| (p.clone(), s.clone())));
            lines.sort();
            for (path, sum) in lines {
                out.write_all(format!("{sum}  {path}\n").as_bytes())?;
            }
            Ok(())
        }
        DataSource::File { item, from } => {
            let e = &p.contents[*item];
            let (path, offset) = match from {
                Some(f) => (f.as_slice(), 0),
                None => (
                    e.file.source.as_deref().unwrap_or_default(),
                    e.content.part_offset,
                ),
            };
            let display = || format!("{}/{}", e.collection, e.file.path);
            let digests = item_digests(e);
            let check = digests.get(HashAlg::Blake3);
            let os = std::ffi::OsStr::from_bytes(path);
            let mut f = std::fs::File::open(os).map_err(|e| {
                std::io::Error::new(e.kind(), format!("{}: {e}", Path::new(os).display()))
            })?;
            if offset > 0 {
                f.seek(SeekFrom::Start(offset))?;
            }
            let mut h = RecordCheck::new(check.is_some());
            let expect = check
                .or_else(|| digests.get(HashAlg::Sha256))
                .unwrap_or_default();
            let alg = if check.is_some() { "blake3" } else { "sha256" };
            let mut left = e.content.length;
            while left > 0 {
                let k = (left as usize).min(buf.len());
                let got = f.read(&mut buf[..k])?;
                if got == 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        Mismatch {
                            path: display(),
                            expected: format!("{alg} {expect}"),
                            actual: format!("file shorter by {left} bytes"),
                        },
                    ));
                }
                h.update(&buf[..got]);
                out.write_all(&buf[..got])?;
                left -= got as u64;
                progress.advance(0, got as u64);
            }
            let actual = h.finish();
            if actual != expect {
                return Err(std::io::Error::other(Mismatch {
                    path: display(),
                    expected: format!("{alg} {expect}"),
                    actual: format!("{alg} {actual}"),
                }));
            }
            progress.advance(1, 0);
            Ok(())
        }
    });
    match res {
        Ok(_) => hw.finish(),
        Err(isoimage::IsoError::Io(e)) => Err(e),
        Err(e) => Err(std::io::Error::other(e.to_string())),
    }
}

/// The digest a record's bytes are checked against while written: BLAKE3, or SHA-256 for a
/// record without one.
enum RecordCheck {
    Blake3(Box<blake3::Hasher>),
    Sha256(sha2::Sha256),
}

impl RecordCheck {
    fn new(blake3: bool) -> RecordCheck {
        if blake3 {
            RecordCheck::Blake3(Box::new(blake3::Hasher::new()))
        } else {
            RecordCheck::Sha256(sha2::Sha256::new())
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            RecordCheck::Blake3(h) => {
                h.update(data);
            }
            RecordCheck::Sha256(h) => h.update(data),
        }
    }

    fn finish(self) -> String {
        match self {
            RecordCheck::Blake3(h) => h.finalize().to_hex().to_string(),
            RecordCheck::Sha256(h) => hex::encode(h.finalize()),
        }
    }
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
    let mut p = prepare(vault, v)?;
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
    progress.start(&format!("mastering {}", v.volume_id), files, payload);
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
