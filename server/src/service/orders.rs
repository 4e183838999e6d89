//! Orders: purchases and top-ups, and what undoes or adds to them. A
//! refund or an extra charge is an order, never a change to a session.

use super::clients::balance_event;
use super::sessions::load_session_for;
use super::shifts::require_open_shift;
use super::{positive_amount, required_text, Actor, Service};
use crate::error::{Error, Result};
use crate::requests::orders::{ExtraCharge, OrderQuery, OrderRefund, RefundMethod};
use crate::store::{self, at, NewLedger, NewOrder, NewValueMovement};
use chrono::{DateTime, Utc};
use club_shared::{major, Account, HoldingStatus, Minor, Permission};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub client_id: i64,
    /// Names beside the ids.
    pub client_name: String,
    pub operator_id: Option<i64>,
    pub operator_login: Option<String>,
    /// `top_up`, `purchase`, `refund` or `extra_charge`.
    pub kind: String,
    pub method: Option<String>,
    pub money: Minor,
    pub bonus: Minor,
    pub tariff_id: Option<i64>,
    pub holding_id: Option<i64>,
    pub session_id: Option<i64>,
    pub refund_of: Option<i64>,
    pub reason: Option<String>,
    pub shift_id: Option<i64>,
    /// Money already refunded on this order.
    pub refunded: Minor,
    pub lines: Vec<OrderLine>,
}

/// What an order was for, and how it was paid.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderLine {
    pub description: String,
    pub money: Minor,
    pub bonus: Minor,
}

fn order_view(o: store::OrderRow) -> OrderView {
    let method = o.method.clone().unwrap_or_default();
    let description = match o.kind.as_str() {
        "top_up" => format!("Top-up ({method})"),
        "purchase" => format!("Tariff {}", o.tariff_name.clone().unwrap_or_default()),
        "refund" => format!(
            "Refund of order {} ({method})",
            o.refund_of.unwrap_or_default()
        ),
        "extra_charge" => format!("Extra charge: {}", o.reason.clone().unwrap_or_default()),
        other => other.to_owned(),
    };
    let lines = vec![OrderLine {
        description,
        money: o.money,
        bonus: o.bonus,
    }];
    OrderView {
        lines,
        id: o.id,
        at: at(o.at),
        client_id: o.client_id,
        client_name: o.client_name,
        operator_id: o.operator_id,
        operator_login: o.operator_login,
        kind: o.kind,
        method: o.method,
        money: o.money,
        bonus: o.bonus,
        tariff_id: o.tariff_id,
        holding_id: o.holding_id,
        session_id: o.session_id,
        refund_of: o.refund_of,
        reason: o.reason,
        shift_id: o.shift_id,
        refunded: o.refunded,
    }
}

impl Service {
    pub async fn list_orders(&self, actor: &Actor, q: OrderQuery) -> Result<Vec<OrderView>> {
        actor.require(Permission::ReportView)?;
        let limit = q.limit.unwrap_or(500);
        if !(1..=500).contains(&limit) {
            return Err(Error::bad("limit", "must be 1..500"));
        }
        if q.before_id.is_some_and(|b| b < 1) {
            return Err(Error::bad("before_id", "must be an id (1 or more)"));
        }
        let filter = store::OrderFilter {
            client_id: q.client_id,
            shift_id: q.shift_id,
            club_id: super::clubs::narrow(actor, q.club_id, "club_id")?,
            from: q.from.map(store::ms),
            to: q.to.map(store::ms),
            before_id: q.before_id,
            limit,
        };
        let mut c = self.store.read().await?;
        Ok(c.list_orders(&filter)?
            .into_iter()
            .map(order_view)
            .collect())
    }

    /// A refund through an order (OrderRefund): back onto the balance, or
    /// paid out in cash or by card. A purchase gives back its unused value
    /// first, then what it earned (a PC that failed); a top-up is paid out.
    pub async fn refund_order(
        &self,
        actor: &Actor,
        id: i64,
        req: OrderRefund,
    ) -> Result<OrderView> {
        actor.require(Permission::OrderRefund)?;
        let reason = required_text("reason", &req.reason, 500)?;
        positive_amount("amount", req.amount)?;
        let now = self.now();
        let t = store::ms(now);
        let actor = actor.clone();
        self.run(move |_, tx| {
            let actor = &actor;
            let order = tx
                .get_order(id)?
                .ok_or_else(|| Error::not_found("order", id))?;
            if !super::clubs::sees_order(&mut *tx, actor, &order)? {
                return Err(Error::not_found("order", id));
            }
            // More than the order ever took is a bad request; more than
            // earlier refunds left of it depends on them: a conflict.
            if req.amount > order.money {
                return Err(Error::bad(
                    "amount",
                    format!(
                        "order {id} took {}; a refund cannot be more",
                        major(order.money)
                    ),
                ));
            }
            let left = order.money - order.refunded;
            if left == 0 {
                return Err(Error::Conflict(format!(
                    "order {id} is refunded in full; nothing is left to refund"
                )));
            }
            if req.amount > left {
                return Err(Error::Conflict(format!(
                    "only {} is left to refund on order {id} ({} was refunded already)",
                    major(left),
                    major(order.refunded)
                )));
            }
            if req.method != RefundMethod::Balance {
                require_open_shift(&mut *tx, actor, "paying money out")?;
            }
            match order.kind.as_str() {
                "top_up" => {
                    if req.method == RefundMethod::Balance {
                        return Err(Error::bad(
                            "method",
                            "a top-up is refunded in cash or by card",
                        ));
                    }
                    let client = tx
                        .get_client(order.client_id)?
                        .ok_or_else(|| Error::not_found("client", order.client_id))?;
                    if client.balance < req.amount {
                        return Err(Error::Conflict(format!(
                            "the client's balance of {} is less than the {} to pay out",
                            major(client.balance),
                            major(req.amount)
                        )));
                    }
                }
                "purchase" => {
                    let hid = order.holding_id.ok_or_else(|| {
                        Error::Internal(anyhow::anyhow!("purchase without holding"))
                    })?;
                    let h = tx
                        .get_holding(hid)?
                        .ok_or_else(|| Error::not_found("holding", hid))?;
                    if h.status == HoldingStatus::InUse {
                        return Err(Error::Conflict(format!(
                            "holding {hid} is in use by a live session; end or cancel it first"
                        )));
                    }
                    let from_holding = req.amount.min(h.value_remaining);
                    let from_revenue = req.amount - from_holding;
                    if from_revenue > tx.holding_revenue(hid)? {
                        return Err(Error::Conflict(format!(
                            "the refund is more than order {id} is worth now"
                        )));
                    }
                    let value = h.value_remaining - from_holding;
                    let remaining = if value == 0 {
                        0
                    } else {
                        (i128::from(h.remaining_seconds) * i128::from(value)
                            / i128::from(h.value_remaining)) as i64
                    };
                    let status = if remaining == 0 && h.status == HoldingStatus::Available {
                        HoldingStatus::UsedUp
                    } else {
                        h.status
                    };
                    tx.update_holding(hid, remaining, value, status)?;
                    for (kind, seconds, amount) in [
                        ("refund", h.remaining_seconds - remaining, from_holding),
                        ("revenue_refund", 0, from_revenue),
                    ] {
                        if amount > 0 {
                            let m = NewValueMovement {
                                at: t,
                                holding_id: hid,
                                session_id: order.session_id,
                                segment_id: None,
                                kind,
                                seconds,
                                amount,
                            };
                            tx.insert_value_movement(&m)?;
                        }
                    }
                }
                "extra_charge" => {}
                other => {
                    return Err(Error::Conflict(format!(
                        "a {other} order cannot be refunded"
                    )))
                }
            }
            let refund_id = tx.insert_order(&NewOrder {
                at: t,
                client_id: order.client_id,
                operator_id: actor.operator_id(),
                kind: "refund",
                method: Some(req.method.as_str()),
                money: req.amount,
                bonus: 0,
                tariff_id: order.tariff_id,
                refund_of: Some(id),
                session_id: order.session_id,
                reason: Some(&reason),
            })?;
            // Onto the balance for a purchase or a charge; off it for a top-up
            // paid out; a purchase paid out in cash leaves the balance alone.
            let balance_change = match (order.kind.as_str(), req.method) {
                ("top_up", _) => Some((-req.amount, "refund_paid_out")),
                (_, RefundMethod::Balance) => Some((req.amount, "order_refund")),
                _ => None,
            };
            if let Some((amount, kind)) = balance_change {
                let e = NewLedger {
                    at: t,
                    client_id: order.client_id,
                    account: Account::Money,
                    amount,
                    kind,
                    order_id: Some(refund_id),
                    session_id: order.session_id,
                    operator_id: actor.operator_id(),
                };
                tx.insert_ledger(&e)?;
            }
            let mut a = actor.audit("order.refund", now);
            a.client_id = Some(order.client_id);
            a.session_id = order.session_id;
            a.before = Some(serde_json::json!({"order_id": id, "refunded": order.refunded}));
            a.after = Some(serde_json::json!({
                "refund_order_id": refund_id, "amount": req.amount, "method": req.method,
                "refunded": order.refunded + req.amount
            }));
            a.reason = Some(reason);
            tx.insert_audit(&a)?;
            let view = tx
                .get_order(refund_id)?
                .map(order_view)
                .ok_or_else(|| Error::not_found("order", refund_id))?;
            let event = balance_event(&mut *tx, order.client_id)?;
            let events = vec![event];
            Ok((view, events))
        })
        .await
    }

    /// An extra charge after a session ended: an order that takes money
    /// from the balance (OrderRefund: order corrections).
    pub async fn extra_charge(&self, actor: &Actor, req: ExtraCharge) -> Result<OrderView> {
        actor.require(Permission::OrderRefund)?;
        let reason = required_text("reason", &req.reason, 500)?;
        positive_amount("amount", req.amount)?;
        let now = self.now();
        let t = store::ms(now);
        let actor = actor.clone();
        self.run(move |_, tx| {
            let actor = &actor;
            let client = tx
                .get_client(req.client_id)?
                .ok_or_else(|| Error::not_found("client", req.client_id))?;
            if let Some(sid) = req.session_id {
                let s = load_session_for(&mut *tx, actor, sid)?;
                if s.client_id != client.id {
                    return Err(Error::bad(
                        "session_id",
                        format!("session {sid} belongs to another client"),
                    ));
                }
            }
            if client.balance < req.amount {
                return Err(Error::Conflict(format!(
                    "the client's balance of {} does not cover the {} charge",
                    major(client.balance),
                    major(req.amount)
                )));
            }
            let order_id = tx.insert_order(&NewOrder {
                at: t,
                client_id: client.id,
                operator_id: actor.operator_id(),
                kind: "extra_charge",
                method: Some("balance"),
                money: req.amount,
                bonus: 0,
                tariff_id: None,
                refund_of: None,
                session_id: req.session_id,
                reason: Some(&reason),
            })?;
            let e = NewLedger {
                at: t,
                client_id: client.id,
                account: Account::Money,
                amount: -req.amount,
                kind: "extra_charge",
                order_id: Some(order_id),
                session_id: req.session_id,
                operator_id: actor.operator_id(),
            };
            tx.insert_ledger(&e)?;
            let mut a = actor.audit("order.extra_charge", now);
            a.client_id = Some(client.id);
            a.session_id = req.session_id;
            a.after = Some(serde_json::json!({"order_id": order_id, "amount": req.amount}));
            a.reason = Some(reason);
            tx.insert_audit(&a)?;
            let view = tx
                .get_order(order_id)?
                .map(order_view)
                .ok_or_else(|| Error::not_found("order", order_id))?;
            let event = balance_event(&mut *tx, client.id)?;
            let events = vec![event];
            Ok((view, events))
        })
        .await
    }
}
