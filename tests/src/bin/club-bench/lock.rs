//! The lock screen on a real X display (Xvfb), with the release club-agent
//! and club-lock against the release server:
//! - Start to window gone: from the player's Enter (an XTEST key press) to
//!   the lock window's DestroyNotify: X -> club-lock -> club-agent -> server
//!   (a durable start) -> club-agent -> club-lock -> X. The baseline, in
//!   the same run and interleaved with it, is the same start through the
//!   REST API on another PC.
//! - Footprint: RSS and CPU of club-lock and of the daemon, locked (the
//!   lock screen at 1920x1080) and playing, over a quiet window.

use crate::api::Api;
use crate::report::{median, ms, pct, Report};
use crate::server::{proc_stats, Server, TICKS_PER_SECOND};
use anyhow::{bail, Context};
use club_tests::display::Xvfb;
use serde_json::json;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    ChangeWindowAttributesAux, ConnectionExt as _, EventMask, ImageFormat,
};
use x11rb::protocol::xtest::ConnectionExt as _;
use x11rb::protocol::Event;
use x11rb::rust_connection::RustConnection;

const ACCENT: u32 = 0x2f81f7;
/// A point of the Start button on a 1920x1080 screen.
const START: (i16, i16) = (860, 578);
const WAIT: Duration = Duration::from_secs(20);
const XK_RETURN: u32 = 0xff0d;

pub struct LockArgs {
    pub rounds: usize,
    pub presses: usize,
    pub seconds: u64,
}

/// The bench's own X client: XTEST for the key press, the root's
/// substructure events (with the instant each arrived) for the windows.
struct X {
    conn: std::sync::Arc<RustConnection>,
    root: u32,
    enter: u8,
    events: mpsc::Receiver<(Instant, Event)>,
}

impl X {
    fn open(display: &str) -> anyhow::Result<X> {
        let (conn, screen) = x11rb::connect(Some(display))?;
        let conn = std::sync::Arc::new(conn);
        let root = conn.setup().roots[screen].root;
        conn.change_window_attributes(
            root,
            &ChangeWindowAttributesAux::new().event_mask(EventMask::SUBSTRUCTURE_NOTIFY),
        )?;
        let (min, max) = (conn.setup().min_keycode, conn.setup().max_keycode);
        let map = conn.get_keyboard_mapping(min, max - min + 1)?.reply()?;
        let per = map.keysyms_per_keycode.max(1) as usize;
        let enter = map
            .keysyms
            .chunks(per)
            .position(|s| s.contains(&XK_RETURN))
            .map(|i| min + i as u8)
            .context("no Return key")?;
        conn.flush()?;
        let (tx, events) = mpsc::channel();
        let reader = conn.clone();
        std::thread::spawn(move || {
            while let Ok(e) = reader.wait_for_event() {
                if tx.send((Instant::now(), e)).is_err() {
                    return;
                }
            }
        });
        Ok(X {
            conn,
            root,
            enter,
            events,
        })
    }

    /// The first event `pick` accepts, and when it arrived.
    fn wait<T>(
        &self,
        what: &str,
        mut pick: impl FnMut(&Event) -> Option<T>,
    ) -> anyhow::Result<(Instant, T)> {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (at, e) = self
                .events
                .recv_timeout(left)
                .map_err(|_| anyhow::anyhow!("no {what} within {WAIT:?}"))?;
            if let Some(v) = pick(&e) {
                return Ok((at, v));
            }
        }
    }

    fn pixel(&self, (x, y): (i16, i16)) -> anyhow::Result<u32> {
        let img = self
            .conn
            .get_image(ImageFormat::Z_PIXMAP, self.root, x, y, 1, 1, !0)?
            .reply()?;
        let d = &img.data;
        Ok(u32::from_le_bytes([d[0], d[1], d[2], 0]))
    }

    /// Waits until the pixel at `at` has `colour` (set-up, not timed).
    fn wait_pixel(&self, at: (i16, i16), colour: u32) -> anyhow::Result<()> {
        let deadline = Instant::now() + WAIT;
        while self.pixel(at)? != colour {
            if Instant::now() > deadline {
                bail!("the pixel at {at:?} never became {colour:06x}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    fn press_enter(&self) -> anyhow::Result<()> {
        self.conn
            .xtest_fake_input(2, self.enter, 0, self.root, 0, 0, 0)?; // KeyPress
        self.conn
            .xtest_fake_input(3, self.enter, 0, self.root, 0, 0, 0)?; // KeyRelease
        self.conn.flush()?;
        Ok(())
    }
}

/// The newest override-redirect window mapped: the lock window.
fn lock_mapped(e: &Event) -> Option<u32> {
    match e {
        Event::MapNotify(m) if m.override_redirect => Some(m.window),
        _ => None,
    }
}

/// (RSS KiB, CPU % of a core) of each process over the same quiet window.
fn usage(pids: &[u32], window: Duration) -> anyhow::Result<Vec<(u64, f64)>> {
    let before = pids
        .iter()
        .map(|p| proc_stats(*p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    std::thread::sleep(window);
    pids.iter()
        .zip(before)
        .map(|(p, (_, b))| {
            let (rss, a) = proc_stats(*p)?;
            Ok((
                rss,
                (a - b) as f64 / TICKS_PER_SECOND / window.as_secs_f64() * 100.0,
            ))
        })
        .collect()
}

fn child_of(parent: u32) -> anyhow::Result<u32> {
    let out = std::process::Command::new("pgrep")
        .args(["-P", &parent.to_string()])
        .output()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .context("club-lock is not running under the agent")
}

pub async fn run(a: &LockArgs) -> anyhow::Result<String> {
    let bin = |name: &str| std::env::current_exe().map(|e| e.with_file_name(name));
    let (agent_bin, lock_bin) = (bin("club-agent")?, bin("club-lock")?);
    if !agent_bin.exists() || !lock_bin.exists() {
        bail!("cargo build --release -p club-server -p club-agent -p club-lock first");
    }
    let xvfb = Xvfb::start();
    let server = Server::start().await?;
    let api = Api::login(&server.base).await?;
    let devices = api.devices("Lock bench", 2).await?;
    let (client, tariff) = api.rich_client_and_tariff("lock").await?;
    let (pc, other) = (
        devices[0]["id"].as_i64().context("id")?,
        devices[1]["id"].as_i64().context("id")?,
    );
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("agent");
    let code = devices[0]["enrollment_code"].as_str().context("code")?;
    let enrolled = std::process::Command::new(&agent_bin)
        .args([
            "enroll",
            "--server",
            &server.base,
            "--code",
            code,
            "--state-dir",
        ])
        .arg(&state)
        .output()?;
    if !enrolled.status.success() {
        bail!("enroll: {}", String::from_utf8_lossy(&enrolled.stderr));
    }
    let x = X::open(&xvfb.display)?;
    let mut agent = tokio::process::Command::new(&agent_bin)
        .args(["run", "--ui-listen", "127.0.0.1:0", "--state-dir"])
        .arg(&state)
        .arg("--lock-screen")
        .arg(&lock_bin)
        .env("DISPLAY", &xvfb.display)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()?;
    let agent_pid = agent.id().context("agent pid")?;
    let (_, mut window) = x.wait("the first lock window", lock_mapped)?;

    let session = |device: i64| {
        let api = api.clone();
        async move {
            api.id(
                "/sessions",
                json!({"client_id": client, "device_id": device, "tariff_id": tariff}),
            )
            .await
        }
    };
    let mut rounds = Vec::new();
    for round in 0..a.rounds {
        eprintln!("lock: round {} of {}", round + 1, a.rounds);
        let (mut lock, mut rest) = (Vec::new(), Vec::new());
        for _ in 0..a.presses {
            // The PC shows the welcome and its Start button.
            let id = session(pc).await?;
            x.wait_pixel(START, ACCENT)?;
            let t0 = Instant::now();
            x.press_enter()?;
            let gone = window;
            let (t1, ()) = x.wait("the lock window destroyed", |e| match e {
                Event::DestroyNotify(d) if d.window == gone => Some(()),
                _ => None,
            })?;
            lock.push(t1 - t0);
            api.post(&format!("/sessions/{id}/end"), json!({})).await?;
            window = x.wait("the lock window again", lock_mapped)?.1;

            // The baseline: the same start through the REST API.
            let id = session(other).await?;
            let t0 = Instant::now();
            api.post(&format!("/sessions/{id}/start"), json!({"force": true}))
                .await?;
            rest.push(t0.elapsed());
            api.post(&format!("/sessions/{id}/end"), json!({})).await?;
        }
        rounds.push((lock, rest));
    }

    // Footprint: locked and quiet, then playing.
    let lock_pid = child_of(agent_pid)?;
    let quiet = Duration::from_secs(a.seconds);
    eprintln!("lock: footprint, locked");
    let locked = usage(&[lock_pid, agent_pid], quiet)?;
    let (locked_lock, locked_daemon) = (locked[0], locked[1]);
    let id = session(pc).await?;
    x.wait_pixel(START, ACCENT)?;
    api.post(&format!("/sessions/{id}/start"), json!({}))
        .await?;
    x.wait("the lock window destroyed", |e| {
        matches!(e, Event::DestroyNotify(d) if d.window == window).then_some(())
    })?;
    eprintln!("lock: footprint, playing");
    let playing = usage(&[agent_pid, lock_pid], quiet)?;
    let ((daemon_rss, daemon_cpu), (lock_rss, lock_cpu)) = (playing[0], playing[1]);
    let _ = agent.kill().await;
    server.stop().await?;

    let mut r = Report::default();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let header = format!(
        "# Clubhall lock-screen benchmark\n\n\
         Command: `cargo run --release -p club-tests --bin club-bench -- lock --rounds {} --presses {} --seconds {}`  \n\
         Machine: {cores} cores, {}; Xvfb at 1920x1080x24, the release server, club-agent and club-lock and this bench share them; loopback only.\n\n",
        a.rounds, a.presses, a.seconds, std::env::consts::OS
    );
    r.section("Start pressed to lock window gone");
    r.line("Each press: a session is created for the PC, the bench waits for the Start button's pixels, then times an XTEST Enter to the lock window's DestroyNotify. The baseline, interleaved press by press, is `POST /sessions/{id}/start` on another PC (the same durable start, without the lock screen and the agent).");
    let mut rows = Vec::new();
    let (mut all_lock, mut all_rest, mut medians) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (lock, rest)) in rounds.iter_mut().enumerate() {
        medians.push(median(lock));
        rows.push(vec![
            (i + 1).to_string(),
            lock.len().to_string(),
            ms(median(lock)),
            ms(pct(lock, 0.99)),
            ms(median(rest)),
            ms(pct(rest, 0.99)),
            format!(
                "{:.1}x",
                median(lock).as_secs_f64() / median(rest).as_secs_f64().max(1e-9)
            ),
        ]);
        all_lock.extend(lock.iter().copied());
        all_rest.extend(rest.iter().copied());
    }
    let (p50, p99) = (median(&mut all_lock), pct(&mut all_lock, 0.99));
    let (b50, b99) = (median(&mut all_rest), pct(&mut all_rest, 0.99));
    rows.push(vec![
        "all".into(),
        all_lock.len().to_string(),
        ms(p50),
        ms(p99),
        ms(b50),
        ms(b99),
        format!("{:.1}x", p50.as_secs_f64() / b50.as_secs_f64().max(1e-9)),
    ]);
    r.table(
        &[
            "round",
            "presses",
            "Enter to window gone, median",
            "p99",
            "REST start (baseline), median",
            "p99",
            "median ratio",
        ],
        &rows,
    );
    medians.sort();
    let spread = format!(
        "round medians {} to {}",
        ms(medians[0]),
        ms(*medians.last().unwrap_or(&medians[0]))
    );
    r.line(&format!("Spread: {spread}."));
    r.target(
        "Start pressed to window gone",
        format!("p99 {} (median {}; {spread})", ms(p99), ms(p50)),
        "p99 <= 100 ms",
        p99 <= Duration::from_millis(100),
    );

    r.section("Footprint");
    let pct_s = |c: f64| format!("{c:.3} % of a core");
    r.table(
        &["process", "state", "RSS", "CPU"],
        &[
            vec![
                "club-lock".into(),
                format!("locked, 1920x1080, quiet for {} s", a.seconds),
                format!("{:.1} MiB", locked_lock.0 as f64 / 1024.0),
                pct_s(locked_lock.1),
            ],
            vec![
                "club-agent".into(),
                "locked".into(),
                format!("{:.1} MiB", locked_daemon.0 as f64 / 1024.0),
                pct_s(locked_daemon.1),
            ],
            vec![
                "club-agent".into(),
                format!("playing (unlocked), quiet for {} s", a.seconds),
                format!("{:.1} MiB", daemon_rss as f64 / 1024.0),
                pct_s(daemon_cpu),
            ],
            vec![
                "club-lock".into(),
                format!("playing: no window, no grab; the same {} s", a.seconds),
                format!("{:.1} MiB", lock_rss as f64 / 1024.0),
                pct_s(lock_cpu),
            ],
        ],
    );
    r.target(
        "club-lock RSS, locked at 1920x1080",
        format!("{:.1} MiB", locked_lock.0 as f64 / 1024.0),
        "<= 16 MiB",
        locked_lock.0 <= 16 * 1024,
    );
    r.target(
        "club-agent RSS, playing",
        format!("{:.1} MiB", daemon_rss as f64 / 1024.0),
        "<= 6 MiB",
        daemon_rss <= 6 * 1024,
    );
    Ok(r.render(&header))
}
