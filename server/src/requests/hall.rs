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
    /// Its own clock (IANA) for tariff windows and its days, for a club in
    /// another time zone than the chain's; absent: the chain's.
    #[serde(default, deserialize_with = "some_text")]
    #[schema(schema_with = crate::service::time_zone_schema)]
    pub time_zone: Option<String>,
    /// Its own no-show rule: minutes after the planned start before a
    /// session nobody started is cancelled, 0 for none in this club; absent
    /// or null: the chain's (the settings' `no_show_minutes`).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1440)]
    pub no_show_minutes: Option<i64>,
}

/// A field that may be left out but, when given, is text (not null).
fn some_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
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
