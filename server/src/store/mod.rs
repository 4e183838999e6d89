//! All SQL lives here, behind functions named for what they do. SQLite in WAL
//! mode: one writer connection (write transactions are BEGIN IMMEDIATE and
//! group-committed, see `writer`), and a pool of readers that never wait
//! behind the writer.

mod audit;
mod backend;
mod builds;
mod chain;
mod clients;
mod constraint;
mod error;
mod hall;
mod orders;
pub(crate) mod postgres;
mod schedule;
mod sessions;
mod settings;
pub(crate) mod sql;
pub(crate) mod sqlite;
mod staff;
mod tariffs;

pub use audit::*;
pub use backend::{Reader, Store, Tx};
pub use builds::*;
pub use chain::*;
pub use clients::*;
pub use constraint::Constraint;
pub use error::{Error, Result};
pub use hall::*;
pub use orders::*;
pub use postgres::is_url as is_postgres_url;
pub use postgres::store::redacted as redacted_database;
pub use schedule::*;
pub use sessions::*;
pub use settings::*;
pub use sqlite::store::{hold, lock_file};

/// The newest schema version this build knows on SQLite.
pub fn latest_migration() -> i64 {
    sqlite::migrate::latest()
}
pub use sqlite::writer::{AfterCommit, Done};
pub use staff::*;
pub use tariffs::*;

use chrono::{DateTime, TimeZone, Utc};

/// The store's interface: everything the club keeps, by area, as any
/// backend answers it. The services see only this (and the row types);
/// `sqlite` implements it on a SQLite connection.
pub trait Club:
    AuditLog
    + AgentBuilds
    + Chain
    + Clients
    + Hall
    + Orders
    + Schedule
    + Sessions
    + Settings
    + Staff
    + Tariffs
{
}

impl<T> Club for T where
    T: AuditLog
        + AgentBuilds
        + Chain
        + Clients
        + Hall
        + Orders
        + Schedule
        + Sessions
        + Settings
        + Staff
        + Tariffs
        + ?Sized
{
}

/// One connection of the store as the services hold it: the writer's
/// transaction or a reader.
pub type Conn = dyn Club + Send;

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
    use crate::store::sql::Sql;

    /// A stored value that is none of its enum's is an error when read,
    /// never taken for some default (a refund policy read as "keep the
    /// balance" would pay money out).
    #[tokio::test]
    async fn an_unknown_stored_value_is_an_error_not_a_default() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(&dir).await;
        let tx = store.write().await.unwrap();
        for (name, policy) in [("good", "burn"), ("bad", "refund_everything")] {
            tx.db().run(
                "INSERT INTO tariffs (name, duration_seconds, price, refund_policy, created_at, \
                 updated_at) VALUES (?, 3600, 100, ?, 0, 0)",
                crate::args![name, policy],
            )
            .unwrap();
        }
        tx.commit().await.unwrap();
        let mut c = store.read().await.unwrap();
        let good = c.get_tariff(1).unwrap().unwrap();
        assert_eq!(good.refund_policy, club_shared::RefundPolicy::Burn);
        let e = c.get_tariff(2).expect_err("refused");
        assert!(
            e.to_string().contains("decoding column refund_policy"),
            "{e}"
        );
        assert!(c.list_tariffs().is_err(), "a list with it fails too");
    }
}
