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

use super::values::{placeholders, PgArg, PgRow};
use crate::store::sql::cache::Cache;
use crate::store::sql::{Error, Result, Row, Sql, ToArg};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;
use tokio_postgres::types::ToSql;
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
