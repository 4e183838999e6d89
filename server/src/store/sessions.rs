use super::Result;
use club_shared::{RefundPolicy, SessionStatus};

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: i64,
    pub client_id: i64,
    pub client_name: String,
    pub device_id: i64,
    pub device_name: String,
    pub status: SessionStatus,
    pub planned_start_at: i64,
    pub actual_start_at: Option<i64>,
    pub actual_end_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub cancelled_by: Option<i64>,
    pub cancelled_by_login: Option<String>,
    pub end_kind: Option<String>,
    pub start_press_id: Option<String>,
    pub receipt: Option<String>,
    /// Its PC's club.
    pub club_id: i64,
}

#[derive(Debug, Clone)]
pub struct SegmentRow {
    pub id: i64,
    pub session_id: i64,
    pub position: i64,
    pub holding_id: i64,
    pub tariff_id: i64,
    pub tariff_name: String,
    pub reserved_seconds: i64,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub seconds_used: Option<i64>,
    pub amount: Option<i64>,
    pub refund_policy: RefundPolicy,
    pub max_bonus_percent: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct BindingRow {
    pub device_id: i64,
    pub planned_start_at: i64,
    pub actual_start_at: Option<i64>,
    pub actual_end_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct PriceCorrectionRow {
    pub delta: i64,
    pub reason: String,
    pub operator_id: Option<i64>,
    pub at: i64,
}

#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub status: Option<SessionStatus>,
    pub client_id: Option<i64>,
    pub device_id: Option<i64>,
    pub operator_id: Option<i64>,
    /// Sessions on this club's PCs only.
    pub club_id: Option<i64>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// The next page: sessions older than this id.
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// What the store keeps of sessions, as every backend answers it.
pub trait Sessions {
    fn insert_session(
        &mut self,
        client_id: i64,
        device_id: i64,
        status: SessionStatus,
        planned_start_at: i64,
        now: i64,
        created_by: Option<i64>,
    ) -> Result<i64>;
    fn get_session(&mut self, id: i64) -> Result<Option<SessionRow>>;
    /// PENDING, ACTIVE and STARTED sessions, on one device or everywhere.
    fn live_sessions(&mut self, device_id: Option<i64>) -> Result<Vec<SessionRow>>;
    fn list_sessions(&mut self, f: &SessionFilter) -> Result<Vec<SessionRow>>;
    fn set_session_status(&mut self, id: i64, status: SessionStatus) -> Result<()>;
    fn mark_session_started(
        &mut self,
        id: i64,
        at: i64,
        ends_at: i64,
        press_id: Option<&str>,
    ) -> Result<()>;
    fn mark_session_cancelled(
        &mut self,
        id: i64,
        at: i64,
        by: Option<i64>,
        reason: Option<&str>,
    ) -> Result<()>;
    fn mark_session_ended(&mut self, id: i64, at: i64, end_kind: &str, receipt: &str)
        -> Result<()>;
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
    ) -> Result<i64>;
    fn session_segments(&mut self, session_id: i64) -> Result<Vec<SegmentRow>>;
    /// Sets the running span of a segment that has not started yet.
    fn open_segment(&mut self, id: i64, starts_at: i64, ends_at: i64) -> Result<()>;
    /// Closes a segment once; a closed segment is never written again.
    fn close_segment(
        &mut self,
        id: i64,
        closed_at: i64,
        seconds_used: i64,
        amount: i64,
    ) -> Result<()>;
    fn insert_binding(
        &mut self,
        session_id: i64,
        device_id: i64,
        planned_start_at: i64,
    ) -> Result<()>;
    fn start_binding(&mut self, session_id: i64, at: i64) -> Result<()>;
    fn end_binding(&mut self, session_id: i64, at: i64) -> Result<()>;
    fn session_bindings(&mut self, session_id: i64) -> Result<Vec<BindingRow>>;
    fn session_price_corrections(&mut self, session_id: i64) -> Result<Vec<PriceCorrectionRow>>;
    fn set_session_device(&mut self, id: i64, device_id: i64) -> Result<()>;
    fn set_session_ends_at(&mut self, id: i64, ends_at: Option<i64>) -> Result<()>;
    /// A binding on a new PC for a session that is already running there.
    fn insert_running_binding(
        &mut self,
        session_id: i64,
        device_id: i64,
        planned_start_at: i64,
        actual_start_at: Option<i64>,
    ) -> Result<()>;
    fn insert_price_correction(
        &mut self,
        session_id: i64,
        delta: i64,
        reason: &str,
        operator_id: Option<i64>,
        at: i64,
    ) -> Result<()>;
}
