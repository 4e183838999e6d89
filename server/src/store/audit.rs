use super::db::Query;
use super::db::Result;
use super::Conn;

/// One audit entry to write; never edited afterwards.
#[derive(Debug, Clone, Default)]
pub struct NewAudit {
    pub at: i64,
    pub operator_id: Option<i64>,
    pub actor: &'static str,
    pub kind: &'static str,
    pub session_id: Option<i64>,
    pub device_id: Option<i64>,
    pub client_id: Option<i64>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub operator_id: Option<i64>,
    pub actor: String,
    pub kind: String,
    pub session_id: Option<i64>,
    pub device_id: Option<i64>,
    pub client_id: Option<i64>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub reason: Option<String>,
}

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

pub fn insert_audit(c: &mut Conn, a: &NewAudit) -> Result<()> {
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

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub session_id: Option<i64>,
    pub operator_id: Option<i64>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub limit: i64,
}

pub fn list_audit(c: &mut Conn, f: &AuditFilter) -> Result<Vec<AuditRow>> {
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
