use crate::store::sessions::*;
use crate::store::sql::{Query, Result, Sql};
use club_shared::{RefundPolicy, SessionStatus};

crate::from_row!(SessionRow {
    id,
    client_id,
    client_name,
    device_id,
    device_name,
    status,
    planned_start_at,
    actual_start_at,
    actual_end_at,
    ends_at,
    cancelled_at,
    cancelled_by,
    cancelled_by_login,
    end_kind,
    start_press_id,
    receipt,
    club_id
});

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

crate::from_row!(BindingRow {
    device_id,
    planned_start_at,
    actual_start_at,
    actual_end_at
});

crate::from_row!(PriceCorrectionRow {
    delta,
    reason,
    operator_id,
    at
});

const SESSION_COLUMNS: &str = "SELECT s.id, s.client_id, c.name AS client_name, s.device_id, \
     d.name AS device_name, s.status, s.planned_start_at, s.actual_start_at, s.actual_end_at, \
     s.ends_at, s.cancelled_at, s.cancelled_by, o.login AS cancelled_by_login, s.end_kind, \
     s.start_press_id, s.receipt, d.club_id \
     FROM sessions s JOIN clients c ON c.id = s.client_id JOIN devices d ON d.id = s.device_id \
     LEFT JOIN operators o ON o.id = s.cancelled_by";

const SEGMENT_COLUMNS: &str = "SELECT g.id, g.session_id, g.position, g.holding_id, \
     g.tariff_id, t.name AS tariff_name, g.reserved_seconds, g.starts_at, g.ends_at, \
     g.closed_at, g.seconds_used, g.amount, g.refund_policy, g.max_bonus_percent \
     FROM segments g JOIN tariffs t ON t.id = g.tariff_id";

/// The live sessions, of one PC or all. The status term is written exactly
/// as the partial index `sessions_live_by_device` (migration 10) says it:
/// SQLite uses a partial index only for a query whose WHERE contains its
/// condition, and every session operation reads its PC's live sessions.
fn live_query(device_id: Option<i64>) -> Query {
    let mut q = Query::new(SESSION_COLUMNS);
    q.push(" WHERE s.status IN ('PENDING', 'ACTIVE', 'STARTED')");
    if let Some(d) = device_id {
        q.push(" AND s.device_id = ").push_bind(d);
    }
    q.push(" ORDER BY s.planned_start_at, s.id");
    q
}

impl<D: Sql> Sessions for D {
    fn insert_session(
        &mut self,
        client_id: i64,
        device_id: i64,
        status: SessionStatus,
        planned_start_at: i64,
        now: i64,
        created_by: Option<i64>,
    ) -> Result<i64> {
        let c = self;
        c.insert(
            "INSERT INTO sessions (client_id, device_id, status, planned_start_at, created_at, \
         created_by) VALUES (?, ?, ?, ?, ?, ?)",
            crate::args![
                client_id,
                device_id,
                status.as_str(),
                planned_start_at,
                now,
                created_by
            ],
        )
    }

    fn get_session(&mut self, id: i64) -> Result<Option<SessionRow>> {
        let c = self;
        c.one(
            &format!("{SESSION_COLUMNS} WHERE s.id = ?"),
            crate::args![id],
        )
    }

    fn live_sessions(&mut self, device_id: Option<i64>) -> Result<Vec<SessionRow>> {
        let q = live_query(device_id);
        self.all(&q.sql, &q.args())
    }

    fn list_sessions(&mut self, f: &SessionFilter) -> Result<Vec<SessionRow>> {
        let c = self;
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
        if let Some(v) = f.club_id {
            q.push(" AND d.club_id = ").push_bind(v);
        }
        if let Some(v) = f.from {
            q.push(" AND s.planned_start_at >= ").push_bind(v);
        }
        if let Some(v) = f.to {
            q.push(" AND s.planned_start_at < ").push_bind(v);
        }
        if let Some(v) = f.before_id {
            q.push(" AND s.id < ").push_bind(v);
        }
        q.push(" ORDER BY s.id DESC LIMIT ").push_bind(f.limit);
        c.all(&q.sql, &q.args())
    }

    fn set_session_status(&mut self, id: i64, status: SessionStatus) -> Result<()> {
        let c = self;
        c.run(
            "UPDATE sessions SET status = ? WHERE id = ?",
            crate::args![status.as_str(), id],
        )
        .map(drop)
    }

    fn mark_session_started(
        &mut self,
        id: i64,
        at: i64,
        ends_at: i64,
        press_id: Option<&str>,
    ) -> Result<()> {
        let c = self;
        c.run(
            "UPDATE sessions SET status = 'STARTED', actual_start_at = ?, ends_at = ?, \
         start_press_id = ? WHERE id = ?",
            crate::args![at, ends_at, press_id, id],
        )
        .map(drop)
    }

    fn mark_session_cancelled(
        &mut self,
        id: i64,
        at: i64,
        by: Option<i64>,
        reason: Option<&str>,
    ) -> Result<()> {
        let c = self;
        c.run(
            "UPDATE sessions SET status = 'CANCELLED', cancelled_at = ?, cancelled_by = ?, \
         cancel_reason = ? WHERE id = ?",
            crate::args![at, by, reason, id],
        )
        .map(drop)
    }

    fn mark_session_ended(
        &mut self,
        id: i64,
        at: i64,
        end_kind: &str,
        receipt: &str,
    ) -> Result<()> {
        let c = self;
        c.run(
            "UPDATE sessions SET status = 'ENDED', actual_end_at = ?, end_kind = ?, receipt = ? \
         WHERE id = ?",
            crate::args![at, end_kind, receipt, id],
        )
        .map(drop)
    }

    #[allow(clippy::too_many_arguments)] // one column each
    fn insert_segment(
        &mut self,
        session_id: i64,
        position: i64,
        holding_id: i64,
        tariff_id: i64,
        reserved_seconds: i64,
        refund_policy: RefundPolicy,
        max_bonus_percent: Option<i64>,
    ) -> Result<i64> {
        let c = self;
        c.insert(
            "INSERT INTO segments (session_id, position, holding_id, tariff_id, reserved_seconds, \
         refund_policy, max_bonus_percent) VALUES (?, ?, ?, ?, ?, ?, ?)",
            crate::args![
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

    fn session_segments(&mut self, session_id: i64) -> Result<Vec<SegmentRow>> {
        let c = self;
        c.all(
            &format!("{SEGMENT_COLUMNS} WHERE g.session_id = ? ORDER BY g.position"),
            crate::args![session_id],
        )
    }

    fn open_segment(&mut self, id: i64, starts_at: i64, ends_at: i64) -> Result<()> {
        let c = self;
        c.run(
            "UPDATE segments SET starts_at = ?, ends_at = ? WHERE id = ? AND starts_at IS NULL",
            crate::args![starts_at, ends_at, id],
        )
        .map(drop)
    }

    fn close_segment(
        &mut self,
        id: i64,
        closed_at: i64,
        seconds_used: i64,
        amount: i64,
    ) -> Result<()> {
        let c = self;
        c.run(
            "UPDATE segments SET closed_at = ?, seconds_used = ?, amount = ? \
         WHERE id = ? AND closed_at IS NULL",
            crate::args![closed_at, seconds_used, amount, id],
        )
        .map(drop)
    }

    fn insert_binding(
        &mut self,
        session_id: i64,
        device_id: i64,
        planned_start_at: i64,
    ) -> Result<()> {
        let c = self;
        c.run(
            "INSERT INTO bindings (session_id, device_id, planned_start_at) VALUES (?, ?, ?)",
            crate::args![session_id, device_id, planned_start_at],
        )
        .map(drop)
    }

    fn start_binding(&mut self, session_id: i64, at: i64) -> Result<()> {
        let c = self;
        c.run(
            "UPDATE bindings SET actual_start_at = ? \
         WHERE session_id = ? AND actual_start_at IS NULL AND actual_end_at IS NULL",
            crate::args![at, session_id],
        )
        .map(drop)
    }

    fn end_binding(&mut self, session_id: i64, at: i64) -> Result<()> {
        let c = self;
        c.run(
            "UPDATE bindings SET actual_end_at = ? WHERE session_id = ? AND actual_end_at IS NULL",
            crate::args![at, session_id],
        )
        .map(drop)
    }

    fn session_bindings(&mut self, session_id: i64) -> Result<Vec<BindingRow>> {
        let c = self;
        c.all(
            "SELECT device_id, planned_start_at, actual_start_at, actual_end_at FROM bindings \
         WHERE session_id = ? ORDER BY id",
            crate::args![session_id],
        )
    }

    fn session_price_corrections(&mut self, session_id: i64) -> Result<Vec<PriceCorrectionRow>> {
        let c = self;
        c.all(
            "SELECT delta, reason, operator_id, at FROM price_corrections WHERE session_id = ? \
         ORDER BY id",
            crate::args![session_id],
        )
    }

    fn set_session_device(&mut self, id: i64, device_id: i64) -> Result<()> {
        let c = self;
        c.run(
            "UPDATE sessions SET device_id = ? WHERE id = ?",
            crate::args![device_id, id],
        )
        .map(drop)
    }

    fn set_session_ends_at(&mut self, id: i64, ends_at: Option<i64>) -> Result<()> {
        let c = self;
        c.run(
            "UPDATE sessions SET ends_at = ? WHERE id = ?",
            crate::args![ends_at, id],
        )
        .map(drop)
    }

    fn insert_running_binding(
        &mut self,
        session_id: i64,
        device_id: i64,
        planned_start_at: i64,
        actual_start_at: Option<i64>,
    ) -> Result<()> {
        let c = self;
        c.run(
            "INSERT INTO bindings (session_id, device_id, planned_start_at, actual_start_at) \
         VALUES (?, ?, ?, ?)",
            crate::args![session_id, device_id, planned_start_at, actual_start_at],
        )
        .map(drop)
    }

    fn insert_price_correction(
        &mut self,
        session_id: i64,
        delta: i64,
        reason: &str,
        operator_id: Option<i64>,
        at: i64,
    ) -> Result<()> {
        let c = self;
        c.run("INSERT INTO price_corrections (session_id, delta, reason, operator_id, at, shift_id) \
         VALUES (?, ?, ?, ?, ?, (SELECT id FROM shifts WHERE operator_id = ? AND closed_at IS NULL))", crate::args![session_id, delta, reason, operator_id, at, operator_id])
    .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pcs_live_sessions_are_read_from_the_small_partial_index() {
        use crate::store::sqlite::db::Db;
        let db = Db::new(rusqlite::Connection::open_in_memory().unwrap());
        crate::store::sqlite::migrate::run(&db, 0).unwrap();
        let q = live_query(Some(1));
        let mut plan = db
            .raw()
            .prepare(&format!("EXPLAIN QUERY PLAN {}", q.sql))
            .unwrap();
        let steps: Vec<String> = plan
            .query_map(rusqlite::params_from_iter(q.args()), |r| {
                r.get::<_, String>(3)
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            steps
                .iter()
                .any(|s| s.contains("USING INDEX sessions_live_by_device")),
            "{steps:?}"
        );
    }
}
