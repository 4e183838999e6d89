//! Adding a tariff to a session.

use club_shared::Minor;
use serde::{Deserialize, Serialize};
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
    /// `extend` (the default) queues the tariff after the last one; `switch`
    /// starts it now and closes the current one.
    #[serde(default)]
    pub mode: AddMode,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// How a tariff joins a live session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AddMode {
    /// The client plays longer: the new segment runs after the last one,
    /// and the session ends later by its time. Nothing is given back.
    #[default]
    Extend,
    /// The client moves to another tariff now: the open segments close at
    /// this moment and their holdings keep the time they did not use.
    Switch,
}
