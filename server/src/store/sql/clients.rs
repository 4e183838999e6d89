use crate::store::clients::*;
use crate::store::sql::{Result, Sql};
use club_shared::{Account, HoldingStatus};

crate::from_row!(ClientRow {
    id,
    name,
    phone,
    auto_renewal,
    pin_hash,
    balance,
    bonus_balance
});

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

const CLIENT_COLUMNS: &str =
    "SELECT id, name, phone, auto_renewal, pin_hash, balance, bonus_balance FROM clients";
const HOLDING_COLUMNS: &str = "SELECT id, client_id, tariff_id, total_seconds, \
     remaining_seconds, price_paid, value_remaining, purchased_at, valid_until, status \
     FROM holdings";

crate::from_row!(MoneyTotals {
    topped_up,
    balances,
    bonus_balances,
    holding_value,
    revenue,
    burned,
    paid_out
});

impl<D: Sql> Clients for D {
    fn insert_client(
        &mut self,
        name: &str,
        phone: &str,
        auto_renewal: bool,
        pin_hash: Option<&str>,
        now: i64,
    ) -> Result<i64> {
        let c = self;
        c.insert(
            "INSERT INTO clients (name, phone, auto_renewal, pin_hash, created_at) \
         VALUES (?, ?, ?, ?, ?)",
            crate::args![name, phone, auto_renewal, pin_hash, now],
        )
    }

    fn update_client(
        &mut self,
        id: i64,
        name: &str,
        phone: &str,
        auto_renewal: bool,
        pin_hash: Option<&str>,
    ) -> Result<()> {
        let c = self;
        c.run(
            "UPDATE clients SET name = ?, phone = ?, auto_renewal = ?, pin_hash = ? WHERE id = ?",
            crate::args![name, phone, auto_renewal, pin_hash, id],
        )
        .map(drop)
    }

    fn get_client(&mut self, id: i64) -> Result<Option<ClientRow>> {
        let c = self;
        c.one(&format!("{CLIENT_COLUMNS} WHERE id = ?"), crate::args![id])
    }

    fn get_client_by_phone(&mut self, phone: &str) -> Result<Option<ClientRow>> {
        let c = self;
        c.one(
            &format!("{CLIENT_COLUMNS} WHERE phone = ?"),
            crate::args![phone],
        )
    }

    fn search_clients(&mut self, search: &str, limit: i64) -> Result<Vec<ClientRow>> {
        let c = self;
        let pattern = format!("%{}%", search.replace(['%', '_'], ""));
        c.all(
            &format!(
                "{CLIENT_COLUMNS} WHERE lower(name) LIKE lower(?1) OR phone LIKE ?1 \
                 ORDER BY name, id LIMIT ?2"
            ),
            crate::args![pattern, limit],
        )
    }

    fn list_client_ids(&mut self) -> Result<Vec<i64>> {
        let c = self;
        c.all("SELECT id FROM clients ORDER BY id", &[])
    }

    fn insert_ledger(&mut self, e: &NewLedger<'_>) -> Result<()> {
        let c = self;
        let column = match e.account {
            Account::Money => "balance",
            Account::Bonus => "bonus_balance",
        };
        c.run(
            &format!("UPDATE clients SET {column} = {column} + ? WHERE id = ?"),
            crate::args![e.amount, e.client_id],
        )?;
        c.run(
            "INSERT INTO ledger (at, client_id, account, amount, kind, order_id, session_id, \
         operator_id, shift_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, \
         (SELECT id FROM shifts WHERE operator_id = ? AND closed_at IS NULL))",
            crate::args![
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

    fn client_ledger(&mut self, client_id: i64) -> Result<Vec<LedgerRow>> {
        let c = self;
        c.all(
            "SELECT id, at, account, amount, kind, order_id, session_id, operator_id FROM ledger \
         WHERE client_id = ? ORDER BY id",
            crate::args![client_id],
        )
    }

    fn ledger_sums(&mut self, client_id: i64) -> Result<(i64, i64)> {
        let c = self;
        c.first(
            "SELECT COALESCE(SUM(CASE WHEN account = 'money' THEN amount END), 0), \
         COALESCE(SUM(CASE WHEN account = 'bonus' THEN amount END), 0) \
         FROM ledger WHERE client_id = ?",
            crate::args![client_id],
        )
    }

    fn insert_order(&mut self, o: &NewOrder<'_>) -> Result<i64> {
        let c = self;
        c.insert(
        "INSERT INTO orders (at, client_id, operator_id, kind, method, money, bonus, tariff_id, \
         refund_of, session_id, reason, shift_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \
         (SELECT id FROM shifts WHERE operator_id = ? AND closed_at IS NULL))",
        crate::args![
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

    fn set_order_holding(&mut self, order_id: i64, holding_id: i64) -> Result<()> {
        let c = self;
        c.run(
            "UPDATE orders SET holding_id = ? WHERE id = ?",
            crate::args![holding_id, order_id],
        )
        .map(drop)
    }

    #[allow(clippy::too_many_arguments)] // one column each; a struct would only rename them
    fn insert_holding(
        &mut self,
        client_id: i64,
        tariff_id: i64,
        total_seconds: i64,
        price_paid: i64,
        purchased_at: i64,
        valid_until: Option<i64>,
    ) -> Result<HoldingRow> {
        let c = self;
        c.first(
            "INSERT INTO holdings (client_id, tariff_id, total_seconds, remaining_seconds, \
         price_paid, value_remaining, purchased_at, valid_until, status) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'available') \
         RETURNING id, client_id, tariff_id, total_seconds, remaining_seconds, price_paid, \
         value_remaining, purchased_at, valid_until, status",
            crate::args![
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

    fn get_holding(&mut self, id: i64) -> Result<Option<HoldingRow>> {
        let c = self;
        c.one(&format!("{HOLDING_COLUMNS} WHERE id = ?"), crate::args![id])
    }

    fn client_holdings(&mut self, client_id: i64) -> Result<Vec<HoldingRow>> {
        let c = self;
        c.all(
            &format!("{HOLDING_COLUMNS} WHERE client_id = ? ORDER BY id"),
            crate::args![client_id],
        )
    }

    fn update_holding(
        &mut self,
        id: i64,
        remaining_seconds: i64,
        value_remaining: i64,
        status: HoldingStatus,
    ) -> Result<()> {
        let c = self;
        c.run(
        "UPDATE holdings SET remaining_seconds = ?, value_remaining = ?, status = ? WHERE id = ?",
        crate::args![remaining_seconds, value_remaining, status.as_str(), id],
    )
    .map(drop)
    }

    fn insert_value_movement(&mut self, m: &NewValueMovement<'_>) -> Result<()> {
        let c = self;
        c.run(
            "INSERT INTO value_movements (at, holding_id, session_id, segment_id, kind, seconds, \
         amount) VALUES (?, ?, ?, ?, ?, ?, ?)",
            crate::args![
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

    fn money_totals(&mut self) -> Result<MoneyTotals> {
        let c = self;
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
              WHERE kind = 'refund' AND method IN ('cash', 'card')) AS paid_out", &[])
    }

    fn available_holding_of_tariff(
        &mut self,
        client_id: i64,
        tariff_id: i64,
        at: i64,
    ) -> Result<Option<HoldingRow>> {
        let c = self;
        c.one(
            &format!(
        "{HOLDING_COLUMNS} WHERE client_id = ? AND tariff_id = ? AND status = 'available' \
         AND remaining_seconds > 0 AND (valid_until IS NULL OR valid_until > ?) ORDER BY id LIMIT 1"
    ),
            crate::args![client_id, tariff_id, at],
        )
    }

    fn due_expiries(&mut self, now: i64) -> Result<Vec<i64>> {
        let c = self;
        c.all(
            "SELECT id FROM holdings WHERE status = 'available' AND valid_until IS NOT NULL \
         AND valid_until <= ? ORDER BY id",
            crate::args![now],
        )
    }

    fn next_expiry(&mut self, after: i64) -> Result<Option<i64>> {
        let c = self;
        c.first(
            "SELECT MIN(valid_until) FROM holdings WHERE status = 'available' AND valid_until > ?",
            crate::args![after],
        )
    }
}
