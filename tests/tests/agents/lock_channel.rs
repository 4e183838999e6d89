//! The daemon and its lock screen: the lock channel, restarts of the lock screen.

use super::*;

/// A FIFO the test reads lines from, opened before anything writes to it
/// (a writer's open waits for it): each line is an event the test waits
/// on, not a poll.
#[cfg(unix)]
struct Fifo {
    path: std::path::PathBuf,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::net::unix::pipe::Receiver>>,
}

#[cfg(unix)]
impl Fifo {
    fn new(path: std::path::PathBuf) -> Fifo {
        use tokio::io::AsyncBufReadExt;
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        let rx = tokio::net::unix::pipe::OpenOptions::new()
            .read_write(true)
            .open_receiver(&path)
            .unwrap();
        Fifo {
            path,
            lines: tokio::io::BufReader::new(rx).lines(),
        }
    }

    /// The next line, within [`WAIT`].
    async fn next(&mut self, what: &str) -> String {
        tokio::time::timeout(WAIT, self.lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("{what} in time"))
            .unwrap()
            .unwrap()
    }
}

/// A lock screen stand-in that tells the test its pid through a FIFO, then
/// stays.
#[cfg(unix)]
fn announcing_lock_screen(dir: &std::path::Path) -> (std::path::PathBuf, Fifo) {
    use std::os::unix::fs::PermissionsExt;
    let fifo = Fifo::new(dir.join("starts.fifo"));
    let script = dir.join("fake-lock.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$$\" > '{}'\nexec sleep 600\n",
            fifo.path.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, fifo)
}

/// A player signing in (the Windows service hears it from the service
/// manager) starts the lock screen again at once, in the session now on the
/// screen; the old one is ended and it does not count as a failure.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_change_moves_the_lock_screen_at_once_and_is_no_failure() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (device_id, state_dir, dir) =
        club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    let (script, mut starts) = announcing_lock_screen(dir.path());
    let mut next_start = async || -> u32 {
        let line = starts.next("the lock screen started").await;
        line.trim().parse().unwrap()
    };
    let agent = TestAgent::run(&srv.clock, device_id, state_dir, dir, |o| {
        o.lock_screen = Some(script.clone());
    })
    .await;
    let first = next_start().await;
    assert!(std::path::Path::new(&format!("/proc/{first}")).exists());
    agent.handle.session_changed();
    let second = next_start().await;
    assert_ne!(first, second, "a new lock screen");
    // The old one was ended and reaped before the new one started.
    assert!(
        !std::path::Path::new(&format!("/proc/{first}")).exists(),
        "the first lock screen still runs"
    );
    // Again: a move is never a quick exit counted towards "keeps failing".
    for _ in 0..3 {
        agent.handle.session_changed();
        next_start().await;
    }
    let s = agent.handle.status();
    assert!(s.locked);
    assert_eq!(s.lock_screen_problem, None);
    agent.stop().await;
    srv.stop().await;
}

/// With the lock screen another service's (club-lock's user unit, which
/// the player could stop), the daemon starts it again whenever none is
/// connected: at once after a grace, again until one connects, and the
/// hall hears of it from the second try on.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_starts_the_lock_screen_service_again_when_none_is_connected() {
    use tokio::io::AsyncBufReadExt;
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (device_id, state_dir, dir) =
        club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    let mut restarts = Fifo::new(dir.path().join("restarts.fifo"));
    let fifo = restarts.path.clone();
    let mut next_restart = async || restarts.next("a restart").await;
    let socket = state_dir.dir.join("lock.sock");
    // The stand-in for `systemctl --user … start club-lock` fails, as it
    // does while the player's session is not up.
    let cmd = format!(
        "echo restart > '{}'; echo 'no session' >&2; exit 1",
        fifo.display()
    );
    let agent = TestAgent::run(&srv.clock, device_id, state_dir, dir, |o| {
        o.lock_screen = None;
        o.lock_screen_restart_cmd = Some(cmd);
        o.lock_screen_grace = std::time::Duration::from_millis(100);
    })
    .await;
    assert_eq!(next_restart().await, "restart");
    assert_eq!(next_restart().await, "restart");
    let s = agent
        .wait("the hall told", |s| s.lock_screen_problem.is_some())
        .await;
    let problem = s.lock_screen_problem.unwrap();
    assert!(problem.contains("no lock screen is connected"), "{problem}");
    assert!(problem.contains("no session"), "{problem}");

    // A lock screen connects: the problem is gone, no more restarts.
    let stream = tokio::net::UnixStream::connect(&socket).await.unwrap();
    let mut lines = tokio::io::BufReader::new(stream).lines();
    tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("the view")
        .unwrap()
        .expect("a line");
    agent
        .wait("the problem cleared", |s| s.lock_screen_problem.is_none())
        .await;
    // It goes away (the player stopped its unit): started again.
    drop(lines);
    assert_eq!(next_restart().await, "restart");
    agent.stop().await;
    srv.stop().await;
}

#[cfg(unix)]
async fn next(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::net::unix::OwnedReadHalf>>,
) -> Option<club_shared::lock::DaemonMsg> {
    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("a line in time")
        .ok()?;
    line.map(|l| serde_json::from_str(&l).expect("the daemon speaks the protocol"))
}

/// The daemon's end of the lock screen's channel, spoken to as a hostile
/// local program would: bad lines get an error and the channel stays; a
/// press with nothing to start is refused; an endless line is cut off.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lock_channel_answers_bad_lines_and_never_unlocks() {
    use club_shared::lock::{DaemonMsg, MAX_LOCK_LINE_BYTES};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let agent = TestAgent::start(&srv, &api, h.zone, "PC-A").await;
    agent.wait("connected", |s| s.connected).await;
    let socket = agent.state_dir.dir.join("lock.sock");
    let stream = tokio::net::UnixStream::connect(&socket).await.unwrap();
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r).lines();
    let Some(DaemonMsg::View { view }) = next(&mut lines).await else {
        panic!("the view comes first")
    };
    assert!(view.locked && view.connected);

    for bad in [
        &b"{not json\n"[..],
        b"{\"type\":\"unlock\"}\n",
        b"{\"type\":\"start_pressed\"}\n",
    ] {
        w.write_all(bad).await.unwrap();
        assert!(
            matches!(next(&mut lines).await, Some(DaemonMsg::Error { .. })),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    w.write_all(b"{\"type\":\"start_pressed\",\"press\":7}\n")
        .await
        .unwrap();
    match next(&mut lines).await {
        Some(DaemonMsg::StartAnswer {
            press: 7,
            ok: false,
            message,
        }) => {
            assert!(message.unwrap().contains("no session"))
        }
        other => panic!("a refused press, got {other:?}"),
    }
    assert!(agent.status().locked, "nothing on the channel unlocks");

    // A line past the limit: an error, then the daemon closes the channel.
    let long = vec![b'x'; MAX_LOCK_LINE_BYTES + 10];
    let _ = w.write_all(&long).await;
    assert!(matches!(
        next(&mut lines).await,
        Some(DaemonMsg::Error { .. })
    ));
    assert!(next(&mut lines).await.is_none(), "closed");
    agent.stop().await;
    srv.stop().await;
}
