//! A client's money: top-ups, tariff purchases (money and bonus), the
//! ledger and the books' totals. Every balance change is a ledger entry in
//! the same transaction.

use super::clients::{balance_event, client_view, holding_view, MAX_TOP_UP};
use super::shifts::require_open_shift;
use super::{positive_amount, Actor, Service};
use crate::domain::split_payment;
use crate::error::{Error, Result};
use crate::requests::money::{Purchase, TopUp};
use crate::store::{self, at, Conn, NewLedger, NewOrder};
use chrono::{DateTime, Utc};
use club_shared::{
    major, Account, ClientView, Event, HoldingView, LedgerEntryView, Minor, PaymentMethod,
    Permission,
};

/// Buys a tariff into a new holding inside `c`'s transaction: an order, the
/// ledger entries for money and bonus, and the holding. Answers the holding.
pub(crate) fn buy_tariff(
    c: &mut Conn,
    actor: &Actor,
    client_id: i64,
    tariff_id: i64,
    bonus_amount: Minor,
    now: DateTime<Utc>,
) -> Result<store::HoldingRow> {
    if bonus_amount < 0 {
        return Err(Error::bad("bonus_amount", "must not be negative"));
    }
    let client = c
        .get_client(client_id)?
        .ok_or_else(|| Error::not_found("client", client_id))?;
    let tariff = c
        .get_tariff(tariff_id)?
        .ok_or_else(|| Error::NotFound(format!("tariff_id: tariff {tariff_id} not found")))?;
    if !tariff.active {
        return Err(Error::Conflict(format!(
            "tariff {} is no longer sold",
            tariff.name
        )));
    }
    let (money, bonus) = split_payment(
        tariff.price,
        tariff.max_bonus_percent,
        bonus_amount,
        client.balance,
        client.bonus_balance,
    )?;
    let t = store::ms(now);
    let order_id = c.insert_order(&NewOrder {
        at: t,
        client_id,
        operator_id: actor.operator_id(),
        kind: "purchase",
        method: Some("balance"),
        money,
        bonus,
        tariff_id: Some(tariff_id),
        refund_of: None,
        session_id: None,
        reason: None,
    })?;
    for (account, amount, kind) in [
        (Account::Money, money, "purchase"),
        (Account::Bonus, bonus, "purchase_bonus"),
    ] {
        if amount > 0 {
            c.insert_ledger(&NewLedger {
                at: t,
                client_id,
                account,
                amount: -amount,
                kind,
                order_id: Some(order_id),
                session_id: None,
                operator_id: actor.operator_id(),
            })?;
        }
    }
    let valid_until = tariff
        .validity_days
        .map(|d| store::ms(now + chrono::Duration::days(d)));
    let holding = c.insert_holding(
        client_id,
        tariff_id,
        tariff.duration_seconds,
        tariff.price,
        t,
        valid_until,
    )?;
    c.set_order_holding(order_id, holding.id)?;
    Ok(holding)
}

/// A sale paid at the desk: the money part of the price (after the bonus
/// spent) is taken by `method` as a top-up in the operator's shift, so that
/// the purchase that follows in the same transaction spends exactly it.
fn take_payment_for(
    c: &mut Conn,
    actor: &Actor,
    client_id: i64,
    req: &Purchase,
    method: PaymentMethod,
    now: DateTime<Utc>,
) -> Result<()> {
    require_open_shift(c, actor, "taking a cash or card payment")?;
    let client = c
        .get_client(client_id)?
        .ok_or_else(|| Error::not_found("client", client_id))?;
    let tariff = c
        .get_tariff(req.tariff_id)?
        .ok_or_else(|| Error::NotFound(format!("tariff_id: tariff {} not found", req.tariff_id)))?;
    // The balance does not matter here: the desk pays the money part.
    let (money, _) = split_payment(
        tariff.price,
        tariff.max_bonus_percent,
        req.bonus_amount,
        Minor::MAX,
        client.bonus_balance,
    )?;
    if money == 0 {
        return Ok(());
    }
    record_top_up(
        c,
        actor,
        client_id,
        (money, method),
        Some("paid at the desk for a tariff"),
        store::ms(now),
    )?;
    Ok(())
}

/// Money taken at the desk onto a client's balance: the top-up order and
/// its ledger entry. Answers the order's id.
fn record_top_up(
    c: &mut Conn,
    actor: &Actor,
    client_id: i64,
    (amount, method): (Minor, PaymentMethod),
    reason: Option<&str>,
    t: i64,
) -> Result<i64> {
    let order_id = c.insert_order(&NewOrder {
        at: t,
        client_id,
        operator_id: actor.operator_id(),
        kind: "top_up",
        method: Some(method.as_str()),
        money: amount,
        bonus: 0,
        tariff_id: None,
        refund_of: None,
        session_id: None,
        reason,
    })?;
    c.insert_ledger(&NewLedger {
        at: t,
        client_id,
        account: Account::Money,
        amount,
        kind: "top_up",
        order_id: Some(order_id),
        session_id: None,
        operator_id: actor.operator_id(),
    })?;
    Ok(order_id)
}

impl Service {
    pub async fn top_up(&self, actor: &Actor, client_id: i64, req: TopUp) -> Result<ClientView> {
        actor.require(Permission::BalanceTopUp)?;
        positive_amount("amount", req.amount)?;
        if req.amount > MAX_TOP_UP {
            return Err(Error::bad(
                "amount",
                format!("must be at most {} (a typo guard)", major(MAX_TOP_UP)),
            ));
        }
        let now = self.now();
        let t = store::ms(now);
        let actor = actor.clone();
        self.run(move |_, tx| {
            let actor = &actor;
            let before = tx
                .get_client(client_id)?
                .ok_or_else(|| Error::not_found("client", client_id))?;
            require_open_shift(&mut *tx, actor, "taking a cash or card top-up")?;
            let order_id = record_top_up(
                &mut *tx,
                actor,
                client_id,
                (req.amount, req.method),
                None,
                t,
            )?;
            let view = client_view(&mut *tx, client_id)?;
            let mut a = actor.audit("client.top_up", now);
            a.client_id = Some(client_id);
            a.before = Some(serde_json::json!({"balance": before.balance}));
            a.after = Some(serde_json::json!({
                "balance": view.balance, "amount": req.amount,
                "method": req.method, "order_id": order_id,
            }));
            tx.insert_audit(&a)?;
            let event = Event::BalanceChanged {
                client_id,
                balance: view.balance,
                bonus_balance: view.bonus_balance,
            };
            let events = vec![event];
            Ok((view, events))
        })
        .await
    }

    pub async fn purchase(
        &self,
        actor: &Actor,
        client_id: i64,
        req: Purchase,
    ) -> Result<HoldingView> {
        actor.require(Permission::BalanceTopUp)?;
        let now = self.now();
        let actor = actor.clone();
        self.run(move |_, tx| {
            let actor = &actor;
            let before = client_view(&mut *tx, client_id)?;
            if let Some(method) = req.pay {
                take_payment_for(&mut *tx, actor, client_id, &req, method, now)?;
            }
            let holding = buy_tariff(
                &mut *tx,
                actor,
                client_id,
                req.tariff_id,
                req.bonus_amount,
                now,
            )?;
            let after = client_view(&mut *tx, client_id)?;
            let mut a = actor.audit("client.purchase", now);
            a.client_id = Some(client_id);
            a.before = Some(serde_json::json!({
                "balance": before.balance, "bonus_balance": before.bonus_balance,
            }));
            a.after = Some(serde_json::json!({
                "balance": after.balance, "bonus_balance": after.bonus_balance,
                "holding_id": holding.id, "tariff_id": req.tariff_id,
                "bonus_amount": req.bonus_amount, "paid_at_desk": req.pay,
            }));
            tx.insert_audit(&a)?;
            let event = balance_event(&mut *tx, client_id)?;
            let events = vec![event];
            Ok((holding_view(&holding), events))
        })
        .await
    }

    pub async fn ledger(&self, client_id: i64) -> Result<Vec<LedgerEntryView>> {
        let mut tx = self.store.snapshot().await?;
        tx.get_client(client_id)?
            .ok_or_else(|| Error::not_found("client", client_id))?;
        Ok(tx
            .client_ledger(client_id)?
            .into_iter()
            .map(|e| LedgerEntryView {
                id: e.id,
                at: at(e.at),
                account: e.account,
                amount: e.amount,
                kind: e.kind,
                order_id: e.order_id,
                session_id: e.session_id,
                operator_id: e.operator_id,
            })
            .collect())
    }

    /// Club-wide money totals, for the conservation check.
    pub async fn money_totals(&self) -> Result<store::MoneyTotals> {
        let mut c = self.store.read().await?;
        Ok(c.money_totals()?)
    }

    /// Every client whose balance differs from the sum of its ledger.
    pub async fn ledger_mismatches(&self) -> Result<Vec<i64>> {
        let mut tx = self.store.snapshot().await?;
        let mut bad = Vec::new();
        for id in tx.list_client_ids()? {
            let row = tx
                .get_client(id)?
                .ok_or_else(|| Error::not_found("client", id))?;
            if tx.ledger_sums(id)? != (row.balance, row.bonus_balance) {
                bad.push(id);
            }
        }
        Ok(bad)
    }
}
