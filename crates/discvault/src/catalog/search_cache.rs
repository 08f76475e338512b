//! The paths of a PostgreSQL catalog's oldest files, kept in memory by a long-running process
//! (`discvault serve`) for locate.
//!
//! PostgreSQL's trigram index answers a path piece with a bitmap of every file holding each of
//! its trigrams, then rechecks them: for a piece whose trigrams are common (`J017/2004`: digits
//! and years are in every path) that is 30-60 ms at a million files, whatever the limit, and a
//! server of two cores answered under 40 such searches a second. SQLite's full-text index reads
//! its lists in file order and stops at the limit. This cache gives PostgreSQL the same: the
//! lowercased paths in id order, searched with `memchr::memmem` until enough candidates are
//! found (a match in the first 30,000 files costs a fraction of a millisecond), each then
//! confirmed by the catalog (current version, `ILIKE`).
//!
//! It holds the files in id order from the first, up to `cap` bytes of paths. A file's path
//! never changes, and files are added by one writer at a time (the catalog's write lock), so a
//! file not yet seen has a larger id than every file seen: the matches found in the cache are
//! the first in id order, and when the cache holds every file, what it finds is all there is.

use std::sync::{Mutex, RwLock};

/// Bytes a file held costs besides its path: its id and where it ends.
const PER_FILE: usize = 16;

/// A path or a query lowercased character by character, as PostgreSQL's `ILIKE` folds them
/// (`İ` to `i`, every `Σ` to `σ`), not as `str::to_lowercase` does (`İ` to `i̇`, a final `Σ`
/// to `ς`): the cache must find every file `ILIKE` finds.
pub(crate) fn fold(s: &str) -> String {
    s.chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect()
}

/// The paths held, in id order.
#[derive(Default)]
struct Paths {
    ids: Vec<i64>,
    /// Where each path ends in `text` (each path is followed by a NUL, which no path holds).
    ends: Vec<usize>,
    text: Vec<u8>,
    /// The largest id read from the catalog (0: none yet).
    last_id: i64,
    /// The cap was reached: files after `last_id` are not held.
    full: bool,
}

/// What one stretch of a search found.
pub(crate) struct Scan {
    /// Ids of files whose path holds the piece, in id order.
    pub ids: Vec<i64>,
    /// Where to go on (an index into the files held).
    pub next: usize,
    /// Every file held has been searched.
    pub end: bool,
    /// ... and the cache holds every file of the catalog read so far (not cut at its cap).
    pub complete: bool,
}

/// The lowercased paths of the oldest files of a catalog (see the module).
pub struct SearchCache {
    cap: usize,
    paths: RwLock<Paths>,
    /// One reader of the catalog at a time fills the cache.
    filling: Mutex<()>,
}

impl SearchCache {
    /// A cache of at most `cap` bytes of paths.
    pub fn new(cap: usize) -> SearchCache {
        SearchCache {
            cap,
            paths: RwLock::new(Paths::default()),
            filling: Mutex::new(()),
        }
    }

    /// The last id held, and whether more may be taken.
    pub(crate) fn last_id(&self) -> (i64, bool) {
        let p = self.paths.read().unwrap_or_else(|e| e.into_inner());
        (p.last_id, !p.full)
    }

    /// The filler's turn, held while it reads the catalog; none while another has it.
    pub(crate) fn fill_turn(&self) -> Option<std::sync::MutexGuard<'_, ()>> {
        match self.filling.try_lock() {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// Takes files read after `last_id` (in id order). Returns false once the cap is reached.
    pub(crate) fn take(&self, rows: impl IntoIterator<Item = (i64, String)>) -> bool {
        // Folded before the lock: searches go on meanwhile.
        let rows: Vec<(i64, String)> = rows.into_iter().map(|(id, p)| (id, fold(&p))).collect();
        let mut p = self.paths.write().unwrap_or_else(|e| e.into_inner());
        for (id, lower) in rows {
            if p.full || id <= p.last_id {
                continue;
            }
            // The path, its NUL, and its id and end in the two vectors.
            if p.text.len() + lower.len() + 1 + PER_FILE * (p.ids.len() + 1) > self.cap {
                p.full = true;
                break;
            }
            p.text.extend_from_slice(lower.as_bytes());
            p.text.push(0);
            let end = p.text.len() - 1;
            p.ends.push(end);
            p.ids.push(id);
            p.last_id = id;
        }
        !p.full
    }

    /// The files held from index `from` on whose lowercased path holds `needle` (lowercased by
    /// the caller), until `want` are found.
    pub(crate) fn scan(&self, needle: &str, from: usize, want: usize) -> Scan {
        let finder = memchr::memmem::Finder::new(needle.as_bytes());
        self.scan_by(
            |text, at| finder.find(&text[at..]).map(|hit| at + hit),
            from,
            want,
        )
    }

    /// As [`scan`](Self::scan), for the phrase of the character index (`char_tokens` in
    /// search.rs): `first`, then only characters that are neither letters nor digits (no NUL:
    /// the path's end), then `second` (if any). Both as the caller folded them.
    pub(crate) fn scan_phrase(
        &self,
        first: char,
        second: Option<char>,
        from: usize,
        want: usize,
    ) -> Scan {
        let mut buf = [0u8; 4];
        let finder = memchr::memmem::Finder::new(first.encode_utf8(&mut buf).as_bytes());
        self.scan_by(
            |text, mut at| loop {
                let pos = at + finder.find(&text[at..])?;
                let after = pos + first.len_utf8();
                let Some(second) = second else {
                    return Some(pos);
                };
                // Paths are whole UTF-8 strings, NUL after each: what follows a character
                // decodes up to the next NUL.
                let end = after + memchr::memchr(0, &text[after..]).unwrap_or(text.len() - after);
                let rest = std::str::from_utf8(&text[after..end]).unwrap_or("");
                if rest
                    .chars()
                    .find(|c| c.is_alphanumeric())
                    .is_some_and(|c| c == second)
                {
                    return Some(pos);
                }
                at = after;
            },
            from,
            want,
        )
    }

    /// The files held from index `from` on in which `find(text, at)` (the first match at or
    /// after byte `at`, never across a NUL) finds a match, until `want` are found.
    fn scan_by(
        &self,
        find: impl Fn(&[u8], usize) -> Option<usize>,
        from: usize,
        want: usize,
    ) -> Scan {
        let p = self.paths.read().unwrap_or_else(|e| e.into_inner());
        let mut ids = Vec::new();
        let mut k = from;
        let mut at = if k == 0 { 0 } else { p.ends[k - 1] + 1 };
        while k < p.ids.len() && ids.len() < want {
            let Some(pos) = find(&p.text, at) else {
                k = p.ids.len();
                break;
            };
            // The file the match is in (a match lies in one path).
            k += p.ends[k..].partition_point(|&e| e < pos);
            ids.push(p.ids[k]);
            at = p.ends[k] + 1;
            k += 1;
        }
        Scan {
            ids,
            next: k,
            end: k >= p.ids.len(),
            complete: !p.full,
        }
    }

    /// Bytes of paths held.
    pub fn bytes(&self) -> usize {
        self.paths
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .text
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(c: &SearchCache, needle: &str, want: usize) -> (Vec<i64>, bool) {
        let mut out = Vec::new();
        let mut from = 0;
        loop {
            let s = c.scan(needle, from, want);
            out.extend(s.ids);
            if s.end {
                return (out, s.complete);
            }
            from = s.next;
        }
    }

    #[test]
    fn finds_each_file_once_in_id_order_across_stretches() {
        let c = SearchCache::new(1 << 20);
        let paths = [
            (3, "J017/2004/卷0001/件001-通知.pdf"),
            (5, "J017/2003/卷0001/件001-通知.PDF"),
            (9, "j017/2004/j017/2004/twice.txt"),
            (10, "全宗/会议纪要.ofd"),
            (12, "J017/20"),
            (13, "04/J017/2004"),
        ];
        assert!(c.take(paths.iter().map(|(i, p)| (*i, p.to_string()))));
        for want in [1, 2, 100] {
            assert_eq!(all(&c, "j017/2004", want), (vec![3, 9, 13], true), "{want}");
        }
        assert_eq!(all(&c, ".pdf", 1).0, vec![3, 5]);
        assert_eq!(all(&c, "会议", 5).0, vec![10]);
        // No match across two paths ("J017/20" then "04/...").
        assert_eq!(all(&c, "2004/j", 5).0, vec![9]);
        assert_eq!(all(&c, "没有", 5), (vec![], true));
        // A stretch stops at `want` and the next goes on after it.
        let s = c.scan("j017", 0, 2);
        assert_eq!((s.ids, s.end), (vec![3, 5], false));
        let s = c.scan("j017", s.next, 2);
        assert_eq!(s.ids, vec![9, 12]);
    }

    #[test]
    fn a_phrase_matches_where_the_character_index_does() {
        let paths = [
            "全宗/会议纪要.ofd",
            "会/议.txt",
            "会 议",
            "会（议）",
            "会A议",
            "会2议",
            "会会议",
            "议会",
            "大会",
            "会",
            "x/会",
            "议/y",
            "会-_-议/z",
            "会议",
        ];
        let c = SearchCache::new(1 << 12);
        assert!(c.take(
            paths
                .iter()
                .enumerate()
                .map(|(i, p)| (i as i64 + 1, p.to_string()))
        ));
        let by_tokens = |a: char, b: Option<char>| -> Vec<i64> {
            let mut out = Vec::new();
            for (i, p) in paths.iter().enumerate() {
                let tokens = crate::catalog::search::char_tokens(p);
                let t: Vec<&str> = tokens.split(' ').collect();
                let (a, b) = (a.to_string(), b.map(|b| b.to_string()));
                let hit = match b {
                    None => t.contains(&a.as_str()),
                    Some(b) => t.windows(2).any(|w| w[0] == a && w[1] == b),
                };
                if hit {
                    out.push(i as i64 + 1);
                }
            }
            out
        };
        for (a, b) in [
            ('会', Some('议')),
            ('议', Some('会')),
            ('会', None),
            ('纪', Some('要')),
        ] {
            let mut got = Vec::new();
            let mut from = 0;
            loop {
                let s = c.scan_phrase(a, b, from, 2);
                got.extend(s.ids);
                if s.end {
                    break;
                }
                from = s.next;
            }
            assert_eq!(got, by_tokens(a, b), "{a}{b:?}");
        }
        // 会 at the end of one path, 议 at the start of the next: no match.
        assert!(!by_tokens('会', Some('议')).contains(&11));
    }

    #[test]
    fn stops_at_its_cap_and_says_it_is_not_complete() {
        let c = SearchCache::new(4 * 26 + 25);
        let rows = (1..=10).map(|i| (i, format!("a/{i:03}.txt")));
        assert!(!c.take(rows), "the cap is reached");
        // 10 bytes a path with its NUL, 16 for its id and end: four held.
        assert_eq!(c.last_id(), (4, false));
        assert_eq!(all(&c, ".txt", 100), (vec![1, 2, 3, 4], false));
        // Rows already held, or after the cap, are not taken again.
        assert!(!c.take([(11, "x".to_string())]));
        assert_eq!(c.bytes(), 40);
    }

    #[test]
    fn lowercases_beyond_ascii_as_ilike_does() {
        let c = SearchCache::new(1 << 10);
        c.take([
            (1, "ÉTAT/Öl.txt".to_string()),
            (2, "état".to_string()),
            (3, "İSTANBUL/ΟΔΟΣ.txt".to_string()),
        ]);
        assert_eq!(all(&c, &fold("état"), 5).0, vec![1, 2]);
        assert_eq!(all(&c, &fold("öl"), 5).0, vec![1]);
        // Character by character: İ is i, a final Σ is σ.
        assert_eq!(all(&c, &fold("istanbul"), 5).0, vec![3]);
        assert_eq!(all(&c, &fold("οδοσ"), 5).0, vec![3]);
        assert_eq!(all(&c, &fold("ΟΔΟΣ"), 5).0, vec![3]);
    }
}
