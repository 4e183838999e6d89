//! The shapes the REST API answers with and the hall feed carries (API.md,
//! "Shapes that scripts rely on").

use crate::types::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use crate::metrics::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HoldingView {
    pub id: i64,
    pub tariff_id: i64,
    pub total_seconds: i64,
    pub remaining_seconds: i64,
    pub price_paid: Minor,
    /// The part of `price_paid` not yet used, burned or converted.
    pub value_remaining: Minor,
    pub purchased_at: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    /// `available`, `in_use` (reserved by a live session), `used_up` or `expired`.
    pub status: crate::types::HoldingStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClientView {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub auto_renewal: bool,
    pub balance: Minor,
    pub bonus_balance: Minor,
    pub has_pin: bool,
    pub holdings: Vec<HoldingView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LedgerEntryView {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub account: Account,
    /// Signed: positive credits the balance.
    pub amount: Minor,
    pub kind: String,
    pub order_id: Option<i64>,
    pub session_id: Option<i64>,
    pub operator_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SegmentView {
    pub id: i64,
    pub holding_id: i64,
    pub tariff_id: i64,
    pub tariff_name: String,
    /// Set when the session starts (or when the segment is added to a running session).
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// When the segment stopped being the current one; null while it runs.
    pub closed_at: Option<DateTime<Utc>>,
    pub seconds_used: Option<i64>,
    pub refund_policy: RefundPolicy,
    pub max_bonus_percent: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BindingView {
    pub device_id: i64,
    pub planned_start_at: DateTime<Utc>,
    pub actual_start_at: Option<DateTime<Utc>>,
    pub actual_end_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PriceCorrectionView {
    pub delta: Minor,
    pub reason: String,
    pub operator_id: Option<i64>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReceiptLine {
    pub segment_id: i64,
    pub tariff_id: i64,
    pub tariff_name: String,
    pub seconds_used: i64,
    /// The value of the time used: what the client is charged for it.
    pub amount: Minor,
    /// The refund policy applied to the unused time at this end (none for
    /// a natural end, or a segment a switch closed before).
    #[serde(default)]
    pub refund_policy: Option<RefundPolicy>,
    #[serde(default)]
    pub unused_seconds: i64,
    /// Unused time that stays on the client's holding for a later visit.
    #[serde(default)]
    pub kept_seconds: i64,
    /// Unused time converted to bonus, and the value voided by burn.
    #[serde(default)]
    pub bonus: Minor,
    #[serde(default)]
    pub burned: Minor,
}

/// A price correction as the receipt lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReceiptCorrection {
    /// Signed: positive charges the client, negative credits them.
    pub delta: Minor,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// Billing by actual usage, made on every end: each segment's time and
/// what happened to its unused part, the corrections, and the sums.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Receipt {
    pub session_id: i64,
    /// `manual` (staff ended it) or `natural` (time ran out).
    pub end_kind: String,
    pub ended_at: DateTime<Utc>,
    pub lines: Vec<ReceiptLine>,
    /// The sum of the corrections, and each of them.
    pub corrections: Minor,
    #[serde(default)]
    pub correction_lines: Vec<ReceiptCorrection>,
    /// The time played: the sum of the lines' amounts.
    #[serde(default)]
    pub time_charged: Minor,
    /// What the refund policies returned: bonus, time kept on holdings.
    #[serde(default)]
    pub bonus_returned: Minor,
    #[serde(default)]
    pub kept_seconds: i64,
    #[serde(default)]
    pub burned: Minor,
    /// Time charged plus corrections, never below zero...
    pub total: Minor,
    /// ...and what the corrections credited beyond the time played (they
    /// were paid onto the client's balance when made).
    #[serde(default)]
    pub credited: Minor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SessionView {
    pub id: i64,
    pub client_id: i64,
    pub client_name: String,
    pub device_id: i64,
    /// The PC's name beside its id.
    #[serde(default)]
    pub device_name: String,
    /// Its PC's club: a session stays in one club.
    #[serde(default = "first_club")]
    pub club_id: i64,
    pub status: SessionStatus,
    pub planned_start_at: DateTime<Utc>,
    pub actual_start_at: Option<DateTime<Utc>>,
    pub actual_end_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancelled_by: Option<i64>,
    /// The login of the operator who cancelled it.
    #[serde(default)]
    pub cancelled_by_login: Option<String>,
    pub end_kind: Option<String>,
    pub segments: Vec<SegmentView>,
    pub bindings: Vec<BindingView>,
    pub price_corrections: Vec<PriceCorrectionView>,
    pub receipt: Option<Receipt>,
    /// What the session allows now, by the server's state machine and its
    /// cancel rule (the operator page shows its buttons by this).
    #[serde(default)]
    pub actions: SessionActions,
}

/// The operations a session allows now (permissions aside).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SessionActions {
    pub start: bool,
    pub cancel: bool,
    pub end: bool,
}

/// A tariff still to run in a live session: its span once the session has
/// started (queued ones start when the one before them ends).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlannedSegment {
    pub tariff_name: String,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Its time: the span's length once started, the reserved time before.
    pub seconds: i64,
}

/// The live session on a device, as the hall map shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeviceSession {
    pub id: i64,
    pub client_id: i64,
    pub client_name: String,
    pub status: SessionStatus,
    pub planned_start_at: DateTime<Utc>,
    pub actual_start_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// The first tariff still to run (see `segments` for the one running now).
    pub tariff_name: String,
    /// The tariffs still to run, in order: the running one (once started)
    /// and those queued after it. `ends_at` is the last one's end.
    #[serde(default)]
    pub segments: Vec<PlannedSegment>,
    /// What it allows now (see [`SessionView::actions`]).
    #[serde(default)]
    pub actions: SessionActions,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeviceView {
    pub id: i64,
    pub name: String,
    pub zone_id: i64,
    /// Its zone's club.
    #[serde(default = "first_club")]
    pub club_id: i64,
    pub x: i64,
    pub y: i64,
    pub enabled: bool,
    pub enrolled: bool,
    pub online: bool,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub metrics: Option<Metrics>,
    /// The session running or waiting on this PC now (ACTIVE or STARTED).
    pub session: Option<DeviceSession>,
    /// Reservations (PENDING) on this PC, soonest first.
    pub reservations: Vec<DeviceSession>,
    /// The last command sent to this PC from the desk, while in flight and
    /// once answered (kept in the server's memory).
    #[serde(default)]
    pub command: Option<DeviceCommandView>,
    /// What the desk must look at now: `offline_while_playing` when the
    /// PC's agent is silent while its session is STARTED (the agent killed
    /// or cut off: time played that nobody sees).
    #[serde(default)]
    pub alerts: Vec<String>,
}

/// What the desk can tell a PC to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommandKind {
    /// Show a text on the PC: on the lock screen, or a notice over the game.
    Message,
    Reboot,
    Shutdown,
    /// Wake the PC with a Wake-on-LAN packet (sent by the server).
    Wake,
}

/// Where a command is: sent to the PC, done, or failed (with why).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommandState {
    Sent,
    Done,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeviceCommandView {
    pub id: i64,
    pub device_id: i64,
    pub kind: CommandKind,
    pub text: Option<String>,
    pub state: CommandState,
    pub requested_at: DateTime<Utc>,
    pub requested_by: Option<i64>,
    pub answered_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

/// The alert of a PC whose agent went silent during a started session.
pub const OFFLINE_WHILE_PLAYING: &str = "offline_while_playing";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ZoneView {
    pub id: i64,
    pub name: String,
    /// The club it is in (1 in a single club).
    #[serde(default = "first_club")]
    pub club_id: i64,
}

/// A club of the chain; a single club has one, club 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClubView {
    pub id: i64,
    pub name: String,
    /// Its own clock (IANA) for tariff windows and its days; null: the
    /// chain's (the settings' `time_zone`).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Its own no-show rule: minutes after the planned start before a
    /// session nobody started is cancelled, 0 for none in this club; null:
    /// the chain's (the settings' `no_show_minutes`).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1440)]
    pub no_show_minutes: Option<i64>,
}

/// Club 1: a single club's, and the one rows written before clubs read as.
pub fn first_club() -> i64 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HallSnapshot {
    pub at: DateTime<Utc>,
    pub zones: Vec<ZoneView>,
    pub devices: Vec<DeviceView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TariffView {
    pub id: i64,
    pub name: String,
    pub duration_seconds: i64,
    pub price: Minor,
    pub refund_policy: RefundPolicy,
    pub max_bonus_percent: Option<i64>,
    pub validity_days: Option<i64>,
    pub expiration_policy: ExpirationPolicy,
    /// Daily window in club-local minutes after midnight, e.g. 1320 (22:00) .. 480 (08:00).
    pub window_start_minute: Option<i64>,
    pub window_end_minute: Option<i64>,
    /// Empty means every zone.
    pub zone_ids: Vec<i64>,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoleView {
    pub id: i64,
    pub name: String,
    pub builtin: bool,
    pub permissions: Vec<Permission>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OperatorView {
    pub id: i64,
    pub login: String,
    pub role: String,
    pub role_id: i64,
    pub permissions: Vec<Permission>,
    /// A disabled operator cannot sign in.
    #[serde(default)]
    pub disabled: bool,
    /// The club they work in; null: every club (the chain's staff).
    #[serde(default)]
    pub club_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntryView {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// Null for the system (the scheduler) and for players and agents.
    pub operator_id: Option<i64>,
    /// `staff`, `player`, `agent` or `system`.
    pub actor: String,
    pub kind: String,
    pub session_id: Option<i64>,
    pub device_id: Option<i64>,
    pub client_id: Option<i64>,
    /// Names beside the ids: the operator's login, the PC's and the
    /// client's names (null where the id is).
    #[serde(default)]
    pub operator_login: Option<String>,
    #[serde(default)]
    pub device_name: Option<String>,
    #[serde(default)]
    pub client_name: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub reason: Option<String>,
}
