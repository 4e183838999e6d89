//! One SQLite connection as the store's functions use it: every statement
//! runs where it is called, in one hop (no worker thread to wake per
//! statement), from a cached prepared statement. Rows are decoded by name
//! into their structs ([`FromRow`]), stored enums into their Rust enums; a
//! value that is none of them is an error, never a default.

use super::cache::{Cache, Maps};
use rusqlite::types::{FromSql, ToSql, Value, ValueRef};
use rusqlite::{OptionalExtension, Params, Row};
use std::sync::Arc;

/// Prepared statements a connection keeps: every query the store has,
/// with room for the filters' variants.
const STATEMENT_CACHE: usize = 512;

pub use crate::store::error::Result;

/// SQLite's own results, for decoding rows.
type SqlResult<T> = rusqlite::Result<T>;

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
    pub(super) fn new(c: rusqlite::Connection) -> Self {
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

    pub(super) fn raw(&self) -> &rusqlite::Connection {
        &self.conn
    }

    /// A cached read (see `cache`): from the cache unless this connection
    /// wrote cached tables in its open batch.
    pub(super) fn cached<T>(
        &self,
        pick: impl FnOnce(&Maps) -> Option<T>,
        load: impl FnOnce(&Db) -> Result<T>,
        put: impl FnOnce(&mut Maps, &T),
    ) -> Result<T> {
        match &self.cache {
            Some(cache) if !self.wrote_cached => cache.get(pick, || load(self), put),
            _ => load(self),
        }
    }

    /// This connection writes a cached table: until its batch ends, it
    /// reads them from the database.
    pub(super) fn writes_cached(&mut self) {
        self.wrote_cached = true;
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

    /// Runs a statement; answers the rows it changed.
    pub fn run(&self, sql: &str, params: impl Params) -> Result<usize> {
        Ok(self.conn.prepare_cached(sql)?.execute(params)?)
    }

    /// Runs an INSERT; answers the new row's id.
    pub fn insert(&self, sql: &str, params: impl Params) -> Result<i64> {
        self.conn.prepare_cached(sql)?.execute(params)?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The first row, if any.
    pub fn one<T: FromRow>(&self, sql: &str, params: impl Params) -> Result<Option<T>> {
        Ok(self
            .conn
            .prepare_cached(sql)?
            .query_row(params, |r| T::from_row(r))
            .optional()?)
    }

    /// The first row, which must be there.
    pub fn first<T: FromRow>(&self, sql: &str, params: impl Params) -> Result<T> {
        Ok(self
            .conn
            .prepare_cached(sql)?
            .query_row(params, |r| T::from_row(r))?)
    }

    /// Every row.
    pub fn all<T: FromRow>(&self, sql: &str, params: impl Params) -> Result<Vec<T>> {
        let mut st = self.conn.prepare_cached(sql)?;
        let rows = st.query_map(params, |r| T::from_row(r))?;
        Ok(rows.collect::<SqlResult<Vec<T>>>()?)
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

/// A query put together from optional filters.
pub struct Query {
    pub sql: String,
    params: Vec<Value>,
}

impl Query {
    pub fn new(sql: &str) -> Self {
        Query {
            sql: sql.to_owned(),
            params: Vec::new(),
        }
    }

    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// A `?` bound to `v`.
    pub fn push_bind(&mut self, v: impl ToSql) -> &mut Self {
        self.sql.push('?');
        let value = match v.to_sql() {
            Ok(rusqlite::types::ToSqlOutput::Owned(v)) => v,
            Ok(rusqlite::types::ToSqlOutput::Borrowed(r)) => Value::from(r),
            _ => Value::Null,
        };
        self.params.push(value);
        self
    }

    pub fn params(&self) -> impl Params + '_ {
        rusqlite::params_from_iter(self.params.iter())
    }
}

/// A row decoded into a Rust value.
pub trait FromRow: Sized {
    fn from_row(r: &Row<'_>) -> SqlResult<Self>;
}

/// A column's value: the plain SQLite types as they are, stored enums by
/// their names.
pub trait Column: Sized {
    fn column(r: &Row<'_>, i: usize) -> SqlResult<Self>;
}

macro_rules! plain_columns {
    ($($t:ty),*) => {$(
        impl Column for $t {
            fn column(r: &Row<'_>, i: usize) -> SqlResult<Self> {
                r.get(i)
            }
        }
        impl Column for Option<$t> {
            fn column(r: &Row<'_>, i: usize) -> SqlResult<Self> {
                r.get(i)
            }
        }
        impl FromRow for $t {
            fn from_row(r: &Row<'_>) -> SqlResult<Self> {
                r.get(0)
            }
        }
        impl FromRow for Option<$t> {
            fn from_row(r: &Row<'_>) -> SqlResult<Self> {
                r.get(0)
            }
        }
    )*};
}
plain_columns!(i64, String, bool, f64, Vec<u8>);

/// A stored enum: its text, read through the enum's `TryFrom<String>`.
fn enum_column<T>(r: &Row<'_>, i: usize) -> SqlResult<T>
where
    T: TryFrom<String>,
    T::Error: std::error::Error + Send + Sync + 'static,
{
    let text = String::column_result(r.get_ref(i)?).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, r.get_ref_unwrap(i).data_type(), e.into())
    })?;
    T::try_from(text).map_err(|e| {
        let column = r.as_ref().column_name(i).unwrap_or("?").to_owned();
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("decoding column {column}: {e}").into(),
        )
    })
}

macro_rules! enum_columns {
    ($($t:ty),*) => {$(
        impl Column for $t {
            fn column(r: &Row<'_>, i: usize) -> SqlResult<Self> {
                enum_column(r, i)
            }
        }
        impl Column for Option<$t> {
            fn column(r: &Row<'_>, i: usize) -> SqlResult<Self> {
                match r.get_ref(i)? {
                    ValueRef::Null => Ok(None),
                    _ => enum_column(r, i).map(Some),
                }
            }
        }
    )*};
}
enum_columns!(
    club_shared::SessionStatus,
    club_shared::RefundPolicy,
    club_shared::HoldingStatus,
    club_shared::ExpirationPolicy,
    club_shared::Account
);

/// The index of a named column of the row, looked for first at `at` (the
/// next column after the previous field's): queries usually select a row
/// type's columns in its fields' order, so this is one comparison instead
/// of a search of every column.
pub fn index(r: &Row<'_>, name: &str, at: usize) -> SqlResult<usize> {
    let stmt = r.as_ref();
    if stmt.column_name(at).is_ok_and(|c| c == name) {
        return Ok(at);
    }
    stmt.column_index(name)
}

/// `FromRow` for a struct whose fields are the query's columns by name.
#[macro_export]
macro_rules! from_row {
    ($t:ident { $($f:ident),* $(,)? }) => {
        impl $crate::store::sqlite::db::FromRow for $t {
            fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                use $crate::store::sqlite::db::Column;
                let mut _next = 0;
                Ok($t {
                    $($f: {
                        let i = $crate::store::sqlite::db::index(r, stringify!($f), _next)?;
                        _next = i + 1;
                        Column::column(r, i)?
                    },)*
                })
            }
        }
    };
}

macro_rules! tuple_rows {
    ($(($($t:ident $i:tt),*)),*) => {$(
        impl<$($t: Column),*> FromRow for ($($t,)*) {
            fn from_row(r: &Row<'_>) -> SqlResult<Self> {
                Ok(($($t::column(r, $i)?,)*))
            }
        }
    )*};
}
tuple_rows!(
    (A 0, B 1),
    (A 0, B 1, C 2),
    (A 0, B 1, C 2, D 3),
    (A 0, B 1, C 2, D 3, E 4),
    (A 0, B 1, C 2, D 3, E 4, F 5)
);
