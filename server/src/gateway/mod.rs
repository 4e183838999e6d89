//! The agent gateway on /agent/v1/ws. The device secret is checked before
//! the upgrade; then the PC gets its desired state, and a new one after
//! every committed operation that touches it.
//!
//! `socket`: one agent's connection (the upgrade, the hello, the frames);
//! `push`: states, commands and revocations pushed to connected agents.

mod frames;
mod push;
mod socket;

pub use push::{close_revoked, push_commands, push_states};
pub use socket::{upgrade, Device};

use axum::extract::ws::{Message, Utf8Bytes};
use club_shared::protocol::ServerMsg;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Per-connection buffers. tungstenite's defaults reserve about 128 KiB per
/// socket; an agent sends frames of a few hundred bytes, and the read buffer
/// grows for a bigger one.
const READ_BUFFER: usize = 1024;
const WRITE_BUFFER: usize = 4 * 1024;

/// The connected agents, by device.
#[derive(Clone)]
pub struct Gateway {
    conns: Arc<Mutex<HashMap<i64, Conn>>>,
    /// Upgraded connections per PC that have not said hello yet: they are
    /// out of the HTTP connection counts and not yet one-per-PC.
    greeting: crate::serve::Slots<i64>,
    next_id: Arc<std::sync::atomic::AtomicU64>,
    /// Silence after which a PC counts as offline and its socket is dropped.
    offline_after: Duration,
}

/// Connections one PC may have waiting for their hello at once: a
/// reconnect racing the old socket needs two; a stolen secret gets no more.
const GREETING_PER_PC: usize = 2;

/// A connection's place among its PC's greeting ones, given back on drop.
type Greeting = crate::serve::Slot<i64>;

#[derive(Clone)]
struct Conn {
    id: u64,
    outbox: Outbox,
    /// The digest of the secret it authenticated with.
    secret_hash: Arc<str>,
}

/// What is waiting to go to one agent: its latest desired state only. A
/// state is whole, so a newer one replaces an unsent older one, and a slow
/// agent never holds a queue. About a hundred bytes per connection, where a
/// channel's first block of 32 frames is 1.5 KiB.
#[derive(Clone, Default)]
struct Outbox(Arc<OutboxInner>);

#[derive(Default)]
struct OutboxInner {
    latest: Mutex<Option<Message>>,
    /// Commands from the desk, in order; never replaced by a newer state.
    commands: Mutex<std::collections::VecDeque<Message>>,
    closed: std::sync::atomic::AtomicBool,
    ready: tokio::sync::Notify,
}

/// Commands one PC may have waiting to be sent.
const COMMANDS_QUEUED: usize = 8;

impl Outbox {
    /// Queues a command; `false` when the PC has too many waiting.
    fn put_command(&self, frame: Message) -> bool {
        let mut q = self.0.commands.lock().unwrap_or_else(|p| p.into_inner());
        if q.len() >= COMMANDS_QUEUED {
            return false;
        }
        q.push_back(frame);
        drop(q);
        self.0.ready.notify_one();
        true
    }

    fn put(&self, frame: Message) {
        *self.0.latest.lock().unwrap_or_else(|p| p.into_inner()) = Some(frame);
        self.0.ready.notify_one();
    }

    /// Ends the connection's writer: a newer connection of the same PC
    /// replaced it.
    fn close(&self) {
        self.0
            .closed
            .store(true, std::sync::atomic::Ordering::Release);
        self.0.ready.notify_one();
    }

    /// The next frame to send; `None` once closed.
    async fn next(&self) -> Option<Message> {
        loop {
            if self.0.closed.load(std::sync::atomic::Ordering::Acquire) {
                return None;
            }
            let command = self
                .0
                .commands
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop_front();
            if let Some(frame) = command {
                return Some(frame);
            }
            if let Some(frame) = self
                .0
                .latest
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
            {
                return Some(frame);
            }
            // notify_one keeps a permit when nobody waits: no wake-up is lost
            // between the checks above and this wait.
            self.0.ready.notified().await;
        }
    }
}

impl Gateway {
    pub fn new(offline_after: Duration) -> Self {
        Gateway {
            conns: Arc::default(),
            greeting: Default::default(),
            next_id: Arc::default(),
            offline_after,
        }
    }

    /// A place for one more connection of this PC before its hello, if it
    /// has fewer than [`GREETING_PER_PC`] waiting already.
    fn greeting(&self, device_id: i64) -> Option<Greeting> {
        self.greeting.take(device_id, GREETING_PER_PC)
    }

    fn register(&self, device_id: i64, outbox: Outbox, secret_hash: &str) -> u64 {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let conn = Conn {
            id,
            outbox,
            secret_hash: secret_hash.into(),
        };
        let old = self.lock().insert(device_id, conn);
        // A second connection with the same secret replaces the first.
        if let Some(old) = old {
            old.outbox.close();
        }
        id
    }

    fn unregister(&self, device_id: i64, conn_id: u64) -> bool {
        let mut conns = self.lock();
        if conns.get(&device_id).is_some_and(|c| c.id == conn_id) {
            conns.remove(&device_id);
            return true;
        }
        false
    }

    /// Closes a PC's connection if it authenticated with another secret
    /// than `current` (the PC was enrolled again, or disabled).
    fn close_if_revoked(&self, device_id: i64, current: Option<&str>) {
        if let Some(c) = self.lock().get(&device_id) {
            if current != Some(&*c.secret_hash) {
                tracing::info!(
                    device.id = device_id,
                    "closing the connection of a revoked secret"
                );
                c.outbox.close();
            }
        }
    }

    fn outbox(&self, device_id: i64) -> Option<Outbox> {
        self.lock().get(&device_id).map(|c| c.outbox.clone())
    }

    fn connected(&self) -> Vec<i64> {
        self.lock().keys().copied().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Conn>> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn encode(msg: &ServerMsg) -> Message {
    Message::Text(Utf8Bytes::from(
        serde_json::to_string(msg).unwrap_or_default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &'static str) -> Message {
        Message::Text(Utf8Bytes::from_static(text))
    }

    fn text(m: Option<Message>) -> String {
        match m {
            Some(Message::Text(t)) => t.to_string(),
            other => format!("{other:?}"),
        }
    }

    const PATIENCE: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn an_outbox_sends_only_the_latest_state() {
        let outbox = Outbox::default();
        outbox.put(frame("seq 1"));
        outbox.put(frame("seq 2"));
        let first = tokio::time::timeout(PATIENCE, outbox.next()).await.unwrap();
        assert_eq!(text(first), "seq 2");
        // Nothing else is waiting: the older state was replaced, not queued.
        assert!(outbox.0.latest.lock().unwrap().is_none());
    }

    #[tokio::test]
    async fn a_waiting_writer_wakes_for_a_put_and_ends_on_close() {
        let outbox = Outbox::default();
        let writer = {
            let outbox = outbox.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(f) = outbox.next().await {
                    got.push(text(Some(f)));
                }
                got
            })
        };
        tokio::task::yield_now().await;
        outbox.put(frame("seq 1"));
        // The writer takes it before the close below is seen.
        tokio::time::timeout(PATIENCE, async {
            while outbox.0.latest.lock().unwrap().is_some() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap();
        outbox.close();
        let got = tokio::time::timeout(PATIENCE, writer)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, vec!["seq 1".to_string()]);
    }

    #[test]
    fn a_second_connection_closes_the_first_ones_outbox() {
        let gateway = Gateway::new(Duration::from_secs(30));
        let first = Outbox::default();
        let id = gateway.register(7, first.clone(), "old");
        let second = Outbox::default();
        let id2 = gateway.register(7, second.clone(), "old");
        assert!(first.0.closed.load(std::sync::atomic::Ordering::Acquire));
        assert!(!second.0.closed.load(std::sync::atomic::Ordering::Acquire));
        // The replaced connection going away leaves the new one registered.
        assert!(!gateway.unregister(7, id));
        assert_eq!(gateway.connected(), vec![7]);
        assert!(gateway.unregister(7, id2));
        assert!(gateway.connected().is_empty());
    }

    #[test]
    fn only_a_connection_with_a_revoked_secret_is_closed() {
        let gateway = Gateway::new(Duration::from_secs(30));
        let conn = Outbox::default();
        gateway.register(7, conn.clone(), "current");
        gateway.close_if_revoked(7, Some("current"));
        assert!(!conn.0.closed.load(std::sync::atomic::Ordering::Acquire));
        gateway.close_if_revoked(7, Some("newer"));
        assert!(conn.0.closed.load(std::sync::atomic::Ordering::Acquire));
        let disabled = Outbox::default();
        gateway.register(8, disabled.clone(), "any");
        gateway.close_if_revoked(8, None);
        assert!(disabled.0.closed.load(std::sync::atomic::Ordering::Acquire));
    }
}
