//! Adding a tariff to a session.

use club_shared::Minor;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddTariff {
    /// A holding on the client's balance...
    #[serde(default)]
    pub holding_id: Option<i64>,
    /// ...or a tariff bought now (money plus bonus within the cap).
    #[serde(default)]
    pub tariff_id: Option<i64>,
    /// Bonus to spend when buying `tariff_id` (within the tariff's cap);
    /// 0 with `holding_id`.
    #[serde(default)]
    #[schema(value_type = i64, minimum = 0, maximum = 10_000_000_000_i64)]
    pub bonus_amount: Minor,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}
