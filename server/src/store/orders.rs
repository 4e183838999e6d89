use super::Conn;
use sqlx::{FromRow, QueryBuilder, Sqlite};

#[derive(Debug, Clone, FromRow)]
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

const ORDER_COLUMNS: &str = "SELECT o.id, o.at, o.client_id, o.operator_id, o.kind, o.method, \
     o.money, o.bonus, o.tariff_id, o.holding_id, o.session_id, o.refund_of, o.reason, o.shift_id, \
     (SELECT COALESCE(SUM(r.money), 0) FROM orders r WHERE r.refund_of = o.id) AS refunded, \
     t.name AS tariff_name FROM orders o LEFT JOIN tariffs t ON t.id = o.tariff_id";

pub async fn get_order(c: &mut Conn, id: i64) -> sqlx::Result<Option<OrderRow>> {
    sqlx::query_as(&format!("{ORDER_COLUMNS} WHERE o.id = ?"))
        .bind(id)
        .fetch_optional(c)
        .await
}

pub async fn list_orders(
    c: &mut Conn,
    client_id: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<OrderRow>> {
    let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(ORDER_COLUMNS);
    if let Some(id) = client_id {
        q.push(" WHERE o.client_id = ").push_bind(id);
    }
    q.push(" ORDER BY o.id DESC LIMIT ").push_bind(limit);
    q.build_query_as().fetch_all(c).await
}

/// Revenue a holding has earned and not yet given back.
pub async fn holding_revenue(c: &mut Conn, holding_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COALESCE(SUM(CASE kind WHEN 'usage' THEN amount WHEN 'revenue_refund' THEN -amount END), 0) \
         FROM value_movements WHERE holding_id = ?",
    )
    .bind(holding_id)
    .fetch_one(c)
    .await
}

#[derive(Debug, Clone, FromRow)]
pub struct ShiftRow {
    pub id: i64,
    pub operator_id: i64,
    pub opened_at: i64,
    pub closed_at: Option<i64>,
    pub z_report: Option<String>,
}

const SHIFT_COLUMNS: &str = "SELECT id, operator_id, opened_at, closed_at, z_report FROM shifts";

pub async fn open_shift(c: &mut Conn, operator_id: i64, at: i64) -> sqlx::Result<i64> {
    sqlx::query("INSERT INTO shifts (operator_id, opened_at) VALUES (?, ?)")
        .bind(operator_id)
        .bind(at)
        .execute(c)
        .await
        .map(|r| r.last_insert_rowid())
}

pub async fn open_shift_of(c: &mut Conn, operator_id: i64) -> sqlx::Result<Option<ShiftRow>> {
    sqlx::query_as(&format!(
        "{SHIFT_COLUMNS} WHERE operator_id = ? AND closed_at IS NULL"
    ))
    .bind(operator_id)
    .fetch_optional(c)
    .await
}

pub async fn get_shift(c: &mut Conn, id: i64) -> sqlx::Result<Option<ShiftRow>> {
    sqlx::query_as(&format!("{SHIFT_COLUMNS} WHERE id = ?"))
        .bind(id)
        .fetch_optional(c)
        .await
}

pub async fn close_shift(c: &mut Conn, id: i64, at: i64, z_report: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE shifts SET closed_at = ?, z_report = ? WHERE id = ? AND closed_at IS NULL")
        .bind(at)
        .bind(z_report)
        .bind(id)
        .execute(c)
        .await
        .map(drop)
}

/// (kind, method, money, bonus, count) of a shift's orders.
pub async fn shift_order_totals(
    c: &mut Conn,
    shift_id: i64,
) -> sqlx::Result<Vec<(String, Option<String>, i64, i64, i64)>> {
    sqlx::query_as(
        "SELECT kind, method, SUM(money), SUM(bonus), COUNT(*) FROM orders WHERE shift_id = ? \
         GROUP BY kind, method ORDER BY kind, method",
    )
    .bind(shift_id)
    .fetch_all(c)
    .await
}

/// (bonus issued, bonus spent) in a shift.
pub async fn shift_bonus(c: &mut Conn, shift_id: i64) -> sqlx::Result<(i64, i64)> {
    sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN amount > 0 THEN amount END), 0), \
         COALESCE(-SUM(CASE WHEN amount < 0 THEN amount END), 0) \
         FROM ledger WHERE shift_id = ? AND account = 'bonus'",
    )
    .bind(shift_id)
    .fetch_one(c)
    .await
}

/// (session_id, delta, reason, operator_id, at) of a shift's corrections.
pub async fn shift_corrections(
    c: &mut Conn,
    shift_id: i64,
) -> sqlx::Result<Vec<(i64, i64, String, Option<i64>, i64)>> {
    sqlx::query_as(
        "SELECT session_id, delta, reason, operator_id, at FROM price_corrections WHERE shift_id = ? ORDER BY id",
    )
    .bind(shift_id)
    .fetch_all(c)
    .await
}

/// (session_id, operator_id, at, reason) of a shift's cancellations.
pub async fn shift_cancellations(
    c: &mut Conn,
    shift_id: i64,
) -> sqlx::Result<Vec<(Option<i64>, Option<i64>, i64, Option<String>)>> {
    sqlx::query_as(
        "SELECT session_id, operator_id, at, reason FROM audit WHERE shift_id = ? \
         AND kind = 'session.cancel' ORDER BY id",
    )
    .bind(shift_id)
    .fetch_all(c)
    .await
}
