//! One operator screen: the sign-in checked at the upgrade, a snapshot,
//! then its queue of events in bursts, a fresh snapshot when it fell
//! behind, and the close when its sign-in ends.

use super::*;
use crate::error::Error;
use crate::service::{Actor, Service};
use crate::state::{AppState, Staff};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use club_shared::hall::{HallMsg, ScreenMsg};
use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Notify};

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
                serve_screen(state, socket, ctx.token_hash, ctx.expires_at, ctx.club_id).await;
                drop(slot);
            })
        })
}

/// The hall of `club` (None: every club) for a screen, numbered in that
/// feed.
async fn snapshot(service: &Service, feed: &HallFeed, club: Option<i64>) -> Option<(u64, Message)> {
    let mut kept = feed.snapshots.lock().await;
    // Read the number first: anything numbered after it is sent after the
    // snapshot, and events are full views, so a repeat is harmless. For the
    // same reason a snapshot read at this number serves again.
    let seq = feed.seq_of(club);
    if let Some((kept_seq, at, json)) = kept.get(&club) {
        let age = service.now().signed_duration_since(*at).num_milliseconds();
        if *kept_seq == seq && (0..SNAPSHOT_REUSE_MS).contains(&age) {
            return Some((seq, Message::Text(json.clone())));
        }
    }
    let hall = match service.hall_of(club).await {
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
    kept.insert(club, (seq, at, json.clone()));
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
    club: Option<i64>,
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
            club,
            tx,
            resync: resync.clone(),
            wake: wake.clone(),
            token_hash: token_hash.clone(),
            signed_out: signed_out.clone(),
        },
    );
    let _counted = state.service.metrics.screen_connected();
    let mut expiry = tokio::time::interval(EXPIRY_CHECK);
    expiry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    let (mut sink, mut stream) = socket.split();
    let limit = feed.send_timeout;
    let mut sent = 0;
    let mut ok = match snapshot(&state.service, &feed, club).await {
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
            state.service.metrics.hall_resyncs.inc();
            // Behind or asked: drop the backlog, start again from now.
            while queue.try_recv().is_ok() {}
            match snapshot(&state.service, &feed, club).await {
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
