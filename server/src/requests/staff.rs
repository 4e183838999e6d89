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
