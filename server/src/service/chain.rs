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

    /// Marks a PC's metrics fresh, for the other servers (see
    /// `share_metrics`).
    pub(crate) fn metrics_fresh(&self, device_id: i64) {
        if self.store.shared() {
            if let Ok(mut fresh) = self.chain.fresh.lock() {
                fresh.insert(device_id);
            }
        }
    }

    /// Tells the other servers the fresh metrics of the PCs connected
    /// here, in notifications small enough for `NOTIFY`.
    async fn share_metrics(&self) -> Result<()> {
        let fresh = std::mem::take(&mut *self.chain.fresh.lock().map_err(|_| poisoned())?);
        let mut pcs = Vec::new();
        for device_id in fresh {
            let p = self.presence(device_id);
            if let (true, Some(m)) = (p.here(), p.metrics) {
                pcs.push((device_id, m, p.last_seen_at));
            }
        }
        // Each PC written once; the payloads are put together from them.
        let from = serde_json::to_string(&*self.chain.instance).map_err(internal)?;
        let mut payloads = Vec::new();
        let mut batch: Vec<String> = Vec::new();
        let mut size = 0;
        for pc in &pcs {
            let one = serde_json::to_string(pc).map_err(internal)?;
            if size + one.len() > NOTICE_BYTES && !batch.is_empty() {
                payloads.push(format!(r#"{{"from":{from},"pcs":[{}]}}"#, batch.join(",")));
                batch.clear();
                size = 0;
            }
            size += one.len() + 1;
            batch.push(one);
        }
        if !batch.is_empty() {
            payloads.push(format!(r#"{{"from":{from},"pcs":[{}]}}"#, batch.join(",")));
        }
        if payloads.is_empty() {
            return Ok(());
        }
        let mut c = self.store.read().await?;
        for p in payloads {
            c.notify(METRICS, &p)?;
        }
        Ok(())
    }

    /// Another server's PCs' fresh metrics: shown in this server's hall.
    fn take_metrics(&self, payload: &str) {
        let shared: SharedMetrics = match serde_json::from_str(payload) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "metrics another server shared cannot be read");
                return;
            }
        };
        if *shared.from == *self.chain.instance {
            return;
        }
        let mut events = Vec::new();
        if let Ok(mut map) = self.presence.write() {
            for (device_id, metrics, seen) in shared.pcs {
                let Some(p) = map.get_mut(&device_id) else {
                    continue;
                };
                if p.instance.as_deref() == Some(shared.from.as_str()) {
                    p.metrics = Some(metrics.bounded());
                    p.last_seen_at = seen.or(p.last_seen_at);
                    events.push(Event::DeviceMetrics { device_id });
                }
            }
        }
        self.bus.publish(events);
    }

    /// Reads which server every connected PC is on. PCs connected here
    /// stay as this server knows them.
    async fn load_presence(&self) -> Result<()> {
        let on_record = self.store.read().await?.all_presence()?;
        let on_record: std::collections::HashMap<i64, String> = on_record.into_iter().collect();
        let mut map = self.presence.write().map_err(|_| poisoned())?;
        map.retain(|id, p| p.here() || on_record.contains_key(id));
        for (id, instance) in on_record {
            if *instance != *self.chain.instance {
                // On record elsewhere: the agent moved on, also when this
                // server's connection to it has not closed yet.
                let p = map.entry(id).or_default();
                if p.instance.as_deref() != Some(instance.as_str()) {
                    *p = DevicePresence::elsewhere(&instance);
                }
            }
        }
        Ok(())
    }

    /// Reads which server a PC is on after an operation changed it.
    pub(crate) async fn refresh_presence(&self, device_id: i64) -> Result<()> {
        let on_record = self.store.read().await?.presence_of(device_id)?;
        let mut map = self.presence.write().map_err(|_| poisoned())?;
        let p = map.entry(device_id).or_default();
        match on_record {
            // Connected here: this server knows best.
            Some(i) if *i == *self.chain.instance => {}
            // Still where it was: its shared metrics stay.
            Some(i) if p.online && p.instance.as_deref() == Some(i.as_str()) => {}
            // Connected elsewhere, also when this server's connection
            // to it has not closed yet: the agent moved on.
            Some(i) => *p = DevicePresence::elsewhere(&i),
            // Connected here but off the record: this server was taken
            // for dead and its beat puts it back.
            None if p.here() => {}
            None => *p = DevicePresence::default(),
        }
        Ok(())
    }

    /// One beat: on record as alive (again, if it was taken for dead), the
    /// silent servers' PCs offline.
    async fn beat(&self) -> Result<()> {
        let instance = self.chain.instance.clone();
        let (alive, silent) = {
            let mut c = self.store.read().await?;
            let alive = c.beat_instance(&instance)?;
            (alive, c.silent_instances(millis(SILENT))?)
        };
        if !alive {
            tracing::warn!("this server was silent and taken for dead: back on record");
            self.rejoin().await?;
        }
        for other in silent.into_iter().filter(|i| *i != *instance) {
            self.remove_silent(other).await?;
        }
        Ok(())
    }

    /// Back on record, with the PCs connected here.
    async fn rejoin(&self) -> Result<()> {
        let here: Vec<i64> = {
            let map = self.presence.read().map_err(|_| poisoned())?;
            map.iter()
                .filter(|(_, p)| p.here())
                .map(|(id, _)| *id)
                .collect()
        };
        let instance = self.chain.instance.clone();
        // A PC on record elsewhere now moved on to that server while this
        // one was off the record: it stays there.
        let taken = self
            .run(move |this, tx| {
                tx.register_instance(&instance)?;
                let since = store::ms(this.now());
                let mut events = Vec::new();
                let mut taken = Vec::new();
                for device_id in here {
                    if !tx.claim_presence(device_id, &instance, since)? {
                        taken.push(device_id);
                    }
                    events.push(Event::DeviceChanged { device_id });
                }
                Ok((taken, events))
            })
            .await?;
        for device_id in taken {
            self.refresh_presence(device_id).await?;
        }
        Ok(())
    }

    /// Leaves the database's servers (a server that stops): its PCs go
    /// offline for the others at once, not once it has been silent.
    pub(crate) async fn leave(&self) -> Result<()> {
        let instance = self.chain.instance.to_string();
        let devices = self
            .run(move |_, tx| {
                let devices = tx.remove_instance(&instance, None)?;
                let events = devices
                    .iter()
                    .map(|&device_id| Event::DeviceChanged { device_id })
                    .collect();
                Ok((devices, events))
            })
            .await?;
        tracing::info!(pcs = devices.len(), "left the servers on the database");
        Ok(())
    }

    /// Takes a silent server for dead: its PCs go offline, on record for
    /// those in a started session, as a PC that goes silent is.
    async fn remove_silent(&self, other: String) -> Result<()> {
        let now = self.now();
        let removed = other.clone();
        let devices = self
            .run(move |_, tx| {
                let devices = tx.remove_instance(&other, Some(millis(SILENT)))?;
                let mut events = Vec::new();
                for &device_id in &devices {
                    let after = serde_json::json!({
                        "online": false,
                        "server": other,
                        "why": "its server stopped beating",
                    });
                    super::agents::audit_if_playing(
                        tx,
                        device_id,
                        "device.offline_while_playing",
                        now,
                        after,
                    )?;
                    events.push(Event::DeviceChanged { device_id });
                }
                Ok((devices, events))
            })
            .await?;
        if !devices.is_empty() {
            tracing::warn!(server = %removed, pcs = devices.len(), "a silent server taken for dead: its PCs are offline");
        }
        // Commands it was to hand to their agents never will be.
        for device_id in devices {
            if let Some(c) = self
                .command(device_id)
                .filter(|c| c.state == CommandState::Sent)
            {
                self.command_undelivered(device_id, c.id).await?;
            }
        }
        Ok(())
    }
}

fn internal(e: serde_json::Error) -> Error {
    Error::Internal(e.into())
}

fn poisoned() -> Error {
    Error::Internal(anyhow::anyhow!("the presence map is poisoned"))
}

impl DevicePresence {
    /// Connected to this server.
    pub fn here(&self) -> bool {
        self.online && self.instance.is_none()
    }

    /// Connected to another server on the database.
    fn elsewhere(instance: &str) -> Self {
        DevicePresence {
            online: true,
            instance: Some(instance.into()),
            last_seen_at: None,
            metrics: None,
        }
    }
}
