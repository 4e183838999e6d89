//! The hall's zones and PCs.

use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClub {
    /// Unique in the chain; surrounding whitespace is trimmed.
    #[schema(
        min_length = 1,
        max_length = 60,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewZone {
    /// Unique; surrounding whitespace is trimmed.
    #[schema(
        min_length = 1,
        max_length = 60,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub name: String,
    /// Its club. Staff of one club make zones in theirs; the chain's staff
    /// name the club when the chain has more than one.
    #[serde(default)]
    pub club_id: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    /// Unique; surrounding whitespace is trimmed.
    #[schema(
        min_length = 1,
        max_length = 60,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub name: String,
    /// An existing zone (404 otherwise).
    pub zone_id: i64,
    /// Position on the hall map.
    #[schema(minimum = 0, maximum = 10000)]
    pub x: i64,
    #[schema(minimum = 0, maximum = 10000)]
    pub y: i64,
}
