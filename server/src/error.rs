//! One error type for every operation, mapped to HTTP once.

use crate::domain::{PurchaseError, Refusal};
use crate::store;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use club_shared::Permission;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input; the message names the field.
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("missing permission {0}")]
    Forbidden(Permission),
    /// A caller acting outside what it is (a player on another's session).
    #[error("{0}")]
    NotAllowed(String),
    #[error("{0}")]
    NotFound(String),
    /// The operation does not fit the current state; the message names it.
    #[error("{0}")]
    Conflict(String),
    /// Too much at once (e.g. sign-ins waiting for a password check):
    /// 503 with Retry-After.
    #[error("{0}")]
    Busy(String),
    /// The database cannot take the change now (disk full, I/O error, a
    /// file it may not write): 503 with Retry-After. Nothing was changed.
    #[error("{0}")]
    StorageUnavailable(String),
    /// A request body over the limit: 413.
    #[error("{0}")]
    TooLarge(String),
    /// Too many failed attempts: 429 with Retry-After (seconds).
    #[error("{message}")]
    TooMany { message: String, retry_after: u64 },
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn bad(field: &str, why: impl std::fmt::Display) -> Self {
        Error::BadRequest(format!("{field}: {why}"))
    }

    pub fn not_found(what: &str, id: i64) -> Self {
        Error::NotFound(format!("{what} {id} not found"))
    }

    pub fn status_code(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) | Error::NotAllowed(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Busy(_) | Error::StorageUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "bad_request",
            Error::Unauthorized(_) => "unauthorized",
            Error::Forbidden(_) | Error::NotAllowed(_) => "forbidden",
            Error::NotFound(_) => "not_found",
            Error::TooLarge(_) => "payload_too_large",
            Error::Conflict(_) => "conflict",
            Error::Busy(_) => "busy",
            Error::StorageUnavailable(_) => "storage_unavailable",
            Error::TooMany { .. } => "too_many_attempts",
            Error::Internal(_) => "internal",
        }
    }
}

impl From<store::Error> for Error {
    fn from(e: store::Error) -> Self {
        match e {
            store::Error::Constraint(rule) => Error::Conflict(rule.message().to_owned()),
            store::Error::Duplicate(detail) => {
                tracing::warn!(%detail, "a uniqueness rule this server does not know");
                Error::Conflict("this already exists".to_owned())
            }
            store::Error::Unavailable { why, detail } => {
                tracing::error!(%detail, "storage fault");
                Error::StorageUnavailable(unavailable(why))
            }
            store::Error::Busy => Error::Busy("the database is busy; try again in a moment".into()),
            store::Error::Other(detail) => Error::Internal(anyhow::anyhow!(detail)),
        }
    }
}

fn unavailable(why: &str) -> String {
    format!("the club's database cannot take changes right now ({why}); nothing was changed, try again shortly")
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        Error::Conflict(r.to_string())
    }
}

impl From<PurchaseError> for Error {
    fn from(e: PurchaseError) -> Self {
        match e {
            PurchaseError::BonusOverCap { .. }
            | PurchaseError::BonusOverPrice { .. }
            | PurchaseError::NotEnoughBonus { .. } => Error::BadRequest(e.to_string()),
            PurchaseError::NotEnoughMoney { .. } => Error::Conflict(e.to_string()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Error::Internal(e) = &self {
            // Never sent to the client: it may carry SQL or paths.
            tracing::error!(error = ?e, "internal error");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message: self.to_string(),
            },
        };
        let mut res = (self.status_code(), Json(body)).into_response();
        let retry_after = match &self {
            Error::Busy(_) => Some(1),
            Error::StorageUnavailable(_) => Some(5),
            Error::TooMany { retry_after, .. } => Some(*retry_after),
            _ => None,
        };
        if let Some(secs) = retry_after {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_names_the_permission() {
        let e = Error::Forbidden(Permission::SessionDelete);
        assert_eq!(e.status_code(), StatusCode::FORBIDDEN);
        assert_eq!(e.to_string(), "missing permission SessionDelete");
    }
}
