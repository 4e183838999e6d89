//! The daemon keeps its lock screen running: `club-lock` is started at once
//! and started again at once when it ends, whatever the PC's state (a player
//! who kills it while locked gets a new one within a second). One that keeps
//! ending soon after its start is restarted with a growing pause and
//! reported: in `club-agent status` and to the server, which shows it in
//! the hall.

use crate::runtime::AgentHandle;
use std::path::PathBuf;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A lock screen that ran this long was healthy: the next exit restarts it
/// at once, and any problem reported is cleared.
const HEALTHY_AFTER: Duration = Duration::from_secs(10);
/// Quick exits in a row before the lock screen is reported as failing.
const FAILING_AFTER: u32 = 3;
const MAX_PAUSE: Duration = Duration::from_secs(5);
/// While the PC is locked a missing lock screen is an open PC: the pause
/// never exceeds this then.
const MAX_PAUSE_LOCKED: Duration = Duration::from_millis(200);

/// The pause before the next start after `quick` quick exits in a row:
/// none for the first, then 100 ms doubling up to 5 s.
pub fn restart_pause(quick: u32) -> Duration {
    match quick {
        0 | 1 => Duration::ZERO,
        n => Duration::from_millis(100u64 << (n - 2).min(6)).min(MAX_PAUSE),
    }
}

pub(crate) async fn lock_screen(
    exe: PathBuf,
    display: Option<String>,
    channel: PathBuf,
    handle: AgentHandle,
    shutdown: CancellationToken,
) {
    let mut quick = 0u32;
    loop {
        let started = Instant::now();
        let mut cmd = tokio::process::Command::new(&exe);
        cmd.arg("--socket")
            .arg(&channel)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        if let Some(d) = &display {
            cmd.env("DISPLAY", d);
        }
        let ended = match cmd.spawn() {
            Err(e) => format!("cannot start {}: {e}", exe.display()),
            Ok(mut child) => {
                tracing::info!(pid = child.id(), "lock screen started");
                let healthy = tokio::time::sleep(HEALTHY_AFTER);
                tokio::pin!(healthy);
                let mut cleared = false;
                loop {
                    tokio::select! {
                        _ = shutdown.cancelled() => {
                            let _ = child.kill().await;
                            return;
                        }
                        // Running well for a while: whatever was wrong is not now.
                        _ = &mut healthy, if !cleared => {
                            cleared = true;
                            handle.set_lock_screen_problem(None);
                        }
                        status = child.wait() => break match status {
                            Ok(s) => format!("club-lock exited: {s}"),
                            Err(e) => format!("club-lock: {e}"),
                        },
                    }
                }
            }
        };
        if started.elapsed() >= HEALTHY_AFTER {
            quick = 0;
        }
        quick += 1;
        tracing::warn!(%ended, quick, "lock screen ended; starting it again");
        if quick >= FAILING_AFTER {
            handle.set_lock_screen_problem(Some(format!("the lock screen keeps failing: {ended}")));
        }
        let mut pause = restart_pause(quick);
        if handle.is_locked() {
            pause = pause.min(MAX_PAUSE_LOCKED);
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_restart_is_immediate_then_the_pause_grows_to_a_ceiling() {
        let pauses: Vec<u64> = (1..=10)
            .map(|n| restart_pause(n).as_millis() as u64)
            .collect();
        assert_eq!(
            pauses,
            [0, 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]
        );
    }
}
