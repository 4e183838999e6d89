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
//! CLUB_BENCH_SERVER_PREFIX runs the server under a profiler, for example
//! `heaptrack` or `perf record -g --`; its RSS and CPU figures are then the
//! profiler's.

mod baselines;
mod flood;
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
    pub lock: lock::LockArgs,
    pub flood: flood::FloodArgs,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        scenario: "all".into(),
        agents: 10_000,
        seconds: 10,
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
    if !["all", "durable", "hall", "idle", "lock", "flood"].contains(&a.scenario.as_str()) {
        bail!("scenarios: all, durable, hall, idle, lock, flood");
    }
    if a.lock.rounds == 0 || a.lock.presses == 0 {
        bail!("--rounds and --presses must be at least 1");
    }
    if a.agents <= scenarios::LATENCY_AGENTS {
        bail!("--agents must be more than {}", scenarios::LATENCY_AGENTS);
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
        "idle" => (runtime.block_on(scenarios::run(&a))?, "idle-benchmark.md"),
        _ => (runtime.block_on(scenarios::run(&a))?, "benchmarks.md"),
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
