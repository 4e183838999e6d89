//! The scenarios, in the order `all` runs them.

use crate::report::{median, ms, pct, Report};
use crate::screens::Screens;
use crate::server::{proc_stats, Api, Server, TICKS_PER_SECOND};
use crate::sim::{now_ns, Fleet};
use crate::{baselines, Args};
use anyhow::Context;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const LATENCY_AGENTS: usize = 2_000;
const IDLE_SMALL: usize = 1_000;
const SCREENS: usize = 200;
const STALLED: usize = 10;
/// The unmeasured burst that fills the stalled screens' socket buffers.
const STALL_WARM_UP_RATE: u64 = 500;
const STALL_WARM_UP_SECONDS: u64 = 5;
const CLIENTS: usize = 32;
/// One heartbeat period: every agent is heard from once in the window.
const IDLE_WINDOW: Duration = Duration::from_secs(15);

struct Baseline {
    echo: Duration,
    commit: Duration,
    commit_rate: f64,
}

impl Baseline {
    fn latency(&self) -> Duration {
        self.echo + self.commit
    }
}

/// One run of the scenarios: the markdown, and every figure by name.
pub async fn run(a: &Args) -> anyhow::Result<(String, BTreeMap<String, f64>)> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let header = format!(
        "# Clubhall benchmarks\n\n\
         Command: `cargo run --release -p club-tests --bin club-bench -- {} --agents {} --seconds {}{}`  \n\
         Machine: {cores} cores, {}; the server, the agent processes and this one share them; loopback only.\n\n",
        a.scenario,
        a.agents,
        a.seconds,
        if a.runs > 1 { format!(" --runs {}", a.runs) } else { String::new() },
        std::env::consts::OS
    );
    let mut r = Report::default();
    let base = baseline(&mut r).await?;
    if a.scenario == "all" || a.scenario == "durable" {
        durable(&mut r, &base, a.seconds).await?;
    }
    if ["all", "hall", "idle"].contains(&a.scenario.as_str()) {
        hall(&mut r, &base, a).await?;
        idle_tls(&mut r).await?;
    }
    r.line("Agent footprint (scenario 6) is measured by `scripts/agent-footprint.sh 60` on the real club-agent binary; see the README.");
    Ok((r.render(&header), r.figures))
}

async fn baseline(r: &mut Report) -> anyhow::Result<Baseline> {
    eprintln!("baselines");
    let mut echo = baselines::echo(2000).await?;
    let mut commit = baselines::commit(3).await?;
    let b = Baseline {
        echo: median(&mut echo),
        commit: median(&mut commit),
        commit_rate: commit.len() as f64 / 3.0,
    };
    r.figure("baseline.echo_median_ms", b.echo.as_secs_f64() * 1000.0);
    r.figure("baseline.commit_median_ms", b.commit.as_secs_f64() * 1000.0);
    r.figure("baseline.commits_per_s", b.commit_rate);
    r.section("Baselines (same run)");
    r.table(
        &["baseline", "median", "p99"],
        &[
            vec![
                "tokio-tungstenite echo round trip, loopback".into(),
                ms(b.echo),
                ms(pct(&mut echo, 0.99)),
            ],
            vec![
                "SQLite WAL commit, synchronous=FULL, same disk".into(),
                ms(b.commit),
                format!(
                    "{} ({:.0} commits/s)",
                    ms(pct(&mut commit, 0.99)),
                    b.commit_rate
                ),
            ],
        ],
    );
    Ok(b)
}

/// Session operations (create, cancel) from 32 concurrent operators, each
/// acknowledged only once durable.
async fn durable(r: &mut Report, b: &Baseline, seconds: u64) -> anyhow::Result<()> {
    eprintln!("durable throughput");
    let server = Server::start().await?;
    let api = Api::login(&server.base).await?;
    let devices = api.devices("Durable", CLIENTS).await?;
    // Each operator's client and tariff first: the window times the
    // session operations only.
    let mut operators = Vec::with_capacity(CLIENTS);
    for (i, d) in devices.into_iter().enumerate() {
        let (client, tariff) = api.rich_client_and_tariff(&format!("durable {i}")).await?;
        operators.push((client, tariff, d["id"].as_i64().context("device")?));
    }
    let end = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let cpu0 = CpuTicks::now(server.pid())?;
    let mut workers = Vec::new();
    for (client, tariff, device) in operators {
        let api = api.clone();
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < end {
                let t = Instant::now();
                let s = api
                    .post(
                        "/sessions",
                        json!({"client_id": client, "device_id": device, "tariff_id": tariff}),
                    )
                    .await?;
                lat.push(t.elapsed());
                let t = Instant::now();
                api.post(&format!("/sessions/{}/cancel", s["id"]), json!({}))
                    .await?;
                lat.push(t.elapsed());
            }
            anyhow::Ok(lat)
        }));
    }
    let mut lat = Vec::new();
    for w in workers {
        lat.extend(w.await??);
    }
    let rate = lat.len() as f64 / start.elapsed().as_secs_f64();
    let cpu = CpuTicks::now(server.pid())?.since(&cpu0);
    r.figure("durable.ops_per_s", rate);
    r.figure("durable.server_cpu_percent", cpu.server);
    r.figure("durable.bench_cpu_percent", cpu.bench);
    r.figure("durable.machine_busy_percent", cpu.machine_busy);
    r.figure("durable.median_ms", median(&mut lat).as_secs_f64() * 1000.0);
    r.figure("durable.p99_ms", pct(&mut lat, 0.99).as_secs_f64() * 1000.0);
    r.figure("durable.ratio_to_commits", rate / b.commit_rate);
    r.section("Durable throughput (scenario 4)");
    r.line(&format!("{CLIENTS} operators, each creating and cancelling sessions on a PC of its own for {seconds} s; every operation is answered only after its commit (synchronous=FULL). Operations that queue for the writer share one commit (group commit)."));
    r.table(
        &[
            "session operations/s",
            "median latency",
            "p99",
            "ratio to bare commits/s",
            "server CPU",
            "bench CPU",
            "machine busy",
        ],
        &[vec![
            format!("{rate:.0}"),
            ms(median(&mut lat)),
            ms(pct(&mut lat, 0.99)),
            format!("{:.2}", rate / b.commit_rate),
            format!("{:.0} % of a core", cpu.server),
            format!("{:.0} % of a core", cpu.bench),
            format!("{:.0} % of both cores", cpu.machine_busy),
        ]],
    );
    r.target(
        "4 durable throughput",
        format!("{rate:.0} session operations/s"),
        ">= 5,000/s",
        rate >= 5000.0,
    );
    server.stop().await
}

struct Idle {
    rss_before: u64,
    rss_after: u64,
    cpu_percent: f64,
}

/// Server RSS across connecting `fleet`, and server CPU over one heartbeat
/// period once they are connected.
async fn idle<T>(
    server: &Server,
    connect: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<(T, Idle)> {
    let (rss_before, _) = proc_stats(server.pid())?;
    let fleet = connect.await?;
    // Let the connect burst drain before the window opens.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rss_after, _) = proc_stats(server.pid())?;
    let t0 = CpuTicks::now(server.pid())?;
    tokio::time::sleep(IDLE_WINDOW).await;
    let cpu_percent = CpuTicks::now(server.pid())?.since(&t0).server;
    Ok((
        fleet,
        Idle {
            rss_before,
            rss_after,
            cpu_percent,
        },
    ))
}

/// Scenario 1 again over TLS: the same 1,000 idle agents on a fresh server
/// serving wss:// with a self-signed certificate, each pinning it.
async fn idle_tls(r: &mut Report) -> anyhow::Result<()> {
    eprintln!("idle over TLS: {IDLE_SMALL} agents");
    let server = Server::start_with(&["--tls-self-signed"]).await?;
    let pin = server.pin.clone().context("the server's fingerprint")?;
    let api = Api::login_pinned(&server.base, Some(&pin)).await?;
    let creds = api.enroll(IDLE_SMALL).await?;
    let ws = server.ws_base();
    let (fleet, i) = idle(&server, Fleet::start_pinned(&ws, &creds, Some(&pin))).await?;
    let per = i.rss_after.saturating_sub(i.rss_before) as f64 / IDLE_SMALL as f64;
    r.figure("idle_tls.rss_per_connection_kib_1000", per);
    r.section("Idle agents over TLS (scenario 1, wss://)");
    r.line("A fresh server with `--tls-self-signed`; each agent pins its certificate and holds one wss:// connection (rustls, TLS 1.3). Measured as above; compare with the 1,000 row of the plain table, a fresh server too.");
    r.table(
        &[
            "agents connected",
            "server RSS before",
            "after",
            "per connection",
            "server CPU",
        ],
        &[vec![
            format!("{IDLE_SMALL} over TLS"),
            format!("{} KiB", i.rss_before),
            format!("{} KiB", i.rss_after),
            format!("{per:.1} KiB"),
            format!("{:.2} % of a core", i.cpu_percent),
        ]],
    );
    drop(fleet);
    server.stop().await
}

async fn hall(r: &mut Report, b: &Baseline, a: &Args) -> anyhow::Result<()> {
    let n = a.agents;
    let mut server = Server::start().await?;
    let api = Api::login(&server.base).await?;
    eprintln!("enrolling {n} PCs");
    let t = Instant::now();
    let creds = api.enroll(n).await?;
    let enroll_secs = t.elapsed().as_secs_f64();

    // Scenario 1 at 1,000, then at N on the same server, before any
    // other load has grown it.
    eprintln!("idle: {IDLE_SMALL} agents");
    let ws = server.ws_base();
    let (first, small) = idle(&server, Fleet::start(&ws, &creds[..IDLE_SMALL])).await?;
    eprintln!("idle: {n} agents");
    let ((second, rest), big) = idle(&server, async {
        let second = Fleet::start(&ws, &creds[IDLE_SMALL..LATENCY_AGENTS]).await?;
        let rest = Fleet::start(&ws, &creds[LATENCY_AGENTS..]).await?;
        Ok((second, rest))
    })
    .await?;
    r.section("Idle agents (scenario 1)");
    r.line(&format!("Heartbeats every 15 s at random phases; CPU over one {} s heartbeat period once connected. Per connection: the server's RSS growth across connecting that group of agents. {n} PCs enrolled beforehand in {enroll_secs:.1} s ({:.0} PCs/s, two requests each).", IDLE_WINDOW.as_secs(), n as f64 / enroll_secs));
    let per =
        |i: &Idle, count: usize| i.rss_after.saturating_sub(i.rss_before) as f64 / count as f64;
    let small_per = per(&small, IDLE_SMALL);
    let big_per = per(&big, n - IDLE_SMALL);
    r.table(
        &[
            "agents connected",
            "server RSS before",
            "after",
            "per connection",
            "server CPU",
        ],
        &[
            vec![
                format!("{IDLE_SMALL}"),
                format!("{} KiB", small.rss_before),
                format!("{} KiB", small.rss_after),
                format!("{small_per:.1} KiB"),
                format!("{:.2} % of a core", small.cpu_percent),
            ],
            vec![
                format!("{n} (the last {} connecting)", n - IDLE_SMALL),
                format!("{} KiB", big.rss_before),
                format!("{} KiB", big.rss_after),
                format!("{big_per:.1} KiB"),
                format!("{:.2} % of a core", big.cpu_percent),
            ],
        ],
    );
    r.figure("idle.rss_per_connection_kib_1000", small_per);
    r.figure("idle.rss_per_connection_kib_n", big_per);
    r.figure("idle.server_cpu_percent_n", big.cpu_percent);
    r.target(
        "1 idle, RSS per connection",
        format!("{small_per:.1} KiB at 1,000; {big_per:.1} KiB at {n}"),
        "<= 16 KiB",
        small_per.max(big_per) <= 16.0,
    );
    r.target(
        &format!("1 idle, server CPU at {n}"),
        format!("{:.2} % of a core", big.cpu_percent),
        "<= 5 %",
        big.cpu_percent <= 5.0,
    );
    if a.scenario == "idle" {
        drop((first, second, rest));
        return server.stop().await;
    }
    // Scenario 2 is asked with 2,000 agents: the rest leave until the storm.
    drop(rest);
    // Their going offline is a burst of hall events: let it pass before
    // the screens open, so that it is not measured as fan-out.
    tokio::time::timeout(Duration::from_secs(60), async {
        while api.online().await? > LATENCY_AGENTS {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        anyhow::Ok(())
    })
    .await
    .context("the server noticing agents leave")??;
    let devices: Vec<i64> = creds[..LATENCY_AGENTS].iter().map(|(id, _)| *id).collect();
    let fleets = [&first, &second];

    // Scenarios 2 and 3.
    eprintln!("command latency with {SCREENS} screens");
    let mut screens = Screens::open(&server.ws_base(), &api.token, SCREENS, 0).await?;
    r.section(&format!("Command latency and hall fan-out (scenarios 2 and 3): {LATENCY_AGENTS} agents, {SCREENS} hall screens"));
    r.line(&format!("Operations alternate session create and cancel, one PC each, at a fixed rate for {} s. Agent latency: from the operator's HTTP request to the agent receiving its new state; a create is superseded when the cancel that followed replaced its state before it was sent (an agent's outbox holds only its latest state), and unanswered when its PC never had it. Screen delivery: from the create request to each screen receiving the session's created event. Baseline for the ratio: echo + commit medians = {}.", a.seconds, ms(b.latency())));
    let mut rows = Vec::new();
    let mut fan_rows = Vec::new();
    // The fan-out p99 with stalled screens is compared with the 100/s
    // window before it and with a repeat of that window after it: the
    // difference between those two is the measurement's own noise.
    let mut plain_p99 = Vec::new();
    let mut stalled_p99 = None;
    let mut open_stalled = 0;
    for (rate, stalled) in [(100, 0), (500, 0), (100, STALLED), (100, 0)] {
        let repeat = stalled == 0 && stalled_p99.is_some();
        if stalled != open_stalled {
            drop(screens);
            screens =
                Screens::open(&server.ws_base(), &api.token, SCREENS - stalled, stalled).await?;
            open_stalled = stalled;
            if stalled > 0 {
                // The kernel takes up to 4 MiB per socket before a send to
                // a screen that never reads blocks: about 8 s of events at
                // 100/s. An unmeasured burst fills the stalled screens'
                // buffers first, so that the window sees them stalled.
                eprintln!("  filling the stalled screens' socket buffers");
                let buyer = api.rich_client_and_tariff("stall warm-up").await?;
                drive(
                    &api,
                    buyer,
                    &devices,
                    STALL_WARM_UP_RATE,
                    STALL_WARM_UP_SECONDS,
                )
                .await?;
            }
        }
        eprintln!("  {rate} ops/s, {stalled} stalled screens");
        let resyncs_before = screens
            .deliveries
            .resyncs
            .load(std::sync::atomic::Ordering::Relaxed);
        let buyer = api
            .rich_client_and_tariff(&format!("latency {rate} {}", now_ns()))
            .await?;
        let cpu_before = CpuTicks::now(server.pid())?;
        let ops = drive(&api, buyer, &devices, rate, a.seconds).await?;
        let cpu = CpuTicks::now(server.pid())?.since(&cpu_before);
        // Late arrivals get a moment before the figures are taken.
        let deadline = Instant::now() + Duration::from_secs(5);
        let Latencies {
            samples: mut agent,
            lost,
            superseded,
        } = loop {
            let m = agent_latencies(&ops, &fleets);
            if m.lost == 0 || Instant::now() > deadline {
                break m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        // Every live screen should see every create: the slowest
        // deliveries are the ones still on their way.
        let creates = ops.iter().filter(|o| o.kind == Kind::Create).count();
        let expected = creates * (SCREENS - stalled);
        let mut screen = loop {
            let d = screen_latencies(&ops, &screens);
            if d.len() >= expected || Instant::now() > deadline {
                break d;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let p99 = pct(&mut agent, 0.99);
        rows.push(vec![
            format!("{rate}/s"),
            format!("{}", agent.len()),
            format!("{lost}"),
            format!("{superseded}"),
            ms(median(&mut agent)),
            ms(p99),
            ms(pct(&mut agent, 0.999)),
            format!("{:.1}x", p99.as_secs_f64() / b.latency().as_secs_f64()),
        ]);
        let screen_p99 = pct(&mut screen, 0.99);
        fan_rows.push(vec![
            format!("{rate}/s"),
            format!("{} live + {stalled} stalled", SCREENS - stalled),
            format!("{} of {expected}", screen.len()),
            ms(median(&mut screen)),
            ms(screen_p99),
            format!(
                "{}",
                screens
                    .deliveries
                    .resyncs
                    .load(std::sync::atomic::Ordering::Relaxed)
                    - resyncs_before
            ),
            format!("{:.0} %", cpu.server),
            format!("{:.0} %", cpu.bench),
            format!("{:.0} %", cpu.machine_busy),
        ]);
        if stalled == 0 && rate == 100 {
            plain_p99.push(screen_p99);
        }
        if stalled > 0 {
            stalled_p99 = Some(screen_p99);
        } else if !repeat {
            let ratio = p99.as_secs_f64() / b.latency().as_secs_f64();
            r.figure(
                &format!("latency.p99_ms_{rate}"),
                p99.as_secs_f64() * 1000.0,
            );
            r.figure(&format!("latency.ratio_{rate}"), ratio);
            r.figure(
                &format!("fanout.p99_ms_{rate}"),
                screen_p99.as_secs_f64() * 1000.0,
            );
            r.target(
                &format!("2 command latency, {rate}/s"),
                format!("p99 {} = {ratio:.1}x echo + commit", ms(p99)),
                "p99 <= 3x",
                ratio <= 3.0,
            );
            r.target(
                &format!("3 fan-out, {rate}/s"),
                format!("p99 {}", ms(screen_p99)),
                "p99 <= 50 ms",
                screen_p99 <= Duration::from_millis(50),
            );
        }
    }
    if let (Some(with), [before, after]) = (stalled_p99, plain_p99.as_slice()) {
        let change = |without: Duration| with.as_secs_f64() / without.as_secs_f64().max(1e-9) - 1.0;
        let mean = (*before + *after) / 2;
        let noise = after.as_secs_f64() / before.as_secs_f64().max(1e-9) - 1.0;
        r.figure("fanout.stalled_change_percent", change(mean) * 100.0);
        r.figure("fanout.stalled_noise_percent", noise * 100.0);
        r.target(
            &format!("3 fan-out with {STALLED} stalled, 100/s"),
            format!(
                "p99 {} ({:+.0} % against the mean of the windows before and after, {:+.0} % and {:+.0} % against each; those two differ by {:+.0} %)",
                ms(with),
                change(mean) * 100.0,
                change(*before) * 100.0,
                change(*after) * 100.0,
                noise * 100.0
            ),
            "within 10 %",
            change(mean) <= 0.10,
        );
    }
    drop(screens);
    r.table(
        &[
            "rate",
            "agent samples",
            "unanswered",
            "superseded",
            "p50",
            "p99",
            "p999",
            "p99 / (echo + commit)",
        ],
        &rows,
    );
    r.table(
        &[
            "rate",
            "screens",
            "deliveries",
            "p50",
            "p99",
            "resyncs of live screens",
            "server CPU",
            "bench CPU",
            "machine busy",
        ],
        &fan_rows,
    );
    r.line(&format!("CPU over each window: the server's and this process's (which reads every event on every live screen) in % of one core, and how busy all {} cores were (the agent processes take the rest).", std::thread::available_parallelism().map_or(1, |n| n.get())));

    let rest = Fleet::start(&server.ws_base(), &creds[LATENCY_AGENTS..]).await?;

    // Scenario 5.
    eprintln!("reconnect storm: {n} agents");
    let fleets = [&first, &second, &rest];
    let before: Vec<usize> = fleets
        .iter()
        .map(|f| f.seen.lock().unwrap().synced.len())
        .collect();
    let fails_before: usize = fleets
        .iter()
        .map(|f| f.seen.lock().unwrap().connfails)
        .sum();
    let t = Instant::now();
    server.restart().await?;
    let restarted = t.elapsed();
    let listening_ns = now_ns();
    let patience = Duration::from_secs(180);
    for (f, before) in fleets.iter().zip(&before) {
        let want = before + f.size;
        f.wait(patience, |s| s.synced.len() >= want || !s.failed.is_empty())
            .await
            .context("agents resyncing after the restart")?;
    }
    let last_ns = fleets
        .iter()
        .flat_map(|f| {
            f.seen
                .lock()
                .unwrap()
                .synced
                .iter()
                .map(|(_, at)| *at)
                .max()
        })
        .max()
        .unwrap_or(listening_ns);
    let all_synced = Duration::from_nanos(last_ns.saturating_sub(listening_ns));
    let failed: usize = fleets
        .iter()
        .map(|f| f.seen.lock().unwrap().failed.len())
        .sum();
    let attempts_failed: usize = fleets
        .iter()
        .map(|f| f.seen.lock().unwrap().connfails)
        .sum::<usize>()
        - fails_before;
    r.figure("storm.all_synced_s", all_synced.as_secs_f64());
    r.figure("storm.gave_up", failed as f64);
    r.section("Reconnect storm (scenario 5)");
    r.line("The server is stopped (SIGTERM: agents get a close frame) and started again on the same address and database; each agent reconnects with the club agent's backoff (1 s doubling to 60 s, full jitter). Time from the new server listening until the last agent has its state.");
    r.table(
        &[
            "agents",
            "server down (stop + start)",
            "all connected and synced after",
            "failed connection attempts (retried)",
            "agents that gave up",
        ],
        &[vec![
            format!("{n}"),
            ms(restarted),
            ms(all_synced),
            format!("{attempts_failed}"),
            format!("{failed}"),
        ]],
    );
    r.target(
        &format!("5 reconnect storm, {n} agents"),
        format!("{:.1} s, {failed} gave up", all_synced.as_secs_f64()),
        "<= 60 s, zero failures",
        all_synced <= Duration::from_secs(60) && failed == 0,
    );
    r.section("Limits met");
    r.line(&format!("Open files: {} per process (soft limit), so the agents run in {} child processes of their own; each connection costs the server one descriptor. The load generator shares the machine's cores with the server, so every figure here includes that competition.", open_files_limit(), fleets.len()));
    Ok(())
}

/// CPU time so far: the server's, this process's, and the machine's.
struct CpuTicks {
    at: Instant,
    server: u64,
    bench: u64,
    machine_busy: u64,
    machine_all: u64,
}

/// CPU over a window, in % of one core (the machine: % of all cores).
struct CpuUse {
    server: f64,
    bench: f64,
    machine_busy: f64,
}

impl CpuTicks {
    fn now(server_pid: u32) -> anyhow::Result<CpuTicks> {
        let stat = std::fs::read_to_string("/proc/stat")?;
        let cpu: Vec<u64> = stat
            .lines()
            .next()
            .context("/proc/stat")?
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal ...
        let all: u64 = cpu.iter().take(8).sum();
        let idle = cpu.get(3).copied().unwrap_or(0) + cpu.get(4).copied().unwrap_or(0);
        Ok(CpuTicks {
            at: Instant::now(),
            server: proc_stats(server_pid)?.1,
            bench: proc_stats(std::process::id())?.1,
            machine_busy: all - idle,
            machine_all: all,
        })
    }

    fn since(&self, before: &CpuTicks) -> CpuUse {
        let secs = self.at.duration_since(before.at).as_secs_f64().max(1e-9);
        let pct = |a: u64, b: u64| a.saturating_sub(b) as f64 / TICKS_PER_SECOND / secs * 100.0;
        CpuUse {
            server: pct(self.server, before.server),
            bench: pct(self.bench, before.bench),
            machine_busy: self.machine_busy.saturating_sub(before.machine_busy) as f64
                / self.machine_all.saturating_sub(before.machine_all).max(1) as f64
                * 100.0,
        }
    }
}

fn open_files_limit() -> String {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).map(str::to_owned))
        })
        .unwrap_or_else(|| "unknown".into())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Create,
    Cancel,
}

#[derive(Clone, Copy)]
struct Op {
    kind: Kind,
    device: i64,
    session: i64,
    sent_ns: u64,
}

/// Alternates create and cancel at `rate` operations a second, a new PC for
/// each session; answers every operation that succeeded.
/// Session operations at `rate` for `seconds`, by `client` on `tariff`.
async fn drive(
    api: &Api,
    (client, tariff): (i64, i64),
    devices: &[i64],
    rate: u64,
    seconds: u64,
) -> anyhow::Result<Vec<Op>> {
    let ops = Arc::new(Mutex::new(Vec::new()));
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
    let mut tasks = Vec::new();
    // The last create, for the next tick's cancel: its PC, and its session id
    // once answered.
    let mut pending: Option<(i64, tokio::sync::oneshot::Receiver<i64>)> = None;
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    for _ in 0..rate * seconds {
        tick.tick().await;
        let (api, ops) = (api.clone(), ops.clone());
        match pending.take() {
            None => {
                let device = devices
                    [NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % devices.len()];
                let (tx, rx) = tokio::sync::oneshot::channel();
                pending = Some((device, rx));
                tasks.push(tokio::spawn(async move {
                    let sent_ns = now_ns();
                    let s = api
                        .post(
                            "/sessions",
                            json!({"client_id": client, "device_id": device, "tariff_id": tariff}),
                        )
                        .await?;
                    let session = s["id"].as_i64().context("id")?;
                    let _ = tx.send(session);
                    ops.lock().unwrap().push(Op {
                        kind: Kind::Create,
                        device,
                        session,
                        sent_ns,
                    });
                    anyhow::Ok(())
                }));
            }
            Some((device, created)) => {
                tasks.push(tokio::spawn(async move {
                    let Ok(session) = created.await else {
                        return Ok(());
                    };
                    let sent_ns = now_ns();
                    api.post(&format!("/sessions/{session}/cancel"), json!({}))
                        .await?;
                    ops.lock().unwrap().push(Op {
                        kind: Kind::Cancel,
                        device,
                        session,
                        sent_ns,
                    });
                    anyhow::Ok(())
                }));
            }
        }
    }
    for t in tasks {
        t.await??;
    }
    let ops = ops.lock().unwrap().clone();
    Ok(ops)
}

/// Each operation's latency to its agent, and how many have no answer yet.
/// Per operation, the time until its PC had the new state. A create whose
/// state was replaced by the cancel's before the agent's connection sent
/// it (an outbox holds only the latest state) is counted as superseded,
/// not lost: the agent went straight to the later state.
fn agent_latencies(ops: &[Op], fleets: &[&Fleet]) -> Latencies {
    let mut l = Latencies::default();
    let guards: Vec<_> = fleets.iter().map(|f| f.seen.lock().unwrap()).collect();
    for op in ops {
        let states = guards
            .iter()
            .find_map(|g| g.states.get(&op.device))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let arrived = states.iter().find(|(session, at)| match op.kind {
            Kind::Create => *session == op.session,
            Kind::Cancel => *session == 0 && *at > op.sent_ns,
        });
        match arrived {
            Some((_, at)) => l
                .samples
                .push(Duration::from_nanos(at.saturating_sub(op.sent_ns))),
            None if op.kind == Kind::Create
                && states
                    .iter()
                    .any(|(session, at)| *session == 0 && *at > op.sent_ns) =>
            {
                l.superseded += 1
            }
            None => l.lost += 1,
        }
    }
    l
}

#[derive(Default)]
struct Latencies {
    samples: Vec<Duration>,
    lost: usize,
    superseded: usize,
}

/// Every screen's delivery of every created session, from the request.
/// Per create and live screen that has it, the time until the screen had
/// the session's created event.
fn screen_latencies(ops: &[Op], screens: &Screens) -> Vec<Duration> {
    let created = screens.deliveries.created.lock().unwrap();
    ops.iter()
        .filter(|o| matches!(o.kind, Kind::Create))
        .flat_map(|o| {
            created
                .get(&o.session)
                .into_iter()
                .flatten()
                .map(|at| Duration::from_nanos(at.saturating_sub(o.sent_ns)))
        })
        .collect()
}
