//! A session from its creation to its start: creation (after the checks
//! in `checks`), activation, the Start press.

use super::*;
use crate::domain::{initial_status, occupancy, transition, Action};
use crate::error::{Error, Result};
use crate::service::tariffs::tariff_window;
use crate::service::{Actor, Service};
use crate::store::{self, Conn};
use chrono::{DateTime, Duration, Utc};
use club_shared::events::SessionChange;
use club_shared::{HoldingStatus, Permission, SessionStatus, SessionView};

/// How far in the past a planned start may be and still mean "now": the
/// operator's screen clock and the server's may differ a little.
pub(crate) const PLANNED_START_TOLERANCE_SECONDS: i64 = 60;

/// An operation's answer, or the session it refused and why.
pub(crate) type Refused<T> = std::result::Result<T, (store::SessionRow, String)>;

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
        actor.in_club(device.club_id, "device", device.id)?;
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
        if let Some(w) = tariff_window(&tariff) {
            if !w.contains(
                planned,
                crate::service::clubs::club_tz(&mut *tx, device.club_id)?,
            ) {
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
        let s = load_session_for(&mut *tx, actor, id)?;
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
        let spans = chained_spans(&mut *tx, s.club_id, &open, now)?;
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
