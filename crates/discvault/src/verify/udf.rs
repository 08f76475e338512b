//! The UDF tree of a bridge disc, the tree Windows and macOS show, checked against the ISO 9660
//! tree verify reads the disc through: every file the ISO 9660 tree holds must be in the UDF
//! tree under the path the writer gives it there ([`isoimage::udf_paths`]), of the same size
//! and over the same sectors. Metadata only: the sector scan reads every sector anyway.

use super::{FileFinding, Finding};
use crate::catalog::display_path;
use isoimage::IsoEntry;
use std::collections::BTreeMap;

type Files = BTreeMap<Vec<u8>, IsoEntry>;

/// The name of the findings about the UDF tree.
pub(super) const UDF_TREE: &str = "(file system: UDF)";

/// The finding of a UDF tree that cannot be opened or listed: `detail` says why.
pub(super) fn unreadable(detail: String) -> FileFinding {
    FileFinding {
        disc_path: UDF_TREE.into(),
        finding: Finding::Unreadable,
        detail,
    }
}

/// The finding about the UDF tree of a bridge disc whose ISO 9660 tree holds the files `iso`
/// (by path), given the UDF tree's files by their paths as it names them (`None`: the image has
/// no UDF tree; an error: why it cannot be opened or listed). `None` when every file is in the
/// UDF tree as it should be.
pub(super) fn check(
    iso: &Files,
    udf: Option<std::result::Result<Files, String>>,
) -> Option<FileFinding> {
    let udf = match udf {
        Some(Ok(u)) => u,
        Some(Err(e)) => return Some(unreadable(format!("UDF tree unreadable: {e}"))),
        None => {
            return Some(unreadable(
                "UDF tree unreadable: no UDF volume on the disc".into(),
            ))
        }
    };
    let changed = |detail| {
        Some(FileFinding {
            disc_path: UDF_TREE.into(),
            finding: Finding::Changed,
            detail,
        })
    };
    let paths: Vec<&[u8]> = iso.keys().map(Vec::as_slice).collect();
    let named = match isoimage::udf_paths(&paths) {
        Ok(n) => n,
        // No writer of ours names such a tree: it cannot be the bridge it should be.
        Err(e) => {
            return changed(format!(
                "the ISO 9660 tree holds a path no bridge names in UDF: {e}"
            ))
        }
    };
    let (mut differ, mut first) = (0usize, None);
    for ((path, e), at) in iso.iter().zip(&named) {
        let why = match udf.get(at) {
            None if at == path => "not in the UDF tree".to_string(),
            None => format!("not in the UDF tree as {}", display_path(at)),
            Some(u) if u.size != e.size => format!(
                "{} bytes in the UDF tree, {} in the ISO 9660 tree",
                u.size, e.size
            ),
            Some(u) if runs(&u.extents) != runs(&e.extents) => format!(
                "extents (sector, bytes) {:?} in the UDF tree, {:?} in the ISO 9660 tree",
                runs(&u.extents),
                runs(&e.extents)
            ),
            Some(_) => continue,
        };
        differ += 1;
        first.get_or_insert_with(|| format!("{} ({why})", display_path(path)));
    }
    let first = first?;
    changed(format!(
        "{differ} file(s) differ from the ISO 9660 tree, first: {first}"
    ))
}

/// The sectors of a file's extents as (first sector, bytes) runs: extents that follow each
/// other joined, empty ones left out. The trees cut a large file into extents of different
/// lengths, and ISO 9660 gives an empty file an empty extent where UDF gives none.
fn runs(extents: &[(u32, u64)]) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for &(lba, len) in extents.iter().filter(|e| e.1 > 0) {
        let lba = lba as u64;
        match out.last_mut() {
            Some((at, n))
                if *n % crate::scan::SECTOR == 0 && *at + *n / crate::scan::SECTOR == lba =>
            {
                *n += len
            }
            _ => out.push((lba, len)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use isoimage::IsoEntryKind;

    fn file(path: &[u8], size: u64, extents: &[(u32, u64)]) -> (Vec<u8>, IsoEntry) {
        let e = IsoEntry {
            components: path.split(|&b| b == b'/').map(<[u8]>::to_vec).collect(),
            kind: IsoEntryKind::File,
            size,
            extents: extents.to_vec(),
            mode: None,
            mtime: None,
        };
        (path.to_vec(), e)
    }

    /// A long name (shortened in UDF), an empty file, a file in several extents.
    fn iso() -> Files {
        let long = format!("data/c/{}.txt", "x".repeat(251));
        [
            file(b"data/c/a.txt", 10, &[(300, 10)]),
            file(b"data/c/empty.txt", 0, &[(0, 0)]),
            file(long.as_bytes(), 5000, &[(301, 5000)]),
            file(b"data/c/big.bin", 8192, &[(310, 4096), (312, 4096)]),
        ]
        .into_iter()
        .collect()
    }

    /// The UDF tree a bridge writer makes of [`iso`].
    fn udf() -> Files {
        let long = format!("data/c/{}.txt", "x".repeat(250));
        [
            file(b"data/c/a.txt", 10, &[(300, 10)]),
            file(b"data/c/empty.txt", 0, &[]),
            file(long.as_bytes(), 5000, &[(301, 5000)]),
            file(b"data/c/big.bin", 8192, &[(310, 2048), (311, 6144)]),
        ]
        .into_iter()
        .collect()
    }

    fn detail(f: Option<FileFinding>) -> (Finding, String) {
        let f = f.expect("a finding");
        assert_eq!(f.disc_path, UDF_TREE);
        (f.finding, f.detail)
    }

    #[test]
    fn a_udf_tree_as_the_writer_makes_it_gives_no_finding() {
        assert_eq!(check(&iso(), Some(Ok(udf()))), None);
        // Files only the UDF tree has are not its damage (an ISO 9660 tree that lacks them is).
        let mut more = udf();
        more.extend([file(b"data/c/more.txt", 1, &[(400, 1)])]);
        assert_eq!(check(&iso(), Some(Ok(more))), None);
    }

    #[test]
    fn a_file_elsewhere_of_another_size_or_missing_is_a_change_of_the_udf_tree() {
        let mut moved = udf();
        moved.insert(
            b"data/c/a.txt".to_vec(),
            file(b"data/c/a.txt", 10, &[(299, 10)]).1,
        );
        let (f, d) = detail(check(&iso(), Some(Ok(moved))));
        assert_eq!(f, Finding::Changed);
        assert_eq!(
            d,
            "1 file(s) differ from the ISO 9660 tree, first: data/c/a.txt (extents (sector, \
             bytes) [(299, 10)] in the UDF tree, [(300, 10)] in the ISO 9660 tree)"
        );
        let mut odd = udf();
        odd.insert(
            b"data/c/a.txt".to_vec(),
            file(b"data/c/a.txt", 9, &[(300, 9)]).1,
        );
        odd.insert(
            b"data/c/big.bin".to_vec(),
            file(b"data/c/big.bin", 8192, &[(310, 2048), (312, 6144)]).1,
        );
        let (_, d) = detail(check(&iso(), Some(Ok(odd))));
        assert!(
            d.starts_with("2 file(s) differ from the ISO 9660 tree, first: data/c/a.txt (9 bytes in the UDF tree, 10 in the ISO 9660 tree)"),
            "{d}"
        );
        // A shortened name looked for under its UDF name; a whole one under its own.
        let mut gone = udf();
        gone.retain(|p, _| p.len() < 200);
        gone.remove(b"data/c/empty.txt".as_slice());
        let (_, d) = detail(check(&iso(), Some(Ok(gone))));
        let short = format!("data/c/{}.txt", "x".repeat(250));
        let long = format!("data/c/{}.txt", "x".repeat(251));
        assert_eq!(
            d,
            "2 file(s) differ from the ISO 9660 tree, first: data/c/empty.txt (not in the UDF tree)"
        );
        let only_long: Files = iso().into_iter().filter(|(p, _)| p.len() > 200).collect();
        let (_, d) = detail(check(&only_long, Some(Ok(Files::new()))));
        assert_eq!(
            d,
            format!("1 file(s) differ from the ISO 9660 tree, first: {long} (not in the UDF tree as {short})")
        );
    }

    #[test]
    fn a_udf_tree_that_cannot_be_read_or_is_not_there_is_unreadable() {
        let (f, d) = detail(check(
            &iso(),
            Some(Err("anchor at sector 256: tag checksum".into())),
        ));
        assert_eq!(f, Finding::Unreadable);
        assert_eq!(d, "UDF tree unreadable: anchor at sector 256: tag checksum");
        let (f, d) = detail(check(&iso(), None));
        assert_eq!(f, Finding::Unreadable);
        assert_eq!(d, "UDF tree unreadable: no UDF volume on the disc");
    }

    #[test]
    fn extents_that_follow_each_other_are_one_run() {
        assert_eq!(
            runs(&[(5, 2048), (6, 100), (0, 0), (9, 1)]),
            [(5, 2148), (9, 1)]
        );
        // A run that ends inside a sector is not continued.
        assert_eq!(runs(&[(5, 100), (6, 100)]), [(5, 100), (6, 100)]);
        assert!(runs(&[(0, 0)]).is_empty());
    }
}
