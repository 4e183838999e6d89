//! A session from its creation to its start: the checks a new session
//! passes (a free PC, a usable holding), creation, activation, the Start
//! press.

use super::*;
use crate::domain::{chain, initial_status, occupancy, transition, Action, Span};
use crate::error::{Error, Result};
use crate::service::money::buy_tariff;
use crate::service::tariffs::{load_settings, tariff_window};
use crate::service::{Actor, Service};
use crate::store::{self, at, at_opt, Conn};
use chrono::{DateTime, Duration, Utc};
use club_shared::events::SessionChange;
use club_shared::{HoldingStatus, Minor, Permission, SessionStatus, SessionView};

/// How far in the past a planned start may be and still mean "now": the
/// operator's screen clock and the server's may differ a little.
pub(crate) const PLANNED_START_TOLERANCE_SECONDS: i64 = 60;

/// An operation's answer, or the session it refused and why.
pub(crate) type Refused<T> = std::result::Result<T, (store::SessionRow, String)>;

/// The span a live session holds its device for.
pub(crate) fn session_span(
    c: &mut Conn,
    s: &store::SessionRow,
    now: DateTime<Utc>,
) -> Result<Option<Span>> {
    let reserved: i64 = c
        .session_segments(s.id)?
        .iter()
        .filter(|g| g.closed_at.is_none())
        .map(|g| g.reserved_seconds)
        .sum();
    Ok(occupancy(
        s.status,
        at(s.planned_start_at),
        at_opt(s.ends_at),
        reserved,
        now,
    ))
}

/// The spans of a session's open segments run one after the other from
/// `from`, each as long as its holding's time, cut by its tariff's window.
pub(crate) fn chained_spans(
    c: &mut Conn,
    open: &[store::SegmentRow],
    from: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
    let tz = load_settings(c)?.tz();
    let mut parts = Vec::with_capacity(open.len());
    for g in open {
        let tariff = c
            .get_tariff(g.tariff_id)?
            .ok_or_else(|| Error::not_found("tariff", g.tariff_id))?;
        parts.push((g.reserved_seconds, tariff_window(&tariff)));
    }
    Ok(chain(from, &parts, tz))
}

/// The holding a session plays from: one of the client's (`holding_id`)
/// or one bought now (`tariff_id`, with `bonus` spent), exactly one.
pub(crate) fn chosen_holding(
    c: &mut Conn,
    actor: &Actor,
    client_id: i64,
    (holding_id, tariff_id): (Option<i64>, Option<i64>),
    bonus: Minor,
    now: DateTime<Utc>,
) -> Result<store::HoldingRow> {
    match (holding_id, tariff_id) {
        (Some(id), None) => c
            .get_holding(id)?
            .ok_or_else(|| Error::not_found("holding", id)),
        (None, Some(tariff_id)) => buy_tariff(c, actor, client_id, tariff_id, bonus, now),
        _ => Err(Error::bad(
            "holding_id",
            "give exactly one of holding_id and tariff_id",
        )),
    }
}

/// The holding a session plays from, chosen or bought as `chosen_holding`
/// says, checked as `usable_holding` says, with its tariff.
pub(crate) fn playable_holding(
    c: &mut Conn,
    actor: &Actor,
    client_id: i64,
    zone_id: i64,
    (holding_id, tariff_id, bonus): (Option<i64>, Option<i64>, Minor),
    now: DateTime<Utc>,
    at: i64,
) -> Result<(store::HoldingRow, store::TariffRow)> {
    let holding = chosen_holding(c, actor, client_id, (holding_id, tariff_id), bonus, now)?;
    usable_holding(c, holding, client_id, zone_id, at)
}

/// Checks that the client may play from `holding` at `at` in a zone:
/// theirs, with time left, not reserved, valid, and allowed there.
pub(crate) fn usable_holding(
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
    if holding.status != HoldingStatus::Available || holding.remaining_seconds <= 0 {
        return Err(Error::Conflict(format!(
            "holding {} is {}",
            holding.id,
            holding.status.as_str()
        )));
    }
    if holding.valid_until.is_some_and(|v| v <= at) {
        return Err(Error::Conflict(format!(
            "holding {} has expired",
            holding.id
        )));
    }
    let tariff = c
        .get_tariff(holding.tariff_id)?
        .ok_or_else(|| Error::not_found("tariff", holding.tariff_id))?;
    let zones = c.tariff_zones(tariff.id)?;
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
pub(crate) fn check_device_free(
    c: &mut Conn,
    device_id: i64,
    device_name: &str,
    span: Span,
    now: DateTime<Utc>,
    except: Option<i64>,
) -> Result<()> {
    for other in c.live_sessions(Some(device_id))? {
        if Some(other.id) == except {
            continue;
        }
        if let Some(theirs) = session_span(c, &other, now)? {
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

impl Service {
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
        let actor = actor.clone();
        self.run(move |this, tx| this.create_session_in(tx, &actor, req, now, planned))
            .await
    }

    fn create_session_in(
        &self,
        tx: &mut Conn,
        actor: &Actor,
        req: NewSession,
        now: DateTime<Utc>,
        planned: DateTime<Utc>,
    ) -> Result<(SessionView, Vec<Event>)> {
        let client = tx
            .get_client(req.client_id)?
            .ok_or_else(|| Error::not_found("client", req.client_id))?;
        let device = tx
            .get_device(req.device_id)?
            .ok_or_else(|| Error::not_found("device", req.device_id))?;
        if !device.enabled {
            return Err(Error::Conflict(format!("PC {} is disabled", device.name)));
        }
        let (holding, tariff) = playable_holding(
            &mut *tx,
            actor,
            client.id,
            device.zone_id,
            (req.holding_id, req.tariff_id, req.bonus_amount),
            now,
            store::ms(planned),
        )?;
        let settings = load_settings(&mut *tx)?;
        if let Some(w) = tariff_window(&tariff) {
            if !w.contains(planned, settings.tz()) {
                return Err(Error::bad(
                    "planned_start_at",
                    format!("tariff {} is usable only {}", tariff.name, w.describe()),
                ));
            }
        }
        let status = initial_status(planned, now);
        let span = occupancy(status, planned, None, holding.remaining_seconds, now)
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("a new session has a span")))?;
        check_device_free(&mut *tx, device.id, &device.name, span, now, None)?;

        let id = tx.insert_session(
            client.id,
            device.id,
            status,
            store::ms(planned),
            store::ms(now),
            actor.operator_id(),
        )?;
        tx.insert_segment(
            id,
            0,
            holding.id,
            tariff.id,
            holding.remaining_seconds,
            tariff.refund_policy,
            tariff.max_bonus_percent,
        )?;
        tx.insert_binding(id, device.id, store::ms(planned))?;
        tx.update_holding(
            holding.id,
            holding.remaining_seconds,
            holding.value_remaining,
            HoldingStatus::InUse,
        )?;
        let view = session_view(&mut *tx, id)?;
        let mut a = actor.audit("session.create", now);
        a.session_id = Some(id);
        a.device_id = Some(device.id);
        a.client_id = Some(client.id);
        a.after = Some(summary(&view));
        tx.insert_audit(&a)?;
        let bought = req.tariff_id.is_some().then_some(client.id);
        let events = session_events(tx, SessionChange::Created, &view, bought)?;
        Ok((view, events))
    }

    /// Start pressed: by an operator (SessionStart), by the player in the
    /// app (own sessions only) or on the PC (its own device only). A press
    /// repeated with the same `press_id` is a no-op. An operator or the app
    /// cannot start a session on a PC whose agent is offline (it could not
    /// unlock, and the time would run) unless `force`, which is audited.
    #[tracing::instrument(skip_all, fields(session.id = id, operator.id = actor.operator_id()))]
    pub async fn start_session(
        &self,
        actor: &Actor,
        id: i64,
        press_id: Option<&str>,
        force: bool,
    ) -> Result<SessionView> {
        actor.require(Permission::SessionStart)?;
        let now = self.now();
        let (who, press) = (actor.clone(), press_id.map(str::to_owned));
        let started = self
            .run(move |this, tx| {
                this.start_session_in(tx, &who, id, (press.as_deref(), force), now)
            })
            .await?;
        match started {
            Ok(view) => Ok(view),
            Err((s, why)) => {
                self.audit_refusal(actor, "session.start_refused", &s, &why)
                    .await?;
                Err(Error::NotAllowed(why))
            }
        }
    }

    /// Start in the transaction; a press by the wrong player or PC is
    /// answered with its session and why, for the refusal's own audit.
    fn start_session_in(
        &self,
        tx: &mut Conn,
        actor: &Actor,
        id: i64,
        (press_id, force): (Option<&str>, bool),
        now: DateTime<Utc>,
    ) -> Result<(Refused<SessionView>, Vec<Event>)> {
        let s = load_session(&mut *tx, id)?;
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
            return Ok((Err((s, why)), Vec::new()));
        }
        let status = s.status;
        if status == SessionStatus::Started
            && press_id.is_some()
            && s.start_press_id.as_deref() == press_id
        {
            return Ok((Ok(session_view(&mut *tx, id)?), Vec::new()));
        }
        transition(status, Action::Start)?;
        // The PC itself pressed Start, or the system did (the demo): it is
        // there. An operator or the app may be starting a PC that is not.
        let offline = matches!(actor, Actor::Staff(_) | Actor::Player { .. })
            && !self.presence(s.device_id).online;
        if offline && !force {
            let name = tx
                .get_device(s.device_id)?
                .map_or_else(|| format!("#{}", s.device_id), |d| d.name);
            return Err(Error::Conflict(format!(
                "PC {name} is offline: its agent is not connected, so it cannot unlock and the \
                 player's time would run; start it anyway with \"force\": true"
            )));
        }
        // Every open segment gets its span: the first from now, those
        // queued (extensions added before Start) one after the other.
        let open = open_segments(&mut *tx, id)?;
        let spans = chained_spans(&mut *tx, &open, now)?;
        let (Some(first), Some(&(_, ends_at))) = (open.first(), spans.last()) else {
            return Err(Error::Conflict(format!("session {id} has no tariff left")));
        };
        if spans[0].0 == spans[0].1 {
            let w = tx
                .get_tariff(first.tariff_id)?
                .and_then(|t| tariff_window(&t))
                .map(|w| w.describe())
                .unwrap_or_default();
            return Err(Error::Conflict(format!(
                "tariff {} is usable only {w}; it cannot start now",
                first.tariff_name
            )));
        }
        let before = session_view(&mut *tx, id)?;
        tx.mark_session_started(id, store::ms(now), store::ms(ends_at), press_id)?;
        for (g, (from, to)) in open.iter().zip(&spans) {
            tx.open_segment(g.id, store::ms(*from), store::ms(*to))?;
        }
        tx.start_binding(id, store::ms(now))?;
        let view = session_view(&mut *tx, id)?;
        // Forced on an offline PC: its own kind, so reports find it.
        let kind = if offline {
            "session.start_offline"
        } else {
            "session.start"
        };
        let mut a = audit_on_session(actor, kind, now, &s);
        a.before = Some(summary(&before));
        a.after = Some(summary(&view));
        if offline {
            a.reason = Some("started with force while the PC's agent was offline".into());
        }
        tx.insert_audit(&a)?;
        let events = session_events(tx, SessionChange::Started, &view, None)?;
        Ok((Ok(view), events))
    }

    pub(crate) async fn audit_refusal(
        &self,
        actor: &Actor,
        kind: &'static str,
        s: &store::SessionRow,
        why: &str,
    ) -> Result<()> {
        let mut a = actor.audit(kind, self.now());
        a.session_id = Some(s.id);
        a.device_id = match actor {
            Actor::Agent { device_id } => Some(*device_id),
            _ => Some(s.device_id),
        };
        a.client_id = Some(s.client_id);
        a.reason = Some(why.to_owned());
        self.run(move |_, tx| Ok((tx.insert_audit(&a)?, Vec::new())))
            .await
    }

    /// The scheduler: planned start reached, PENDING becomes ACTIVE.
    pub async fn activate(&self, id: i64) -> Result<SessionView> {
        let now = self.now();
        self.run(move |_, tx| {
            let s = load_session(&mut *tx, id)?;
            transition(s.status, Action::Activate)?;
            if s.planned_start_at > store::ms(now) {
                return Err(Error::Conflict(format!(
                    "session {id} is planned for later"
                )));
            }
            tx.set_session_status(id, SessionStatus::Active)?;
            let view = session_view(&mut *tx, id)?;
            let mut a = audit_on_session(&Actor::System, "session.activate", now, &s);
            a.before = Some(serde_json::json!({"status": s.status}));
            a.after = Some(serde_json::json!({"status": view.status}));
            tx.insert_audit(&a)?;
            let events = vec![session_event(SessionChange::Activated, &view)];
            Ok((view, events))
        })
        .await
    }
}
