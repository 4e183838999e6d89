//! The store the services hold: SQLite's file (one club, the default) or a
//! PostgreSQL database (`postgres://…`, a chain's servers sharing it). Both
//! answer the same operations, transactions and reads.

use super::postgres::store::{PgReader, PgStore, PgTx};
use super::sqlite::store::{SqliteReader, SqliteStore};
use super::sqlite::writer::Tx as SqliteTx;
use super::{Conn, Done, Error, Result};
use crate::config::Synchronous;
use std::ops::{Deref, DerefMut};

#[derive(Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// An operation's transaction: it holds the write lock from its first
/// statement and answers its commit once durable.
pub enum Tx {
    Sqlite(SqliteTx),
    /// Boxed: it holds its connection.
    Postgres(Box<PgTx>),
}

/// A connection lent for reads.
pub enum Reader {
    Sqlite(SqliteReader),
    Postgres(PgReader),
}

impl Store {
    /// The database `database` names: a PostgreSQL URL, or SQLite's file
    /// (`synchronous` is SQLite's durability; PostgreSQL has its own).
    pub async fn open(database: &str, synchronous: Synchronous) -> anyhow::Result<Self> {
        if super::postgres::is_url(database) {
            Ok(Store::Postgres(PgStore::open(database).await?))
        } else {
            Ok(Store::Sqlite(
                SqliteStore::open(database, synchronous).await?,
            ))
        }
    }

    /// The newest schema version this build knows for the backend.
    pub fn latest_migration(&self) -> i64 {
        match self {
            Store::Sqlite(_) => super::sqlite::migrate::latest(),
            Store::Postgres(_) => super::postgres::migrate::latest(),
        }
    }

    /// Whether the database takes a write now; answers the newest
    /// migration it has applied.
    pub async fn probe(&self) -> Result<i64> {
        match self {
            Store::Sqlite(s) => s.probe().await,
            Store::Postgres(s) => s.probe().await,
        }
    }

    /// Whether other servers may share this database (PostgreSQL's): then
    /// each operation's outcome reaches every server through the outbox
    /// (`service::chain`). A SQLite file has one server.
    pub fn shared(&self) -> bool {
        matches!(self, Store::Postgres(_))
    }

    /// A connection that hears the notifications on `channels` (the
    /// outbox's, and what the servers tell each other).
    pub async fn listen(&self, channels: &[&str]) -> Result<super::postgres::conn::Listener> {
        match self {
            Store::Sqlite(_) => Err(Error::Other("a SQLite file has no channels".into())),
            Store::Postgres(s) => s.listen(channels).await,
        }
    }

    /// The writer's figures, for the server's metrics.
    pub fn writer_stats(&self) -> crate::metrics::WriterStats {
        match self {
            Store::Sqlite(s) => s.writer_stats(),
            Store::Postgres(s) => s.writer_stats(),
        }
    }

    pub async fn write(&self) -> Result<Tx> {
        match self {
            Store::Sqlite(s) => s.write().await.map(Tx::Sqlite),
            Store::Postgres(s) => s.write().await.map(|t| Tx::Postgres(Box::new(t))),
        }
    }

    /// An operation run whole: undone if it fails, answered once durable,
    /// after the callback it returns ran.
    pub async fn run<T, E>(
        &self,
        op: impl FnOnce(&mut Conn) -> Done<T, E> + Send + 'static,
    ) -> std::result::Result<T, E>
    where
        T: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        match self {
            Store::Sqlite(s) => s.run(op).await,
            Store::Postgres(s) => s.run(op).await,
        }
    }

    /// A read-only snapshot: every query in it sees the same committed state.
    pub async fn snapshot(&self) -> Result<Reader> {
        match self {
            Store::Sqlite(s) => s.snapshot().await.map(Reader::Sqlite),
            Store::Postgres(s) => s.snapshot().await.map(Reader::Postgres),
        }
    }

    /// A reader: each query sees what was committed when it ran.
    pub async fn read(&self) -> Result<Reader> {
        match self {
            Store::Sqlite(s) => s.read().await.map(Reader::Sqlite),
            Store::Postgres(s) => s.read().await.map(Reader::Postgres),
        }
    }

    pub async fn close(&self) {
        match self {
            Store::Sqlite(s) => s.close().await,
            Store::Postgres(s) => s.close().await,
        }
    }

    /// A new SQLite database in `dir`, for the store's own tests.
    #[cfg(test)]
    pub(crate) async fn open_in(dir: &tempfile::TempDir) -> Store {
        Store::Sqlite(SqliteStore::open_in(dir).await)
    }

    #[cfg(test)]
    pub(crate) fn cache_misses(&self) -> u64 {
        match self {
            Store::Sqlite(s) => s.cache_misses(),
            Store::Postgres(_) => 0,
        }
    }
}

impl Tx {
    /// Commits and answers once durable.
    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => (*t).commit().await,
        }
    }

    /// Commits, runs `after` once durable (before any later operation's),
    /// and answers.
    pub async fn commit_then(self, after: impl FnOnce() + Send + 'static) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit_then(after).await,
            Tx::Postgres(t) => (*t).commit_then(after).await,
        }
    }

    /// The SQLite connection itself, for the store's own tests.
    #[cfg(test)]
    pub(crate) fn db(&self) -> &super::sqlite::db::Db {
        match self {
            Tx::Sqlite(t) => t.db(),
            Tx::Postgres(_) => panic!("a SQLite test on PostgreSQL"),
        }
    }
}

impl Deref for Tx {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        match self {
            Tx::Sqlite(t) => &**t,
            Tx::Postgres(t) => &***t,
        }
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Conn {
        match self {
            Tx::Sqlite(t) => &mut **t,
            Tx::Postgres(t) => &mut ***t,
        }
    }
}

impl Deref for Reader {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        match self {
            Reader::Sqlite(r) => &**r,
            Reader::Postgres(r) => &**r,
        }
    }
}

impl DerefMut for Reader {
    fn deref_mut(&mut self) -> &mut Conn {
        match self {
            Reader::Sqlite(r) => &mut **r,
            Reader::Postgres(r) => &mut **r,
        }
    }
}
