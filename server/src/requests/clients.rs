//! Clients: a new client, an edit.

use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    /// Surrounding whitespace is trimmed.
    #[schema(
        min_length = 1,
        max_length = 120,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub name: String,
    /// Unique: at least 5 digits, and only digits, `+ - ( )` and spaces.
    #[schema(
        min_length = 5,
        max_length = 32,
        pattern = r"^[ ()+-]*(?:[0-9][ ()+-]*){5,}$"
    )]
    pub phone: String,
    #[serde(default)]
    pub auto_renewal: bool,
    /// 4 to 8 digits, for the player app.
    #[serde(default)]
    #[schema(pattern = r"^[0-9]{4,8}$")]
    pub pin: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    /// Surrounding whitespace is trimmed.
    #[schema(
        min_length = 1,
        max_length = 120,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub name: Option<String>,
    /// Unique: at least 5 digits, and only digits, `+ - ( )` and spaces.
    #[schema(
        min_length = 5,
        max_length = 32,
        pattern = r"^[ ()+-]*(?:[0-9][ ()+-]*){5,}$"
    )]
    pub phone: Option<String>,
    pub auto_renewal: Option<bool>,
    /// 4 to 8 digits, for the player app.
    #[schema(pattern = r"^[0-9]{4,8}$")]
    pub pin: Option<String>,
}
