//! The lock and unlock commands (`--lock-cmd`, `--unlock-cmd`): one at a
//! time, for the latest state, each bounded in time with its process tree.

use super::*;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Runs the lock and unlock commands, one at a time, for the latest lock
/// state: a state that flipped back meanwhile runs only the last command.
pub(super) async fn hook_loop(
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
pub(super) async fn kill_tree(pid: u32) {
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
pub(super) async fn last_words(stderr: Option<tokio::process::ChildStderr>) -> String {
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
