//! Scenarios 1, 2, 3 and 5 on one server: idle agents, command latency
//! and hall fan-out, and the reconnect storm.

use crate::api::{Api, WriteMeans};
use crate::cpu::{open_files_limit, CpuTicks};
use crate::drive::{drive, settle, Kind, Latencies};
use crate::report::{median, ms, pct, Report};
use crate::scenarios::{idle, Baseline, Idle, IDLE_SMALL, IDLE_WINDOW};
use crate::screens::{until_online_at_most, Screens};
use crate::server::Server;
use crate::sim::{now_ns, Fleet};
use crate::Args;
use anyhow::Context;
use std::time::{Duration, Instant};

pub const LATENCY_AGENTS: usize = 2_000;
const SCREENS: usize = 200;
const STALLED: usize = 10;
/// The unmeasured burst that fills the stalled screens' socket buffers.
const STALL_WARM_UP_RATE: u64 = 500;
const STALL_WARM_UP_SECONDS: u64 = 5;
/// How long a window's late deliveries may take before the figures are
/// taken without them.
const LATE: Duration = Duration::from_secs(5);
/// How long the server may take to see the agents that left as offline.
const LEAVING: Duration = Duration::from_secs(60);

pub async fn hall(r: &mut Report, b: &Baseline, a: &Args) -> anyhow::Result<()> {
    let n = a.agents;
    let mut server = Server::start().await?;
    let api = Api::login(&server.base).await?;
    eprintln!("enrolling {n} PCs");
    let t = Instant::now();
    let creds = api.enroll(n).await?;
    let enroll_secs = t.elapsed().as_secs_f64();
    let (first, second, rest) = idle_agents(r, &server, &creds, enroll_secs).await?;
    if a.scenario == "idle" {
        drop((first, second, rest));
        return server.stop().await;
    }
    // Scenario 2 is asked with 2,000 agents: the rest leave until the storm.
    drop(rest);
    // Their going offline is a burst of hall events: let it pass before
    // the screens open, so that it is not measured as fan-out.
    until_online_at_most(&server.ws_base(), &api.token, LATENCY_AGENTS, LEAVING).await?;
    let devices: Vec<i64> = creds[..LATENCY_AGENTS].iter().map(|(id, _)| *id).collect();
    latency_windows(r, b, a.seconds, &server, &api, &devices, &[&first, &second]).await?;
    let rest = Fleet::start(&server.ws_base(), &creds[LATENCY_AGENTS..]).await?;
    let fleets = [&first, &second, &rest];
    storm(r, &mut server, &fleets).await?;
    r.section("Limits met");
    r.line(&format!("Open files: {} per process (soft limit), so the agents run in {} child processes of their own; each connection costs the server one descriptor. The load generator shares the machine's cores with the server, so every figure here includes that competition.", open_files_limit(), fleets.len()));
    Ok(())
}

/// Scenario 1 at 1,000 agents, then at all of them on the same server,
/// before any other load has grown it: the three fleets, all connected.
async fn idle_agents(
    r: &mut Report,
    server: &Server,
    creds: &[(i64, String)],
    enroll_secs: f64,
) -> anyhow::Result<(Fleet, Fleet, Fleet)> {
    let n = creds.len();
    eprintln!("idle: {IDLE_SMALL} agents");
    let ws = server.ws_base();
    let (first, small) = idle(server, Fleet::start(&ws, &creds[..IDLE_SMALL])).await?;
    eprintln!("idle: {n} agents");
    let ((second, rest), big) = idle(server, async {
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
    Ok((first, second, rest))
}

/// Scenarios 2 and 3: command latency to the agents and fan-out to the
/// hall screens, in windows of fixed rates, one with stalled screens.
async fn latency_windows(
    r: &mut Report,
    b: &Baseline,
    seconds: u64,
    server: &Server,
    api: &Api,
    devices: &[i64],
    fleets: &[&Fleet],
) -> anyhow::Result<()> {
    eprintln!("command latency with {SCREENS} screens");
    let mut screens = Screens::open(&server.ws_base(), &api.token, SCREENS, 0).await?;
    r.section(&format!("Command latency and hall fan-out (scenarios 2 and 3): {LATENCY_AGENTS} agents, {SCREENS} hall screens"));
    r.line(&format!("Operations alternate session create and cancel, one PC each, at a fixed rate for {} s. Agent latency: from the operator's HTTP request to the agent receiving its new state; a create is superseded when the cancel that followed replaced its state before it was sent (an agent's outbox holds only its latest state), and unanswered when its PC never had it. Screen delivery: from the create request to each screen receiving the session's created event. Baseline for the ratio: echo + commit medians = {}.", seconds, ms(b.latency())));
    let mut rows = Vec::new();
    let mut fan_rows = Vec::new();
    let mut write_rows = Vec::new();
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
                    api,
                    buyer,
                    devices,
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
        let writes_before = api.writer_times().await?;
        let ops = drive(api, buyer, devices, rate, seconds).await?;
        let cpu = CpuTicks::now(server.pid())?.since(&cpu_before);
        let writes = api.writer_times().await?.means_since(&writes_before);
        let mut row = vec![format!("{rate}/s, {stalled} stalled")];
        row.extend(writes.cells());
        write_rows.push(row);
        if stalled == 0 && !repeat {
            for (name, v) in writes.figures() {
                r.figure(&format!("writes.{name}_{rate}"), v);
            }
        }
        // Late arrivals get a moment before the figures are taken.
        let creates = ops.iter().filter(|o| o.kind == Kind::Create).count();
        let expected = creates * (SCREENS - stalled);
        let (
            Latencies {
                samples: mut agent,
                lost,
                superseded,
            },
            mut screen,
        ) = settle(&ops, fleets, &screens, SCREENS - stalled, LATE).await;
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
    r.line("Where a write's time goes in the server, means over each window from its `/metrics` (every write of the window: the operations and the scheduler's): waiting for the writer's thread, the operation's statements there, the COMMIT of its batch, and the WAL fsync that every answer waits for. The rest of an agent's latency is the HTTP request, the hand-overs between threads and the push to the agent.");
    let heads: Vec<&str> = ["window"].into_iter().chain(WriteMeans::HEADS).collect();
    r.table(&heads, &write_rows);

    Ok(())
}

/// Scenario 5: every agent reconnecting to a restarted server.
async fn storm(r: &mut Report, server: &mut Server, fleets: &[&Fleet]) -> anyhow::Result<()> {
    let n: usize = fleets.iter().map(|f| f.size).sum();
    eprintln!("reconnect storm: {n} agents");
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
    Ok(())
}
