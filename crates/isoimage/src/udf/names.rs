//! The names of the UDF tree: one function names a folder's children, for the writer and for
//! [`udf_paths`], which tells a reader where the writer put each file (a name too long for a
//! UDF identifier is shortened there, and found again through it).

use super::encode::cs0;
use super::read::cs0_decode;
use crate::{components, IsoError, Result};
use std::collections::{HashMap, HashSet};

/// The UDF name of a node: its name decoded as UTF-8 (bytes that are not become U+FFFD),
/// kept whole when its CS0 form fits the 255 bytes of an identifier (254 characters of 8
/// bits, or 127 UTF-16 units) and its UTF-8 form the 255 bytes of a Linux name (which only a
/// name that was not UTF-8 can exceed, each bad byte becoming 3); else shortened, keeping a
/// file's extension of up to 16 characters (the dot included). `n > 0` makes the `n`th
/// variant, `~n` before the extension.
pub(crate) fn udf_name_for(name: &[u8], is_file: bool, n: u32) -> String {
    let s = String::from_utf8_lossy(name).into_owned();
    let fits = |s: &str| cs0(s).len() <= 255 && s.len() <= 255;
    if n == 0 && fits(&s) {
        return s;
    }
    let suffix = if n == 0 {
        String::new()
    } else {
        format!("~{n}")
    };
    let chars: Vec<char> = s.chars().collect();
    let ext: Vec<char> = match chars.iter().rposition(|&c| c == '.') {
        Some(p) if is_file && p > 0 && chars.len() - p <= 16 => chars[p..].to_vec(),
        _ => Vec::new(),
    };
    let mut base: Vec<char> = chars[..chars.len() - ext.len()].to_vec();
    loop {
        let cand: String = base
            .iter()
            .copied()
            .chain(suffix.chars())
            .chain(ext.iter().copied())
            .collect();
        if fits(&cand) || base.is_empty() {
            return cand;
        }
        base.pop();
    }
}

/// Names the children of one folder of the UDF tree. `children` are (raw name, whether a
/// file), symbolic links left out, in any order. Returns them in the order they are recorded,
/// by raw name bytes, as (index in `children`, CS0 identifier): each name as
/// [`udf_name_for`] makes it, the first variant not taken by an earlier child on a clash.
pub(crate) fn name_children(children: &[(&[u8], bool)]) -> Vec<(usize, Vec<u8>)> {
    let mut order: Vec<usize> = (0..children.len()).collect();
    order.sort_by(|&a, &b| children[a].0.cmp(children[b].0));
    let mut used = HashSet::new();
    order
        .into_iter()
        .map(|i| {
            let (name, is_file) = children[i];
            let mut k = 0;
            // Unique as decoded, which CS0 is one-to-one with (one compression a name).
            loop {
                let cand = cs0(&udf_name_for(name, is_file, k));
                if used.insert(cand.clone()) {
                    break (i, cand);
                }
                k += 1;
            }
        })
        .collect()
}

/// The path of each file in the UDF tree of a bridge image holding these files: `files` are
/// the raw paths of all files of the image (its folders are those they imply; symbolic links
/// are not in the UDF tree and take no part), and the answer holds, in the same order, each
/// one's path as [`UdfReader::entries`](crate::UdfReader::entries) lists it
/// ([`IsoEntry::path_bytes`](crate::IsoEntry::path_bytes)): the same path for most, but names
/// decoded as UTF-8 (U+FFFD for bytes that are not), and names whose CS0 form is longer than a
/// UDF identifier shortened, with `~n` on a clash, exactly as the writer names them.
///
/// Only files and the folders they imply are known here: an empty folder of the image, whose
/// name would clash with a shortened name of its folder, can change the `~n` the writer gave.
///
/// The paths are checked as the writer checks those of an [`ImageSpec`](crate::ImageSpec): an
/// error names a path that is invalid, given twice, or under a file.
pub fn udf_paths<P: AsRef<[u8]>>(files: &[P]) -> Result<Vec<Vec<u8>>> {
    struct Node<'a> {
        name: &'a [u8],
        parent: usize,
        is_file: bool,
        children: Vec<usize>,
        /// Its name in the UDF tree, as a reader decodes it.
        udf: Vec<u8>,
    }
    let mut nodes = vec![Node {
        name: b"",
        parent: 0,
        is_file: false,
        children: Vec::new(),
        udf: Vec::new(),
    }];
    let mut by_name: HashMap<(usize, &[u8]), usize> = HashMap::new();
    let mut leaves = Vec::with_capacity(files.len());
    for f in files {
        let path = f.as_ref();
        let comps = components(path)?;
        let mut at = 0usize;
        for (i, &c) in comps.iter().enumerate() {
            let last = i + 1 == comps.len();
            if let Some(&id) = by_name.get(&(at, c)) {
                if last {
                    return Err(IsoError::Duplicate(
                        String::from_utf8_lossy(path).into_owned(),
                    ));
                }
                if nodes[id].is_file {
                    return Err(IsoError::InvalidPath {
                        path: String::from_utf8_lossy(path).into_owned(),
                        reason: "a parent component is not a directory",
                    });
                }
                at = id;
                continue;
            }
            let id = nodes.len();
            nodes.push(Node {
                name: c,
                parent: at,
                is_file: last,
                children: Vec::new(),
                udf: Vec::new(),
            });
            nodes[at].children.push(id);
            by_name.insert((at, c), id);
            at = id;
        }
        leaves.push(at);
    }
    drop(by_name);
    for d in 0..nodes.len() {
        if nodes[d].children.is_empty() {
            continue;
        }
        let children = std::mem::take(&mut nodes[d].children);
        let named = name_children(
            &children
                .iter()
                .map(|&c| (nodes[c].name, nodes[c].is_file))
                .collect::<Vec<_>>(),
        );
        for (i, id) in named {
            // The writer's own encoding: it decodes.
            nodes[children[i]].udf = cs0_decode(&id)?;
        }
    }
    Ok(leaves
        .into_iter()
        .map(|leaf| {
            let mut parts = Vec::new();
            let mut at = leaf;
            while at != 0 {
                parts.push(&nodes[at].udf[..]);
                at = nodes[at].parent;
            }
            parts.reverse();
            parts.join(&b'/')
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kept_whole_up_to_udfs_limit_then_shortened_with_their_extension() {
        // The longest Chinese name a Linux file system holds (250 bytes, 84 UTF-16 units).
        let title = "关于".repeat(41) + ".pdf";
        assert_eq!(udf_name_for(title.as_bytes(), true, 0), title, "fits");
        // Longer (from elsewhere): cut to 255 bytes of UTF-8 as Linux names go, and within
        // 127 UTF-16 units, the extension kept.
        let long = "档".repeat(200) + ".pdf";
        let short = udf_name_for(long.as_bytes(), true, 0);
        assert_eq!(short, "档".repeat(83) + ".pdf");
        let twin = udf_name_for(long.as_bytes(), true, 3);
        assert_eq!(twin, "档".repeat(83) + "~3.pdf");
        let mixed = "a".repeat(100) + &"档".repeat(30) + ".pdf";
        assert_eq!(mixed.len(), 194);
        let cut = udf_name_for(mixed.as_bytes(), true, 0);
        assert_eq!(cut.encode_utf16().count(), 127, "{cut}");
        let ascii = "a".repeat(255);
        assert_eq!(udf_name_for(ascii.as_bytes(), false, 0).len(), 254);
        // Not UTF-8: each bad byte is U+FFFD (3 bytes in UTF-8), cut to 255 bytes.
        let bad = udf_name_for(&[0xff; 200], true, 0);
        assert!(bad.chars().all(|c| c == '\u{fffd}') && bad.chars().count() == 85);
        // A surrogate pair is never cut: the name holds whole characters by construction.
        let emoji = "😀".repeat(70);
        assert_eq!(udf_name_for(emoji.as_bytes(), false, 0).chars().count(), 63);
    }

    #[test]
    fn a_folders_children_are_named_in_raw_name_order() {
        let long = "x".repeat(255);
        let shorter = "x".repeat(254);
        // Given in any order, recorded by raw bytes; the 254-byte name is the 255-byte one's
        // shortened form, so the one sorted later gets `~1`.
        let named = name_children(&[(long.as_bytes(), true), (shorter.as_bytes(), true)]);
        assert_eq!(named.iter().map(|n| n.0).collect::<Vec<_>>(), [1, 0]);
        assert_eq!(cs0_decode(&named[0].1).unwrap(), shorter.as_bytes());
        let twin = cs0_decode(&named[1].1).unwrap();
        assert!(twin.ends_with(b"~1") && twin.len() == 254, "{twin:?}");
    }

    #[test]
    fn paths_are_checked_as_the_writer_checks_them() {
        let e = udf_paths(&["a/b", "a/b"]).unwrap_err();
        assert!(matches!(e, IsoError::Duplicate(_)), "{e}");
        let e = udf_paths(&["a/b", "a/b/c"]).unwrap_err();
        assert!(e.to_string().contains("not a directory"), "{e}");
        let e = udf_paths(&["a//b"]).unwrap_err();
        assert!(e.to_string().contains("empty component"), "{e}");
        // A file's path and a folder's are the same: one of them is the folder.
        let e = udf_paths(&["a/b/c", "a/b"]).unwrap_err();
        assert!(matches!(e, IsoError::Duplicate(_)), "{e}");
        assert_eq!(
            udf_paths(&[&b"ok/\xff.txt"[..], b"short"]).unwrap(),
            ["ok/\u{fffd}.txt".as_bytes(), b"short"]
        );
        assert!(udf_paths::<&[u8]>(&[]).unwrap().is_empty());
    }
}
