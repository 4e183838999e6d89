//! Live session corrections (SessionEdit): move to another PC, correct the
//! price. (Adding time: `extend`.) Neither locks the PC; each is audited
//! and pushed to the agents it touches.

use super::sessions::{
    audit_on_session, check_device_free, clean_reason, load_session_for, open_segments,
    session_events, session_span, session_view,
};
use super::{required_text, Actor, Service};
use crate::error::{Error, Result};
use crate::requests::corrections::{MoveSession, PriceCorrection, MAX_CORRECTION};
use crate::store::{self, Conn, NewLedger};
use club_shared::events::SessionChange;
use club_shared::{major, Account, Event, Minor, Permission, SessionStatus, SessionView};

/// Live sessions only; the message names the status otherwise.
pub(super) fn require_live(s: &store::SessionRow, what: &str) -> Result<SessionStatus> {
    let status = s.status;
    if !status.is_live() {
        return Err(Error::Conflict(format!(
            "session is {status}; {what} is not possible on a finished session"
        )));
    }
    Ok(status)
}

fn moved_event(view: &SessionView, from: i64) -> Event {
    Event::Session {
        change: SessionChange::Moved,
        devices: vec![from, view.device_id],
        session: Box::new(view.clone()),
    }
}

impl Service {
    /// Moves a live session to another PC. The old binding ends now and a
    /// new one opens; the session's time does not stop.
    #[tracing::instrument(skip_all, fields(session.id = id, operator.id = actor.operator_id()))]
    pub async fn move_session(
        &self,
        actor: &Actor,
        id: i64,
        req: MoveSession,
    ) -> Result<SessionView> {
        actor.require(Permission::SessionEdit)?;
        let reason = clean_reason(req.reason)?;
        let now = self.now();
        let actor = actor.clone();
        self.run(move |this, tx| {
            let actor = &actor;
            let s = load_session_for(&mut *tx, actor, id)?;
            let status = require_live(&s, "moving")?;
            if req.device_id == s.device_id {
                return Err(Error::bad("device_id", "the session is already on this PC"));
            }
            let target = tx
                .get_device(req.device_id)?
                .ok_or_else(|| Error::not_found("device", req.device_id))?;
            actor.in_club(target.club_id, "device", target.id)?;
            if target.club_id != s.club_id {
                return Err(Error::Conflict(format!(
                    "PC {} is in another club: a session stays in its club",
                    target.name
                )));
            }
            if !target.enabled {
                return Err(Error::Conflict(format!("PC {} is disabled", target.name)));
            }
            if !this.presence(target.id).online {
                return Err(Error::Conflict(format!("PC {} is offline", target.name)));
            }
            // Every tariff still to run (the current one and those queued)
            // must be allowed where the session goes.
            for g in open_segments(&mut *tx, id)? {
                let zones = tx.tariff_zones(g.tariff_id)?;
                if !zones.is_empty() && !zones.contains(&target.zone_id) {
                    return Err(Error::Conflict(format!(
                        "tariff {} is not allowed in the zone of PC {}",
                        g.tariff_name, target.name
                    )));
                }
            }
            let span = session_span(&mut *tx, &s, now)?
                .ok_or_else(|| Error::Internal(anyhow::anyhow!("a live session has a span")))?;
            check_device_free(&mut *tx, target.id, &target.name, span, now, Some(id))?;

            let before = session_view(&mut *tx, id)?;
            let t = store::ms(now);
            tx.end_binding(id, t)?;
            let started = (status == SessionStatus::Started).then_some(t);
            let planned = if status == SessionStatus::Pending {
                s.planned_start_at
            } else {
                t
            };
            tx.insert_running_binding(id, target.id, planned, started)?;
            tx.set_session_device(id, target.id)?;
            let view = session_view(&mut *tx, id)?;
            let mut a = audit_on_session(actor, "session.move", now, &s);
            a.device_id = Some(target.id);
            a.before =
                Some(serde_json::json!({"device_id": s.device_id, "ends_at": before.ends_at}));
            a.after = Some(serde_json::json!({"device_id": target.id, "ends_at": view.ends_at}));
            a.reason = reason;
            tx.insert_audit(&a)?;
            let events = vec![moved_event(&view, s.device_id)];
            Ok((view, events))
        })
        .await
    }

    /// A signed correction of a live session's price, with a reason. It is
    /// settled on the client's balance at once and shows on the receipt.
    #[tracing::instrument(skip_all, fields(session.id = id, operator.id = actor.operator_id()))]
    pub async fn correct_price(
        &self,
        actor: &Actor,
        id: i64,
        req: PriceCorrection,
    ) -> Result<SessionView> {
        actor.require(Permission::SessionEdit)?;
        let reason = required_text("reason", &req.reason, 500)?;
        if req.delta == 0 {
            return Err(Error::bad("delta", "must not be zero"));
        }
        if !(-MAX_CORRECTION..=MAX_CORRECTION).contains(&req.delta) {
            return Err(Error::bad(
                "delta",
                format!("must be within ±{}", major(MAX_CORRECTION)),
            ));
        }
        let now = self.now();
        let actor = actor.clone();
        self.run(move |_, tx| {
            let actor = &actor;
            let s = load_session_for(&mut *tx, actor, id)?;
            match s.status {
                SessionStatus::Ended => {
                    return Err(Error::Conflict(
                        "session is ENDED; a price change after the end is an order \
                     (a refund or an extra charge)"
                            .into(),
                    ))
                }
                SessionStatus::Cancelled => {
                    return Err(Error::Conflict("session is CANCELLED; it is final".into()))
                }
                _ => {}
            }
            let before = session_view(&mut *tx, id)?;
            let corrections: Minor = before.price_corrections.iter().map(|p| p.delta).sum();
            let paid = paid_for_session(&mut *tx, &before)?;
            if corrections + req.delta < -paid {
                return Err(Error::bad(
                    "delta",
                    format!("would give back more than the {paid} paid for this session's tariffs"),
                ));
            }
            let client = tx
                .get_client(s.client_id)?
                .ok_or_else(|| Error::not_found("client", s.client_id))?;
            if req.delta > client.balance {
                return Err(Error::Conflict(format!(
                    "the client's balance of {} does not cover the {} charge",
                    major(client.balance),
                    major(req.delta)
                )));
            }
            tx.insert_price_correction(
                id,
                req.delta,
                &reason,
                actor.operator_id(),
                store::ms(now),
            )?;
            tx.insert_ledger(&NewLedger {
                at: store::ms(now),
                client_id: s.client_id,
                account: Account::Money,
                amount: -req.delta,
                kind: "price_correction",
                order_id: None,
                session_id: Some(id),
                operator_id: actor.operator_id(),
            })?;
            let view = session_view(&mut *tx, id)?;
            let mut a = audit_on_session(actor, "session.price_correction", now, &s);
            a.before =
                Some(serde_json::json!({"corrections": corrections, "balance": client.balance}));
            a.after = Some(serde_json::json!({
                "corrections": corrections + req.delta,
                "delta": req.delta,
                "balance": client.balance - req.delta,
            }));
            a.reason = Some(reason);
            tx.insert_audit(&a)?;
            let events =
                session_events(tx, SessionChange::PriceCorrected, &view, Some(s.client_id))?;
            Ok((view, events))
        })
        .await
    }
}

/// What the client paid for the tariffs this session runs on.
fn paid_for_session(c: &mut Conn, v: &SessionView) -> Result<Minor> {
    let mut paid = 0;
    let mut seen = Vec::new();
    for g in &v.segments {
        if seen.contains(&g.holding_id) {
            continue;
        }
        seen.push(g.holding_id);
        if let Some(h) = c.get_holding(g.holding_id)? {
            paid += h.price_paid;
        }
    }
    Ok(paid)
}
