//! The daemon keeps its lock screen running: `club-lock` is started at once
//! and started again at once when it ends, whatever the PC's state (a player
//! who kills it while locked gets a new one within a second). One that keeps
//! ending soon after its start is restarted with a growing pause and
//! reported: in `club-agent status` and to the server, which shows it in
//! the hall.
//!
//! As a Windows service the daemon lives in session 0, where no window is
//! seen: it starts the lock screen in the session on the PC's screen, as
//! the signed-in player, and again in the new one whenever a player signs
//! in or the console changes hands.

use crate::runtime::AgentHandle;
use std::path::{Path, PathBuf};
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
/// With nobody signed in on the console (Windows' own sign-in screen is
/// up, and nothing can be played) the daemon looks again this often, and
/// at once on a sign-in.
const NO_PLAYER_RECHECK: Duration = Duration::from_secs(5);

/// The pause before the next start after `quick` quick exits in a row:
/// none for the first, then 100 ms doubling up to 5 s.
pub fn restart_pause(quick: u32) -> Duration {
    match quick {
        0 | 1 => Duration::ZERO,
        n => Duration::from_millis(100u64 << (n - 2).min(6)).min(MAX_PAUSE),
    }
}

/// A running lock screen: the daemon's child, or on Windows a process in
/// the player's console session.
enum Running {
    Child(Box<tokio::process::Child>),
    #[cfg(windows)]
    Console(crate::console::Process),
}

impl Running {
    fn id(&self) -> Option<u32> {
        match self {
            Running::Child(c) => c.id(),
            #[cfg(windows)]
            Running::Console(p) => Some(p.id()),
        }
    }

    /// Waits for its end; answers how it ended.
    async fn wait(&mut self) -> String {
        match self {
            Running::Child(c) => match c.wait().await {
                Ok(s) => format!("club-lock exited: {s}"),
                Err(e) => format!("club-lock: {e}"),
            },
            #[cfg(windows)]
            Running::Console(p) => match p.wait().await {
                Ok(code) => format!("club-lock exited: exit code {code}"),
                Err(e) => format!("club-lock: {e}"),
            },
        }
    }

    async fn kill(&mut self) {
        match self {
            Running::Child(c) => {
                let _ = c.kill().await;
            }
            #[cfg(windows)]
            Running::Console(p) => p.kill().await,
        }
    }
}

enum Launch {
    Running(Running),
    /// Nobody is signed in on the console (Windows service only).
    #[cfg_attr(not(windows), allow(dead_code))]
    NoPlayer,
    Failed(String),
}

fn launch(exe: &Path, channel: &Path, handle: &AgentHandle) -> Launch {
    #[cfg(windows)]
    if handle.opts.lock_screen_in_console_session {
        let args = [std::ffi::OsStr::new("--socket"), channel.as_os_str()];
        return match crate::console::spawn(exe, &args) {
            Ok(p) => Launch::Running(Running::Console(p)),
            Err(crate::console::SpawnError::NoPlayer) => Launch::NoPlayer,
            Err(crate::console::SpawnError::Os(e)) => {
                Launch::Failed(format!("cannot start {}: {e}", exe.display()))
            }
        };
    }
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg("--socket")
        .arg(channel)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(d) = &handle.opts.lock_screen_display {
        cmd.env("DISPLAY", d);
    }
    match cmd.spawn() {
        Ok(child) => Launch::Running(Running::Child(Box::new(child))),
        Err(e) => Launch::Failed(format!("cannot start {}: {e}", exe.display())),
    }
}

pub(crate) async fn lock_screen(
    exe: PathBuf,
    channel: PathBuf,
    handle: AgentHandle,
    shutdown: CancellationToken,
) {
    let session_changed = handle.opts.session_changed.clone();
    let mut quick = 0u32;
    let mut waiting_for_player = false;
    loop {
        let started = Instant::now();
        let ended = match launch(&exe, &channel, &handle) {
            Launch::NoPlayer => {
                if !waiting_for_player {
                    tracing::info!(
                        "nobody is signed in on the console: the lock screen starts at sign-in"
                    );
                    waiting_for_player = true;
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = session_changed.notified() => {}
                    _ = tokio::time::sleep(NO_PLAYER_RECHECK) => {}
                }
                continue;
            }
            Launch::Failed(e) => e,
            Launch::Running(mut child) => {
                waiting_for_player = false;
                tracing::info!(pid = child.id(), "lock screen started");
                let healthy = tokio::time::sleep(HEALTHY_AFTER);
                tokio::pin!(healthy);
                let mut cleared = false;
                let ended = loop {
                    tokio::select! {
                        _ = shutdown.cancelled() => {
                            child.kill().await;
                            return;
                        }
                        // Running well for a while: whatever was wrong is not now.
                        _ = &mut healthy, if !cleared => {
                            cleared = true;
                            handle.set_lock_screen_problem(None);
                        }
                        // Another session is on the screen now: the lock
                        // screen moves there, at once and without counting
                        // as a failure.
                        _ = session_changed.notified() => {
                            child.kill().await;
                            break None;
                        }
                        how = child.wait() => break Some(how),
                    }
                };
                match ended {
                    Some(how) => how,
                    None => {
                        tracing::info!(
                            "the session on the screen changed; starting the lock screen there"
                        );
                        quick = 0;
                        continue;
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

/// Runs a lock screen restart this long at most.
const RESTART_CMD_TIMEOUT: Duration = Duration::from_secs(10);

/// The lock screen is another service's (club-lock's systemd user unit in
/// the player's session, which the player could stop): whenever none has
/// been connected for the grace, `cmd` starts it again, and again every
/// five graces until one connects. From the second try on the hall is told.
pub(crate) async fn external_lock_screen(
    cmd: String,
    handle: AgentHandle,
    shutdown: CancellationToken,
) {
    let grace = handle.opts.lock_screen_grace;
    let mut connected = handle.lock_screens();
    loop {
        // Until none is connected, then a grace for one on its way (its
        // unit restarting it, a session starting).
        let none_for_a_grace = async {
            loop {
                let _ = connected.wait_for(|n| *n == 0).await;
                let stays = tokio::time::timeout(grace, connected.wait_for(|n| *n > 0)).await;
                if stays.is_err() {
                    return;
                }
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = none_for_a_grace => {}
        }
        let mut tries = 0u32;
        loop {
            let outcome = crate::runtime::run_command(&cmd, true, RESTART_CMD_TIMEOUT).await;
            tries += 1;
            tracing::warn!(tries, detail = %outcome.detail, "no lock screen connected; started it again");
            if tries >= 2 {
                handle.set_lock_screen_problem(Some(format!(
                    "no lock screen is connected (starting it again: {})",
                    outcome.detail
                )));
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = connected.wait_for(|n| *n > 0) => break,
                _ = tokio::time::sleep(grace * 5) => {}
            }
        }
        handle.set_lock_screen_problem(None);
    }
}

/// One argument of a Windows command line, quoted as programs built with
/// the Microsoft C runtime (and Rust's std) read it back: in quotes when it
/// has a space, a tab or a quote, with backslashes doubled before a quote.
pub fn windows_quote(arg: &str) -> String {
    if !arg.is_empty() && !arg.contains([' ', '\t', '"']) {
        return arg.to_owned();
    }
    let mut out = String::from('"');
    let mut backslashes = 0;
    for c in arg.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                out.extend(std::iter::repeat_n('\\', backslashes * 2 + 1));
                out.push('"');
                backslashes = 0;
            }
            c => {
                out.extend(std::iter::repeat_n('\\', backslashes));
                out.push(c);
                backslashes = 0;
            }
        }
    }
    out.extend(std::iter::repeat_n('\\', backslashes * 2));
    out.push('"');
    out
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

    #[test]
    fn windows_arguments_are_quoted_as_the_c_runtime_reads_them() {
        assert_eq!(windows_quote("--socket"), "--socket");
        assert_eq!(
            windows_quote(r"C:\Program Files\Clubhall\club-lock.exe"),
            r#""C:\Program Files\Clubhall\club-lock.exe""#
        );
        assert_eq!(
            windows_quote(r"\\.\pipe\clubhall-lock"),
            r"\\.\pipe\clubhall-lock"
        );
        assert_eq!(windows_quote(""), r#""""#);
        assert_eq!(windows_quote(r"a dir\"), r#""a dir\\""#);
        assert_eq!(windows_quote(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(windows_quote(r#"x\"y z"#), r#""x\\\"y z""#);
    }
}
