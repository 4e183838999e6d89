//! The hall feed: one hub turns bus events into sequenced hall events and
//! hands each screen a copy through a bounded queue. A screen that cannot
//! keep up never slows the hub or the other screens: when its queue is
//! full its backlog is dropped and it gets a fresh snapshot instead.
//!
//! `hub`: bus events into numbered hall events; `screen`: one operator
//! screen's socket (its snapshot, its queue, its sign-in's expiry).

mod hub;
mod screen;

pub use hub::run_hub;
pub use screen::upgrade;

use axum::extract::ws::Utf8Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};

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
pub(crate) const METRICS_EVERY: Duration = Duration::from_secs(5);

type Queued = (u64, Utf8Bytes);

/// A snapshot kept for reuse: its number, its `at`, its JSON.
type Kept = (u64, chrono::DateTime<chrono::Utc>, Utf8Bytes);
/// How long, on the server's clock, a kept snapshot serves: its `at` tells
/// the page the server's time, and the page ignores a skew under 2 s.
const SNAPSHOT_REUSE_MS: i64 = 1000;

/// A club's own feed: the number of its last event, and how many of its
/// screens are open (kept as they open and close, so an event never looks
/// through the screens to find them).
#[derive(Default)]
struct ClubFeed {
    seq: u64,
    screens: usize,
}

struct Screen {
    /// The club it shows; None: every club.
    club: Option<i64>,
    tx: mpsc::Sender<Queued>,
    resync: Arc<AtomicBool>,
    wake: Arc<Notify>,
    /// The sign-in it was opened with, and whether that has ended.
    token_hash: String,
    signed_out: Arc<AtomicBool>,
}

#[derive(Clone)]
pub struct HallFeed {
    /// Counts overflowing screens (see `dispatch`).
    overflows: Option<prometheus::IntCounter>,
    /// The numbers of the every-club feed.
    seq: Arc<AtomicU64>,
    /// Each club's own feed (the screens of staff of one club): its
    /// numbers count only the events its club's screens get, so the numbers
    /// a screen sees have no gaps.
    club_feeds: Arc<Mutex<HashMap<i64, ClubFeed>>>,
    screens: Arc<Mutex<HashMap<u64, Screen>>>,
    next_id: Arc<AtomicU64>,
    queue: usize,
    /// One snapshot is built at a time: a big hall's is tens of
    /// milliseconds of work, and screens that fall behind together must not
    /// take both cores from the live ones. The last one is kept with its
    /// number for a moment: screens that open between two events (all of
    /// them, after a restart) share one.
    snapshots: Arc<tokio::sync::Mutex<HashMap<Option<i64>, Kept>>>,
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
            overflows: None,
            seq: Arc::default(),
            club_feeds: Arc::default(),
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

    /// Counts the screens whose queue overflows in these metrics.
    pub fn with_metrics(mut self, metrics: &crate::metrics::Metrics) -> Self {
        self.overflows = Some(metrics.hall_overflows.clone());
        self
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
        if let Some(k) = screen.club {
            self.club_feeds().entry(k).or_default().screens += 1;
        }
        screens.insert(id, screen);
        self.open.send_replace(screens.len());
    }

    fn remove(&self, id: u64) {
        let mut screens = self.screens();
        if let Some(k) = screens.remove(&id).and_then(|s| s.club) {
            if let Some(feed) = self.club_feeds().get_mut(&k) {
                feed.screens -= 1;
            }
        }
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
            for feed in self.club_feeds().values_mut() {
                feed.seq += 1;
            }
            return true;
        }
        false
    }

    fn club_feeds(&self) -> std::sync::MutexGuard<'_, HashMap<i64, ClubFeed>> {
        self.club_feeds.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The number of the last event of a feed: every club's (None) or one
    /// club's.
    fn seq_of(&self, club: Option<i64>) -> u64 {
        match club {
            None => self.seq.load(Ordering::Acquire),
            Some(k) => self.club_feeds().entry(k).or_default().seq,
        }
    }

    fn screens(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Screen>> {
        self.screens.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands one event to every screen that shows `club` without ever
    /// waiting for one: numbered `seq` and encoded as `json` for the
    /// every-club screens, numbered in its club's own feed and encoded
    /// again by `encode` for each club whose screens get it. An event of
    /// no club (a balance, a tariff) goes to every screen.
    fn dispatch(
        &self,
        seq: u64,
        json: Utf8Bytes,
        club: Option<i64>,
        encode: impl Fn(u64) -> Option<Utf8Bytes>,
    ) {
        let screens = self.screens();
        let mut own: HashMap<i64, (u64, Utf8Bytes)> = HashMap::new();
        for (k, feed) in self.club_feeds().iter_mut() {
            if club.is_some_and(|c| c != *k) {
                continue;
            }
            feed.seq += 1;
            if feed.screens > 0 {
                if let Some(json) = encode(feed.seq) {
                    own.insert(*k, (feed.seq, json));
                }
            }
        }
        for screen in screens.values() {
            let queued = match screen.club {
                None => (seq, json.clone()),
                Some(k) => match own.get(&k) {
                    Some((n, json)) => (*n, json.clone()),
                    None => continue,
                },
            };
            if let Err(mpsc::error::TrySendError::Full(_)) = screen.tx.try_send(queued) {
                if !screen.resync.swap(true, Ordering::AcqRel) {
                    if let Some(c) = &self.overflows {
                        c.inc();
                    }
                }
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
