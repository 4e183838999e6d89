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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lock_screen_covers_the_display_welcomes_starts_and_comes_back() {
    let Locked {
        x,
        srv,
        api,
        h,
        agent,
    } = locked_pc().await;
    x.save_png(&docs("lock-locked.png"));

    // A session for this PC: welcome, with a Start button.
    let first = new_session(&api, h.client, agent.device_id, h.keep).await;
    x.wait_for_screen("the welcome screen with Start", SHOW, welcome_screen);
    x.save_png(&docs("lock-welcome.png"));

    // Enter starts it on the server, and the lock goes away.
    x.key("Return");
    wait_session(&agent, &api, first, SessionStatus::Started).await;
    x.wait_for_windows("no lock window while playing", SHOW, |w| w.is_empty());
    x.wait_for_screen("the desktop", SHOW, |s| s.share(BACKGROUND) < 0.1);
    agent.wait("unlocked", |s| !s.locked).await;

    // Ending the session brings the lock back.
    api.ok(Method::POST, &format!("/sessions/{first}/end"), json!({}))
        .await;
    x.wait_for_windows("the lock again", SHOW, covers_the_screen);
    x.wait_for_screen("the locked screen again", SHOW, |s| {
        locked_screen(s) && !welcome_screen(s)
    });

    // A click on Start works as Enter does.
    let second = new_session(&api, h.client, agent.device_id, h.keep).await;
    x.wait_for_screen("the welcome screen again", SHOW, welcome_screen);
    x.click(START.0, START.1);
    wait_session(&agent, &api, second, SessionStatus::Started).await;
    x.wait_for_windows("no lock window after the click", SHOW, |w| w.is_empty());
    assert_eq!(
        agent.status().session.map(|s| s.status),
        Some(SessionStatus::Started)
    );
    agent.stop().await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_lock_screen_is_back_within_a_second_and_holds_the_keyboard() {
    let Locked { x, srv, agent, .. } = locked_pc().await;

    // Another X client cannot take the keyboard from the lock.
    let (conn, screen) = x11rb::connect(Some(&x.display)).expect("a second X client");
    let root = conn.setup().roots[screen].root;
    let win = conn.generate_id().unwrap();
    conn.create_window(
        0,
        win,
        root,
        0,
        0,
        10,
        10,
        0,
        WindowClass::INPUT_OUTPUT,
        0,
        &CreateWindowAux::new(),
    )
    .unwrap();
    conn.map_window(win).unwrap();
    let grab = conn
        .grab_keyboard(
            false,
            win,
            x11rb::CURRENT_TIME,
            GrabMode::ASYNC,
            GrabMode::ASYNC,
        )
        .unwrap()
        .reply()
        .unwrap();
    assert_eq!(
        grab.status,
        GrabStatus::ALREADY_GRABBED,
        "the lock holds the keyboard"
    );
    let pointer = conn
        .grab_pointer(
            false,
            win,
            x11rb::protocol::xproto::EventMask::BUTTON_PRESS,
            GrabMode::ASYNC,
            GrabMode::ASYNC,
            x11rb::NONE,
            x11rb::NONE,
            x11rb::CURRENT_TIME,
        )
        .unwrap()
        .reply()
        .unwrap();
    assert_eq!(
        pointer.status,
        GrabStatus::ALREADY_GRABBED,
        "and the pointer"
    );

    // A window mapped over the lock is covered again.
    conn.configure_window(
        win,
        &x11rb::protocol::xproto::ConfigureWindowAux::new()
            .width(WIDTH)
            .height(HEIGHT),
    )
    .unwrap();
    conn.flush().unwrap();
    x.wait_for_screen("the lock above the other window", SHOW, locked_screen);

    // SIGKILL from a terminal: a new lock screen within a second.
    let socket = agent.state_dir.dir.join("lock.sock");
    let before = lock_pids(&socket);
    assert_eq!(before.len(), 1, "one lock screen runs: {before:?}");
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &before[0].to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let at = Instant::now();
    let deadline = at + SHOW;
    loop {
        let now = lock_pids(&socket);
        if !now.is_empty() && !now.contains(&before[0]) && covers_the_screen(&x.lock_windows()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no new lock screen after SIGKILL"
        );
    }
    let back = at.elapsed();
    eprintln!("a new lock screen covered the display {back:?} after SIGKILL");
    x.wait_for_screen("the new lock screen drawn", SHOW, locked_screen);
    assert!(
        back < Duration::from_secs(1),
        "the lock screen came back after {back:?}"
    );
    agent.stop().await;
    srv.stop().await;
}

/// The lock screen against a daemon played by the test: every state the
/// player can see, each checked by pixels and saved for the README.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lock_screen_shows_each_state_the_daemon_gives_it() {
    use club_shared::lock::{DaemonMsg, LockMsg, LockView};
    use club_shared::protocol::ShownSession;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    const DISABLED: u32 = 0x3a4450;
    const ERROR: u32 = 0xff6b6b;
    const WARN: u32 = 0xf0b429;

    let x = Xvfb::start();
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("lock.sock");
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    let mut lock = tokio::process::Command::new(workspace_bin("club-lock"))
        .arg("--socket")
        .arg(&socket)
        .env("DISPLAY", &x.display)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (stream, _) = tokio::time::timeout(WAIT, listener.accept())
        .await
        .expect("club-lock connects")
        .unwrap();
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r).lines();
    let mut view = LockView {
        message: None,
        locked: true,
        connected: true,
        club_name: Some("Arena".into()),
        device_name: Some("PC-07".into()),
        session: Some(ShownSession {
            id: 5,
            client_name: "Anna".into(),
            status: SessionStatus::Active,
            tariff_name: "Night 3 h".into(),
            ends_at: None,
        }),
        warnings: Vec::new(),
        refused: None,
    };
    async fn say(w: &mut tokio::net::unix::OwnedWriteHalf, msg: &DaemonMsg) {
        let mut line = serde_json::to_vec(msg).unwrap();
        line.push(b'\n');
        w.write_all(&line).await.unwrap();
    }
    say(&mut w, &DaemonMsg::View { view: view.clone() }).await;
    x.wait_for_screen("welcome", SHOW, welcome_screen);

    // Enter: the press reaches the daemon, and the button says Starting…
    // until the answer comes.
    x.key("KP_Enter");
    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("a press")
        .unwrap()
        .unwrap();
    let LockMsg::StartPressed { press } = serde_json::from_str(&line).unwrap();
    x.wait_for_screen("Starting…", SHOW, |s| {
        s.at(START.0 - 100, START.1) == DISABLED
    });
    x.save_png(&docs("lock-starting.png"));
    x.key("Return");

    // Refused: the reason in red, and Start again.
    say(
        &mut w,
        &DaemonMsg::StartAnswer {
            press,
            ok: false,
            message: Some("session is CANCELLED; ask the desk".into()),
        },
    )
    .await;
    x.wait_for_screen("the refusal", SHOW, |s| {
        welcome_screen(s) && s.any_in(600, 650, 720, 50, ERROR)
    });
    x.save_png(&docs("lock-refused.png"));

    // The server unreachable: a red indicator, no Start.
    view.connected = false;
    say(&mut w, &DaemonMsg::View { view: view.clone() }).await;
    x.wait_for_screen("the server unreachable", SHOW, |s| {
        locked_screen(s)
            && s.at(START.0 - 100, START.1) == BACKGROUND
            && s.any_in(600, 760, 720, 40, ERROR)
    });
    x.save_png(&docs("lock-offline.png"));

    // Playing, with a warning: no lock, a small notice at the top right,
    // and the keyboard free for the game.
    view.connected = true;
    view.locked = false;
    view.session.as_mut().unwrap().status = SessionStatus::Started;
    view.warnings = vec!["5 minutes left".into()];
    say(&mut w, &DaemonMsg::View { view: view.clone() }).await;
    x.wait_for_windows("no lock window", SHOW, |w| w.is_empty());
    x.wait_for_screen("the notice", SHOW, |s| {
        s.any_in(WIDTH - 460, 20, 440, 80, WARN) && s.share(BACKGROUND) < 0.1
    });
    x.save_png(&docs("lock-notice.png"));
    let (conn, screen) = x11rb::connect(Some(&x.display)).unwrap();
    let root = conn.setup().roots[screen].root;
    let grab = conn
        .grab_keyboard(
            false,
            root,
            x11rb::CURRENT_TIME,
            GrabMode::ASYNC,
            GrabMode::ASYNC,
        )
        .unwrap()
        .reply()
        .unwrap();
    assert_eq!(
        grab.status,
        GrabStatus::SUCCESS,
        "the notice holds no keyboard"
    );
    conn.ungrab_keyboard(x11rb::CURRENT_TIME).unwrap();
    conn.flush().unwrap();

    // A line it cannot read changes nothing; the daemon going away locks.
    w.write_all(b"{not json\n").await.unwrap();
    drop(w);
    drop(lines);
    x.wait_for_windows("the lock without a daemon", SHOW, covers_the_screen);
    x.wait_for_screen("locked without a daemon", SHOW, locked_screen);
    assert!(lock.try_wait().unwrap().is_none(), "club-lock still runs");
}

/// Monitors come and go (RandR 1.5 monitors on Xvfb): the lock is built
/// anew, one window per monitor, each with its own panel.
#[test]
fn the_lock_is_rebuilt_when_monitors_change() {
    use x11rb::protocol::randr::{ConnectionExt as _, MonitorInfo};

    let x = Xvfb::start();
    let dir = tempfile::tempdir().unwrap();
    // No daemon: the lock screen fails closed and shows the lock.
    let mut lock = std::process::Command::new(workspace_bin("club-lock"))
        .arg("--socket")
        .arg(dir.path().join("none.sock"))
        .env("DISPLAY", &x.display)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    x.wait_for_windows("one lock window", SHOW, covers_the_screen);

    let (conn, screen) = x11rb::connect(Some(&x.display)).unwrap();
    let root = conn.setup().roots[screen].root;
    // Two monitors side by side. The screen's output goes to the left one,
    // which takes the place of the output's own (automatic) monitor.
    let atom = |name: &str| {
        conn.intern_atom(false, name.as_bytes())
            .unwrap()
            .reply()
            .unwrap()
            .atom
    };
    let own = conn
        .randr_get_monitors(root, true)
        .unwrap()
        .reply()
        .unwrap()
        .monitors;
    let outputs = own.first().map(|m| m.outputs.clone()).unwrap_or_default();
    let (left, right) = (atom("LEFT"), atom("RIGHT"));
    let monitor = |name, x: i16, outputs: Vec<u32>| MonitorInfo {
        name,
        primary: x == 0,
        automatic: false,
        x,
        y: 0,
        width: 960,
        height: 1080,
        width_in_millimeters: 254,
        height_in_millimeters: 286,
        outputs,
    };
    for m in [monitor(left, 0, outputs), monitor(right, 960, Vec::new())] {
        conn.randr_set_monitor(root, m).unwrap().check().unwrap();
    }
    let mut two = x.wait_for_windows("a window on each monitor", SHOW, |w| w.len() == 2);
    two.sort();
    assert_eq!(two, [(0, 0, 960, 1080), (960, 0, 960, 1080)]);
    x.wait_for_screen("a lock panel on each monitor", SHOW, |s| {
        s.share(BACKGROUND) > 0.9
            && s.any_in(240, 400, 480, 100, TEXT)
            && s.any_in(1200, 400, 480, 100, TEXT)
    });

    // Back to one monitor.
    for m in [right, left] {
        conn.randr_delete_monitor(root, m).unwrap().check().unwrap();
    }
    x.wait_for_windows("one window again", SHOW, |w| {
        w.len() == 1 && covers_the_screen(w)
    });
    let _ = lock.kill();
    let _ = lock.wait();
}
