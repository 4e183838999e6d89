use super::Result;

#[derive(Debug, Clone)]
pub struct RoleRow {
    pub id: i64,
    pub name: String,
    pub builtin: bool,
    pub permissions: String,
}

#[derive(Debug, Clone)]
pub struct OperatorRow {
    pub id: i64,
    pub login: String,
    pub password_hash: String,
    pub role_id: i64,
    pub role_name: String,
    pub permissions: String,
    pub disabled: bool,
    /// The club they work in; None: every club (the chain's staff).
    pub club_id: Option<i64>,
}

/// (operator_id, client_id, expires_at) of a token.
pub type TokenOwner = (Option<i64>, Option<i64>, i64);

/// What the store keeps of staff, as every backend answers it.
pub trait Staff {
    fn count_operators(&mut self) -> Result<i64>;
    fn insert_role(&mut self, name: &str, builtin: bool, permissions: &str) -> Result<i64>;
    fn list_roles(&mut self) -> Result<Vec<RoleRow>>;
    fn get_role(&mut self, id: i64) -> Result<Option<RoleRow>>;
    fn get_role_by_name(&mut self, name: &str) -> Result<Option<RoleRow>>;
    fn set_role_permissions(&mut self, id: i64, permissions: &str) -> Result<()>;
    fn insert_operator(
        &mut self,
        login: &str,
        password_hash: &str,
        role_id: i64,
        club_id: Option<i64>,
        now: i64,
    ) -> Result<i64>;
    fn get_operator(&mut self, id: i64) -> Result<Option<OperatorRow>>;
    fn get_operator_by_login(&mut self, login: &str) -> Result<Option<OperatorRow>>;
    fn update_operator(
        &mut self,
        id: i64,
        role_id: i64,
        club_id: Option<i64>,
        disabled: bool,
        password_hash: Option<&str>,
    ) -> Result<()>;
    /// Ends an operator's sign-ins (all but `keep`); answers their digests.
    fn delete_operator_tokens(
        &mut self,
        operator_id: i64,
        keep: Option<&str>,
    ) -> Result<Vec<String>>;
    fn list_operators(&mut self) -> Result<Vec<OperatorRow>>;
    /// Who a live token belongs to (operator or client) and when it expires.
    fn token_owner(&mut self, token_hash: &str, now: i64) -> Result<Option<TokenOwner>>;
    /// Ends a token; answers whether it existed.
    fn delete_token(&mut self, token_hash: &str) -> Result<bool>;
    fn insert_token(
        &mut self,
        token_hash: &str,
        operator_id: Option<i64>,
        client_id: Option<i64>,
        now: i64,
        expires_at: i64,
    ) -> Result<()>;
}
