use super::auth::{
    check_password, hash_secret, operator_view, parse_permissions, permissions_json,
};
use super::{json, required_text, Actor, Service, StaffCtx};
use crate::error::{Error, Result};
use crate::requests::staff::{
    NewOperator, NewRole, PasswordChange, RolePermissions, UpdateOperator,
};
use crate::store::{self, NewAudit};
use club_shared::{Event, OperatorView, Permission, RoleView};

fn role_view(r: &store::RoleRow) -> RoleView {
    RoleView {
        id: r.id,
        name: r.name.clone(),
        builtin: r.builtin,
        permissions: parse_permissions(&r.permissions),
    }
}

/// Staff of one club see their club's operators; the chain's staff see
/// every one.
fn sees_operator(actor: &Actor, o: &store::OperatorRow) -> bool {
    match (actor.club(), o.club_id) {
        (None, _) => true,
        (Some(mine), Some(theirs)) => mine == theirs,
        (Some(_), None) => false,
    }
}

impl Service {
    pub async fn list_roles(&self, actor: &Actor) -> Result<Vec<RoleView>> {
        actor.require(Permission::RoleManage)?;
        let mut c = self.store.read().await?;
        Ok(c.list_roles()?.iter().map(role_view).collect())
    }

    pub async fn create_role(&self, actor: &Actor, req: NewRole) -> Result<RoleView> {
        actor.require(Permission::RoleManage)?;
        actor.require_chain()?;
        let name = required_text("name", &req.name, 60)?;
        let actor = actor.clone();
        self.run(move |this, tx| {
            let actor = &actor;
            let perms = permissions_json(&req.permissions);
            let id = tx.insert_role(&name, false, &perms)?;
            let row = tx
                .get_role(id)?
                .ok_or_else(|| Error::not_found("role", id))?;
            let view = role_view(&row);
            let mut a = actor.audit("role.create", this.now());
            a.after = json(&view);
            tx.insert_audit(&a)?;
            let events = vec![];
            Ok((view, events))
        })
        .await
    }

    /// Role settings. The Owner role keeps RoleManage, so a club can never
    /// lock itself out of its own settings.
    pub async fn set_role_permissions(
        &self,
        actor: &Actor,
        role_id: i64,
        req: RolePermissions,
    ) -> Result<RoleView> {
        actor.require(Permission::RoleManage)?;
        actor.require_chain()?;
        let actor = actor.clone();
        self.run(move |this, tx| {
            let actor = &actor;
            let before = tx
                .get_role(role_id)?
                .ok_or_else(|| Error::not_found("role", role_id))?;
            if before.name == club_shared::builtin_roles::OWNER
                && !req.permissions.contains(&Permission::RoleManage)
            {
                return Err(Error::bad(
                    "permissions",
                    "the Owner role must keep RoleManage",
                ));
            }
            tx.set_role_permissions(role_id, &permissions_json(&req.permissions))?;
            let after = tx
                .get_role(role_id)?
                .ok_or_else(|| Error::not_found("role", role_id))?;
            let view = role_view(&after);
            let mut a = actor.audit("role.permissions", this.now());
            a.before = json(&role_view(&before));
            a.after = json(&view);
            tx.insert_audit(&a)?;
            let events = vec![];
            Ok((view, events))
        })
        .await
    }

    pub async fn list_operators(&self, actor: &Actor) -> Result<Vec<OperatorView>> {
        actor.require(Permission::RoleManage)?;
        let mut c = self.store.read().await?;
        Ok(c.list_operators()?
            .iter()
            .filter(|o| sees_operator(actor, o))
            .map(operator_view)
            .collect())
    }

    /// Changes an operator's role or club, disables or enables them, or
    /// resets their password (RoleManage, audited). Disabling, a new
    /// password or another club ends their sign-ins, and the hall screens
    /// open with them close. An operator with an open shift keeps their club
    /// until it is closed.
    pub async fn update_operator(
        &self,
        actor: &Actor,
        id: i64,
        req: UpdateOperator,
    ) -> Result<OperatorView> {
        actor.require(Permission::RoleManage)?;
        if actor.operator_id() == Some(id) {
            // One's own account changes only where the current password is
            // asked for (POST /auth/password): a stolen sign-in cannot take
            // the account over, lock its owner out, or demote it.
            if req.disabled == Some(true) {
                return Err(Error::bad(
                    "disabled",
                    "an operator cannot disable their own account",
                ));
            }
            if req.password.is_some() {
                return Err(Error::bad(
                    "password",
                    "change your own password with POST /api/v1/auth/password, which asks for the current one",
                ));
            }
            if req.role_id.is_some() {
                return Err(Error::bad(
                    "role_id",
                    "an operator cannot change their own role",
                ));
            }
            if req.club_id.is_some() {
                return Err(Error::bad(
                    "club_id",
                    "an operator cannot change their own club",
                ));
            }
        }
        if req.club_id.is_some() {
            actor.require_chain()?;
        }
        let hash = match &req.password {
            Some(p) => {
                check_password("password", p)?;
                Some(hash_secret(p).await?)
            }
            None => None,
        };
        let now = self.now();
        let actor = actor.clone();
        self.run(move |_, tx| {
            let actor = &actor;
            let before = tx
                .get_operator(id)?
                .ok_or_else(|| Error::not_found("operator", id))?;
            if !sees_operator(actor, &before) {
                return Err(Error::not_found("operator", id));
            }
            let role_id = req.role_id.unwrap_or(before.role_id);
            if tx.get_role(role_id)?.is_none() {
                return Err(Error::NotFound(format!(
                    "role_id: role {role_id} not found"
                )));
            }
            let club_id = match req.club_id {
                Some(Some(k)) => Some(super::clubs::pick_club(&mut *tx, actor, Some(k))?),
                Some(None) => None,
                None => before.club_id,
            };
            let moved = club_id != before.club_id;
            if moved {
                if let Some(open) = tx.open_shift_of(id)? {
                    return Err(Error::Conflict(format!(
                        "{} has shift {} open at their club's desk; it is closed first",
                        before.login, open.id
                    )));
                }
            }
            let disabled = req.disabled.unwrap_or(before.disabled);
            tx.update_operator(id, role_id, club_id, disabled, hash.as_deref())?;
            // A sign-in made for one club's hall (its screens, its page)
            // ends when the operator moves: they sign in to the new one.
            let ended = if disabled || hash.is_some() || moved {
                tx.delete_operator_tokens(id, None)?
            } else {
                Vec::new()
            };
            let after = tx
                .get_operator(id)?
                .ok_or_else(|| Error::not_found("operator", id))?;
            let view = operator_view(&after);
            let mut a = actor.audit("operator.update", now);
            a.before = json(&operator_view(&before));
            a.after = Some(serde_json::json!({
                "operator": view,
                "password_reset": hash.is_some(),
                "sign_ins_ended": ended.len(),
            }));
            tx.insert_audit(&a)?;
            let events = ended
                .into_iter()
                .map(|token_hash| Event::SignedOut { token_hash })
                .collect();
            Ok((view, events))
        })
        .await
    }

    /// An operator changes their own password; their other sign-ins end.
    pub async fn change_own_password(&self, staff: &StaffCtx, req: PasswordChange) -> Result<()> {
        check_password("new_password", &req.new_password)?;
        let current = {
            let mut c = self.store.read().await?;
            c.get_operator(staff.operator_id)?
                .ok_or_else(|| Error::Unauthorized("the operator is gone".into()))?
        };
        if req.current_password.len() > 1024
            || !super::hashing::run({
                let (p, h) = (req.current_password.clone(), current.password_hash.clone());
                move || crate::secrets::verify_password(&p, &h)
            })
            .await?
        {
            return Err(Error::bad(
                "current_password",
                "is not the current password",
            ));
        }
        let hash = hash_secret(&req.new_password).await?;
        let now = self.now();
        let mut tx = self.store.write().await?;
        tx.update_operator(
            staff.operator_id,
            current.role_id,
            current.club_id,
            current.disabled,
            Some(&hash),
        )?;
        let ended = tx.delete_operator_tokens(staff.operator_id, Some(&staff.token_hash))?;
        let mut a = NewAudit {
            at: store::ms(now),
            operator_id: Some(staff.operator_id),
            actor: "staff",
            kind: "operator.password_changed",
            ..NewAudit::default()
        };
        a.after = Some(serde_json::json!({ "sign_ins_ended": ended.len() }));
        tx.insert_audit(&a)?;
        let events = ended
            .into_iter()
            .map(|token_hash| Event::SignedOut { token_hash })
            .collect();
        self.commit(tx, events).await
    }

    pub async fn create_operator(&self, actor: &Actor, req: NewOperator) -> Result<OperatorView> {
        actor.require(Permission::RoleManage)?;
        let login = required_text("login", &req.login, 60)?;
        check_password("password", &req.password)?;
        let hash = hash_secret(&req.password).await?;
        let actor = actor.clone();
        self.run(move |this, tx| {
            let actor = &actor;
            if tx.get_role(req.role_id)?.is_none() {
                return Err(Error::NotFound(format!(
                    "role_id: role {} not found",
                    req.role_id
                )));
            }
            if tx.get_operator_by_login(&login)?.is_some() {
                return Err(Error::Conflict(format!(
                    "an operator with login {login} already exists"
                )));
            }
            let club_id = match (actor.club(), req.club_id) {
                (None, None) => None,
                (_, asked) => Some(super::clubs::pick_club(&mut *tx, actor, asked)?),
            };
            let now = this.now();
            let id = tx.insert_operator(&login, &hash, req.role_id, club_id, store::ms(now))?;
            let row = tx
                .get_operator(id)?
                .ok_or_else(|| Error::not_found("operator", id))?;
            let view = operator_view(&row);
            let mut a = actor.audit("operator.create", now);
            a.after = json(&view);
            tx.insert_audit(&a)?;
            let events = vec![];
            Ok((view, events))
        })
        .await
    }
}
