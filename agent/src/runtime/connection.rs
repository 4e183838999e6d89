//! The one WebSocket to the server: connect (TLS pinned), hello, then
//! states, commands and heartbeats until it drops; reconnect with backoff.

use super::*;
use crate::metrics::Sampler;
use anyhow::Context;
use club_shared::protocol::{AgentMsg, ServerMsg, HEARTBEAT_SECONDS, MAX_FRAME_BYTES};
use club_shared::SessionStatus;
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

pub(super) fn ws_url(server: &str) -> anyhow::Result<String> {
    let base = server.trim_end_matches('/');
    let rest = base
        .strip_prefix("http://")
        .map(|r| format!("ws://{r}"))
        .or_else(|| base.strip_prefix("https://").map(|r| format!("wss://{r}")))
        .with_context(|| format!("the server URL must start with http:// or https://: {server}"))?;
    Ok(format!("{rest}/agent/v1/ws"))
}

pub(super) enum Ended {
    /// Try again after a delay; `healthy` resets the backoff.
    Retry {
        healthy: bool,
    },
    /// The server refused this agent for good.
    Refused,
    Shutdown,
}

/// Where and how the agent reaches the server.
pub(super) struct Link {
    /// The servers it may connect to, tried in turn: one, or several on
    /// one database.
    pub(super) servers: Vec<Endpoint>,
    pub(super) secret: String,
    /// The pinned certificate of a wss:// server.
    pub(super) pin: Option<String>,
}

/// One server the agent may connect to.
pub(super) struct Endpoint {
    /// Its base URL (http:// or https://).
    pub(super) server: String,
    /// Its agents' WebSocket.
    pub(super) url: String,
}

impl Endpoint {
    pub(super) fn new(server: &str) -> anyhow::Result<Endpoint> {
        Ok(Endpoint {
            server: server.to_owned(),
            url: ws_url(server)?,
        })
    }
}

pub(super) async fn connection_loop(
    handle: AgentHandle,
    link: Link,
    mut presses: mpsc::Receiver<Press>,
    shutdown: CancellationToken,
) {
    let mut backoff = handle.opts.backoff.clone();
    let mut sampler = Sampler::new();
    let mut at = 0;
    loop {
        let endpoint = &link.servers[at % link.servers.len()];
        let ended = connect_once(
            &handle,
            &link,
            endpoint,
            &mut presses,
            &mut sampler,
            &shutdown,
        )
        .await;
        handle.set_connected(false);
        match ended {
            Ended::Shutdown => return,
            Ended::Refused => {
                tracing::error!("the server refused this agent; not reconnecting");
                // Keep answering the lock screen's presses, with the reason.
                loop {
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        p = presses.recv() => match p {
                            Some(p) => { let _ = p.reply.send(Err("this agent is refused by the server".into())); }
                            None => return,
                        },
                    }
                }
            }
            Ended::Retry { healthy } => {
                if healthy {
                    backoff.reset();
                }
                // The next server, if there are several: the one that
                // went away may be down for good.
                at += 1;
                let delay = backoff.next_delay(rand::random::<f64>());
                tracing::info!(
                    delay_ms = delay.as_millis() as u64,
                    "reconnecting after a pause"
                );
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

/// What the agent says when the server refuses its key.
pub const KEY_REVOKED: &str =
    "this PC's key was revoked; enroll it again (club-agent enroll --server URL --code CODE)";

/// Whether the server answered the WebSocket upgrade with 401: it refused
/// the key itself, not the connection.
fn key_refused(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<tokio_tungstenite::tungstenite::Error>(),
        Some(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == 401
    )
}

pub(super) fn send_json(msg: &AgentMsg) -> Message {
    Message::text(serde_json::to_string(msg).unwrap_or_default())
}

pub(super) async fn connect_once(
    handle: &AgentHandle,
    link: &Link,
    endpoint: &Endpoint,
    presses: &mut mpsc::Receiver<Press>,
    sampler: &mut Sampler,
    shutdown: &CancellationToken,
) -> Ended {
    let (url, secret) = (endpoint.url.as_str(), link.secret.as_str());
    let mut request = match url.into_client_request() {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "bad server URL");
            return Ended::Retry { healthy: false };
        }
    };
    if let Ok(v) = format!("Bearer {secret}").parse() {
        request.headers_mut().insert("authorization", v);
    }
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_write_buffer_size(MAX_FRAME_BYTES * 2)
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES));
    handle
        .attempts
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let connect = async {
        let t = crate::http::target(url)?;
        let stream = crate::http::connect(&t.host, t.port, t.tls, link.pin.as_deref()).await?;
        let (ws, _) =
            tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await?;
        anyhow::Ok(ws)
    };
    let ws = tokio::select! {
        _ = shutdown.cancelled() => return Ended::Shutdown,
        r = tokio::time::timeout(Duration::from_secs(15), connect) => r,
    };
    let mut ws = match ws {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) if key_refused(&e) => {
            // The server does not know this PC's key (revoked by a new
            // enrollment or by disabling the PC): asking again with the same
            // key cannot help. Say so, on the lock screen too, and stop.
            tracing::error!("{KEY_REVOKED}");
            handle.lock_local().refused = Some(KEY_REVOKED.into());
            handle.changed();
            return Ended::Refused;
        }
        Ok(Err(e)) => {
            tracing::warn!(error = format!("{e:#}"), "cannot reach the server");
            return Ended::Retry { healthy: false };
        }
        Err(_) => {
            tracing::warn!("connecting timed out");
            return Ended::Retry { healthy: false };
        }
    };
    let (last_applied_seq, locked) = {
        let s = handle.status();
        (s.applied_seq, s.locked)
    };
    let hello = AgentMsg::Hello {
        protocol_version: handle.opts.protocol_version,
        agent_version: env!("CARGO_PKG_VERSION").into(),
        last_applied_seq,
        locked,
        hardware: sampler.sample(handle.problems()),
        agent_started_at: Some(handle.started_at),
        build: handle.build(),
    };
    if ws.send(send_json(&hello)).await.is_err() {
        return Ended::Retry { healthy: false };
    }

    let mut welcomed = false;
    let mut reported = handle.problems();
    let mut changes = handle.subscribe();
    let mut pending: HashMap<String, (i64, oneshot::Sender<Result<(), String>>)> = HashMap::new();
    let mut heartbeat = tokio::time::interval(Duration::from_secs(HEARTBEAT_SECONDS));
    heartbeat.tick().await;
    // A server that says nothing for this long is gone: drop the link.
    let silence = Duration::from_secs(HEARTBEAT_SECONDS * 3);
    let mut last_heard = tokio::time::Instant::now();
    // Commands from the desk run off the loop (a reboot command may take a
    // while); their answers come back here.
    let (answers, mut answered) = mpsc::channel::<AgentMsg>(8);
    loop {
        tokio::select! {
            Some(answer) = answered.recv() => {
                if ws.send(send_json(&answer)).await.is_err() {
                    return Ended::Retry { healthy: welcomed };
                }
            }
            _ = shutdown.cancelled() => {
                let _ = ws.close(None).await;
                return Ended::Shutdown;
            }
            _ = tokio::time::sleep_until(last_heard + silence) => {
                tracing::warn!("the server went silent");
                return Ended::Retry { healthy: welcomed };
            }
            _ = heartbeat.tick() => {
                reported = handle.problems();
                let beat = AgentMsg::Heartbeat { metrics: sampler.sample(reported.clone()) };
                if ws.send(send_json(&beat)).await.is_err() {
                    return Ended::Retry { healthy: welcomed };
                }
            }
            // A problem came or went: tell the hall now, not at the next beat.
            _ = changes.changed() => {
                let now = handle.problems();
                if now != reported {
                    reported = now;
                    let beat = AgentMsg::Heartbeat { metrics: sampler.sample(reported.clone()) };
                    if ws.send(send_json(&beat)).await.is_err() {
                        return Ended::Retry { healthy: welcomed };
                    }
                }
            }
            press = presses.recv() => {
                let Some(p) = press else { return Ended::Shutdown };
                let msg = AgentMsg::StartPressed { session_id: p.session_id, press_id: p.press_id.clone() };
                if ws.send(send_json(&msg)).await.is_err() {
                    let _ = p.reply.send(Err("the connection to the server dropped".into()));
                    return Ended::Retry { healthy: welcomed };
                }
                pending.insert(p.press_id, (p.session_id, p.reply));
            }
            frame = ws.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ended::Retry { healthy: welcomed },
                    Some(Ok(_)) => continue,
                };
                last_heard = tokio::time::Instant::now();
                let msg = match serde_json::from_str::<ServerMsg>(&text) {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::warn!(error = %e, "unreadable message from the server");
                        continue;
                    }
                };
                match msg {
                    ServerMsg::Welcome { device_name, server_time, update, .. } => {
                        welcomed = true;
                        handle.set_offset(server_time);
                        handle.lock_local().device_name = Some(device_name);
                        handle.set_connected(true);
                        tracing::info!("connected to the club server");
                        if let Some(offer) = update {
                            handle.offer_update(offer, &endpoint.server, &link.secret, link.pin.as_deref());
                        }
                    }
                    ServerMsg::Refused { reason, retry, update } => {
                        tracing::error!(%reason, "refused by the server");
                        handle.lock_local().refused = Some(reason);
                        handle.changed();
                        if let Some(offer) = update {
                            // Too old to be served, but a build that can be
                            // is offered: fetch it, and wait for the restart.
                            if handle.offer_update(offer, &endpoint.server, &link.secret, link.pin.as_deref()) {
                                return Ended::Refused;
                            }
                        }
                        if !retry {
                            return Ended::Refused;
                        }
                        return Ended::Retry { healthy: false };
                    }
                    ServerMsg::State { seq, server_time, desired } => {
                        handle.set_offset(server_time);
                        let started = desired.session.as_ref().filter(|s| s.status == SessionStatus::Started).map(|s| s.id);
                        handle.apply(seq, desired).await;
                        if ws.send(send_json(&AgentMsg::Ack { seq })).await.is_err() {
                            return Ended::Retry { healthy: welcomed };
                        }
                        if let Some(id) = started {
                            let done: Vec<String> = pending.iter().filter(|(_, (s, _))| *s == id).map(|(k, _)| k.clone()).collect();
                            for k in done {
                                if let Some((_, reply)) = pending.remove(&k) {
                                    let _ = reply.send(Ok(()));
                                }
                            }
                        }
                    }
                    ServerMsg::HeartbeatAck { server_time } => handle.set_offset(server_time),
                    ServerMsg::Notice { text } => tracing::info!(%text, "notice from the server"),
                    ServerMsg::Command { id, kind, text } => {
                        let (handle, answers) = (handle.clone(), answers.clone());
                        tokio::spawn(async move {
                            let answer = handle.carry_out(id, kind, text).await;
                            let _ = answers.send(answer).await;
                        });
                    }
                    ServerMsg::Error { code, message, press_id } => {
                        tracing::warn!(%code, %message, "the server refused a message");
                        if let Some((_, reply)) = press_id.and_then(|p| pending.remove(&p)) {
                            let _ = reply.send(Err(message));
                        }
                    }
                }
            }
        }
    }
}
