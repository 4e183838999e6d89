//! Roles, operators and passwords.

use club_shared::Permission;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRole {
    /// Unique; surrounding whitespace is trimmed.
    #[schema(
        min_length = 1,
        max_length = 60,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub name: String,
    pub permissions: Vec<Permission>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolePermissions {
    pub permissions: Vec<Permission>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOperator {
    /// Unique; surrounding whitespace is trimmed.
    #[schema(
        min_length = 1,
        max_length = 60,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub login: String,
    /// 8 to 200 characters.
    #[schema(
        min_length = 8,
        max_length = 200,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub password: String,
    /// An existing role (404 otherwise).
    pub role_id: i64,
    /// The club they work in; null or absent: every club (the chain's
    /// staff). Staff of one club make operators of their club only.
    #[serde(default)]
    pub club_id: Option<i64>,
}

/// What the Owner changes on an operator (RoleManage).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOperator {
    /// An existing role (404 otherwise).
    pub role_id: Option<i64>,
    /// A disabled operator cannot sign in; their sign-ins end at once.
    pub disabled: Option<bool>,
    /// A new password (8 to 200 characters); the operator's sign-ins end at once.
    #[schema(
        min_length = 8,
        max_length = 200,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub password: Option<String>,
    /// Moves them to this club; null: every club (the chain's staff).
    /// Absent: unchanged. Only the chain's staff change it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub club_id: Option<Option<i64>>,
}

/// A field that may be null: Some(None) when it is, None when absent.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// An operator's own new password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// 8 to 200 characters.
    #[schema(
        min_length = 8,
        max_length = 200,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub new_password: String,
}
