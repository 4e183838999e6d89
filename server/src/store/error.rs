//! What a store operation can fail with, the same for every backend: the
//! services and the API see these, never a driver's error.

use super::Constraint;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A uniqueness rule of the schema, by name.
    #[error("{}", .0.message())]
    Constraint(Constraint),
    /// A uniqueness rule this server does not know (a schema newer than it).
    #[error("this already exists")]
    Duplicate(String),
    /// The storage failed, not the request: `why` is what the desk is told.
    #[error("the storage failed ({why}): {detail}")]
    Unavailable { why: &'static str, detail: String },
    /// No connection free in time.
    #[error("the database is busy")]
    Busy,
    /// Anything else: a row that does not decode, a statement the schema
    /// refuses. The server's own fault; its text is logged, not sent.
    #[error("{0}")]
    Other(String),
}
