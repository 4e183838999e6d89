//! Shifts: every money movement, correction and cancellation an operator
//! makes belongs to their open shift (the store tags it); X is the live
//! report of a shift, Z the one fixed when it closes.

use super::{Actor, Service};
use crate::error::{Error, Result};
use crate::requests::orders::{CloseShift, OpenShift, ShiftQuery};
use crate::store::{self, at, at_opt};
use chrono::{DateTime, Utc};
use club_shared::{Minor, Permission};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
    /// The operator's login, beside the id.
    #[serde(default)]
    pub operator_login: String,
    /// The club whose desk it is (1 in a single club).
    #[serde(default = "club_shared::first_club")]
    pub club_id: i64,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// `x` while open, `z` once closed.
    pub kind: String,
    /// The till: the float counted at the opening, cash taken (top-ups
    /// paid in cash) and paid out (refunds in cash), and what should be
    /// in it now: opening + in - out.
    #[serde(default)]
    pub opening_cash: Minor,
    #[serde(default)]
    pub cash_in: Minor,
    #[serde(default)]
    pub cash_out: Minor,
    #[serde(default)]
    pub expected_cash: Minor,
    /// Counted at the close (Z only), and counted minus expected: a
    /// shortfall is negative.
    #[serde(default)]
    pub counted_cash: Option<Minor>,
    #[serde(default)]
    pub cash_difference: Option<Minor>,
    /// Card payments taken and refunded to cards.
    #[serde(default)]
    pub card_in: Minor,
    #[serde(default)]
    pub card_out: Minor,
    /// Totals by order kind and payment method.
    pub payments: Vec<PaymentLine>,
    pub bonus_issued: Minor,
    pub bonus_spent: Minor,
    pub corrections: Vec<CorrectionLine>,
    pub cancellations: Vec<CancellationLine>,
}

pub(super) fn staff_id(actor: &Actor) -> Result<i64> {
    actor
        .operator_id()
        .ok_or_else(|| Error::Unauthorized("shifts belong to staff".into()))
}

fn report(c: &mut store::Conn, shift: &store::ShiftRow) -> Result<ShiftReport> {
    let totals = c.shift_order_totals(shift.id)?;
    let sum = |kind: &str, method: &str| -> Minor {
        totals
            .iter()
            .filter(|(k, m, ..)| k == kind && m.as_deref() == Some(method))
            .map(|(_, _, money, ..)| money)
            .sum()
    };
    let (cash_in, cash_out) = (sum("top_up", "cash"), sum("refund", "cash"));
    let (card_in, card_out) = (sum("top_up", "card"), sum("refund", "card"));
    let expected_cash = shift.opening_cash + cash_in - cash_out;
    let payments = totals
        .into_iter()
        .map(|(kind, method, money, bonus, count)| PaymentLine {
            kind,
            method,
            money,
            bonus,
            count,
        })
        .collect();
    let (bonus_issued, bonus_spent) = c.shift_bonus(shift.id)?;
    let corrections = c
        .shift_corrections(shift.id)?
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
    let cancellations = c
        .shift_cancellations(shift.id)?
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
        operator_login: shift.operator_login.clone(),
        club_id: shift.club_id,
        opened_at: at(shift.opened_at),
        closed_at: at_opt(shift.closed_at),
        kind: if shift.closed_at.is_some() { "z" } else { "x" }.into(),
        opening_cash: shift.opening_cash,
        cash_in,
        cash_out,
        expected_cash,
        counted_cash: shift.counted_cash,
        cash_difference: shift.counted_cash.map(|c| c - expected_cash),
        card_in,
        card_out,
        payments,
        bonus_issued,
        bonus_spent,
        corrections,
        cancellations,
    })
}

impl Service {
    pub async fn open_shift(&self, actor: &Actor, req: OpenShift) -> Result<ShiftReport> {
        actor.require(Permission::ShiftManage)?;
        let op = staff_id(actor)?;
        let opening_cash = till_amount("opening_cash", req.opening_cash)?;
        let now = self.now();
        let actor = actor.clone();
        self.run(move |_, tx| {
            let actor = &actor;
            if let Some(open) = tx.open_shift_of(op)? {
                return Err(Error::Conflict(format!(
                    "shift {} is already open; close it first",
                    open.id
                )));
            }
            let club = super::clubs::pick_club(&mut *tx, actor, req.club_id)?;
            let id = tx.open_shift(op, club, store::ms(now), opening_cash)?;
            let shift = tx
                .get_shift(id)?
                .ok_or_else(|| Error::not_found("shift", id))?;
            let mut a = actor.audit("shift.open", now);
            a.after = Some(serde_json::json!({
                "shift_id": id, "club_id": club, "opening_cash": opening_cash,
            }));
            tx.insert_audit(&a)?;
            let r = report(&mut *tx, &shift)?;
            let events = vec![];
            Ok((r, events))
        })
        .await
    }

    /// The caller's open shift with its X report.
    pub async fn current_shift(&self, actor: &Actor) -> Result<ShiftReport> {
        let op = staff_id(actor)?;
        let mut tx = self.store.snapshot().await?;
        let shift = tx
            .open_shift_of(op)?
            .ok_or_else(|| Error::NotFound("no open shift: open one first".into()))?;
        report(&mut *tx, &shift)
    }

    /// Closes a shift (its operator's own, or any with RoleManage) with the
    /// cash counted in the till, and fixes its Z report: the expected cash,
    /// the counted cash and the difference.
    pub async fn close_shift(
        &self,
        actor: &Actor,
        id: i64,
        req: CloseShift,
    ) -> Result<ShiftReport> {
        actor.require(Permission::ShiftManage)?;
        let op = staff_id(actor)?;
        let counted = till_amount("counted_cash", req.counted_cash)?;
        let now = self.now();
        let actor = actor.clone();
        self.run(move |_, tx| {
            let actor = &actor;
            let shift = tx
                .get_shift(id)?
                .ok_or_else(|| Error::not_found("shift", id))?;
            actor.in_club(shift.club_id, "shift", id)?;
            if shift.operator_id != op {
                actor.require(Permission::RoleManage)?;
            }
            if shift.closed_at.is_some() {
                return Err(Error::Conflict(format!("shift {id} is already closed")));
            }
            let mut a = actor.audit("shift.close", now);
            a.before = Some(serde_json::json!({"shift_id": id}));
            tx.insert_audit(&a)?;
            let closed = store::ShiftRow {
                closed_at: Some(store::ms(now)),
                counted_cash: Some(counted),
                ..shift
            };
            let z = report(&mut *tx, &closed)?;
            let mut a = actor.audit("shift.count", now);
            a.after = Some(serde_json::json!({
                "shift_id": id, "expected_cash": z.expected_cash,
                "counted_cash": counted, "cash_difference": z.cash_difference,
            }));
            tx.insert_audit(&a)?;
            let json = serde_json::to_string(&z).map_err(|e| Error::Internal(e.into()))?;
            tx.close_shift(id, store::ms(now), counted, &json)?;
            let events = vec![];
            Ok((z, events))
        })
        .await
    }

    /// Shifts, newest first, with their reports (ReportView); the next
    /// page is `before_id` = the last id of this one.
    pub async fn list_shifts(&self, actor: &Actor, q: ShiftQuery) -> Result<Vec<ShiftReport>> {
        actor.require(Permission::ReportView)?;
        let limit = q.limit.unwrap_or(50);
        if !(1..=500).contains(&limit) {
            return Err(Error::bad("limit", "must be 1..500"));
        }
        let mut tx = self.store.snapshot().await?;
        let mut out = Vec::new();
        let club = super::clubs::narrow(actor, q.club_id, "club_id")?;
        for shift in tx.list_shifts(q.operator_id, club, q.before_id, limit)? {
            out.push(match stored_z(&shift) {
                Some(z) => z,
                None => report(&mut *tx, &shift)?,
            });
        }
        Ok(out)
    }

    pub async fn shift_report(&self, actor: &Actor, id: i64) -> Result<ShiftReport> {
        actor.require(Permission::ReportView)?;
        let mut tx = self.store.snapshot().await?;
        let shift = tx
            .get_shift(id)?
            .ok_or_else(|| Error::not_found("shift", id))?;
        actor.in_club(shift.club_id, "shift", id)?;
        if let Some(z) = stored_z(&shift) {
            return Ok(z);
        }
        report(&mut *tx, &shift)
    }
}

/// The open shift of a staff member taking cash or card money, when the
/// club requires one: a 409 that names what is missing.
pub(crate) fn require_open_shift(c: &mut store::Conn, actor: &Actor, what: &str) -> Result<()> {
    let Actor::Staff(staff) = actor else {
        return Ok(());
    };
    if !super::tariffs::load_settings(c)?.require_open_shift {
        return Ok(());
    }
    if c.open_shift_of(staff.operator_id)?.is_none() {
        return Err(Error::Conflict(format!(
            "{} has no open shift: open a shift with the counted cash float before {what}",
            staff.login
        )));
    }
    Ok(())
}

/// The Z report fixed at the close, with the login beside the id (a Z
/// fixed before logins were in it has none).
fn stored_z(shift: &store::ShiftRow) -> Option<ShiftReport> {
    let mut z: ShiftReport = serde_json::from_str(shift.z_report.as_deref()?).ok()?;
    z.operator_login.clone_from(&shift.operator_login);
    z.club_id = shift.club_id;
    Some(z)
}

/// A till amount: 0 up to the top-up limit.
fn till_amount(field: &str, amount: Minor) -> Result<Minor> {
    if !(0..=super::clients::MAX_TOP_UP).contains(&amount) {
        return Err(Error::bad(
            field,
            format!(
                "must be 0..{} (minor units)",
                club_shared::major(super::clients::MAX_TOP_UP)
            ),
        ));
    }
    Ok(amount)
}
