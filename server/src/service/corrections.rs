//! Live session corrections (SessionEdit): add a tariff, move to another
//! PC, correct the price; and auto-renewal at the natural end. None of them
//! locks the PC; each is audited and pushed to the agents it touches.

use super::clients::buy_tariff;
use super::sessions::{
    apply_plan, audit_on_session, check_device_free, clean_reason, closing_segments,
    holdings_state, load_session, plan, session_span, session_view, summary, usable_holding,
};
use super::tariffs::{load_settings, tariff_window};
use super::{json, required_text, Actor, Service};
use crate::domain::{occupancy, segment_seconds, Closing, Span};
use crate::error::{Error, Result};
use crate::store::{self, at_opt, Conn, NewLedger};
use chrono::{DateTime, Duration, Utc};
use club_shared::events::SessionChange;
use club_shared::{Account, Event, HoldingStatus, Minor, Permission, SessionStatus, SessionView};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddTariff {
    /// A holding on the client's balance...
    #[serde(default)]
    pub holding_id: Option<i64>,
    /// ...or a tariff bought now (money plus bonus within the cap).
    #[serde(default)]
    pub tariff_id: Option<i64>,
    /// Bonus to spend when buying `tariff_id` (within the tariff's cap);
    /// 0 with `holding_id`.
    #[serde(default)]
    #[schema(value_type = i64, minimum = 0, maximum = 10_000_000_000_i64)]
    pub bonus_amount: Minor,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveSession {
    /// Another PC than the session's (404 if there is no such PC).
    pub device_id: i64,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceCorrection {
    /// Signed minor units: positive charges the client, negative gives back;
    /// not zero, at most 100000000 either way.
    #[schema(schema_with = correction_delta)]
    pub delta: Minor,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub reason: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevicePatch {
    /// Unique; surrounding whitespace is trimmed.
    #[schema(
        min_length = 1,
        max_length = 60,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub name: Option<String>,
    /// An existing zone (404 otherwise).
    pub zone_id: Option<i64>,
    #[schema(minimum = 0, maximum = 10000)]
    pub x: Option<i64>,
    #[schema(minimum = 0, maximum = 10000)]
    pub y: Option<i64>,
    /// A disabled PC takes no new sessions and no moves.
    pub enabled: Option<bool>,
}

const MAX_CORRECTION: Minor = 1_000_000_00;

/// A price correction's delta as the document states it: not zero, within
/// ±MAX_CORRECTION.
fn correction_delta() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{
        KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
    };
    let range = |min: Minor, max: Minor| {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(min))
            .maximum(Some(max))
    };
    Schema::OneOf(
        OneOfBuilder::new()
            .item(range(-MAX_CORRECTION, -1))
            .item(range(1, MAX_CORRECTION))
            .description(Some(
                "Signed minor units: positive charges the client, negative gives back; \
                 not zero, at most 100000000 either way.",
            ))
            .build(),
    )
}

/// Live sessions only; the message names the status otherwise.
fn require_live(s: &store::SessionRow, what: &str) -> Result<SessionStatus> {
    let status = s.status;
    if !status.is_live() {
        return Err(Error::Conflict(format!(
            "session is {status}; {what} is not possible on a finished session"
        )));
    }
    Ok(status)
}

/// Opens a new segment on `holding` for a session, starting at `from` if it
/// is running (else when it starts). Answers its end, if running.
#[allow(clippy::too_many_arguments)] // the pieces of one new segment
async fn open_new_segment(
    c: &mut Conn,
    s: &store::SessionRow,
    device_name: &str,
    holding: &store::HoldingRow,
    tariff: &store::TariffRow,
    running_from: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    let position = store::session_segments(c, s.id).await?.len() as i64;
    let ends_at = match running_from {
        Some(from) => {
            let offset = load_settings(c).await?.utc_offset_minutes;
            let window = tariff_window(tariff);
            let seconds = segment_seconds(holding.remaining_seconds, window, from, offset)
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
            )
            .await?;
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
            check_device_free(c, s.device_id, device_name, span, now, Some(s.id)).await?;
            None
        }
    };
    let segment_id = store::insert_segment(
        c,
        s.id,
        position,
        holding.id,
        tariff.id,
        holding.remaining_seconds,
        tariff.refund_policy,
        tariff.max_bonus_percent,
    )
    .await?;
    if let (Some(from), Some(ends)) = (running_from, ends_at) {
        store::open_segment(c, segment_id, store::ms(from), store::ms(ends)).await?;
        store::set_session_ends_at(c, s.id, Some(store::ms(ends))).await?;
    }
    store::update_holding(
        c,
        holding.id,
        holding.remaining_seconds,
        holding.value_remaining,
        HoldingStatus::InUse,
    )
    .await?;
    Ok(ends_at)
}

fn moved_event(view: &SessionView, from: i64) -> Event {
    Event::Session {
        change: SessionChange::Moved,
        devices: vec![from, view.device_id],
        session: Box::new(view.clone()),
    }
}

impl Service {
    /// Extension or switch: a new segment from now; the previous one closes
    /// now and its holding keeps what it did not use. The PC stays as it is.
    #[tracing::instrument(skip_all, fields(session.id = id, operator.id = actor.operator_id()))]
    pub async fn add_tariff(&self, actor: &Actor, id: i64, req: AddTariff) -> Result<SessionView> {
        actor.require(Permission::SessionEdit)?;
        let reason = clean_reason(req.reason)?;
        let now = self.now();
        let mut tx = self.store.write().await?;
        let s = load_session(&mut tx, id).await?;
        let status = require_live(&s, "adding a tariff")?;
        let device = store::get_device(&mut tx, s.device_id)
            .await?
            .ok_or_else(|| Error::not_found("device", s.device_id))?;
        let before = session_view(&mut tx, id).await?;
        let holdings_before = holdings_state(&mut tx, &before).await?;

        // The previous segment locks its time first, so that its holding,
        // if it is the one added again, is back on the balance.
        let segments = closing_segments(&mut tx, id, Closing::Switch(now)).await?;
        let outcomes = plan(&mut tx, &segments, Closing::Switch(now)).await?;
        apply_plan(&mut tx, actor, &s, &outcomes, now).await?;

        let bought = match (req.holding_id, req.tariff_id) {
            (Some(h), None) => {
                if req.bonus_amount != 0 {
                    return Err(Error::bad(
                        "bonus_amount",
                        "applies only when buying a tariff_id",
                    ));
                }
                store::get_holding(&mut tx, h)
                    .await?
                    .ok_or_else(|| Error::not_found("holding", h))?
            }
            (None, Some(t)) => {
                buy_tariff(&mut tx, actor, s.client_id, t, req.bonus_amount, now).await?
            }
            _ => {
                return Err(Error::bad(
                    "holding_id",
                    "give exactly one of holding_id and tariff_id",
                ))
            }
        };
        let (holding, tariff) =
            usable_holding(&mut tx, bought, s.client_id, device.zone_id, store::ms(now)).await?;
        let running_from = (status == SessionStatus::Started).then_some(now);
        open_new_segment(
            &mut tx,
            &s,
            &device.name,
            &holding,
            &tariff,
            running_from,
            now,
        )
        .await?;

        let view = session_view(&mut tx, id).await?;
        let mut a = audit_on_session(actor, "session.add_tariff", now, &s);
        a.before =
            Some(serde_json::json!({"session": summary(&before), "holdings": holdings_before}));
        a.after = Some(serde_json::json!({
            "session": summary(&view),
            "holdings": holdings_state(&mut tx, &view).await?,
            "closed": outcomes,
            "added": {"holding_id": holding.id, "tariff_id": tariff.id, "tariff_name": tariff.name},
        }));
        a.reason = reason;
        store::insert_audit(&mut tx, &a).await?;
        let paid = req.tariff_id.is_some().then_some(s.client_id);
        self.finish(tx, SessionChange::TariffAdded, &view, paid)
            .await?;
        Ok(view)
    }

    /// Auto-renewal at a natural end: with auto-renewal on and a holding of
    /// the same tariff on the balance, a new segment starts at the end of
    /// the old one, with no gap and no lock. Answers None when it does not
    /// apply (the session then ends naturally).
    pub(super) async fn try_renew(&self, id: i64) -> Result<Option<SessionView>> {
        let now = self.now();
        let mut tx = self.store.write().await?;
        let s = load_session(&mut tx, id).await?;
        let Some(ends_at) = at_opt(s.ends_at).filter(|e| *e <= now) else {
            return Ok(None);
        };
        if s.status != SessionStatus::Started {
            return Ok(None);
        }
        let client = store::get_client(&mut tx, s.client_id)
            .await?
            .ok_or_else(|| Error::not_found("client", s.client_id))?;
        let segments = closing_segments(&mut tx, id, Closing::NaturalEnd).await?;
        let Some(current) = segments.last() else {
            return Ok(None);
        };
        if !client.auto_renewal {
            return Ok(None);
        }
        let next = store::available_holding_of_tariff(
            &mut tx,
            s.client_id,
            current.tariff_id,
            store::ms(ends_at),
        )
        .await?;
        let Some(next) = next else {
            return Ok(None);
        };
        let device = store::get_device(&mut tx, s.device_id)
            .await?
            .ok_or_else(|| Error::not_found("device", s.device_id))?;
        let before = session_view(&mut tx, id).await?;
        let outcomes = plan(&mut tx, &segments, Closing::NaturalEnd).await?;
        apply_plan(&mut tx, &Actor::System, &s, &outcomes, ends_at).await?;
        let usable = usable_holding(
            &mut tx,
            next,
            s.client_id,
            device.zone_id,
            store::ms(ends_at),
        )
        .await;
        let renewed = match usable {
            Ok((holding, tariff)) => {
                open_new_segment(
                    &mut tx,
                    &s,
                    &device.name,
                    &holding,
                    &tariff,
                    Some(ends_at),
                    now,
                )
                .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = renewed {
            // Not renewable after all (window, a booking on the PC): the
            // natural end goes ahead; nothing of this attempt is kept.
            tracing::info!(session.id = id, why = %e, "auto-renewal not possible");
            return Ok(None);
        }
        let view = session_view(&mut tx, id).await?;
        let mut a = audit_on_session(&Actor::System, "session.renew", now, &s);
        a.before = Some(summary(&before));
        a.after = Some(serde_json::json!({"session": summary(&view), "closed": outcomes}));
        store::insert_audit(&mut tx, &a).await?;
        self.finish(tx, SessionChange::Renewed, &view, None).await?;
        Ok(Some(view))
    }

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
        let mut tx = self.store.write().await?;
        let s = load_session(&mut tx, id).await?;
        let status = require_live(&s, "moving")?;
        if req.device_id == s.device_id {
            return Err(Error::bad("device_id", "the session is already on this PC"));
        }
        let target = store::get_device(&mut tx, req.device_id)
            .await?
            .ok_or_else(|| Error::not_found("device", req.device_id))?;
        if !target.enabled {
            return Err(Error::Conflict(format!("PC {} is disabled", target.name)));
        }
        if !self.presence(target.id).online {
            return Err(Error::Conflict(format!("PC {} is offline", target.name)));
        }
        if let Some(current) = closing_segments(&mut tx, id, Closing::NaturalEnd)
            .await?
            .last()
        {
            let zones = store::tariff_zones(&mut tx, current.tariff_id).await?;
            if !zones.is_empty() && !zones.contains(&target.zone_id) {
                return Err(Error::Conflict(format!(
                    "tariff {} is not allowed in the zone of PC {}",
                    current.tariff_name, target.name
                )));
            }
        }
        let span = session_span(&mut tx, &s, now)
            .await?
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("a live session has a span")))?;
        check_device_free(&mut tx, target.id, &target.name, span, now, Some(id)).await?;

        let before = session_view(&mut tx, id).await?;
        let t = store::ms(now);
        store::end_binding(&mut tx, id, t).await?;
        let started = (status == SessionStatus::Started).then_some(t);
        let planned = if status == SessionStatus::Pending {
            s.planned_start_at
        } else {
            t
        };
        store::insert_running_binding(&mut tx, id, target.id, planned, started).await?;
        store::set_session_device(&mut tx, id, target.id).await?;
        let view = session_view(&mut tx, id).await?;
        let mut a = audit_on_session(actor, "session.move", now, &s);
        a.device_id = Some(target.id);
        a.before = Some(serde_json::json!({"device_id": s.device_id, "ends_at": before.ends_at}));
        a.after = Some(serde_json::json!({"device_id": target.id, "ends_at": view.ends_at}));
        a.reason = reason;
        store::insert_audit(&mut tx, &a).await?;
        self.commit(tx, vec![moved_event(&view, s.device_id)])
            .await?;
        self.schedule_changed().notify_one();
        Ok(view)
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
                format!("must be within ±{MAX_CORRECTION}"),
            ));
        }
        let now = self.now();
        let mut tx = self.store.write().await?;
        let s = load_session(&mut tx, id).await?;
        match s.status {
            SessionStatus::Ended => {
                return Err(Error::Conflict(
                    "session is ENDED; a price change after the end is an order (a refund or an extra charge)".into(),
                ))
            }
            SessionStatus::Cancelled => {
                return Err(Error::Conflict("session is CANCELLED; it is final".into()))
            }
            _ => {}
        }
        let before = session_view(&mut tx, id).await?;
        let corrections: Minor = before.price_corrections.iter().map(|p| p.delta).sum();
        let paid = paid_for_session(&mut tx, &before).await?;
        if corrections + req.delta < -paid {
            return Err(Error::bad(
                "delta",
                format!("would give back more than the {paid} paid for this session's tariffs"),
            ));
        }
        let client = store::get_client(&mut tx, s.client_id)
            .await?
            .ok_or_else(|| Error::not_found("client", s.client_id))?;
        if req.delta > client.balance {
            return Err(Error::Conflict(format!(
                "the client's balance of {} does not cover the {} charge",
                client.balance, req.delta
            )));
        }
        store::insert_price_correction(
            &mut tx,
            id,
            req.delta,
            &reason,
            actor.operator_id(),
            store::ms(now),
        )
        .await?;
        store::insert_ledger(
            &mut tx,
            &NewLedger {
                at: store::ms(now),
                client_id: s.client_id,
                account: Account::Money,
                amount: -req.delta,
                kind: "price_correction",
                order_id: None,
                session_id: Some(id),
                operator_id: actor.operator_id(),
            },
        )
        .await?;
        let view = session_view(&mut tx, id).await?;
        let mut a = audit_on_session(actor, "session.price_correction", now, &s);
        a.before = Some(serde_json::json!({"corrections": corrections, "balance": client.balance}));
        a.after = Some(serde_json::json!({
            "corrections": corrections + req.delta, "delta": req.delta, "balance": client.balance - req.delta
        }));
        a.reason = Some(reason);
        store::insert_audit(&mut tx, &a).await?;
        self.finish(tx, SessionChange::PriceCorrected, &view, Some(s.client_id))
            .await?;
        Ok(view)
    }

    pub async fn update_device(
        &self,
        actor: &Actor,
        id: i64,
        req: DevicePatch,
    ) -> Result<club_shared::DeviceView> {
        actor.require(Permission::DeviceManage)?;
        let mut tx = self.store.write().await?;
        let d = store::get_device(&mut tx, id)
            .await?
            .ok_or_else(|| Error::not_found("device", id))?;
        let name = match &req.name {
            Some(n) => required_text("name", n, 60)?,
            None => d.name.clone(),
        };
        let zone_id = req.zone_id.unwrap_or(d.zone_id);
        if !store::zone_exists(&mut tx, zone_id).await? {
            return Err(Error::NotFound(format!(
                "zone_id: zone {zone_id} not found"
            )));
        }
        for (field, v) in [("x", req.x), ("y", req.y)] {
            if v.is_some_and(|v| !(0..=10_000).contains(&v)) {
                return Err(Error::bad(field, "must be between 0 and 10000"));
            }
        }
        let before = self.device_view_in(&mut tx, id).await?;
        let enabled = req.enabled.unwrap_or(d.enabled);
        store::update_device(
            &mut tx,
            id,
            &name,
            zone_id,
            req.x.unwrap_or(d.x),
            req.y.unwrap_or(d.y),
            enabled,
        )
        .await?;
        let view = self.device_view_in(&mut tx, id).await?;
        let mut a = actor.audit("device.update", self.now());
        a.device_id = Some(id);
        a.before = json(&before);
        a.after = json(&view);
        store::insert_audit(&mut tx, &a).await?;
        let mut events = vec![Event::DeviceChanged { device_id: id }];
        if d.enabled && !enabled {
            // A disabled PC's agent is closed out at once.
            events.push(Event::DeviceRevoked { device_id: id });
        }
        self.commit(tx, events).await?;
        Ok(view)
    }
}

/// What the client paid for the tariffs this session runs on.
async fn paid_for_session(c: &mut Conn, v: &SessionView) -> Result<Minor> {
    let mut paid = 0;
    let mut seen = Vec::new();
    for g in &v.segments {
        if seen.contains(&g.holding_id) {
            continue;
        }
        seen.push(g.holding_id);
        if let Some(h) = store::get_holding(c, g.holding_id).await? {
            paid += h.price_paid;
        }
    }
    Ok(paid)
}
