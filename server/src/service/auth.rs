use super::throttle::{Attempt, Key, Rule, ADDRESS, PLAYER, STAFF};
use super::{required_text, Actor, Service, StaffCtx};
use crate::error::{Error, Result};
use crate::secrets;
use crate::store::{self, NewAudit};
use club_shared::{builtin_roles, Event, OperatorView, Permission};
use std::net::IpAddr;

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
        disabled: o.disabled,
        club_id: o.club_id,
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

/// A login or phone longer than this is wrong without a look (and kept
/// out of the throttle's keys, the audit trail and the logs whole).
const MAX_LOGIN_BYTES: usize = 128;
/// A password or PIN longer than this is wrong without hashing it.
const MAX_SECRET_BYTES: usize = 1024;

/// At most MAX_LOGIN_BYTES of `s`, on a character boundary.
fn bounded(s: &str) -> String {
    let mut end = s.len().min(MAX_LOGIN_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// "3 minutes", "45 seconds".
fn waiting(secs: u64) -> String {
    match secs {
        0..=90 => format!("{secs} seconds"),
        s => format!("{} minutes", s.div_ceil(60)),
    }
}

impl Service {
    /// On a new, empty database: the built-in roles and one Owner. Answers
    /// the generated password when none was given, so it can be printed once.
    pub async fn bootstrap(&self, owner_password: Option<&str>) -> Result<Option<String>> {
        let mut tx = self.store.write().await?;
        if tx.count_operators()? > 0 {
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
            let id = match tx.get_role_by_name(name)? {
                Some(r) => r.id,
                None => tx.insert_role(name, true, &permissions_json(&perms))?,
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
        let id = tx.insert_operator("owner", &hash, owner_role, None, now)?;
        tx.insert_audit(&NewAudit {
            at: now,
            actor: "system",
            kind: "operator.bootstrap",
            after: Some(serde_json::json!({"operator_id": id, "login": "owner"})),
            ..NewAudit::default()
        })?;
        tx.commit().await?;
        Ok(generated)
    }

    /// Begins a sign-in attempt: refused with 429 while the address or the
    /// account is locked, or has as many attempts under way as it may
    /// still fail.
    fn begin_attempt(&self, keys: Vec<(Key, Rule)>) -> Result<Attempt> {
        self.throttle
            .begin(keys, self.now())
            .map_err(|retry_after| Error::TooMany {
                message: format!(
                    "too many failed sign-ins; try again in {}",
                    waiting(retry_after)
                ),
                retry_after,
            })
    }

    /// Decides a failed attempt; a lock it sets goes into the audit trail.
    async fn attempt_failed(&self, attempt: Attempt, client_id: Option<i64>) -> Result<()> {
        let now = self.now();
        let who = attempt.who();
        self.metrics.login_failures.with_label_values(&[who]).inc();
        let locked = attempt.failed(now);
        if locked.is_empty() {
            return Ok(());
        }
        for l in &locked {
            self.metrics
                .lockouts
                .with_label_values(&[l.key.kind()])
                .inc();
        }
        self.run(move |_, tx| {
            for l in &locked {
                let what = l.key.kind();
                let who = match &l.key {
                    Key::Address(ip) => ip.to_string(),
                    Key::Staff(login, ip) => format!("{login} from {ip}"),
                    Key::Phone(phone) => phone.clone(),
                };
                tracing::warn!(what, %who, until = %l.until, "sign-in locked after failures");
                tx.insert_audit(&NewAudit {
                    at: store::ms(now),
                    actor: "system",
                    kind: "sign_in_locked",
                    client_id: client_id.filter(|_| matches!(l.key, Key::Phone(_))),
                    after: Some(serde_json::json!({ what: who, "until": l.until })),
                    ..NewAudit::default()
                })?;
            }
            let events = Vec::new();
            Ok(((), events))
        })
        .await
    }

    pub async fn login(&self, login: &str, password: &str, from: IpAddr) -> Result<LoginAnswer> {
        let bad = || Error::Unauthorized("wrong login or password".into());
        let login = login.trim();
        let attempt = self.begin_attempt(vec![
            (Key::Address(from), ADDRESS),
            (Key::Staff(bounded(login), from), STAFF),
        ])?;
        if login.len() > MAX_LOGIN_BYTES || password.len() > MAX_SECRET_BYTES {
            self.attempt_failed(attempt, None).await?;
            return Err(bad());
        }
        let op = {
            let mut c = self.store.read().await?;
            c.get_operator_by_login(login)?
        };
        // Spend the same effort on unknown logins as on known ones.
        let hash = op.as_ref().map_or(DUMMY_HASH, |o| o.password_hash.as_str());
        let ok = verify(password.to_owned(), hash.to_owned()).await?;
        let Some(op) = op.filter(|_| ok) else {
            self.attempt_failed(attempt, None).await?;
            return Err(bad());
        };
        attempt.succeeded();
        if op.disabled {
            // Said only to someone who knows the password.
            return Err(Error::Unauthorized(
                "this account is disabled; ask the owner".into(),
            ));
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
        self.run(move |this, tx| {
            tx.insert_token(
                &secrets::digest(&token),
                operator_id,
                client_id,
                store::ms(now),
                store::ms(now + this.token_ttl),
            )?;
            let events = Vec::new();
            Ok((token, events))
        })
        .await
    }

    pub async fn authenticate_staff(&self, token: &str) -> Result<StaffCtx> {
        let mut c = self.store.read().await?;
        let token_hash = secrets::digest(token);
        let owner = c.token_owner(&token_hash, store::ms(self.now()))?;
        let Some((Some(operator_id), None, expires_at)) = owner else {
            return Err(Error::Unauthorized(
                "sign in first: the token is unknown or expired".into(),
            ));
        };
        let op = c
            .get_operator(operator_id)?
            .filter(|o| !o.disabled)
            .ok_or_else(|| Error::Unauthorized("the operator is disabled or gone".into()))?;
        Ok(StaffCtx {
            operator_id,
            login: op.login,
            role: op.role_name,
            permissions: parse_permissions(&op.permissions),
            club_id: op.club_id,
            token_hash,
            expires_at: store::at(expires_at),
        })
    }

    /// Whether a staff sign-in (by its digest) is still good.
    pub async fn staff_token_alive(&self, token_hash: &str) -> Result<bool> {
        let mut c = self.store.read().await?;
        let owner = c.token_owner(token_hash, store::ms(self.now()))?;
        Ok(matches!(owner, Some((Some(_), None, _))))
    }

    /// Ends the caller's sign-in; its open hall feeds close.
    pub async fn logout(&self, staff: &StaffCtx) -> Result<()> {
        let token_hash = staff.token_hash.clone();
        self.run(move |_, tx| {
            tx.delete_token(&token_hash)?;
            Ok(((), vec![Event::SignedOut { token_hash }]))
        })
        .await
    }

    pub async fn player_login(&self, phone: &str, pin: &str, from: IpAddr) -> Result<String> {
        let bad = || Error::Unauthorized("wrong phone or PIN".into());
        // Any spelling of the number is the client's; one that is no number
        // at all finds nobody (and still counts as a failed attempt).
        let typed = phone.trim();
        let region = self.phone_region().await?;
        let normalized = (typed.len() <= MAX_LOGIN_BYTES)
            .then(|| crate::phone::normalize(typed, region).ok())
            .flatten();
        let phone = normalized.as_deref().unwrap_or(typed);
        let attempt = self.begin_attempt(vec![
            (Key::Address(from), ADDRESS),
            (Key::Phone(bounded(phone)), PLAYER),
        ])?;
        if phone.len() > MAX_LOGIN_BYTES || pin.len() > MAX_SECRET_BYTES {
            self.attempt_failed(attempt, None).await?;
            return Err(bad());
        }
        let client = {
            let mut c = self.store.read().await?;
            c.get_client_by_phone(phone)?
        };
        let client = client.and_then(|c| c.pin_hash.clone().map(|h| (c, h)));
        let hash = client.as_ref().map_or(DUMMY_HASH, |(_, h)| h.as_str());
        let ok = verify(pin.to_owned(), hash.to_owned()).await?;
        let client_id = client.as_ref().map(|(c, _)| c.id);
        let Some((client, _)) = client.filter(|_| ok) else {
            self.attempt_failed(attempt, client_id).await?;
            return Err(bad());
        };
        attempt.succeeded();
        self.issue_token(None, Some(client.id)).await
    }

    /// Lifts the lock on a client's PIN after too many wrong tries
    /// (ClientManage, audited); answers whether it was locked.
    pub async fn unlock_pin(&self, actor: &Actor, client_id: i64) -> Result<bool> {
        actor.require(Permission::ClientManage)?;
        let actor = actor.clone();
        self.run(move |this, tx| {
            let actor = &actor;
            let client = tx
                .get_client(client_id)?
                .ok_or_else(|| Error::not_found("client", client_id))?;
            let now = this.now();
            let was_locked = this.throttle.unlock(&Key::Phone(client.phone.clone()), now);
            let mut entry = actor.audit("pin_unlocked", now);
            entry.client_id = Some(client_id);
            entry.after = Some(serde_json::json!({ "was_locked": was_locked }));
            tx.insert_audit(&entry)?;
            let events = Vec::new();
            Ok((was_locked, events))
        })
        .await
    }

    pub async fn authenticate_player(&self, token: &str) -> Result<Actor> {
        let mut c = self.store.read().await?;
        let owner = c.token_owner(&secrets::digest(token), store::ms(self.now()))?;
        match owner {
            Some((None, Some(client_id), _)) => Ok(Actor::Player { client_id }),
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
