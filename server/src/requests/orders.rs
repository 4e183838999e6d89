//! Refunds and extra charges of orders.

use club_shared::Minor;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundMethod {
    /// Back onto the client's balance.
    Balance,
    /// Paid out at the desk.
    Cash,
    Card,
}

impl RefundMethod {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Balance => "balance",
            Self::Cash => "cash",
            Self::Card => "card",
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRefund {
    /// Minor units, at most what is left to refund on the order.
    #[schema(value_type = i64, minimum = 1)]
    pub amount: Minor,
    pub method: RefundMethod,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtraCharge {
    pub client_id: i64,
    /// A session of this client.
    #[serde(default)]
    pub session_id: Option<i64>,
    #[schema(value_type = i64, minimum = 1)]
    pub amount: Minor,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub reason: String,
}

/// Opening a shift: the cash float counted in the till.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenShift {
    /// Minor units counted in the till at the start.
    #[schema(value_type = i64, minimum = 0, maximum = 1000000000)]
    pub opening_cash: Minor,
    /// The club whose desk this is. An operator of one club opens shifts
    /// in it; the chain's staff name the club when the chain has more
    /// than one.
    #[serde(default)]
    pub club_id: Option<i64>,
}

/// Closing a shift: the cash counted in the till at the end.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseShift {
    /// Minor units counted in the till; compared with the expected cash.
    #[schema(value_type = i64, minimum = 0, maximum = 1000000000)]
    pub counted_cash: Minor,
}

/// Which shifts to list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ShiftQuery {
    /// One operator's shifts.
    pub operator_id: Option<i64>,
    /// One club's shifts (an operator of one club sees only theirs).
    pub club_id: Option<i64>,
    /// The next page: shifts older than this one.
    pub before_id: Option<i64>,
    /// 1..500, 50 by default.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// Which orders to list, newest first.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OrderQuery {
    pub client_id: Option<i64>,
    /// Orders of this club: taken in its shifts, for its sessions, or by
    /// its operators (staff of one club see only theirs).
    pub club_id: Option<i64>,
    /// The orders taken in this shift.
    pub shift_id: Option<i64>,
    /// At or after (RFC 3339).
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Before (RFC 3339).
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// The next page: orders older than this one.
    #[param(minimum = 1)]
    pub before_id: Option<i64>,
    /// 1..500, 500 by default.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}
