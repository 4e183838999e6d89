//! Sessions: the requests the API takes, and what every session operation
//! shares (committing with its events, the audit entry, the summary).
//! The work is by job: `checks` (a usable holding, a free PC), `lifecycle`
//! (create, activate, start), `closing` (cancel, end, preview), `views`
//! (reading), `reports` (CSV).

use super::clients::balance_event;
use super::Actor;
use crate::domain::SegmentOutcome;
use crate::error::{Error, Result};
use crate::requests::sessions::{AuditQuery, NewSession, PreviewAction, SessionQuery};
use crate::store::{self, Conn, NewAudit};
use chrono::{DateTime, Utc};
use club_shared::events::SessionChange;
use club_shared::{Event, Minor, Receipt, SessionStatus, SessionView};
use serde::Serialize;
use utoipa::ToSchema;

mod checks;
mod closing;
mod lifecycle;
mod reports;
mod views;

pub(crate) use checks::*;
pub(crate) use closing::*;
pub use reports::*;
pub(crate) use views::*;

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

/// An audit entry about session `s`, naming its device and client.
pub(crate) fn audit_on_session(
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

pub(crate) fn session_event(change: SessionChange, view: &SessionView) -> Event {
    Event::Session {
        change,
        devices: vec![view.device_id],
        session: Box::new(view.clone()),
    }
}

pub(crate) fn summary(v: &SessionView) -> serde_json::Value {
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

/// What a session operation publishes: the session, and the client's
/// balances when they moved.
pub(crate) fn session_events(
    c: &mut Conn,
    change: SessionChange,
    view: &SessionView,
    balance_of: Option<i64>,
) -> Result<Vec<Event>> {
    let mut events = vec![session_event(change, view)];
    if let Some(client_id) = balance_of {
        events.push(balance_event(c, client_id)?);
    }
    Ok(events)
}

pub(crate) fn clean_reason(reason: Option<String>) -> Result<Option<String>> {
    match reason.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(r) if r.chars().count() > 500 => {
            Err(Error::bad("reason", "must be at most 500 characters"))
        }
        Some(r) => Ok(Some(r.to_owned())),
    }
}
