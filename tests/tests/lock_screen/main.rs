//! The real lock screen on a real X display (Xvfb): the agent starts
//! `club-lock`, which covers the screen while the PC is locked, welcomes the
//! player, takes Enter and a click on Start, goes away while they play,
//! comes back at the end, survives SIGKILL and holds the keyboard.
#![cfg(unix)]

use club_shared::SessionStatus;
use club_tests::agents::{enrolled_pc, workspace_bin, TestAgent};
use club_tests::display::{Shot, Xvfb, HEIGHT, WIDTH};
use club_tests::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    ConnectionExt as _, CreateWindowAux, GrabMode, GrabStatus, WindowClass,
};

mod covering;
mod states;

/// Colours of `lock/src/draw.rs`.
const BACKGROUND: u32 = 0x0f1419;
const ACCENT: u32 = 0x2f81f7;
const TEXT: u32 = 0xe6e6e6;

/// The Start button's middle on a 1920x1080 screen: the 960x560 panel is
/// centred (origin 480,260) and the button sits at 350..610, 280..356 in it.
const START: (u32, u32) = (960, 578);
const SHOW: Duration = Duration::from_secs(10);

fn docs(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../docs")
        .join(name)
}

fn locked_screen(s: &Shot) -> bool {
    // The lock's background fills nearly all of the screen, with the title's
    // text drawn in the middle.
    s.share(BACKGROUND) > 0.9 && s.any_in(700, 400, 520, 100, TEXT)
}

fn welcome_screen(s: &Shot) -> bool {
    locked_screen(s) && s.at(START.0 - 100, START.1) == ACCENT
}

fn covers_the_screen(w: &[(i32, i32, u32, u32)]) -> bool {
    w.iter()
        .any(|&(x, y, ww, hh)| x == 0 && y == 0 && ww == WIDTH && hh == HEIGHT)
}

/// Waits (on the agent's own change notifications) until the session this
/// PC shows has `status`, then checks the server agrees.
async fn wait_session(agent: &TestAgent, api: &Api, id: i64, status: SessionStatus) {
    agent
        .wait("the session's new state", |s| {
            s.session
                .as_ref()
                .is_some_and(|x| x.id == id && x.status == status)
        })
        .await;
    let v = api
        .ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
        .await;
    assert_eq!(v["status"], status.as_str());
}

/// The club-lock processes serving this agent's socket.
fn lock_pids(socket: &std::path::Path) -> Vec<u32> {
    let out = std::process::Command::new("pgrep")
        .arg("-f")
        .arg(socket)
        .output()
        .expect("pgrep runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// A hall with one PC whose agent runs the real club-lock on its own Xvfb.
struct Locked {
    x: Xvfb,
    srv: TestServer,
    api: Api,
    h: Hall,
    agent: TestAgent,
}

/// The PC connected and locked: a viewable window covers the whole screen
/// and shows the lock.
async fn locked_pc() -> Locked {
    let x = Xvfb::start();
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (device_id, state_dir, dir) = enrolled_pc(&srv, &api, h.zone, "PC-07").await;
    let display = x.display.clone();
    let agent = TestAgent::run(&srv.clock, device_id, state_dir, dir, move |o| {
        o.lock_screen = Some(workspace_bin("club-lock"));
        o.lock_screen_display = Some(display);
    })
    .await;
    agent.wait("connected", |s| s.connected && s.locked).await;
    x.wait_for_windows("a full-screen lock", SHOW, covers_the_screen);
    x.wait_for_screen("the locked screen", SHOW, locked_screen);
    Locked {
        x,
        srv,
        api,
        h,
        agent,
    }
}
