use crate::store::audit::*;
use crate::store::sql::{Query, Result, Sql};

crate::from_row!(AuditRow {
    id,
    at,
    operator_id,
    actor,
    kind,
    session_id,
    device_id,
    client_id,
    operator_login,
    device_name,
    client_name,
    before,
    after,
    reason
});

impl<D: Sql> AuditLog for D {
    fn insert_audit(&mut self, a: &NewAudit) -> Result<()> {
        let c = self;
        c.run(
            "INSERT INTO audit (at, operator_id, actor, kind, session_id, device_id, client_id, \
         before, after, reason, shift_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \
         (SELECT id FROM shifts WHERE operator_id = ? AND closed_at IS NULL))",
            crate::args![
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
            "SELECT a.id, a.at, a.operator_id, a.actor, a.kind, a.session_id, a.device_id, \
             a.client_id, o.login AS operator_login, d.name AS device_name, \
             c.name AS client_name, a.before, a.after, a.reason FROM audit a \
             LEFT JOIN operators o ON o.id = a.operator_id \
             LEFT JOIN devices d ON d.id = a.device_id \
             LEFT JOIN clients c ON c.id = a.client_id WHERE 1 = 1",
        );
        if let Some(v) = f.session_id {
            q.push(" AND a.session_id = ").push_bind(v);
        }
        if let Some(v) = f.operator_id {
            q.push(" AND a.operator_id = ").push_bind(v);
        }
        if let Some(v) = f.club_id {
            q.push(" AND (d.club_id = ").push_bind(v);
            q.push(
                " OR EXISTS (SELECT 1 FROM sessions s JOIN devices sd ON sd.id = s.device_id \
                 WHERE s.id = a.session_id AND sd.club_id = ",
            )
            .push_bind(v);
            q.push(") OR EXISTS (SELECT 1 FROM shifts h WHERE h.id = a.shift_id AND h.club_id = ")
                .push_bind(v);
            q.push(") OR o.club_id = ").push_bind(v).push(")");
        }
        if let Some(v) = f.from {
            q.push(" AND a.at >= ").push_bind(v);
        }
        if let Some(v) = f.to {
            q.push(" AND a.at < ").push_bind(v);
        }
        if let Some(v) = f.before_id {
            q.push(" AND a.id < ").push_bind(v);
        }
        q.push(" ORDER BY a.id DESC LIMIT ").push_bind(f.limit);
        c.all(&q.sql, &q.args())
    }
}
