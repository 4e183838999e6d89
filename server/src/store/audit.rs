use super::Result;

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
    pub operator_login: Option<String>,
    pub device_name: Option<String>,
    pub client_name: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub session_id: Option<i64>,
    pub operator_id: Option<i64>,
    /// Entries about this club: its PCs, its PCs' sessions, its shifts,
    /// its operators' doings.
    pub club_id: Option<i64>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// The next page: entries older than this id.
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// What the store keeps of audit, as every backend answers it.
pub trait AuditLog {
    fn insert_audit(&mut self, a: &NewAudit) -> Result<()>;
    fn list_audit(&mut self, f: &AuditFilter) -> Result<Vec<AuditRow>>;
}
