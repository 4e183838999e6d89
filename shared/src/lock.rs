//! The local channel between the agent daemon and its lock screen
//! (`club-lock`): one JSON object per line, over a Unix socket (a named pipe
//! on Windows) that admits only the daemon's account.
//!
//! The daemon decides and the lock screen shows: the daemon sends the whole
//! view on connect and after every change; the lock screen sends only Start
//! presses. Nothing the lock screen says can unlock the PC.

use crate::protocol::ShownSession;
use serde::{Deserialize, Serialize};

/// A line longer than this is an error; the reader never holds more.
pub const MAX_LOCK_LINE_BYTES: usize = 16 * 1024;

/// How many lock screens one daemon serves at once (one per graphical
/// session is normal); more are closed on accept.
pub const MAX_LOCK_CLIENTS: usize = 4;

/// Daemon -> lock screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DaemonMsg {
    /// What the screen should show now; sent whole.
    View { view: LockView },
    /// The answer to a Start press: `ok` once the server started the
    /// session (the unlock follows as a view), or the refusal's reason.
    StartAnswer {
        press: u64,
        ok: bool,
        #[serde(default)]
        message: Option<String>,
    },
    /// A line the daemon could not read; the channel stays open.
    Error { message: String },
}

/// Lock screen -> daemon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LockMsg {
    /// The player pressed Start (a click or Enter). `press` is the lock
    /// screen's own counter, echoed in the answer.
    StartPressed { press: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LockView {
    /// Whether the PC is locked: the lock screen covers every monitor.
    pub locked: bool,
    /// Whether the daemon is connected to the club server.
    pub connected: bool,
    #[serde(default)]
    pub club_name: Option<String>,
    #[serde(default)]
    pub device_name: Option<String>,
    #[serde(default)]
    pub session: Option<ShownSession>,
    /// e.g. "5 minutes left", shown as a notice while playing.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Why the server will not serve this PC, if it said so.
    #[serde(default)]
    pub refused: Option<String>,
    /// A message from the desk: on the lock screen, or a notice over the
    /// game.
    #[serde(default)]
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_tagged_and_new_fields_default() {
        let m = LockMsg::StartPressed { press: 3 };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"type":"start_pressed","press":3}"#
        );
        let v: DaemonMsg =
            serde_json::from_str(r#"{"type":"view","view":{"locked":true,"connected":false}}"#)
                .unwrap();
        let DaemonMsg::View { view } = v else {
            panic!("a view")
        };
        assert!(view.locked && view.session.is_none() && view.warnings.is_empty());
    }
}
