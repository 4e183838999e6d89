//! Adding time to a running session: a tariff added at the desk, and
//! auto-renewal at the natural end (a holding of the same tariff, or a new
//! one bought from the balance). Neither locks the PC.

use super::corrections::require_live;
use super::sessions::{
    apply_plan, audit_on_session, check_device_free, clean_reason, closing_segments,
    holdings_state, load_session, plan, playable_holding, session_events, session_view, summary,
    usable_holding,
};
use super::tariffs::{load_settings, tariff_window};
use super::{Actor, Service};
use crate::domain::{occupancy, segment_seconds, Closing, Span};
use crate::error::{Error, Result};
use crate::requests::extend::AddTariff;
use crate::store::{self, at_opt, Conn};
use chrono::{DateTime, Duration, Utc};
use club_shared::events::SessionChange;
use club_shared::{Event, HoldingStatus, Permission, SessionStatus, SessionView};

/// Opens a new segment on `holding` for a session, starting at `from` if it
/// is running (else when it starts). Answers its end, if running.
#[allow(clippy::too_many_arguments)] // the pieces of one new segment
fn open_new_segment(
    c: &mut Conn,
    s: &store::SessionRow,
    device_name: &str,
    holding: &store::HoldingRow,
    tariff: &store::TariffRow,
    running_from: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    let position = c.session_segments(s.id)?.len() as i64;
    let ends_at = match running_from {
        Some(from) => {
            let tz = load_settings(c)?.tz();
            let window = tariff_window(tariff);
            let seconds = segment_seconds(holding.remaining_seconds, window, from, tz)
                .filter(|s| *s > 0)
                .ok_or_else(|| {
                    let w = window.map(|w| w.describe()).unwrap_or_default();
                    Error::Conflict(format!("tariff {} is usable only {w}", tariff.name))
                })?;
            let ends = from + Duration::seconds(seconds);
            check_device_free(
                c,
                s.device_id,
                device_name,
                Span { from, to: ends },
                now,
                Some(s.id),
            )?;
            Some(ends)
        }
        None => {
            let status = s.status;
            let span = occupancy(
                status,
                store::at(s.planned_start_at),
                None,
                holding.remaining_seconds,
                now,
            )
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("a live session has a span")))?;
            check_device_free(c, s.device_id, device_name, span, now, Some(s.id))?;
            None
        }
    };
    let segment_id = c.insert_segment(
        s.id,
        position,
        holding.id,
        tariff.id,
        holding.remaining_seconds,
        tariff.refund_policy,
        tariff.max_bonus_percent,
    )?;
    if let (Some(from), Some(ends)) = (running_from, ends_at) {
        c.open_segment(segment_id, store::ms(from), store::ms(ends))?;
        c.set_session_ends_at(s.id, Some(store::ms(ends)))?;
    }
    c.update_holding(
        holding.id,
        holding.remaining_seconds,
        holding.value_remaining,
        HoldingStatus::InUse,
    )?;
    Ok(ends_at)
}

impl Service {
    /// Extension or switch: a new segment from now; the previous one closes
    /// now and its holding keeps what it did not use. The PC stays as it is.
    #[tracing::instrument(skip_all, fields(session.id = id, operator.id = actor.operator_id()))]
    pub async fn add_tariff(&self, actor: &Actor, id: i64, req: AddTariff) -> Result<SessionView> {
        actor.require(Permission::SessionEdit)?;
        let reason = clean_reason(req.reason.clone())?;
        let now = self.now();
        let actor = actor.clone();
        self.run(move |_, tx| add_tariff_in(tx, &actor, id, req, reason, now))
            .await
    }
    /// Auto-renewal at a natural end: with auto-renewal on and a holding of
    /// the same tariff on the balance, a new segment starts at the end of
    /// the old one, with no gap and no lock. Answers None when it does not
    /// apply (the session then ends naturally).
    pub(super) async fn try_renew(&self, id: i64) -> Result<Option<SessionView>> {
        let now = self.now();
        let mut tx = self.store.write().await?;
        let s = load_session(&mut *tx, id)?;
        let Some(ends_at) = at_opt(s.ends_at).filter(|e| *e <= now) else {
            return Ok(None);
        };
        if s.status != SessionStatus::Started {
            return Ok(None);
        }
        let client = tx
            .get_client(s.client_id)?
            .ok_or_else(|| Error::not_found("client", s.client_id))?;
        let segments = closing_segments(&mut *tx, id, Closing::NaturalEnd)?;
        let Some(current) = segments.last() else {
            return Ok(None);
        };
        if !client.auto_renewal {
            return Ok(None);
        }
        let next =
            tx.available_holding_of_tariff(s.client_id, current.tariff_id, store::ms(ends_at))?;
        let Some(next) = next else {
            return Ok(None);
        };
        let device = tx
            .get_device(s.device_id)?
            .ok_or_else(|| Error::not_found("device", s.device_id))?;
        let before = session_view(&mut *tx, id)?;
        let outcomes = plan(&mut *tx, &segments, Closing::NaturalEnd)?;
        apply_plan(&mut *tx, &Actor::System, &s, &outcomes, ends_at)?;
        let usable = usable_holding(
            &mut *tx,
            next,
            s.client_id,
            device.zone_id,
            store::ms(ends_at),
        );
        let renewed = match usable {
            Ok((holding, tariff)) => open_new_segment(
                &mut *tx,
                &s,
                &device.name,
                &holding,
                &tariff,
                Some(ends_at),
                now,
            ),
            Err(e) => Err(e),
        };
        if let Err(e) = renewed {
            // Not renewable after all (window, a booking on the PC): the
            // natural end goes ahead; nothing of this attempt is kept.
            tracing::info!(session.id = id, why = %e, "auto-renewal not possible");
            return Ok(None);
        }
        let view = session_view(&mut *tx, id)?;
        let mut a = audit_on_session(&Actor::System, "session.renew", now, &s);
        a.before = Some(summary(&before));
        a.after = Some(serde_json::json!({"session": summary(&view), "closed": outcomes}));
        tx.insert_audit(&a)?;
        // A session event: the scheduler is woken after the commit.
        let events = session_events(&mut *tx, SessionChange::Renewed, &view, None)?;
        self.commit(tx, events).await?;
        Ok(Some(view))
    }
}

/// `add_tariff` in the transaction.
fn add_tariff_in(
    tx: &mut Conn,
    actor: &Actor,
    id: i64,
    req: AddTariff,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<(SessionView, Vec<Event>)> {
    let s = load_session(&mut *tx, id)?;
    let status = require_live(&s, "adding a tariff")?;
    let device = tx
        .get_device(s.device_id)?
        .ok_or_else(|| Error::not_found("device", s.device_id))?;
    let before = session_view(&mut *tx, id)?;
    let holdings_before = holdings_state(&mut *tx, &before)?;

    // The previous segment locks its time first, so that its holding,
    // if it is the one added again, is back on the balance.
    let segments = closing_segments(&mut *tx, id, Closing::Switch(now))?;
    let outcomes = plan(&mut *tx, &segments, Closing::Switch(now))?;
    apply_plan(&mut *tx, actor, &s, &outcomes, now)?;

    if req.holding_id.is_some() && req.tariff_id.is_none() && req.bonus_amount != 0 {
        return Err(Error::bad(
            "bonus_amount",
            "applies only when buying a tariff_id",
        ));
    }
    let (holding, tariff) = playable_holding(
        &mut *tx,
        actor,
        s.client_id,
        device.zone_id,
        (req.holding_id, req.tariff_id, req.bonus_amount),
        now,
        store::ms(now),
    )?;
    let running_from = (status == SessionStatus::Started).then_some(now);
    open_new_segment(
        &mut *tx,
        &s,
        &device.name,
        &holding,
        &tariff,
        running_from,
        now,
    )?;

    let view = session_view(&mut *tx, id)?;
    let mut a = audit_on_session(actor, "session.add_tariff", now, &s);
    a.before = Some(serde_json::json!({"session": summary(&before), "holdings": holdings_before}));
    a.after = Some(serde_json::json!({
        "session": summary(&view),
        "holdings": holdings_state(&mut *tx, &view)?,
        "closed": outcomes,
        "added": {"holding_id": holding.id, "tariff_id": tariff.id, "tariff_name": tariff.name},
    }));
    a.reason = reason;
    tx.insert_audit(&a)?;
    let paid = req.tariff_id.is_some().then_some(s.client_id);
    let events = session_events(tx, SessionChange::TariffAdded, &view, paid)?;
    Ok((view, events))
}
