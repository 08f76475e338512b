//! Locate's search: the path indexes of both backends and the queries over them.

use super::records::{file_from_row, FILE_COLS};
use super::search_cache::SearchCache;
use super::{db, Catalog, Dialect};
use crate::model::FileRecord;
use crate::Result;
use std::sync::Arc;

/// The files PostgreSQL's search of the paths reads in id order before it turns to the path
/// indexes (about 7 ms at ten million files).
const PROBE: i64 = 8192;

/// Files read from the catalog at a time into a [`SearchCache`].
const FILL: i64 = 50_000;

/// Confirmations of a hundred candidates at most in a search through the [`SearchCache`].
const CACHED_ROUNDS: usize = 20;

/// A search asking for more files than this (a pick list of every match) goes to PostgreSQL's
/// path indexes, not through the [`SearchCache`] a hundred files at a time.
const CACHED_LIMIT: i64 = 1_000;

/// What a search through the [`SearchCache`] looks for.
#[derive(Clone, Copy)]
enum Needle<'a> {
    /// A piece of the path, as `ILIKE '%piece%'` finds it.
    Piece(&'a str),
    /// One or two characters as a phrase of the character index (see [`char_tokens`]).
    Phrase(char, Option<char>),
}

/// The text indexed for one- and two-character queries: every non-ASCII letter or digit is a
/// token of its own, ASCII letters and digits form words, everything else separates.
pub(crate) fn char_tokens(path: &str) -> String {
    let mut out = String::with_capacity(path.len() * 2);
    let mut in_word = false;
    for c in path.chars() {
        if c.is_ascii_alphanumeric() {
            if !in_word && !out.is_empty() {
                out.push(' ');
            }
            out.push(c);
            in_word = true;
        } else if c.is_alphanumeric() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push(c);
            in_word = false;
        } else {
            in_word = false;
        }
    }
    out
}

/// The non-ASCII letters of a path as a PostgreSQL tsvector literal, each at its position among
/// the path's [`char_tokens`] (so that a phrase of two characters matches where SQLite's
/// character index matches).
pub(crate) fn char_vector(path: &str) -> String {
    let mut out = String::new();
    for (k, t) in char_tokens(path).split(' ').enumerate() {
        let mut cs = t.chars();
        if let (Some(c), None) = (cs.next(), cs.next()) {
            if !c.is_ascii() && c != '\'' && c != '\\' {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&format!("'{c}':{}", (k + 1).min(16383)));
            }
        }
    }
    out
}

/// Display form of a raw path: UTF-8 as is, other bytes as `\xNN`.
pub fn display_path(raw: &[u8]) -> String {
    let mut out = String::new();
    for chunk in raw.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

impl Catalog {
    /// Current files that are on no volume yet, with their collection names, in collection
    /// and path order.
    /// Adds the files with ids above `first_new` to SQLite's path indexes (FTS5, fast when
    /// written in bulk and slow row by row); PostgreSQL needs nothing.
    pub(crate) fn index_paths_after(&self, tx: &db::Tx<'_>, first_new: i64) -> Result<()> {
        if self.dialect == Dialect::Postgres {
            let rows = db::query("SELECT id, path FROM files WHERE id > $1 ORDER BY id")
                .bind(first_new)
                .fetch_all(&**tx)?;
            for chunk in rows.chunks(250) {
                let values: Vec<String> = (0..chunk.len())
                    .map(|k| format!("(${}::int8, ${}::text)", 2 * k + 1, 2 * k + 2))
                    .collect();
                let sql = format!(
                    "UPDATE files f SET path_chars = v.c::tsvector FROM (VALUES {}) AS v(id, c) WHERE f.id = v.id",
                    values.join(", ")
                );
                let mut q = db::query(&sql);
                for r in chunk {
                    q = q
                        .bind(r.try_get::<i64, _>("id")?)
                        .bind(char_vector(&r.try_get::<String, _>("path")?));
                }
                q.execute(&**tx)?;
            }
            return Ok(());
        }
        // The path indexes of the rows just added, one statement each: FTS5 is
        // fast when written in bulk and slow row by row.
        db::query(
            "INSERT INTO files_path_index (rowid, path) SELECT id, path FROM files WHERE id > $1",
        )
        .bind(first_new)
        .execute(&**tx)?;
        let rows = db::query("SELECT id, path FROM files WHERE id > $1 ORDER BY id")
            .bind(first_new)
            .fetch_all(&**tx)?;
        db::query("CREATE TEMP TABLE IF NOT EXISTS new_char_tokens (id INTEGER PRIMARY KEY, chars TEXT NOT NULL)")
            .execute(&**tx)?;
        for chunk in rows.chunks(250) {
            let values: Vec<String> = (0..chunk.len())
                .map(|k| format!("(${}, ${})", 2 * k + 1, 2 * k + 2))
                .collect();
            let sql = format!(
                "INSERT INTO new_char_tokens (id, chars) VALUES {}",
                values.join(", ")
            );
            let mut q = db::query(&sql);
            for r in chunk {
                q = q
                    .bind(r.try_get::<i64, _>("id")?)
                    .bind(char_tokens(&r.try_get::<String, _>("path")?));
            }
            q.execute(&**tx)?;
        }
        for stmt in [
            "INSERT INTO files_char_index (rowid, chars) SELECT id, chars FROM new_char_tokens",
            "DELETE FROM new_char_tokens",
        ] {
            db::query(stmt).execute(&**tx)?;
        }
        Ok(())
    }

    /// Keeps the paths of a PostgreSQL catalog's oldest files in memory for locate, up to
    /// `cap` bytes (a long-running process; SQLite's catalog has no use for it). Called before
    /// the catalog is shared ([`Catalog::share`]): it starts what is kept anew.
    pub fn keep_search_cache(&mut self, cap: usize) {
        if self.dialect == Dialect::Postgres && cap > 0 {
            self.shared = Arc::new(super::Shared {
                search_cache: Some(SearchCache::new(cap)),
                ..Default::default()
            });
        }
    }

    /// What this catalog keeps in memory, to be shared with the process's other connections.
    pub fn shared(&self) -> Arc<super::Shared> {
        self.shared.clone()
    }

    /// Keeps what `shared` keeps (another connection of the same catalog).
    pub fn share(&mut self, shared: Arc<super::Shared>) {
        self.shared = shared;
    }

    /// Reads what a server keeps in memory before the first requests ask for it: the paths
    /// of the search cache, and the volumes' content counts of the status.
    pub fn warm(&self) -> Result<()> {
        self.fill_search_cache()?;
        let ids: Vec<i64> = self.volumes()?.iter().map(|v| v.id).collect();
        self.content_counts(&ids)?;
        Ok(())
    }

    /// Reads the files added since the cache was last filled (all of them the first time, up
    /// to the cache's cap). True when the cache now holds every file of the catalog; false
    /// when it is full, or another connection is filling it.
    pub fn fill_search_cache(&self) -> Result<bool> {
        let Some(cache) = &self.shared.search_cache else {
            return Ok(false);
        };
        let Some(_turn) = cache.fill_turn() else {
            return Ok(false);
        };
        loop {
            let (last, open) = cache.last_id();
            if !open {
                return Ok(false);
            }
            let rows = db::query("SELECT id, path FROM files WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(last)
                .bind(FILL)
                .fetch_map(&self.db, |r| Ok((r.try_get("id")?, r.try_get("path")?)))?;
            let n = rows.len() as i64;
            if !cache.take(rows) {
                return Ok(false);
            }
            if n < FILL {
                return Ok(true);
            }
        }
    }

    /// A path piece through the [`SearchCache`]: the files whose path holds it, first in id
    /// order, each confirmed by the catalog (`cond` over `f`, its value `$1`). None when the
    /// cache cannot tell (it holds too few files and found fewer than `limit`).
    fn cached_search(
        &self,
        cache: &SearchCache,
        needle: Needle<'_>,
        (cond, value): (&str, &str),
        limit: i64,
        all_versions: bool,
    ) -> Result<Option<Vec<db::Row>>> {
        let folded = match needle {
            Needle::Piece(piece) => super::search_cache::fold(piece),
            Needle::Phrase(a, b) => {
                // Characters that folding changes are left to the index (the cache holds
                // folded paths; the phrase's characters are matched as they are).
                let same = |c: char| super::search_cache::fold(&c.to_string()) == c.to_string();
                if !same(a) || !b.is_none_or(same) {
                    return Ok(None);
                }
                String::from(a)
            }
        };
        if folded.is_empty() || folded.contains('\0') || !(1..=CACHED_LIMIT).contains(&limit) {
            return Ok(None);
        }
        // The files added since the last search are read only when those held are not enough:
        // they come after every file held, in id order.
        let mut whole = None;
        // Candidates the catalog turns down (older versions) cost a round trip a hundred: after
        // this many, the path index answers instead.
        let mut rounds = 0;
        let cur = if all_versions {
            ""
        } else {
            "f.current = 1 AND "
        };
        let mut rows = Vec::new();
        let mut from = 0;
        loop {
            let want = (limit as usize - rows.len()).min(db::LIST);
            let found = match needle {
                Needle::Piece(_) => cache.scan(&folded, from, want),
                Needle::Phrase(a, b) => cache.scan_phrase(a, b, from, want),
            };
            if !found.ids.is_empty() {
                rounds += 1;
                if rounds > CACHED_ROUNDS {
                    return Ok(None);
                }
                let n = db::list_len(found.ids.len());
                let mut q = db::query(&format!(
                    "SELECT {FILE_COLS}, c.name AS collection FROM files f JOIN collections c ON c.id = f.collection_id
                     WHERE {cur}f.id IN ({}) AND {cond} ORDER BY f.id",
                    db::list_params_n(2, n)
                ))
                .bind(value.to_string());
                for k in 0..n {
                    q = q.bind(found.ids.get(k).copied().unwrap_or(-1));
                }
                rows.extend(q.fetch_all(&self.db)?);
            }
            if rows.len() as i64 >= limit {
                rows.truncate(limit as usize);
                return Ok(Some(rows));
            }
            if found.end {
                match whole {
                    None => {
                        whole = Some(self.fill_search_cache()?);
                        from = found.next;
                        continue;
                    }
                    Some(whole) => return Ok((whole && found.complete).then_some(rows)),
                }
            }
            from = found.next;
        }
    }

    /// PostgreSQL's search of the paths for `cond` (over `f`, its value `$1`): first the
    /// oldest [`PROBE`] files in id order, which is enough for a common word and costs a few
    /// milliseconds (its bitmap over ten million files takes 50-200 ms); else through the path
    /// indexes (see `postgres.rs`), where a rare word is quick. Either way the files found come
    /// first in id order when there are more than `limit`, as SQLite's full-text index gives
    /// them.
    fn pg_search(
        &self,
        cond: &str,
        value: String,
        limit: i64,
        all_versions: bool,
    ) -> Result<Vec<db::Row>> {
        let (cur, and_cur) = match all_versions {
            true => ("", ""),
            false => ("WHERE current = 1 ", "f.current = 1 AND "),
        };
        let probe = db::query(&format!(
            "SELECT {FILE_COLS}, c.name AS collection
             FROM (SELECT * FROM files {cur}ORDER BY id LIMIT {PROBE}) f
             JOIN collections c ON c.id = f.collection_id
             WHERE {cond} ORDER BY f.id LIMIT $2"
        ))
        .bind(value.clone())
        .bind(limit)
        .fetch_all(&self.db)?;
        if probe.len() as i64 >= limit {
            return Ok(probe);
        }
        db::query(&format!(
            "SELECT {FILE_COLS}, c.name AS collection FROM files f JOIN collections c ON c.id = f.collection_id
             WHERE {and_cur}{cond} LIMIT $2 {}",
            db::BY_INDEX
        ))
        .bind(value)
        .bind(limit)
        .fetch_all(&self.db)
    }

    /// Files matching a query (see `locate`), with their collection names.
    pub(crate) fn find_files(
        &self,
        query: &crate::model::Query,
        limit: i64,
        all_versions: bool,
    ) -> Result<Vec<(String, FileRecord)>> {
        use crate::model::Query;
        // Every version of a file, or only the current one.
        let cur = if all_versions {
            ""
        } else {
            "f.current = 1 AND "
        };
        let and_cur = if all_versions {
            ""
        } else {
            " AND f.current = 1"
        };
        let base = format!(
            "SELECT {FILE_COLS}, c.name AS collection FROM files f JOIN collections c ON c.id = f.collection_id"
        );
        let rows = match query {
            Query::Digest(d) => {
                db::query(&format!(
                    "{base} WHERE {cur}(f.sha256 = $1 OR f.sm3 = $1 OR f.md5 = $1 OR f.blake3 = $1) ORDER BY c.name, f.path_raw, f.version LIMIT $2"
                ))
                .bind(d.to_ascii_lowercase())
                .bind(limit)
                .fetch_all(&self.db)?
            }
            Query::Metadata(k, v) => {
                // The collections that match (a small table), in name order, then the files of
                // each through the (collection_id, path_raw, version) index until the limit:
                // never a sort of all the files of the matching collections.
                let mut cols: Vec<(String, i64)> = db::query(
                    "SELECT c.id, c.name FROM collections c
                     WHERE EXISTS (SELECT 1 FROM collection_metadata m WHERE m.collection_id = c.id AND m.key = $1 AND m.value = $2)
                       OR ($1 = 'fonds' AND c.fonds = $2) OR ($1 = 'series' AND c.series = $2) OR ($1 = 'retention' AND c.retention = $2) OR ($1 = 'collection' AND c.name = $2)",
                )
                .bind(k)
                .bind(v)
                .fetch_all(&self.db)?
                .iter()
                .map(|r| Ok((r.try_get("name")?, r.try_get("id")?)))
                .collect::<Result<_>>()?;
                cols.sort();
                let mut rows = Vec::new();
                for (_, id) in cols {
                    let left = limit - rows.len() as i64;
                    if left <= 0 {
                        break;
                    }
                    rows.extend(
                        db::query(&format!(
                            "{base} WHERE {cur}f.collection_id = $1 ORDER BY f.path_raw, f.version LIMIT $2"
                        ))
                        .bind(id)
                        .bind(left)
                        .fetch_all(&self.db)?,
                    );
                }
                rows
            }
            Query::Path(p) if self.dialect == Dialect::Sqlite && p.chars().count() >= 3 => {
                // The trigram index answers any substring of three characters or more;
                // rows come in id order, so LIMIT stops the search early.
                let phrase = format!("\"{}\"", p.replace('"', "\"\""));
                db::query(&format!(
                    "SELECT {FILE_COLS}, c.name AS collection FROM files_path_index ix
                     JOIN files f ON f.id = ix.rowid JOIN collections c ON c.id = f.collection_id
                     WHERE files_path_index MATCH $1{and_cur} LIMIT $2"
                ))
                .bind(phrase)
                .bind(limit)
                .fetch_all(&self.db)?
            }
            Query::Path(p) if self.dialect == Dialect::Sqlite && !p.is_empty() && p.chars().all(|c| !c.is_ascii() && c.is_alphanumeric()) => {
                // One or two Chinese characters: a phrase of single-character tokens.
                let phrase = format!("\"{}\"", char_tokens(p));
                db::query(&format!(
                    "SELECT {FILE_COLS}, c.name AS collection FROM files_char_index ix
                     JOIN files f ON f.id = ix.rowid JOIN collections c ON c.id = f.collection_id
                     WHERE files_char_index MATCH $1{and_cur} LIMIT $2"
                ))
                .bind(phrase)
                .bind(limit)
                .fetch_all(&self.db)?
            }
            Query::Path(p) if self.dialect == Dialect::Postgres && !p.is_empty() && p.chars().count() <= 2 && p.chars().all(|c| !c.is_ascii() && c.is_alphanumeric()) => {
                // One or two Chinese characters: a phrase over the path's characters, first
                // through the search cache (as a path piece is), else the character index.
                let phrase: Vec<String> = p.chars().map(|c| format!("'{c}'")).collect();
                let phrase = phrase.join(" <-> ");
                let cond = "f.path_chars @@ $1::text::tsquery";
                let mut chars = p.chars();
                let cached = match (&self.shared.search_cache, chars.next()) {
                    (Some(cache), Some(first)) => self.cached_search(
                        cache,
                        Needle::Phrase(first, chars.next()),
                        (cond, &phrase),
                        limit,
                        all_versions,
                    )?,
                    _ => None,
                };
                match cached {
                    Some(rows) => rows,
                    None => self.pg_search(cond, phrase, limit, all_versions)?,
                }
            }
            Query::Path(p) => {
                let like = format!(
                    "%{}%",
                    p.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
                );
                match self.dialect {
                    Dialect::Sqlite => db::query(&format!(
                        "{base} WHERE {cur}f.path LIKE $1 ESCAPE '\\' LIMIT $2"
                    ))
                    .bind(like)
                    .bind(limit)
                    .fetch_all(&self.db)?,
                    Dialect::Postgres => {
                        let cached = match &self.shared.search_cache {
                            Some(cache) => self.cached_search(
                                cache,
                                Needle::Piece(p),
                                ("f.path ILIKE $1 ESCAPE '\\'", &like),
                                limit,
                                all_versions,
                            )?,
                            None => None,
                        };
                        match cached {
                            Some(rows) => rows,
                            None => self.pg_search(
                                "f.path ILIKE $1 ESCAPE '\\'",
                                like,
                                limit,
                                all_versions,
                            )?,
                        }
                    }
                }
            }
        };
        let mut out: Vec<(String, FileRecord)> = rows
            .iter()
            .map(|r| Ok((r.try_get("collection")?, file_from_row(r)?)))
            .collect::<Result<_>>()?;
        // A piece of a collection's name finds the files of that collection too (the
        // collection is the first folder of a record's path on a disc).
        // (Not asked when the limit is reached: a round trip saved on every common word.)
        if let (Query::Path(p), true) = (query, (out.len() as i64) < limit) {
            let needle = p.to_lowercase();
            let names: Vec<(i64, String)> = db::query("SELECT id, name FROM collections")
                .fetch_all(&self.db)?
                .iter()
                .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
                .collect::<Result<_>>()?;
            let seen: std::collections::HashSet<i64> = out.iter().map(|(_, f)| f.id).collect();
            for (id, name) in names {
                if needle.is_empty()
                    || !name.to_lowercase().contains(&needle)
                    || out.len() as i64 >= limit
                {
                    continue;
                }
                let more = db::query(&format!(
                    "{base} WHERE {cur}f.collection_id = $1 ORDER BY f.path_raw, f.version LIMIT $2"
                ))
                .bind(id)
                .bind(limit)
                .fetch_all(&self.db)?;
                for r in &more {
                    let f = file_from_row(r)?;
                    if !seen.contains(&f.id) && (out.len() as i64) < limit {
                        out.push((r.try_get("collection")?, f));
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_tokens_split_chinese_and_keep_words() {
        assert_eq!(
            char_tokens("全宗-J001/卷003/文书-000001-会议纪要.pdf"),
            "全 宗 J001 卷 003 文 书 000001 会 议 纪 要 pdf"
        );
        assert_eq!(char_tokens("a b"), "a b");
        assert_eq!(char_tokens(""), "");
    }

    #[test]
    fn char_vectors_keep_the_positions_of_the_tokens() {
        // 全 宗 J001 卷 003: the ASCII words hold their positions, so 宗 and 卷 are not adjacent.
        assert_eq!(
            char_vector("全宗-J001/卷003/会议.pdf"),
            "'全':1 '宗':2 '卷':4 '会':6 '议':7"
        );
        assert_eq!(char_vector("abc/d.txt"), "");
    }

    #[test]
    fn display_path_escapes_invalid_bytes() {
        assert_eq!(display_path(b"a\xff/\xe6\x96\x87"), "a\\xFF/文");
        assert_eq!(display_path(b"ok-\xff\xfe"), "ok-\\xFF\\xFE");
        assert_eq!(display_path("文".as_bytes()), "文");
    }
}
