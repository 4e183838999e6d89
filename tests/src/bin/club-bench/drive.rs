//! The operations a latency window drives, and what the agents and the
//! screens saw of them.

use crate::api::Api;
use crate::screens::Screens;
use crate::sim::{now_ns, Fleet};
use anyhow::Context;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Create,
    Cancel,
}

#[derive(Clone, Copy)]
pub struct Op {
    pub kind: Kind,
    pub device: i64,
    pub session: i64,
    pub sent_ns: u64,
}

/// Alternates create and cancel at `rate` operations a second for `seconds`,
/// by `client` on `tariff`, a new PC for each session; answers every
/// operation that succeeded.
pub async fn drive(
    api: &Api,
    (client, tariff): (i64, i64),
    devices: &[i64],
    rate: u64,
    seconds: u64,
) -> anyhow::Result<Vec<Op>> {
    let ops = Arc::new(Mutex::new(Vec::new()));
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
    let mut tasks = Vec::new();
    // The last create, for the next tick's cancel: its PC, and its session id
    // once answered.
    let mut pending: Option<(i64, tokio::sync::oneshot::Receiver<i64>)> = None;
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    for _ in 0..rate * seconds {
        tick.tick().await;
        let (api, ops) = (api.clone(), ops.clone());
        match pending.take() {
            None => {
                let device = devices
                    [NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % devices.len()];
                let (tx, rx) = tokio::sync::oneshot::channel();
                pending = Some((device, rx));
                tasks.push(tokio::spawn(async move {
                    let sent_ns = now_ns();
                    let s = api
                        .post(
                            "/sessions",
                            json!({"client_id": client, "device_id": device, "tariff_id": tariff}),
                        )
                        .await?;
                    let session = s["id"].as_i64().context("id")?;
                    let _ = tx.send(session);
                    ops.lock().unwrap().push(Op {
                        kind: Kind::Create,
                        device,
                        session,
                        sent_ns,
                    });
                    anyhow::Ok(())
                }));
            }
            Some((device, created)) => {
                tasks.push(tokio::spawn(async move {
                    let Ok(session) = created.await else {
                        return Ok(());
                    };
                    let sent_ns = now_ns();
                    api.post(&format!("/sessions/{session}/cancel"), json!({}))
                        .await?;
                    ops.lock().unwrap().push(Op {
                        kind: Kind::Cancel,
                        device,
                        session,
                        sent_ns,
                    });
                    anyhow::Ok(())
                }));
            }
        }
    }
    for t in tasks {
        t.await??;
    }
    let ops = ops.lock().unwrap().clone();
    Ok(ops)
}

/// Per operation, the time until its PC had the new state. A create whose
/// state was replaced by the cancel's before the agent's connection sent
/// it (an outbox holds only the latest state) is counted as superseded,
/// not lost: the agent went straight to the later state.
pub fn agent_latencies(ops: &[Op], fleets: &[&Fleet]) -> Latencies {
    let mut l = Latencies::default();
    let guards: Vec<_> = fleets.iter().map(|f| f.seen.lock().unwrap()).collect();
    for op in ops {
        let states = guards
            .iter()
            .find_map(|g| g.states.get(&op.device))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let arrived = states.iter().find(|(session, at)| match op.kind {
            Kind::Create => *session == op.session,
            Kind::Cancel => *session == 0 && *at > op.sent_ns,
        });
        match arrived {
            Some((_, at)) => l
                .samples
                .push(Duration::from_nanos(at.saturating_sub(op.sent_ns))),
            None if op.kind == Kind::Create
                && states
                    .iter()
                    .any(|(session, at)| *session == 0 && *at > op.sent_ns) =>
            {
                l.superseded += 1
            }
            None => l.lost += 1,
        }
    }
    l
}

#[derive(Default)]
pub struct Latencies {
    pub samples: Vec<Duration>,
    pub lost: usize,
    pub superseded: usize,
}

/// Per create and live screen that has it, the time until the screen had
/// the session's created event.
pub fn screen_latencies(ops: &[Op], screens: &Screens) -> Vec<Duration> {
    let created = screens.deliveries.created.lock().unwrap();
    ops.iter()
        .filter(|o| matches!(o.kind, Kind::Create))
        .flat_map(|o| {
            created
                .get(&o.session)
                .into_iter()
                .flatten()
                .map(|at| Duration::from_nanos(at.saturating_sub(o.sent_ns)))
        })
        .collect()
}

/// What a window's operations reached once late arrivals are in: waits on
/// the agents' and the screens' reports until every operation has reached
/// its PC and every live screen, or `patience` has passed.
pub async fn settle(
    ops: &[Op],
    fleets: &[&Fleet],
    screens: &Screens,
    live_screens: usize,
    patience: Duration,
) -> (Latencies, Vec<Duration>) {
    let deadline = Instant::now() + patience;
    let creates = ops.iter().filter(|o| o.kind == Kind::Create).count();
    loop {
        // Registered before looking, so no report slips between the look
        // and the wait.
        let mut changed: Vec<_> = fleets.iter().map(|f| f.changed()).collect();
        changed.push(screens.deliveries.changed.clone());
        let notified: Vec<_> = changed.iter().map(|n| Box::pin(n.notified())).collect();
        let agents = agent_latencies(ops, fleets);
        let delivered = screen_latencies(ops, screens);
        if (agents.lost == 0 && delivered.len() >= creates * live_screens)
            || Instant::now() >= deadline
        {
            return (agents, delivered);
        }
        let _ =
            tokio::time::timeout_at(deadline.into(), futures_util::future::select_all(notified))
                .await;
    }
}
