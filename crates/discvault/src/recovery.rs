//! Recovery data on a disc: PAR2 2.0 sets over the disc's own files, written as
//! `recovery/<volume id>.par2` and `recovery/<volume id>.vol00+NN.par2`, so that any PAR2 tool
//! (par2cmdline, par2cmdline-turbo, MultiPar, QuickPar) can check and repair a copy of the disc
//! without discvault.
//!
//! What a set protects: every file of the disc with data (the records under `data/`, and the tag
//! files) except `tagmanifest-sha256.txt`, which lists the recovery files' digests and so is
//! written after them. Names in a set are paths relative to the disc root; the recovery files
//! lie in `recovery/`, so PAR2 tools are told the root with `-B` (see the disc's README).
//!
//! The sets are computed from the image being written, not from the sources: the recovery data
//! protect exactly the bytes on the disc, which mastering has checked against the ingest digests
//! on their way in. Recovery files and the tag manifest are therefore the last data of the image
//! (their sizes are known before anything is read: [`par2::set_size`]), and are written once
//! everything before them is in the image file.
//!
//! Sizing: the files are dealt round-robin, in image order, into sets of at most
//! `slices_per_set` files (so a contiguous scratch spreads over the sets); a set's slice size is
//! its bytes over `slices_per_set` (a multiple of 2048, so an unreadable sector spoils one
//! slice), and its recovery slices are the redundancy share of its bytes. A set then has at most
//! twice `slices_per_set` input slices, no file is padded by more than its set's mean share, and
//! the work to compute the recovery data is about redundancy × `slices_per_set` × the disc's
//! bytes whatever the number of files. Sets are named `<volume id>` when there is one, else
//! `<volume id>-01`, `-02`, ...

use serde::{Deserialize, Serialize};

/// Folder of the recovery files on a disc.
pub const RECOVERY_DIR: &str = "recovery";

/// Largest `slices_per_set`: a set has at most twice as many input slices, within PAR2's
/// 32,768.
pub const MAX_SLICES_PER_SET: i64 = 16_384;

/// Slice sizes are multiples of this: one disc sector.
pub const SLICE_ALIGN: u64 = 2048;

/// One PAR2 set of a disc.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoverySet {
    /// Base name of its files in `recovery/`.
    pub base: String,
    pub slice_size: u64,
    pub input_slices: u32,
    pub recovery_slices: u32,
    /// Files it protects, and their bytes.
    pub files: u64,
    pub protected_bytes: u64,
    /// Sizes of `<base>.par2` and of `<base>.vol…par2`.
    pub index_bytes: u64,
    pub volume_bytes: u64,
    /// Exponent of its first recovery slice (0 but on the second and later parity discs of a
    /// group, which hold the next slices of the same set).
    #[serde(default)]
    pub first_exponent: u32,
    /// The protected files, by their index in the list given to [`plan_sets`].
    #[serde(skip)]
    pub members: Vec<usize>,
}

impl RecoverySet {
    /// Disc path of the index file (critical packets only).
    pub fn index_path(&self) -> String {
        format!("{RECOVERY_DIR}/{}.par2", self.base)
    }

    /// Disc path of the file with the recovery slices.
    pub fn volume_path(&self) -> String {
        format!(
            "{RECOVERY_DIR}/{}",
            par2::volume_file_name(&self.base, self.first_exponent, self.recovery_slices)
        )
    }

    /// Bytes of both files.
    pub fn bytes(&self) -> u64 {
        self.index_bytes + self.volume_bytes
    }
}

/// The creator text of every set discvault writes (part of the recovery files' bytes, so fixed
/// for a given software version).
pub fn creator() -> String {
    par2::CreateOptions::default().creator
}

/// The sets of a disc whose files with data are `files` (disc path, length), in image order.
/// Files that cannot be named in a PAR2 set (non-UTF-8 paths) and empty files are left out.
/// No sets when `permille` is 0.
///
/// With `for_plan`, the sizes are an upper bound of those of any files no larger than these
/// (the planner counts tag files before their final contents are known): one recovery slice
/// more, and room for as many more input slices as the set has files.
pub fn plan_sets(
    volume_id: &str,
    files: &[(&[u8], u64)],
    permille: i64,
    slices_per_set: i64,
    for_plan: bool,
) -> Vec<RecoverySet> {
    if permille <= 0 {
        return Vec::new();
    }
    let eligible: Vec<usize> = (0..files.len())
        .filter(|&i| files[i].1 > 0 && std::str::from_utf8(files[i].0).is_ok())
        .collect();
    if eligible.is_empty() {
        return Vec::new();
    }
    let n = slices_per_set.clamp(1, MAX_SLICES_PER_SET) as usize;
    let count = eligible.len().div_ceil(n);
    let creator = creator();
    (0..count)
        .map(|k| {
            let members: Vec<usize> = eligible.iter().copied().skip(k).step_by(count).collect();
            let lens: Vec<u64> = members.iter().map(|&i| files[i].1).collect();
            let bytes: u64 = lens.iter().sum();
            let slice = bytes.div_ceil(n as u64).div_ceil(SLICE_ALIGN).max(1) * SLICE_ALIGN;
            let input_slices: u64 = lens.iter().map(|l| l.div_ceil(slice)).sum();
            let mut recovery = (bytes as u128 * permille as u128)
                .div_ceil(1000 * slice as u128)
                .clamp(1, par2::MAX_INPUT_SLICES as u128) as u32;
            let names: Vec<(&str, u64)> = members
                .iter()
                .map(|&i| (std::str::from_utf8(files[i].0).unwrap(), files[i].1))
                .collect();
            let mut size = par2::set_size(&names, slice, recovery, &creator);
            if for_plan {
                // Each input slice takes 20 bytes of checksums, in both files.
                let more_slices = 20 * (members.len() as u64 + 1);
                recovery += 1;
                size.index_bytes += more_slices;
                size.volume_bytes += more_slices + slice + par2::packets::HEADER as u64 + 4;
            }
            RecoverySet {
                base: if count == 1 {
                    volume_id.to_string()
                } else {
                    format!("{volume_id}-{:02}", k + 1)
                },
                slice_size: slice,
                input_slices: input_slices as u32,
                recovery_slices: recovery,
                files: members.len() as u64,
                protected_bytes: bytes,
                index_bytes: size.index_bytes,
                volume_bytes: size.volume_bytes,
                first_exponent: 0,
                members,
            }
        })
        .collect()
}

/// Recovery slices of a parity set per member image: any one member lost whole is rebuilt, and
/// damage spread over as many slices of the group.
pub const PARITY_SLICES: i64 = 8;

/// Base name of the PAR2 set of a parity group: `<first member>_<last member>`, the same on
/// every parity disc of the group, so that their files pool in one folder.
pub fn parity_base(members: &[String]) -> String {
    format!(
        "{}_{}",
        members.first().map_or("", |m| m.as_str()),
        members.last().map_or("", |m| m.as_str())
    )
}

/// The PAR2 set of a parity group over its images (name, bytes), each image cut into
/// `per_image` slices; parity disc `index` of the group holds recovery slices
/// `index × per_image ..` of it, so that with K parity discs any K images lost whole are
/// rebuilt. With `for_plan`, sizes are an upper bound as in [`plan_sets`].
pub fn parity_set(
    base: &str,
    images: &[(String, u64)],
    per_image: i64,
    index: i64,
    for_plan: bool,
) -> RecoverySet {
    let largest = images.iter().map(|i| i.1).max().unwrap_or(SLICE_ALIGN);
    let per_image = per_image.max(1) as u64;
    let slice = largest.div_ceil(per_image).div_ceil(SLICE_ALIGN).max(1) * SLICE_ALIGN;
    let names: Vec<(&str, u64)> = images.iter().map(|(n, l)| (n.as_str(), *l)).collect();
    let recovery = per_image as u32;
    let mut size = par2::set_size(&names, slice, recovery, &creator());
    if for_plan {
        let more_slices = 20 * (images.len() as u64 + 1);
        size.index_bytes += more_slices;
        size.volume_bytes += more_slices + SLICE_ALIGN * per_image;
    }
    RecoverySet {
        base: base.to_string(),
        first_exponent: (index.max(0) as u64 * per_image) as u32,
        slice_size: slice,
        input_slices: images.iter().map(|i| i.1.div_ceil(slice)).sum::<u64>() as u32,
        recovery_slices: recovery,
        files: images.len() as u64,
        protected_bytes: images.iter().map(|i| i.1).sum(),
        index_bytes: size.index_bytes,
        volume_bytes: size.volume_bytes,
        members: (0..images.len()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_sized_by_bytes_and_dealt_by_file_count() {
        let big = vec![(b"data/c/big".as_slice(), 100u64 << 20)];
        let s = plan_sets("DV-000001", &big, 100, 1000, false);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].base, "DV-000001");
        // 10% of 100 MiB in slices of about 100 KiB.
        assert_eq!(s[0].slice_size, 104_858u64.div_ceil(2048) * 2048);
        assert_eq!(
            s[0].recovery_slices as u64,
            (10u64 << 20).div_ceil(s[0].slice_size)
        );
        assert_eq!(s[0].volume_path(), "recovery/DV-000001.vol00+99.par2");
        let p = plan_sets("DV-000001", &big, 100, 1000, true);
        assert!(p[0].bytes() > s[0].bytes() + s[0].slice_size);

        let names: Vec<String> = (0..2500).map(|i| format!("data/c/f{i:05}")).collect();
        let many: Vec<(&[u8], u64)> = names.iter().map(|n| (n.as_bytes(), 10_000)).collect();
        let s = plan_sets("DV-000002", &many, 100, 1000, false);
        assert_eq!(s.len(), 3);
        assert_eq!(s[2].base, "DV-000002-03");
        // Dealt round-robin: neighbours on the disc are in different sets.
        assert_eq!(s[0].members[..3], [0, 3, 6]);
        assert_eq!(s[1].members[..3], [1, 4, 7]);
        assert_eq!(s.iter().map(|x| x.files).sum::<u64>(), 2500);
        assert!(s
            .iter()
            .all(|x| x.input_slices as u64 <= 2 * 1000 && x.slice_size >= 10_000 * x.files / 1000));

        let odd: Vec<(&[u8], u64)> = vec![(b"data/c/\xff", 10), (b"data/c/empty", 0)];
        assert!(plan_sets("DV-000003", &odd, 100, 1000, false).is_empty());
        assert!(plan_sets("DV-000003", &big, 0, 1000, false).is_empty());
    }
}
