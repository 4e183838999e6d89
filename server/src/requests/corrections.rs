//! Corrections of a running session: a move, a price correction.

use club_shared::Minor;
use serde::Deserialize;
use utoipa::ToSchema;

/// The largest price correction either way, in minor units.
pub const MAX_CORRECTION: Minor = 1_000_000_00;

/// A price correction's delta as the document states it: not zero, within
/// ±MAX_CORRECTION.
fn correction_delta() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{
        KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
    };
    let range = |min: Minor, max: Minor| {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(min))
            .maximum(Some(max))
    };
    Schema::OneOf(
        OneOfBuilder::new()
            .item(range(-MAX_CORRECTION, -1))
            .item(range(1, MAX_CORRECTION))
            .description(Some(
                "Signed minor units: positive charges the client, negative gives back; \
                 not zero, at most 100000000 either way.",
            ))
            .build(),
    )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveSession {
    /// Another PC than the session's (404 if there is no such PC).
    pub device_id: i64,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceCorrection {
    /// Signed minor units: positive charges the client, negative gives back;
    /// not zero, at most 100000000 either way.
    #[schema(schema_with = correction_delta)]
    pub delta: Minor,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub reason: String,
}
