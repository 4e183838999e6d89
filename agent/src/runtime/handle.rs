//! The agent's state (locked or not, the session shown, the connection)
//! and every change to it, each told to the lock screens and the hooks.

use super::*;
use crate::state::Applied;
use chrono::{DateTime, Utc};
use club_shared::lock::LockView;
use club_shared::protocol::{AgentMsg, DesiredState};
use club_shared::{CommandKind, SessionStatus};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::{oneshot, watch};

impl AgentHandle {
    pub(super) fn lock_local(&self) -> std::sync::MutexGuard<'_, Local> {
        self.local.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn server_now(&self) -> DateTime<Utc> {
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
    pub(super) fn show_message(&self, text: String, id: i64) {
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
    pub(super) async fn carry_out(
        &self,
        id: i64,
        kind: CommandKind,
        text: Option<String>,
    ) -> AgentMsg {
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
    pub(super) fn problems(&self) -> Vec<String> {
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

    /// How many times the status has changed since the agent started.
    pub fn version(&self) -> u64 {
        *self.changes.borrow()
    }

    /// Waits until the status version differs from `seen`, or the timeout
    /// passes; answers the version then.
    pub async fn changed_since(&self, seen: u64, timeout: Duration) -> u64 {
        let mut rx = self.changes.subscribe();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|v| *v != seen)).await;
        self.version()
    }

    pub(crate) fn changed(&self) {
        self.changes.send_modify(|v| *v += 1);
    }

    /// The player pressed Start: answers once the server took it (the PC
    /// unlocks) or refused it.
    pub async fn press_start(&self) -> Result<(), String> {
        let st = self.status();
        if let Some(why) = st.refused.filter(|_| !st.connected) {
            return Err(why);
        }
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
    pub(super) fn set_locked(&self, locked: bool, why: &str) {
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
    pub(super) async fn apply(&self, seq: u64, desired: DesiredState) {
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

    pub(super) fn set_offset(&self, server_time: DateTime<Utc>) {
        let offset = (server_time - (self.opts.clock)()).num_milliseconds();
        self.lock_local().offset_ms = offset;
    }

    pub(super) fn set_connected(&self, connected: bool) {
        self.lock_local().connected = connected;
        self.changed();
    }

    /// Offline failsafe: the paid time passed while the server was away.
    pub(super) async fn failsafe(&self) {
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
