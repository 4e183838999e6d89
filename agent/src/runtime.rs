//! The daemon: Connecting -> Connected -> Backoff(delay) -> Connecting...
//! It starts locked and unlocks only when the server says so. States apply
//! in sequence order; a repeat changes nothing. Offline, it locks by itself
//! when the paid time runs out, and never unlocks by itself.

use crate::backoff::Backoff;
use crate::metrics::Sampler;
use crate::state::{Applied, StateDir};
use crate::ui;
use anyhow::Context;
use chrono::{DateTime, Utc};
use club_shared::lock::LockView;
use club_shared::protocol::{
    AgentMsg, DesiredState, ServerMsg, HEARTBEAT_SECONDS, MAX_FRAME_BYTES, PROTOCOL_VERSION,
};
use club_shared::{CommandKind, SessionStatus};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
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

impl AgentHandle {
    fn lock_local(&self) -> std::sync::MutexGuard<'_, Local> {
        self.local.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn server_now(&self) -> DateTime<Utc> {
        let offset = self.lock_local().offset_ms;
        (self.opts.clock)() + chrono::Duration::milliseconds(offset)
    }

    /// A player signed in, or another session took the console: the lock
    /// screen is started again in the session now on the screen. The
    /// Windows service says so on every logon and console change.
    pub fn session_changed(&self) {
        self.opts.session_changed.notify_one();
    }

    pub fn ui_addr(&self) -> SocketAddr {
        self.ui_addr
    }

    /// How many times it has tried to connect since it started.
    pub fn connection_attempts(&self) -> u64 {
        self.attempts.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn status(&self) -> LocalStatus {
        let now = self.server_now();
        let l = self.lock_local();
        let session = l.applied.desired.session.as_ref().map(|s| StatusSession {
            id: s.id,
            client_name: s.client_name.clone(),
            status: s.status,
            tariff_name: s.tariff_name.clone(),
            ends_at: s.ends_at,
        });
        let seconds_left = session
            .as_ref()
            .filter(|s| s.status == SessionStatus::Started)
            .and_then(|s| s.ends_at)
            .map(|e| (e - now).num_seconds().max(0));
        let settled = l.hook_done == l.hook_asked;
        let lock_failed = settled && l.hook.as_ref().is_some_and(|h| h.locked && !h.ok);
        LocalStatus {
            connected: l.connected,
            locked: l.locked && !lock_failed,
            session,
            seconds_left,
            applied_seq: l.applied.seq,
            warnings: l.applied.desired.warnings.clone(),
            refused: l.refused.clone(),
            device_name: l.device_name.clone(),
            lock_hook: l.hook.clone(),
            hook_pending: !settled,
            lock_screen_problem: l.lock_screen_problem.clone(),
            message: l.message.as_ref().map(|(m, _)| m.clone()),
        }
    }

    /// What the lock screen shows: the lock itself follows the server's
    /// word (and the failsafe) at once, whatever the lock command does.
    pub(crate) fn lock_view(&self) -> LockView {
        let l = self.lock_local();
        LockView {
            locked: l.locked,
            connected: l.connected,
            club_name: None,
            device_name: l.device_name.clone(),
            session: l.applied.desired.session.clone(),
            warnings: l.applied.desired.warnings.clone(),
            refused: l.refused.clone(),
            message: l.message.as_ref().map(|(m, _)| m.clone()),
        }
    }

    /// Shows the desk's message for `message_for`, then takes it down
    /// (unless a newer one replaced it).
    fn show_message(&self, text: String, id: i64) {
        self.lock_local().message = Some((text, id));
        self.changed();
        let (handle, after) = (self.clone(), self.opts.message_for);
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let mut l = handle.lock_local();
            if l.message.as_ref().is_some_and(|(_, shown)| *shown == id) {
                l.message = None;
                drop(l);
                handle.changed();
            }
        });
    }

    /// Carries out a command from the desk; answers with its outcome.
    async fn carry_out(&self, id: i64, kind: CommandKind, text: Option<String>) -> AgentMsg {
        let (ok, error) = match kind {
            CommandKind::Message => {
                let text = text.unwrap_or_default();
                tracing::info!(%text, "message from the desk");
                self.show_message(text, id);
                (true, None)
            }
            CommandKind::Reboot | CommandKind::Shutdown => {
                let cmd = if kind == CommandKind::Reboot {
                    &self.opts.reboot_cmd
                } else {
                    &self.opts.shutdown_cmd
                };
                tracing::warn!(?kind, %cmd, "the desk asked to power this PC off or restart it");
                let out = run_command(cmd, true, self.opts.hook_timeout).await;
                (out.ok, (!out.ok).then_some(out.detail))
            }
            CommandKind::Wake => (false, Some("a running PC cannot be woken".to_owned())),
        };
        AgentMsg::CommandDone { id, ok, error }
    }

    /// Whether the PC is to be locked now (what the lock screen shows).
    pub(crate) fn is_locked(&self) -> bool {
        self.lock_local().locked
    }

    /// What is wrong on this PC, for the hall.
    fn problems(&self) -> Vec<String> {
        let mut problems: Vec<String> = self
            .lock_local()
            .lock_screen_problem
            .iter()
            .cloned()
            .collect();
        problems.extend(
            self.update
                .problem
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        );
        problems
    }

    /// The supervisor's word on the lock screen (`None`: running fine).
    pub(crate) fn set_lock_screen_problem(&self, problem: Option<String>) {
        {
            let mut l = self.lock_local();
            if l.lock_screen_problem == problem {
                return;
            }
            l.lock_screen_problem = problem;
        }
        self.changed();
    }

    /// Counts a lock screen as connected until the answer is dropped.
    pub(crate) fn lock_screen_connected(&self) -> LockScreenConnected {
        self.lock_screens.send_modify(|n| *n += 1);
        LockScreenConnected(self.lock_screens.clone())
    }

    /// The number of lock screens connected, and its changes.
    pub(crate) fn lock_screens(&self) -> watch::Receiver<usize> {
        self.lock_screens.subscribe()
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Waits until `pred` holds for the status, or the timeout passes.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        pred: impl Fn(&LocalStatus) -> bool,
    ) -> Option<LocalStatus> {
        let mut rx = self.changes.subscribe();
        tokio::time::timeout(timeout, async {
            loop {
                let s = self.status();
                if pred(&s) {
                    return s;
                }
                if rx.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        })
        .await
        .ok()
    }

    pub(crate) fn changed(&self) {
        self.changes.send_modify(|v| *v += 1);
    }

    /// The player pressed Start: answers once the server took it (the PC
    /// unlocks) or refused it.
    pub async fn press_start(&self) -> Result<(), String> {
        let st = self.status();
        if !st.connected {
            return Err("not connected to the club server; ask the desk".into());
        }
        let session = match st.session {
            Some(s) if s.status == SessionStatus::Active => s,
            Some(s) if s.status == SessionStatus::Started => return Ok(()),
            _ => return Err("there is no session waiting for Start on this PC".into()),
        };
        let (reply, answer) = oneshot::channel();
        let press = Press {
            session_id: session.id,
            press_id: press_id(),
            reply,
        };
        self.presses
            .send(press)
            .await
            .map_err(|_| "the agent is stopping".to_owned())?;
        match tokio::time::timeout(Duration::from_secs(10), answer).await {
            Ok(Ok(result)) => result,
            _ => Err("the server did not answer the Start press in time".into()),
        }
    }

    /// Changes the lock state: the lock screen follows at once, and the
    /// lock or unlock command runs on the hook runner, off this task.
    fn set_locked(&self, locked: bool, why: &str) {
        let asked = {
            let mut l = self.lock_local();
            if std::mem::replace(&mut l.locked, locked) == locked {
                return;
            }
            l.hook_asked += 1;
            l.hook_asked
        };
        tracing::info!(
            locked,
            why,
            "PC {}",
            if locked { "locked" } else { "unlocked" }
        );
        self.hooks.send_replace((asked, locked));
        self.changed();
    }

    /// Applies a desired state from the server, in sequence order.
    async fn apply(&self, seq: u64, desired: DesiredState) {
        let stale = seq < self.lock_local().applied.seq;
        if stale {
            tracing::debug!(seq, "stale state ignored");
            return;
        }
        let now = self.server_now();
        // Never unlock into time that has already run out.
        let expired = desired
            .session
            .as_ref()
            .and_then(|s| s.ends_at)
            .is_some_and(|e| e <= now);
        let lock = desired.locked || expired;
        let applied = Applied { seq, desired };
        if let Err(e) = self.opts.state_dir.save_applied(&applied) {
            tracing::error!(error = %e, "saving the applied state");
        }
        self.lock_local().applied = applied;
        self.set_locked(lock, "server state");
        self.changed();
    }

    fn set_offset(&self, server_time: DateTime<Utc>) {
        let offset = (server_time - (self.opts.clock)()).num_milliseconds();
        self.lock_local().offset_ms = offset;
    }

    fn set_connected(&self, connected: bool) {
        self.lock_local().connected = connected;
        self.changed();
    }

    /// Offline failsafe: the paid time passed while the server was away.
    async fn failsafe(&self) {
        let (connected, locked, ends_at) = {
            let l = self.lock_local();
            let ends = l.applied.desired.session.as_ref().and_then(|s| s.ends_at);
            (l.connected, l.locked, ends)
        };
        if !connected && !locked && ends_at.is_some_and(|e| e <= self.server_now()) {
            self.set_locked(true, "paid time ran out while the server was unreachable");
        }
    }
}

fn press_id() -> String {
    format!(
        "{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    )
}

/// Runs the lock and unlock commands, one at a time, for the latest lock
/// state: a state that flipped back meanwhile runs only the last command.
async fn hook_loop(
    handle: AgentHandle,
    mut asked: watch::Receiver<(u64, bool)>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            c = asked.changed() => if c.is_err() { return },
        }
        let (number, locked) = *asked.borrow_and_update();
        let cmd = if locked {
            &handle.opts.lock_cmd
        } else {
            &handle.opts.unlock_cmd
        };
        let outcome = match cmd {
            // Stopping does not wait for a command (kill_on_drop ends it).
            Some(cmd) => tokio::select! {
                _ = shutdown.cancelled() => return,
                o = run_command(cmd, locked, handle.opts.hook_timeout) => Some(o),
            },
            None => None,
        };
        {
            let mut l = handle.lock_local();
            l.hook_done = number;
            if outcome.is_some() {
                l.hook = outcome;
            }
        }
        handle.changed();
    }
}

/// Ends a command and everything it started: its process group on Unix,
/// its process tree on Windows.
async fn kill_tree(pid: u32) {
    let mut k = if cfg!(windows) {
        let mut k = tokio::process::Command::new("taskkill");
        k.args(["/T", "/F", "/PID", &pid.to_string()]);
        k
    } else {
        let mut k = tokio::process::Command::new("kill");
        k.args(["-KILL", "--", &format!("-{pid}")]);
        k
    };
    let _ = k
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await;
}

/// The last line a finished command wrote to stderr (at most 200
/// characters, read for at most a second: a child it left behind may hold
/// the pipe open).
async fn last_words(stderr: Option<tokio::process::ChildStderr>) -> String {
    use tokio::io::AsyncReadExt;
    let Some(stderr) = stderr else {
        return String::new();
    };
    let mut buf = Vec::new();
    let mut limited = stderr.take(16 * 1024);
    let _ = tokio::time::timeout(Duration::from_secs(1), limited.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf);
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    line.trim().chars().take(200).collect()
}

pub(crate) async fn run_command(cmd: &str, locked: bool, timeout: Duration) -> HookOutcome {
    let mut c = if cfg!(windows) {
        let mut c = tokio::process::Command::new("cmd");
        c.args(["/C", cmd]);
        c
    } else {
        let mut c = tokio::process::Command::new("sh");
        c.args(["-c", cmd]);
        c
    };
    c.kill_on_drop(true).stdin(std::process::Stdio::null());
    // Its own process group, so that a timeout ends whatever it started too.
    #[cfg(unix)]
    c.process_group(0);
    // What it says on stderr, kept short, tells a failure's why.
    c.stderr(std::process::Stdio::piped());
    let (ok, detail) = match c.spawn() {
        Err(e) => (false, format!("could not start: {e}")),
        Ok(mut child) => match tokio::time::timeout(timeout, child.wait()).await {
            Ok(Ok(s)) if s.success() => (true, "ran".to_owned()),
            Ok(Ok(s)) => {
                let said = last_words(child.stderr.take()).await;
                if said.is_empty() {
                    (false, format!("failed: {s}"))
                } else {
                    (false, format!("failed: {s}: {said}"))
                }
            }
            Ok(Err(e)) => (false, format!("failed: {e}")),
            Err(_) => {
                if let Some(pid) = child.id() {
                    kill_tree(pid).await;
                }
                let _ = child.kill().await;
                (false, format!("killed after {} s", timeout.as_secs_f32()))
            }
        },
    };
    if ok {
        tracing::info!(%cmd, "command ran");
    } else {
        tracing::warn!(%cmd, %detail, "lock command failed");
    }
    HookOutcome { locked, ok, detail }
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

    let ws_url = ws_url(&enrollment.server)?;
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
            server: enrollment.server.clone(),
            url: ws_url,
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

fn ws_url(server: &str) -> anyhow::Result<String> {
    let base = server.trim_end_matches('/');
    let rest = base
        .strip_prefix("http://")
        .map(|r| format!("ws://{r}"))
        .or_else(|| base.strip_prefix("https://").map(|r| format!("wss://{r}")))
        .with_context(|| format!("the server URL must start with http:// or https://: {server}"))?;
    Ok(format!("{rest}/agent/v1/ws"))
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

enum Ended {
    /// Try again after a delay; `healthy` resets the backoff.
    Retry {
        healthy: bool,
    },
    /// The server refused this agent for good.
    Refused,
    Shutdown,
}

/// Where and how the agent reaches the server.
struct Link {
    /// The server's base URL (http:// or https://).
    server: String,
    url: String,
    secret: String,
    /// The pinned certificate of a wss:// server.
    pin: Option<String>,
}

async fn connection_loop(
    handle: AgentHandle,
    link: Link,
    mut presses: mpsc::Receiver<Press>,
    shutdown: CancellationToken,
) {
    let mut backoff = handle.opts.backoff.clone();
    let mut sampler = Sampler::new();
    loop {
        let ended = connect_once(&handle, &link, &mut presses, &mut sampler, &shutdown).await;
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

fn send_json(msg: &AgentMsg) -> Message {
    Message::text(serde_json::to_string(msg).unwrap_or_default())
}

async fn connect_once(
    handle: &AgentHandle,
    link: &Link,
    presses: &mut mpsc::Receiver<Press>,
    sampler: &mut Sampler,
    shutdown: &CancellationToken,
) -> Ended {
    let (url, secret) = (link.url.as_str(), link.secret.as_str());
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
                            handle.offer_update(offer, &link.server, &link.secret, link.pin.as_deref());
                        }
                    }
                    ServerMsg::Refused { reason, retry, update } => {
                        tracing::error!(%reason, "refused by the server");
                        handle.lock_local().refused = Some(reason);
                        handle.changed();
                        if let Some(offer) = update {
                            // Too old to be served, but a build that can be
                            // is offered: fetch it, and wait for the restart.
                            if handle.offer_update(offer, &link.server, &link.secret, link.pin.as_deref()) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
