//! The agent gateway on /agent/v1/ws. The device secret is checked before
//! the upgrade; then the PC gets its desired state, and a new one after
//! every committed operation that touches it.

use crate::api::AppState;
use crate::error::Error;
use crate::service::{Actor, AgentDevice, DesiredPush, Service};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::response::Response;
use club_shared::protocol::{
    AgentMsg, ServerMsg, HEARTBEAT_SECONDS, MAX_FRAME_BYTES, MIN_PROTOCOL_VERSION,
};
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Per-connection buffers. tungstenite's defaults reserve about 128 KiB per
/// socket; a hall of agents sends small frames.
const READ_BUFFER: usize = 4 * 1024;
const WRITE_BUFFER: usize = 4 * 1024;
/// Messages queued for one agent before it counts as stuck.
const OUTBOX: usize = 32;

/// The connected agents, by device.
#[derive(Clone)]
pub struct Gateway {
    conns: Arc<Mutex<HashMap<i64, Conn>>>,
    next_id: Arc<std::sync::atomic::AtomicU64>,
    /// Silence after which a PC counts as offline and its socket is dropped.
    offline_after: Duration,
}

#[derive(Clone)]
struct Conn {
    id: u64,
    tx: mpsc::Sender<Message>,
}

impl Gateway {
    pub fn new(offline_after: Duration) -> Self {
        Gateway {
            conns: Arc::default(),
            next_id: Arc::default(),
            offline_after,
        }
    }

    fn register(&self, device_id: i64, tx: mpsc::Sender<Message>) -> u64 {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let old = self.lock().insert(device_id, Conn { id, tx });
        // A second connection with the same secret replaces the first:
        // dropping its sender ends its writer.
        drop(old);
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

    fn sender(&self, device_id: i64) -> Option<mpsc::Sender<Message>> {
        self.lock().get(&device_id).map(|c| c.tx.clone())
    }

    fn connected(&self) -> Vec<i64> {
        self.lock().keys().copied().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Conn>> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The device behind the bearer secret of an upgrade request.
pub struct Device(pub AgentDevice);

impl FromRequestParts<AppState> for Device {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let secret = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                Error::Unauthorized("the device secret is required as a bearer token".into())
            })?;
        Ok(Device(
            state.service.authenticate_device(secret.trim()).await?,
        ))
    }
}

pub async fn upgrade(
    State(state): State<AppState>,
    Device(device): Device,
    ws: WebSocketUpgrade,
) -> Response {
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(MAX_FRAME_BYTES * 2)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| {
            let tracker = state.tasks.clone();
            tracker.track_future(serve_agent(state, device, socket))
        })
}

fn encode(msg: &ServerMsg) -> Message {
    Message::Text(Utf8Bytes::from(
        serde_json::to_string(msg).unwrap_or_default(),
    ))
}

fn error(code: &str, message: impl Into<String>, press_id: Option<String>) -> ServerMsg {
    ServerMsg::Error {
        code: code.into(),
        message: message.into(),
        press_id,
    }
}

#[tracing::instrument(skip_all, fields(device.id = device.id))]
async fn serve_agent(state: AppState, device: AgentDevice, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let service = &state.service;
    let shutdown = state.shutdown.clone();

    // The first frame must be a hello with a protocol we speak.
    let silent_limit = state.gateway.offline_after;
    let hello = tokio::time::timeout(silent_limit, async {
        while let Some(Ok(frame)) = stream.next().await {
            match frame {
                Message::Text(t) => match serde_json::from_str::<AgentMsg>(&t) {
                    Ok(AgentMsg::Hello {
                        protocol_version,
                        hardware,
                        ..
                    }) => return Some((protocol_version, hardware)),
                    Ok(_) => {
                        let _ = sink
                            .send(encode(&error("hello_first", "say hello first", None)))
                            .await;
                    }
                    Err(e) => {
                        let _ = sink
                            .send(encode(&error(
                                "malformed",
                                format!("not a message: {e}"),
                                None,
                            )))
                            .await;
                    }
                },
                Message::Close(_) => return None,
                Message::Binary(_) => {
                    let _ = sink
                        .send(encode(&error("malformed", "text frames only", None)))
                        .await;
                }
                _ => {}
            }
        }
        None
    })
    .await;
    let Ok(Some((version, hardware))) = hello else {
        return;
    };
    if version < MIN_PROTOCOL_VERSION {
        let reason = format!(
            "agent protocol {version} is too old; this server needs {MIN_PROTOCOL_VERSION} or newer: update club-agent"
        );
        tracing::warn!(%reason, "agent refused");
        let _ = sink
            .send(encode(&ServerMsg::Refused {
                reason,
                retry: false,
            }))
            .await;
        let _ = sink.close().await;
        return;
    }

    // Encoded frames, not messages: the channel's first block (32 slots) is
    // allocated per connection, and a frame is a fraction of a message's size.
    let (tx, mut outbox) = mpsc::channel::<Message>(OUTBOX);
    let conn_id = state.gateway.register(device.id, tx);
    tracing::info!("agent connected");
    if let Err(e) = service
        .device_presence(device.id, true, Some(hardware))
        .await
    {
        tracing::error!(error = ?e, "recording presence");
    }
    let welcome = ServerMsg::Welcome {
        device_id: device.id,
        device_name: device.name.clone(),
        server_time: service.now(),
        heartbeat_seconds: HEARTBEAT_SECONDS,
    };
    let mut ok = sink.send(encode(&welcome)).await.is_ok();
    // The current state, always: a repeat is a no-op for the agent, and a
    // change made while it was away reaches it now.
    if ok {
        ok = match service.current_desired_state(device.id).await {
            Ok((seq, desired)) => sink
                .send(encode(&ServerMsg::State {
                    seq,
                    server_time: service.now(),
                    desired,
                }))
                .await
                .is_ok(),
            Err(e) => {
                tracing::error!(error = ?e, "computing desired state");
                false
            }
        };
    }

    let mut last_heard = Instant::now();
    while ok {
        tokio::select! {
            _ = shutdown.cancelled() => {
                let frame = CloseFrame { code: 1001, reason: Utf8Bytes::from_static("server shutting down") };
                let _ = sink.send(Message::Close(Some(frame))).await;
                break;
            }
            _ = tokio::time::sleep_until(last_heard + silent_limit) => {
                tracing::info!(seconds = silent_limit.as_secs(), "agent silent: offline");
                let _ = sink.send(Message::Close(None)).await;
                break;
            }
            out = outbox.recv() => match out {
                Some(frame) => ok = sink.send(frame).await.is_ok(),
                // Replaced by a newer connection of the same PC.
                None => break,
            },
            frame = stream.next() => {
                let Some(Ok(frame)) = frame else {
                    // Closed, reset, or refused (e.g. a frame over the size limit).
                    break;
                };
                last_heard = Instant::now();
                let reply = match frame {
                    Message::Text(t) => handle(service, &device, &t).await,
                    Message::Binary(_) => Some(error("malformed", "text frames only", None)),
                    Message::Close(_) => break,
                    _ => None,
                };
                if let Some(reply) = reply {
                    ok = sink.send(encode(&reply)).await.is_ok();
                }
            }
        }
    }
    if state.gateway.unregister(device.id, conn_id) {
        if let Err(e) = service.device_presence(device.id, false, None).await {
            tracing::error!(error = ?e, "recording presence");
        }
    }
    tracing::info!("agent disconnected");
}

/// One text frame from an agent; answers the reply, if any.
async fn handle(service: &Service, device: &AgentDevice, text: &str) -> Option<ServerMsg> {
    let msg = match serde_json::from_str::<AgentMsg>(text) {
        Ok(m) => m,
        Err(e) => return Some(error("malformed", format!("not a message: {e}"), None)),
    };
    match msg {
        AgentMsg::Hello { .. } => {
            Some(error("already_greeted", "hello was already received", None))
        }
        AgentMsg::Ack { seq } => {
            tracing::debug!(seq, "agent applied state");
            None
        }
        AgentMsg::Heartbeat { metrics } => {
            if let Err(e) = service
                .device_presence(device.id, true, Some(metrics))
                .await
            {
                tracing::error!(error = ?e, "recording heartbeat");
            }
            Some(ServerMsg::HeartbeatAck {
                server_time: service.now(),
            })
        }
        AgentMsg::StartPressed {
            session_id,
            press_id,
        } => {
            if press_id.is_empty() || press_id.len() > 100 {
                return Some(error(
                    "bad_request",
                    "press_id: must be 1 to 100 characters",
                    Some(press_id),
                ));
            }
            let actor = Actor::Agent {
                device_id: device.id,
            };
            match service
                .start_session(&actor, session_id, Some(&press_id))
                .await
            {
                // The unlock follows as a state push from the session event.
                Ok(_) => None,
                Err(e) => Some(error(e.code(), e.to_string(), Some(press_id))),
            }
        }
    }
}

/// Sends each new desired state to its PC, if connected. The operation that
/// changed it has stored it already, so this is a send, not a write.
pub async fn push_states(service: Service, gateway: Gateway, shutdown: CancellationToken) {
    let mut pushes = service.desired_pushes();
    loop {
        let batch = tokio::select! {
            _ = shutdown.cancelled() => return,
            p = pushes.recv() => match p {
                Ok(p) => vec![p],
                // Missed pushes: bring every connected PC up to date.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    current_states(&service, gateway.connected()).await
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
        };
        for DesiredPush {
            device_id,
            seq,
            desired,
        } in batch
        {
            // A PC that is away gets its current state when it connects.
            if let Some(tx) = gateway.sender(device_id) {
                let msg = ServerMsg::State {
                    seq,
                    server_time: service.now(),
                    desired,
                };
                // A full outbox means a stuck agent: it gets the current
                // state when it reconnects.
                let _ = tx.try_send(encode(&msg));
            }
        }
    }
}

async fn current_states(service: &Service, devices: Vec<i64>) -> Vec<DesiredPush> {
    let mut out = Vec::with_capacity(devices.len());
    for device_id in devices {
        match service.current_desired_state(device_id).await {
            Ok((seq, desired)) => out.push(DesiredPush {
                device_id,
                seq,
                desired,
            }),
            Err(e) => tracing::error!(device.id = device_id, error = ?e, "desired state"),
        }
    }
    out
}
