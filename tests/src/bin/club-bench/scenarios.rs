//! The scenarios, in the order `all` runs them.

use crate::api::{Api, WriteMeans};
use crate::cpu::CpuTicks;
use crate::hall::hall;
use crate::report::{median, ms, pct, Report};
use crate::server::{proc_stats, Server};
use crate::sim::Fleet;
use crate::{baselines, Args};
use anyhow::Context;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub const IDLE_SMALL: usize = 1_000;
const CLIENTS: usize = 32;
/// One heartbeat period: every agent is heard from once in the window.
pub const IDLE_WINDOW: Duration = Duration::from_secs(15);

pub struct Baseline {
    echo: Duration,
    commit: Duration,
    pub commit_rate: f64,
}

impl Baseline {
    pub fn latency(&self) -> Duration {
        self.echo + self.commit
    }
}

/// One run of the scenarios: the markdown, and every figure by name.
pub async fn run(a: &Args) -> anyhow::Result<(String, BTreeMap<String, f64>)> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let header = format!(
        "# Clubhall benchmarks\n\n\
         Command: `cargo run --release -p club-tests --bin club-bench -- {} --agents {} --seconds {}{}{}`  \n\
         Machine: {cores} cores, {}; the server, the agent processes and this one share them; loopback only.  \n\
         Database: {}.\n\n",
        a.scenario,
        a.agents,
        a.seconds,
        if a.runs > 1 { format!(" --runs {}", a.runs) } else { String::new() },
        if crate::server::postgres().is_some() { " --postgres URL" } else { "" },
        std::env::consts::OS,
        crate::server::backend(),
    );
    let mut r = Report::default();
    let base = baseline(&mut r).await?;
    if a.scenario == "all" || a.scenario == "durable" {
        durable(&mut r, &base, a.seconds).await?;
    }
    if a.scenario == "chain" {
        crate::chain::chain(&mut r, a).await?;
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
                match crate::server::postgres() {
                    Some(_) => "PostgreSQL commit of one row, same cluster".into(),
                    None => "SQLite WAL commit, synchronous=FULL, same disk".into(),
                },
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

/// The durable scenario's operators: each one's client, tariff and PC of
/// its own, made through `api` first (the window times the session
/// operations only).
pub async fn operators(api: &Api, zone: &str) -> anyhow::Result<Vec<(i64, i64, i64)>> {
    let devices = api.devices(zone, CLIENTS).await?;
    let mut operators = Vec::with_capacity(CLIENTS);
    for (i, d) in devices.into_iter().enumerate() {
        let (client, tariff) = api.rich_client_and_tariff(&format!("{zone} {i}")).await?;
        operators.push((client, tariff, d["id"].as_i64().context("device")?));
    }
    Ok(operators)
}

/// Each operator creates and cancels sessions for `seconds`, operator `i`
/// through `apis[i % apis.len()]`: every operation's latency, and how
/// long they all took.
pub async fn operate(
    apis: &[Api],
    operators: Vec<(i64, i64, i64)>,
    seconds: u64,
) -> anyhow::Result<(Vec<Duration>, Duration)> {
    let end = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut workers = Vec::new();
    for (i, (client, tariff, device)) in operators.into_iter().enumerate() {
        let api = apis[i % apis.len()].clone();
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
    Ok((lat, start.elapsed()))
}

/// Session operations (create, cancel) from 32 concurrent operators, each
/// acknowledged only once durable.
async fn durable(r: &mut Report, b: &Baseline, seconds: u64) -> anyhow::Result<()> {
    eprintln!("durable throughput");
    let server = Server::start().await?;
    let api = Api::login(&server.base).await?;
    let operators = operators(&api, "Durable").await?;
    let cpu0 = CpuTicks::now(server.pid())?;
    let writes0 = api.writer_times().await?;
    let (mut lat, took) = operate(std::slice::from_ref(&api), operators, seconds).await?;
    let rate = lat.len() as f64 / took.as_secs_f64();
    let cpu = CpuTicks::now(server.pid())?.since(&cpu0);
    let writes = api.writer_times().await?.means_since(&writes0);
    r.figure("durable.ops_per_s", rate);
    for (name, v) in writes.figures() {
        r.figure(&format!("durable.writes.{name}"), v);
    }
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
    r.line("Where a write's time goes in the server, means over the window from its `/metrics`: waiting for the writer's thread, the operation's statements there, the COMMIT of its batch, and the WAL fsync that every answer waits for.");
    r.table(&WriteMeans::HEADS, &[writes.cells()]);
    r.target(
        "4 durable throughput",
        format!("{rate:.0} session operations/s"),
        ">= 5,000/s",
        rate >= 5000.0,
    );
    r.target(
        "4 durable, against bare commits",
        format!("{:.2}x the bare commit rate", rate / b.commit_rate),
        ">= 1.25x",
        rate / b.commit_rate >= 1.25,
    );
    server.stop().await
}

pub struct Idle {
    pub rss_before: u64,
    pub rss_after: u64,
    pub cpu_percent: f64,
}

/// Server RSS across connecting `fleet`, and server CPU over one heartbeat
/// period once they are connected.
pub async fn idle<T>(
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
