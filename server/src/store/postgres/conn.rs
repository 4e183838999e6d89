//! One PostgreSQL connection as the store's areas use it ([`Sql`]): the
//! areas' `?` placeholders become `$N`, statements are prepared once per
//! connection, arguments are encoded as the column's type asks, and rows
//! decode through the same [`Row`] as SQLite's.
//!
//! The areas' functions are synchronous (SQLite runs them where they are
//! called). A connection is linked one of two ways:
//!
//! - **shared**: its socket is driven by a runtime of its own, on the
//!   `pg-io` thread; a statement's caller waits for its answer wherever it
//!   is, on any thread and runtime (a reader in a request, an async
//!   transaction);
//! - **own**: PostgreSQL's synchronous client, whose socket the waiting
//!   thread drives itself: no other thread of this process wakes for an
//!   answer. Only for a blocking thread (an operation run whole): it cannot
//!   wait inside an async task, nor be dropped there (see `Drop`).

use crate::store::sql::cache::Cache;
use crate::store::sql::{Error, Ref, Result, Row, Sql, ToArg};
use bytes::BytesMut;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use tokio_postgres::{Client, Statement};

/// Prepared statements a connection keeps: every query the store has,
/// with room for the filters' variants.
const STATEMENT_CACHE: usize = 512;

/// The runtime that drives every PostgreSQL socket of the server.
pub(super) fn io() -> &'static tokio::runtime::Handle {
    static IO: OnceLock<tokio::runtime::Handle> = OnceLock::new();
    IO.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("pg-io")
            .enable_all()
            .build()
            .expect("starting the PostgreSQL runtime");
        let handle = rt.handle().clone();
        // It lives as long as the process: every connection needs it.
        std::mem::forget(rt);
        handle
    })
}

/// Opens a connection to `url`; its socket runs on the `pg-io` runtime.
pub(super) async fn connect(url: &str) -> Result<Client> {
    let url = url.to_owned();
    io().spawn(async move {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "a PostgreSQL connection ended");
            }
        });
        Ok(client)
    })
    .await
    .map_err(|e| Error::Other(format!("connecting to PostgreSQL: {e}")))?
}

/// A notification a [`Listener`] heard.
#[derive(Debug)]
pub struct Notice {
    pub channel: String,
    pub payload: String,
}

/// Notifications a listener holds for its holder at most; more are
/// dropped (the holder reads the tables behind them anyway).
const NOTICES: usize = 1024;

/// A connection that listens on channels (`LISTEN`): it hands its holder
/// each notification, and tells when the connection is lost.
pub struct Listener {
    /// Held: dropping it closes the connection.
    _client: Client,
    notices: tokio::sync::mpsc::Receiver<Notice>,
}

impl Listener {
    /// Opens a connection to `url` that listens on `channels`.
    pub(super) async fn open(url: &str, channels: &[&str]) -> Result<Listener> {
        let url = url.to_owned();
        let listen: String = channels.iter().map(|c| format!("LISTEN {c};")).collect();
        io().spawn(async move {
            let (client, mut connection) =
                tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
            let (tell, notices) = tokio::sync::mpsc::channel(NOTICES);
            tokio::spawn(async move {
                let mut messages = futures_util::stream::poll_fn(|cx| connection.poll_message(cx));
                while let Some(message) = futures_util::StreamExt::next(&mut messages).await {
                    match message {
                        Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                            let _ = tell.try_send(Notice {
                                channel: n.channel().to_owned(),
                                payload: n.payload().to_owned(),
                            });
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "the listening connection ended");
                            break;
                        }
                    }
                }
            });
            client.batch_execute(&listen).await?;
            Ok(Listener {
                _client: client,
                notices,
            })
        })
        .await
        .map_err(|e| Error::Other(format!("connecting to PostgreSQL: {e}")))?
    }

    /// The next notification; none once the connection is lost.
    pub async fn next(&mut self) -> Option<Notice> {
        self.notices.recv().await
    }

    /// A notification already heard, if any.
    pub fn try_next(&mut self) -> Option<Notice> {
        self.notices.try_recv().ok()
    }
}

/// Waits for a statement's answer on this thread.
pub(super) fn wait<T>(
    f: impl std::future::Future<Output = std::result::Result<T, tokio_postgres::Error>>,
) -> Result<T> {
    Ok(futures_executor::block_on(f)?)
}

/// How a connection reaches PostgreSQL (see the module).
pub(super) enum Link {
    Shared(Client),
    /// `None` only while it is dropped.
    Own(RefCell<Option<postgres::Client>>),
}

impl Link {
    fn own(c: &RefCell<Option<postgres::Client>>) -> std::cell::RefMut<'_, postgres::Client> {
        std::cell::RefMut::map(c.borrow_mut(), |c| c.as_mut().expect("a live connection"))
    }
}

/// A connection of the store: an operation's or a reader's.
///
/// It keeps no cache of rarely changing reads: another server on the
/// database may change them.
pub struct PgDb {
    pub(super) link: Link,
    statements: RefCell<HashMap<String, Statement>>,
}

impl PgDb {
    pub(super) fn new(client: Client) -> Self {
        Self::linked(Link::Shared(client))
    }

    /// A connection of its own, for a blocking thread.
    pub(super) fn own(url: &str) -> Result<Self> {
        let client = postgres::Client::connect(url, tokio_postgres::NoTls)?;
        Ok(Self::linked(Link::Own(RefCell::new(Some(client)))))
    }

    fn linked(link: Link) -> Self {
        PgDb {
            link,
            statements: RefCell::new(HashMap::new()),
        }
    }

    /// The shared client, for the async transaction's own statements.
    pub(super) fn shared(&self) -> &Client {
        match &self.link {
            Link::Shared(c) => c,
            Link::Own(_) => unreachable!("an own connection in an async transaction"),
        }
    }

    pub(super) fn is_closed(&self) -> bool {
        match &self.link {
            Link::Shared(c) => c.is_closed(),
            Link::Own(c) => c.borrow().as_ref().is_none_or(|c| c.is_closed()),
        }
    }

    /// Statements without parameters (transaction control), waited for
    /// here.
    pub(super) fn batch(&self, sql: &str) -> Result<()> {
        match &self.link {
            Link::Shared(c) => wait(c.batch_execute(sql)),
            Link::Own(c) => Ok(Link::own(c).batch_execute(sql)?),
        }
    }

    fn statement(&self, sql: &str) -> Result<Statement> {
        if let Some(st) = self.statements.borrow().get(sql) {
            return Ok(st.clone());
        }
        let st = match &self.link {
            Link::Shared(c) => wait(c.prepare(&placeholders(sql)))?,
            Link::Own(c) => Link::own(c).prepare(&placeholders(sql))?,
        };
        let mut kept = self.statements.borrow_mut();
        if kept.len() >= STATEMENT_CACHE {
            kept.clear();
        }
        kept.insert(sql.to_owned(), st.clone());
        Ok(st)
    }

    /// `call` with the statement for `sql`, `args` encoded for it, and
    /// the connection.
    fn with<R>(
        &self,
        sql: &str,
        args: &[&dyn ToArg],
        call: impl FnOnce(&Link, &Statement, &[&(dyn ToSql + Sync)]) -> Result<R>,
    ) -> Result<R> {
        let st = self.statement(sql)?;
        let args: Vec<PgArg<'_>> = args.iter().map(|a| PgArg(a.arg())).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a as _).collect();
        call(&self.link, &st, &refs)
    }

    fn query(&self, sql: &str, args: &[&dyn ToArg]) -> Result<Vec<tokio_postgres::Row>> {
        self.with(sql, args, |link, st, args| match link {
            Link::Shared(c) => wait(c.query(st, args)),
            Link::Own(c) => Ok(Link::own(c).query(st, args)?),
        })
    }
}

impl Drop for PgDb {
    /// An own connection holds a runtime, which may not be dropped inside
    /// an async task: it goes on a thread of its own.
    fn drop(&mut self) {
        if let Link::Own(c) = &mut self.link {
            if let Some(client) = c.get_mut().take() {
                let _ = std::thread::Builder::new()
                    .name("pg-close".into())
                    .spawn(move || drop(client));
            }
        }
    }
}

impl Sql for PgDb {
    fn run(&self, sql: &str, args: &[&dyn ToArg]) -> Result<usize> {
        let n = self.with(sql, args, |link, st, args| match link {
            Link::Shared(c) => wait(c.execute(st, args)),
            Link::Own(c) => Ok(Link::own(c).execute(st, args)?),
        })?;
        Ok(n as usize)
    }

    fn insert(&self, sql: &str, args: &[&dyn ToArg]) -> Result<i64> {
        let rows = self.query(&format!("{sql} RETURNING id"), args)?;
        match rows.first() {
            Some(r) => Ok(r.try_get::<_, i64>(0)?),
            None => Err(Error::Other(format!("no id answered {sql}"))),
        }
    }

    fn rows(
        &self,
        sql: &str,
        args: &[&dyn ToArg],
        each: &mut dyn FnMut(&dyn Row) -> Result<bool>,
    ) -> Result<()> {
        for r in self.query(sql, args)? {
            if !each(&PgRow(&r))? {
                break;
            }
        }
        Ok(())
    }

    fn cache(&self) -> Option<&Cache> {
        None
    }

    fn wrote_cached(&self) -> bool {
        false
    }

    fn writes_cached(&mut self) {}
}

/// The areas' placeholders as PostgreSQL writes them: `?N` is `$N`, a bare
/// `?` is one more than the largest number before it (SQLite's rule).
/// Text in quotes is left alone.
pub(super) fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let (mut chars, mut largest, mut quoted) = (sql.chars().peekable(), 0u32, false);
    while let Some(c) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c != '?' || quoted {
            out.push(c);
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        let n = match digits.parse::<u32>() {
            Ok(n) => n,
            Err(_) => largest + 1,
        };
        largest = largest.max(n);
        out.push('$');
        out.push_str(&n.to_string());
    }
    out
}

/// An argument encoded as the statement's parameter type asks: integers
/// for integer columns, text for text, and so on.
#[derive(Debug)]
struct PgArg<'a>(Ref<'a>);

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for PgArg<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> std::result::Result<IsNull, BoxError> {
        match self.0 {
            Ref::Null => Ok(IsNull::Yes),
            Ref::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(v)?.to_sql(ty, out),
                Type::BOOL => (v != 0).to_sql(ty, out),
                Type::FLOAT8 => (v as f64).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => v.to_string().as_str().to_sql(ty, out),
                _ => Err(format!("an integer for a parameter of type {ty}").into()),
            },
            Ref::Real(v) => match *ty {
                Type::FLOAT8 => v.to_sql(ty, out),
                Type::FLOAT4 => (v as f32).to_sql(ty, out),
                _ => Err(format!("a real number for a parameter of type {ty}").into()),
            },
            Ref::Text(v) => v.to_sql(ty, out),
            Ref::Blob(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A row PostgreSQL answered.
struct PgRow<'r>(&'r tokio_postgres::Row);

impl PgRow<'_> {
    fn decode<'a, T: FromSql<'a>>(&'a self, i: usize) -> Result<Option<T>> {
        self.0
            .try_get::<_, Option<T>>(i)
            .map_err(|e| Error::Other(format!("decoding column {}: {e}", self.name(i))))
    }
}

impl Row for PgRow<'_> {
    fn index(&self, name: &str, at: usize) -> Result<usize> {
        let columns = self.0.columns();
        if columns.get(at).is_some_and(|c| c.name() == name) {
            return Ok(at);
        }
        columns
            .iter()
            .position(|c| c.name() == name)
            .ok_or_else(|| Error::Other(format!("no column {name} in the row")))
    }

    fn name(&self, i: usize) -> &str {
        self.0.columns().get(i).map_or("?", |c| c.name())
    }

    fn get(&self, i: usize) -> Result<Ref<'_>> {
        let ty = self
            .0
            .columns()
            .get(i)
            .map(|c| c.type_().clone())
            .ok_or_else(|| Error::Other(format!("no column {i} in the row")))?;
        let value = match ty {
            Type::INT8 => self.decode::<i64>(i)?.map(Ref::Int),
            Type::INT4 => self.decode::<i32>(i)?.map(|v| Ref::Int(v.into())),
            Type::INT2 => self.decode::<i16>(i)?.map(|v| Ref::Int(v.into())),
            Type::BOOL => self.decode::<bool>(i)?.map(|v| Ref::Int(v.into())),
            Type::NUMERIC => self.decode::<Numeric>(i)?.map(|v| Ref::Int(v.0)),
            Type::FLOAT8 => self.decode::<f64>(i)?.map(Ref::Real),
            Type::FLOAT4 => self.decode::<f32>(i)?.map(|v| Ref::Real(v.into())),
            Type::BYTEA => self.decode::<&[u8]>(i)?.map(Ref::Blob),
            _ => self.decode::<&str>(i)?.map(Ref::Text),
        };
        Ok(value.unwrap_or(Ref::Null))
    }
}

/// A whole NUMERIC, as PostgreSQL answers a SUM of integers.
struct Numeric(i64);

impl<'a> FromSql<'a> for Numeric {
    fn from_sql(_: &Type, raw: &'a [u8]) -> std::result::Result<Self, BoxError> {
        let word = |k: usize| -> std::result::Result<i16, BoxError> {
            let b = raw.get(2 * k..2 * k + 2).ok_or("a short NUMERIC")?;
            Ok(i16::from_be_bytes([b[0], b[1]]))
        };
        let (digits, weight, sign) = (word(0)?, word(1)?, word(2)? as u16);
        let mut value: i64 = 0;
        for k in 0..digits.max(0) as usize {
            let digit = i64::from(word(4 + k)?);
            let power = i32::from(weight) - k as i32;
            if power < 0 {
                if digit != 0 {
                    return Err("a NUMERIC with a fraction where a whole number belongs".into());
                }
                continue;
            }
            let scaled = 10_000i64
                .checked_pow(power as u32)
                .and_then(|p| digit.checked_mul(p))
                .ok_or("a NUMERIC too large for 64 bits")?;
            value = value
                .checked_add(scaled)
                .ok_or("a NUMERIC too large for 64 bits")?;
        }
        match sign {
            0x0000 => Ok(Numeric(value)),
            0x4000 => Ok(Numeric(-value)),
            _ => Err("a NUMERIC that is not a number".into()),
        }
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_as_sqlite_numbers_them() {
        assert_eq!(placeholders("a = ? AND b = ?"), "a = $1 AND b = $2");
        assert_eq!(
            placeholders("x > ?1 AND y <= ?1 LIMIT ?2"),
            "x > $1 AND y <= $1 LIMIT $2"
        );
        assert_eq!(placeholders("?2, ?"), "$2, $3");
        assert_eq!(placeholders("'what?' = ?"), "'what?' = $1");
    }

    /// PostgreSQL's binary NUMERIC: digit count, weight, sign, scale, then
    /// base-10000 digits.
    fn numeric(weight: i16, sign: u16, scale: i16, digits: &[i16]) -> Vec<u8> {
        let mut raw = Vec::new();
        for w in [digits.len() as i16, weight, sign as i16, scale] {
            raw.extend_from_slice(&w.to_be_bytes());
        }
        for d in digits {
            raw.extend_from_slice(&d.to_be_bytes());
        }
        raw
    }

    #[test]
    fn a_sum_read_as_numeric_is_the_whole_number_or_an_error() {
        let read = |raw: Vec<u8>| Numeric::from_sql(&Type::NUMERIC, &raw).map(|n| n.0);
        assert_eq!(read(numeric(1, 0, 0, &[1234, 5678])).unwrap(), 12_345_678);
        assert_eq!(read(numeric(0, 0x4000, 0, &[42])).unwrap(), -42);
        assert_eq!(read(numeric(2, 0, 0, &[7])).unwrap(), 700_000_000);
        assert_eq!(read(numeric(0, 0, 0, &[])).unwrap(), 0);
        assert_eq!(
            read(numeric(0, 0, 2, &[5, 0])).unwrap(),
            5,
            "a zero fraction"
        );
        assert!(
            read(numeric(0, 0, 2, &[5, 5000])).is_err(),
            "5.5 is no integer"
        );
        assert!(read(numeric(0, 0xC000, 0, &[])).is_err(), "NaN");
        assert!(read(numeric(5, 0, 0, &[9999])).is_err(), "past 64 bits");
        assert!(read(vec![0, 1]).is_err(), "cut short");
    }
}
