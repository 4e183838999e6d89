//! club-bench: load scenarios against a real club-server process. The
//! simulated agents run in child processes of their own (the open-files
//! limit is per process), the operator screens and REST callers in this
//! one; loopback only; every scenario is bounded in time. Baselines are
//! measured in the same run, so the ratios hold on a noisy machine.
//!
//!   cargo build --release -p club-server
//!   cargo run --release -p club-tests --bin club-bench -- all [--agents 10000] [--seconds 10]
//!
//! Scenarios: `durable` (session operations per second, each durable) and
//! `hall` (idle agents at 1,000 and N; command latency at 100/s and 500/s
//! with 2,000 agents and 200 hall screens, then 100/s with 10 of them
//! stalled, then 100/s again without (the comparison's own noise); a
//! server restart with N agents). `all` runs both; `idle` is
//! the first part of `hall` alone (scenario 1).
//!
//! `lock` (Linux, Xvfb) times Start pressed to lock window gone with the
//! release club-agent and club-lock, and their footprint; it writes
//! docs/lock-benchmark.md:
//!
//!   cargo build --release -p club-server -p club-agent -p club-lock
//!   cargo run --release -p club-tests --bin club-bench -- lock [--rounds 5] [--presses 40] [--seconds 20]
//!
//! `flood` sends wrong staff logins from `--attackers` tasks at once for
//! `--seconds` while an operator reads the hall, and writes
//! docs/flood-benchmark.md:
//!
//!   cargo run --release -p club-tests --bin club-bench -- flood [--attackers 64] [--seconds 30]
//!
//! `--runs N` repeats the scenarios N times and quotes each figure's
//! median and spread (min to max) over the runs; `--json FILE` writes the
//! figures with stable names (e.g. `durable.ops_per_s`), for comparing
//! runs and commits:
//!
//!   cargo run --release -p club-tests --bin club-bench -- durable --runs 3 --json docs/benchmarks-durable.json
//!
//! `chain` (PostgreSQL only) runs the durable scenario's operators spread
//! over one, two and three servers on one database, then `--agents`
//! agents spread over two servers: idle, and the time from an operation on
//! one server to the agent of a PC on the same or the other server; it
//! writes docs/benchmarks-chain.md:
//!
//!   cargo run --release -p club-tests --bin club-bench -- chain --runs 3 --agents 20000 --postgres postgres://clubhall@127.0.0.1:55433
//!
//! `--postgres URL` runs every server on a new database of that PostgreSQL
//! server (`postgres://user@127.0.0.1:PORT`, e.g. a cluster of
//! scripts/pg-cluster.sh started without `fast`), and the commit baseline
//! on it too; the report goes to docs/benchmarks-postgres.md:
//!
//!   cargo run --release -p club-tests --bin club-bench -- durable --runs 3 --postgres postgres://clubhall@127.0.0.1:55433
//!
//! CLUB_BENCH_SERVER_PREFIX runs the server under a profiler, for example
//! `heaptrack` or `perf record -g --`; its RSS and CPU figures are then the
//! profiler's.

mod api;
mod baselines;
mod chain;
mod cpu;
mod drive;
mod flood;
mod hall;
mod lock;
mod report;
mod scenarios;
mod screens;
mod server;
mod sim;

use anyhow::{bail, Context};

pub struct Args {
    pub scenario: String,
    pub agents: usize,
    pub seconds: u64,
    /// Runs of the scenario; the markdown quotes each figure's median and
    /// spread over them.
    pub runs: usize,
    /// Where the figures go as JSON (stable names), when given.
    pub json: Option<std::path::PathBuf>,
    pub lock: lock::LockArgs,
    pub flood: flood::FloodArgs,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        scenario: "all".into(),
        agents: 10_000,
        seconds: 10,
        runs: 1,
        json: None,
        lock: lock::LockArgs {
            rounds: 5,
            presses: 40,
            seconds: 20,
        },
        flood: flood::FloodArgs {
            attackers: 64,
            seconds: 30,
        },
    };
    let mut seconds_given = false;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--agents" => a.agents = it.next().context("--agents N")?.parse()?,
            "--seconds" => {
                a.seconds = it.next().context("--seconds S")?.parse()?;
                seconds_given = true;
            }
            "--runs" => a.runs = it.next().context("--runs N")?.parse()?,
            "--json" => a.json = Some(it.next().context("--json FILE")?.into()),
            "--postgres" => server::use_postgres(it.next().context("--postgres URL")?),
            "--attackers" => a.flood.attackers = it.next().context("--attackers N")?.parse()?,
            "--rounds" => a.lock.rounds = it.next().context("--rounds N")?.parse()?,
            "--presses" => a.lock.presses = it.next().context("--presses N")?.parse()?,
            s if !s.starts_with('-') => a.scenario = s.to_owned(),
            other => bail!("unknown option {other}"),
        }
    }
    if seconds_given {
        a.lock.seconds = a.seconds;
        a.flood.seconds = a.seconds;
    }
    if !["all", "durable", "hall", "idle", "chain", "lock", "flood"].contains(&a.scenario.as_str())
    {
        bail!("scenarios: all, durable, hall, idle, chain, lock, flood");
    }
    if a.scenario == "chain" && server::postgres().is_none() {
        bail!("the chain scenario runs several servers on one database: it needs --postgres URL");
    }
    if a.runs == 0 {
        bail!("--runs must be at least 1");
    }
    if (a.runs > 1 || a.json.is_some()) && ["lock", "flood"].contains(&a.scenario.as_str()) {
        bail!("--runs and --json are for all, durable, hall and idle");
    }
    if a.lock.rounds == 0 || a.lock.presses == 0 {
        bail!("--rounds and --presses must be at least 1");
    }
    if a.agents <= hall::LATENCY_AGENTS {
        bail!("--agents must be more than {}", hall::LATENCY_AGENTS);
    }
    Ok(a)
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    let mut raw = std::env::args().skip(1);
    if raw.next().as_deref() == Some("agents-child") {
        let url = raw.next().context("agents-child URL CREDS")?;
        let creds = raw.next().context("agents-child URL CREDS")?;
        return runtime.block_on(sim::child_main(url, creds, raw.next()));
    }
    let a = args()?;
    let (report, file) = match a.scenario.as_str() {
        "lock" => (runtime.block_on(lock::run(&a.lock))?, "lock-benchmark.md"),
        "flood" => (
            runtime.block_on(flood::run(&a.flood))?,
            "flood-benchmark.md",
        ),
        // The idle scenario alone keeps the full run's report.
        "idle" => (runtime.block_on(runs(&a))?, "idle-benchmark.md"),
        "chain" => (runtime.block_on(runs(&a))?, "benchmarks-chain.md"),
        _ if server::postgres().is_some() => {
            (runtime.block_on(runs(&a))?, "benchmarks-postgres.md")
        }
        _ => (runtime.block_on(runs(&a))?, "benchmarks.md"),
    };
    print!("{report}");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs")
        .join(file);
    std::fs::write(&out, &report)?;
    eprintln!("written to {}", out.display());
    // The agent children and the server are killed when their handles drop.
    drop(runtime);
    Ok(())
}

/// `--runs` runs of the scenarios: the last run's markdown with every
/// figure's median and spread over all runs after its targets, and the
/// figures as JSON when `--json` asks.
async fn runs(a: &Args) -> anyhow::Result<String> {
    let mut figures = Vec::new();
    let mut last = String::new();
    for n in 1..=a.runs {
        eprintln!("run {n} of {}", a.runs);
        let (markdown, f) = scenarios::run(a).await?;
        figures.push(f);
        last = markdown;
    }
    let spreads = report::spreads(&figures);
    if let Some(path) = &a.json {
        let json = serde_json::json!({
            "command": std::env::args().skip(1).collect::<Vec<_>>().join(" "),
            "runs": a.runs,
            "figures": spreads,
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("figures written to {}", path.display());
    }
    if a.runs == 1 {
        return Ok(last);
    }
    // After the targets (the last run's), before the sections.
    let table = report::spreads_table(&spreads, a.runs);
    Ok(match last.find("\n## Baselines") {
        Some(at) => format!("{}\n{table}{}", &last[..at], &last[at + 1..]),
        None => format!("{last}\n{table}"),
    })
}
