//! Operator screens on the hall feed: live ones that read every event and
//! note when each session's "created" event arrived, and stalled ones that
//! never read at all.

use crate::sim::now_ns;
use anyhow::Context;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;

#[derive(Default)]
pub struct Deliveries {
    /// Session id -> arrival ns of its "created" event, one per screen.
    pub created: Mutex<HashMap<i64, Vec<u64>>>,
    /// Snapshots after the first: a live screen should see none.
    pub resyncs: AtomicUsize,
    /// Notified at every created event a screen receives.
    pub changed: Arc<Notify>,
}

pub struct Screens {
    pub deliveries: Arc<Deliveries>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _stalled: Vec<Box<dyn Send>>,
}

impl Drop for Screens {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The session id of a "session_created" hall event, read without parsing
/// the whole message: 200 screens parse every event.
fn created_session(text: &str) -> Option<i64> {
    if !text.contains(r#""kind":"session_created""#) {
        return None;
    }
    // The event's own session comes last; device views before it may
    // carry the same session.
    let rest = text.rsplit(r#""session":{"id":"#).next()?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

impl Screens {
    pub async fn open(
        ws_base: &str,
        token: &str,
        live: usize,
        stalled: usize,
    ) -> anyhow::Result<Screens> {
        let url = format!("{ws_base}/api/v1/hall/ws?token={token}");
        let deliveries = Arc::new(Deliveries::default());
        // Stalled screens first: the server hands out snapshots one at a
        // time, in turn, so theirs are out by the time the live screens have
        // theirs, and the run that follows measures them stalled, not
        // opening.
        let mut held: Vec<Box<dyn Send>> = Vec::new();
        for _ in 0..stalled {
            held.push(Box::new(club_tests::stalled_screen(&url).await?));
        }
        let mut tasks = Vec::with_capacity(live);
        for _ in 0..live {
            let (mut ws, _) = tokio_tungstenite::connect_async(&url)
                .await
                .context("a hall screen connecting")?;
            // The snapshot first; only then does the screen count as open.
            ws.next().await.context("snapshot")??;
            let d = deliveries.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(Ok(m)) = ws.next().await {
                    let Message::Text(t) = m else { continue };
                    if let Some(id) = created_session(&t) {
                        let at = now_ns();
                        d.created.lock().unwrap().entry(id).or_default().push(at);
                        d.changed.notify_waiters();
                    } else if t.starts_with(r#"{"type":"snapshot""#) {
                        d.resyncs.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        Ok(Screens {
            deliveries,
            tasks,
            _stalled: held,
        })
    }
}

/// Waits on a hall screen of its own until at most `online` PCs are
/// online: the snapshot says which are, and each event the PCs it changed.
pub async fn until_online_at_most(
    ws_base: &str,
    token: &str,
    online: usize,
    patience: std::time::Duration,
) -> anyhow::Result<()> {
    use club_shared::hall::HallMsg;
    let url = format!("{ws_base}/api/v1/hall/ws?token={token}");
    let watch = async {
        let (mut ws, _) = tokio_tungstenite::connect_async(&url).await?;
        let mut state: HashMap<i64, bool> = HashMap::new();
        let mut count = 0;
        while let Some(m) = ws.next().await {
            let Message::Text(t) = m? else { continue };
            match serde_json::from_str::<HallMsg>(&t)? {
                HallMsg::Snapshot { hall, .. } => {
                    state = hall.devices.iter().map(|d| (d.id, d.online)).collect();
                    count = state.values().filter(|o| **o).count();
                }
                HallMsg::Event { event, .. } => {
                    for d in &event.devices {
                        match state.insert(d.id, d.online) {
                            Some(true) if !d.online => count -= 1,
                            Some(false) | None if d.online => count += 1,
                            _ => {}
                        }
                    }
                }
                HallMsg::Error { message } => anyhow::bail!("the hall feed: {message}"),
            }
            if count <= online {
                return Ok(());
            }
        }
        anyhow::bail!("the hall feed closed")
    };
    tokio::time::timeout(patience, watch)
        .await
        .context("waiting for PCs to go offline")?
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_session_of_a_created_event_only() {
        let created = r#"{"type":"event","seq":7,"event":{"kind":"session_created","devices":[],"session":{"id":42,"status":"active"}}}"#;
        assert_eq!(super::created_session(created), Some(42));
        let ended = created.replace("session_created", "session_ended");
        assert_eq!(super::created_session(&ended), None);
    }
}
