use super::Conn;
use club_shared::{RefundPolicy, SessionStatus};
use sqlx::{FromRow, QueryBuilder, Sqlite};

#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    pub id: i64,
    pub client_id: i64,
    pub client_name: String,
    pub device_id: i64,
    #[sqlx(try_from = "String")]
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

#[derive(Debug, Clone, FromRow)]
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
    #[sqlx(try_from = "String")]
    pub refund_policy: RefundPolicy,
    pub max_bonus_percent: Option<i64>,
}

#[derive(Debug, Clone, FromRow)]
pub struct BindingRow {
    pub device_id: i64,
    pub planned_start_at: i64,
    pub actual_start_at: Option<i64>,
    pub actual_end_at: Option<i64>,
}

#[derive(Debug, Clone, FromRow)]
pub struct PriceCorrectionRow {
    pub delta: i64,
    pub reason: String,
    pub operator_id: Option<i64>,
    pub at: i64,
}

const SESSION_COLUMNS: &str = "SELECT s.id, s.client_id, c.name AS client_name, s.device_id, \
     s.status, s.planned_start_at, s.actual_start_at, s.actual_end_at, s.ends_at, \
     s.cancelled_at, s.cancelled_by, s.end_kind, s.start_press_id, s.receipt \
     FROM sessions s JOIN clients c ON c.id = s.client_id";

const SEGMENT_COLUMNS: &str = "SELECT g.id, g.session_id, g.position, g.holding_id, \
     g.tariff_id, t.name AS tariff_name, g.reserved_seconds, g.starts_at, g.ends_at, \
     g.closed_at, g.seconds_used, g.amount, g.refund_policy, g.max_bonus_percent \
     FROM segments g JOIN tariffs t ON t.id = g.tariff_id";

pub async fn insert_session(
    c: &mut Conn,
    client_id: i64,
    device_id: i64,
    status: SessionStatus,
    planned_start_at: i64,
    now: i64,
    created_by: Option<i64>,
) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO sessions (client_id, device_id, status, planned_start_at, created_at, \
         created_by) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(client_id)
    .bind(device_id)
    .bind(status.as_str())
    .bind(planned_start_at)
    .bind(now)
    .bind(created_by)
    .execute(c)
    .await
    .map(|r| r.last_insert_rowid())
}

pub async fn get_session(c: &mut Conn, id: i64) -> sqlx::Result<Option<SessionRow>> {
    sqlx::query_as(&format!("{SESSION_COLUMNS} WHERE s.id = ?"))
        .bind(id)
        .fetch_optional(c)
        .await
}

/// PENDING, ACTIVE and STARTED sessions, on one device or everywhere.
pub async fn live_sessions(c: &mut Conn, device_id: Option<i64>) -> sqlx::Result<Vec<SessionRow>> {
    let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(SESSION_COLUMNS);
    q.push(" WHERE s.status IN ('PENDING', 'ACTIVE', 'STARTED')");
    if let Some(d) = device_id {
        q.push(" AND s.device_id = ").push_bind(d);
    }
    q.push(" ORDER BY s.planned_start_at, s.id");
    q.build_query_as().fetch_all(c).await
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

pub async fn list_sessions(c: &mut Conn, f: &SessionFilter) -> sqlx::Result<Vec<SessionRow>> {
    let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(SESSION_COLUMNS);
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
    q.build_query_as().fetch_all(c).await
}

pub async fn set_session_status(c: &mut Conn, id: i64, status: SessionStatus) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET status = ? WHERE id = ?")
        .bind(status.as_str())
        .bind(id)
        .execute(c)
        .await
        .map(drop)
}

pub async fn mark_session_started(
    c: &mut Conn,
    id: i64,
    at: i64,
    ends_at: i64,
    press_id: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE sessions SET status = 'STARTED', actual_start_at = ?, ends_at = ?, \
         start_press_id = ? WHERE id = ?",
    )
    .bind(at)
    .bind(ends_at)
    .bind(press_id)
    .bind(id)
    .execute(c)
    .await
    .map(drop)
}

pub async fn mark_session_cancelled(
    c: &mut Conn,
    id: i64,
    at: i64,
    by: Option<i64>,
    reason: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE sessions SET status = 'CANCELLED', cancelled_at = ?, cancelled_by = ?, \
         cancel_reason = ? WHERE id = ?",
    )
    .bind(at)
    .bind(by)
    .bind(reason)
    .bind(id)
    .execute(c)
    .await
    .map(drop)
}

pub async fn mark_session_ended(
    c: &mut Conn,
    id: i64,
    at: i64,
    end_kind: &str,
    receipt: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE sessions SET status = 'ENDED', actual_end_at = ?, end_kind = ?, receipt = ? \
         WHERE id = ?",
    )
    .bind(at)
    .bind(end_kind)
    .bind(receipt)
    .bind(id)
    .execute(c)
    .await
    .map(drop)
}

#[allow(clippy::too_many_arguments)] // one column each
pub async fn insert_segment(
    c: &mut Conn,
    session_id: i64,
    position: i64,
    holding_id: i64,
    tariff_id: i64,
    reserved_seconds: i64,
    refund_policy: RefundPolicy,
    max_bonus_percent: Option<i64>,
) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO segments (session_id, position, holding_id, tariff_id, reserved_seconds, \
         refund_policy, max_bonus_percent) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(session_id)
    .bind(position)
    .bind(holding_id)
    .bind(tariff_id)
    .bind(reserved_seconds)
    .bind(refund_policy.as_str())
    .bind(max_bonus_percent)
    .execute(c)
    .await
    .map(|r| r.last_insert_rowid())
}

pub async fn session_segments(c: &mut Conn, session_id: i64) -> sqlx::Result<Vec<SegmentRow>> {
    sqlx::query_as(&format!(
        "{SEGMENT_COLUMNS} WHERE g.session_id = ? ORDER BY g.position"
    ))
    .bind(session_id)
    .fetch_all(c)
    .await
}

/// Sets the running span of a segment that has not started yet.
pub async fn open_segment(c: &mut Conn, id: i64, starts_at: i64, ends_at: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE segments SET starts_at = ?, ends_at = ? WHERE id = ? AND starts_at IS NULL")
        .bind(starts_at)
        .bind(ends_at)
        .bind(id)
        .execute(c)
        .await
        .map(drop)
}

/// Closes a segment once; a closed segment is never written again.
pub async fn close_segment(
    c: &mut Conn,
    id: i64,
    closed_at: i64,
    seconds_used: i64,
    amount: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE segments SET closed_at = ?, seconds_used = ?, amount = ? \
         WHERE id = ? AND closed_at IS NULL",
    )
    .bind(closed_at)
    .bind(seconds_used)
    .bind(amount)
    .bind(id)
    .execute(c)
    .await
    .map(drop)
}

pub async fn insert_binding(
    c: &mut Conn,
    session_id: i64,
    device_id: i64,
    planned_start_at: i64,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO bindings (session_id, device_id, planned_start_at) VALUES (?, ?, ?)")
        .bind(session_id)
        .bind(device_id)
        .bind(planned_start_at)
        .execute(c)
        .await
        .map(drop)
}

pub async fn start_binding(c: &mut Conn, session_id: i64, at: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE bindings SET actual_start_at = ? \
         WHERE session_id = ? AND actual_start_at IS NULL AND actual_end_at IS NULL",
    )
    .bind(at)
    .bind(session_id)
    .execute(c)
    .await
    .map(drop)
}

pub async fn end_binding(c: &mut Conn, session_id: i64, at: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE bindings SET actual_end_at = ? WHERE session_id = ? AND actual_end_at IS NULL",
    )
    .bind(at)
    .bind(session_id)
    .execute(c)
    .await
    .map(drop)
}

pub async fn session_bindings(c: &mut Conn, session_id: i64) -> sqlx::Result<Vec<BindingRow>> {
    sqlx::query_as(
        "SELECT device_id, planned_start_at, actual_start_at, actual_end_at FROM bindings \
         WHERE session_id = ? ORDER BY id",
    )
    .bind(session_id)
    .fetch_all(c)
    .await
}

pub async fn session_price_corrections(
    c: &mut Conn,
    session_id: i64,
) -> sqlx::Result<Vec<PriceCorrectionRow>> {
    sqlx::query_as(
        "SELECT delta, reason, operator_id, at FROM price_corrections WHERE session_id = ? \
         ORDER BY id",
    )
    .bind(session_id)
    .fetch_all(c)
    .await
}

pub async fn set_session_device(c: &mut Conn, id: i64, device_id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET device_id = ? WHERE id = ?")
        .bind(device_id)
        .bind(id)
        .execute(c)
        .await
        .map(drop)
}

pub async fn set_session_ends_at(c: &mut Conn, id: i64, ends_at: Option<i64>) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET ends_at = ? WHERE id = ?")
        .bind(ends_at)
        .bind(id)
        .execute(c)
        .await
        .map(drop)
}

/// A binding on a new PC for a session that is already running there.
pub async fn insert_running_binding(
    c: &mut Conn,
    session_id: i64,
    device_id: i64,
    planned_start_at: i64,
    actual_start_at: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO bindings (session_id, device_id, planned_start_at, actual_start_at) \
         VALUES (?, ?, ?, ?)",
    )
    .bind(session_id)
    .bind(device_id)
    .bind(planned_start_at)
    .bind(actual_start_at)
    .execute(c)
    .await
    .map(drop)
}

pub async fn insert_price_correction(
    c: &mut Conn,
    session_id: i64,
    delta: i64,
    reason: &str,
    operator_id: Option<i64>,
    at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO price_corrections (session_id, delta, reason, operator_id, at, shift_id) \
         VALUES (?, ?, ?, ?, ?, (SELECT id FROM shifts WHERE operator_id = ? AND closed_at IS NULL))",
    )
    .bind(session_id)
    .bind(delta)
    .bind(reason)
    .bind(operator_id)
    .bind(at)
    .bind(operator_id)
    .execute(c)
    .await
    .map(drop)
}
