//! Closing a session: the plan for a cancel or an end (each segment's
//! refund policy applied to its holding), the preview of that plan, and
//! writing it with the receipt.

use super::*;
use crate::domain::{
    check_cancel, close_segment, closing_postings, transition, Action, Closing, HoldingState,
    OpenSegment, SegmentOutcome,
};
use crate::error::{Error, Result};
use crate::service::postings::{write_postings, PostingContext};
use crate::service::{Actor, Service};
use crate::store::{self, at, at_opt, Conn};
use chrono::{DateTime, Utc};
use club_shared::events::SessionChange;
use club_shared::{Minor, Permission, Receipt, ReceiptCorrection, ReceiptLine, SessionView};

pub(crate) fn holding_state(h: &store::HoldingRow) -> HoldingState {
    HoldingState {
        total_seconds: h.total_seconds,
        remaining_seconds: h.remaining_seconds,
        price_paid: h.price_paid,
        value_remaining: h.value_remaining,
    }
}

pub(crate) fn open_segment(g: &store::SegmentRow) -> OpenSegment {
    OpenSegment {
        id: g.id,
        holding_id: g.holding_id,
        tariff_id: g.tariff_id,
        tariff_name: g.tariff_name.clone(),
        refund_policy: g.refund_policy,
        reserved_seconds: g.reserved_seconds,
        span: g.starts_at.zip(g.ends_at).map(|(a, b)| (at(a), at(b))),
    }
}

/// What closing the given segments would do, from the current holdings.
pub(crate) fn plan(
    c: &mut Conn,
    segments: &[store::SegmentRow],
    closing: Closing,
) -> Result<Vec<SegmentOutcome>> {
    let mut out = Vec::with_capacity(segments.len());
    for g in segments {
        let h = c
            .get_holding(g.holding_id)?
            .ok_or_else(|| Error::not_found("holding", g.holding_id))?;
        out.push(close_segment(&open_segment(g), holding_state(&h), closing));
    }
    Ok(out)
}

/// The segments a closing touches: every open one, in the order they run
/// (the running one, then those queued after it).
pub(crate) fn open_segments(c: &mut Conn, session_id: i64) -> Result<Vec<store::SegmentRow>> {
    Ok(c.session_segments(session_id)?
        .into_iter()
        .filter(|g| g.closed_at.is_none())
        .collect())
}

/// Writes a plan: the postings the domain makes of it (holdings, closed
/// segments, value movements, bonus). Answers whether a balance changed.
pub(crate) fn apply_plan(
    c: &mut Conn,
    actor: &Actor,
    session: &store::SessionRow,
    outcomes: &[SegmentOutcome],
    closed_at: DateTime<Utc>,
) -> Result<bool> {
    let ctx = PostingContext {
        at: store::ms(closed_at),
        client_id: session.client_id,
        session_id: Some(session.id),
        operator_id: actor.operator_id(),
    };
    write_postings(c, &ctx, &closing_postings(outcomes))
}

/// The receipt from actual usage: every segment's time and amount, with
/// the segments closing now taken from `current` (not yet written) and
/// what their refund policies did; the corrections one by one.
pub(crate) fn build_receipt(
    c: &mut Conn,
    session_id: i64,
    current: &[SegmentOutcome],
    end_kind: &str,
    ended_at: DateTime<Utc>,
) -> Result<Receipt> {
    let mut lines = Vec::new();
    for g in c.session_segments(session_id)? {
        let line = match current.iter().find(|o| o.segment_id == g.id) {
            Some(o) => ReceiptLine {
                segment_id: g.id,
                tariff_id: g.tariff_id,
                tariff_name: g.tariff_name.clone(),
                seconds_used: o.seconds_used,
                amount: o.amount,
                refund_policy: o.refund_policy,
                unused_seconds: o.unused_seconds,
                kept_seconds: o.kept_seconds,
                bonus: o.bonus,
                burned: o.burned,
            },
            // Closed before, by a switch: its holding kept what it did not use.
            None => {
                let used = g.seconds_used.unwrap_or(0);
                ReceiptLine {
                    segment_id: g.id,
                    tariff_id: g.tariff_id,
                    tariff_name: g.tariff_name.clone(),
                    seconds_used: used,
                    amount: g.amount.unwrap_or(0),
                    refund_policy: None,
                    unused_seconds: 0,
                    kept_seconds: (g.reserved_seconds - used).max(0),
                    bonus: 0,
                    burned: 0,
                }
            }
        };
        lines.push(line);
    }
    let correction_lines: Vec<ReceiptCorrection> = c
        .session_price_corrections(session_id)?
        .into_iter()
        .map(|p| ReceiptCorrection {
            delta: p.delta,
            reason: p.reason,
            at: at(p.at),
        })
        .collect();
    let corrections: Minor = correction_lines.iter().map(|p| p.delta).sum();
    let time_charged: Minor = lines.iter().map(|l| l.amount).sum();
    let net = time_charged + corrections;
    Ok(Receipt {
        session_id,
        end_kind: end_kind.to_owned(),
        ended_at,
        bonus_returned: lines.iter().map(|l| l.bonus).sum(),
        kept_seconds: lines.iter().map(|l| l.kept_seconds).sum(),
        burned: lines.iter().map(|l| l.burned).sum(),
        lines,
        corrections,
        correction_lines,
        time_charged,
        total: net.max(0),
        credited: (-net).max(0),
    })
}

impl Service {
    #[tracing::instrument(skip_all, fields(session.id = id, operator.id = actor.operator_id()))]
    pub async fn cancel_session(
        &self,
        actor: &Actor,
        id: i64,
        reason: Option<String>,
    ) -> Result<SessionView> {
        actor.require(Permission::SessionDelete)?;
        let reason = clean_reason(reason)?;
        let now = self.now();
        let actor = actor.clone();
        self.run(move |this, tx| this.cancel_session_in(tx, &actor, id, reason, now))
            .await
    }

    fn cancel_session_in(
        &self,
        tx: &mut Conn,
        actor: &Actor,
        id: i64,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(SessionView, Vec<Event>)> {
        let s = load_session_for(&mut *tx, actor, id)?;
        check_cancel(s.status, at_opt(s.actual_start_at))?;
        let before = session_view(&mut *tx, id)?;
        let holdings_before = holdings_state(&mut *tx, &before)?;
        let segments = open_segments(&mut *tx, id)?;
        let outcomes = plan(&mut *tx, &segments, Closing::Cancel)?;
        let balance_changed = apply_plan(&mut *tx, actor, &s, &outcomes, now)?;
        tx.mark_session_cancelled(id, store::ms(now), actor.operator_id(), reason.as_deref())?;
        tx.end_binding(id, store::ms(now))?;
        let view = session_view(&mut *tx, id)?;
        let mut a = audit_on_session(actor, "session.cancel", now, &s);
        a.before =
            Some(serde_json::json!({"session": summary(&before), "holdings": holdings_before}));
        a.after = Some(serde_json::json!({
            "session": summary(&view),
            "holdings": holdings_state(&mut *tx, &view)?,
            "outcomes": outcomes,
        }));
        a.reason = reason;
        tx.insert_audit(&a)?;
        let events = session_events(
            tx,
            SessionChange::Cancelled,
            &view,
            balance_changed.then_some(s.client_id),
        )?;
        Ok((view, events))
    }

    /// Staff end a STARTED session now; the refund policy applies to the
    /// current segment's unused time.
    #[tracing::instrument(skip_all, fields(session.id = id, operator.id = actor.operator_id()))]
    pub async fn end_session(
        &self,
        actor: &Actor,
        id: i64,
        reason: Option<String>,
    ) -> Result<SessionView> {
        actor.require(Permission::SessionEnd)?;
        let reason = clean_reason(reason)?;
        let now = self.now();
        self.end(actor, id, Closing::ManualEnd(now), reason).await
    }

    /// The clock ran out on a STARTED session (the scheduler).
    #[tracing::instrument(skip(self), fields(session.id = id))]
    pub async fn end_naturally(&self, id: i64) -> Result<SessionView> {
        if let Some(renewed) = self.try_renew(id).await? {
            return Ok(renewed);
        }
        self.end(&Actor::System, id, Closing::NaturalEnd, None)
            .await
    }

    pub(crate) async fn end(
        &self,
        actor: &Actor,
        id: i64,
        closing: Closing,
        reason: Option<String>,
    ) -> Result<SessionView> {
        let actor = actor.clone();
        self.run(move |this, tx| this.end_in(tx, &actor, id, closing, reason))
            .await
    }

    fn end_in(
        &self,
        tx: &mut Conn,
        actor: &Actor,
        id: i64,
        closing: Closing,
        reason: Option<String>,
    ) -> Result<(SessionView, Vec<Event>)> {
        let s = load_session_for(&mut *tx, actor, id)?;
        transition(s.status, Action::End)?;
        // A natural end happens when the time ran out, read in this same
        // transaction (a tariff added a moment ago has moved it).
        let ended_at = match closing {
            Closing::ManualEnd(now) | Closing::Switch(now) => now,
            Closing::NaturalEnd | Closing::Cancel => {
                at_opt(s.ends_at).unwrap_or_else(|| self.now())
            }
        };
        if closing == Closing::NaturalEnd && s.ends_at.is_some_and(|e| e > store::ms(self.now())) {
            return Err(Error::Conflict(format!("session {id} has time left")));
        }
        let before = session_view(&mut *tx, id)?;
        let holdings_before = holdings_state(&mut *tx, &before)?;
        let segments = open_segments(&mut *tx, id)?;
        let outcomes = plan(&mut *tx, &segments, closing)?;
        let end_kind = if closing == Closing::NaturalEnd {
            "natural"
        } else {
            "manual"
        };
        let receipt = build_receipt(&mut *tx, id, &outcomes, end_kind, ended_at)?;
        let balance_changed = apply_plan(&mut *tx, actor, &s, &outcomes, ended_at)?;
        let receipt_json =
            serde_json::to_string(&receipt).map_err(|e| Error::Internal(e.into()))?;
        tx.mark_session_ended(id, store::ms(ended_at), end_kind, &receipt_json)?;
        tx.end_binding(id, store::ms(ended_at))?;
        let view = session_view(&mut *tx, id)?;
        let kind = if closing == Closing::NaturalEnd {
            "session.end_natural"
        } else {
            "session.end"
        };
        let mut a = audit_on_session(actor, kind, self.now(), &s);
        a.before =
            Some(serde_json::json!({"session": summary(&before), "holdings": holdings_before}));
        a.after = Some(serde_json::json!({
            "session": summary(&view),
            "holdings": holdings_state(&mut *tx, &view)?,
            "outcomes": outcomes,
            "receipt": receipt,
        }));
        a.reason = reason;
        tx.insert_audit(&a)?;
        let events = session_events(
            tx,
            SessionChange::Ended,
            &view,
            balance_changed.then_some(s.client_id),
        )?;
        Ok((view, events))
    }

    /// What cancel or end would do now, changing nothing.
    /// Needs the permission of the action it previews: SessionDelete for a
    /// cancel, SessionEnd for an end.
    pub async fn preview(&self, actor: &Actor, id: i64, action: PreviewAction) -> Result<Preview> {
        actor.require(match action {
            PreviewAction::Cancel => Permission::SessionDelete,
            PreviewAction::End => Permission::SessionEnd,
        })?;
        let now = self.now();
        let mut tx = self.store.snapshot().await?;
        let s = load_session_for(&mut *tx, actor, id)?;
        let status = s.status;
        let (closing, allowed) = match action {
            PreviewAction::Cancel => (
                Closing::Cancel,
                check_cancel(status, at_opt(s.actual_start_at)),
            ),
            PreviewAction::End => (
                Closing::ManualEnd(now),
                transition(status, Action::End).map(drop),
            ),
        };
        let refusal = allowed.err().map(|r| r.to_string());
        let (outcomes, receipt) = if refusal.is_none() {
            let segments = open_segments(&mut *tx, id)?;
            let outcomes = plan(&mut *tx, &segments, closing)?;
            let receipt = match action {
                PreviewAction::End => Some(build_receipt(&mut *tx, id, &outcomes, "manual", now)?),
                PreviewAction::Cancel => None,
            };
            (outcomes, receipt)
        } else {
            (Vec::new(), None)
        };
        Ok(Preview {
            session_id: id,
            action: match action {
                PreviewAction::Cancel => "cancel".into(),
                PreviewAction::End => "end".into(),
            },
            status,
            at: now,
            allowed: refusal.is_none(),
            refusal,
            bonus_total: outcomes.iter().map(|o| o.bonus).sum(),
            burned_total: outcomes.iter().map(|o| o.burned).sum(),
            kept_seconds_total: outcomes.iter().map(|o| o.kept_seconds).sum(),
            outcomes,
            receipt,
        })
    }
}
