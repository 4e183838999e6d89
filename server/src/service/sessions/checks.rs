//! The checks a new or changed session passes before it holds a PC: a
//! usable holding (the client's, with time, allowed in the zone) and a free
//! PC over the session's span.

use crate::domain::{chain, occupancy, Span};
use crate::error::{Error, Result};
use crate::service::money::buy_tariff;
use crate::service::tariffs::tariff_window;
use crate::service::Actor;
use crate::store::{self, at, at_opt, Conn};
use chrono::{DateTime, Utc};
use club_shared::{HoldingStatus, Minor};

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
/// `from`, each as long as its holding's time, cut by its tariff's window
/// on the clock of the session's club.
pub(crate) fn chained_spans(
    c: &mut Conn,
    club: i64,
    open: &[store::SegmentRow],
    from: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
    let mut parts = Vec::with_capacity(open.len());
    for g in open {
        let tariff = c
            .get_tariff(g.tariff_id)?
            .ok_or_else(|| Error::not_found("tariff", g.tariff_id))?;
        parts.push((g.reserved_seconds, tariff_window(&tariff)));
    }
    let windowed = parts.iter().any(|(_, w)| w.is_some());
    let tz = crate::service::clubs::clock_for(c, club, windowed)?;
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
