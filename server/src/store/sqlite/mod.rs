//! The SQLite backend of the store's interface: a connection
//! ([`Db`](db::Db)) the areas' SQL runs on, the group-committing writer,
//! and SQLite's errors read into the store's.

pub(crate) mod db;
pub(crate) mod migrate;
pub(crate) mod store;
pub(crate) mod writer;

use crate::store::error::Error;
use crate::store::Constraint;

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        let rusqlite::Error::SqliteFailure(failure, message) = &e else {
            return Error::Other(e.to_string());
        };
        let code = failure.extended_code;
        if code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        {
            let message = message.clone().unwrap_or_default();
            return match Constraint::from_sqlite(&message) {
                Some(rule) => Error::Constraint(rule),
                None => Error::Duplicate(message),
            };
        }
        match storage_fault(code) {
            Some(why) => Error::Unavailable {
                why,
                detail: e.to_string(),
            },
            None => Error::Other(e.to_string()),
        }
    }
}

/// SQLite's primary result codes that mean the storage, not the request,
/// failed: https://sqlite.org/rescode.html
fn storage_fault(extended_code: i32) -> Option<&'static str> {
    Some(match extended_code & 0xff {
        5 | 6 => "the database is locked by another program",
        7 => "out of memory",
        8 => "the database file is read-only",
        10 => "the disk failed to read or write",
        13 => "the disk is full",
        14 => "the database file cannot be opened",
        15 => "the database lock failed",
        _ => return None,
    })
}
