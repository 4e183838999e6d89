//! Adding time to a running session: a tariff added at the desk, and
//! auto-renewal at the natural end (a holding of the same tariff, or a new
//! one bought from the balance). Neither locks the PC.

use super::corrections::require_live;
use super::sessions::{
    apply_plan, audit_on_session, chained_spans, check_device_free, clean_reason, holdings_state,
    load_session, load_session_for, open_segments, plan, playable_holding, session_events,
    session_view, summary, usable_holding,
};
use super::tariffs::tariff_window;
use super::{Actor, Service};
use crate::domain::{occupancy, segment_seconds, Closing, Span};
use crate::error::{Error, Result};
use crate::requests::extend::{AddMode, AddTariff};
use crate::store::{self, at_opt, Conn};
use chrono::{DateTime, Duration, Utc};
use club_shared::events::SessionChange;
use club_shared::{Event, HoldingStatus, Permission, SessionStatus, SessionView};

/// Where a new segment goes.
#[derive(Debug, Clone, Copy)]
enum Placement {
    /// The session is running: the segment runs from this moment (now for
    /// a switch, the end of the last open segment for an extension or a
    /// renewal).
    Running(DateTime<Utc>),
    /// The session has not started: the segment is reserved after the
    /// open ones, and gets its span at Start.
    Reserved,
}

/// Opens a new segment on `holding` for a session, placed as `placement`
/// says, after checking that the PC is free for the session's new span.
/// Answers the new end of the session, if running.
#[allow(clippy::too_many_arguments)] // the pieces of one new segment
fn open_new_segment(
    c: &mut Conn,
    s: &store::SessionRow,
    device_name: &str,
    holding: &store::HoldingRow,
    tariff: &store::TariffRow,
    placement: Placement,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    let segments = c.session_segments(s.id)?;
    let position = segments.len() as i64;
    let window = tariff_window(tariff);
    let usable_only = |when: &str| {
        let w = window.map(|w| w.describe()).unwrap_or_default();
        Error::Conflict(format!("tariff {} is usable only {w}{when}", tariff.name))
    };
    let tz = super::clubs::clock_for(c, s.club_id, window.is_some())?;
    let ends_at = match placement {
        Placement::Running(from) => {
            let seconds = segment_seconds(holding.remaining_seconds, window, from, tz)
                .filter(|s| *s > 0)
                .ok_or_else(|| {
                    usable_only(&format!("; its turn comes at {}", from.to_rfc3339()))
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
        Placement::Reserved => {
            let open: Vec<_> = segments
                .into_iter()
                .filter(|g| g.closed_at.is_none())
                .collect();
            let reserved: i64 = open.iter().map(|g| g.reserved_seconds).sum();
            // Its turn, if the session started at its planned start (or
            // now): a windowed tariff must be usable then.
            let start = store::at(s.planned_start_at).max(now);
            let mut spans = chained_spans(c, s.club_id, &open, start)?;
            let turn = spans.pop().map_or(start, |(_, to)| to);
            segment_seconds(holding.remaining_seconds, window, turn, tz)
                .filter(|s| *s > 0)
                .ok_or_else(|| {
                    usable_only(&format!("; its turn would come at {}", turn.to_rfc3339()))
                })?;
            let span = occupancy(
                s.status,
                store::at(s.planned_start_at),
                None,
                reserved + holding.remaining_seconds,
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
    if let (Placement::Running(from), Some(ends)) = (placement, ends_at) {
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
    /// A tariff added to a live session. Extend (the default) queues the new
    /// segment after the last one, so the session ends later by its time;
    /// switch starts it now and closes the open segments now, each holding
    /// keeping what it did not use. The PC stays as it is.
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
        let segments = open_segments(&mut *tx, id)?;
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
                Placement::Running(ends_at),
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
    let s = load_session_for(&mut *tx, actor, id)?;
    let status = require_live(&s, "adding a tariff")?;
    let device = tx
        .get_device(s.device_id)?
        .ok_or_else(|| Error::not_found("device", s.device_id))?;
    let before = session_view(&mut *tx, id)?;
    let holdings_before = holdings_state(&mut *tx, &before)?;

    // A switch: the open segments lock their time first, so that a
    // holding among them, if it is the one added again, is back on the
    // balance. An extension gives nothing back.
    let outcomes = match req.mode {
        AddMode::Switch => {
            let segments = open_segments(&mut *tx, id)?;
            let outcomes = plan(&mut *tx, &segments, Closing::Switch(now))?;
            apply_plan(&mut *tx, actor, &s, &outcomes, now)?;
            outcomes
        }
        AddMode::Extend => Vec::new(),
    };

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
    let placement = match (status, req.mode) {
        (SessionStatus::Started, AddMode::Switch) => Placement::Running(now),
        // After the last open segment, which ends when the session does.
        (SessionStatus::Started, AddMode::Extend) => {
            Placement::Running(at_opt(s.ends_at).unwrap_or(now))
        }
        _ => Placement::Reserved,
    };
    open_new_segment(
        &mut *tx,
        &s,
        &device.name,
        &holding,
        &tariff,
        placement,
        now,
    )?;

    let view = session_view(&mut *tx, id)?;
    let mut a = audit_on_session(actor, "session.add_tariff", now, &s);
    a.before = Some(serde_json::json!({"session": summary(&before), "holdings": holdings_before}));
    a.after = Some(serde_json::json!({
        "session": summary(&view),
        "holdings": holdings_state(&mut *tx, &view)?,
        "mode": req.mode,
        "closed": outcomes,
        "added": {"holding_id": holding.id, "tariff_id": tariff.id, "tariff_name": tariff.name},
    }));
    a.reason = reason;
    tx.insert_audit(&a)?;
    let paid = req.tariff_id.is_some().then_some(s.client_id);
    let events = session_events(tx, SessionChange::TariffAdded, &view, paid)?;
    Ok((view, events))
}
