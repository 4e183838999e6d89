//! The PostgreSQL backend of the store's interface (`--database
//! postgres://…`): a connection ([`PgDb`](conn::PgDb)) the areas' SQL runs
//! on, pools of them, operations serialised by an advisory lock, its own
//! migrations, and PostgreSQL's errors read into the store's.

pub(crate) mod conn;
pub(crate) mod migrate;
mod sequencer;
pub(crate) mod store;
mod values;

use crate::store::error::Error;
use crate::store::Constraint;
use tokio_postgres::error::SqlState;

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        let Some(db) = e.as_db_error() else {
            return if e.is_closed() {
                Error::Unavailable {
                    why: "the connection to the database server was lost",
                    detail: e.to_string(),
                }
            } else {
                Error::Other(e.to_string())
            };
        };
        let code = db.code();
        if *code == SqlState::UNIQUE_VIOLATION {
            return match db.constraint().and_then(Constraint::from_name) {
                Some(rule) => Error::Constraint(rule),
                None => Error::Duplicate(db.message().to_owned()),
            };
        }
        let why = match code.code() {
            "53100" => "the disk is full",
            "53200" => "out of memory",
            "53300" => "the database server has no connection free",
            "57P01" | "57P02" | "57P03" => "the database server is shutting down or starting",
            c if c.starts_with("08") => "the connection to the database server was lost",
            c if c.starts_with("58") => "the disk failed to read or write",
            _ => return Error::Other(db.to_string()),
        };
        Error::Unavailable {
            why,
            detail: db.to_string(),
        }
    }
}

/// Whether `database` names a PostgreSQL database rather than a file.
pub fn is_url(database: &str) -> bool {
    database.starts_with("postgres://") || database.starts_with("postgresql://")
}
