use crate::store::orders::*;
use crate::store::sql::{Query, Result, Sql};

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
    tariff_name,
    client_name,
    operator_login
});

const ORDER_COLUMNS: &str = "SELECT o.id, o.at, o.client_id, o.operator_id, o.kind, o.method, \
     o.money, o.bonus, o.tariff_id, o.holding_id, o.session_id, o.refund_of, o.reason, o.shift_id, \
     (SELECT COALESCE(SUM(r.money), 0) FROM orders r WHERE r.refund_of = o.id) AS refunded, \
     t.name AS tariff_name, c.name AS client_name, op.login AS operator_login \
     FROM orders o LEFT JOIN tariffs t ON t.id = o.tariff_id \
     JOIN clients c ON c.id = o.client_id LEFT JOIN operators op ON op.id = o.operator_id";

crate::from_row!(ShiftRow {
    id,
    operator_id,
    operator_login,
    opened_at,
    closed_at,
    z_report,
    opening_cash,
    counted_cash,
    club_id
});

const SHIFT_COLUMNS: &str = "SELECT s.id, s.operator_id, o.login AS operator_login, s.opened_at,      s.closed_at, s.z_report, s.opening_cash, s.counted_cash, s.club_id      FROM shifts s JOIN operators o ON o.id = s.operator_id";

impl<D: Sql> Orders for D {
    fn get_order(&mut self, id: i64) -> Result<Option<OrderRow>> {
        let c = self;
        c.one(&format!("{ORDER_COLUMNS} WHERE o.id = ?"), crate::args![id])
    }

    fn list_orders(&mut self, f: &OrderFilter) -> Result<Vec<OrderRow>> {
        let c = self;
        let mut q = Query::new(ORDER_COLUMNS);
        q.push(" WHERE 1 = 1");
        if let Some(v) = f.client_id {
            q.push(" AND o.client_id = ").push_bind(v);
        }
        if let Some(v) = f.shift_id {
            q.push(" AND o.shift_id = ").push_bind(v);
        }
        if let Some(v) = f.club_id {
            q.push(" AND (EXISTS (SELECT 1 FROM shifts h WHERE h.id = o.shift_id AND h.club_id = ")
                .push_bind(v);
            q.push(
                ") OR EXISTS (SELECT 1 FROM sessions s JOIN devices d ON d.id = s.device_id \
                 WHERE s.id = o.session_id AND d.club_id = ",
            )
            .push_bind(v);
            q.push(") OR EXISTS (SELECT 1 FROM operators p WHERE p.id = o.operator_id AND p.club_id = ")
                .push_bind(v)
                .push("))");
        }
        if let Some(v) = f.from {
            q.push(" AND o.at >= ").push_bind(v);
        }
        if let Some(v) = f.to {
            q.push(" AND o.at < ").push_bind(v);
        }
        if let Some(v) = f.before_id {
            q.push(" AND o.id < ").push_bind(v);
        }
        q.push(" ORDER BY o.id DESC LIMIT ").push_bind(f.limit);
        c.all(&q.sql, &q.args())
    }

    fn holding_revenue(&mut self, holding_id: i64) -> Result<i64> {
        let c = self;
        c.first("SELECT COALESCE(SUM(CASE kind WHEN 'usage' THEN amount WHEN 'revenue_refund' THEN -amount END), 0) \
         FROM value_movements WHERE holding_id = ?", crate::args![holding_id])
    }

    fn open_shift(
        &mut self,
        operator_id: i64,
        club_id: i64,
        at: i64,
        opening_cash: i64,
    ) -> Result<i64> {
        let c = self;
        c.insert(
            "INSERT INTO shifts (operator_id, club_id, opened_at, opening_cash) \
             VALUES (?, ?, ?, ?)",
            crate::args![operator_id, club_id, at, opening_cash],
        )
    }

    fn list_shifts(
        &mut self,
        operator_id: Option<i64>,
        club_id: Option<i64>,
        before_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ShiftRow>> {
        let c = self;
        c.all(
            &format!(
                "{SHIFT_COLUMNS} WHERE (CAST(?1 AS BIGINT) IS NULL OR s.operator_id = ?1) \
                 AND (CAST(?2 AS BIGINT) IS NULL OR s.club_id = ?2) \
                 AND (CAST(?3 AS BIGINT) IS NULL OR s.id < ?3) ORDER BY s.id DESC LIMIT ?4"
            ),
            crate::args![operator_id, club_id, before_id, limit],
        )
    }

    fn open_shift_of(&mut self, operator_id: i64) -> Result<Option<ShiftRow>> {
        let c = self;
        c.one(
            &format!("{SHIFT_COLUMNS} WHERE s.operator_id = ? AND s.closed_at IS NULL"),
            crate::args![operator_id],
        )
    }

    fn get_shift(&mut self, id: i64) -> Result<Option<ShiftRow>> {
        let c = self;
        c.one(&format!("{SHIFT_COLUMNS} WHERE s.id = ?"), crate::args![id])
    }

    fn close_shift(&mut self, id: i64, at: i64, counted_cash: i64, z_report: &str) -> Result<()> {
        let c = self;
        c.run(
            "UPDATE shifts SET closed_at = ?, counted_cash = ?, z_report = ? \
             WHERE id = ? AND closed_at IS NULL",
            crate::args![at, counted_cash, z_report, id],
        )
        .map(drop)
    }

    fn shift_order_totals(&mut self, shift_id: i64) -> Result<Vec<OrderTotal>> {
        let c = self;
        c.all(
            "SELECT kind, method, SUM(money), SUM(bonus), COUNT(*) FROM orders WHERE shift_id = ? \
         GROUP BY kind, method ORDER BY kind, method",
            crate::args![shift_id],
        )
    }

    fn shift_bonus(&mut self, shift_id: i64) -> Result<(i64, i64)> {
        let c = self;
        c.first(
            "SELECT COALESCE(SUM(CASE WHEN amount > 0 THEN amount END), 0), \
         COALESCE(-SUM(CASE WHEN amount < 0 THEN amount END), 0) \
         FROM ledger WHERE shift_id = ? AND account = 'bonus'",
            crate::args![shift_id],
        )
    }

    fn shift_corrections(&mut self, shift_id: i64) -> Result<Vec<CorrectionLine>> {
        let c = self;
        c.all("SELECT session_id, delta, reason, operator_id, at FROM price_corrections WHERE shift_id = ? ORDER BY id", crate::args![shift_id])
    }

    fn shift_cancellations(&mut self, shift_id: i64) -> Result<Vec<CancellationLine>> {
        let c = self;
        c.all(
            "SELECT session_id, operator_id, at, reason FROM audit WHERE shift_id = ? \
         AND kind = 'session.cancel' ORDER BY id",
            crate::args![shift_id],
        )
    }
}
