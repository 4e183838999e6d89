//! club-bench: load scenarios against a real club-server process, with the
//! simulated agents in this process (its own open-files limit), loopback
//! only, each scenario bounded in time. Baselines are measured in the same
//! run, so the ratios hold on a noisy machine.
//!
//!   cargo build --release -p club-server
//!   cargo run --release -p club-tests --bin club-bench -- all [--agents 1000] [--seconds 10]

use anyhow::{bail, Context};
use club_shared::protocol::{AgentMsg, ServerMsg};
use club_shared::Metrics;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use sqlx::Connection;
use std::fmt::Write as _;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

struct Args {
    scenario: String,
    agents: usize,
    seconds: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        scenario: "all".into(),
        agents: 1000,
        seconds: 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--agents" => a.agents = it.next().context("--agents N")?.parse()?,
            "--seconds" => a.seconds = it.next().context("--seconds S")?.parse()?,
            s if !s.starts_with('-') => a.scenario = s.to_owned(),
            other => bail!("unknown option {other}"),
        }
    }
    Ok(a)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 * p).ceil() as usize)
        .saturating_sub(1)
        .min(v.len().saturating_sub(1));
    v.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// Reads a /proc/<pid> figure: (RSS KiB, CPU ticks).
fn proc_stats(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .context("VmRSS")?
        .parse()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').context("stat")?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = f[11].parse::<u64>()? + f[12].parse::<u64>()?;
    Ok((rss, ticks))
}

struct Server {
    child: tokio::process::Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> anyhow::Result<Server> {
        let bin = std::env::current_exe()?.with_file_name("club-server");
        if !bin.exists() {
            bail!(
                "{} is missing: cargo build --release -p club-server",
                bin.display()
            );
        }
        let dir = tempfile::tempdir()?;
        let mut child = tokio::process::Command::new(bin)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--owner-password",
                "bench-pass-1",
            ])
            .arg("--database")
            .arg(dir.path().join("club.db"))
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
        let base = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(l) = lines.next_line().await? {
                if let Some(rest) = l.split("listening on ").nth(1) {
                    return Ok(rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned());
                }
            }
            bail!("club-server exited")
        })
        .await??;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server {
            child,
            base,
            _dir: dir,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id().unwrap_or_default()
    }
}

#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn login(base: &str) -> anyhow::Result<Api> {
        let http = reqwest::Client::new();
        let v: Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"login": "owner", "password": "bench-pass-1"}))
            .send()
            .await?
            .json()
            .await?;
        Ok(Api {
            http,
            base: base.into(),
            token: v["token"].as_str().context("token")?.into(),
        })
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let res = self
            .http
            .post(format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await?;
        if !res.status().is_success() {
            bail!("POST {path}: {} {}", res.status(), res.text().await?);
        }
        Ok(res.json().await?)
    }
}

/// Baseline 1: a bare tokio-tungstenite echo round trip on loopback.
async fn echo_baseline(n: usize) -> anyhow::Result<Vec<Duration>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Ok((s, _)) = listener.accept().await {
            if let Ok(mut ws) = tokio_tungstenite::accept_async(s).await {
                while let Some(Ok(m)) = ws.next().await {
                    if m.is_text() && ws.send(m).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}")).await?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        ws.send(Message::text(format!("{{\"type\":\"ack\",\"seq\":{i}}}")))
            .await?;
        ws.next().await.context("echo")??;
        out.push(t.elapsed());
    }
    Ok(out)
}

/// Baseline 2: a bare SQLite WAL commit (synchronous=FULL, as the server).
async fn commit_baseline(seconds: u64) -> anyhow::Result<Vec<Duration>> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("b.db").display());
    let mut c = sqlx::SqliteConnection::connect(&url).await?;
    sqlx::query("PRAGMA journal_mode=WAL")
        .execute(&mut c)
        .await?;
    sqlx::query("PRAGMA synchronous=FULL")
        .execute(&mut c)
        .await?;
    sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
        .execute(&mut c)
        .await?;
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut out = Vec::new();
    while Instant::now() < end {
        let t = Instant::now();
        sqlx::query("BEGIN IMMEDIATE").execute(&mut c).await?;
        sqlx::query("INSERT INTO t (v) VALUES (1)")
            .execute(&mut c)
            .await?;
        sqlx::query("COMMIT").execute(&mut c).await?;
        out.push(t.elapsed());
    }
    Ok(out)
}

/// Durable throughput: concurrent top-ups, each acknowledged only when durable.
async fn durable(api: &Api, seconds: u64) -> anyhow::Result<(f64, Vec<Duration>)> {
    let client = api
        .post("/clients", json!({"name": "Bench", "phone": "+1 555 9999"}))
        .await?["id"]
        .as_i64()
        .context("id")?;
    let end = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let api = api.clone();
            tokio::spawn(async move {
                let mut lat = Vec::new();
                while Instant::now() < end {
                    let t = Instant::now();
                    api.post(
                        &format!("/clients/{client}/top-ups"),
                        json!({"amount": 1, "method": "cash"}),
                    )
                    .await?;
                    lat.push(t.elapsed());
                }
                anyhow::Ok(lat)
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    Ok((all.len() as f64 / start.elapsed().as_secs_f64(), all))
}

struct Agents {
    devices: Vec<i64>,
    /// State messages received: (device, when).
    states: tokio::sync::mpsc::UnboundedReceiver<(i64, Instant)>,
}

/// Enrolls `n` PCs: (device id, secret).
async fn enroll(api: &Api, n: usize) -> anyhow::Result<Vec<(i64, String)>> {
    let zone = api.post("/zones", json!({"name": "Bench"})).await?["id"]
        .as_i64()
        .context("zone")?;
    let mut enrolled = Vec::with_capacity(n);
    for i in 0..n {
        let d = api
            .post(
                "/devices",
                json!({"name": format!("B-{i}"), "zone_id": zone, "x": i % 100, "y": i / 100}),
            )
            .await?;
        let e = api
            .post(
                "/agent/enroll",
                json!({"code": d["enrollment_code"], "hostname": "bench"}),
            )
            .await?;
        enrolled.push((
            d["id"].as_i64().context("id")?,
            e["device_secret"].as_str().context("secret")?.to_owned(),
        ));
    }
    Ok(enrolled)
}

/// Connects a simulated agent for each enrolled PC, speaking the real
/// protocol (hello, heartbeats every 15 s, acks); answers once all have
/// their first state.
async fn connect_agents(api: &Api, enrolled: Vec<(i64, String)>) -> anyhow::Result<Agents> {
    let n = enrolled.len();
    let (tx, states) = tokio::sync::mpsc::unbounded_channel();
    let (ready_tx, mut ready) = tokio::sync::mpsc::channel(n.max(1));
    let url = api.base.replace("http://", "ws://") + "/agent/v1/ws";
    let devices = enrolled.iter().map(|(id, _)| *id).collect();
    for (id, secret) in enrolled {
        let (url, tx, ready_tx) = (url.clone(), tx.clone(), ready_tx.clone());
        tokio::spawn(async move {
            let mut req = url.into_client_request()?;
            req.headers_mut()
                .insert("authorization", format!("Bearer {secret}").parse()?);
            let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
            let hello = AgentMsg::Hello {
                protocol_version: 1,
                agent_version: "bench".into(),
                last_applied_seq: 0,
                locked: true,
                hardware: Metrics::default(),
            };
            ws.send(Message::text(serde_json::to_string(&hello)?))
                .await?;
            let mut beat = tokio::time::interval_at(
                tokio::time::Instant::now() + Duration::from_millis(rand_ms(15_000)),
                Duration::from_secs(15),
            );
            let mut first = true;
            loop {
                tokio::select! {
                    _ = beat.tick() => {
                        let b = AgentMsg::Heartbeat { metrics: Metrics { cpu_percent: 5.0, ..Metrics::default() } };
                        ws.send(Message::text(serde_json::to_string(&b)?)).await?;
                    }
                    m = ws.next() => {
                        let Some(Ok(Message::Text(t))) = m else { break };
                        if let Ok(ServerMsg::State { seq, .. }) = serde_json::from_str(&t) {
                            let _ = tx.send((id, Instant::now()));
                            ws.send(Message::text(serde_json::to_string(&AgentMsg::Ack { seq })?)).await?;
                            if first {
                                first = false;
                                let _ = ready_tx.send(()).await;
                            }
                        }
                    }
                }
            }
            anyhow::Ok(())
        });
    }
    for _ in 0..n {
        tokio::time::timeout(Duration::from_secs(120), ready.recv())
            .await
            .context("agents connecting")?;
    }
    Ok(Agents { devices, states })
}

fn rand_ms(max: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(max);
    h.finish() % max.max(1)
}

/// Command latency: an operator's session create to the agent receiving
/// its new state, at a fixed rate.
async fn command_latency(
    api: &Api,
    agents: &mut Agents,
    rate: u64,
    seconds: u64,
) -> anyhow::Result<Vec<Duration>> {
    let client = api
        .post(
            "/clients",
            json!({"name": "Lat", "phone": format!("+1 555 8{rate:03}")}),
        )
        .await?["id"]
        .as_i64()
        .context("id")?;
    api.post(
        &format!("/clients/{client}/top-ups"),
        json!({"amount": 100_000_000, "method": "cash"}),
    )
    .await?;
    let tariff = api.post("/tariffs", json!({"name": format!("Bench {rate}"), "duration_seconds": 3600, "price": 1, "refund_policy": "keep_balance"})).await?["id"].as_i64().context("id")?;
    while agents.states.try_recv().is_ok() {}
    let total = (rate * seconds) as usize;
    let mut sent = std::collections::HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
    let mut lat = Vec::with_capacity(total);
    for i in 0..total {
        tick.tick().await;
        let device = agents.devices[i % agents.devices.len()];
        let api = api.clone();
        let t = Instant::now();
        sent.insert(device, t);
        tokio::spawn(async move {
            let s = api
                .post(
                    "/sessions",
                    json!({"client_id": client, "device_id": device, "tariff_id": tariff}),
                )
                .await?;
            api.post(&format!("/sessions/{}/cancel", s["id"]), json!({}))
                .await?;
            anyhow::Ok(())
        });
        while let Ok((d, at)) = agents.states.try_recv() {
            if let Some(t0) = sent.remove(&d) {
                lat.push(at.duration_since(t0));
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sent.is_empty() && Instant::now() < deadline {
        if let Ok(Some((d, at))) =
            tokio::time::timeout(Duration::from_secs(1), agents.states.recv()).await
        {
            if let Some(t0) = sent.remove(&d) {
                lat.push(at.duration_since(t0));
            }
        }
    }
    Ok(lat)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let all = a.scenario == "all";
    let mut report = String::new();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    writeln!(report, "# Clubhall benchmarks\n")?;
    writeln!(report, "Command: `cargo run --release -p club-tests --bin club-bench -- {} --agents {} --seconds {}`  ", a.scenario, a.agents, a.seconds)?;
    writeln!(
        report,
        "Machine: {cores} cores, {}; loopback only.\n",
        std::env::consts::OS
    )?;

    let mut echo = echo_baseline(2000).await?;
    let mut commit = commit_baseline(3).await?;
    let (echo_med, commit_med) = (median(&mut echo), median(&mut commit));
    let commit_rate = commit.len() as f64 / 3.0;
    writeln!(
        report,
        "## Baselines (same run)\n\n| baseline | median | p99 |\n|---|---|---|"
    )?;
    writeln!(
        report,
        "| tokio-tungstenite echo round trip | {} | {} |",
        ms(echo_med),
        ms(pct(&mut echo, 0.99))
    )?;
    writeln!(
        report,
        "| SQLite WAL commit, synchronous=FULL | {} | {} ({commit_rate:.0} commits/s) |\n",
        ms(commit_med),
        ms(pct(&mut commit, 0.99))
    )?;

    let server = Server::start().await?;
    let api = Api::login(&server.base).await?;
    if all || a.scenario == "durable" {
        let (rate, mut lat) = durable(&api, a.seconds).await?;
        writeln!(
            report,
            "## Durable throughput (32 concurrent clients, top-ups, each durable)\n"
        )?;
        writeln!(report, "| ops/s | median latency | p99 | ratio to bare commits/s | target |\n|---|---|---|---|---|")?;
        writeln!(
            report,
            "| {rate:.0} | {} | {} | {:.2} | >= 5000/s |\n",
            ms(median(&mut lat)),
            ms(pct(&mut lat, 0.99)),
            rate / commit_rate
        )?;
    }
    if all || a.scenario == "idle" || a.scenario == "latency" {
        let enrolled = enroll(&api, a.agents).await?;
        let (rss0, _) = proc_stats(server.pid())?;
        let mut agents = connect_agents(&api, enrolled).await?;
        let (rss1, t0) = proc_stats(server.pid())?;
        let window = a.seconds.max(15);
        tokio::time::sleep(Duration::from_secs(window)).await;
        let (_, t1) = proc_stats(server.pid())?;
        let ticks = 100.0; // USER_HZ on Linux
        let cpu = (t1 - t0) as f64 / ticks / window as f64 * 100.0;
        let per = (rss1.saturating_sub(rss0)) as f64 / a.agents as f64;
        writeln!(
            report,
            "## Idle agents ({} connected, heartbeats every 15 s, {window} s window)\n",
            a.agents
        )?;
        writeln!(report, "| server RSS before connecting | after | per connection | server CPU | targets |\n|---|---|---|---|---|")?;
        writeln!(report, "| {rss0} KiB | {rss1} KiB | {per:.1} KiB | {cpu:.2} % of a core | <= 16 KiB, <= 5 % at 10,000 |\n")?;
        if all || a.scenario == "latency" {
            for rate in [100, 500] {
                let mut lat = command_latency(&api, &mut agents, rate, a.seconds.min(10)).await?;
                let (p50, p99, p999) =
                    (median(&mut lat), pct(&mut lat, 0.99), pct(&mut lat, 0.999));
                let base = echo_med + commit_med;
                writeln!(
                    report,
                    "## Command latency at {rate} ops/s ({} agents)\n",
                    a.agents
                )?;
                writeln!(report, "| samples | p50 | p99 | p999 | p99 / (echo + commit) | target |\n|---|---|---|---|---|---|")?;
                writeln!(
                    report,
                    "| {} | {} | {} | {} | {:.1}x | <= 3x |\n",
                    lat.len(),
                    ms(p50),
                    ms(p99),
                    ms(p999),
                    p99.as_secs_f64() / base.as_secs_f64()
                )?;
            }
        }
    }
    writeln!(report, "Agent footprint (scenario 6) is measured by `scripts/agent-footprint.sh 60`; see the README.")?;
    print!("{report}");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/benchmarks.md");
    std::fs::write(&out, &report)?;
    eprintln!("written to {}", out.display());
    Ok(())
}
