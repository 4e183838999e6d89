use super::db::Result;
use super::Conn;

#[derive(Debug, Clone)]
pub struct RoleRow {
    pub id: i64,
    pub name: String,
    pub builtin: bool,
    pub permissions: String,
}

crate::from_row!(RoleRow {
    id,
    name,
    builtin,
    permissions
});

#[derive(Debug, Clone)]
pub struct OperatorRow {
    pub id: i64,
    pub login: String,
    pub password_hash: String,
    pub role_id: i64,
    pub role_name: String,
    pub permissions: String,
    pub disabled: bool,
}

crate::from_row!(OperatorRow {
    id,
    login,
    password_hash,
    role_id,
    role_name,
    permissions,
    disabled
});

const OPERATOR_COLUMNS: &str = "SELECT o.id, o.login, o.password_hash, o.role_id, \
     r.name AS role_name, r.permissions, o.disabled FROM operators o \
     JOIN roles r ON r.id = o.role_id";

pub fn count_operators(c: &mut Conn) -> Result<i64> {
    c.first("SELECT COUNT(*) FROM operators", [])
}

pub fn insert_role(c: &mut Conn, name: &str, builtin: bool, permissions: &str) -> Result<i64> {
    c.insert(
        "INSERT INTO roles (name, builtin, permissions) VALUES (?, ?, ?)",
        rusqlite::params![name, builtin, permissions],
    )
}

pub fn list_roles(c: &mut Conn) -> Result<Vec<RoleRow>> {
    c.all(
        "SELECT id, name, builtin, permissions FROM roles ORDER BY id",
        [],
    )
}

pub fn get_role(c: &mut Conn, id: i64) -> Result<Option<RoleRow>> {
    c.one(
        "SELECT id, name, builtin, permissions FROM roles WHERE id = ?",
        rusqlite::params![id],
    )
}

pub fn get_role_by_name(c: &mut Conn, name: &str) -> Result<Option<RoleRow>> {
    c.one(
        "SELECT id, name, builtin, permissions FROM roles WHERE name = ?",
        rusqlite::params![name],
    )
}

pub fn set_role_permissions(c: &mut Conn, id: i64, permissions: &str) -> Result<()> {
    c.run(
        "UPDATE roles SET permissions = ? WHERE id = ?",
        rusqlite::params![permissions, id],
    )
    .map(drop)
}

pub fn insert_operator(
    c: &mut Conn,
    login: &str,
    password_hash: &str,
    role_id: i64,
    now: i64,
) -> Result<i64> {
    c.insert(
        "INSERT INTO operators (login, password_hash, role_id, created_at) VALUES (?, ?, ?, ?)",
        rusqlite::params![login, password_hash, role_id, now],
    )
}

pub fn get_operator(c: &mut Conn, id: i64) -> Result<Option<OperatorRow>> {
    c.one(
        &format!("{OPERATOR_COLUMNS} WHERE o.id = ?"),
        rusqlite::params![id],
    )
}

pub fn get_operator_by_login(c: &mut Conn, login: &str) -> Result<Option<OperatorRow>> {
    c.one(
        &format!("{OPERATOR_COLUMNS} WHERE o.login = ?"),
        rusqlite::params![login],
    )
}

pub fn update_operator(
    c: &mut Conn,
    id: i64,
    role_id: i64,
    disabled: bool,
    password_hash: Option<&str>,
) -> Result<()> {
    c.run(
        "UPDATE operators SET role_id = ?, disabled = ?, \
         password_hash = COALESCE(?, password_hash) WHERE id = ?",
        rusqlite::params![role_id, disabled, password_hash, id],
    )
    .map(drop)
}

/// Ends an operator's sign-ins (all but `keep`); answers their digests.
pub fn delete_operator_tokens(
    c: &mut Conn,
    operator_id: i64,
    keep: Option<&str>,
) -> Result<Vec<String>> {
    c.all(
        "DELETE FROM tokens WHERE operator_id = ? AND token_hash IS NOT COALESCE(?, '') \
         RETURNING token_hash",
        rusqlite::params![operator_id, keep],
    )
}

pub fn list_operators(c: &mut Conn) -> Result<Vec<OperatorRow>> {
    c.all(&format!("{OPERATOR_COLUMNS} ORDER BY o.id"), [])
}

/// (operator_id, client_id, expires_at) of a token.
pub type TokenOwner = (Option<i64>, Option<i64>, i64);

/// Who a live token belongs to (operator or client) and when it expires.
pub fn token_owner(c: &mut Conn, token_hash: &str, now: i64) -> Result<Option<TokenOwner>> {
    c.one(
        "SELECT operator_id, client_id, expires_at FROM tokens \
         WHERE token_hash = ? AND expires_at > ?",
        rusqlite::params![token_hash, now],
    )
}

/// Ends a token; answers whether it existed.
pub fn delete_token(c: &mut Conn, token_hash: &str) -> Result<bool> {
    c.run(
        "DELETE FROM tokens WHERE token_hash = ?",
        rusqlite::params![token_hash],
    )
    .map(|n| n > 0)
}

pub fn insert_token(
    c: &mut Conn,
    token_hash: &str,
    operator_id: Option<i64>,
    client_id: Option<i64>,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    c.run(
        "INSERT INTO tokens (token_hash, operator_id, client_id, created_at, expires_at) \
         VALUES (?, ?, ?, ?, ?)",
        rusqlite::params![token_hash, operator_id, client_id, now, expires_at],
    )?;
    // Sign-ins accumulate; expired ones are of no use to anyone.
    c.run(
        "DELETE FROM tokens WHERE expires_at <= ?",
        rusqlite::params![now],
    )
    .map(drop)
}
