use super::clients::{balance_event, buy_tariff};
use super::tariffs::{load_settings, tariff_window};
use super::{Actor, Pass, Service};
use crate::domain::{
    close_segment, initial_status, occupancy, segment_seconds, transition, Action, Closing,
    HoldingState, OpenSegment, SegmentOutcome, Span,
};
use crate::error::{Error, Result};
use crate::store::{self, at, at_opt, Conn, NewAudit, NewLedger, NewValueMovement, Tx};
use chrono::{DateTime, Duration, Utc};
use club_shared::events::SessionChange;
use club_shared::{
    AuditEntryView, BindingView, Event, Minor, Permission, PriceCorrectionView, Receipt,
    ReceiptLine, RefundPolicy, SegmentView, SessionStatus, SessionView,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSession {
    pub client_id: i64,
    pub device_id: i64,
    /// A holding on the client's balance to play from...
    #[serde(default)]
    pub holding_id: Option<i64>,
    /// ...or a tariff bought for this session from the client's balance.
    #[serde(default)]
    pub tariff_id: Option<i64>,
    /// Bonus to spend when buying `tariff_id` (within the tariff's cap);
    /// 0 with `holding_id`.
    #[serde(default)]
    #[schema(value_type = i64, minimum = 0, maximum = 10_000_000_000_i64)]
    pub bonus_amount: Minor,
    /// Omitted or now: ACTIVE. In the future: a PENDING reservation.
    #[serde(default)]
    pub planned_start_at: Option<DateTime<Utc>>,
}

/// What cancel or end would do, changing nothing.
#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    pub session_id: i64,
    pub action: String,
    pub status: SessionStatus,
    pub at: DateTime<Utc>,
    /// False when the action is not available now; `refusal` says why.
    pub allowed: bool,
    pub refusal: Option<String>,
    pub outcomes: Vec<SegmentOutcome>,
    pub bonus_total: Minor,
    pub burned_total: Minor,
    pub kept_seconds_total: i64,
    /// For an end: the receipt it would produce.
    pub receipt: Option<Receipt>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PreviewAction {
    Cancel,
    End,
}

/// The session report's filters (all optional).
#[derive(Debug, Clone, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionQuery {
    /// PENDING, ACTIVE, STARTED, ENDED or CANCELLED.
    pub status: Option<SessionStatus>,
    pub client_id: Option<i64>,
    pub device_id: Option<i64>,
    /// Sessions this operator created or cancelled.
    pub operator_id: Option<i64>,
    /// Planned start at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Planned start before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
}

/// The audit trail's filters (all optional).
#[derive(Debug, Clone, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub session_id: Option<i64>,
    pub operator_id: Option<i64>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// How far in the past a planned start may be and still mean "now": the
/// operator's screen clock and the server's may differ a little.
const PLANNED_START_TOLERANCE_SECONDS: i64 = 60;

pub(super) fn status_of(s: &store::SessionRow) -> SessionStatus {
    SessionStatus::parse(&s.status).unwrap_or(SessionStatus::Cancelled)
}

fn policy_of(g: &store::SegmentRow) -> RefundPolicy {
    RefundPolicy::parse(&g.refund_policy).unwrap_or(RefundPolicy::KeepBalance)
}

pub(super) fn holding_state(h: &store::HoldingRow) -> HoldingState {
    HoldingState {
        total_seconds: h.total_seconds,
        remaining_seconds: h.remaining_seconds,
        price_paid: h.price_paid,
        value_remaining: h.value_remaining,
    }
}

fn open_segment(g: &store::SegmentRow) -> OpenSegment {
    OpenSegment {
        id: g.id,
        holding_id: g.holding_id,
        tariff_id: g.tariff_id,
        tariff_name: g.tariff_name.clone(),
        refund_policy: policy_of(g),
        reserved_seconds: g.reserved_seconds,
        span: g.starts_at.zip(g.ends_at).map(|(a, b)| (at(a), at(b))),
    }
}

pub(super) async fn load_session(c: &mut Conn, id: i64) -> Result<store::SessionRow> {
    store::get_session(c, id)
        .await?
        .ok_or_else(|| Error::not_found("session", id))
}

pub(crate) async fn session_view(c: &mut Conn, id: i64) -> Result<SessionView> {
    let s = load_session(c, id).await?;
    let segments = store::session_segments(c, id)
        .await?
        .into_iter()
        .map(|g| SegmentView {
            id: g.id,
            holding_id: g.holding_id,
            tariff_id: g.tariff_id,
            refund_policy: policy_of(&g),
            tariff_name: g.tariff_name,
            starts_at: at_opt(g.starts_at),
            ends_at: at_opt(g.ends_at),
            closed_at: at_opt(g.closed_at),
            seconds_used: g.seconds_used,
            max_bonus_percent: g.max_bonus_percent,
        })
        .collect();
    let bindings = store::session_bindings(c, id)
        .await?
        .into_iter()
        .map(|b| BindingView {
            device_id: b.device_id,
            planned_start_at: at(b.planned_start_at),
            actual_start_at: at_opt(b.actual_start_at),
            actual_end_at: at_opt(b.actual_end_at),
        })
        .collect();
    let price_corrections = store::session_price_corrections(c, id)
        .await?
        .into_iter()
        .map(|p| PriceCorrectionView {
            delta: p.delta,
            reason: p.reason,
            operator_id: p.operator_id,
            at: at(p.at),
        })
        .collect();
    Ok(SessionView {
        id: s.id,
        client_id: s.client_id,
        client_name: s.client_name.clone(),
        device_id: s.device_id,
        status: status_of(&s),
        planned_start_at: at(s.planned_start_at),
        actual_start_at: at_opt(s.actual_start_at),
        actual_end_at: at_opt(s.actual_end_at),
        ends_at: at_opt(s.ends_at),
        cancelled_at: at_opt(s.cancelled_at),
        cancelled_by: s.cancelled_by,
        end_kind: s.end_kind.clone(),
        segments,
        bindings,
        price_corrections,
        receipt: s
            .receipt
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok()),
    })
}

/// The span a live session holds its device for.
pub(super) async fn session_span(
    c: &mut Conn,
    s: &store::SessionRow,
    now: DateTime<Utc>,
) -> Result<Option<Span>> {
    let reserved: i64 = store::session_segments(c, s.id)
        .await?
        .iter()
        .filter(|g| g.closed_at.is_none())
        .map(|g| g.reserved_seconds)
        .sum();
    Ok(occupancy(
        status_of(s),
        at(s.planned_start_at),
        at_opt(s.ends_at),
        reserved,
        now,
    ))
}

/// Checks that the client may play from `holding` at `at` in a zone:
/// theirs, with time left, not reserved, valid, and allowed there.
pub(super) async fn usable_holding(
    c: &mut Conn,
    holding: store::HoldingRow,
    client_id: i64,
    zone_id: i64,
    at: i64,
) -> Result<(store::HoldingRow, store::TariffRow)> {
    if holding.client_id != client_id {
        return Err(Error::bad(
            "holding_id",
            format!("holding {} belongs to another client", holding.id),
        ));
    }
    if holding.status != "available" || holding.remaining_seconds <= 0 {
        return Err(Error::Conflict(format!(
            "holding {} is {}",
            holding.id, holding.status
        )));
    }
    if holding.valid_until.is_some_and(|v| v <= at) {
        return Err(Error::Conflict(format!(
            "holding {} has expired",
            holding.id
        )));
    }
    let tariff = store::get_tariff(c, holding.tariff_id)
        .await?
        .ok_or_else(|| Error::not_found("tariff", holding.tariff_id))?;
    let zones = store::tariff_zones(c, tariff.id).await?;
    if !zones.is_empty() && !zones.contains(&zone_id) {
        return Err(Error::Conflict(format!(
            "tariff {} is not allowed in this PC's zone",
            tariff.name
        )));
    }
    Ok((holding, tariff))
}

/// Refuses when `span` overlaps a live session on the device, other than
/// `except` (the session being changed).
pub(super) async fn check_device_free(
    c: &mut Conn,
    device_id: i64,
    device_name: &str,
    span: Span,
    now: DateTime<Utc>,
    except: Option<i64>,
) -> Result<()> {
    for other in store::live_sessions(c, Some(device_id)).await? {
        if Some(other.id) == except {
            continue;
        }
        if let Some(theirs) = session_span(c, &other, now).await? {
            if theirs.overlaps(&span) {
                return Err(Error::Conflict(format!(
                    "PC {device_name} is occupied: session {} is {} until {}",
                    other.id,
                    other.status,
                    theirs.to.to_rfc3339()
                )));
            }
        }
    }
    Ok(())
}

/// What closing the given segments would do, from the current holdings.
pub(super) async fn plan(
    c: &mut Conn,
    segments: &[store::SegmentRow],
    closing: Closing,
) -> Result<Vec<SegmentOutcome>> {
    let mut out = Vec::with_capacity(segments.len());
    for g in segments {
        let h = store::get_holding(c, g.holding_id)
            .await?
            .ok_or_else(|| Error::not_found("holding", g.holding_id))?;
        out.push(close_segment(&open_segment(g), holding_state(&h), closing));
    }
    Ok(out)
}

/// The segments a closing touches: every open one on a cancel, the current
/// one on an end.
pub(super) async fn closing_segments(
    c: &mut Conn,
    session_id: i64,
    closing: Closing,
) -> Result<Vec<store::SegmentRow>> {
    let open: Vec<_> = store::session_segments(c, session_id)
        .await?
        .into_iter()
        .filter(|g| g.closed_at.is_none())
        .collect();
    Ok(match closing {
        Closing::Cancel => open,
        Closing::ManualEnd(_) | Closing::NaturalEnd | Closing::Switch(_) => {
            open.into_iter().last().into_iter().collect()
        }
    })
}

/// Writes a plan: holdings, closed segments, value movements, bonus ledger.
/// Answers whether a balance changed.
pub(super) async fn apply_plan(
    c: &mut Conn,
    actor: &Actor,
    session: &store::SessionRow,
    outcomes: &[SegmentOutcome],
    closed_at: DateTime<Utc>,
) -> Result<bool> {
    let t = store::ms(closed_at);
    let mut balance_changed = false;
    for o in outcomes {
        let h = o
            .holding_after
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("plan without holding")))?;
        let status = if h.remaining_seconds == 0 {
            "used_up"
        } else {
            "available"
        };
        store::update_holding(
            c,
            o.holding_id,
            h.remaining_seconds,
            h.value_remaining,
            status,
        )
        .await?;
        store::close_segment(c, o.segment_id, t, o.seconds_used, o.amount).await?;
        let mut movements = Vec::new();
        if o.seconds_used > 0 || o.amount > 0 {
            movements.push(("usage", o.seconds_used, o.amount));
        }
        match o.refund {
            Some(r) if r.unused_seconds > 0 && r.policy == RefundPolicy::Burn => {
                movements.push(("burn", r.unused_seconds, r.burned));
            }
            Some(r) if r.unused_seconds > 0 && r.policy == RefundPolicy::ConvertToBonus => {
                movements.push(("convert", r.unused_seconds, r.bonus));
            }
            _ => {}
        }
        for (kind, seconds, amount) in movements {
            store::insert_value_movement(
                c,
                &NewValueMovement {
                    at: t,
                    holding_id: o.holding_id,
                    session_id: Some(session.id),
                    segment_id: Some(o.segment_id),
                    kind,
                    seconds,
                    amount,
                },
            )
            .await?;
        }
        if o.bonus > 0 {
            store::insert_ledger(
                c,
                &NewLedger {
                    at: t,
                    client_id: session.client_id,
                    account: "bonus",
                    amount: o.bonus,
                    kind: "refund_to_bonus",
                    order_id: None,
                    session_id: Some(session.id),
                    operator_id: actor.operator_id(),
                },
            )
            .await?;
            balance_changed = true;
        }
    }
    Ok(balance_changed)
}

/// The receipt from actual usage: every segment's time and amount, with
/// the current segment taken from `current` (not yet written).
async fn build_receipt(
    c: &mut Conn,
    session_id: i64,
    current: &[SegmentOutcome],
    end_kind: &str,
    ended_at: DateTime<Utc>,
) -> Result<Receipt> {
    let mut lines = Vec::new();
    for g in store::session_segments(c, session_id).await? {
        let line = match current.iter().find(|o| o.segment_id == g.id) {
            Some(o) => ReceiptLine {
                segment_id: g.id,
                tariff_id: g.tariff_id,
                tariff_name: g.tariff_name.clone(),
                seconds_used: o.seconds_used,
                amount: o.amount,
            },
            None => ReceiptLine {
                segment_id: g.id,
                tariff_id: g.tariff_id,
                tariff_name: g.tariff_name.clone(),
                seconds_used: g.seconds_used.unwrap_or(0),
                amount: g.amount.unwrap_or(0),
            },
        };
        lines.push(line);
    }
    let corrections: Minor = store::session_price_corrections(c, session_id)
        .await?
        .iter()
        .map(|p| p.delta)
        .sum();
    let total = lines.iter().map(|l| l.amount).sum::<Minor>() + corrections;
    Ok(Receipt {
        session_id,
        end_kind: end_kind.to_owned(),
        ended_at,
        lines,
        corrections,
        total,
    })
}

/// An audit entry about session `s`, naming its device and client.
pub(super) fn audit_on_session(
    actor: &Actor,
    kind: &'static str,
    at: DateTime<Utc>,
    s: &store::SessionRow,
) -> NewAudit {
    let mut a = actor.audit(kind, at);
    a.session_id = Some(s.id);
    a.device_id = Some(s.device_id);
    a.client_id = Some(s.client_id);
    a
}

pub(super) fn session_event(change: SessionChange, view: &SessionView) -> Event {
    Event::Session {
        change,
        devices: vec![view.device_id],
        session: Box::new(view.clone()),
    }
}

pub(super) fn summary(v: &SessionView) -> serde_json::Value {
    serde_json::json!({
        "status": v.status,
        "device_id": v.device_id,
        "actual_start_at": v.actual_start_at,
        "ends_at": v.ends_at,
        "segments": v.segments.iter().map(|g| serde_json::json!({
            "id": g.id, "holding_id": g.holding_id, "tariff_id": g.tariff_id,
            "tariff_name": g.tariff_name, "refund_policy": g.refund_policy,
            "closed_at": g.closed_at, "seconds_used": g.seconds_used,
        })).collect::<Vec<_>>(),
    })
}

/// The reserved holdings' state, for the audit's before and after.
pub(super) async fn holdings_state(c: &mut Conn, v: &SessionView) -> Result<serde_json::Value> {
    let mut out = Vec::new();
    for g in &v.segments {
        if let Some(h) = store::get_holding(c, g.holding_id).await? {
            out.push(serde_json::json!({
                "holding_id": h.id, "tariff_id": h.tariff_id, "status": h.status,
                "remaining_seconds": h.remaining_seconds, "value_remaining": h.value_remaining,
            }));
        }
    }
    Ok(serde_json::Value::Array(out))
}

impl Service {
    /// Commits a session operation and publishes what it changed: the
    /// session, and the client's balances when they moved.
    pub(super) async fn finish(
        &self,
        mut tx: Tx,
        change: SessionChange,
        view: &SessionView,
        balance_of: Option<i64>,
    ) -> Result<()> {
        let mut events = vec![session_event(change, view)];
        if let Some(client_id) = balance_of {
            events.push(balance_event(&mut tx, client_id).await?);
        }
        self.commit(tx, events).await?;
        self.schedule_changed().notify_one();
        Ok(())
    }

    pub async fn session(&self, id: i64) -> Result<SessionView> {
        let mut tx = self.store.snapshot().await?;
        session_view(&mut tx, id).await
    }

    pub async fn list_sessions(&self, actor: &Actor, q: SessionQuery) -> Result<Vec<SessionView>> {
        actor.require(Permission::ReportView)?;
        let mut tx = self.store.snapshot().await?;
        let filter = store::SessionFilter {
            status: q.status.map(|s| s.as_str().to_owned()),
            client_id: q.client_id,
            device_id: q.device_id,
            operator_id: q.operator_id,
            from: q.from.map(store::ms),
            to: q.to.map(store::ms),
            limit: 500,
        };
        let mut out = Vec::new();
        for s in store::list_sessions(&mut tx, &filter).await? {
            out.push(session_view(&mut tx, s.id).await?);
        }
        Ok(out)
    }

    pub async fn audit(&self, actor: &Actor, q: AuditQuery) -> Result<Vec<AuditEntryView>> {
        actor.require(Permission::ReportView)?;
        self.audit_entries(q).await
    }

    pub(crate) async fn audit_entries(&self, q: AuditQuery) -> Result<Vec<AuditEntryView>> {
        let mut c = self.store.read().await?;
        let filter = store::AuditFilter {
            session_id: q.session_id,
            operator_id: q.operator_id,
            from: q.from.map(store::ms),
            to: q.to.map(store::ms),
            limit: 1000,
        };
        let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
        Ok(store::list_audit(&mut c, &filter)
            .await?
            .into_iter()
            .map(|a| AuditEntryView {
                id: a.id,
                at: at(a.at),
                operator_id: a.operator_id,
                actor: a.actor,
                kind: a.kind,
                session_id: a.session_id,
                device_id: a.device_id,
                client_id: a.client_id,
                before: parse(a.before),
                after: parse(a.after),
                reason: a.reason,
            })
            .collect())
    }

    pub async fn create_session(&self, actor: &Actor, req: NewSession) -> Result<SessionView> {
        actor.require(Permission::SessionCreate)?;
        let now = self.now();
        let planned = req.planned_start_at.unwrap_or(now);
        if planned < now - Duration::seconds(PLANNED_START_TOLERANCE_SECONDS) {
            return Err(Error::bad("planned_start_at", "is in the past"));
        }
        if planned > now + Duration::days(366) {
            return Err(Error::bad("planned_start_at", "is more than a year ahead"));
        }
        let planned = planned.max(now);
        if req.bonus_amount != 0 && req.tariff_id.is_none() {
            return Err(Error::bad(
                "bonus_amount",
                "applies only when buying a tariff_id",
            ));
        }
        let mut tx = self.store.write().await?;
        let client = store::get_client(&mut tx, req.client_id)
            .await?
            .ok_or_else(|| Error::not_found("client", req.client_id))?;
        let device = store::get_device(&mut tx, req.device_id)
            .await?
            .ok_or_else(|| Error::not_found("device", req.device_id))?;
        if !device.enabled {
            return Err(Error::Conflict(format!("PC {} is disabled", device.name)));
        }
        let holding = match (req.holding_id, req.tariff_id) {
            (Some(id), None) => store::get_holding(&mut tx, id)
                .await?
                .ok_or_else(|| Error::not_found("holding", id))?,
            (None, Some(tariff_id)) => {
                buy_tariff(&mut tx, actor, client.id, tariff_id, req.bonus_amount, now).await?
            }
            _ => {
                return Err(Error::bad(
                    "holding_id",
                    "give exactly one of holding_id and tariff_id",
                ))
            }
        };
        let (holding, tariff) = usable_holding(
            &mut tx,
            holding,
            client.id,
            device.zone_id,
            store::ms(planned),
        )
        .await?;
        let settings = load_settings(&mut tx).await?;
        if let Some(w) = tariff_window(&tariff) {
            if !w.contains(planned, settings.utc_offset_minutes) {
                return Err(Error::bad(
                    "planned_start_at",
                    format!("tariff {} is usable only {}", tariff.name, w.describe()),
                ));
            }
        }
        let status = initial_status(planned, now);
        let span = occupancy(status, planned, None, holding.remaining_seconds, now)
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("a new session has a span")))?;
        check_device_free(&mut tx, device.id, &device.name, span, now, None).await?;

        let id = store::insert_session(
            &mut tx,
            client.id,
            device.id,
            status.as_str(),
            store::ms(planned),
            store::ms(now),
            actor.operator_id(),
        )
        .await?;
        store::insert_segment(
            &mut tx,
            id,
            0,
            holding.id,
            tariff.id,
            holding.remaining_seconds,
            &tariff.refund_policy,
            tariff.max_bonus_percent,
        )
        .await?;
        store::insert_binding(&mut tx, id, device.id, store::ms(planned)).await?;
        store::update_holding(
            &mut tx,
            holding.id,
            holding.remaining_seconds,
            holding.value_remaining,
            "in_use",
        )
        .await?;
        let view = session_view(&mut tx, id).await?;
        let mut a = actor.audit("session.create", now);
        a.session_id = Some(id);
        a.device_id = Some(device.id);
        a.client_id = Some(client.id);
        a.after = Some(summary(&view));
        store::insert_audit(&mut tx, &a).await?;
        let bought = req.tariff_id.is_some().then_some(client.id);
        self.finish(tx, SessionChange::Created, &view, bought)
            .await?;
        Ok(view)
    }

    /// Start pressed: by an operator (SessionStart), by the player in the
    /// app (own sessions only) or on the PC (its own device only). A press
    /// repeated with the same `press_id` is a no-op.
    #[tracing::instrument(skip_all, fields(session.id = id, operator.id = actor.operator_id()))]
    pub async fn start_session(
        &self,
        actor: &Actor,
        id: i64,
        press_id: Option<&str>,
    ) -> Result<SessionView> {
        actor.require(Permission::SessionStart)?;
        let now = self.now();
        let mut tx = self.store.write().await?;
        let s = load_session(&mut tx, id).await?;
        let refusal = match actor {
            Actor::Player { client_id } if *client_id != s.client_id => {
                Some(format!("session {id} belongs to another client"))
            }
            Actor::Agent { device_id } if *device_id != s.device_id => {
                Some(format!("session {id} is not on this PC"))
            }
            _ => None,
        };
        if let Some(why) = refusal {
            drop(tx);
            self.audit_refusal(actor, "session.start_refused", &s, &why)
                .await?;
            return Err(Error::NotAllowed(why));
        }
        let status = status_of(&s);
        if status == SessionStatus::Started
            && press_id.is_some()
            && s.start_press_id.as_deref() == press_id
        {
            return session_view(&mut tx, id).await;
        }
        transition(status, Action::Start)?;
        let segment = store::session_segments(&mut tx, id)
            .await?
            .into_iter()
            .find(|g| g.closed_at.is_none())
            .ok_or_else(|| Error::Conflict(format!("session {id} has no tariff left")))?;
        let holding = store::get_holding(&mut tx, segment.holding_id)
            .await?
            .ok_or_else(|| Error::not_found("holding", segment.holding_id))?;
        let tariff = store::get_tariff(&mut tx, segment.tariff_id)
            .await?
            .ok_or_else(|| Error::not_found("tariff", segment.tariff_id))?;
        let offset = load_settings(&mut tx).await?.utc_offset_minutes;
        let window = tariff_window(&tariff);
        let seconds = segment_seconds(holding.remaining_seconds, window, now, offset)
            .filter(|s| *s > 0)
            .ok_or_else(|| {
                let w = window.map(|w| w.describe()).unwrap_or_default();
                Error::Conflict(format!(
                    "tariff {} is usable only {w}; it cannot start now",
                    tariff.name
                ))
            })?;
        let before = session_view(&mut tx, id).await?;
        let ends_at = now + Duration::seconds(seconds);
        store::mark_session_started(&mut tx, id, store::ms(now), store::ms(ends_at), press_id)
            .await?;
        store::open_segment(&mut tx, segment.id, store::ms(now), store::ms(ends_at)).await?;
        store::start_binding(&mut tx, id, store::ms(now)).await?;
        let view = session_view(&mut tx, id).await?;
        let mut a = audit_on_session(actor, "session.start", now, &s);
        a.before = Some(summary(&before));
        a.after = Some(summary(&view));
        store::insert_audit(&mut tx, &a).await?;
        self.finish(tx, SessionChange::Started, &view, None).await?;
        Ok(view)
    }

    async fn audit_refusal(
        &self,
        actor: &Actor,
        kind: &'static str,
        s: &store::SessionRow,
        why: &str,
    ) -> Result<()> {
        let mut tx = self.store.write().await?;
        let mut a = actor.audit(kind, self.now());
        a.session_id = Some(s.id);
        a.device_id = match actor {
            Actor::Agent { device_id } => Some(*device_id),
            _ => Some(s.device_id),
        };
        a.client_id = Some(s.client_id);
        a.reason = Some(why.to_owned());
        store::insert_audit(&mut tx, &a).await?;
        tx.commit().await?;
        Ok(())
    }

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
        let mut tx = self.store.write().await?;
        let s = load_session(&mut tx, id).await?;
        transition(status_of(&s), Action::Cancel)?;
        if s.actual_start_at.is_some() {
            return Err(Error::Conflict(
                "session has started; only ending is available".into(),
            ));
        }
        let before = session_view(&mut tx, id).await?;
        let holdings_before = holdings_state(&mut tx, &before).await?;
        let segments = closing_segments(&mut tx, id, Closing::Cancel).await?;
        let outcomes = plan(&mut tx, &segments, Closing::Cancel).await?;
        let balance_changed = apply_plan(&mut tx, actor, &s, &outcomes, now).await?;
        store::mark_session_cancelled(
            &mut tx,
            id,
            store::ms(now),
            actor.operator_id(),
            reason.as_deref(),
        )
        .await?;
        store::end_binding(&mut tx, id, store::ms(now)).await?;
        let view = session_view(&mut tx, id).await?;
        let mut a = audit_on_session(actor, "session.cancel", now, &s);
        a.before =
            Some(serde_json::json!({"session": summary(&before), "holdings": holdings_before}));
        a.after = Some(serde_json::json!({
            "session": summary(&view),
            "holdings": holdings_state(&mut tx, &view).await?,
            "outcomes": outcomes,
        }));
        a.reason = reason;
        store::insert_audit(&mut tx, &a).await?;
        self.finish(
            tx,
            SessionChange::Cancelled,
            &view,
            balance_changed.then_some(s.client_id),
        )
        .await?;
        Ok(view)
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

    async fn end(
        &self,
        actor: &Actor,
        id: i64,
        closing: Closing,
        reason: Option<String>,
    ) -> Result<SessionView> {
        let mut tx = self.store.write().await?;
        let s = load_session(&mut tx, id).await?;
        transition(status_of(&s), Action::End)?;
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
        let before = session_view(&mut tx, id).await?;
        let holdings_before = holdings_state(&mut tx, &before).await?;
        let segments = closing_segments(&mut tx, id, closing).await?;
        let outcomes = plan(&mut tx, &segments, closing).await?;
        let end_kind = if closing == Closing::NaturalEnd {
            "natural"
        } else {
            "manual"
        };
        let receipt = build_receipt(&mut tx, id, &outcomes, end_kind, ended_at).await?;
        let balance_changed = apply_plan(&mut tx, actor, &s, &outcomes, ended_at).await?;
        let receipt_json =
            serde_json::to_string(&receipt).map_err(|e| Error::Internal(e.into()))?;
        store::mark_session_ended(&mut tx, id, store::ms(ended_at), end_kind, &receipt_json)
            .await?;
        store::end_binding(&mut tx, id, store::ms(ended_at)).await?;
        let view = session_view(&mut tx, id).await?;
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
            "holdings": holdings_state(&mut tx, &view).await?,
            "outcomes": outcomes,
            "receipt": receipt,
        }));
        a.reason = reason;
        store::insert_audit(&mut tx, &a).await?;
        self.finish(
            tx,
            SessionChange::Ended,
            &view,
            balance_changed.then_some(s.client_id),
        )
        .await?;
        Ok(view)
    }

    /// The scheduler: planned start reached, PENDING becomes ACTIVE.
    pub async fn activate(&self, id: i64) -> Result<SessionView> {
        let now = self.now();
        let mut tx = self.store.write().await?;
        let s = load_session(&mut tx, id).await?;
        transition(status_of(&s), Action::Activate)?;
        if s.planned_start_at > store::ms(now) {
            return Err(Error::Conflict(format!(
                "session {id} is planned for later"
            )));
        }
        store::set_session_status(&mut tx, id, SessionStatus::Active.as_str()).await?;
        let view = session_view(&mut tx, id).await?;
        let mut a = audit_on_session(&Actor::System, "session.activate", now, &s);
        a.before = Some(serde_json::json!({"status": s.status}));
        a.after = Some(serde_json::json!({"status": view.status}));
        store::insert_audit(&mut tx, &a).await?;
        self.commit(tx, vec![session_event(SessionChange::Activated, &view)])
            .await?;
        Ok(view)
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
        let s = load_session(&mut tx, id).await?;
        let status = status_of(&s);
        let (closing, act) = match action {
            PreviewAction::Cancel => (Closing::Cancel, Action::Cancel),
            PreviewAction::End => (Closing::ManualEnd(now), Action::End),
        };
        let refusal = transition(status, act).err().map(|r| r.to_string());
        let (outcomes, receipt) = if refusal.is_none() {
            let segments = closing_segments(&mut tx, id, closing).await?;
            let outcomes = plan(&mut tx, &segments, closing).await?;
            let receipt = match action {
                PreviewAction::End => {
                    Some(build_receipt(&mut tx, id, &outcomes, "manual", now).await?)
                }
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

    /// Announces the warning moments before session ends that fall in
    /// `(after, now]`, so the agents can show them.
    pub async fn announce_warnings(&self, after: DateTime<Utc>, now: DateTime<Utc>) -> Result<()> {
        let mut c = self.store.read().await?;
        let warn = warning_offsets_ms(&load_settings(&mut c).await?);
        let due = store::sessions_to_warn(&mut c, store::ms(after), store::ms(now), &warn).await?;
        drop(c);
        if due.is_empty() {
            return Ok(());
        }
        // A transaction of its own: the warning becomes part of each PC's
        // stored desired state.
        let tx = self.store.write().await?;
        let events = due
            .into_iter()
            .map(|(session_id, device_id, ends_at)| Event::EndingSoon {
                session_id,
                device_id,
                seconds_left: (ends_at - store::ms(now)).max(0) / 1000,
            })
            .collect();
        self.commit(tx, events).await
    }

    /// Runs everything due at `now`: activations, then natural ends. A
    /// session that cannot move now (a conflict, or a failure, which is
    /// logged) does not stop the others; the pass counts it as left.
    pub async fn run_due(&self, now: DateTime<Utc>) -> Result<Pass> {
        let due = {
            let mut c = self.store.read().await?;
            store::due_sessions(&mut c, store::ms(now)).await?
        };
        let mut pass = Pass::default();
        for (id, status) in due {
            let result = match status.as_str() {
                "PENDING" => self.activate(id).await.map(drop),
                _ => self.end_naturally(id).await.map(drop),
            };
            pass.count("session", id, result.map(|()| true));
        }
        Ok(pass)
    }

    /// The next moment the scheduler has work, strictly after `after`
    /// (the instant its last pass ran at: anything due by then was handled
    /// or is waiting for its PC, and the clock may have moved since).
    pub async fn next_deadline(&self, after: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        let mut c = self.store.read().await?;
        let settings = load_settings(&mut c).await?;
        let warn = warning_offsets_ms(&settings);
        let warning = store::next_warning(&mut c, store::ms(after), &warn).await?;
        let work = store::next_deadline(&mut c, store::ms(after)).await?;
        let housekeeping = super::housekeeping::next_housekeeping(&mut c, &settings, after).await?;
        Ok([work, warning, housekeeping]
            .into_iter()
            .flatten()
            .min()
            .map(at))
    }
}

/// How long before a session's end the player is warned, in milliseconds:
/// the club's setting (5 minutes by default) and the last minute.
pub(crate) fn warning_offsets_ms(settings: &super::Settings) -> Vec<i64> {
    let mut v = vec![settings.warn_before_end_seconds * 1000, 60_000];
    v.retain(|w| *w > 0);
    v.dedup();
    v
}

pub(super) fn clean_reason(reason: Option<String>) -> Result<Option<String>> {
    match reason.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(r) if r.chars().count() > 500 => {
            Err(Error::bad("reason", "must be at most 500 characters"))
        }
        Some(r) => Ok(Some(r.to_owned())),
    }
}

impl Service {
    /// A session's audit trail, for those who may read reports
    /// (ReportView); empty for anyone else.
    pub async fn session_audit(
        &self,
        actor: &Actor,
        session_id: i64,
    ) -> Result<Vec<AuditEntryView>> {
        if actor.require(Permission::ReportView).is_err() {
            return Ok(Vec::new());
        }
        self.audit_entries(AuditQuery {
            session_id: Some(session_id),
            ..AuditQuery::default()
        })
        .await
    }

    pub async fn live_sessions_of_client(&self, client_id: i64) -> Result<Vec<SessionView>> {
        let mut tx = self.store.snapshot().await?;
        let mut out = Vec::new();
        for s in store::live_sessions(&mut tx, None).await? {
            if s.client_id == client_id {
                out.push(session_view(&mut tx, s.id).await?);
            }
        }
        Ok(out)
    }
}

/// A text field people typed (a name, a tariff): one that a spreadsheet
/// would run as a formula (starting with =, +, -, @, a tab or a CR) gets a
/// leading apostrophe, so that it is shown, not run.
fn csv_text(v: &str) -> String {
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_owned()
    }
}

/// One field of a CSV line, quoted when it must be.
fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_owned()
    }
}

/// The session report as CSV (RFC 4180), one session a line.
pub fn sessions_csv(sessions: &[SessionView]) -> String {
    let t = |v: Option<DateTime<Utc>>| v.map(|t| t.to_rfc3339()).unwrap_or_default();
    let mut out = String::from(
        "id,client_id,client_name,device_id,status,planned_start_at,actual_start_at,\
         actual_end_at,cancelled_at,cancelled_by,end_kind,tariffs,corrections,receipt_total\r\n",
    );
    for s in sessions {
        let tariffs: Vec<&str> = s.segments.iter().map(|g| g.tariff_name.as_str()).collect();
        let corrections: Minor = s.price_corrections.iter().map(|p| p.delta).sum();
        let fields = [
            s.id.to_string(),
            s.client_id.to_string(),
            csv_text(&s.client_name),
            s.device_id.to_string(),
            s.status.to_string(),
            t(Some(s.planned_start_at)),
            t(s.actual_start_at),
            t(s.actual_end_at),
            t(s.cancelled_at),
            s.cancelled_by.map(|v| v.to_string()).unwrap_or_default(),
            s.end_kind.clone().unwrap_or_default(),
            csv_text(&tariffs.join(" + ")),
            corrections.to_string(),
            s.receipt
                .as_ref()
                .map(|r| r.total.to_string())
                .unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{csv_field, csv_text};

    #[test]
    fn typed_text_that_a_spreadsheet_would_run_is_shown_instead() {
        assert_eq!(
            csv_field(&csv_text("=HYPERLINK(\"http://evil.example\",\"x\")")),
            "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\""
        );
        for bad in ["+1", "-2", "@x", "\tx", "\rx"] {
            assert!(csv_text(bad).starts_with('\''), "{bad:?}");
        }
        assert_eq!(csv_text("Dana"), "Dana");
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("Dana"), "Dana");
        assert_eq!(csv_field("Lopez, Maria"), "\"Lopez, Maria\"");
        assert_eq!(csv_field("the \"Pro\""), "\"the \"\"Pro\"\"\"");
    }
}
