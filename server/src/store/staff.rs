use super::Conn;
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct RoleRow {
    pub id: i64,
    pub name: String,
    pub builtin: bool,
    pub permissions: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct OperatorRow {
    pub id: i64,
    pub login: String,
    pub password_hash: String,
    pub role_id: i64,
    pub role_name: String,
    pub permissions: String,
    pub disabled: bool,
}

const OPERATOR_COLUMNS: &str = "SELECT o.id, o.login, o.password_hash, o.role_id, \
     r.name AS role_name, r.permissions, o.disabled FROM operators o \
     JOIN roles r ON r.id = o.role_id";

pub async fn count_operators(c: &mut Conn) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM operators")
        .fetch_one(c)
        .await
}

pub async fn insert_role(
    c: &mut Conn,
    name: &str,
    builtin: bool,
    permissions: &str,
) -> sqlx::Result<i64> {
    sqlx::query("INSERT INTO roles (name, builtin, permissions) VALUES (?, ?, ?)")
        .bind(name)
        .bind(builtin)
        .bind(permissions)
        .execute(c)
        .await
        .map(|r| r.last_insert_rowid())
}

pub async fn list_roles(c: &mut Conn) -> sqlx::Result<Vec<RoleRow>> {
    sqlx::query_as("SELECT id, name, builtin, permissions FROM roles ORDER BY id")
        .fetch_all(c)
        .await
}

pub async fn get_role(c: &mut Conn, id: i64) -> sqlx::Result<Option<RoleRow>> {
    sqlx::query_as("SELECT id, name, builtin, permissions FROM roles WHERE id = ?")
        .bind(id)
        .fetch_optional(c)
        .await
}

pub async fn get_role_by_name(c: &mut Conn, name: &str) -> sqlx::Result<Option<RoleRow>> {
    sqlx::query_as("SELECT id, name, builtin, permissions FROM roles WHERE name = ?")
        .bind(name)
        .fetch_optional(c)
        .await
}

pub async fn set_role_permissions(c: &mut Conn, id: i64, permissions: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE roles SET permissions = ? WHERE id = ?")
        .bind(permissions)
        .bind(id)
        .execute(c)
        .await
        .map(drop)
}

pub async fn insert_operator(
    c: &mut Conn,
    login: &str,
    password_hash: &str,
    role_id: i64,
    now: i64,
) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO operators (login, password_hash, role_id, created_at) VALUES (?, ?, ?, ?)",
    )
    .bind(login)
    .bind(password_hash)
    .bind(role_id)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.last_insert_rowid())
}

pub async fn get_operator(c: &mut Conn, id: i64) -> sqlx::Result<Option<OperatorRow>> {
    sqlx::query_as(&format!("{OPERATOR_COLUMNS} WHERE o.id = ?"))
        .bind(id)
        .fetch_optional(c)
        .await
}

pub async fn get_operator_by_login(c: &mut Conn, login: &str) -> sqlx::Result<Option<OperatorRow>> {
    sqlx::query_as(&format!("{OPERATOR_COLUMNS} WHERE o.login = ?"))
        .bind(login)
        .fetch_optional(c)
        .await
}

pub async fn update_operator(
    c: &mut Conn,
    id: i64,
    role_id: i64,
    disabled: bool,
    password_hash: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE operators SET role_id = ?, disabled = ?, \
         password_hash = COALESCE(?, password_hash) WHERE id = ?",
    )
    .bind(role_id)
    .bind(disabled)
    .bind(password_hash)
    .bind(id)
    .execute(c)
    .await
    .map(drop)
}

/// Ends an operator's sign-ins (all but `keep`); answers their digests.
pub async fn delete_operator_tokens(
    c: &mut Conn,
    operator_id: i64,
    keep: Option<&str>,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "DELETE FROM tokens WHERE operator_id = ? AND token_hash IS NOT COALESCE(?, '') \
         RETURNING token_hash",
    )
    .bind(operator_id)
    .bind(keep)
    .fetch_all(c)
    .await
}

pub async fn list_operators(c: &mut Conn) -> sqlx::Result<Vec<OperatorRow>> {
    sqlx::query_as(&format!("{OPERATOR_COLUMNS} ORDER BY o.id"))
        .fetch_all(c)
        .await
}

/// Who a bearer token belongs to: (operator_id, client_id), if unexpired.
/// Who a live token belongs to (operator or client) and when it expires.
pub async fn token_owner(
    c: &mut Conn,
    token_hash: &str,
    now: i64,
) -> sqlx::Result<Option<(Option<i64>, Option<i64>, i64)>> {
    sqlx::query_as(
        "SELECT operator_id, client_id, expires_at FROM tokens \
         WHERE token_hash = ? AND expires_at > ?",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(c)
    .await
}

/// Ends a token; answers whether it existed.
pub async fn delete_token(c: &mut Conn, token_hash: &str) -> sqlx::Result<bool> {
    sqlx::query("DELETE FROM tokens WHERE token_hash = ?")
        .bind(token_hash)
        .execute(c)
        .await
        .map(|r| r.rows_affected() > 0)
}

pub async fn insert_token(
    c: &mut Conn,
    token_hash: &str,
    operator_id: Option<i64>,
    client_id: Option<i64>,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO tokens (token_hash, operator_id, client_id, created_at, expires_at) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(token_hash)
    .bind(operator_id)
    .bind(client_id)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *c)
    .await?;
    // Sign-ins accumulate; expired ones are of no use to anyone.
    sqlx::query("DELETE FROM tokens WHERE expires_at <= ?")
        .bind(now)
        .execute(c)
        .await
        .map(drop)
}
