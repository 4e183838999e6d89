use super::db::Result;
use super::Conn;
use club_shared::{Account, HoldingStatus};

#[derive(Debug, Clone)]
pub struct ClientRow {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub auto_renewal: bool,
    pub pin_hash: Option<String>,
    pub balance: i64,
    pub bonus_balance: i64,
}

crate::from_row!(ClientRow {
    id,
    name,
    phone,
    auto_renewal,
    pin_hash,
    balance,
    bonus_balance
});

#[derive(Debug, Clone)]
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
    pub status: HoldingStatus,
}

crate::from_row!(HoldingRow {
    id,
    client_id,
    tariff_id,
    total_seconds,
    remaining_seconds,
    price_paid,
    value_remaining,
    purchased_at,
    valid_until,
    status
});

#[derive(Debug, Clone)]
pub struct LedgerRow {
    pub id: i64,
    pub at: i64,
    pub account: Account,
    pub amount: i64,
    pub kind: String,
    pub order_id: Option<i64>,
    pub session_id: Option<i64>,
    pub operator_id: Option<i64>,
}

crate::from_row!(LedgerRow {
    id,
    at,
    account,
    amount,
    kind,
    order_id,
    session_id,
    operator_id
});

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

pub fn insert_client(
    c: &mut Conn,
    name: &str,
    phone: &str,
    auto_renewal: bool,
    pin_hash: Option<&str>,
    now: i64,
) -> Result<i64> {
    c.insert(
        "INSERT INTO clients (name, phone, auto_renewal, pin_hash, created_at) \
         VALUES (?, ?, ?, ?, ?)",
        rusqlite::params![name, phone, auto_renewal, pin_hash, now],
    )
}

pub fn update_client(
    c: &mut Conn,
    id: i64,
    name: &str,
    phone: &str,
    auto_renewal: bool,
    pin_hash: Option<&str>,
) -> Result<()> {
    c.run(
        "UPDATE clients SET name = ?, phone = ?, auto_renewal = ?, pin_hash = ? WHERE id = ?",
        rusqlite::params![name, phone, auto_renewal, pin_hash, id],
    )
    .map(drop)
}

pub fn get_client(c: &mut Conn, id: i64) -> Result<Option<ClientRow>> {
    c.one(
        &format!("{CLIENT_COLUMNS} WHERE id = ?"),
        rusqlite::params![id],
    )
}

pub fn get_client_by_phone(c: &mut Conn, phone: &str) -> Result<Option<ClientRow>> {
    c.one(
        &format!("{CLIENT_COLUMNS} WHERE phone = ?"),
        rusqlite::params![phone],
    )
}

/// Clients whose name or phone contains `search` (all when empty).
pub fn search_clients(c: &mut Conn, search: &str, limit: i64) -> Result<Vec<ClientRow>> {
    let pattern = format!("%{}%", search.replace(['%', '_'], ""));
    c.all(
        &format!("{CLIENT_COLUMNS} WHERE name LIKE ?1 OR phone LIKE ?1 ORDER BY name, id LIMIT ?2"),
        rusqlite::params![pattern, limit],
    )
}

pub fn list_client_ids(c: &mut Conn) -> Result<Vec<i64>> {
    c.all("SELECT id FROM clients ORDER BY id", [])
}

pub fn insert_ledger(c: &mut Conn, e: &NewLedger<'_>) -> Result<()> {
    let column = match e.account {
        Account::Money => "balance",
        Account::Bonus => "bonus_balance",
    };
    c.run(
        &format!("UPDATE clients SET {column} = {column} + ? WHERE id = ?"),
        rusqlite::params![e.amount, e.client_id],
    )?;
    c.run(
        "INSERT INTO ledger (at, client_id, account, amount, kind, order_id, session_id, \
         operator_id, shift_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, \
         (SELECT id FROM shifts WHERE operator_id = ? AND closed_at IS NULL))",
        rusqlite::params![
            e.at,
            e.client_id,
            e.account.as_str(),
            e.amount,
            e.kind,
            e.order_id,
            e.session_id,
            e.operator_id,
            e.operator_id
        ],
    )
    .map(drop)
}

pub fn client_ledger(c: &mut Conn, client_id: i64) -> Result<Vec<LedgerRow>> {
    c.all(
        "SELECT id, at, account, amount, kind, order_id, session_id, operator_id FROM ledger \
         WHERE client_id = ? ORDER BY id",
        rusqlite::params![client_id],
    )
}

/// (money, bonus) sums of a client's ledger.
pub fn ledger_sums(c: &mut Conn, client_id: i64) -> Result<(i64, i64)> {
    c.first(
        "SELECT COALESCE(SUM(CASE WHEN account = 'money' THEN amount END), 0), \
         COALESCE(SUM(CASE WHEN account = 'bonus' THEN amount END), 0) \
         FROM ledger WHERE client_id = ?",
        rusqlite::params![client_id],
    )
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

pub fn insert_order(c: &mut Conn, o: &NewOrder<'_>) -> Result<i64> {
    c.insert(
        "INSERT INTO orders (at, client_id, operator_id, kind, method, money, bonus, tariff_id, \
         refund_of, session_id, reason, shift_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \
         (SELECT id FROM shifts WHERE operator_id = ? AND closed_at IS NULL))",
        rusqlite::params![
            o.at,
            o.client_id,
            o.operator_id,
            o.kind,
            o.method,
            o.money,
            o.bonus,
            o.tariff_id,
            o.refund_of,
            o.session_id,
            o.reason,
            o.operator_id
        ],
    )
}

pub fn set_order_holding(c: &mut Conn, order_id: i64, holding_id: i64) -> Result<()> {
    c.run(
        "UPDATE orders SET holding_id = ? WHERE id = ?",
        rusqlite::params![holding_id, order_id],
    )
    .map(drop)
}

#[allow(clippy::too_many_arguments)] // one column each; a struct would only rename them
/// Inserts an available holding with all its time left; answers the row.
pub fn insert_holding(
    c: &mut Conn,
    client_id: i64,
    tariff_id: i64,
    total_seconds: i64,
    price_paid: i64,
    purchased_at: i64,
    valid_until: Option<i64>,
) -> Result<HoldingRow> {
    c.first(
        "INSERT INTO holdings (client_id, tariff_id, total_seconds, remaining_seconds, \
         price_paid, value_remaining, purchased_at, valid_until, status) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'available') \
         RETURNING id, client_id, tariff_id, total_seconds, remaining_seconds, price_paid, \
         value_remaining, purchased_at, valid_until, status",
        rusqlite::params![
            client_id,
            tariff_id,
            total_seconds,
            total_seconds,
            price_paid,
            price_paid,
            purchased_at,
            valid_until
        ],
    )
}

pub fn get_holding(c: &mut Conn, id: i64) -> Result<Option<HoldingRow>> {
    c.one(
        &format!("{HOLDING_COLUMNS} WHERE id = ?"),
        rusqlite::params![id],
    )
}

pub fn client_holdings(c: &mut Conn, client_id: i64) -> Result<Vec<HoldingRow>> {
    c.all(
        &format!("{HOLDING_COLUMNS} WHERE client_id = ? ORDER BY id"),
        rusqlite::params![client_id],
    )
}

pub fn update_holding(
    c: &mut Conn,
    id: i64,
    remaining_seconds: i64,
    value_remaining: i64,
    status: HoldingStatus,
) -> Result<()> {
    c.run(
        "UPDATE holdings SET remaining_seconds = ?, value_remaining = ?, status = ? WHERE id = ?",
        rusqlite::params![remaining_seconds, value_remaining, status.as_str(), id],
    )
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

pub fn insert_value_movement(c: &mut Conn, m: &NewValueMovement<'_>) -> Result<()> {
    c.run(
        "INSERT INTO value_movements (at, holding_id, session_id, segment_id, kind, seconds, \
         amount) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rusqlite::params![
            m.at,
            m.holding_id,
            m.session_id,
            m.segment_id,
            m.kind,
            m.seconds,
            m.amount
        ],
    )
    .map(drop)
}

/// Club-wide sums for the conservation check: where every minor unit that
/// came in through a top-up is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

crate::from_row!(MoneyTotals {
    topped_up,
    balances,
    bonus_balances,
    holding_value,
    revenue,
    burned,
    paid_out
});

pub fn money_totals(c: &mut Conn) -> Result<MoneyTotals> {
    c.first("SELECT \
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
              WHERE kind = 'refund' AND method IN ('cash', 'card')) AS paid_out", [])
}

/// A holding the client can play next from: this tariff, time left, not
/// reserved by another session, valid at `at`. Oldest first.
pub fn available_holding_of_tariff(
    c: &mut Conn,
    client_id: i64,
    tariff_id: i64,
    at: i64,
) -> Result<Option<HoldingRow>> {
    c.one(
        &format!(
        "{HOLDING_COLUMNS} WHERE client_id = ? AND tariff_id = ? AND status = 'available' \
         AND remaining_seconds > 0 AND (valid_until IS NULL OR valid_until > ?) ORDER BY id LIMIT 1"
    ),
        rusqlite::params![client_id, tariff_id, at],
    )
}

/// Holdings past their validity that no live session holds.
pub fn due_expiries(c: &mut Conn, now: i64) -> Result<Vec<i64>> {
    c.all(
        "SELECT id FROM holdings WHERE status = 'available' AND valid_until IS NOT NULL \
         AND valid_until <= ? ORDER BY id",
        rusqlite::params![now],
    )
}

pub fn next_expiry(c: &mut Conn, after: i64) -> Result<Option<i64>> {
    c.first(
        "SELECT MIN(valid_until) FROM holdings WHERE status = 'available' AND valid_until > ?",
        rusqlite::params![after],
    )
}
