use crate::store::audit::*;
use crate::store::sqlite::db::{Db, Query, Result};

crate::from_row!(AuditRow {
    id,
    at,
    operator_id,
    actor,
    kind,
    session_id,
    device_id,
    client_id,
    before,
    after,
    reason
});

impl AuditLog for Db {
    fn insert_audit(&mut self, a: &NewAudit) -> Result<()> {
        let c = self;
        c.run(
            "INSERT INTO audit (at, operator_id, actor, kind, session_id, device_id, client_id, \
         before, after, reason, shift_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \
         (SELECT id FROM shifts WHERE operator_id = ? AND closed_at IS NULL))",
            rusqlite::params![
                a.at,
                a.operator_id,
                a.actor,
                a.kind,
                a.session_id,
                a.device_id,
                a.client_id,
                a.before.as_ref().map(|v| v.to_string()),
                a.after.as_ref().map(|v| v.to_string()),
                &a.reason,
                a.operator_id
            ],
        )
        .map(drop)
    }

    fn list_audit(&mut self, f: &AuditFilter) -> Result<Vec<AuditRow>> {
        let c = self;
        let mut q = Query::new(
            "SELECT id, at, operator_id, actor, kind, session_id, device_id, client_id, before, \
         after, reason FROM audit WHERE 1 = 1",
        );
        if let Some(v) = f.session_id {
            q.push(" AND session_id = ").push_bind(v);
        }
        if let Some(v) = f.operator_id {
            q.push(" AND operator_id = ").push_bind(v);
        }
        if let Some(v) = f.from {
            q.push(" AND at >= ").push_bind(v);
        }
        if let Some(v) = f.to {
            q.push(" AND at < ").push_bind(v);
        }
        q.push(" ORDER BY id DESC LIMIT ").push_bind(f.limit);
        c.all(&q.sql, q.params())
    }
}
