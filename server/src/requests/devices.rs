//! A PC's settings.

use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevicePatch {
    /// Unique; surrounding whitespace is trimmed.
    #[schema(
        min_length = 1,
        max_length = 60,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub name: Option<String>,
    /// An existing zone (404 otherwise).
    pub zone_id: Option<i64>,
    #[schema(minimum = 0, maximum = 10000)]
    pub x: Option<i64>,
    #[schema(minimum = 0, maximum = 10000)]
    pub y: Option<i64>,
    /// A disabled PC takes no new sessions and no moves.
    pub enabled: Option<bool>,
}
