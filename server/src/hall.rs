//! The hall feed: one hub turns bus events into sequenced hall events and
//! hands each screen a copy through a bounded queue. A screen that cannot
//! keep up never slows the hub or the other screens: when its queue is
//! full its backlog is dropped and it gets a fresh snapshot instead.

use crate::error::Error;
use crate::service::{Actor, Service};
use crate::state::{AppState, Staff};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use club_shared::events::SessionChange;
use club_shared::hall::{HallEvent, HallEventKind, HallMsg, ScreenMsg};
use club_shared::{DeviceView, Event};
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, Notify};
use tokio_util::sync::CancellationToken;

/// Events queued per screen before it counts as behind.
pub const SCREEN_QUEUE: usize = 256;
/// The largest message a screen is sent: a snapshot of a hall of about
/// 100,000 PCs.
const MAX_SNAPSHOT_BYTES: usize = 32 * 1024 * 1024;
/// A screen whose socket takes no data for this long is closed: a laptop
/// asleep or a tab frozen. The page reconnects by itself and gets a
/// snapshot; until then it holds no queue and no snapshot in the server.
pub const SCREEN_SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// At most one metrics event per PC this often.
const METRICS_EVERY: Duration = Duration::from_secs(5);

type Queued = (u64, Utf8Bytes);

/// A snapshot kept for reuse: its number, its `at`, its JSON.
type Kept = (u64, chrono::DateTime<chrono::Utc>, Utf8Bytes);
/// How long, on the server's clock, a kept snapshot serves: its `at` tells
/// the page the server's time, and the page ignores a skew under 2 s.
const SNAPSHOT_REUSE_MS: i64 = 1000;

struct Screen {
    tx: mpsc::Sender<Queued>,
    resync: Arc<AtomicBool>,
    wake: Arc<Notify>,
    /// The sign-in it was opened with, and whether that has ended.
    token_hash: String,
    signed_out: Arc<AtomicBool>,
}

#[derive(Clone)]
pub struct HallFeed {
    seq: Arc<AtomicU64>,
    screens: Arc<Mutex<HashMap<u64, Screen>>>,
    next_id: Arc<AtomicU64>,
    queue: usize,
    /// One snapshot is built at a time: a big hall's is tens of
    /// milliseconds of work, and screens that fall behind together must not
    /// take both cores from the live ones. The last one is kept with its
    /// number for a moment: screens that open between two events (all of
    /// them, after a restart) share one.
    snapshots: Arc<tokio::sync::Mutex<Option<Kept>>>,
    send_timeout: Duration,
    /// How many screens are open, for whoever waits on it.
    open: Arc<tokio::sync::watch::Sender<usize>>,
    /// Screens open (or opening) per sign-in, and how many one may hold.
    per_sign_in: Arc<Mutex<HashMap<String, usize>>>,
    screens_per_sign_in: usize,
}

/// Hall screens one sign-in may hold open at once by default: a desk has a
/// few monitors, not hundreds.
pub const SCREENS_PER_SIGN_IN: usize = 8;

/// A screen's place in its sign-in's count, given back on drop (also when
/// an upgrade never completes).
struct ScreenSlot {
    map: Arc<Mutex<HashMap<String, usize>>>,
    token_hash: String,
}

impl Drop for ScreenSlot {
    fn drop(&mut self) {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.token_hash) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.token_hash);
            }
        }
    }
}

impl HallFeed {
    pub fn new(queue: usize, send_timeout: Duration, screens_per_sign_in: usize) -> Self {
        HallFeed {
            seq: Arc::default(),
            screens: Arc::default(),
            next_id: Arc::default(),
            queue: queue.max(1),
            snapshots: Arc::default(),
            send_timeout,
            open: Arc::new(tokio::sync::watch::Sender::new(0)),
            per_sign_in: Arc::default(),
            screens_per_sign_in: screens_per_sign_in.max(1),
        }
    }

    fn take_slot(&self, token_hash: &str) -> Option<ScreenSlot> {
        let mut m = self.per_sign_in.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(token_hash.to_owned()).or_default();
        if *n >= self.screens_per_sign_in {
            return None;
        }
        *n += 1;
        Some(ScreenSlot {
            map: self.per_sign_in.clone(),
            token_hash: token_hash.to_owned(),
        })
    }

    /// The number of the last hall event, sent or (with no screen open)
    /// skipped.
    pub fn last_seq(&self) -> u64 {
        self.seq.load(Ordering::Acquire)
    }

    /// The number of open screens, as it changes.
    pub fn open_screens(&self) -> tokio::sync::watch::Receiver<usize> {
        self.open.subscribe()
    }

    fn add(&self, id: u64, screen: Screen) {
        let mut screens = self.screens();
        screens.insert(id, screen);
        self.open.send_replace(screens.len());
    }

    fn remove(&self, id: u64) {
        let mut screens = self.screens();
        screens.remove(&id);
        self.open.send_replace(screens.len());
    }

    /// True if no screen is open, and then the event is numbered and
    /// skipped: nobody needs its reads. A screen that opens later gets a
    /// snapshot read after it registered, and the number keeps it from
    /// reusing a kept snapshot that is older. Checked and numbered under the
    /// screens' lock, so a screen registering meanwhile either gets the
    /// event or a snapshot taken after it.
    fn skip_unwatched(&self) -> bool {
        let screens = self.screens();
        if screens.is_empty() {
            self.seq.fetch_add(1, Ordering::AcqRel);
            return true;
        }
        false
    }

    fn screens(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Screen>> {
        self.screens.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands one event to every screen without ever waiting for one.
    fn dispatch(&self, seq: u64, json: Utf8Bytes) {
        for screen in self.screens().values() {
            if let Err(mpsc::error::TrySendError::Full(_)) = screen.tx.try_send((seq, json.clone()))
            {
                screen.resync.store(true, Ordering::Release);
                screen.wake.notify_one();
            }
        }
    }

    /// The screens opened with this sign-in close.
    fn sign_out(&self, token_hash: &str) {
        for screen in self.screens().values() {
            if screen.token_hash == token_hash {
                screen.signed_out.store(true, Ordering::Release);
                screen.wake.notify_one();
            }
        }
    }

    fn resync_all(&self) {
        for screen in self.screens().values() {
            screen.resync.store(true, Ordering::Release);
            screen.wake.notify_one();
        }
    }
}

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
    let mut online: HashMap<i64, bool> = HashMap::new();
    let mut last_metrics: HashMap<i64, Instant> = HashMap::new();
    // The last view read of each PC. Between events that change a PC, only
    // its presence moves (heartbeats), and presence lives in memory, so a
    // metrics event patches the cached view instead of reading SQLite.
    let mut views: HashMap<i64, DeviceView> = HashMap::new();
    loop {
        let e = tokio::select! {
            _ = shutdown.cancelled() => return,
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
        let seq = feed.seq.fetch_add(1, Ordering::AcqRel) + 1;
        let msg = HallMsg::Event {
            seq,
            event: Box::new(hall_event),
        };
        match serde_json::to_string(&msg) {
            Ok(json) => feed.dispatch(seq, Utf8Bytes::from(json)),
            Err(e) => tracing::error!(error = %e, "hall feed: encoding an event"),
        }
    }
}

pub async fn upgrade(
    State(state): State<AppState>,
    Staff(staff): Staff,
    ws: WebSocketUpgrade,
) -> Response {
    let Actor::Staff(ctx) = staff else {
        return Error::Unauthorized("sign in as staff".into()).into_response();
    };
    let Some(slot) = state.feed.take_slot(&ctx.token_hash) else {
        return Error::TooMany {
            message: format!(
                "this sign-in already has {} hall screens open",
                state.feed.screens_per_sign_in
            ),
            retry_after: 10,
        }
        .into_response();
    };
    // Each send waits for its flush, so the write buffer holds one message
    // at most; its ceiling must fit a snapshot of the largest hall (under
    // 200 bytes a PC), or a big club's screens could never open.
    // A screen only ever sends a tiny resync request. tungstenite zeroes its
    // read buffer's free capacity before every read attempt, and a screen's
    // socket is polled after every event sent: with the default 128 KiB
    // buffer that memset was the largest single cost of fan-out.
    ws.max_message_size(4 * 1024)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(16 * 1024)
        .max_write_buffer_size(MAX_SNAPSHOT_BYTES)
        .on_upgrade(move |socket| {
            let tracker = state.tasks.clone();
            tracker.track_future(async move {
                serve_screen(state, socket, ctx.token_hash, ctx.expires_at).await;
                drop(slot);
            })
        })
}

async fn snapshot(service: &Service, feed: &HallFeed) -> Option<(u64, Message)> {
    let mut last = feed.snapshots.lock().await;
    // Read the number first: anything numbered after it is sent after the
    // snapshot, and events are full views, so a repeat is harmless. For the
    // same reason a snapshot read at this number serves again.
    let seq = feed.seq.load(Ordering::Acquire);
    if let Some((kept_seq, at, json)) = last.as_ref() {
        let age = service.now().signed_duration_since(*at).num_milliseconds();
        if *kept_seq == seq && (0..SNAPSHOT_REUSE_MS).contains(&age) {
            return Some((seq, Message::Text(json.clone())));
        }
    }
    let hall = match service.hall().await {
        Ok(hall) => hall,
        Err(e) => {
            tracing::error!(error = ?e, "hall feed: snapshot");
            return None;
        }
    };
    let at = hall.at;
    // Encoding a big hall takes milliseconds: off the runtime's workers.
    let json = tokio::task::spawn_blocking(move || {
        serde_json::to_string(&HallMsg::Snapshot { seq, hall })
    })
    .await
    .ok()?
    .ok()?;
    let json = Utf8Bytes::from(json);
    *last = Some((seq, at, json.clone()));
    Some((seq, Message::Text(json)))
}

/// Sends one message; false if the socket is gone or took nothing for
/// `limit`.
async fn send(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    msg: Message,
    limit: Duration,
) -> bool {
    within(limit, sink.send(msg)).await
}

/// Whether a write to a screen finished, and in time.
async fn within<E>(
    limit: Duration,
    write: impl std::future::Future<Output = Result<(), E>>,
) -> bool {
    match tokio::time::timeout(limit, write).await {
        Ok(written) => written.is_ok(),
        Err(_) => {
            tracing::info!(seconds = limit.as_secs_f64(), "hall screen stalled: closed");
            false
        }
    }
}

/// Events queued at most per flush.
const BURST: usize = 64;

/// Sends `first` and whatever else is already queued (up to `BURST`) with
/// one flush: under load a screen's task wakes once for several events.
/// Events numbered at or below `sent` (covered by a snapshot) are skipped.
async fn send_burst(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    queue: &mut mpsc::Receiver<Queued>,
    first: Queued,
    sent: &mut u64,
    limit: Duration,
) -> bool {
    let burst = async {
        let mut next = Some(first);
        let mut count = 0;
        while let Some((seq, json)) = next.take() {
            if seq > *sent {
                sink.feed(Message::Text(json)).await?;
                *sent = seq;
            }
            count += 1;
            if count < BURST {
                next = queue.try_recv().ok();
            }
        }
        sink.flush().await
    };
    within(limit, burst).await
}

/// How often a screen looks whether its sign-in has expired.
const EXPIRY_CHECK: Duration = Duration::from_secs(15);

async fn serve_screen(
    state: AppState,
    socket: WebSocket,
    token_hash: String,
    expires_at: chrono::DateTime<chrono::Utc>,
) {
    let feed = state.feed.clone();
    let (tx, mut queue) = mpsc::channel::<Queued>(feed.queue);
    let resync = Arc::new(AtomicBool::new(false));
    let wake = Arc::new(Notify::new());
    let signed_out = Arc::new(AtomicBool::new(false));
    let id = feed.next_id.fetch_add(1, Ordering::Relaxed);
    feed.add(
        id,
        Screen {
            tx,
            resync: resync.clone(),
            wake: wake.clone(),
            token_hash: token_hash.clone(),
            signed_out: signed_out.clone(),
        },
    );
    let mut expiry = tokio::time::interval(EXPIRY_CHECK);
    expiry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    let (mut sink, mut stream) = socket.split();
    let limit = feed.send_timeout;
    let mut sent = 0;
    let mut ok = match snapshot(&state.service, &feed).await {
        Some((seq, msg)) => {
            sent = seq;
            send(&mut sink, msg, limit).await
        }
        None => false,
    };
    while ok {
        let mut send_snapshot = false;
        tokio::select! {
            _ = state.shutdown.cancelled() => {
                let frame = CloseFrame { code: 1001, reason: Utf8Bytes::from_static("server shutting down") };
                send(&mut sink, Message::Close(Some(frame)), limit).await;
                break;
            }
            _ = wake.notified() => send_snapshot = resync.swap(false, Ordering::AcqRel),
            // A sign-out the hub did not pass on (it fell behind, or it came
            // while this screen was opening) is found here.
            _ = expiry.tick() => if let Ok(false) = state.service.staff_token_alive(&token_hash).await {
                signed_out.store(true, Ordering::Release);
            },
            queued = queue.recv() => match queued {
                Some(first) => {
                    ok = send_burst(&mut sink, &mut queue, first, &mut sent, limit).await;
                }
                None => break,
            },
            frame = stream.next() => match frame {
                Some(Ok(Message::Text(t))) => match serde_json::from_str::<ScreenMsg>(&t) {
                    Ok(ScreenMsg::Resync) => send_snapshot = true,
                    Err(e) => {
                        let msg = HallMsg::Error { message: format!("not a message: {e}") };
                        let json = serde_json::to_string(&msg).unwrap_or_default();
                        ok = send(&mut sink, Message::Text(Utf8Bytes::from(json)), limit).await;
                    }
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
        // Signed out, or the sign-in ran out: the screen closes (its page
        // then finds its token refused and asks to sign in).
        let ended = if signed_out.load(Ordering::Acquire) {
            Some("signed out")
        } else if state.service.now() >= expires_at {
            Some("the sign-in expired")
        } else {
            None
        };
        if let Some(why) = ended {
            let frame = CloseFrame {
                code: 4001,
                reason: Utf8Bytes::from_static(why),
            };
            send(&mut sink, Message::Close(Some(frame)), limit).await;
            break;
        }
        if send_snapshot && ok {
            // Behind or asked: drop the backlog, start again from now.
            while queue.try_recv().is_ok() {}
            match snapshot(&state.service, &feed).await {
                Some((seq, msg)) => {
                    sent = seq;
                    ok = send(&mut sink, msg, limit).await;
                }
                None => ok = false,
            }
        }
    }
    feed.remove(id);
}
