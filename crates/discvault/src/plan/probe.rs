//! The planner's probes: the exact size of a volume's image, laid out as the image writer
//! will lay it out, with its tag files counted at the largest they could be.

use super::*;

/// A volume as the planner probes it: the largest numbers its tag files could show.
fn probe_volume(
    vault: &Vault,
    (media, file_systems): (&MediaProfile, FileSystems),
    seq_count: u32,
    kind: VolumeKind,
    (recovery_permille, recovery_slices): (i64, i64),
) -> Volume {
    Volume {
        id: 0,
        volume_id: format!("{}-999999", vault.config.vault.volume_prefix),
        plan_id: 999_999,
        seq: seq_count as i64,
        seq_count: seq_count as i64,
        media: media.name.clone(),
        capacity_sectors: media.sectors,
        payload_bytes: 0,
        image_bytes: 0,
        state: VolumeState::Planned,
        image_sha256: None,
        mastered_at: None,
        format_version: format::FORMAT_VERSION,
        created_at: 4_102_444_800,
        recovery_permille,
        recovery_slices,
        kind,
        // The last parity disc of a group has the longest file names: room for them.
        parity_index: 7,
        file_systems,
    }
}

/// Counts the catalog snapshot of a probed image at its reserved size.
fn snapshot_at_budget(spec: &mut isoimage::ImageSpec, budget: u64) {
    for e in spec.entries.iter_mut() {
        if e.path == format::CATALOG_SNAPSHOT.as_bytes() {
            e.kind = isoimage::EntryKind::File { size: budget };
        }
    }
}

/// Exact size of the image a volume with these items would have, and of its recovery data.
#[allow(clippy::too_many_arguments)]
pub(super) fn exact_image_bytes(
    vault: &Vault,
    collections: &[Collection],
    files: &[(String, FileRecord)],
    items: &[Slot],
    (media, file_systems): (&MediaProfile, FileSystems),
    snapshot_budget: u64,
    seq_count: u32,
    (recovery_permille, recovery_slices): (i64, i64),
    in_parity_group: bool,
) -> Result<(u64, u64)> {
    let volume = probe_volume(
        vault,
        (media, file_systems),
        seq_count,
        VolumeKind::Data,
        (recovery_permille, recovery_slices),
    );
    let contents: Vec<Content> = items
        .iter()
        .map(|&(i, part, parts, offset, length)| Content {
            file_id: files[i].1.id,
            part,
            parts,
            part_offset: offset,
            length,
            part_digests: None,
            lba: None,
        })
        .collect();
    let vitems: Vec<VolumeItem> = items
        .iter()
        .zip(&contents)
        .map(|(&(i, ..), c)| VolumeItem {
            collection: &files[i].0,
            file: &files[i].1,
            content: c,
            // Part digests have the same length as whole-file digests.
            digests: if c.parts > 1 {
                Cow::Owned(Digests(
                    files[i]
                        .1
                        .digests
                        .0
                        .iter()
                        .map(|(a, h)| (*a, "0".repeat(h.len())))
                        .collect(),
                ))
            } else {
                Cow::Borrowed(&files[i].1.digests)
            },
        })
        .collect();
    let mut ctx = volume_context(
        vault,
        &volume,
        collections,
        vitems,
        // The snapshot only counts by its size (set below): no need to build or hash it.
        Vec::new(),
    );
    if in_parity_group {
        // The longest the parity group's description can be: eight parity discs.
        let id = |n: usize| format!("{}-{:06}", vault.config.vault.volume_prefix, 999_990 + n);
        ctx.covered_by = Some(format::ParityGroup {
            set: format!("recovery/{}_{}.par2", id(0), id(1)),
            parity_discs: (0..8).map(id).collect(),
        });
    }
    let mut tags = count_tags(&ctx)?;
    // Room for tag-file fields whose length is not known yet (ids, counts, dates).
    for k in 0..tags.len() {
        if tags.name(k) != format::CATALOG_SNAPSHOT {
            tags.pad(k, 256);
        }
    }
    let (mut spec, mut sources) = build_spec(&volume, &tags, &ctx.items);
    snapshot_at_budget(&mut spec, snapshot_budget);
    let sets = add_recovery(&volume, &mut spec, &mut sources, true);
    let layout = isoimage::Layout::new(&spec).map_err(|e| Error::Invalid {
        field: "plan".into(),
        detail: e.to_string(),
    })?;
    Ok((layout.total_bytes(), sets.iter().map(|s| s.bytes()).sum()))
}

/// The tag files of a volume as a plan sees them: only their sizes.
fn count_tags(ctx: &format::VolumeContext) -> Result<format::TagFiles> {
    format::TagFiles::make(ctx, format::TagSink::Count).map_err(|e| Error::Invalid {
        field: "plan".into(),
        detail: format!("tag files: {e}"),
    })
}

/// Exact size of a parity volume's image over member images of these sizes (an upper bound:
/// its tag files are counted with room for their final contents), and of its recovery data.
pub(super) fn parity_image_bytes(
    vault: &Vault,
    collections: &[Collection],
    (media, file_systems): (&MediaProfile, FileSystems),
    snapshot_budget: u64,
    seq_count: u32,
    members: &[u64],
) -> Result<(u64, u64)> {
    let volume = probe_volume(
        vault,
        (media, file_systems),
        seq_count,
        VolumeKind::Parity,
        (0, crate::recovery::PARITY_SLICES),
    );
    let parity: Vec<format::ParityMember> = members
        .iter()
        .enumerate()
        .map(|(i, &bytes)| format::ParityMember {
            volume_id: format!("{}-{:06}", vault.config.vault.volume_prefix, 999_000 + i),
            image: format!(
                "{}-{:06}.iso",
                vault.config.vault.volume_prefix,
                999_000 + i
            ),
            image_bytes: bytes,
            image_sha256: "0".repeat(64),
        })
        .collect();
    let mut ctx = volume_context(vault, &volume, collections, Vec::new(), Vec::new());
    ctx.parity = parity.clone();
    ctx.parity_discs = (0..8)
        .map(|i| format!("{}-{:06}", vault.config.vault.volume_prefix, 998_000 + i))
        .collect();
    let mut tags = count_tags(&ctx)?;
    for k in 0..tags.len() {
        if tags.name(k) != format::CATALOG_SNAPSHOT {
            tags.pad(k, 256 + 32 * members.len() as u64);
        }
    }
    let (mut spec, mut sources) = build_spec(&volume, &tags, &[]);
    snapshot_at_budget(&mut spec, snapshot_budget);
    let set = add_parity(&volume, &mut spec, &mut sources, &parity, true);
    let layout = isoimage::Layout::new(&spec).map_err(|e| Error::Invalid {
        field: "plan".into(),
        detail: e.to_string(),
    })?;
    Ok((layout.total_bytes(), set.bytes()))
}
