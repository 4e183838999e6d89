use super::Result;
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

/// What the store keeps of clients, as every backend answers it.
pub trait Clients {
    fn insert_client(
        &mut self,
        name: &str,
        phone: &str,
        auto_renewal: bool,
        pin_hash: Option<&str>,
        now: i64,
    ) -> Result<i64>;
    fn update_client(
        &mut self,
        id: i64,
        name: &str,
        phone: &str,
        auto_renewal: bool,
        pin_hash: Option<&str>,
    ) -> Result<()>;
    fn get_client(&mut self, id: i64) -> Result<Option<ClientRow>>;
    fn get_client_by_phone(&mut self, phone: &str) -> Result<Option<ClientRow>>;
    /// Clients whose name or phone contains `search` (all when empty).
    fn search_clients(&mut self, search: &str, limit: i64) -> Result<Vec<ClientRow>>;
    fn list_client_ids(&mut self) -> Result<Vec<i64>>;
    fn insert_ledger(&mut self, e: &NewLedger<'_>) -> Result<()>;
    fn client_ledger(&mut self, client_id: i64) -> Result<Vec<LedgerRow>>;
    /// (money, bonus) sums of a client's ledger.
    fn ledger_sums(&mut self, client_id: i64) -> Result<(i64, i64)>;
    fn insert_order(&mut self, o: &NewOrder<'_>) -> Result<i64>;
    fn set_order_holding(&mut self, order_id: i64, holding_id: i64) -> Result<()>;
    #[allow(clippy::too_many_arguments)] // one column each; a struct would only rename them
    /// Inserts an available holding with all its time left; answers the row.
    fn insert_holding(
        &mut self,
        client_id: i64,
        tariff_id: i64,
        total_seconds: i64,
        price_paid: i64,
        purchased_at: i64,
        valid_until: Option<i64>,
    ) -> Result<HoldingRow>;
    fn get_holding(&mut self, id: i64) -> Result<Option<HoldingRow>>;
    fn client_holdings(&mut self, client_id: i64) -> Result<Vec<HoldingRow>>;
    fn update_holding(
        &mut self,
        id: i64,
        remaining_seconds: i64,
        value_remaining: i64,
        status: HoldingStatus,
    ) -> Result<()>;
    fn insert_value_movement(&mut self, m: &NewValueMovement<'_>) -> Result<()>;
    fn money_totals(&mut self) -> Result<MoneyTotals>;
    /// A holding the client can play next from: this tariff, time left, not
    /// reserved by another session, valid at `at`. Oldest first.
    fn available_holding_of_tariff(
        &mut self,
        client_id: i64,
        tariff_id: i64,
        at: i64,
    ) -> Result<Option<HoldingRow>>;
    /// Holdings past their validity that no live session holds.
    fn due_expiries(&mut self, now: i64) -> Result<Vec<i64>>;
    fn next_expiry(&mut self, after: i64) -> Result<Option<i64>>;
}
