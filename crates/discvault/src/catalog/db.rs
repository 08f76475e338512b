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
//! The interface is synchronous: a stage is plain code, and a server runs it on its worker
//! threads.

use crate::{Error, Result};
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

/// Text with a NUL character (0x00) is refused on both backends alike (PostgreSQL cannot hold
/// it; SQLite could, and a lookup would then find nothing on one backend and fail on the
/// other): it comes from hostile input (a request, a CSV file), never from a file name.
fn no_nul(params: &[Value]) -> Result<()> {
    for p in params {
        if let Value::Text(t) = p {
            if t.contains('\0') {
                let shown: String = t.chars().take(60).collect();
                return Err(crate::Error::Invalid {
                    field: "text".into(),
                    detail: format!(
                        "{shown:?} contains a NUL character (0x00), which the catalog does not hold"
                    ),
                });
            }
        }
    }
    Ok(())
}

pub trait ToValue {
    fn to_value(self) -> Value;
}

impl ToValue for Value {
    fn to_value(self) -> Value {
        self
    }
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
    /// A row of `values` under the column `names` (shared by the rows of one result).
    pub fn new(names: Arc<Vec<String>>, values: Vec<Value>) -> Row {
        Row { names, values }
    }

    /// The names of the columns.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The values, in column order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

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

/// The SQL dialect of a backend: statements are written once, in the SQL both understand, and
/// the few differences are chosen by this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A catalog database: SQLite ([`super::sqlite`]) or PostgreSQL ([`super::postgres`]).
/// Statements use `$1`, `$2` ... placeholders; a backend translates them if it must.
pub trait Backend: Send {
    /// Runs a statement, returning the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64>;
    /// Runs a query, giving each row to `each` until it returns false.
    fn query(
        &mut self,
        sql: &str,
        params: &[Value],
        each: &mut dyn FnMut(Row) -> bool,
    ) -> Result<()>;
    /// Starts a write transaction, taking the catalog's write lock at once: one writer at a
    /// time, so that ids, the event chain and every invariant see a consistent catalog.
    fn begin_write(&mut self) -> Result<()>;
    /// Runs statements without parameters or results (COMMIT, ROLLBACK, settings).
    fn batch(&mut self, sql: &str) -> Result<()>;
    /// Runs `COPY ... FROM STDIN` (PostgreSQL's bulk load, text format), `fill` writing the
    /// rows; returns the number of rows. Backends without it refuse.
    fn copy_in(
        &mut self,
        sql: &str,
        fill: &mut dyn FnMut(&mut dyn std::io::Write) -> Result<()>,
    ) -> Result<u64> {
        let _ = fill;
        Err(Error::Catalog(format!("{sql}: COPY is PostgreSQL's alone")))
    }
}

/// A connection to the catalog database, shared safely between threads: one thread at a time
/// uses it, and a transaction holds it until it ends (the thread that holds it may run further
/// statements, which belong to the transaction).
pub struct Db {
    dialect: Dialect,
    conn: parking_lot::ReentrantMutex<std::cell::RefCell<Box<dyn Backend>>>,
}

/// Something statements run on: the database, or a transaction of it (`&*tx`).
pub trait Executor {
    fn db(&self) -> &Db;
}
impl Executor for &Db {
    fn db(&self) -> &Db {
        self
    }
}

/// A transaction: committed by [`Tx::commit`], rolled back when dropped without it.
pub struct Tx<'a> {
    db: &'a Db,
    _held: parking_lot::ReentrantMutexGuard<'a, std::cell::RefCell<Box<dyn Backend>>>,
    done: bool,
}

impl std::ops::Deref for Tx<'_> {
    type Target = Db;
    fn deref(&self) -> &Db {
        self.db
    }
}

impl Tx<'_> {
    pub fn commit(mut self) -> Result<()> {
        self.db.with(|b| b.batch("COMMIT"))?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.db.with(|b| b.batch("ROLLBACK"));
        }
    }
}

impl Db {
    pub fn new(dialect: Dialect, backend: Box<dyn Backend>) -> Db {
        Db {
            dialect,
            conn: parking_lot::ReentrantMutex::new(std::cell::RefCell::new(backend)),
        }
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Runs `f` on the connection, waiting for a transaction of another thread to end.
    fn with<T>(&self, f: impl FnOnce(&mut dyn Backend) -> Result<T>) -> Result<T> {
        let held = self.conn.lock();
        let mut b = held.try_borrow_mut().map_err(|_| Error::CatalogData {
            what: "connection".into(),
            detail: "a statement ran while another one was reading its rows (a bug)".into(),
        })?;
        f(&mut **b)
    }

    /// Starts a write transaction (taking the write lock at once).
    pub fn begin(&self) -> Result<Tx<'_>> {
        let held = self.conn.lock();
        self.with(|b| b.begin_write())?;
        Ok(Tx {
            db: self,
            _held: held,
            done: false,
        })
    }
}

/// Bulk-loads rows through `COPY ... FROM STDIN` (PostgreSQL only; see [`Backend::copy_in`]).
pub fn copy_in<E: Executor>(
    e: E,
    sql: &str,
    fill: &mut dyn FnMut(&mut dyn std::io::Write) -> Result<()>,
) -> Result<u64> {
    e.db().with(|b| b.copy_in(sql, fill))
}

/// One field of a row in `COPY`'s text format: backslash, tab, newline and carriage return
/// escaped.
pub fn copy_text(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

/// Bytes (`bytea`) as one field of `COPY`'s text format: `\\x` and hex (the backslash itself
/// escaped).
pub fn copy_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(b"\\\\x");
    out.extend_from_slice(hex::encode(b).as_bytes());
}

/// A comment that marks a search of the paths (locate): PostgreSQL plans it for its values and
/// through the indexes (see `postgres.rs`); SQLite ignores it.
pub const BY_INDEX: &str = "/* by index */";

/// How many values a list parameter (`IN (...)`, see [`list_params`]) holds at most: a longer
/// list is asked in pieces, a shorter one padded to the next of a few sizes ([`list_len`]) with a
/// value that matches nothing, so that such a statement has few texts, each prepared once.
pub const LIST: usize = 100;

/// The size a list of `n` values (at most [`LIST`]) is padded to: 1, 4, 16 or [`LIST`] (a
/// list of one value costs no more to plan than `=`; PostgreSQL plans each list it is given).
pub fn list_len(n: usize) -> usize {
    [1, 4, 16, LIST]
        .into_iter()
        .find(|&k| k >= n)
        .unwrap_or(LIST)
}

/// `$first, $first+1, ...`: [`LIST`] placeholders for an `IN` list.
pub fn list_params(first: usize) -> String {
    list_params_n(first, LIST)
}

/// `$first, ... $first+n-1`: `n` placeholders for an `IN` list.
pub fn list_params_n(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|k| format!("${k}"))
        .collect::<Vec<_>>()
        .join(", ")
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

    fn run<E: Executor>(&self, e: &E, each: &mut dyn FnMut(Row) -> bool) -> Result<()> {
        no_nul(&self.params)?;
        e.db().with(|b| b.query(&self.sql, &self.params, each))
    }

    pub fn execute<E: Executor>(self, e: E) -> Result<u64> {
        no_nul(&self.params)?;
        e.db().with(|b| b.execute(&self.sql, &self.params))
    }

    pub fn fetch_all<E: Executor>(self, e: E) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        self.run(&e, &mut |r| {
            out.push(r);
            true
        })?;
        Ok(out)
    }

    /// What `f` makes of each row, made as the rows come: a large result is never held as
    /// rows and values at once (`f` must not run statements).
    pub fn fetch_map<E: Executor, T>(
        self,
        e: E,
        mut f: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.for_each(e, |r| {
            out.push(f(r)?);
            Ok(true)
        })?;
        Ok(out)
    }

    /// Calls `f` on each row as it comes, until it returns `Ok(false)` or an error (`f` must
    /// not run statements).
    pub fn for_each<E: Executor>(
        self,
        e: E,
        mut f: impl FnMut(&Row) -> Result<bool>,
    ) -> Result<()> {
        let mut failed = None;
        self.run(&e, &mut |r| match f(&r) {
            Ok(go_on) => go_on,
            Err(x) => {
                failed = Some(x);
                false
            }
        })?;
        match failed {
            Some(x) => Err(x),
            None => Ok(()),
        }
    }

    pub fn fetch_optional<E: Executor>(self, e: E) -> Result<Option<Row>> {
        let mut out = None;
        self.run(&e, &mut |r| {
            out = Some(r);
            false
        })?;
        Ok(out)
    }

    pub fn fetch_one<E: Executor>(self, e: E) -> Result<Row> {
        let sql = self.sql.clone();
        self.fetch_optional(e)?.ok_or_else(|| Error::CatalogData {
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

    pub fn fetch_one<E: Executor>(self, e: E) -> Result<T> {
        self.q.fetch_one(e)?.try_get(0usize)
    }

    pub fn fetch_optional<E: Executor>(self, e: E) -> Result<Option<T>> {
        match self.q.fetch_optional(e)? {
            Some(r) => Ok(Some(r.try_get(0usize)?)),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rollback() {
        let dir = tempfile::tempdir().unwrap();
        let db = super::super::sqlite::open(&dir.path().join("t.sqlite")).unwrap();
        {
            query("CREATE TABLE t (a INTEGER, b TEXT, c BLOB)")
                .execute(&db)
                .unwrap();
            {
                let tx = db.begin().unwrap();
                query("INSERT INTO t VALUES ($1, $2, $3)")
                    .bind(1i64)
                    .bind("文")
                    .bind(vec![0u8, 255])
                    .execute(&*tx)
                    .unwrap();
                // Dropped without commit: rolled back.
            }
            let n: i64 = query_scalar("SELECT COUNT(*) FROM t")
                .fetch_one(&db)
                .unwrap();
            assert_eq!(n, 0);
            let tx = db.begin().unwrap();
            query("INSERT INTO t VALUES ($1, $2, $3)")
                .bind(2i64)
                .bind(None::<String>)
                .bind(vec![7u8])
                .execute(&*tx)
                .unwrap();
            tx.commit().unwrap();
            let r = query("SELECT a, b, c FROM t").fetch_one(&db).unwrap();
            assert_eq!(r.try_get::<i64, _>("a").unwrap(), 2);
            assert_eq!(r.try_get::<Option<String>, _>("b").unwrap(), None);
            assert_eq!(r.try_get::<Vec<u8>, _>("c").unwrap(), vec![7u8]);
            assert!(r.try_get::<String, _>("a").is_err());
        }
    }
}
