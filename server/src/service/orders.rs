//! Shifts and orders. Every money movement, correction and cancellation an
//! operator makes belongs to their open shift (the store tags it); X is the
//! live report of a shift, Z the one fixed when it closes. A refund or an
//! extra charge is an order, never a change to a session.

use super::clients::balance_event;
use super::sessions::load_session;
use super::{positive_amount, required_text, Actor, Service};
use crate::error::{Error, Result};
use crate::store::{self, at, at_opt, NewLedger, NewOrder, NewValueMovement};
use chrono::{DateTime, Utc};
use club_shared::{Account, HoldingStatus, Minor, Permission};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundMethod {
    /// Back onto the client's balance.
    Balance,
    /// Paid out at the desk.
    Cash,
    Card,
}

impl RefundMethod {
    fn as_str(self) -> &'static str {
        match self {
            Self::Balance => "balance",
            Self::Cash => "cash",
            Self::Card => "card",
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRefund {
    /// Minor units, at most what is left to refund on the order.
    #[schema(value_type = i64, minimum = 1)]
    pub amount: Minor,
    pub method: RefundMethod,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtraCharge {
    pub client_id: i64,
    /// A session of this client.
    #[serde(default)]
    pub session_id: Option<i64>,
    #[schema(value_type = i64, minimum = 1)]
    pub amount: Minor,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub client_id: i64,
    pub operator_id: Option<i64>,
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PaymentLine {
    pub kind: String,
    pub method: Option<String>,
    pub money: Minor,
    pub bonus: Minor,
    pub count: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CorrectionLine {
    pub session_id: i64,
    pub delta: Minor,
    pub reason: String,
    pub operator_id: Option<i64>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CancellationLine {
    pub session_id: Option<i64>,
    pub operator_id: Option<i64>,
    pub at: DateTime<Utc>,
    pub reason: Option<String>,
}

/// An X report (live) or a Z report (fixed at close).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ShiftReport {
    pub shift_id: i64,
    pub operator_id: i64,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// `x` while open, `z` once closed.
    pub kind: String,
    /// Totals by order kind and payment method.
    pub payments: Vec<PaymentLine>,
    pub bonus_issued: Minor,
    pub bonus_spent: Minor,
    pub corrections: Vec<CorrectionLine>,
    pub cancellations: Vec<CancellationLine>,
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
        operator_id: o.operator_id,
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

fn staff_id(actor: &Actor) -> Result<i64> {
    actor
        .operator_id()
        .ok_or_else(|| Error::Unauthorized("shifts belong to staff".into()))
}

async fn report(c: &mut store::Conn, shift: &store::ShiftRow) -> Result<ShiftReport> {
    let payments = store::shift_order_totals(c, shift.id)
        .await?
        .into_iter()
        .map(|(kind, method, money, bonus, count)| PaymentLine {
            kind,
            method,
            money,
            bonus,
            count,
        })
        .collect();
    let (bonus_issued, bonus_spent) = store::shift_bonus(c, shift.id).await?;
    let corrections = store::shift_corrections(c, shift.id)
        .await?
        .into_iter()
        .map(
            |(session_id, delta, reason, operator_id, t)| CorrectionLine {
                session_id,
                delta,
                reason,
                operator_id,
                at: at(t),
            },
        )
        .collect();
    let cancellations = store::shift_cancellations(c, shift.id)
        .await?
        .into_iter()
        .map(|(session_id, operator_id, t, reason)| CancellationLine {
            session_id,
            operator_id,
            at: at(t),
            reason,
        })
        .collect();
    Ok(ShiftReport {
        shift_id: shift.id,
        operator_id: shift.operator_id,
        opened_at: at(shift.opened_at),
        closed_at: at_opt(shift.closed_at),
        kind: if shift.closed_at.is_some() { "z" } else { "x" }.into(),
        payments,
        bonus_issued,
        bonus_spent,
        corrections,
        cancellations,
    })
}

impl Service {
    pub async fn open_shift(&self, actor: &Actor) -> Result<ShiftReport> {
        actor.require(Permission::ShiftManage)?;
        let op = staff_id(actor)?;
        let now = self.now();
        let mut tx = self.store.write().await?;
        if let Some(open) = store::open_shift_of(&mut tx, op).await? {
            return Err(Error::Conflict(format!(
                "shift {} is already open; close it first",
                open.id
            )));
        }
        let id = store::open_shift(&mut tx, op, store::ms(now)).await?;
        let shift = store::get_shift(&mut tx, id)
            .await?
            .ok_or_else(|| Error::not_found("shift", id))?;
        let mut a = actor.audit("shift.open", now);
        a.after = Some(serde_json::json!({"shift_id": id}));
        store::insert_audit(&mut tx, &a).await?;
        let r = report(&mut tx, &shift).await?;
        self.commit(tx, vec![]).await?;
        Ok(r)
    }

    /// The caller's open shift with its X report.
    pub async fn current_shift(&self, actor: &Actor) -> Result<ShiftReport> {
        let op = staff_id(actor)?;
        let mut tx = self.store.snapshot().await?;
        let shift = store::open_shift_of(&mut tx, op)
            .await?
            .ok_or_else(|| Error::NotFound("no open shift: open one first".into()))?;
        report(&mut tx, &shift).await
    }

    /// Closes a shift (its operator's own, or any with RoleManage) and fixes
    /// its Z report.
    pub async fn close_shift(&self, actor: &Actor, id: i64) -> Result<ShiftReport> {
        actor.require(Permission::ShiftManage)?;
        let op = staff_id(actor)?;
        let now = self.now();
        let mut tx = self.store.write().await?;
        let shift = store::get_shift(&mut tx, id)
            .await?
            .ok_or_else(|| Error::not_found("shift", id))?;
        if shift.operator_id != op {
            actor.require(Permission::RoleManage)?;
        }
        if shift.closed_at.is_some() {
            return Err(Error::Conflict(format!("shift {id} is already closed")));
        }
        let mut a = actor.audit("shift.close", now);
        a.before = Some(serde_json::json!({"shift_id": id}));
        store::insert_audit(&mut tx, &a).await?;
        let closed = store::ShiftRow {
            closed_at: Some(store::ms(now)),
            ..shift
        };
        let z = report(&mut tx, &closed).await?;
        let json = serde_json::to_string(&z).map_err(|e| Error::Internal(e.into()))?;
        store::close_shift(&mut tx, id, store::ms(now), &json).await?;
        self.commit(tx, vec![]).await?;
        Ok(z)
    }

    pub async fn shift_report(&self, actor: &Actor, id: i64) -> Result<ShiftReport> {
        actor.require(Permission::ReportView)?;
        let mut tx = self.store.snapshot().await?;
        let shift = store::get_shift(&mut tx, id)
            .await?
            .ok_or_else(|| Error::not_found("shift", id))?;
        if let Some(z) = shift
            .z_report
            .as_deref()
            .and_then(|z| serde_json::from_str(z).ok())
        {
            return Ok(z);
        }
        report(&mut tx, &shift).await
    }

    pub async fn list_orders(
        &self,
        actor: &Actor,
        client_id: Option<i64>,
    ) -> Result<Vec<OrderView>> {
        actor.require(Permission::ReportView)?;
        let mut c = self.store.read().await?;
        Ok(store::list_orders(&mut c, client_id, 500)
            .await?
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
        let mut tx = self.store.write().await?;
        let order = store::get_order(&mut tx, id)
            .await?
            .ok_or_else(|| Error::not_found("order", id))?;
        let left = order.money - order.refunded;
        if req.amount > left {
            return Err(Error::bad(
                "amount",
                format!("at most {left} is left to refund on order {id}"),
            ));
        }
        match order.kind.as_str() {
            "top_up" => {
                if req.method == RefundMethod::Balance {
                    return Err(Error::bad(
                        "method",
                        "a top-up is refunded in cash or by card",
                    ));
                }
                let client = store::get_client(&mut tx, order.client_id)
                    .await?
                    .ok_or_else(|| Error::not_found("client", order.client_id))?;
                if client.balance < req.amount {
                    return Err(Error::Conflict(format!(
                        "the client's balance of {} is less than the {} to pay out",
                        client.balance, req.amount
                    )));
                }
            }
            "purchase" => {
                let hid = order
                    .holding_id
                    .ok_or_else(|| Error::Internal(anyhow::anyhow!("purchase without holding")))?;
                let h = store::get_holding(&mut tx, hid)
                    .await?
                    .ok_or_else(|| Error::not_found("holding", hid))?;
                if h.status == HoldingStatus::InUse {
                    return Err(Error::Conflict(format!(
                        "holding {hid} is in use by a live session; end or cancel it first"
                    )));
                }
                let from_holding = req.amount.min(h.value_remaining);
                let from_revenue = req.amount - from_holding;
                if from_revenue > store::holding_revenue(&mut tx, hid).await? {
                    return Err(Error::bad(
                        "amount",
                        format!("more than order {id} is worth now"),
                    ));
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
                store::update_holding(&mut tx, hid, remaining, value, status).await?;
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
                        store::insert_value_movement(&mut tx, &m).await?;
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
        let refund_id = store::insert_order(
            &mut tx,
            &NewOrder {
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
            },
        )
        .await?;
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
            store::insert_ledger(&mut tx, &e).await?;
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
        store::insert_audit(&mut tx, &a).await?;
        let view = store::get_order(&mut tx, refund_id)
            .await?
            .map(order_view)
            .ok_or_else(|| Error::not_found("order", refund_id))?;
        let event = balance_event(&mut tx, order.client_id).await?;
        self.commit(tx, vec![event]).await?;
        Ok(view)
    }

    /// An extra charge after a session ended: an order that takes money
    /// from the balance (OrderRefund: order corrections).
    pub async fn extra_charge(&self, actor: &Actor, req: ExtraCharge) -> Result<OrderView> {
        actor.require(Permission::OrderRefund)?;
        let reason = required_text("reason", &req.reason, 500)?;
        positive_amount("amount", req.amount)?;
        let now = self.now();
        let t = store::ms(now);
        let mut tx = self.store.write().await?;
        let client = store::get_client(&mut tx, req.client_id)
            .await?
            .ok_or_else(|| Error::not_found("client", req.client_id))?;
        if let Some(sid) = req.session_id {
            let s = load_session(&mut tx, sid).await?;
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
                client.balance, req.amount
            )));
        }
        let order_id = store::insert_order(
            &mut tx,
            &NewOrder {
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
            },
        )
        .await?;
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
        store::insert_ledger(&mut tx, &e).await?;
        let mut a = actor.audit("order.extra_charge", now);
        a.client_id = Some(client.id);
        a.session_id = req.session_id;
        a.after = Some(serde_json::json!({"order_id": order_id, "amount": req.amount}));
        a.reason = Some(reason);
        store::insert_audit(&mut tx, &a).await?;
        let view = store::get_order(&mut tx, order_id)
            .await?
            .map(order_view)
            .ok_or_else(|| Error::not_found("order", order_id))?;
        let event = balance_event(&mut tx, client.id).await?;
        self.commit(tx, vec![event]).await?;
        Ok(view)
    }
}
