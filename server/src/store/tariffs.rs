use super::Result;
use club_shared::{ExpirationPolicy, RefundPolicy};

#[derive(Debug, Clone)]
pub struct TariffRow {
    pub id: i64,
    pub name: String,
    pub duration_seconds: i64,
    pub price: i64,
    pub refund_policy: RefundPolicy,
    pub max_bonus_percent: Option<i64>,
    pub validity_days: Option<i64>,
    pub expiration_policy: ExpirationPolicy,
    pub window_start_minute: Option<i64>,
    pub window_end_minute: Option<i64>,
    pub active: bool,
}

/// The writable fields of a tariff.
#[derive(Debug, Clone)]
pub struct TariffFields<'a> {
    pub name: &'a str,
    pub duration_seconds: i64,
    pub price: i64,
    pub refund_policy: RefundPolicy,
    pub max_bonus_percent: Option<i64>,
    pub validity_days: Option<i64>,
    pub expiration_policy: ExpirationPolicy,
    pub window_start_minute: Option<i64>,
    pub window_end_minute: Option<i64>,
    pub active: bool,
}

/// What the store keeps of tariffs, as every backend answers it.
pub trait Tariffs {
    fn insert_tariff(&mut self, t: &TariffFields<'_>, now: i64) -> Result<i64>;
    fn update_tariff(&mut self, id: i64, t: &TariffFields<'_>, now: i64) -> Result<()>;
    fn set_tariff_zones(&mut self, tariff_id: i64, zone_ids: &[i64]) -> Result<()>;
    fn tariff_zones(&mut self, tariff_id: i64) -> Result<Vec<i64>>;
    fn get_tariff(&mut self, id: i64) -> Result<Option<TariffRow>>;
    fn list_tariffs(&mut self) -> Result<Vec<TariffRow>>;
}
