use super::db::Query;
use super::db::Result;
use super::Conn;

#[derive(Debug, Clone)]
pub struct OrderRow {
    pub id: i64,
    pub at: i64,
    pub client_id: i64,
    pub operator_id: Option<i64>,
    pub kind: String,
    pub method: Option<String>,
    pub money: i64,
    pub bonus: i64,
    pub tariff_id: Option<i64>,
    pub holding_id: Option<i64>,
    pub session_id: Option<i64>,
    pub refund_of: Option<i64>,
    pub reason: Option<String>,
    pub shift_id: Option<i64>,
    pub refunded: i64,
    pub tariff_name: Option<String>,
}

crate::from_row!(OrderRow {
    id,
    at,
    client_id,
    operator_id,
    kind,
    method,
    money,
    bonus,
    tariff_id,
    holding_id,
    session_id,
    refund_of,
    reason,
    shift_id,
    refunded,
    tariff_name
});

const ORDER_COLUMNS: &str = "SELECT o.id, o.at, o.client_id, o.operator_id, o.kind, o.method, \
     o.money, o.bonus, o.tariff_id, o.holding_id, o.session_id, o.refund_of, o.reason, o.shift_id, \
     (SELECT COALESCE(SUM(r.money), 0) FROM orders r WHERE r.refund_of = o.id) AS refunded, \
     t.name AS tariff_name FROM orders o LEFT JOIN tariffs t ON t.id = o.tariff_id";

pub fn get_order(c: &mut Conn, id: i64) -> Result<Option<OrderRow>> {
    c.one(
        &format!("{ORDER_COLUMNS} WHERE o.id = ?"),
        rusqlite::params![id],
    )
}

pub fn list_orders(c: &mut Conn, client_id: Option<i64>, limit: i64) -> Result<Vec<OrderRow>> {
    let mut q = Query::new(ORDER_COLUMNS);
    if let Some(id) = client_id {
        q.push(" WHERE o.client_id = ").push_bind(id);
    }
    q.push(" ORDER BY o.id DESC LIMIT ").push_bind(limit);
    c.all(&q.sql, q.params())
}

/// Revenue a holding has earned and not yet given back.
pub fn holding_revenue(c: &mut Conn, holding_id: i64) -> Result<i64> {
    c.first("SELECT COALESCE(SUM(CASE kind WHEN 'usage' THEN amount WHEN 'revenue_refund' THEN -amount END), 0) \
         FROM value_movements WHERE holding_id = ?", rusqlite::params![holding_id])
}

#[derive(Debug, Clone)]
pub struct ShiftRow {
    pub id: i64,
    pub operator_id: i64,
    pub opened_at: i64,
    pub closed_at: Option<i64>,
    pub z_report: Option<String>,
}

crate::from_row!(ShiftRow {
    id,
    operator_id,
    opened_at,
    closed_at,
    z_report
});

const SHIFT_COLUMNS: &str = "SELECT id, operator_id, opened_at, closed_at, z_report FROM shifts";

pub fn open_shift(c: &mut Conn, operator_id: i64, at: i64) -> Result<i64> {
    c.insert(
        "INSERT INTO shifts (operator_id, opened_at) VALUES (?, ?)",
        rusqlite::params![operator_id, at],
    )
}

pub fn open_shift_of(c: &mut Conn, operator_id: i64) -> Result<Option<ShiftRow>> {
    c.one(
        &format!("{SHIFT_COLUMNS} WHERE operator_id = ? AND closed_at IS NULL"),
        rusqlite::params![operator_id],
    )
}

pub fn get_shift(c: &mut Conn, id: i64) -> Result<Option<ShiftRow>> {
    c.one(
        &format!("{SHIFT_COLUMNS} WHERE id = ?"),
        rusqlite::params![id],
    )
}

pub fn close_shift(c: &mut Conn, id: i64, at: i64, z_report: &str) -> Result<()> {
    c.run(
        "UPDATE shifts SET closed_at = ?, z_report = ? WHERE id = ? AND closed_at IS NULL",
        rusqlite::params![at, z_report, id],
    )
    .map(drop)
}

/// (kind, method, money, bonus, count) of a shift's orders.
pub type OrderTotal = (String, Option<String>, i64, i64, i64);

/// The totals of a shift's orders by kind and method.
pub fn shift_order_totals(c: &mut Conn, shift_id: i64) -> Result<Vec<OrderTotal>> {
    c.all(
        "SELECT kind, method, SUM(money), SUM(bonus), COUNT(*) FROM orders WHERE shift_id = ? \
         GROUP BY kind, method ORDER BY kind, method",
        rusqlite::params![shift_id],
    )
}

/// (bonus issued, bonus spent) in a shift.
pub fn shift_bonus(c: &mut Conn, shift_id: i64) -> Result<(i64, i64)> {
    c.first(
        "SELECT COALESCE(SUM(CASE WHEN amount > 0 THEN amount END), 0), \
         COALESCE(-SUM(CASE WHEN amount < 0 THEN amount END), 0) \
         FROM ledger WHERE shift_id = ? AND account = 'bonus'",
        rusqlite::params![shift_id],
    )
}

/// (session_id, delta, reason, operator_id, at) of a correction.
pub type CorrectionLine = (i64, i64, String, Option<i64>, i64);

/// A shift's corrections.
pub fn shift_corrections(c: &mut Conn, shift_id: i64) -> Result<Vec<CorrectionLine>> {
    c.all("SELECT session_id, delta, reason, operator_id, at FROM price_corrections WHERE shift_id = ? ORDER BY id", rusqlite::params![shift_id])
}

/// (session_id, operator_id, at, reason) of a cancellation.
pub type CancellationLine = (Option<i64>, Option<i64>, i64, Option<String>);

/// A shift's cancellations.
pub fn shift_cancellations(c: &mut Conn, shift_id: i64) -> Result<Vec<CancellationLine>> {
    c.all(
        "SELECT session_id, operator_id, at, reason FROM audit WHERE shift_id = ? \
         AND kind = 'session.cancel' ORDER BY id",
        rusqlite::params![shift_id],
    )
}
