//! Clients: finding, creating and editing them (name, phone, PIN,
//! auto-renewal), and their view with holdings and balances. (Their money:
//! `money`.)

use super::auth::hash_secret;
use super::{json, required_text, Actor, Service};
use crate::error::{Error, Result};
use crate::requests::clients::{ClientPatch, NewClient};
use crate::store::{self, at, at_opt, Conn};
use club_shared::{ClientView, Event, HoldingView, Minor, Permission};

/// Set once the stored phone numbers were brought to E.164.
const PHONES_NORMALIZED: &str = "phones_e164";

/// The most one top-up may add: a typo guard, not a business rule.
pub(super) const MAX_TOP_UP: Minor = 10_000_000_00;

/// A phone number as kept: E.164, whatever the spelling (see `phone`).
fn check_phone(phone: &str, region: phonenumber::country::Id) -> Result<String> {
    let p = required_text("phone", phone, 32)?;
    crate::phone::normalize(&p, region).map_err(|why| Error::bad("phone", why))
}

fn check_pin(pin: &str) -> Result<()> {
    if !(4..=8).contains(&pin.len()) || !pin.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::bad("pin", "must be 4 to 8 digits"));
    }
    Ok(())
}

pub(crate) fn holding_view(h: &store::HoldingRow) -> HoldingView {
    HoldingView {
        id: h.id,
        tariff_id: h.tariff_id,
        total_seconds: h.total_seconds,
        remaining_seconds: h.remaining_seconds,
        price_paid: h.price_paid,
        value_remaining: h.value_remaining,
        purchased_at: at(h.purchased_at),
        valid_until: at_opt(h.valid_until),
        status: h.status,
    }
}

pub(crate) fn client_view(c: &mut Conn, id: i64) -> Result<ClientView> {
    let row = c
        .get_client(id)?
        .ok_or_else(|| Error::not_found("client", id))?;
    let holdings = c.client_holdings(id)?.iter().map(holding_view).collect();
    Ok(ClientView {
        id: row.id,
        name: row.name,
        phone: row.phone,
        auto_renewal: row.auto_renewal,
        balance: row.balance,
        bonus_balance: row.bonus_balance,
        has_pin: row.pin_hash.is_some(),
        holdings,
    })
}

pub(crate) fn balance_event(c: &mut Conn, client_id: i64) -> Result<Event> {
    let row = c
        .get_client(client_id)?
        .ok_or_else(|| Error::not_found("client", client_id))?;
    Ok(Event::BalanceChanged {
        client_id,
        balance: row.balance,
        bonus_balance: row.bonus_balance,
    })
}

impl Service {
    /// Clients by part of a name or of a phone number: a search of digits
    /// and phone punctuation matches the digits, however they were spelled
    /// (leading zeros, a trunk or international prefix, left out: numbers
    /// are kept in E.164).
    pub async fn search_clients(&self, search: &str) -> Result<Vec<ClientView>> {
        let search = search.trim();
        let digits: String = search.chars().filter(char::is_ascii_digit).collect();
        let digits = match digits.trim_start_matches('0') {
            "" => digits.as_str(),
            rest => rest,
        };
        let phone_like = !digits.is_empty()
            && search
                .chars()
                .all(|c| c.is_ascii_digit() || "+-().  /".contains(c));
        let search = if phone_like { digits } else { search };
        let mut tx = self.store.snapshot().await?;
        let mut out = Vec::new();
        for row in tx.search_clients(search, 200)? {
            out.push(client_view(&mut *tx, row.id)?);
        }
        Ok(out)
    }

    /// Brings every stored phone number to E.164 (numbers kept before
    /// normalisation, as typed), once per database: every number written
    /// since is normalised on its way in. One that two clients would then
    /// share, or that is no number, is left as it is and logged; each
    /// change is audited. Answers how many changed.
    pub async fn normalize_stored_phones(&self) -> Result<usize> {
        let region = self.phone_region().await?;
        let now = self.now();
        self.run(move |_, tx| {
            if tx.get_setting(PHONES_NORMALIZED)?.is_some() {
                return Ok((0, Vec::new()));
            }
            let mut changed = 0;
            for row in tx.search_clients("", i64::MAX)? {
                let e164 = match crate::phone::normalize(&row.phone, region) {
                    Ok(p) if p == row.phone => continue,
                    Ok(p) => p,
                    Err(why) => {
                        tracing::warn!(
                            client.id = row.id,
                            phone = %row.phone,
                            %why,
                            "a stored phone number is left as it is"
                        );
                        continue;
                    }
                };
                if let Some(other) = tx.get_client_by_phone(&e164)? {
                    tracing::warn!(
                        client.id = row.id,
                        other.id = other.id,
                        phone = %e164,
                        "two clients have this number; left as typed"
                    );
                    continue;
                }
                let pin = row.pin_hash.as_deref();
                tx.update_client(row.id, &row.name, &e164, row.auto_renewal, pin)?;
                let mut a = Actor::System.audit("client.phone_normalized", now);
                a.client_id = Some(row.id);
                a.before = Some(serde_json::json!({ "phone": row.phone }));
                a.after = Some(serde_json::json!({ "phone": e164 }));
                tx.insert_audit(&a)?;
                changed += 1;
            }
            tx.put_setting(PHONES_NORMALIZED, "1")?;
            Ok((changed, Vec::new()))
        })
        .await
    }

    pub async fn client(&self, id: i64) -> Result<ClientView> {
        let mut tx = self.store.snapshot().await?;
        client_view(&mut *tx, id)
    }

    pub async fn create_client(&self, actor: &Actor, req: NewClient) -> Result<ClientView> {
        actor.require(Permission::ClientManage)?;
        let name = required_text("name", &req.name, 120)?;
        let phone = check_phone(&req.phone, self.phone_region().await?)?;
        let pin_hash = match &req.pin {
            Some(pin) => {
                check_pin(pin)?;
                Some(hash_secret(pin).await?)
            }
            None => None,
        };
        let now = self.now();
        let actor = actor.clone();
        self.run(move |_, tx| {
            let actor = &actor;
            if tx.get_client_by_phone(&phone)?.is_some() {
                return Err(Error::Conflict(format!(
                    "a client with phone {phone} already exists"
                )));
            }
            let id = tx.insert_client(
                &name,
                &phone,
                req.auto_renewal,
                pin_hash.as_deref(),
                store::ms(now),
            )?;
            let view = client_view(&mut *tx, id)?;
            let mut a = actor.audit("client.create", now);
            a.client_id = Some(id);
            a.after = json(&view);
            tx.insert_audit(&a)?;
            let events = vec![];
            Ok((view, events))
        })
        .await
    }

    pub async fn update_client(
        &self,
        actor: &Actor,
        id: i64,
        req: ClientPatch,
    ) -> Result<ClientView> {
        actor.require(Permission::ClientManage)?;
        let name = req
            .name
            .as_deref()
            .map(|n| required_text("name", n, 120))
            .transpose()?;
        let phone = match req.phone.as_deref() {
            Some(p) => Some(check_phone(p, self.phone_region().await?)?),
            None => None,
        };
        let new_pin_hash = match &req.pin {
            Some(pin) => {
                check_pin(pin)?;
                Some(hash_secret(pin).await?)
            }
            None => None,
        };
        let actor = actor.clone();
        self.run(move |this, tx| {
            let actor = &actor;
            let row = tx
                .get_client(id)?
                .ok_or_else(|| Error::not_found("client", id))?;
            let before = client_view(&mut *tx, id)?;
            let phone = phone.unwrap_or(row.phone);
            if let Some(other) = tx.get_client_by_phone(&phone)? {
                if other.id != id {
                    return Err(Error::Conflict(format!(
                        "a client with phone {phone} already exists"
                    )));
                }
            }
            tx.update_client(
                id,
                &name.unwrap_or(row.name),
                &phone,
                req.auto_renewal.unwrap_or(row.auto_renewal),
                new_pin_hash.as_deref().or(row.pin_hash.as_deref()),
            )?;
            let view = client_view(&mut *tx, id)?;
            let mut a = actor.audit("client.update", this.now());
            a.client_id = Some(id);
            a.before = json(&before);
            a.after = json(&view);
            tx.insert_audit(&a)?;
            let events = vec![];
            Ok((view, events))
        })
        .await
    }
}
