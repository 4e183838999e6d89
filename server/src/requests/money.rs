//! Top-ups and purchases.

use club_shared::{Minor, PaymentMethod};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopUp {
    /// Minor units, 1 to 1000000000 (a typo guard).
    #[schema(value_type = i64, minimum = 1, maximum = 1000000000)]
    pub amount: Minor,
    pub method: PaymentMethod,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Purchase {
    /// An existing tariff (404 otherwise).
    pub tariff_id: i64,
    /// Bonus to spend, within the tariff's bonus cap and price.
    #[serde(default)]
    #[schema(value_type = i64, minimum = 0, maximum = 10_000_000_000_i64)]
    pub bonus_amount: Minor,
    /// Paid at the desk now, in cash or by card: the money part is taken
    /// (a top-up in the operator's shift) and spent on the tariff in one
    /// step, so the balance is left as it was. Left out: from the balance.
    #[serde(default)]
    pub pay: Option<PaymentMethod>,
}
