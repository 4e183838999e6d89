//! What the lock screen shows for each state, and monitors changing.

use super::*;

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
