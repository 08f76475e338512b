//! The catalog's database layer: SQLite through rusqlite, behind a small query interface.
//!
//! # Why not sqlx
//! The first catalog ran on sqlx's `Any` driver. Measured on 100,000 rows of the `copies`
//! table, fetching took 3.0 s through `Any`, 0.9 s through sqlx's native SQLite driver and
//! 0.04 s through rusqlite; inserts cost ~25 µs a row. That made `inspect due` on 100,000
//! copies take 1.9 s and put a minute of ingest time per million files into the catalog, against
//! goals of well under 100 ms. So SQLite goes through rusqlite here; the interface keeps the
//! shape of the queries (`query(sql).bind(x).fetch_all(&db)`, `$n` placeholders) so that a
//! PostgreSQL backend can implement the same calls.
//!
//! The functions are `async` only so that the catalog code reads the same for every backend;
//! they complete at once and [`block_on`] runs them.

use crate::{Error, Result};
use std::future::Future;
use std::sync::Arc;

/// A value bound to or read from a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

pub trait ToValue {
    fn to_value(self) -> Value;
}

impl ToValue for i64 {
    fn to_value(self) -> Value {
        Value::Int(self)
    }
}
impl ToValue for f64 {
    fn to_value(self) -> Value {
        Value::Real(self)
    }
}
impl ToValue for &str {
    fn to_value(self) -> Value {
        Value::Text(self.to_string())
    }
}
impl ToValue for String {
    fn to_value(self) -> Value {
        Value::Text(self)
    }
}
impl ToValue for &String {
    fn to_value(self) -> Value {
        Value::Text(self.clone())
    }
}
impl ToValue for Vec<u8> {
    fn to_value(self) -> Value {
        Value::Blob(self)
    }
}
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => Value::Null,
        }
    }
}

pub trait FromValue: Sized {
    fn from_value(v: &Value) -> Option<Self>;
}

impl FromValue for i64 {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
}
impl FromValue for f64 {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Real(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
}
impl FromValue for String {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}
impl FromValue for Vec<u8> {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Blob(b) => Some(b.clone()),
            Value::Text(s) => Some(s.as_bytes().to_vec()),
            _ => None,
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// A column by name or position.
pub trait ColumnIndex {
    fn position(&self, names: &[String]) -> Option<usize>;
    fn describe(&self) -> String;
}
impl ColumnIndex for &str {
    fn position(&self, names: &[String]) -> Option<usize> {
        names.iter().position(|n| n == self)
    }
    fn describe(&self) -> String {
        (*self).to_string()
    }
}
impl ColumnIndex for usize {
    fn position(&self, names: &[String]) -> Option<usize> {
        (*self < names.len()).then_some(*self)
    }
    fn describe(&self) -> String {
        format!("#{self}")
    }
}

/// One result row.
#[derive(Debug, Clone)]
pub struct Row {
    names: Arc<Vec<String>>,
    values: Vec<Value>,
}

impl Row {
    /// Every value of the row as text, separated by spaces (for messages).
    pub fn text(&self) -> String {
        self.values
            .iter()
            .map(|v| match v {
                Value::Null => "NULL".to_string(),
                Value::Int(i) => i.to_string(),
                Value::Real(f) => f.to_string(),
                Value::Text(s) => s.clone(),
                Value::Blob(b) => hex::encode(b),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn try_get<T: FromValue, I: ColumnIndex>(&self, i: I) -> Result<T> {
        let k = i.position(&self.names).ok_or_else(|| Error::CatalogData {
            what: format!("column {}", i.describe()),
            detail: "not in the result".into(),
        })?;
        T::from_value(&self.values[k]).ok_or_else(|| Error::CatalogData {
            what: format!("column {}", i.describe()),
            detail: format!(
                "unexpected value {:?} for {}",
                self.values[k],
                std::any::type_name::<T>()
            ),
        })
    }
}

/// A connection to the catalog database.
pub struct Db {
    conn: rusqlite::Connection,
}

/// Something statements run on: the database, or a transaction of it.
pub trait Executor {
    fn conn(&self) -> &rusqlite::Connection;
}
impl Executor for &Db {
    fn conn(&self) -> &rusqlite::Connection {
        &self.conn
    }
}

/// A transaction: committed by [`Tx::commit`], rolled back when dropped without it.
pub struct Tx<'a> {
    db: &'a Db,
    done: bool,
}

impl std::ops::Deref for Tx<'_> {
    type Target = Db;
    fn deref(&self) -> &Db {
        self.db
    }
}

impl Tx<'_> {
    pub async fn commit(mut self) -> Result<()> {
        self.db.conn.execute_batch("COMMIT")?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.db.conn.execute_batch("ROLLBACK");
        }
    }
}

impl Db {
    /// Opens (creating) a SQLite database file with the catalog's settings.
    pub fn open_sqlite(path: &std::path::Path) -> Result<Db> {
        let conn = rusqlite::Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             -- Up to 256 MiB of page cache: index inserts into a catalog of millions of files
             -- stay in memory instead of re-reading pages.
             PRAGMA cache_size = -262144;",
        )?;
        Ok(Db { conn })
    }

    /// Starts a write transaction (taking the write lock at once).
    pub async fn begin(&self) -> Result<Tx<'_>> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(Tx {
            db: self,
            done: false,
        })
    }
}

/// `$1`, `$2` ... placeholders, as SQLite's numbered `?1`, `?2` ...
fn sqlite_sql(sql: &str) -> std::borrow::Cow<'_, str> {
    if !sql.contains('$') {
        return sql.into();
    }
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut in_quote = false;
    while let Some(c) = chars.next() {
        if c == '\'' {
            in_quote = !in_quote;
        }
        if c == '$' && !in_quote && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out.into()
}

fn to_sql(v: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match v {
        Value::Null => V::Null,
        Value::Int(i) => V::Integer(*i),
        Value::Real(f) => V::Real(*f),
        Value::Text(s) => V::Text(s.clone()),
        Value::Blob(b) => V::Blob(b.clone()),
    }
}

/// A statement with its bound values.
pub struct Query {
    sql: String,
    params: Vec<Value>,
}

pub fn query(sql: &str) -> Query {
    Query {
        sql: sql.to_string(),
        params: Vec::new(),
    }
}

impl Query {
    pub fn bind<T: ToValue>(mut self, v: T) -> Self {
        self.params.push(v.to_value());
        self
    }

    fn run<E: Executor, T>(
        &self,
        e: &E,
        mut each: impl FnMut(Row) -> bool,
        done: impl FnOnce() -> T,
    ) -> Result<T> {
        let conn = e.conn();
        let sql = sqlite_sql(&self.sql);
        let mut st = conn.prepare_cached(&sql)?;
        let params: Vec<rusqlite::types::Value> = self.params.iter().map(to_sql).collect();
        let names: Arc<Vec<String>> =
            Arc::new(st.column_names().iter().map(|s| s.to_string()).collect());
        let mut rows = st.query(rusqlite::params_from_iter(params))?;
        while let Some(r) = rows.next()? {
            let mut values = Vec::with_capacity(names.len());
            for k in 0..names.len() {
                values.push(match r.get_ref(k)? {
                    rusqlite::types::ValueRef::Null => Value::Null,
                    rusqlite::types::ValueRef::Integer(i) => Value::Int(i),
                    rusqlite::types::ValueRef::Real(f) => Value::Real(f),
                    rusqlite::types::ValueRef::Text(t) => {
                        Value::Text(String::from_utf8_lossy(t).into_owned())
                    }
                    rusqlite::types::ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                });
            }
            if !each(Row {
                names: names.clone(),
                values,
            }) {
                break;
            }
        }
        Ok(done())
    }

    pub async fn execute<E: Executor>(self, e: E) -> Result<u64> {
        let conn = e.conn();
        let sql = sqlite_sql(&self.sql);
        let mut st = conn.prepare_cached(&sql)?;
        let params: Vec<rusqlite::types::Value> = self.params.iter().map(to_sql).collect();
        Ok(st.execute(rusqlite::params_from_iter(params))? as u64)
    }

    pub async fn fetch_all<E: Executor>(self, e: E) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        self.run(
            &e,
            |r| {
                out.push(r);
                true
            },
            || (),
        )?;
        Ok(out)
    }

    pub async fn fetch_optional<E: Executor>(self, e: E) -> Result<Option<Row>> {
        let mut out = None;
        self.run(
            &e,
            |r| {
                out = Some(r);
                false
            },
            || (),
        )?;
        Ok(out)
    }

    pub async fn fetch_one<E: Executor>(self, e: E) -> Result<Row> {
        let sql = self.sql.clone();
        self.fetch_optional(e)
            .await?
            .ok_or_else(|| Error::CatalogData {
                what: "query".into(),
                detail: format!(
                    "no row returned by {}",
                    sql.split_whitespace().collect::<Vec<_>>().join(" ")
                ),
            })
    }
}

/// A statement whose result is one value.
pub struct ScalarQuery<T> {
    q: Query,
    _t: std::marker::PhantomData<T>,
}

pub fn query_scalar<T: FromValue>(sql: &str) -> ScalarQuery<T> {
    ScalarQuery {
        q: query(sql),
        _t: std::marker::PhantomData,
    }
}

impl<T: FromValue> ScalarQuery<T> {
    pub fn bind<V: ToValue>(mut self, v: V) -> Self {
        self.q = self.q.bind(v);
        self
    }

    pub async fn fetch_one<E: Executor>(self, e: E) -> Result<T> {
        self.q.fetch_one(e).await?.try_get(0usize)
    }

    pub async fn fetch_optional<E: Executor>(self, e: E) -> Result<Option<T>> {
        match self.q.fetch_optional(e).await? {
            Some(r) => Ok(Some(r.try_get(0usize)?)),
            None => Ok(None),
        }
    }
}

/// Runs a future that completes without waiting (every call of this module does).
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_numbered() {
        assert_eq!(sqlite_sql("a = $1 OR b = $12"), "a = ?1 OR b = ?12");
        assert_eq!(sqlite_sql("x = '$1' AND y = $2"), "x = '$1' AND y = ?2");
    }

    #[test]
    fn round_trip_and_rollback() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_sqlite(&dir.path().join("t.sqlite")).unwrap();
        block_on(async {
            query("CREATE TABLE t (a INTEGER, b TEXT, c BLOB)")
                .execute(&db)
                .await
                .unwrap();
            {
                let tx = db.begin().await.unwrap();
                query("INSERT INTO t VALUES ($1, $2, $3)")
                    .bind(1i64)
                    .bind("文")
                    .bind(vec![0u8, 255])
                    .execute(&*tx)
                    .await
                    .unwrap();
                // Dropped without commit: rolled back.
            }
            let n: i64 = query_scalar("SELECT COUNT(*) FROM t")
                .fetch_one(&db)
                .await
                .unwrap();
            assert_eq!(n, 0);
            let tx = db.begin().await.unwrap();
            query("INSERT INTO t VALUES ($1, $2, $3)")
                .bind(2i64)
                .bind(None::<String>)
                .bind(vec![7u8])
                .execute(&*tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            let r = query("SELECT a, b, c FROM t").fetch_one(&db).await.unwrap();
            assert_eq!(r.try_get::<i64, _>("a").unwrap(), 2);
            assert_eq!(r.try_get::<Option<String>, _>("b").unwrap(), None);
            assert_eq!(r.try_get::<Vec<u8>, _>("c").unwrap(), vec![7u8]);
            assert!(r.try_get::<String, _>("a").is_err());
        });
    }
}
