//! Several servers on one database (PostgreSQL: a chain's servers, or one
//! club's behind a balancer).
//!
//! Each operation writes its outcome (its events, its PCs' new desired
//! states) to the outbox in its own transaction, under the write lock, so
//! the outbox's ids are in commit order. Every server, this one included,
//! follows the outbox in id order and publishes each outcome to the agents
//! and hall screens connected to it: per PC and per hall, every server
//! publishes the same order. An operation is answered once this server
//! has published it.
//!
//! Servers beat in `chain_instances`. One silent for [`SILENT`] is taken
//! for dead by the first server to notice, and the PCs connected to it go
//! offline until their agents connect to another server.
//! `chain_presence` says which server each PC's agent is connected to.

use super::{DesiredPush, DevicePresence, Service};
use crate::error::{Error, Result};
use crate::store;
use club_shared::{CommandState, DeviceCommandView, Event, Metrics};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// A server that has not beaten for this long is taken for dead: well
/// beyond a beat that waited for a busy pool's connection (5 s) and for
/// its operation's outcome to be published (5 s).
pub const SILENT: Duration = Duration::from_secs(30);
/// How often a server beats and looks for silent ones; also how often the
/// follower reads the outbox with no notification (a statement may fail).
const BEAT: Duration = Duration::from_secs(2);
/// How long an outcome stays in the outbox. A follower that lost its
/// connection resynchronises everything when it is back, so this only
/// needs to cover the reads of one that is slow.
const KEEP: Duration = Duration::from_secs(600);
/// How long an operation waits for this server to publish its outcome
/// before it is answered anyway (a follower that cannot read the outbox).
const PUBLISHED_WITHIN: Duration = Duration::from_secs(5);
/// Outcomes read at once.
const PAGE: i64 = 500;
/// The outbox's channel: its trigger notifies each new outcome.
const OUTBOX: &str = "chain_outbox";
/// The channel servers share their PCs' fresh metrics on.
const METRICS: &str = "chain_metrics";
/// How often a server shares them: a hall shows a PC's metrics at most
/// this often anyway.
const METRICS_EVERY: Duration = crate::hall::METRICS_EVERY;
/// How often a server forgets outcomes older than `KEEP`.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// A notification carries less than 8000 bytes.
const NOTICE_BYTES: usize = 7000;

/// An operation's outcome, as the outbox keeps it.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Outcome {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Event>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pushes: Vec<DesiredPush>,
    /// A session changed: a deadline may have moved.
    #[serde(default)]
    pub schedule: bool,
    /// The desk's commands, sent or answered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<CommandNote>,
}

/// A desk's command as every server shows it, and the server that hands
/// it to the PC's agent (none once it is answered, or for a wake).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CommandNote {
    pub view: DeviceCommandView,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_on: Option<String>,
}

impl Outcome {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.pushes.is_empty() && self.commands.is_empty()
    }
}

/// This server among the others on its database.
pub(crate) struct Membership {
    /// Its name in `chain_instances` and the outbox.
    pub instance: Arc<str>,
    /// The newest outcome it has published.
    pub followed: watch::Sender<i64>,
    /// Counts the times its hall screens and agents must be brought up to
    /// date from scratch: it may have missed outcomes.
    pub resyncs: watch::Sender<u64>,
    /// Whether its follower runs: an operation waits for its outcome to be
    /// published only then (a service used without serving has none).
    pub following: std::sync::atomic::AtomicBool,
    /// PCs connected here with metrics the other servers have not heard.
    pub fresh: std::sync::Mutex<std::collections::BTreeSet<i64>>,
}

/// PCs' fresh metrics, as one server tells the others.
#[derive(Debug, Serialize, Deserialize)]
struct SharedMetrics {
    from: String,
    /// Each PC with its metrics, and when it was last heard from.
    pcs: Vec<(i64, Metrics, Option<chrono::DateTime<chrono::Utc>>)>,
}

impl Default for Membership {
    fn default() -> Self {
        Membership {
            instance: format!(
                "server-{}-{:08x}",
                std::process::id(),
                rand::random::<u32>()
            )
            .into(),
            followed: watch::channel(0).0,
            resyncs: watch::channel(0).0,
            following: std::sync::atomic::AtomicBool::new(false),
            fresh: Default::default(),
        }
    }
}

/// The follower and the beat of a server on a shared database; both stop
/// when this is dropped.
pub struct Following {
    stop: CancellationToken,
    service: Service,
}

impl Following {
    /// Stops following and beating, then leaves the database's servers:
    /// this server's PCs go offline for the others at once (a server that
    /// stops). Stopped first, no beat puts it back on record.
    pub async fn leave(self) {
        self.stop();
        if let Err(e) = self.service.leave().await {
            tracing::warn!(error = %e, "leaving the servers on the database");
        }
    }

    fn stop(&self) {
        self.service
            .chain
            .following
            .store(false, std::sync::atomic::Ordering::Release);
        self.stop.cancel();
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        self.stop();
    }
}

/// On a shared database: puts this server on record, learns which server
/// every connected PC is on, and starts following the outbox and beating.
/// Nothing on a SQLite file.
pub async fn join(service: &Service) -> Result<Option<Following>> {
    if !service.store.shared() {
        return Ok(None);
    }
    let chain = &service.chain;
    let last = {
        let mut c = service.store.read().await?;
        c.register_instance(&chain.instance)?;
        c.outbox_last()?
    };
    // Presence after the outbox's end: what changes in between is both
    // read here and followed.
    service.load_presence().await?;
    chain.followed.send_replace(last);
    chain
        .following
        .store(true, std::sync::atomic::Ordering::Release);
    let stop = CancellationToken::new();
    tokio::spawn(follow(service.clone(), last, stop.clone()));
    let s = service.clone();
    tokio::spawn(every(BEAT, stop.clone(), "beating", move || {
        let s = s.clone();
        async move { s.beat().await }
    }));
    let s = service.clone();
    tokio::spawn(every(
        METRICS_EVERY,
        stop.clone(),
        "sharing the PCs' metrics",
        move || {
            let s = s.clone();
            async move { s.share_metrics().await }
        },
    ));
    let s = service.clone();
    tokio::spawn(every(
        PRUNE_EVERY,
        stop.clone(),
        "forgetting old outcomes",
        move || {
            let s = s.clone();
            async move {
                s.store
                    .read()
                    .await?
                    .prune_outbox(millis(KEEP))
                    .map(drop)
                    .map_err(Into::into)
            }
        },
    ));
    Ok(Some(Following {
        stop,
        service: service.clone(),
    }))
}

/// Publishes every outcome in the outbox in id order, woken by the
/// outbox's notifications (and hears the metrics other servers share).
/// Without a listening connection it reads the outbox every `BEAT` all
/// the same. A follower that may have missed outcomes (its listening
/// connection was lost, or it could not read for long enough that the
/// outbox may have dropped them) brings everything up to date from
/// scratch once it has caught up.
async fn follow(service: Service, mut last: i64, stop: CancellationToken) {
    let mut listener = None;
    let mut resync = false;
    let mut caught_up = std::time::Instant::now();
    loop {
        if listener.is_none() {
            match service.store.listen(&[OUTBOX, METRICS]).await {
                Ok(l) => listener = Some(l),
                Err(e) => {
                    tracing::warn!(error = %e, "following the outbox: no listening connection")
                }
            }
        }
        match catch_up(&service, &mut last).await {
            Err(e) => tracing::warn!(error = %e, "following the outbox"),
            Ok(()) => {
                if caught_up.elapsed() > KEEP / 2 {
                    resync = true;
                }
                caught_up = std::time::Instant::now();
                if std::mem::take(&mut resync) {
                    if let Err(e) = service.load_presence().await {
                        tracing::warn!(error = %e, "reading the PCs' presence");
                    }
                    service.chain.resyncs.send_modify(|n| *n += 1);
                }
            }
        }
        let heard = async {
            match listener.as_mut() {
                Some(l) => l.next().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            notice = heard => match notice {
                None => {
                    // Lost: outcomes may have gone unheard meanwhile.
                    listener = None;
                    resync = true;
                }
                Some(first) => {
                    // One read of the outbox for every notice heard so far.
                    let mut notice = Some(first);
                    while let Some(n) = notice {
                        if n.channel == METRICS {
                            service.take_metrics(&n.payload);
                        }
                        notice = listener.as_mut().and_then(|l| l.try_next());
                    }
                }
            },
            _ = tokio::time::sleep(BEAT) => {}
        }
    }
}

/// Publishes the outcomes after `last`.
async fn catch_up(service: &Service, last: &mut i64) -> Result<()> {
    loop {
        let rows = service.store.read().await?.outbox_after(*last, PAGE)?;
        let full = rows.len() as i64 == PAGE;
        for row in rows {
            match serde_json::from_str::<Outcome>(&row.body) {
                Ok(outcome) => {
                    // Before the hall reads the PC: its own operations
                    // (a silent server taken for dead) change presence too.
                    for e in &outcome.events {
                        if let Event::DeviceChanged { device_id } = e {
                            service.refresh_presence(*device_id).await?;
                        }
                    }
                    service.publish_outcome(outcome);
                }
                Err(e) => {
                    tracing::error!(outbox.id = row.id, error = %e, "an outcome this server cannot read")
                }
            }
            *last = row.id;
            service.chain.followed.send_replace(row.id);
        }
        if !full {
            return Ok(());
        }
    }
}

/// Runs `job` every `period` until `stop`; a failure is logged and the
/// next round tries again.
async fn every<F, Fut>(period: Duration, stop: CancellationToken, what: &str, mut job: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(period) => {}
        }
        if let Err(e) = job().await {
            tracing::warn!(error = %e, "{what}");
        }
    }
}

fn millis(d: Duration) -> i64 {
    d.as_millis() as i64
}

impl Service {
    /// The name this server goes by among the others on its database.
    pub fn instance(&self) -> &str {
        &self.chain.instance
    }

    /// Publishes an outcome to this server's agents and hall screens.
    pub(crate) fn publish_outcome(&self, o: Outcome) {
        for p in o.pushes {
            let _ = self.desired_pushes.send(p);
        }
        for note in o.commands {
            self.set_command(note.view.clone());
            if note.deliver_on.as_deref() == Some(self.instance()) {
                // Nobody listening (no gateway) is answered by the sender.
                let _ = self.command_pushes.send(super::CommandPush {
                    device_id: note.view.device_id,
                    id: note.view.id,
                    kind: note.view.kind,
                    text: note.view.text,
                });
            }
        }
        self.bus.publish(o.events);
        if o.schedule {
            self.schedule_changed.notify_one();
        }
    }

    /// Waits until this server published outcome `id` (a while at most).
    pub(crate) async fn published(&self, id: i64) {
        if !self
            .chain
            .following
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return;
        }
        let mut followed = self.chain.followed.subscribe();
        let waited = tokio::time::timeout(PUBLISHED_WITHIN, followed.wait_for(|v| *v >= id)).await;
        if waited.is_err() {
            tracing::warn!(
                outbox.id = id,
                "answered before this server published the operation: its follower is behind"
            );
        }
    }

    /// Times this server's agents and hall screens must be brought up to
    /// date from scratch.
    pub fn resyncs(&self) -> watch::Receiver<u64> {
        self.chain.resyncs.subscribe()
    }
}

fn internal(e: serde_json::Error) -> Error {
    Error::Internal(e.into())
}

fn poisoned() -> Error {
    Error::Internal(anyhow::anyhow!("the presence map is poisoned"))
}

mod presence;
