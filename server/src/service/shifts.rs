//! Shifts: every money movement, correction and cancellation an operator
//! makes belongs to their open shift (the store tags it); X is the live
//! report of a shift, Z the one fixed when it closes.

use super::{Actor, Service};
use crate::error::{Error, Result};
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

pub(super) fn staff_id(actor: &Actor) -> Result<i64> {
    actor
        .operator_id()
        .ok_or_else(|| Error::Unauthorized("shifts belong to staff".into()))
}

fn report(c: &mut store::Conn, shift: &store::ShiftRow) -> Result<ShiftReport> {
    let payments = c
        .shift_order_totals(shift.id)?
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
        let actor = actor.clone();
        self.run(move |_, tx| {
            let actor = &actor;
            if let Some(open) = tx.open_shift_of(op)? {
                return Err(Error::Conflict(format!(
                    "shift {} is already open; close it first",
                    open.id
                )));
            }
            let id = tx.open_shift(op, store::ms(now))?;
            let shift = tx
                .get_shift(id)?
                .ok_or_else(|| Error::not_found("shift", id))?;
            let mut a = actor.audit("shift.open", now);
            a.after = Some(serde_json::json!({"shift_id": id}));
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

    /// Closes a shift (its operator's own, or any with RoleManage) and fixes
    /// its Z report.
    pub async fn close_shift(&self, actor: &Actor, id: i64) -> Result<ShiftReport> {
        actor.require(Permission::ShiftManage)?;
        let op = staff_id(actor)?;
        let now = self.now();
        let actor = actor.clone();
        self.run(move |_, tx| {
            let actor = &actor;
            let shift = tx
                .get_shift(id)?
                .ok_or_else(|| Error::not_found("shift", id))?;
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
                ..shift
            };
            let z = report(&mut *tx, &closed)?;
            let json = serde_json::to_string(&z).map_err(|e| Error::Internal(e.into()))?;
            tx.close_shift(id, store::ms(now), &json)?;
            let events = vec![];
            Ok((z, events))
        })
        .await
    }

    pub async fn shift_report(&self, actor: &Actor, id: i64) -> Result<ShiftReport> {
        actor.require(Permission::ReportView)?;
        let mut tx = self.store.snapshot().await?;
        let shift = tx
            .get_shift(id)?
            .ok_or_else(|| Error::not_found("shift", id))?;
        if let Some(z) = shift
            .z_report
            .as_deref()
            .and_then(|z| serde_json::from_str(z).ok())
        {
            return Ok(z);
        }
        report(&mut *tx, &shift)
    }
}
