// A Windows program without a console window (the daemon starts it).
#![cfg_attr(windows, windows_subsystem = "windows")]
//! club-lock: the lock screen. A full-screen window over every monitor
//! while the PC is locked, holding keyboard and pointer, with the player's
//! name and a Start button; nothing at all while the player plays, but a
//! small notice when time is running out. It shows what the daemon
//! (`club-agent run`) says and reports the Start press; it can never unlock.
//!
//! One main loop owns the model; the daemon's channel and the display feed
//! it through one queue, so nothing here polls.

mod draw;
mod ipc;
mod model;
mod platform;

use club_shared::lock::{DaemonMsg, LockMsg};
use model::{Model, Scene};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Instant;

/// Everything the main loop reacts to.
pub enum Input {
    Daemon(DaemonMsg),
    /// The channel to the daemon dropped, or could not be opened.
    DaemonLost,
    /// Enter, or a click on the Start button.
    Start,
    /// An event from the display, handled on the main loop.
    Platform(platform::Event),
}

/// What the lock screen needs from a platform: show a scene, react to the
/// display's own events, and say when it wants to be woken (to retry a
/// grab). Everything else is the same on every platform.
pub trait Display {
    fn present(&mut self, scene: &Scene) -> anyhow::Result<()>;
    /// A display event; answers whether it pressed Start.
    fn handle(&mut self, event: platform::Event) -> anyhow::Result<bool>;
    /// Called after every wake; answers when to be called again at the latest.
    fn tick(&mut self) -> Option<Instant>;
}

const USAGE: &str = "club-lock [--socket PATH]

The Clubhall lock screen. It connects to the agent daemon's local socket
(default: the CLUB_LOCK_SOCKET environment variable, else the daemon's
default state dir) and shows what the daemon says. `club-agent run` starts
it by itself in a graphical session.";

fn main() -> ExitCode {
    let mut socket = std::env::var_os("CLUB_LOCK_SOCKET").map(PathBuf::from);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--socket" => socket = args.next().map(PathBuf::from),
            "--version" => {
                println!("club-lock {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("club-lock: unknown argument {other}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let socket = socket.unwrap_or_else(platform::default_socket);
    match run(ipc::Endpoint(socket)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("club-lock: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(endpoint: ipc::Endpoint) -> anyhow::Result<()> {
    let (tx, rx) = mpsc::channel();
    let mut display = platform::open(tx.clone())?;
    let presses = ipc::spawn(endpoint, tx);
    let mut model = Model::new();
    let mut shown: Option<Scene> = None;
    loop {
        let now = Instant::now();
        let scene = model.scene(now);
        if shown.as_ref() != Some(&scene) {
            display.present(&scene)?;
            shown = Some(scene);
        }
        let wake = [model.next_deadline(Instant::now()), display.tick()]
            .into_iter()
            .flatten()
            .min();
        let input = match wake {
            Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let input = match input {
            Ok(i) => i,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        let start = match input {
            Input::Daemon(DaemonMsg::View { view }) => {
                model.on_view(view, Instant::now());
                false
            }
            Input::Daemon(DaemonMsg::StartAnswer { press, ok, message }) => {
                model.on_start_answer(press, ok, message);
                false
            }
            Input::Daemon(DaemonMsg::Error { message }) => {
                eprintln!("club-lock: the daemon could not read a line: {message}");
                false
            }
            Input::DaemonLost => {
                model.on_daemon_lost();
                false
            }
            Input::Start => true,
            Input::Platform(event) => display.handle(event)?,
        };
        if start {
            if let Some(press) = model.press_start() {
                if !presses.send(&LockMsg::StartPressed { press }) {
                    model.on_start_answer(press, false, Some("The PC agent is not running".into()));
                }
            }
        }
    }
}
