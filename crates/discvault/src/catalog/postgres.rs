//! The PostgreSQL backend of the catalog: one catalog shared by several stations (an ingest
//! PC, the PC beside the disc publisher, the reading room, the server), through the
//! synchronous `postgres` client.
//!
//! Write transactions take one transaction-scoped advisory lock ([`WRITE_LOCK`]) as they
//! begin, as SQLite's `BEGIN IMMEDIATE` takes its write lock: writers of all stations follow one
//! another, so that volume, copy and job numbers stay unique, no update is lost and the event
//! log stays one hash chain. Readers never wait.

use super::db::{Backend, Db, Dialect, Row, Value};
use crate::{Error, Result};
use postgres::types::{FromSql, IsNull, ToSql, Type};
use std::collections::HashMap;
use std::sync::Arc;

/// The advisory lock key of catalog writers ("dv" "cat" in ASCII), held for a transaction.
pub const WRITE_LOCK: i64 = 0x6476_0063_6174;

/// The advisory lock key of a station changing the catalog in several transactions (add, plan,
/// master, publish ...: see `Vault::lock`), held by its session ("dv" "stn").
pub const STATION_LOCK: i64 = 0x6476_0073_746e;

struct Postgres {
    client: postgres::Client,
    statements: HashMap<String, postgres::Statement>,
}

/// Connects to a PostgreSQL catalog (`postgres://USER@HOST:PORT/DB`). The password, if any,
/// comes from the URL or from `PGPASSWORD`.
pub fn open(url: &str) -> Result<Db> {
    let mut config: postgres::Config = url.parse().map_err(|e| Error::Invalid {
        field: "catalog.url".into(),
        detail: format!("{}: {e}", redact(url)),
    })?;
    if config.get_password().is_none() {
        if let Ok(p) = std::env::var("PGPASSWORD") {
            config.password(p);
        }
    }
    config.application_name("discvault");
    config.connect_timeout(std::time::Duration::from_secs(30));
    let mut client = config.connect(postgres::NoTls).map_err(|e| {
        Error::Catalog(format!(
            "cannot connect to {}: {}",
            redact(url),
            describe(&e)
        ))
    })?;
    client
        // No JIT: the catalog's queries are short, and compiling one costs more than it runs.
        // A random page read costs at most 1.1 sequential ones (unless the server says less):
        // the default of 4 assumes spinning disks and makes a join of a few rows read a whole
        // table (locate's placements joined all 3,400 volumes of a 1M-file catalog, 6 ms
        // instead of 0.6, on every request).
        .batch_execute(
            "SET client_min_messages = WARNING; SET jit = off;
             SELECT set_config('random_page_cost', least(current_setting('random_page_cost')::float8, 1.1)::text, false)",
        )
        .map_err(from_pg)?;
    Ok(Db::new(
        Dialect::Postgres,
        Box::new(Postgres {
            client,
            statements: HashMap::new(),
        }),
    ))
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &userinfo[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// A PostgreSQL error with the server's message, detail and hint.
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => {
            let mut s = format!("{}: {}", d.severity(), d.message());
            if let Some(x) = d.detail() {
                s.push_str(&format!(" ({x})"));
            }
            if let Some(x) = d.hint() {
                s.push_str(&format!("; hint: {x}"));
            }
            s
        }
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(x) = src {
                s.push_str(&format!(": {x}"));
                src = x.source();
            }
            s
        }
    }
}

fn from_pg(e: postgres::Error) -> Error {
    Error::Catalog(describe(&e))
}

impl Postgres {
    fn prepare(&mut self, sql: &str) -> Result<postgres::Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let st = self.client.prepare(sql).map_err(|e| {
            Error::Catalog(format!(
                "{} in {}",
                describe(&e),
                sql.split_whitespace().collect::<Vec<_>>().join(" ")
            ))
        })?;
        self.statements.insert(sql.to_string(), st.clone());
        Ok(st)
    }
}

impl Backend for Postgres {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let st = self.prepare(sql)?;
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
        self.client.execute(&st, &refs).map_err(from_pg)
    }

    fn query(
        &mut self,
        sql: &str,
        params: &[Value],
        each: &mut dyn FnMut(Row) -> bool,
    ) -> Result<()> {
        if sql.contains(super::db::BY_INDEX) {
            // A search of the paths: planned for its value, through the path indexes (bitmap
            // scans only). A plan that reads the table, or another index, in order until it has
            // found enough (what PostgreSQL picks for a common word under LIMIT, expecting the
            // matches spread evenly) reads most of it when the matches lie together, as the
            // files of one collection do: 0.6 s for `jpg` at 200,000 files, against 11 ms.
            self.client
                .batch_execute(
                    "SET enable_seqscan = off; SET enable_indexscan = off; SET plan_cache_mode = force_custom_plan",
                )
                .map_err(from_pg)?;
            let r = self.query_planned(sql, params, each);
            self.client
                .batch_execute(
                    "RESET enable_seqscan; RESET enable_indexscan; RESET plan_cache_mode",
                )
                .map_err(from_pg)?;
            return r;
        }
        self.query_planned(sql, params, each)
    }

    fn begin_write(&mut self) -> Result<()> {
        self.client
            .batch_execute(&format!(
                "BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})"
            ))
            .map_err(from_pg)
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        self.client.batch_execute(sql).map_err(from_pg)
    }

    fn copy_in(
        &mut self,
        sql: &str,
        fill: &mut dyn FnMut(&mut dyn std::io::Write) -> Result<()>,
    ) -> Result<u64> {
        let mut w = self.client.copy_in(sql).map_err(from_pg)?;
        fill(&mut w)?;
        w.finish().map_err(from_pg)
    }
}

impl Postgres {
    fn query_planned(
        &mut self,
        sql: &str,
        params: &[Value],
        each: &mut dyn FnMut(Row) -> bool,
    ) -> Result<()> {
        use postgres::fallible_iterator::FallibleIterator;
        let st = self.prepare(sql)?;
        let names: Arc<Vec<String>> =
            Arc::new(st.columns().iter().map(|c| c.name().to_string()).collect());
        let mut rows = self.client.query_raw(&st, params.iter()).map_err(from_pg)?;
        while let Some(r) = rows.next().map_err(from_pg)? {
            let mut values = Vec::with_capacity(names.len());
            for (k, c) in st.columns().iter().enumerate() {
                let v: Cell = r.try_get(k).map_err(|e| Error::CatalogData {
                    what: format!("column {} ({})", c.name(), c.type_()),
                    detail: describe(&e),
                })?;
                values.push(v.0);
            }
            if !each(Row::new(names.clone(), values)) {
                break;
            }
        }
        Ok(())
    }
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, BoxError> {
        match (self, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Int(i), &Type::INT8) => i.to_sql(ty, out),
            (Value::Int(i), &Type::INT4) => i32::try_from(*i)?.to_sql(ty, out),
            (Value::Int(i), &Type::INT2) => i16::try_from(*i)?.to_sql(ty, out),
            (Value::Int(i), &Type::FLOAT8) => (*i as f64).to_sql(ty, out),
            (Value::Int(i), &Type::FLOAT4) => (*i as f32).to_sql(ty, out),
            (Value::Int(i), &Type::BOOL) => (*i != 0).to_sql(ty, out),
            (Value::Int(i), _) if is_text(ty) => i.to_string().to_sql(ty, out),
            (Value::Real(f), &Type::FLOAT8) => f.to_sql(ty, out),
            (Value::Real(f), &Type::FLOAT4) => (*f as f32).to_sql(ty, out),
            (Value::Real(f), _) if is_text(ty) => f.to_string().to_sql(ty, out),
            (Value::Text(s), &Type::BYTEA) => s.as_bytes().to_sql(ty, out),
            (Value::Text(s), _) if is_text(ty) => s.to_sql(ty, out),
            (Value::Blob(b), &Type::BYTEA) => b.to_sql(ty, out),
            (Value::Blob(b), _) if is_text(ty) => std::str::from_utf8(b)?.to_sql(ty, out),
            (v, _) => Err(format!("cannot bind {v:?} to a parameter of type {ty}").into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

fn is_text(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
    )
}

/// A value read from a result column of any type the catalog uses.
struct Cell(Value);

impl<'a> FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> std::result::Result<Cell, BoxError> {
        Ok(Cell(match *ty {
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Int(i16::from_sql(ty, raw)?.into()),
            Type::OID => Value::Int(u32::from_sql(ty, raw)?.into()),
            Type::BOOL => Value::Int(bool::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)?.into()),
            Type::BYTEA => Value::Blob(raw.to_vec()),
            Type::NUMERIC => numeric(raw)?,
            _ => Value::Text(String::from_sql(ty, raw)?),
        }))
    }

    fn from_sql_null(_: &Type) -> std::result::Result<Cell, BoxError> {
        Ok(Cell(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A NUMERIC in PostgreSQL's binary form (what `SUM` of BIGINT gives): an integer when it
/// has no fraction and fits, else a float.
fn numeric(raw: &[u8]) -> std::result::Result<Value, BoxError> {
    let word = |k: usize| -> std::result::Result<u16, BoxError> {
        raw.get(2 * k..2 * k + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "NUMERIC value cut short".into())
    };
    let ndigits = word(0)? as usize;
    let weight = word(1)? as i16 as i32;
    let sign = word(2)?;
    let dscale = word(3)?;
    if sign == 0xC000 {
        return Ok(Value::Real(f64::NAN));
    }
    let mut int: Option<i128> = Some(0);
    let mut float = 0f64;
    for i in 0..ndigits {
        let d = word(4 + i)? as i128;
        let exp = weight - i as i32;
        float += d as f64 * 10000f64.powi(exp);
        int = match (int, exp) {
            (Some(n), e) if e >= 0 => 10000i128
                .checked_pow(e as u32)
                .and_then(|p| d.checked_mul(p))
                .and_then(|x| n.checked_add(x)),
            (n, _) if d == 0 => n,
            _ => None,
        };
    }
    let negative = sign == 0x4000;
    match int.and_then(|n| i64::try_from(if negative { -n } else { n }).ok()) {
        Some(n) if dscale == 0 => Ok(Value::Int(n)),
        _ => Ok(Value::Real(if negative { -float } else { float })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redact("postgres://dv:secret@127.0.0.1:5433/vault"),
            "postgres://dv:***@127.0.0.1:5433/vault"
        );
        assert_eq!(redact("postgres://dv@h/db"), "postgres://dv@h/db");
    }

    #[test]
    fn numeric_values() {
        // 123456789 = 1 2345 6789: weight 2, digits [1, 2345, 6789].
        let enc = |digits: &[u16], weight: i16, sign: u16, dscale: u16| {
            let mut v = Vec::new();
            for w in [digits.len() as u16, weight as u16, sign, dscale] {
                v.extend_from_slice(&w.to_be_bytes());
            }
            for d in digits {
                v.extend_from_slice(&d.to_be_bytes());
            }
            v
        };
        assert_eq!(
            numeric(&enc(&[1, 2345, 6789], 2, 0, 0)).unwrap(),
            Value::Int(123_456_789)
        );
        assert_eq!(numeric(&enc(&[5], 0, 0x4000, 0)).unwrap(), Value::Int(-5));
        assert_eq!(numeric(&enc(&[], 0, 0, 0)).unwrap(), Value::Int(0));
        assert_eq!(
            numeric(&enc(&[1, 5000], 0, 0, 1)).unwrap(),
            Value::Real(1.5)
        );
        assert!(numeric(&[0, 1]).is_err());
    }
}
