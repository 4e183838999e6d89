//! The store's areas written once in SQL both backends speak, on any
//! connection that can run a statement ([`Sql`]): SQLite's (`sqlite`) and
//! PostgreSQL's (`postgres`). Arguments go in as [`ToArg`], rows come out
//! decoded by name into their structs ([`FromRow`]), stored enums into
//! their Rust enums; a value that is none of them is an error, never a
//! default.
//!
//! The dialect is the common one: `?` placeholders (`?N` to use one twice),
//! `CASE` for a larger-of-two, `lower(…) LIKE lower(?)`, sums read as
//! integers. A backend translates what it must (PostgreSQL's `$N`).

mod audit;
mod builds;
pub(crate) mod cache;
mod chain;
mod clients;
mod hall;
mod orders;
mod schedule;
mod sessions;
mod settings;
mod staff;
mod tariffs;

pub use crate::store::error::{Error, Result};
use cache::Maps;

/// A value as a statement takes it, or a column as a row holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ref<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// An owned [`Ref`], for queries put together from filters.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// What a statement's `?` can be bound to.
pub trait ToArg {
    fn arg(&self) -> Ref<'_>;
}

impl ToArg for i64 {
    fn arg(&self) -> Ref<'_> {
        Ref::Int(*self)
    }
}

impl ToArg for bool {
    fn arg(&self) -> Ref<'_> {
        Ref::Int(i64::from(*self))
    }
}

impl ToArg for f64 {
    fn arg(&self) -> Ref<'_> {
        Ref::Real(*self)
    }
}

impl ToArg for str {
    fn arg(&self) -> Ref<'_> {
        Ref::Text(self)
    }
}

impl ToArg for String {
    fn arg(&self) -> Ref<'_> {
        Ref::Text(self)
    }
}

impl ToArg for [u8] {
    fn arg(&self) -> Ref<'_> {
        Ref::Blob(self)
    }
}

impl ToArg for Vec<u8> {
    fn arg(&self) -> Ref<'_> {
        Ref::Blob(self)
    }
}

impl<T: ToArg + ?Sized> ToArg for &T {
    fn arg(&self) -> Ref<'_> {
        (**self).arg()
    }
}

impl<T: ToArg> ToArg for Option<T> {
    fn arg(&self) -> Ref<'_> {
        match self {
            Some(v) => v.arg(),
            None => Ref::Null,
        }
    }
}

impl ToArg for Value {
    fn arg(&self) -> Ref<'_> {
        match self {
            Value::Null => Ref::Null,
            Value::Int(v) => Ref::Int(*v),
            Value::Real(v) => Ref::Real(*v),
            Value::Text(v) => Ref::Text(v),
            Value::Blob(v) => Ref::Blob(v),
        }
    }
}

impl From<Ref<'_>> for Value {
    fn from(r: Ref<'_>) -> Self {
        match r {
            Ref::Null => Value::Null,
            Ref::Int(v) => Value::Int(v),
            Ref::Real(v) => Value::Real(v),
            Ref::Text(v) => Value::Text(v.to_owned()),
            Ref::Blob(v) => Value::Blob(v.to_owned()),
        }
    }
}

/// A statement's arguments: `args![a, b]`.
#[macro_export]
macro_rules! args {
    ($($e:expr),* $(,)?) => {
        &[$(&$e as &dyn $crate::store::sql::ToArg),*] as &[&dyn $crate::store::sql::ToArg]
    };
}

/// A connection the store's areas run their SQL on.
pub(crate) trait Sql {
    /// Runs a statement; answers the rows it changed.
    fn run(&self, sql: &str, args: &[&dyn ToArg]) -> Result<usize>;
    /// Runs an INSERT into a table with an `id`; answers the new row's id.
    fn insert(&self, sql: &str, args: &[&dyn ToArg]) -> Result<i64>;
    /// Hands each row to `row` until it answers false.
    fn rows(
        &self,
        sql: &str,
        args: &[&dyn ToArg],
        row: &mut dyn FnMut(&dyn Row) -> Result<bool>,
    ) -> Result<()>;
    /// The cache of rarely changing reads this connection shares, if any,
    /// and whether it wrote cached tables in its open transaction (then it
    /// reads them from the database: it sees its own writes).
    fn cache(&self) -> Option<&cache::Cache>;
    fn wrote_cached(&self) -> bool;
    /// This connection writes a cached table: until its transaction ends,
    /// it reads them from the database.
    fn writes_cached(&mut self);

    /// The first row, if any.
    fn one<T: FromRow>(&self, sql: &str, args: &[&dyn ToArg]) -> Result<Option<T>>
    where
        Self: Sized,
    {
        let mut first = None;
        self.rows(sql, args, &mut |r| {
            first = Some(T::from_row(r)?);
            Ok(false)
        })?;
        Ok(first)
    }

    /// The first row, which must be there.
    fn first<T: FromRow>(&self, sql: &str, args: &[&dyn ToArg]) -> Result<T>
    where
        Self: Sized,
    {
        self.one(sql, args)?
            .ok_or_else(|| Error::Other(format!("no row answered {sql}")))
    }

    /// Every row.
    fn all<T: FromRow>(&self, sql: &str, args: &[&dyn ToArg]) -> Result<Vec<T>>
    where
        Self: Sized,
    {
        let mut all = Vec::new();
        self.rows(sql, args, &mut |r| {
            all.push(T::from_row(r)?);
            Ok(true)
        })?;
        Ok(all)
    }

    /// A cached read (see `cache`): from the cache unless this connection
    /// wrote cached tables in its open transaction.
    fn cached<T>(
        &self,
        pick: impl FnOnce(&Maps) -> Option<T>,
        load: impl FnOnce(&Self) -> Result<T>,
        put: impl FnOnce(&mut Maps, &T),
    ) -> Result<T>
    where
        Self: Sized,
    {
        match self.cache() {
            Some(cache) if !self.wrote_cached() => cache.get(pick, || load(self), put),
            _ => load(self),
        }
    }
}

/// A query put together from optional filters.
pub struct Query {
    pub sql: String,
    args: Vec<Value>,
}

impl Query {
    pub fn new(sql: &str) -> Self {
        Query {
            sql: sql.to_owned(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// A `?` bound to `v`.
    pub fn push_bind(&mut self, v: impl ToArg) -> &mut Self {
        self.sql.push('?');
        self.args.push(v.arg().into());
        self
    }

    pub fn args(&self) -> Vec<&dyn ToArg> {
        self.args.iter().map(|v| v as &dyn ToArg).collect()
    }
}

/// A row as a backend answers it.
pub trait Row {
    /// The index of the column named `name`, looked for first at `at`
    /// (queries usually select a row type's columns in its fields' order).
    fn index(&self, name: &str, at: usize) -> Result<usize>;
    fn name(&self, i: usize) -> &str;
    fn get(&self, i: usize) -> Result<Ref<'_>>;
}

/// A row decoded into a Rust value.
pub trait FromRow: Sized {
    fn from_row(r: &dyn Row) -> Result<Self>;
}

/// A column's value: the plain types as they are, stored enums by their
/// names.
pub trait Column: Sized {
    fn column(r: &dyn Row, i: usize) -> Result<Self>;
}

/// A column that does not hold what its field needs.
pub fn mismatch(r: &dyn Row, i: usize, wanted: &str, found: Ref<'_>) -> Error {
    let found = match found {
        Ref::Null => "NULL",
        Ref::Int(_) => "an integer",
        Ref::Real(_) => "a real number",
        Ref::Text(_) => "text",
        Ref::Blob(_) => "a blob",
    };
    Error::Other(format!(
        "decoding column {}: wanted {wanted}, found {found}",
        r.name(i)
    ))
}

fn int(r: &dyn Row, i: usize) -> Result<i64> {
    match r.get(i)? {
        Ref::Int(n) => Ok(n),
        v => Err(mismatch(r, i, "an integer", v)),
    }
}

fn boolean(r: &dyn Row, i: usize) -> Result<bool> {
    int(r, i).map(|n| n != 0)
}

fn real(r: &dyn Row, i: usize) -> Result<f64> {
    match r.get(i)? {
        Ref::Real(x) => Ok(x),
        Ref::Int(n) => Ok(n as f64),
        v => Err(mismatch(r, i, "a number", v)),
    }
}

fn text(r: &dyn Row, i: usize) -> Result<String> {
    match r.get(i)? {
        Ref::Text(s) => Ok(s.to_owned()),
        v => Err(mismatch(r, i, "text", v)),
    }
}

fn blob(r: &dyn Row, i: usize) -> Result<Vec<u8>> {
    match r.get(i)? {
        Ref::Blob(b) => Ok(b.to_owned()),
        v => Err(mismatch(r, i, "a blob", v)),
    }
}

macro_rules! plain_columns {
    ($($t:ty => $read:ident),*) => {$(
        impl Column for $t {
            fn column(r: &dyn Row, i: usize) -> Result<Self> {
                $read(r, i)
            }
        }
        impl Column for Option<$t> {
            fn column(r: &dyn Row, i: usize) -> Result<Self> {
                match r.get(i)? {
                    Ref::Null => Ok(None),
                    _ => $read(r, i).map(Some),
                }
            }
        }
        impl FromRow for $t {
            fn from_row(r: &dyn Row) -> Result<Self> {
                $read(r, 0)
            }
        }
        impl FromRow for Option<$t> {
            fn from_row(r: &dyn Row) -> Result<Self> {
                <Option<$t>>::column(r, 0)
            }
        }
    )*};
}
plain_columns!(i64 => int, bool => boolean, f64 => real, String => text, Vec<u8> => blob);

/// A stored enum: its text, read through the enum's `TryFrom<String>`.
fn enum_column<T>(r: &dyn Row, i: usize) -> Result<T>
where
    T: TryFrom<String>,
    T::Error: std::fmt::Display,
{
    T::try_from(text(r, i)?)
        .map_err(|e| Error::Other(format!("decoding column {}: {e}", r.name(i))))
}

macro_rules! enum_columns {
    ($($t:ty),*) => {$(
        impl Column for $t {
            fn column(r: &dyn Row, i: usize) -> Result<Self> {
                enum_column(r, i)
            }
        }
        impl Column for Option<$t> {
            fn column(r: &dyn Row, i: usize) -> Result<Self> {
                match r.get(i)? {
                    Ref::Null => Ok(None),
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

/// `FromRow` for a struct whose fields are the query's columns by name.
#[macro_export]
macro_rules! from_row {
    ($t:ident { $($f:ident),* $(,)? }) => {
        impl $crate::store::sql::FromRow for $t {
            fn from_row(r: &dyn $crate::store::sql::Row) -> $crate::store::Result<Self> {
                use $crate::store::sql::Column;
                let mut _next = 0;
                Ok($t {
                    $($f: {
                        let i = r.index(stringify!($f), _next)?;
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
            fn from_row(r: &dyn Row) -> Result<Self> {
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
