//! The image description of a volume: its entries and where each one's bytes come from, with
//! the recovery data laid out after the files they protect.

use super::*;

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
    tags: &format::TagFiles,
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
    for k in 0..tags.len() {
        entries.push(Entry {
            path: tags.name(k).as_bytes().to_vec(),
            kind: EntryKind::File { size: tags.size(k) },
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
        udf: volume.has_udf(),
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
