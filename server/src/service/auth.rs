use super::{required_text, Actor, Service, StaffCtx};
use crate::error::{Error, Result};
use crate::secrets;
use crate::store::{self, NewAudit};
use club_shared::{builtin_roles, OperatorView, Permission};

/// The answer to a successful sign-in.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct LoginAnswer {
    pub token: String,
    pub operator: OperatorView,
}

pub(crate) fn parse_permissions(raw: &str) -> Vec<Permission> {
    let mut v: Vec<Permission> = serde_json::from_str(raw).unwrap_or_default();
    v.sort();
    v.dedup();
    v
}

pub(crate) fn permissions_json(p: &[Permission]) -> String {
    let mut v = p.to_vec();
    v.sort();
    v.dedup();
    serde_json::to_string(&v).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn operator_view(o: &store::OperatorRow) -> OperatorView {
    OperatorView {
        id: o.id,
        login: o.login.clone(),
        role: o.role_name.clone(),
        role_id: o.role_id,
        permissions: parse_permissions(&o.permissions),
    }
}

/// Argon2 is slow on purpose: it runs on the hashing threads.
async fn hash(secret: String) -> Result<String> {
    super::hashing::run(move || secrets::hash_password(&secret))
        .await?
        .map_err(Error::Internal)
}

async fn verify(secret: String, hash: String) -> Result<bool> {
    super::hashing::run(move || secrets::verify_password(&secret, &hash)).await
}

pub(crate) async fn hash_secret(secret: &str) -> Result<String> {
    hash(secret.to_owned()).await
}

impl Service {
    /// On a new, empty database: the built-in roles and one Owner. Answers
    /// the generated password when none was given, so it can be printed once.
    pub async fn bootstrap(&self, owner_password: Option<&str>) -> Result<Option<String>> {
        let mut tx = self.store.write().await?;
        if store::count_operators(&mut tx).await? > 0 {
            return Ok(None);
        }
        let now = store::ms(self.now());
        let roles = [
            (builtin_roles::OWNER, builtin_roles::owner()),
            (builtin_roles::ADMINISTRATOR, builtin_roles::administrator()),
            (builtin_roles::CASHIER, builtin_roles::cashier()),
        ];
        let mut owner_role = 0;
        for (name, perms) in roles {
            let id = match store::get_role_by_name(&mut tx, name).await? {
                Some(r) => r.id,
                None => store::insert_role(&mut tx, name, true, &permissions_json(&perms)).await?,
            };
            if name == builtin_roles::OWNER {
                owner_role = id;
            }
        }
        let (password, generated) = match owner_password {
            Some(p) if !p.is_empty() => (p.to_owned(), None),
            _ => {
                let p = secrets::random_token()[..16].to_owned();
                (p.clone(), Some(p))
            }
        };
        let hash = hash(password).await?;
        let id = store::insert_operator(&mut tx, "owner", &hash, owner_role, now).await?;
        store::insert_audit(
            &mut tx,
            &NewAudit {
                at: now,
                actor: "system",
                kind: "operator.bootstrap",
                after: Some(serde_json::json!({"operator_id": id, "login": "owner"})),
                ..NewAudit::default()
            },
        )
        .await?;
        tx.commit().await?;
        Ok(generated)
    }

    pub async fn login(&self, login: &str, password: &str) -> Result<LoginAnswer> {
        let bad = || Error::Unauthorized("wrong login or password".into());
        let op = {
            let mut c = self.store.read().await?;
            store::get_operator_by_login(&mut c, login.trim()).await?
        };
        let Some(op) = op else {
            // Spend the same effort on unknown logins as on known ones.
            verify(password.to_owned(), DUMMY_HASH.to_owned()).await?;
            return Err(bad());
        };
        if !verify(password.to_owned(), op.password_hash.clone()).await? {
            return Err(bad());
        }
        let token = self.issue_token(Some(op.id), None).await?;
        Ok(LoginAnswer {
            token,
            operator: operator_view(&op),
        })
    }

    async fn issue_token(
        &self,
        operator_id: Option<i64>,
        client_id: Option<i64>,
    ) -> Result<String> {
        let token = secrets::random_token();
        let now = self.now();
        let mut tx = self.store.write().await?;
        store::insert_token(
            &mut tx,
            &secrets::digest(&token),
            operator_id,
            client_id,
            store::ms(now),
            store::ms(now + self.token_ttl),
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    pub async fn authenticate_staff(&self, token: &str) -> Result<StaffCtx> {
        let mut c = self.store.read().await?;
        let owner =
            store::token_owner(&mut c, &secrets::digest(token), store::ms(self.now())).await?;
        let Some((Some(operator_id), None)) = owner else {
            return Err(Error::Unauthorized(
                "sign in first: the token is unknown or expired".into(),
            ));
        };
        let op = store::get_operator(&mut c, operator_id)
            .await?
            .ok_or_else(|| Error::Unauthorized("the operator no longer exists".into()))?;
        Ok(StaffCtx {
            operator_id,
            login: op.login,
            role: op.role_name,
            permissions: parse_permissions(&op.permissions),
        })
    }

    pub async fn player_login(&self, phone: &str, pin: &str) -> Result<String> {
        let bad = || Error::Unauthorized("wrong phone or PIN".into());
        let client = {
            let mut c = self.store.read().await?;
            store::get_client_by_phone(&mut c, phone.trim()).await?
        };
        let Some((client, pin_hash)) = client.and_then(|c| c.pin_hash.clone().map(|h| (c, h)))
        else {
            verify(pin.to_owned(), DUMMY_HASH.to_owned()).await?;
            return Err(bad());
        };
        if !verify(pin.to_owned(), pin_hash).await? {
            return Err(bad());
        }
        self.issue_token(None, Some(client.id)).await
    }

    pub async fn authenticate_player(&self, token: &str) -> Result<Actor> {
        let mut c = self.store.read().await?;
        let owner =
            store::token_owner(&mut c, &secrets::digest(token), store::ms(self.now())).await?;
        match owner {
            Some((None, Some(client_id))) => Ok(Actor::Player { client_id }),
            _ => Err(Error::Unauthorized(
                "sign in to the player app first".into(),
            )),
        }
    }
}

/// Validates a password for a new account.
pub(crate) fn check_password(field: &str, p: &str) -> Result<()> {
    if p.chars().count() < 8 {
        return Err(Error::bad(field, "must be at least 8 characters"));
    }
    required_text(field, p, 200).map(drop)
}

// An argon2 hash of a random string, so that a failed lookup costs as much
// as a failed verification.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$1nKbw0c8Ezo1D4ufSBv+Br4n0A4Tx4ntr0xSg5oS6QQ";
