//! The daemon: Connecting -> Connected -> Backoff(delay) -> Connecting...
//! It starts locked and unlocks only when the server says so. States apply
//! in sequence order; a repeat changes nothing. Offline, it locks by itself
//! when the paid time runs out, and never unlocks by itself.
//!
//! `handle`: the agent's state and what changes it; `hooks`: the lock
//! and unlock commands; `connection`: the one WebSocket to the server.

mod connection;
pub use connection::KEY_REVOKED;
mod handle;
mod hooks;

use connection::{connection_loop, Link};
use hooks::hook_loop;
pub(crate) use hooks::run_command;

use crate::backoff::Backoff;
use crate::state::{Applied, StateDir};
use crate::ui;
use anyhow::Context;
use chrono::{DateTime, Utc};
use club_shared::protocol::PROTOCOL_VERSION;
use club_shared::SessionStatus;
use serde::Serialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

/// Where the agent reads "now" (server time = now + measured offset).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

#[derive(Clone)]
pub struct AgentOptions {
    pub state_dir: StateDir,
    pub ui_listen: SocketAddr,
    pub lock_cmd: Option<String>,
    pub unlock_cmd: Option<String>,
    pub clock: Clock,
    /// Announced in hello; only tests set an old one.
    pub protocol_version: u32,
    pub backoff: Backoff,
    /// How often the offline failsafe looks at the time.
    pub failsafe_tick: Duration,
    /// The lock screen binary to start and keep running (`club-lock`);
    /// `None` runs no lock screen of its own (one may still connect).
    pub lock_screen: Option<PathBuf>,
    /// The X display the lock screen opens (its DISPLAY); inherited when
    /// `None`. Tests give each agent a display of its own.
    pub lock_screen_display: Option<String>,
    /// Where lock screens connect: a Unix socket, or a named pipe on
    /// Windows. `None` (agents inside the demo server) opens none.
    pub lock_channel: Option<PathBuf>,
    /// A lock or unlock command still running after this is killed and
    /// counts as failed.
    pub hook_timeout: Duration,
    /// Run (through the shell) when the desk reboots or shuts down the PC.
    pub reboot_cmd: String,
    pub shutdown_cmd: String,
    /// How long a message from the desk stays on the PC.
    pub message_for: Duration,
    /// Unix: the account (besides the daemon's own and root) whose lock
    /// screen may use the lock channel: the player's, when the daemon runs
    /// as a system service and club-lock in the player's session.
    pub lock_screen_uid: Option<u32>,
    /// Windows service: the lock screen is started in the active console
    /// session, as the signed-in player, not in the service's own session
    /// (where no window can be seen).
    pub lock_screen_in_console_session: bool,
    /// When the lock screen is another service's (club-lock's systemd user
    /// unit, with `lock_screen` `None`) and none is connected for
    /// `lock_screen_grace`: run (through the shell) to start it again, e.g.
    /// `systemctl --user --machine=player@ start club-lock.service`. Tried
    /// again every five graces until one connects; reported to the hall
    /// from the second try on.
    pub lock_screen_restart_cmd: Option<String>,
    pub lock_screen_grace: Duration,
    /// Told when a player signs in or the console changes hands: the lock
    /// screen is started again, in the session now on the screen.
    pub session_changed: Arc<tokio::sync::Notify>,
    /// Updating itself to the club's build (`None`: never).
    pub self_update: Option<crate::update::SelfUpdate>,
}

/// The operating system's own reboot and shutdown commands.
#[cfg(windows)]
pub const DEFAULT_REBOOT_CMD: &str = "shutdown /r /t 0";
#[cfg(windows)]
pub const DEFAULT_SHUTDOWN_CMD: &str = "shutdown /s /t 0";
#[cfg(not(windows))]
pub const DEFAULT_REBOOT_CMD: &str = "shutdown -r now";
#[cfg(not(windows))]
pub const DEFAULT_SHUTDOWN_CMD: &str = "shutdown -h now";

impl AgentOptions {
    pub fn new(state_dir: StateDir, ui_listen: SocketAddr) -> Self {
        AgentOptions {
            ui_listen,
            lock_cmd: None,
            unlock_cmd: None,
            clock: Arc::new(Utc::now),
            protocol_version: PROTOCOL_VERSION,
            backoff: Backoff::standard(),
            failsafe_tick: Duration::from_secs(1),
            lock_screen: None,
            lock_screen_display: None,
            lock_channel: Some(default_lock_channel(&state_dir)),
            hook_timeout: Duration::from_secs(30),
            reboot_cmd: DEFAULT_REBOOT_CMD.into(),
            shutdown_cmd: DEFAULT_SHUTDOWN_CMD.into(),
            message_for: Duration::from_secs(60),
            lock_screen_uid: None,
            lock_screen_restart_cmd: None,
            lock_screen_grace: Duration::from_secs(3),
            lock_screen_in_console_session: false,
            session_changed: Arc::default(),
            self_update: None,
            state_dir,
        }
    }
}

#[cfg(unix)]
fn default_lock_channel(dir: &StateDir) -> PathBuf {
    dir.dir.join("lock.sock")
}

#[cfg(windows)]
fn default_lock_channel(_dir: &StateDir) -> PathBuf {
    PathBuf::from(r"\\.\pipe\clubhall-lock")
}

/// `club-agent status`, and the lock screen's view of the agent.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct LocalStatus {
    pub connected: bool,
    /// Locked, and the lock command (if any) did not fail: a failed lock
    /// command is never reported as locked.
    pub locked: bool,
    pub session: Option<StatusSession>,
    pub seconds_left: Option<i64>,
    pub applied_seq: u64,
    pub warnings: Vec<String>,
    /// Why the server will not serve this agent, if it said so.
    pub refused: Option<String>,
    pub device_name: Option<String>,
    /// The last lock or unlock command's result.
    #[serde(default)]
    pub lock_hook: Option<HookOutcome>,
    /// A lock or unlock command is still to run or running.
    #[serde(default)]
    pub hook_pending: bool,
    /// What is wrong with the lock screen, when it keeps failing to start.
    #[serde(default)]
    pub lock_screen_problem: Option<String>,
    /// A message from the desk on show now.
    #[serde(default)]
    pub message: Option<String>,
}

/// How a lock (`locked: true`) or unlock command ended.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct HookOutcome {
    pub locked: bool,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct StatusSession {
    pub id: i64,
    pub client_name: String,
    pub status: SessionStatus,
    pub tariff_name: String,
    pub ends_at: Option<DateTime<Utc>>,
}

struct Local {
    connected: bool,
    locked: bool,
    applied: Applied,
    /// Server time minus local time, in milliseconds.
    offset_ms: i64,
    refused: Option<String>,
    device_name: Option<String>,
    /// Lock-state changes asked of the hook runner, and the last it finished.
    hook_asked: u64,
    hook_done: u64,
    hook: Option<HookOutcome>,
    lock_screen_problem: Option<String>,
    /// The desk's message on show, and which command sent it.
    message: Option<(String, i64)>,
}

pub(crate) struct Press {
    pub session_id: i64,
    pub press_id: String,
    pub reply: oneshot::Sender<Result<(), String>>,
}

/// A running agent, shared by its tasks and its lock screen.
#[derive(Clone)]
pub struct AgentHandle {
    local: Arc<Mutex<Local>>,
    pub(crate) opts: Arc<AgentOptions>,
    presses: mpsc::Sender<Press>,
    /// Bumped on every change, for whoever waits on one.
    changes: Arc<watch::Sender<u64>>,
    ui_addr: SocketAddr,
    attempts: Arc<std::sync::atomic::AtomicU64>,
    /// (change number, locked) for the hook runner.
    hooks: Arc<watch::Sender<(u64, bool)>>,
    /// When this agent started, told to the server in every hello.
    started_at: DateTime<Utc>,
    /// How many lock screens are connected to the lock channel now.
    lock_screens: Arc<watch::Sender<usize>>,
    /// This build, and updates to another.
    pub(crate) update: Arc<crate::update::UpdateState>,
    /// The agent's stop, for tasks it starts later.
    pub(crate) shutdown: CancellationToken,
}

/// One connected lock screen, counted while it lives.
pub(crate) struct LockScreenConnected(Arc<watch::Sender<usize>>);

impl Drop for LockScreenConnected {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

fn press_id() -> String {
    format!(
        "{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    )
}

/// Starts the agent: locks the PC, opens the lock screen, and keeps the
/// connection to the server until `shutdown`. Answers a handle at once.
pub async fn run(
    opts: AgentOptions,
    shutdown: CancellationToken,
) -> anyhow::Result<(AgentHandle, tokio::task::JoinHandle<()>)> {
    let (enrollment, secret) = opts.state_dir.load_enrollment()?;
    let applied = opts.state_dir.load_applied();
    let listener = tokio::net::TcpListener::bind(opts.ui_listen)
        .await
        .with_context(|| format!("opening the lock screen on {}", opts.ui_listen))?;
    let ui_addr = listener.local_addr()?;
    opts.state_dir.save_ui_addr(ui_addr)?;

    let (update, probation) = match &opts.self_update {
        Some(su) => crate::update::prepare(su, &opts.state_dir.dir).await,
        None => Default::default(),
    };
    let (presses, press_rx) = mpsc::channel(8);
    let (hooks, hooks_rx) = watch::channel((0, false));
    // On the agent's clock (the test's manual one in tests).
    let started_at = (opts.clock)();
    let handle = AgentHandle {
        local: Arc::new(Mutex::new(Local {
            connected: false,
            // Unlocked only on the server's word; the first set_locked(true)
            // below runs the lock command whatever state the PC was left in.
            locked: false,
            applied,
            offset_ms: 0,
            refused: None,
            device_name: None,
            hook_asked: 0,
            hook_done: 0,
            hook: None,
            lock_screen_problem: None,
            message: None,
        })),
        opts: Arc::new(opts),
        presses,
        changes: Arc::new(watch::Sender::new(0)),
        ui_addr,
        attempts: Arc::default(),
        hooks: Arc::new(hooks),
        started_at,
        lock_screens: Arc::new(watch::Sender::new(0)),
        update: Arc::new(update),
        shutdown: shutdown.clone(),
    };
    handle.set_locked(true, "agent start");
    tracing::info!(%ui_addr, "lock screen page ready");
    let channel = match handle.opts.lock_channel.clone() {
        Some(path) => Some(
            crate::lockchan::serve(
                path,
                handle.opts.lock_screen_uid,
                handle.clone(),
                shutdown.clone(),
            )
            .await?,
        ),
        None => None,
    };

    let servers = enrollment
        .servers()
        .map(connection::Endpoint::new)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let tasks = tokio_util::task::TaskTracker::new();
    tasks.spawn(ui::serve(listener, handle.clone(), shutdown.clone()));
    tasks.spawn(failsafe_loop(handle.clone(), shutdown.clone()));
    tasks.spawn(hook_loop(handle.clone(), hooks_rx, shutdown.clone()));
    if let Some(channel) = channel {
        tasks.spawn(async move {
            let _ = channel.await;
        });
    }
    if let (Some(exe), Some(path)) = (
        handle.opts.lock_screen.clone(),
        handle.opts.lock_channel.clone(),
    ) {
        tasks.spawn(crate::supervise::lock_screen(
            exe,
            path,
            handle.clone(),
            shutdown.clone(),
        ));
    }
    if let (None, Some(_), Some(cmd)) = (
        &handle.opts.lock_screen,
        &handle.opts.lock_channel,
        handle.opts.lock_screen_restart_cmd.clone(),
    ) {
        tasks.spawn(crate::supervise::external_lock_screen(
            cmd,
            handle.clone(),
            shutdown.clone(),
        ));
    }
    if let (Some(su), Some(marker)) = (handle.opts.self_update.clone(), probation) {
        tasks.spawn(crate::update::probation(
            handle.clone(),
            su,
            marker,
            shutdown.clone(),
        ));
    }
    tasks.spawn(connection_loop(
        handle.clone(),
        Link {
            servers,
            secret,
            pin: enrollment.server_cert_sha256.clone(),
        },
        press_rx,
        shutdown,
    ));
    tasks.close();
    let joined = tokio::spawn(async move { tasks.wait().await });
    Ok((handle, joined))
}

async fn failsafe_loop(handle: AgentHandle, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(handle.opts.failsafe_tick);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => handle.failsafe().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::connection::ws_url;

    #[test]
    fn the_websocket_url_follows_the_server_url() {
        assert_eq!(
            ws_url("http://10.0.0.2:8080").unwrap(),
            "ws://10.0.0.2:8080/agent/v1/ws"
        );
        assert_eq!(ws_url("http://club/").unwrap(), "ws://club/agent/v1/ws");
        assert!(ws_url("ftp://x").is_err());
    }
}
