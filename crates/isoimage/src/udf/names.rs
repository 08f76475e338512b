//! The names of the UDF tree: one function names a folder's children, for the writer and for
//! [`udf_paths`], which tells a reader where the writer put each file (a name too long for a
//! UDF identifier is shortened there, and found again through it).

use super::encode::cs0;
use super::read::cs0_decode;
use crate::writer::path_up;
use crate::{components, IsoError, Result};
use std::collections::{HashMap, HashSet};

/// The bytes of the longest prefix of `base` that fits followed by `ascii` ASCII characters
/// and then `ext`: its CS0 form within the 255 bytes of an identifier (254 characters of 8
/// bits, or 127 UTF-16 units) and its UTF-8 form within the 255 bytes of a Linux name; 0 when
/// none does. Both sizes only grow with each character, so the prefixes that fit are those up
/// to one.
fn fitting(base: &str, ascii: usize, ext: &str) -> usize {
    // UTF-8 bytes, UTF-16 units, characters, and whether all of them are 8-bit so far.
    let mut size = (ascii, ascii, ascii, true);
    let mut add = |c: char| {
        size = (
            size.0 + c.len_utf8(),
            size.1 + c.len_utf16(),
            size.2 + 1,
            size.3 && (c as u32) <= 0xFF,
        );
        let cs0 = 1 + if size.3 { size.2 } else { 2 * size.1 };
        size.0 <= 255 && cs0 <= 255
    };
    if !ext.chars().all(&mut add) {
        return 0;
    }
    base.char_indices()
        .find(|&(_, c)| !add(c))
        .map_or(base.len(), |(at, _)| at)
}

/// What all the UDF names of a node are made of. The name decoded as UTF-8 (bytes that are
/// not become U+FFFD) is kept whole when it fits (see [`fitting`]); else it is shortened,
/// keeping a file's extension of up to 16 characters (the dot included). Its `n`th variant,
/// for `n > 0`, has `~n` before the extension, shortened further to fit.
///
/// `base` is the name before the extension, cut where its first variant (`n = 0`) cuts it:
/// every variant keeps a prefix of it (`~n` only adds characters), so `base` and `ext` are
/// all the variants depend on.
struct Stem {
    base: String,
    ext: String,
}

impl Stem {
    fn new(name: &[u8], is_file: bool) -> Stem {
        let mut base = String::from_utf8_lossy(name).into_owned();
        // A dot is one byte, never within a character.
        let ext = match base.rfind('.') {
            Some(p) if is_file && p > 0 && base[p..].chars().count() <= 16 => base.split_off(p),
            _ => String::new(),
        };
        base.truncate(fitting(&base, 0, &ext));
        Stem { base, ext }
    }

    /// The bytes of `base` the variants of `digits` digits keep: the same for all of them.
    fn kept(&self, digits: u32) -> usize {
        if digits == 0 {
            self.base.len()
        } else {
            fitting(&self.base, 1 + digits as usize, &self.ext)
        }
    }

    /// The `n`th variant, in CS0.
    fn variant(&self, n: u32) -> Vec<u8> {
        let base = &self.base[..self.kept(digits(n))];
        cs0(&if n == 0 {
            format!("{base}{}", self.ext)
        } else {
            format!("{base}~{n}{}", self.ext)
        })
    }
}

/// The decimal digits of `n`, none for 0 (whose variant has no `~n`).
fn digits(n: u32) -> u32 {
    n.checked_ilog10().map_or(0, |l| l + 1)
}

/// A child named: its index in the children given, and its CS0 identifier.
pub(crate) type Named = (usize, Vec<u8>);

/// Names the children of one folder of the UDF tree. `children` are (raw name, whether a
/// file), symbolic links left out, in any order. Returns them in the order they are recorded,
/// by raw name bytes, as (index in `children`, CS0 identifier): each name as [`Stem`] makes
/// it, the first variant not taken by an earlier child on a clash.
///
/// Names that clash are hostile input too: naming takes at most four looks whether a name is
/// taken a child (see [`named`]), and past ten a child and a thousand more, a guard, the
/// folder is refused, an error naming `folder()`.
pub(crate) fn name_children(
    children: &[(&[u8], bool)],
    folder: impl FnOnce() -> String,
) -> Result<Vec<Named>> {
    let cap = 10 * children.len() as u64 + 1000;
    named(children, cap)
        .map(|(named, _)| named)
        .ok_or_else(|| IsoError::NameClashes(folder()))
}

/// [`name_children`] within `cap` looks whether a name is taken: the names and how many looks
/// they took, or `None` past the cap.
///
/// Each child looks at its first variant, then at those of 1 digit, of 2, and so on; variants
/// of `d` digits are those of a run, `stem.base[..stem.kept(d)]`, `stem.ext` and `d`, which
/// children of other names can share. Names are only ever taken, so a run remembers the next
/// `n` to look at: all those before it are taken. A look that fails therefore finds the name
/// of a run's `n` taken for the first time, and a name is that of two runs' `n` at most (its
/// extension is from its last dot or none, its `n` the digits after the last `~` before it):
/// a folder of `c` children takes at most `c` first looks, `2c` failed looks in runs and `c`
/// that succeed.
fn named(children: &[(&[u8], bool)], cap: u64) -> Option<(Vec<Named>, u64)> {
    let mut order: Vec<usize> = (0..children.len()).collect();
    order.sort_by(|&a, &b| children[a].0.cmp(children[b].0));
    // Unique as decoded, which CS0 is one-to-one with (one compression a name).
    let mut used: HashSet<Vec<u8>> = HashSet::with_capacity(children.len());
    let mut next: HashMap<(String, String, u32), u64> = HashMap::new();
    let mut looks = 0u64;
    let mut out = Vec::with_capacity(children.len());
    'child: for i in order {
        let (name, is_file) = children[i];
        let stem = Stem::new(name, is_file);
        let mut take = |n: u32| {
            looks += 1;
            let cand = stem.variant(n);
            (looks <= cap).then(|| used.insert(cand.clone()).then_some(cand))
        };
        if let Some(first) = take(0)? {
            out.push((i, first));
            continue;
        }
        for d in 1..=digits(u32::MAX) {
            let run = (stem.base[..stem.kept(d)].to_owned(), stem.ext.clone(), d);
            let from = next.get(&run).copied().unwrap_or(10u64.pow(d - 1));
            let to = 10u64.pow(d).min(u32::MAX as u64 + 1);
            for n in from..to {
                if let Some(cand) = take(n as u32)? {
                    next.insert(run, n + 1);
                    out.push((i, cand));
                    continue 'child;
                }
            }
            next.insert(run, to);
        }
        return None; // every variant taken: more looks than any cap
    }
    Some((out, looks))
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
/// error names a path that is invalid, given twice, or under a file, or a folder whose names
/// clash too much to be named ([`IsoError::NameClashes`], as the writer refuses it).
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
            || format!("/{}", path_up(d, |i| (nodes[i].name, nodes[i].parent))),
        )?;
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

    /// The name as it was first written, kept as the oracle: decoded, kept whole when it fits,
    /// else cut a character at a time.
    fn oracle_name(name: &[u8], is_file: bool, n: u32) -> String {
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

    /// A folder named as it was first: each child looks at its variants from the first.
    fn oracle_children(children: &[(&[u8], bool)]) -> Vec<Named> {
        let mut order: Vec<usize> = (0..children.len()).collect();
        order.sort_by(|&a, &b| children[a].0.cmp(children[b].0));
        let mut used = HashSet::new();
        order
            .into_iter()
            .map(|i| {
                let (name, is_file) = children[i];
                (0..)
                    .map(|k| cs0(&oracle_name(name, is_file, k)))
                    .find(|cand| used.insert(cand.clone()))
                    .map(|cand| (i, cand))
                    .unwrap()
            })
            .collect()
    }

    /// The `n`th variant of a name, decoded, checked against the oracle.
    fn udf_name_for(name: &[u8], is_file: bool, n: u32) -> String {
        let got = cs0_decode(&Stem::new(name, is_file).variant(n)).unwrap();
        let got = String::from_utf8(got).unwrap();
        assert_eq!(got, oracle_name(name, is_file, n), "{name:?} {is_file} {n}");
        got
    }

    /// A small xorshift: the same pseudo-random folders every run.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    /// A name of pieces that make clashes: long runs of one character (8-bit, 16-bit, a
    /// surrogate pair, a byte that is not UTF-8), dots, `~` and digits; `long`, from a run
    /// of 200 or more.
    fn random_name(rng: &mut Rng, long_run: bool) -> Vec<u8> {
        const PIECES: [&[u8]; 12] = [
            b"x",
            b"x",
            b"a",
            b".",
            b"~",
            b"1",
            b"2",
            b".txt",
            b"\xff",
            b"\x80\x81",
            "é".as_bytes(),
            "档".as_bytes(),
        ];
        let long: [&[u8]; 5] = [b"x", b"c", "档".as_bytes(), "😀".as_bytes(), b"\xfe"];
        // Lengths about the limits: 254 characters of 8 bits, 127 UTF-16 units, 255 bytes.
        const RUNS: [usize; 16] = [
            0, 1, 2, 40, 63, 84, 85, 124, 126, 127, 128, 200, 250, 252, 254, 255,
        ];
        let run = if long_run {
            11 + rng.below(5)
        } else {
            rng.below(RUNS.len())
        };
        let mut name = long[rng.below(long.len())].repeat(RUNS[run]);
        for _ in 0..rng.below(if long_run { 3 } else { 6 }) {
            name.extend_from_slice(PIECES[rng.below(PIECES.len())]);
        }
        if rng.below(3) == 0 {
            name.extend_from_slice(
                long[rng.below(long.len())]
                    .repeat(RUNS[rng.below(8)])
                    .as_slice(),
            );
        }
        name.truncate(255);
        if name.is_empty() {
            name.push(b'x');
        }
        name
    }

    #[test]
    fn random_folders_are_named_as_the_oracle_names_them_in_linear_looks() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..300 {
            let mut names: Vec<(Vec<u8>, bool)> = Vec::new();
            // One folder in three of long names, most of them clashing.
            let long_runs = rng.below(3) == 0;
            for _ in 0..1 + rng.below(40) {
                let is_file = rng.below(4) != 0;
                let name = match (rng.below(4), names.len()) {
                    // The variant of a name already there, as a real name: `x~1.txt`.
                    (0, len) if len > 0 => {
                        let (of, of_file) = &names[rng.below(len)];
                        oracle_name(of, *of_file, rng.below(12) as u32).into_bytes()
                    }
                    _ => random_name(&mut rng, long_runs),
                };
                if name.len() <= 255 && names.iter().all(|(n, _)| *n != name) {
                    names.push((name, is_file));
                }
            }
            let children: Vec<(&[u8], bool)> = names.iter().map(|(n, f)| (&n[..], *f)).collect();
            let (got, looks) = named(&children, u64::MAX).unwrap();
            assert_eq!(got, oracle_children(&children), "{children:?}");
            assert!(looks <= 4 * children.len() as u64, "{looks}");
            let (name, is_file) = children[rng.below(children.len())];
            for n in [0, 1, 9, 10, 99, 100, 12345, u32::MAX] {
                udf_name_for(name, is_file, n);
            }
        }
    }

    #[test]
    fn names_that_all_clash_take_linear_looks() {
        // 50,000 names of three bytes that are not UTF-8, all "\u{fffd}\u{fffd}\u{fffd}".
        let bad: Vec<Vec<u8>> = (0..50_000u32)
            .map(|i| {
                vec![
                    0x80 | (i >> 12) as u8,
                    0x80 | (i >> 6 & 63) as u8,
                    0x80 | (i & 63) as u8,
                ]
            })
            .collect();
        // 20,000 long names that UDF cuts to the same 127 characters.
        let long: Vec<Vec<u8>> = (0..20_000u32)
            .map(|i| {
                let tail: String = [i / 300, i % 300]
                    .iter()
                    .map(|&k| char::from_u32(0x4E00 + k).unwrap())
                    .collect();
                format!("{}{}", "a".repeat(200), tail).into_bytes()
            })
            .collect();
        for names in [bad, long] {
            let children: Vec<(&[u8], bool)> = names.iter().map(|n| (&n[..], false)).collect();
            let (got, looks) = named(&children, u64::MAX).unwrap();
            assert!(looks <= 2 * children.len() as u64, "{looks}");
            let unique: HashSet<_> = got.iter().map(|g| &g.1).collect();
            assert_eq!(unique.len(), names.len());
            // The oracle's names, as far as it is quick (the names are given sorted).
            assert_eq!(got[..100], oracle_children(&children[..100])[..]);
            // Past its cap, naming stops; name_children's is never reached.
            let (_, looks) = named(&children[..1000], u64::MAX).unwrap();
            assert!(named(&children[..1000], looks - 1).is_none());
            name_children(&children, || unreachable!()).unwrap();
        }
        let e = IsoError::NameClashes("/data/\u{fffd}".into()).to_string();
        assert!(e.contains("folder \"/data/\u{fffd}\""), "{e}");
    }

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
        let named = name_children(
            &[(long.as_bytes(), true), (shorter.as_bytes(), true)],
            String::new,
        )
        .unwrap();
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
