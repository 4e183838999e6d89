use super::db::Query;
use super::db::Result;
use super::Conn;
use club_shared::{RefundPolicy, SessionStatus};

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: i64,
    pub client_id: i64,
    pub client_name: String,
    pub device_id: i64,
    pub status: SessionStatus,
    pub planned_start_at: i64,
    pub actual_start_at: Option<i64>,
    pub actual_end_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub cancelled_by: Option<i64>,
    pub end_kind: Option<String>,
    pub start_press_id: Option<String>,
    pub receipt: Option<String>,
}

crate::from_row!(SessionRow {
    id,
    client_id,
    client_name,
    device_id,
    status,
    planned_start_at,
    actual_start_at,
    actual_end_at,
    ends_at,
    cancelled_at,
    cancelled_by,
    end_kind,
    start_press_id,
    receipt
});

#[derive(Debug, Clone)]
pub struct SegmentRow {
    pub id: i64,
    pub session_id: i64,
    pub position: i64,
    pub holding_id: i64,
    pub tariff_id: i64,
    pub tariff_name: String,
    pub reserved_seconds: i64,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub seconds_used: Option<i64>,
    pub amount: Option<i64>,
    pub refund_policy: RefundPolicy,
    pub max_bonus_percent: Option<i64>,
}

crate::from_row!(SegmentRow {
    id,
    session_id,
    position,
    holding_id,
    tariff_id,
    tariff_name,
    reserved_seconds,
    starts_at,
    ends_at,
    closed_at,
    seconds_used,
    amount,
    refund_policy,
    max_bonus_percent
});

#[derive(Debug, Clone)]
pub struct BindingRow {
    pub device_id: i64,
    pub planned_start_at: i64,
    pub actual_start_at: Option<i64>,
    pub actual_end_at: Option<i64>,
}

crate::from_row!(BindingRow {
    device_id,
    planned_start_at,
    actual_start_at,
    actual_end_at
});

#[derive(Debug, Clone)]
pub struct PriceCorrectionRow {
    pub delta: i64,
    pub reason: String,
    pub operator_id: Option<i64>,
    pub at: i64,
}

crate::from_row!(PriceCorrectionRow {
    delta,
    reason,
    operator_id,
    at
});

const SESSION_COLUMNS: &str = "SELECT s.id, s.client_id, c.name AS client_name, s.device_id, \
     s.status, s.planned_start_at, s.actual_start_at, s.actual_end_at, s.ends_at, \
     s.cancelled_at, s.cancelled_by, s.end_kind, s.start_press_id, s.receipt \
     FROM sessions s JOIN clients c ON c.id = s.client_id";

const SEGMENT_COLUMNS: &str = "SELECT g.id, g.session_id, g.position, g.holding_id, \
     g.tariff_id, t.name AS tariff_name, g.reserved_seconds, g.starts_at, g.ends_at, \
     g.closed_at, g.seconds_used, g.amount, g.refund_policy, g.max_bonus_percent \
     FROM segments g JOIN tariffs t ON t.id = g.tariff_id";

pub fn insert_session(
    c: &mut Conn,
    client_id: i64,
    device_id: i64,
    status: SessionStatus,
    planned_start_at: i64,
    now: i64,
    created_by: Option<i64>,
) -> Result<i64> {
    c.insert(
        "INSERT INTO sessions (client_id, device_id, status, planned_start_at, created_at, \
         created_by) VALUES (?, ?, ?, ?, ?, ?)",
        rusqlite::params![
            client_id,
            device_id,
            status.as_str(),
            planned_start_at,
            now,
            created_by
        ],
    )
}

pub fn get_session(c: &mut Conn, id: i64) -> Result<Option<SessionRow>> {
    c.one(
        &format!("{SESSION_COLUMNS} WHERE s.id = ?"),
        rusqlite::params![id],
    )
}

/// PENDING, ACTIVE and STARTED sessions, on one device or everywhere.
pub fn live_sessions(c: &mut Conn, device_id: Option<i64>) -> Result<Vec<SessionRow>> {
    let mut q = Query::new(SESSION_COLUMNS);
    q.push(" WHERE s.status IN ('PENDING', 'ACTIVE', 'STARTED')");
    if let Some(d) = device_id {
        q.push(" AND s.device_id = ").push_bind(d);
    }
    q.push(" ORDER BY s.planned_start_at, s.id");
    c.all(&q.sql, q.params())
}

#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub status: Option<SessionStatus>,
    pub client_id: Option<i64>,
    pub device_id: Option<i64>,
    pub operator_id: Option<i64>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub limit: i64,
}

pub fn list_sessions(c: &mut Conn, f: &SessionFilter) -> Result<Vec<SessionRow>> {
    let mut q = Query::new(SESSION_COLUMNS);
    q.push(" WHERE 1 = 1");
    if let Some(v) = &f.status {
        q.push(" AND s.status = ").push_bind(v.as_str());
    }
    if let Some(v) = f.client_id {
        q.push(" AND s.client_id = ").push_bind(v);
    }
    if let Some(v) = f.device_id {
        q.push(" AND s.device_id = ").push_bind(v);
    }
    if let Some(v) = f.operator_id {
        q.push(" AND (s.created_by = ").push_bind(v);
        q.push(" OR s.cancelled_by = ").push_bind(v).push(")");
    }
    if let Some(v) = f.from {
        q.push(" AND s.planned_start_at >= ").push_bind(v);
    }
    if let Some(v) = f.to {
        q.push(" AND s.planned_start_at < ").push_bind(v);
    }
    q.push(" ORDER BY s.id DESC LIMIT ").push_bind(f.limit);
    c.all(&q.sql, q.params())
}

pub fn set_session_status(c: &mut Conn, id: i64, status: SessionStatus) -> Result<()> {
    c.run(
        "UPDATE sessions SET status = ? WHERE id = ?",
        rusqlite::params![status.as_str(), id],
    )
    .map(drop)
}

pub fn mark_session_started(
    c: &mut Conn,
    id: i64,
    at: i64,
    ends_at: i64,
    press_id: Option<&str>,
) -> Result<()> {
    c.run(
        "UPDATE sessions SET status = 'STARTED', actual_start_at = ?, ends_at = ?, \
         start_press_id = ? WHERE id = ?",
        rusqlite::params![at, ends_at, press_id, id],
    )
    .map(drop)
}

pub fn mark_session_cancelled(
    c: &mut Conn,
    id: i64,
    at: i64,
    by: Option<i64>,
    reason: Option<&str>,
) -> Result<()> {
    c.run(
        "UPDATE sessions SET status = 'CANCELLED', cancelled_at = ?, cancelled_by = ?, \
         cancel_reason = ? WHERE id = ?",
        rusqlite::params![at, by, reason, id],
    )
    .map(drop)
}

pub fn mark_session_ended(
    c: &mut Conn,
    id: i64,
    at: i64,
    end_kind: &str,
    receipt: &str,
) -> Result<()> {
    c.run(
        "UPDATE sessions SET status = 'ENDED', actual_end_at = ?, end_kind = ?, receipt = ? \
         WHERE id = ?",
        rusqlite::params![at, end_kind, receipt, id],
    )
    .map(drop)
}

#[allow(clippy::too_many_arguments)] // one column each
pub fn insert_segment(
    c: &mut Conn,
    session_id: i64,
    position: i64,
    holding_id: i64,
    tariff_id: i64,
    reserved_seconds: i64,
    refund_policy: RefundPolicy,
    max_bonus_percent: Option<i64>,
) -> Result<i64> {
    c.insert(
        "INSERT INTO segments (session_id, position, holding_id, tariff_id, reserved_seconds, \
         refund_policy, max_bonus_percent) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rusqlite::params![
            session_id,
            position,
            holding_id,
            tariff_id,
            reserved_seconds,
            refund_policy.as_str(),
            max_bonus_percent
        ],
    )
}

pub fn session_segments(c: &mut Conn, session_id: i64) -> Result<Vec<SegmentRow>> {
    c.all(
        &format!("{SEGMENT_COLUMNS} WHERE g.session_id = ? ORDER BY g.position"),
        rusqlite::params![session_id],
    )
}

/// Sets the running span of a segment that has not started yet.
pub fn open_segment(c: &mut Conn, id: i64, starts_at: i64, ends_at: i64) -> Result<()> {
    c.run(
        "UPDATE segments SET starts_at = ?, ends_at = ? WHERE id = ? AND starts_at IS NULL",
        rusqlite::params![starts_at, ends_at, id],
    )
    .map(drop)
}

/// Closes a segment once; a closed segment is never written again.
pub fn close_segment(
    c: &mut Conn,
    id: i64,
    closed_at: i64,
    seconds_used: i64,
    amount: i64,
) -> Result<()> {
    c.run(
        "UPDATE segments SET closed_at = ?, seconds_used = ?, amount = ? \
         WHERE id = ? AND closed_at IS NULL",
        rusqlite::params![closed_at, seconds_used, amount, id],
    )
    .map(drop)
}

pub fn insert_binding(
    c: &mut Conn,
    session_id: i64,
    device_id: i64,
    planned_start_at: i64,
) -> Result<()> {
    c.run(
        "INSERT INTO bindings (session_id, device_id, planned_start_at) VALUES (?, ?, ?)",
        rusqlite::params![session_id, device_id, planned_start_at],
    )
    .map(drop)
}

pub fn start_binding(c: &mut Conn, session_id: i64, at: i64) -> Result<()> {
    c.run(
        "UPDATE bindings SET actual_start_at = ? \
         WHERE session_id = ? AND actual_start_at IS NULL AND actual_end_at IS NULL",
        rusqlite::params![at, session_id],
    )
    .map(drop)
}

pub fn end_binding(c: &mut Conn, session_id: i64, at: i64) -> Result<()> {
    c.run(
        "UPDATE bindings SET actual_end_at = ? WHERE session_id = ? AND actual_end_at IS NULL",
        rusqlite::params![at, session_id],
    )
    .map(drop)
}

pub fn session_bindings(c: &mut Conn, session_id: i64) -> Result<Vec<BindingRow>> {
    c.all(
        "SELECT device_id, planned_start_at, actual_start_at, actual_end_at FROM bindings \
         WHERE session_id = ? ORDER BY id",
        rusqlite::params![session_id],
    )
}

pub fn session_price_corrections(c: &mut Conn, session_id: i64) -> Result<Vec<PriceCorrectionRow>> {
    c.all(
        "SELECT delta, reason, operator_id, at FROM price_corrections WHERE session_id = ? \
         ORDER BY id",
        rusqlite::params![session_id],
    )
}

pub fn set_session_device(c: &mut Conn, id: i64, device_id: i64) -> Result<()> {
    c.run(
        "UPDATE sessions SET device_id = ? WHERE id = ?",
        rusqlite::params![device_id, id],
    )
    .map(drop)
}

pub fn set_session_ends_at(c: &mut Conn, id: i64, ends_at: Option<i64>) -> Result<()> {
    c.run(
        "UPDATE sessions SET ends_at = ? WHERE id = ?",
        rusqlite::params![ends_at, id],
    )
    .map(drop)
}

/// A binding on a new PC for a session that is already running there.
pub fn insert_running_binding(
    c: &mut Conn,
    session_id: i64,
    device_id: i64,
    planned_start_at: i64,
    actual_start_at: Option<i64>,
) -> Result<()> {
    c.run(
        "INSERT INTO bindings (session_id, device_id, planned_start_at, actual_start_at) \
         VALUES (?, ?, ?, ?)",
        rusqlite::params![session_id, device_id, planned_start_at, actual_start_at],
    )
    .map(drop)
}

pub fn insert_price_correction(
    c: &mut Conn,
    session_id: i64,
    delta: i64,
    reason: &str,
    operator_id: Option<i64>,
    at: i64,
) -> Result<()> {
    c.run("INSERT INTO price_corrections (session_id, delta, reason, operator_id, at, shift_id) \
         VALUES (?, ?, ?, ?, ?, (SELECT id FROM shifts WHERE operator_id = ? AND closed_at IS NULL))", rusqlite::params![session_id, delta, reason, operator_id, at, operator_id])
    .map(drop)
}
