use super::Result;

#[derive(Debug, Clone)]
pub struct OrderRow {
    pub id: i64,
    pub at: i64,
    pub client_id: i64,
    pub operator_id: Option<i64>,
    pub kind: String,
    pub method: Option<String>,
    pub money: i64,
    pub bonus: i64,
    pub tariff_id: Option<i64>,
    pub holding_id: Option<i64>,
    pub session_id: Option<i64>,
    pub refund_of: Option<i64>,
    pub reason: Option<String>,
    pub shift_id: Option<i64>,
    pub refunded: i64,
    pub tariff_name: Option<String>,
    pub client_name: String,
    pub operator_login: Option<String>,
}

/// Which orders to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub client_id: Option<i64>,
    pub shift_id: Option<i64>,
    /// Orders of this club: taken in its shifts, for its sessions, or by
    /// its operators.
    pub club_id: Option<i64>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub before_id: Option<i64>,
    pub limit: i64,
}

#[derive(Debug, Clone)]
pub struct ShiftRow {
    pub id: i64,
    pub operator_id: i64,
    pub operator_login: String,
    pub opened_at: i64,
    pub closed_at: Option<i64>,
    pub z_report: Option<String>,
    pub opening_cash: i64,
    pub counted_cash: Option<i64>,
    /// The club whose desk it is.
    pub club_id: i64,
}

/// (kind, method, money, bonus, count) of a shift's orders.
pub type OrderTotal = (String, Option<String>, i64, i64, i64);

/// (session_id, delta, reason, operator_id, at) of a correction.
pub type CorrectionLine = (i64, i64, String, Option<i64>, i64);

/// (session_id, operator_id, at, reason) of a cancellation.
pub type CancellationLine = (Option<i64>, Option<i64>, i64, Option<String>);

/// What the store keeps of orders, as every backend answers it.
pub trait Orders {
    fn get_order(&mut self, id: i64) -> Result<Option<OrderRow>>;
    fn list_orders(&mut self, f: &OrderFilter) -> Result<Vec<OrderRow>>;
    /// Revenue a holding has earned and not yet given back.
    fn holding_revenue(&mut self, holding_id: i64) -> Result<i64>;
    fn open_shift(
        &mut self,
        operator_id: i64,
        club_id: i64,
        at: i64,
        opening_cash: i64,
    ) -> Result<i64>;
    /// Shifts, newest first: of one operator if given, before the shift
    /// `before_id` if given (the next page), at most `limit`.
    fn list_shifts(
        &mut self,
        operator_id: Option<i64>,
        club_id: Option<i64>,
        before_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ShiftRow>>;
    fn open_shift_of(&mut self, operator_id: i64) -> Result<Option<ShiftRow>>;
    fn get_shift(&mut self, id: i64) -> Result<Option<ShiftRow>>;
    fn close_shift(&mut self, id: i64, at: i64, counted_cash: i64, z_report: &str) -> Result<()>;
    /// The totals of a shift's orders by kind and method.
    fn shift_order_totals(&mut self, shift_id: i64) -> Result<Vec<OrderTotal>>;
    /// (bonus issued, bonus spent) in a shift.
    fn shift_bonus(&mut self, shift_id: i64) -> Result<(i64, i64)>;
    /// A shift's corrections.
    fn shift_corrections(&mut self, shift_id: i64) -> Result<Vec<CorrectionLine>>;
    /// A shift's cancellations.
    fn shift_cancellations(&mut self, shift_id: i64) -> Result<Vec<CancellationLine>>;
}
