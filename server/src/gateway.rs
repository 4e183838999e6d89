//! The agent gateway on /agent/v1/ws. The device secret is checked before
//! the upgrade; then the PC gets its desired state, and a new one after
//! every committed operation that touches it.

use crate::error::Error;
use crate::service::{Actor, AgentDevice, DesiredPush, Service};
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
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

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
async fn serve_agent(state: AppState, device: AgentDevice, socket: WebSocket, greeting: Greeting) {
    let (mut sink, mut stream) = socket.split();
    let service = &state.service;
    let shutdown = state.shutdown.clone();

    // The task of an idle connection is this function's state between
    // frames, held for as long as the agent stays connected; the work done
    // once per connection or per frame is boxed, so that its futures take
    // memory only while they run (5.2 KiB per connection before, unboxed).
    let silent_limit = state.gateway.offline_after;
    let Some((outbox, conn_id, mut ok)) =
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
) -> Option<(Outbox, u64, bool)> {
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
    Some((outbox, conn_id, ok))
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
            Message::Text(t) => match serde_json::from_str::<AgentMsg>(&t) {
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
        AgentMsg::CommandDone { id, ok, error } => {
            match service.command_done(device.id, id, ok, error).await {
                Ok(true) => None,
                Ok(false) => Some(self::error(
                    "unknown_command",
                    format!("no command {id} is waiting for this PC's answer"),
                    None,
                )),
                Err(e) => {
                    tracing::error!(error = ?e, "recording a command's answer");
                    None
                }
            }
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
                // The unlock follows as the desired-state push the start
                // stored in its transaction.
                Ok(_) => None,
                Err(e) => Some(error(e.code(), e.to_string(), Some(press_id))),
            }
        }
    }
}

/// Closes the connection of a PC enrolled again: its old secret no longer
/// opens a connection, and one already open closes at once.
pub async fn close_revoked(service: Service, gateway: Gateway, shutdown: CancellationToken) {
    let mut bus = service.bus.subscribe();
    loop {
        let e = tokio::select! {
            _ = shutdown.cancelled() => return,
            e = bus.recv() => e,
        };
        let device_ids: Vec<i64> = match e {
            Ok(club_shared::Event::DeviceRevoked { device_id }) => vec![device_id],
            Ok(_) => continue,
            // Missed some: check every connected PC.
            Err(broadcast::error::RecvError::Lagged(_)) => gateway.connected(),
            Err(broadcast::error::RecvError::Closed) => return,
        };
        for device_id in device_ids {
            match service.device_secret_hash(device_id).await {
                Ok(current) => gateway.close_if_revoked(device_id, current.as_deref()),
                Err(e) => tracing::error!(error = ?e, "reading a device's secret"),
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
            if let Some(outbox) = gateway.outbox(device_id) {
                outbox.put(encode(&ServerMsg::State {
                    seq,
                    server_time: service.now(),
                    desired,
                }));
            }
        }
    }
}

/// Hands the desk's commands to the PCs' connections, in order; a command
/// for a PC that is not connected is answered as undelivered.
pub async fn push_commands(service: Service, gateway: Gateway, shutdown: CancellationToken) {
    let mut pushes = service.command_pushes();
    loop {
        let push = tokio::select! {
            _ = shutdown.cancelled() => return,
            p = pushes.recv() => match p {
                Ok(p) => p,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "commands missed");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
        };
        let frame = encode(&ServerMsg::Command {
            id: push.id,
            kind: push.kind,
            text: push.text,
        });
        let sent = gateway
            .outbox(push.device_id)
            .is_some_and(|o| o.put_command(frame));
        if !sent {
            if let Err(e) = service.command_undelivered(push.device_id, push.id).await {
                tracing::error!(error = ?e, "recording an undelivered command");
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
