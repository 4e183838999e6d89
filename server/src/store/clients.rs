use super::Conn;
use club_shared::{Account, HoldingStatus};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct ClientRow {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub auto_renewal: bool,
    pub pin_hash: Option<String>,
    pub balance: i64,
    pub bonus_balance: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct HoldingRow {
    pub id: i64,
    pub client_id: i64,
    pub tariff_id: i64,
    pub total_seconds: i64,
    pub remaining_seconds: i64,
    pub price_paid: i64,
    pub value_remaining: i64,
    pub purchased_at: i64,
    pub valid_until: Option<i64>,
    #[sqlx(try_from = "String")]
    pub status: HoldingStatus,
}

#[derive(Debug, Clone, FromRow)]
pub struct LedgerRow {
    pub id: i64,
    pub at: i64,
    #[sqlx(try_from = "String")]
    pub account: Account,
    pub amount: i64,
    pub kind: String,
    pub order_id: Option<i64>,
    pub session_id: Option<i64>,
    pub operator_id: Option<i64>,
}

/// One balance movement; the ledger row and the balance change are written
/// together, so a balance always equals the sum of its ledger.
#[derive(Debug, Clone)]
pub struct NewLedger<'a> {
    pub at: i64,
    pub client_id: i64,
    pub account: Account,
    pub amount: i64,
    pub kind: &'a str,
    pub order_id: Option<i64>,
    pub session_id: Option<i64>,
    pub operator_id: Option<i64>,
}

const CLIENT_COLUMNS: &str =
    "SELECT id, name, phone, auto_renewal, pin_hash, balance, bonus_balance FROM clients";
const HOLDING_COLUMNS: &str = "SELECT id, client_id, tariff_id, total_seconds, \
     remaining_seconds, price_paid, value_remaining, purchased_at, valid_until, status \
     FROM holdings";

pub async fn insert_client(
    c: &mut Conn,
    name: &str,
    phone: &str,
    auto_renewal: bool,
    pin_hash: Option<&str>,
    now: i64,
) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO clients (name, phone, auto_renewal, pin_hash, created_at) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(name)
    .bind(phone)
    .bind(auto_renewal)
    .bind(pin_hash)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.last_insert_rowid())
}

pub async fn update_client(
    c: &mut Conn,
    id: i64,
    name: &str,
    phone: &str,
    auto_renewal: bool,
    pin_hash: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE clients SET name = ?, phone = ?, auto_renewal = ?, pin_hash = ? WHERE id = ?",
    )
    .bind(name)
    .bind(phone)
    .bind(auto_renewal)
    .bind(pin_hash)
    .bind(id)
    .execute(c)
    .await
    .map(drop)
}

pub async fn get_client(c: &mut Conn, id: i64) -> sqlx::Result<Option<ClientRow>> {
    sqlx::query_as(&format!("{CLIENT_COLUMNS} WHERE id = ?"))
        .bind(id)
        .fetch_optional(c)
        .await
}

pub async fn get_client_by_phone(c: &mut Conn, phone: &str) -> sqlx::Result<Option<ClientRow>> {
    sqlx::query_as(&format!("{CLIENT_COLUMNS} WHERE phone = ?"))
        .bind(phone)
        .fetch_optional(c)
        .await
}

/// Clients whose name or phone contains `search` (all when empty).
pub async fn search_clients(
    c: &mut Conn,
    search: &str,
    limit: i64,
) -> sqlx::Result<Vec<ClientRow>> {
    let pattern = format!("%{}%", search.replace(['%', '_'], ""));
    sqlx::query_as(&format!(
        "{CLIENT_COLUMNS} WHERE name LIKE ?1 OR phone LIKE ?1 ORDER BY name, id LIMIT ?2"
    ))
    .bind(pattern)
    .bind(limit)
    .fetch_all(c)
    .await
}

pub async fn list_client_ids(c: &mut Conn) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT id FROM clients ORDER BY id")
        .fetch_all(c)
        .await
}

pub async fn insert_ledger(c: &mut Conn, e: &NewLedger<'_>) -> sqlx::Result<()> {
    let column = match e.account {
        Account::Money => "balance",
        Account::Bonus => "bonus_balance",
    };
    sqlx::query(&format!(
        "UPDATE clients SET {column} = {column} + ? WHERE id = ?"
    ))
    .bind(e.amount)
    .bind(e.client_id)
    .execute(&mut *c)
    .await?;
    sqlx::query(
        "INSERT INTO ledger (at, client_id, account, amount, kind, order_id, session_id, \
         operator_id, shift_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, \
         (SELECT id FROM shifts WHERE operator_id = ? AND closed_at IS NULL))",
    )
    .bind(e.at)
    .bind(e.client_id)
    .bind(e.account.as_str())
    .bind(e.amount)
    .bind(e.kind)
    .bind(e.order_id)
    .bind(e.session_id)
    .bind(e.operator_id)
    .bind(e.operator_id)
    .execute(c)
    .await
    .map(drop)
}

pub async fn client_ledger(c: &mut Conn, client_id: i64) -> sqlx::Result<Vec<LedgerRow>> {
    sqlx::query_as(
        "SELECT id, at, account, amount, kind, order_id, session_id, operator_id FROM ledger \
         WHERE client_id = ? ORDER BY id",
    )
    .bind(client_id)
    .fetch_all(c)
    .await
}

/// (money, bonus) sums of a client's ledger.
pub async fn ledger_sums(c: &mut Conn, client_id: i64) -> sqlx::Result<(i64, i64)> {
    sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN account = 'money' THEN amount END), 0), \
         COALESCE(SUM(CASE WHEN account = 'bonus' THEN amount END), 0) \
         FROM ledger WHERE client_id = ?",
    )
    .bind(client_id)
    .fetch_one(c)
    .await
}

#[derive(Debug, Clone)]
pub struct NewOrder<'a> {
    pub at: i64,
    pub client_id: i64,
    pub operator_id: Option<i64>,
    pub kind: &'a str,
    pub method: Option<&'a str>,
    pub money: i64,
    pub bonus: i64,
    pub tariff_id: Option<i64>,
    pub refund_of: Option<i64>,
    pub session_id: Option<i64>,
    pub reason: Option<&'a str>,
}

pub async fn insert_order(c: &mut Conn, o: &NewOrder<'_>) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO orders (at, client_id, operator_id, kind, method, money, bonus, tariff_id, \
         refund_of, session_id, reason, shift_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \
         (SELECT id FROM shifts WHERE operator_id = ? AND closed_at IS NULL))",
    )
    .bind(o.at)
    .bind(o.client_id)
    .bind(o.operator_id)
    .bind(o.kind)
    .bind(o.method)
    .bind(o.money)
    .bind(o.bonus)
    .bind(o.tariff_id)
    .bind(o.refund_of)
    .bind(o.session_id)
    .bind(o.reason)
    .bind(o.operator_id)
    .execute(c)
    .await
    .map(|r| r.last_insert_rowid())
}

pub async fn set_order_holding(c: &mut Conn, order_id: i64, holding_id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE orders SET holding_id = ? WHERE id = ?")
        .bind(holding_id)
        .bind(order_id)
        .execute(c)
        .await
        .map(drop)
}

#[allow(clippy::too_many_arguments)] // one column each; a struct would only rename them
/// Inserts an available holding with all its time left; answers the row.
pub async fn insert_holding(
    c: &mut Conn,
    client_id: i64,
    tariff_id: i64,
    total_seconds: i64,
    price_paid: i64,
    purchased_at: i64,
    valid_until: Option<i64>,
) -> sqlx::Result<HoldingRow> {
    sqlx::query_as(
        "INSERT INTO holdings (client_id, tariff_id, total_seconds, remaining_seconds, \
         price_paid, value_remaining, purchased_at, valid_until, status) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'available') \
         RETURNING id, client_id, tariff_id, total_seconds, remaining_seconds, price_paid, \
         value_remaining, purchased_at, valid_until, status",
    )
    .bind(client_id)
    .bind(tariff_id)
    .bind(total_seconds)
    .bind(total_seconds)
    .bind(price_paid)
    .bind(price_paid)
    .bind(purchased_at)
    .bind(valid_until)
    .fetch_one(c)
    .await
}

pub async fn get_holding(c: &mut Conn, id: i64) -> sqlx::Result<Option<HoldingRow>> {
    sqlx::query_as(&format!("{HOLDING_COLUMNS} WHERE id = ?"))
        .bind(id)
        .fetch_optional(c)
        .await
}

pub async fn client_holdings(c: &mut Conn, client_id: i64) -> sqlx::Result<Vec<HoldingRow>> {
    sqlx::query_as(&format!(
        "{HOLDING_COLUMNS} WHERE client_id = ? ORDER BY id"
    ))
    .bind(client_id)
    .fetch_all(c)
    .await
}

pub async fn update_holding(
    c: &mut Conn,
    id: i64,
    remaining_seconds: i64,
    value_remaining: i64,
    status: HoldingStatus,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE holdings SET remaining_seconds = ?, value_remaining = ?, status = ? WHERE id = ?",
    )
    .bind(remaining_seconds)
    .bind(value_remaining)
    .bind(status.as_str())
    .bind(id)
    .execute(c)
    .await
    .map(drop)
}

#[derive(Debug, Clone)]
pub struct NewValueMovement<'a> {
    pub at: i64,
    pub holding_id: i64,
    pub session_id: Option<i64>,
    pub segment_id: Option<i64>,
    pub kind: &'a str,
    pub seconds: i64,
    pub amount: i64,
}

pub async fn insert_value_movement(c: &mut Conn, m: &NewValueMovement<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO value_movements (at, holding_id, session_id, segment_id, kind, seconds, \
         amount) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(m.at)
    .bind(m.holding_id)
    .bind(m.session_id)
    .bind(m.segment_id)
    .bind(m.kind)
    .bind(m.seconds)
    .bind(m.amount)
    .execute(c)
    .await
    .map(drop)
}

/// Club-wide sums for the conservation check: where every minor unit that
/// came in through a top-up is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct MoneyTotals {
    pub topped_up: i64,
    pub balances: i64,
    pub bonus_balances: i64,
    pub holding_value: i64,
    pub revenue: i64,
    pub burned: i64,
    /// Refunds paid out in cash or by card: money that left the club.
    pub paid_out: i64,
}

pub async fn money_totals(c: &mut Conn) -> sqlx::Result<MoneyTotals> {
    sqlx::query_as(
        "SELECT \
           (SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE kind = 'top_up') AS topped_up, \
           (SELECT COALESCE(SUM(balance), 0) FROM clients) AS balances, \
           (SELECT COALESCE(SUM(bonus_balance), 0) FROM clients) AS bonus_balances, \
           (SELECT COALESCE(SUM(value_remaining), 0) FROM holdings) AS holding_value, \
           (SELECT COALESCE(SUM(amount), 0) FROM value_movements WHERE kind = 'usage') \
             + (SELECT COALESCE(SUM(delta), 0) FROM price_corrections) \
             + (SELECT COALESCE(SUM(money), 0) FROM orders WHERE kind = 'extra_charge') \
             - (SELECT COALESCE(SUM(amount), 0) FROM value_movements WHERE kind = 'revenue_refund') \
             - (SELECT COALESCE(SUM(r.money), 0) FROM orders r JOIN orders o ON o.id = r.refund_of \
                  WHERE r.kind = 'refund' AND o.kind = 'extra_charge') \
             AS revenue, \
           (SELECT COALESCE(SUM(amount), 0) FROM value_movements \
              WHERE kind IN ('burn', 'expire')) AS burned, \
           (SELECT COALESCE(SUM(money), 0) FROM orders \
              WHERE kind = 'refund' AND method IN ('cash', 'card')) AS paid_out",
    )
    .fetch_one(c)
    .await
}

/// A holding the client can play next from: this tariff, time left, not
/// reserved by another session, valid at `at`. Oldest first.
pub async fn available_holding_of_tariff(
    c: &mut Conn,
    client_id: i64,
    tariff_id: i64,
    at: i64,
) -> sqlx::Result<Option<HoldingRow>> {
    sqlx::query_as(&format!(
        "{HOLDING_COLUMNS} WHERE client_id = ? AND tariff_id = ? AND status = 'available' \
         AND remaining_seconds > 0 AND (valid_until IS NULL OR valid_until > ?) ORDER BY id LIMIT 1"
    ))
    .bind(client_id)
    .bind(tariff_id)
    .bind(at)
    .fetch_optional(c)
    .await
}

/// Holdings past their validity that no live session holds.
pub async fn due_expiries(c: &mut Conn, now: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT id FROM holdings WHERE status = 'available' AND valid_until IS NOT NULL \
         AND valid_until <= ? ORDER BY id",
    )
    .bind(now)
    .fetch_all(c)
    .await
}

pub async fn next_expiry(c: &mut Conn, after: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT MIN(valid_until) FROM holdings WHERE status = 'available' AND valid_until > ?",
    )
    .bind(after)
    .fetch_one(c)
    .await
}
