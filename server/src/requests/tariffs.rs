//! A tariff.

use club_shared::{ExpirationPolicy, RefundPolicy};
use serde::Deserialize;
use utoipa::ToSchema;

fn yes() -> bool {
    true
}

/// `zone_ids` as the document states it: distinct zone ids (a repeated one
/// would break the tariff's zone list's UNIQUE key).
fn zone_id_set() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64))),
        )
        .unique_items(true)
        .description(Some(
            "Zones the tariff may be played in, each once (404 for one that does not exist); \
             empty means all.",
        ))
        .build()
}

/// A tariff as POST and PUT take it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TariffInput {
    /// Unique; surrounding whitespace is trimmed.
    #[schema(
        min_length = 1,
        max_length = 80,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub name: String,
    /// 1 second to 366 days.
    #[schema(minimum = 1, maximum = 31622400)]
    pub duration_seconds: i64,
    /// Minor units.
    #[schema(minimum = 0, maximum = 10_000_000_000_i64)]
    pub price: i64,
    pub refund_policy: RefundPolicy,
    /// Share of the price payable in bonus; null = no cap.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100)]
    pub max_bonus_percent: Option<i64>,
    /// Days a bought holding stays usable; null = forever.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub validity_days: Option<i64>,
    #[serde(default)]
    pub expiration_policy: ExpirationPolicy,
    /// Club-local minutes after midnight; both or neither, and different.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1439)]
    pub window_start_minute: Option<i64>,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1439)]
    pub window_end_minute: Option<i64>,
    /// Zones the tariff may be played in, each once (404 for one that does
    /// not exist); empty means all.
    #[serde(default)]
    #[schema(schema_with = zone_id_set)]
    pub zone_ids: Vec<i64>,
    #[serde(default = "yes")]
    pub active: bool,
}
