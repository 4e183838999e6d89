//! One SQLite connection as the store's functions use it: every statement
//! runs where it is called, in one hop (no worker thread to wake per
//! statement), from a cached prepared statement. Rows are decoded by name
//! into their structs ([`FromRow`]), stored enums into their Rust enums; a
//! value that is none of them is an error, never a default.

use crate::store::sql::cache::Cache;
use crate::store::sql::{Error, Ref, Row, Sql, ToArg};
use rusqlite::params_from_iter;
use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use std::sync::Arc;

/// Prepared statements a connection keeps: every query the store has,
/// with room for the filters' variants.
const STATEMENT_CACHE: usize = 512;

pub use crate::store::error::Result;

/// A connection of the store: the writer's or a reader's.
pub struct Db {
    conn: rusqlite::Connection,
    cache: Option<Arc<Cache>>,
    /// Wrote a cached table in the open batch: reads them from the database.
    wrote_cached: bool,
}

impl Db {
    /// A connection that shares the store's cache of rarely changing reads.
    pub(super) fn with_cache(c: rusqlite::Connection, cache: Arc<Cache>) -> Self {
        Self::open(c, Some(cache))
    }

    /// A connection of its own (the store's tests).
    #[cfg(test)]
    pub(crate) fn new(c: rusqlite::Connection) -> Self {
        Self::open(c, None)
    }

    fn open(c: rusqlite::Connection, cache: Option<Arc<Cache>>) -> Self {
        c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Db {
            conn: c,
            cache,
            wrote_cached: false,
        }
    }

    pub(crate) fn raw(&self) -> &rusqlite::Connection {
        &self.conn
    }

    /// Its batch committed: the cache drops what the batch changed.
    pub(super) fn batch_committed(&mut self) {
        if std::mem::take(&mut self.wrote_cached) {
            if let Some(cache) = &self.cache {
                cache.invalidate();
            }
        }
    }

    /// Its batch rolled back: nothing it wrote happened.
    pub(super) fn batch_rolled_back(&mut self) {
        self.wrote_cached = false;
    }

    /// Statements without parameters, one after another (schema work,
    /// transaction control).
    pub fn batch(&self, sql: &str) -> Result<()> {
        const TRANSACTION: [&str; 5] = ["BEGIN", "SAVEPOINT", "RELEASE", "COMMIT", "ROLLBACK"];
        if sql.contains(';') || !TRANSACTION.iter().any(|t| sql.starts_with(t)) {
            return Ok(self.conn.execute_batch(sql)?);
        }
        // The writer's transaction control, several times an operation:
        // prepared once.
        self.conn.prepare_cached(sql)?.raw_execute()?;
        Ok(())
    }
}

impl Sql for Db {
    fn run(&self, sql: &str, args: &[&dyn ToArg]) -> Result<usize> {
        Ok(self
            .conn
            .prepare_cached(sql)?
            .execute(params_from_iter(args))?)
    }

    fn insert(&self, sql: &str, args: &[&dyn ToArg]) -> Result<i64> {
        self.conn
            .prepare_cached(sql)?
            .execute(params_from_iter(args))?;
        Ok(self.conn.last_insert_rowid())
    }

    fn rows(
        &self,
        sql: &str,
        args: &[&dyn ToArg],
        each: &mut dyn FnMut(&dyn Row) -> Result<bool>,
    ) -> Result<()> {
        let mut st = self.conn.prepare_cached(sql)?;
        let mut rows = st.query(params_from_iter(args))?;
        while let Some(r) = rows.next()? {
            if !each(&SqliteRow(r))? {
                break;
            }
        }
        Ok(())
    }

    fn cache(&self) -> Option<&Cache> {
        self.cache.as_deref()
    }

    fn wrote_cached(&self) -> bool {
        self.wrote_cached
    }

    fn writes_cached(&mut self) {
        self.wrote_cached = true;
    }
}

impl ToSql for dyn ToArg + '_ {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.arg() {
            Ref::Null => ValueRef::Null,
            Ref::Int(v) => ValueRef::Integer(v),
            Ref::Real(v) => ValueRef::Real(v),
            Ref::Text(v) => ValueRef::Text(v.as_bytes()),
            Ref::Blob(v) => ValueRef::Blob(v),
        }))
    }
}

/// A row of a SQLite statement.
struct SqliteRow<'r, 's>(&'r rusqlite::Row<'s>);

impl Row for SqliteRow<'_, '_> {
    fn index(&self, name: &str, at: usize) -> Result<usize> {
        let stmt = self.0.as_ref();
        if stmt.column_name(at).is_ok_and(|c| c == name) {
            return Ok(at);
        }
        Ok(stmt.column_index(name)?)
    }

    fn name(&self, i: usize) -> &str {
        self.0.as_ref().column_name(i).unwrap_or("?")
    }

    fn get(&self, i: usize) -> Result<Ref<'_>> {
        Ok(match self.0.get_ref(i)? {
            ValueRef::Null => Ref::Null,
            ValueRef::Integer(v) => Ref::Int(v),
            ValueRef::Real(v) => Ref::Real(v),
            ValueRef::Text(v) => Ref::Text(
                std::str::from_utf8(v)
                    .map_err(|e| Error::Other(format!("decoding column {}: {e}", self.name(i))))?,
            ),
            ValueRef::Blob(v) => Ref::Blob(v),
        })
    }
}
