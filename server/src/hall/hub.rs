//! The hub: bus events become numbered hall events, each carrying the
//! full view of what it touches, handed to every screen's queue.

use super::*;
use crate::service::Service;
use axum::extract::ws::Utf8Bytes;
use club_shared::events::SessionChange;
use club_shared::hall::{HallEvent, HallEventKind};
use club_shared::{DeviceView, Event};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

fn kind_of(change: SessionChange) -> HallEventKind {
    match change {
        SessionChange::Created => HallEventKind::SessionCreated,
        SessionChange::Activated => HallEventKind::SessionActivated,
        SessionChange::Started => HallEventKind::SessionStarted,
        SessionChange::TariffAdded => HallEventKind::SessionTariffAdded,
        SessionChange::Renewed => HallEventKind::SessionRenewed,
        SessionChange::Moved => HallEventKind::SessionMoved,
        SessionChange::PriceCorrected => HallEventKind::SessionPriceCorrected,
        SessionChange::Ended => HallEventKind::SessionEnded,
        SessionChange::Cancelled => HallEventKind::SessionCancelled,
    }
}

/// `HallMsg::Event` as it is written, from a borrowed event: one event is
/// written once for each feed that gets it (every club's, and each club's
/// own, numbered apart) without copying it.
#[derive(serde::Serialize)]
#[serde(tag = "type", rename = "event")]
struct EventFrame<'a> {
    seq: u64,
    event: &'a HallEvent,
}

fn event(kind: HallEventKind) -> HallEvent {
    HallEvent {
        kind,
        devices: Vec::new(),
        session: None,
        client_id: None,
        balance: None,
        bonus_balance: None,
    }
}

/// Turns bus events into hall events, numbers them, and fans them out.
pub async fn run_hub(service: Service, feed: HallFeed, shutdown: CancellationToken) {
    let mut bus = service.bus.subscribe();
    let mut resyncs = service.resyncs();
    let mut online: HashMap<i64, bool> = HashMap::new();
    let mut last_metrics: HashMap<i64, Instant> = HashMap::new();
    // The last view read of each PC. Between events that change a PC, only
    // its presence moves (heartbeats), and presence lives in memory, so a
    // metrics event patches the cached view instead of reading SQLite.
    let mut views: HashMap<i64, DeviceView> = HashMap::new();
    loop {
        let e = tokio::select! {
            _ = shutdown.cancelled() => return,
            // Outcomes may have been missed (see `service::chain`).
            _ = resyncs.changed() => Err(broadcast::error::RecvError::Lagged(0)),
            e = bus.recv() => e,
        };
        let e = match e {
            Ok(e) => e,
            Err(broadcast::error::RecvError::Lagged(_)) => {
                views.clear();
                feed.resync_all();
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        match &e {
            Event::SignedOut { token_hash } => {
                feed.sign_out(token_hash);
                continue;
            }
            Event::DeviceRevoked { .. } => continue,
            _ => {}
        }
        if feed.skip_unwatched() {
            // What the hub remembers may be stale when a screen opens.
            views.clear();
            online.clear();
            continue;
        }
        let (mut hall_event, device_ids) = match e {
            Event::SignedOut { .. } | Event::DeviceRevoked { .. } => continue,
            Event::Session {
                change,
                devices,
                session,
            } => {
                let mut h = event(kind_of(change));
                h.session = Some(*session);
                (h, devices)
            }
            Event::BalanceChanged {
                client_id,
                balance,
                bonus_balance,
            } => {
                let mut h = event(HallEventKind::BalanceChanged);
                h.client_id = Some(client_id);
                h.balance = Some(balance);
                h.bonus_balance = Some(bonus_balance);
                (h, vec![])
            }
            Event::DeviceChanged { device_id } => {
                (event(HallEventKind::DeviceChanged), vec![device_id])
            }
            Event::DeviceMetrics { device_id } => {
                let now = Instant::now();
                if last_metrics
                    .get(&device_id)
                    .is_some_and(|t| now.duration_since(*t) < METRICS_EVERY)
                {
                    continue;
                }
                last_metrics.insert(device_id, now);
                (event(HallEventKind::Metrics), vec![device_id])
            }
            Event::TariffChanged { .. } => (event(HallEventKind::TariffChanged), vec![]),
            Event::EndingSoon { device_id, .. } => {
                (event(HallEventKind::EndingSoon), vec![device_id])
            }
        };
        if device_ids.is_empty() {
            // A client or tariff changed: a cached view may show its old name.
            views.clear();
        }
        for id in device_ids {
            let cached = match hall_event.kind {
                HallEventKind::Metrics => views.get(&id).cloned().map(|mut v| {
                    service.apply_presence(&mut v);
                    v
                }),
                _ => None,
            };
            match cached {
                Some(view) => hall_event.devices.push(view),
                None => match service.device(id).await {
                    Ok(view) => {
                        views.insert(id, view.clone());
                        hall_event.devices.push(view);
                    }
                    Err(e) => {
                        views.remove(&id);
                        tracing::warn!(device.id = id, error = ?e, "hall feed: reading a PC")
                    }
                },
            }
        }
        if hall_event.kind == HallEventKind::DeviceChanged {
            if let Some(d) = hall_event.devices.first() {
                let was = online.insert(d.id, d.online);
                if was != Some(d.online) {
                    hall_event.kind = if d.online {
                        HallEventKind::DeviceOnline
                    } else {
                        HallEventKind::DeviceOffline
                    };
                }
            }
        }
        // A session's club, a PC's club, or none (a balance, a tariff):
        // every screen gets those.
        let club = match &hall_event.session {
            Some(session) => Some(session.club_id),
            None => hall_event.devices.first().map(|d| d.club_id),
        };
        let encode = |seq| {
            let frame = EventFrame {
                seq,
                event: &hall_event,
            };
            match serde_json::to_string(&frame) {
                Ok(json) => Some(Utf8Bytes::from(json)),
                Err(e) => {
                    tracing::error!(error = %e, "hall feed: encoding an event");
                    None
                }
            }
        };
        let seq = feed.seq.fetch_add(1, Ordering::AcqRel) + 1;
        if let Some(json) = encode(seq) {
            feed.dispatch(seq, json, club, encode);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use club_shared::hall::HallMsg;

    #[test]
    fn an_event_frame_is_written_as_the_hall_message() {
        let mut e = event(HallEventKind::BalanceChanged);
        e.client_id = Some(7);
        let frame = serde_json::to_value(EventFrame { seq: 3, event: &e }).unwrap();
        let msg = serde_json::to_value(HallMsg::Event {
            seq: 3,
            event: Box::new(e),
        })
        .unwrap();
        assert_eq!(frame, msg);
    }
}
