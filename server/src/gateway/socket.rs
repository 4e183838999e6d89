//! One agent's connection: the secret checked before the upgrade, the
//! hello, the welcome and state, then frames both ways until it goes.

use super::frames::{error, handle};
use super::*;
use crate::error::Error;
use crate::service::{AgentDevice, Service};
use crate::state::AppState;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::response::Response;
use club_shared::protocol::{
    AgentMsg, ServerMsg, HEARTBEAT_SECONDS, MAX_FRAME_BYTES, MIN_PROTOCOL_VERSION,
};
use club_shared::views::Metrics;
use futures_util::{SinkExt, StreamExt};
use tokio::time::Instant;

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
    let Some(greeting) = state.gateway.greeting(device.id) else {
        return axum::response::IntoResponse::into_response(Error::Busy(
            "this PC already has connections waiting to say hello; try again".into(),
        ));
    };
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(MAX_FRAME_BYTES * 2)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| {
            let tracker = state.tasks.clone();
            tracker.track_future(serve_agent(state, device, socket, greeting))
        })
}

#[tracing::instrument(skip_all, fields(device.id = device.id))]
async fn serve_agent(state: AppState, device: AgentDevice, socket: WebSocket, greeting: Greeting) {
    let (mut sink, mut stream) = socket.split();
    let service = &state.service;
    let shutdown = state.shutdown.clone();

    // The task of an idle connection is this function's state between
    // frames, held for as long as the agent stays connected; the work done
    // once per connection or per frame is boxed, so that its futures take
    // memory only while they run (5.2 KiB per connection before, unboxed).
    let silent_limit = state.gateway.offline_after;
    let Some((outbox, conn_id, mut ok, _counted)) =
        Box::pin(open(&state, &device, &mut sink, &mut stream)).await
    else {
        // Its place is free before the socket closes.
        drop(greeting);
        return;
    };
    // Said hello and registered: one per PC from here on.
    drop(greeting);

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
            out = outbox.next() => match out {
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
                    Message::Text(t) => Box::pin(handle(service, &device, &t)).await,
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
        if let Err(e) = Box::pin(service.device_presence(device.id, false, None)).await {
            tracing::error!(error = ?e, "recording presence");
        }
    }
    tracing::info!("agent disconnected");
}

/// The hello, then registration and the welcome. `None`: the agent is gone
/// or refused; otherwise its outbox, connection id, and whether the socket
/// is still up.
async fn open(
    state: &AppState,
    device: &AgentDevice,
    sink: &mut Sink,
    stream: &mut Stream,
) -> Option<(Outbox, u64, bool, crate::metrics::Connected)> {
    // Until its hello, a connection waits for nothing else: the server
    // stopping ends the wait too.
    let hello = tokio::select! {
        h = tokio::time::timeout(state.gateway.offline_after, hello(sink, stream)) => h,
        _ = state.shutdown.cancelled() => return None,
    };
    let Ok(Some(Hello {
        version,
        last_applied_seq,
        hardware,
        agent_started_at,
        build,
    })) = hello
    else {
        return None;
    };
    // The club's build for the agent's platform, if it runs another.
    let update = match &build {
        Some(b) => state.service.update_offer(b).await.unwrap_or_else(|e| {
            tracing::error!(error = ?e, "looking up the club's agent build");
            None
        }),
        None => None,
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
                update,
            }))
            .await;
        let _ = sink.close().await;
        return None;
    }
    let outbox = Outbox::default();
    let conn_id = state
        .gateway
        .register(device.id, outbox.clone(), &device.secret_hash);
    // The secret was checked at the upgrade; a re-enrolment (or a disable)
    // may have come between that and this hello, before this connection
    // could be found and closed: look again now that it can be.
    match state.service.device_secret_hash(device.id).await {
        Ok(current) if current.as_deref() == Some(&*device.secret_hash) => {}
        Ok(_) => {
            tracing::info!("the secret was revoked before the hello; closing");
            state.gateway.unregister(device.id, conn_id);
            let _ = sink.close().await;
            return None;
        }
        Err(e) => tracing::error!(error = ?e, "re-reading the device's secret"),
    }
    tracing::info!("agent connected");
    let counted = state.service.metrics.agent_connected(version);
    if let Some(started) = agent_started_at {
        let uptime = hardware.uptime_seconds;
        if let Err(e) = state
            .service
            .agent_started(device.id, started, uptime)
            .await
        {
            tracing::error!(error = ?e, "recording the agent's start");
        }
    }
    if let Some(b) = &build {
        if let Err(e) = state.service.agent_build_seen(device.id, b).await {
            tracing::error!(error = ?e, "recording the agent's build");
        }
    }
    let ok = welcome(
        &state.service,
        device,
        last_applied_seq,
        hardware,
        update,
        sink,
    )
    .await;
    Some((outbox, conn_id, ok, counted))
}

/// What a hello says.
struct Hello {
    version: u32,
    last_applied_seq: u64,
    hardware: Metrics,
    agent_started_at: Option<chrono::DateTime<chrono::Utc>>,
    build: Option<club_shared::protocol::AgentBuild>,
}

type Sink = futures_util::stream::SplitSink<WebSocket, Message>;
type Stream = futures_util::stream::SplitStream<WebSocket>;

/// Waits for the first frame, which must be a hello: the agent's protocol
/// version, the last state it applied, and its hardware.
async fn hello(sink: &mut Sink, stream: &mut Stream) -> Option<Hello> {
    while let Some(Ok(frame)) = stream.next().await {
        match frame {
            Message::Text(t) => match super::frames::parse(&t) {
                Ok(AgentMsg::Hello {
                    protocol_version,
                    last_applied_seq,
                    hardware,
                    agent_started_at,
                    build,
                    ..
                }) => {
                    return Some(Hello {
                        version: protocol_version,
                        last_applied_seq,
                        hardware,
                        agent_started_at,
                        build,
                    })
                }
                Ok(_) => {
                    let _ = sink
                        .send(encode(&error("hello_first", "say hello first", None)))
                        .await;
                }
                Err(e) => {
                    let _ = sink.send(encode(&error("malformed", e, None))).await;
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
}

/// Records the PC online, then sends the welcome and the current state,
/// always: a repeat is a no-op for the agent, and a change made while it
/// was away reaches it now. False if the socket went away.
async fn welcome(
    service: &Service,
    device: &AgentDevice,
    last_applied_seq: u64,
    hardware: Metrics,
    update: Option<club_shared::protocol::UpdateOffer>,
    sink: &mut Sink,
) -> bool {
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
        update,
    };
    if sink.send(encode(&welcome)).await.is_err() {
        return false;
    }
    match service
        .desired_state_for_agent(device.id, last_applied_seq)
        .await
    {
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
    }
}
