use crate::store::sql::cache::keep;
use crate::store::sql::{Result, Sql};
use crate::store::staff::*;

crate::from_row!(RoleRow {
    id,
    name,
    builtin,
    permissions
});

crate::from_row!(OperatorRow {
    id,
    login,
    password_hash,
    role_id,
    role_name,
    permissions,
    disabled,
    club_id
});

const OPERATOR_COLUMNS: &str = "SELECT o.id, o.login, o.password_hash, o.role_id, \
     r.name AS role_name, r.permissions, o.disabled, o.club_id FROM operators o \
     JOIN roles r ON r.id = o.role_id";

impl<D: Sql> Staff for D {
    fn count_operators(&mut self) -> Result<i64> {
        let c = self;
        c.first("SELECT COUNT(*) FROM operators", &[])
    }

    fn insert_role(&mut self, name: &str, builtin: bool, permissions: &str) -> Result<i64> {
        self.writes_cached();
        let c = self;
        c.insert(
            "INSERT INTO roles (name, builtin, permissions) VALUES (?, ?, ?)",
            crate::args![name, builtin, permissions],
        )
    }

    fn list_roles(&mut self) -> Result<Vec<RoleRow>> {
        let c = self;
        c.all(
            "SELECT id, name, builtin, permissions FROM roles ORDER BY id",
            &[],
        )
    }

    fn get_role(&mut self, id: i64) -> Result<Option<RoleRow>> {
        let c = self;
        c.one(
            "SELECT id, name, builtin, permissions FROM roles WHERE id = ?",
            crate::args![id],
        )
    }

    fn get_role_by_name(&mut self, name: &str) -> Result<Option<RoleRow>> {
        let c = self;
        c.one(
            "SELECT id, name, builtin, permissions FROM roles WHERE name = ?",
            crate::args![name],
        )
    }

    fn set_role_permissions(&mut self, id: i64, permissions: &str) -> Result<()> {
        self.writes_cached();
        let c = self;
        c.run(
            "UPDATE roles SET permissions = ? WHERE id = ?",
            crate::args![permissions, id],
        )
        .map(drop)
    }

    fn insert_operator(
        &mut self,
        login: &str,
        password_hash: &str,
        role_id: i64,
        club_id: Option<i64>,
        now: i64,
    ) -> Result<i64> {
        self.writes_cached();
        let c = self;
        c.insert(
            "INSERT INTO operators (login, password_hash, role_id, club_id, created_at) \
             VALUES (?, ?, ?, ?, ?)",
            crate::args![login, password_hash, role_id, club_id, now],
        )
    }

    fn get_operator(&mut self, id: i64) -> Result<Option<OperatorRow>> {
        self.cached(
            |m| m.operators.get(&id).cloned(),
            |c| {
                c.one(
                    &format!("{OPERATOR_COLUMNS} WHERE o.id = ?"),
                    crate::args![id],
                )
            },
            |m, v| keep(&mut m.operators, id, v.clone()),
        )
    }

    fn get_operator_by_login(&mut self, login: &str) -> Result<Option<OperatorRow>> {
        let c = self;
        c.one(
            &format!("{OPERATOR_COLUMNS} WHERE o.login = ?"),
            crate::args![login],
        )
    }

    fn update_operator(
        &mut self,
        id: i64,
        role_id: i64,
        club_id: Option<i64>,
        disabled: bool,
        password_hash: Option<&str>,
    ) -> Result<()> {
        self.writes_cached();
        let c = self;
        c.run(
            "UPDATE operators SET role_id = ?, club_id = ?, disabled = ?, \
         password_hash = COALESCE(?, password_hash) WHERE id = ?",
            crate::args![role_id, club_id, disabled, password_hash, id],
        )
        .map(drop)
    }

    fn delete_operator_tokens(
        &mut self,
        operator_id: i64,
        keep: Option<&str>,
    ) -> Result<Vec<String>> {
        self.writes_cached();
        let c = self;
        c.all(
            "DELETE FROM tokens WHERE operator_id = ? AND token_hash <> COALESCE(?, '') \
         RETURNING token_hash",
            crate::args![operator_id, keep],
        )
    }

    fn list_operators(&mut self) -> Result<Vec<OperatorRow>> {
        let c = self;
        c.all(&format!("{OPERATOR_COLUMNS} ORDER BY o.id"), &[])
    }

    fn token_owner(&mut self, token_hash: &str, now: i64) -> Result<Option<TokenOwner>> {
        // Kept while live; an unknown token (anyone can send one) never is.
        let owner = self.cached(
            |m| m.tokens.get(token_hash).map(|o| Some(*o)),
            |c| {
                c.one::<TokenOwner>(
                    "SELECT operator_id, client_id, expires_at FROM tokens \
                     WHERE token_hash = ? AND expires_at > ?",
                    crate::args![token_hash, now],
                )
            },
            |m, v| {
                if let Some(o) = v {
                    keep(&mut m.tokens, token_hash.to_owned(), *o);
                }
            },
        )?;
        Ok(owner.filter(|(_, _, expires_at)| *expires_at > now))
    }

    fn delete_token(&mut self, token_hash: &str) -> Result<bool> {
        self.writes_cached();
        let c = self;
        c.run(
            "DELETE FROM tokens WHERE token_hash = ?",
            crate::args![token_hash],
        )
        .map(|n| n > 0)
    }

    fn insert_token(
        &mut self,
        token_hash: &str,
        operator_id: Option<i64>,
        client_id: Option<i64>,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        self.writes_cached();
        let c = self;
        c.run(
            "INSERT INTO tokens (token_hash, operator_id, client_id, created_at, expires_at) \
         VALUES (?, ?, ?, ?, ?)",
            crate::args![token_hash, operator_id, client_id, now, expires_at],
        )?;
        // Sign-ins accumulate; expired ones are of no use to anyone.
        c.run(
            "DELETE FROM tokens WHERE expires_at <= ?",
            crate::args![now],
        )
        .map(drop)
    }
}
