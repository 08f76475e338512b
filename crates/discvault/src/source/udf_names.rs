//! The names a bridge disc's UDF tree gave its records. UDF shortens a name longer than its
//! identifiers hold (and shows one that is not UTF-8 with U+FFFD): the records' real (Rock
//! Ridge) paths, listed in `discvault/volume.json`, give the writer's UDF paths again
//! ([`isoimage::udf_paths`]), so that a disc read through its UDF tree speaks its real paths.
//! `discvault/volume.json` itself is never shortened.

use super::{Capped, VOLUME_JSON_BUDGET};
use crate::format::{disc_path_of, VOLUME_JSON};
use std::collections::{HashMap, HashSet};
use std::io::Write;

/// The records whose path in the UDF tree is not their real one, both ways.
#[derive(Debug, Default)]
pub(crate) struct UdfNames {
    to_udf: HashMap<Vec<u8>, Vec<u8>>,
    from_udf: HashMap<Vec<u8>, Vec<u8>>,
    /// The UDF paths that are also the real path of a record: a name UDF shortened to that of
    /// another record (which then has `~n`).
    also_real: HashSet<Vec<u8>>,
}

/// What of a volume record the names need: where each record's bytes are on the disc.
#[derive(serde::Deserialize)]
struct Listing {
    files: Vec<Listed>,
}

#[derive(serde::Deserialize)]
struct Listed {
    collection: String,
    #[serde(default)]
    path_hex: Option<String>,
    #[serde(default)]
    disc_path: Option<String>,
    #[serde(default)]
    part: Option<Part>,
}

#[derive(serde::Deserialize)]
struct Part {
    index: u32,
    count: u32,
}

impl UdfNames {
    /// The names of the records of the volume record `read` copies out (within the budget of
    /// one); none when there is none. An error says why a record that is there gives none:
    /// the names are then the UDF tree's own.
    pub(crate) fn read_from(
        read: impl FnOnce(&mut dyn Write) -> std::io::Result<u64>,
    ) -> Result<Self, String> {
        let mut json = Capped::new(VOLUME_JSON_BUDGET, "volume record");
        match read(&mut json) {
            Ok(_) => Self::of_volume_json(&json.buf).map_err(|e| format!("{VOLUME_JSON}: {e}")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("cannot read {VOLUME_JSON}: {e}")),
        }
    }

    /// The names of the records a volume record (the bytes of `discvault/volume.json`) lists.
    /// An error says what is wrong with it.
    pub(crate) fn of_volume_json(json: &[u8]) -> Result<UdfNames, String> {
        let listing: Listing = serde_json::from_slice(json).map_err(|e| e.to_string())?;
        let mut paths = Vec::with_capacity(listing.files.len());
        for f in listing.files {
            let Some(shown) = f.disc_path else {
                continue; // a symbolic link: not in the UDF tree
            };
            // A name that is not UTF-8 is shown with \xNN in `disc_path`: its bytes come
            // from `path_hex`.
            paths.push(match &f.path_hex {
                Some(h) => {
                    let raw = hex::decode(h).map_err(|e| format!("path_hex of {shown:?}: {e}"))?;
                    let (part, parts) = f.part.map_or((1, 1), |p| (p.index, p.count));
                    disc_path_of(&f.collection, &raw, part, parts)
                }
                None => shown.into_bytes(),
            });
        }
        Self::of_paths(paths)
    }

    /// The names of the records at these real paths (all the disc's records).
    pub(crate) fn of_paths(paths: Vec<Vec<u8>>) -> Result<UdfNames, String> {
        let udf = isoimage::udf_paths(&paths).map_err(|e| e.to_string())?;
        let also_real = {
            let reals: HashSet<&[u8]> = paths.iter().map(Vec::as_slice).collect();
            let renamed = paths.iter().zip(&udf).filter(|(real, at)| real != at);
            renamed
                .filter(|(_, at)| reals.contains(at.as_slice()))
                .map(|(_, at)| at.clone())
                .collect()
        };
        let (mut to_udf, mut from_udf) = (HashMap::new(), HashMap::new());
        for (real, at) in paths.into_iter().zip(udf) {
            if real != at {
                to_udf.insert(real.clone(), at.clone());
                from_udf.insert(at, real);
            }
        }
        Ok(UdfNames {
            to_udf,
            from_udf,
            also_real,
        })
    }

    /// Where the file at real path `real` is in the UDF tree.
    pub(crate) fn udf_path<'a>(&'a self, real: &'a [u8]) -> &'a [u8] {
        self.to_udf.get(real).map_or(real, |p| p.as_slice())
    }

    /// The real path of the file at `udf` in the UDF tree.
    pub(crate) fn real_path<'a>(&'a self, udf: &'a [u8]) -> &'a [u8] {
        self.from_udf.get(udf).map_or(udf, |p| p.as_slice())
    }

    /// Where the file at real path `real` is in the UDF tree, when that is not its real path
    /// and is no record's real path (the other way round, its real path): a path found only
    /// where UDF names are shown, so that finding it there is not finding another record.
    pub(crate) fn distinct_udf_path(&self, real: &[u8]) -> Option<&[u8]> {
        let at = self.to_udf.get(real)?;
        let back = self.from_udf.get(at).is_some_and(|r| r == real);
        (back && !self.also_real.contains(at)).then_some(at.as_slice())
    }

    /// Whether `path` is the UDF path of a record UDF renamed.
    pub(crate) fn is_udf_path(&self, path: &[u8]) -> bool {
        self.from_udf.contains_key(path)
    }

    /// The records whose UDF path is not their real one: (real, UDF).
    pub(crate) fn renamed(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.to_udf
            .iter()
            .map(|(r, u)| (r.as_slice(), u.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_found_under_their_udf_names() {
        let long = format!("data/c/{}.txt", "x".repeat(251));
        let json = serde_json::json!({"files": [
            {"collection": "c", "path": "short.txt", "disc_path": "data/c/short.txt"},
            {"collection": "c", "path": "l", "disc_path": long},
            {"collection": "c", "path": "link"},
            {"collection": "c", "path": "bad-\\xFF", "path_hex": "6261642dff",
             "disc_path": "data/c/bad-\\xFF.part-02-of-03", "part": {"index": 2, "count": 3}},
        ]});
        let names = UdfNames::of_volume_json(json.to_string().as_bytes()).unwrap();
        assert_eq!(names.udf_path(b"data/c/short.txt"), b"data/c/short.txt");
        let short = names.udf_path(long.as_bytes()).to_vec();
        assert_eq!(short.len(), long.len() - 1);
        assert_eq!(names.real_path(&short), long.as_bytes());
        let bad = b"data/c/bad-\xff.part-02-of-03";
        assert_eq!(
            names.udf_path(bad),
            "data/c/bad-\u{fffd}.part-02-of-03".as_bytes()
        );
        assert_eq!(names.renamed().count(), 2);
        // Not a volume record, or a path twice: an error saying so.
        assert!(UdfNames::of_volume_json(b"{}").is_err());
        let twice = serde_json::json!({"files": [
            {"collection": "c", "disc_path": "data/c/a"},
            {"collection": "c", "disc_path": "data/c/a"},
        ]});
        let e = UdfNames::of_volume_json(twice.to_string().as_bytes()).unwrap_err();
        assert!(e.contains("data/c/a"), "{e}");
    }

    #[test]
    fn a_udf_name_that_is_another_records_real_name_is_not_distinct() {
        // The first name, shortened, is the second: UDF gives the second `~1`.
        let first = format!("d/{}!.txt", "c".repeat(250)).into_bytes();
        let second = format!("d/{}.txt", "c".repeat(250)).into_bytes();
        let names = UdfNames::of_paths(vec![first.clone(), second.clone(), b"d/e".to_vec()]);
        let names = names.unwrap();
        assert_eq!(names.udf_path(&first), second);
        assert_eq!(names.distinct_udf_path(&first), None);
        let tilde = names.distinct_udf_path(&second).unwrap();
        assert!(tilde.ends_with(b"~1.txt"), "{tilde:?}");
        assert!(names.is_udf_path(&second) && names.is_udf_path(tilde));
        assert_eq!(names.distinct_udf_path(b"d/e"), None, "not renamed");
        assert!(!names.is_udf_path(b"d/e"));
    }

    #[test]
    fn a_volume_record_that_gives_no_names_says_why() {
        let from = |json: &[u8]| {
            let json = json.to_vec();
            UdfNames::read_from(move |out| out.write_all(&json).map(|_| 0))
        };
        let e = from(b"{\"files\": 7}").unwrap_err();
        assert!(e.starts_with("discvault/volume.json: "), "{e}");
        let e = UdfNames::read_from(|_| Err(std::io::Error::other("bad sector"))).unwrap_err();
        assert!(
            e.contains("cannot read discvault/volume.json: bad sector"),
            "{e}"
        );
        // None there: no names, nothing to say.
        let none = UdfNames::read_from(|_| Err(std::io::ErrorKind::NotFound.into())).unwrap();
        assert_eq!(none.renamed().count(), 0);
        // Names that all clash are named in linear time: 50,000 in one folder, not UTF-8,
        // each U+FFFD three times.
        let bad: Vec<Vec<u8>> = (0..50_000u32)
            .map(|i| {
                vec![
                    b'd',
                    b'/',
                    0x80 | (i >> 12) as u8,
                    0x80 | (i >> 6 & 63) as u8,
                    0x80 | (i & 63) as u8,
                ]
            })
            .collect();
        assert_eq!(UdfNames::of_paths(bad).unwrap().renamed().count(), 50_000);
    }
}
