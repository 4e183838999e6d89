//! All SQL lives here, behind functions named for what they do. SQLite in WAL
//! mode: one writer connection (write transactions are BEGIN IMMEDIATE and
//! group-committed, see `writer`), and a pool of readers that never wait
//! behind the writer.

mod audit;
mod builds;
mod clients;
mod constraint;
mod hall;
mod orders;
mod schedule;
mod sessions;
mod settings;
mod staff;
mod tariffs;
mod writer;

pub use audit::*;
pub use builds::*;
pub use clients::*;
pub use constraint::Constraint;
pub use hall::*;
pub use orders::*;
pub use schedule::*;
pub use sessions::*;
pub use settings::*;
pub use staff::*;
pub use tariffs::*;
pub use writer::Tx;

use crate::config::Synchronous;
use chrono::{DateTime, TimeZone, Utc};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Sqlite, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

pub use sqlx::SqliteConnection as Conn;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Clone)]
pub struct Store {
    writer: writer::Writer,
    reader: SqlitePool,
}

impl Store {
    pub async fn open(database: &str, synchronous: Synchronous) -> anyhow::Result<Self> {
        let url = if database.starts_with("sqlite:") {
            database.to_owned()
        } else {
            format!("sqlite://{database}")
        };
        let sync = match synchronous {
            Synchronous::Full => SqliteSynchronous::Full,
            Synchronous::Normal => SqliteSynchronous::Normal,
            Synchronous::Off => SqliteSynchronous::Off,
        };
        let base = SqliteConnectOptions::from_str(&url)?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(sync)
            .foreign_keys(true)
            // Only a checkpoint or a reader racing the WAL index can wait here.
            .busy_timeout(Duration::from_secs(10));
        let unwritable = |e: sqlx::Error| {
            anyhow::anyhow!(
                "the database cannot be written ({e}): check that the account the server runs as \
                 owns the file and its directory, that the disk is not full and not mounted read-only"
            )
        };
        let mut writer =
            sqlx::SqliteConnection::connect_with(&base.clone().create_if_missing(true))
                .await
                .map_err(unwritable)?;
        probe_writable(&mut writer).await.map_err(unwritable)?;
        MIGRATOR.run(&mut writer).await?;
        let writer = writer::Writer::new(writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(base.read_only(true))
            .await?;
        Ok(Store { writer, reader })
    }

    /// An operation's write transaction: it holds the write lock from its
    /// first statement and answers its commit once durable.
    pub async fn write(&self) -> sqlx::Result<Tx> {
        self.writer.begin().await
    }

    /// A read-only snapshot: every query in it sees the same committed state.
    pub async fn snapshot(&self) -> sqlx::Result<sqlx::Transaction<'static, Sqlite>> {
        self.reader.begin().await
    }

    pub async fn read(&self) -> sqlx::Result<PoolConnection<Sqlite>> {
        self.reader.acquire().await
    }

    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

/// A real committed write, so a file the server cannot write (a read-only
/// file, directory or mount, a full disk) stops it at start, not at the
/// first operation: SQLite opens such a file read-only without a word.
async fn probe_writable(c: &mut Conn) -> sqlx::Result<()> {
    let version: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut *c)
        .await?;
    sqlx::query(&format!("PRAGMA user_version = {version}"))
        .execute(&mut *c)
        .await
        .map(drop)
}

/// Times are stored as unix milliseconds.
pub fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

pub fn at_opt(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.map(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored value that is none of its enum's is an error when read,
    /// never taken for some default (a refund policy read as "keep the
    /// balance" would pay money out).
    #[tokio::test]
    async fn an_unknown_stored_value_is_an_error_not_a_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("club.db");
        let store = Store::open(path.to_str().unwrap(), Synchronous::Normal)
            .await
            .unwrap();
        let mut tx = store.write().await.unwrap();
        for (name, policy) in [("good", "burn"), ("bad", "refund_everything")] {
            sqlx::query(
                "INSERT INTO tariffs (name, duration_seconds, price, refund_policy, created_at, \
                 updated_at) VALUES (?, 3600, 100, ?, 0, 0)",
            )
            .bind(name)
            .bind(policy)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        let mut c = store.read().await.unwrap();
        let good = get_tariff(&mut c, 1).await.unwrap().unwrap();
        assert_eq!(good.refund_policy, club_shared::RefundPolicy::Burn);
        let e = get_tariff(&mut c, 2).await.expect_err("refused");
        assert!(
            e.to_string().contains("decoding column refund_policy"),
            "{e}"
        );
        assert!(
            list_tariffs(&mut c).await.is_err(),
            "a list with it fails too"
        );
    }
}
