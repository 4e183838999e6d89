//! Sessions: a new one, the preview's action, the report's and the audit's filters.

use chrono::{DateTime, NaiveDate, Utc};
use club_shared::{Minor, SessionStatus};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSession {
    pub client_id: i64,
    pub device_id: i64,
    /// A holding on the client's balance to play from...
    #[serde(default)]
    pub holding_id: Option<i64>,
    /// ...or a tariff bought for this session from the client's balance.
    #[serde(default)]
    pub tariff_id: Option<i64>,
    /// Bonus to spend when buying `tariff_id` (within the tariff's cap);
    /// 0 with `holding_id`.
    #[serde(default)]
    #[schema(value_type = i64, minimum = 0, maximum = 10_000_000_000_i64)]
    pub bonus_amount: Minor,
    /// Omitted or now: ACTIVE. In the future: a PENDING reservation.
    #[serde(default)]
    pub planned_start_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PreviewAction {
    Cancel,
    End,
}

/// The session report's filters (all optional).
#[derive(Debug, Clone, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionQuery {
    /// PENDING, ACTIVE, STARTED, ENDED or CANCELLED.
    pub status: Option<SessionStatus>,
    pub client_id: Option<i64>,
    pub device_id: Option<i64>,
    /// Sessions this operator created or cancelled.
    pub operator_id: Option<i64>,
    /// Sessions on this club's PCs (staff of one club see only theirs).
    pub club_id: Option<i64>,
    /// Planned start at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Planned start before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Planned start on this club day (YYYY-MM-DD, midnight to midnight on
    /// the club's clock: 23 or 25 hours when the clocks change); with
    /// `from` or `to`, the part of the day they leave.
    pub day: Option<NaiveDate>,
    /// The next page: entries older than this id (the last id of a page).
    #[param(minimum = 1)]
    #[schema(minimum = 1)]
    pub before_id: Option<i64>,
    /// Entries per page, 1..=500 (500 by default).
    #[param(minimum = 1, maximum = 500)]
    #[schema(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// The audit trail's filters (all optional).
#[derive(Debug, Clone, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub session_id: Option<i64>,
    pub operator_id: Option<i64>,
    /// Entries about this club: its PCs and their sessions, its shifts, its
    /// operators' doings (staff of one club read only theirs).
    pub club_id: Option<i64>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Entries of this club day (YYYY-MM-DD, on the club's clock); with
    /// `from` or `to`, the part of the day they leave.
    pub day: Option<NaiveDate>,
    /// The next page: entries older than this id (the last id of a page).
    #[param(minimum = 1)]
    #[schema(minimum = 1)]
    pub before_id: Option<i64>,
    /// Entries per page, 1..=1000 (1000 by default).
    #[param(minimum = 1, maximum = 1000)]
    #[schema(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// The optional body of Start: left out, `null` or `{}` start only on a PC
/// whose agent is connected.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartOptions {
    /// Start although the PC's agent is offline, so that it cannot unlock
    /// (its time runs all the same); the start is audited as forced.
    #[serde(default)]
    pub force: bool,
}
