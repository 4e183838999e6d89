//! Scenario `chain` (PostgreSQL only): several servers on one database.
//! The durable scenario's 32 operators spread over one, two and three
//! servers; then `--agents` agents spread over two servers, idle, and how
//! long an operation takes to reach a PC's agent on the same server and on
//! the other one.

use crate::api::Api;
use crate::report::{median, ms, pct, Report};
use crate::scenarios::{idle, operate, operators};
use crate::server::Server;
use crate::sim::{now_ns, Fleet};
use crate::Args;
use anyhow::Context;
use serde_json::json;
use std::time::{Duration, Instant};

/// Agents per child process.
const FLEET: usize = 5_000;
/// Operations timed to one PC after another, per side.
const REACH: usize = 100;

pub async fn chain(r: &mut Report, a: &Args) -> anyhow::Result<()> {
    throughput(r, a.seconds).await?;
    agents(r, a.agents).await
}

/// Durable operations/s with the operators spread over 1, 2 and 3 servers.
async fn throughput(r: &mut Report, seconds: u64) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    let mut one = 0.0;
    for n in 1..=3usize {
        eprintln!("chain: durable operations on {n} server(s)");
        let mut servers = vec![Server::start().await?];
        for _ in 1..n {
            let beside = servers[0].beside().await?;
            servers.push(beside);
        }
        let mut apis = Vec::new();
        for s in &servers {
            apis.push(Api::login(&s.base).await?);
        }
        let ops = operators(&apis[0], &format!("Chain {n}")).await?;
        let (mut lat, took) = operate(&apis, ops, seconds).await?;
        let rate = lat.len() as f64 / took.as_secs_f64();
        if n == 1 {
            one = rate;
        }
        r.figure(&format!("chain.ops_per_s_{n}"), rate);
        r.figure(&format!("chain.ratio_to_one_{n}"), rate / one);
        r.figure(
            &format!("chain.median_ms_{n}"),
            median(&mut lat).as_secs_f64() * 1000.0,
        );
        rows.push(vec![
            format!("{n}"),
            format!("{rate:.0}"),
            format!("{:.2}x", rate / one),
            ms(median(&mut lat)),
            ms(pct(&mut lat, 0.99)),
        ]);
        for s in servers {
            s.stop().await?;
        }
    }
    r.section("Several servers on one database: durable operations");
    r.line(&format!("The durable scenario's 32 operators, each creating and cancelling sessions on a PC of its own for {seconds} s, spread round-robin over 1, 2 and 3 servers on one new database each time. Every operation takes the one write lock of the database, so servers add no throughput: they add places to connect to."));
    r.table(
        &[
            "servers",
            "session operations/s",
            "ratio to one server",
            "median latency",
            "p99",
        ],
        &rows,
    );
    Ok(())
}

/// `n` agents over two servers: connected, idle, and reached.
async fn agents(r: &mut Report, n: usize) -> anyhow::Result<()> {
    eprintln!("chain: {n} agents over two servers");
    let first = Server::start().await?;
    let second = first.beside().await?;
    let api = Api::login(&first.base).await?;
    let t = Instant::now();
    let creds = api.enroll(n).await?;
    let enroll_secs = t.elapsed().as_secs_f64();
    let half = n / 2;
    // Each side's agents, and how long until each had its first state.
    let connect = |server: &Server, creds: &[(i64, String)]| {
        let (ws, creds) = (server.ws_base(), creds.to_vec());
        async move {
            let t = Instant::now();
            let mut fleets = Vec::new();
            for chunk in creds.chunks(FLEET) {
                fleets.push(Fleet::start(&ws, chunk).await?);
            }
            anyhow::Ok((fleets, t.elapsed().as_secs_f64()))
        }
    };
    let ((on_first, first_secs), idle_first) =
        idle(&first, connect(&first, &creds[..half])).await?;
    let ((on_second, second_secs), idle_second) =
        idle(&second, connect(&second, &creds[half..])).await?;
    let connect_secs = first_secs + second_secs;
    // Each server's hall: every PC online, wherever its agent is.
    let mut online = Vec::new();
    for s in [&first, &second] {
        let hall = Api::login(&s.base).await?.get("/hall").await?;
        let devices = hall["devices"].as_array().context("the hall's PCs")?;
        online.push(devices.iter().filter(|d| d["online"] == true).count());
    }
    // An operation on the first server, to a PC on each side.
    let (client, tariff) = api.rich_client_and_tariff("chain reach").await?;
    let mut same = reach(&api, (client, tariff), &creds[..REACH], &on_first).await?;
    let mut other = reach(
        &api,
        (client, tariff),
        &creds[half..half + REACH],
        &on_second,
    )
    .await?;
    r.figure("chain.agents", n as f64);
    r.figure("chain.online_first", online[0] as f64);
    r.figure("chain.online_second", online[1] as f64);
    r.figure(
        "chain.reach_same_median_ms",
        median(&mut same).as_secs_f64() * 1000.0,
    );
    r.figure(
        "chain.reach_other_median_ms",
        median(&mut other).as_secs_f64() * 1000.0,
    );
    for (side, i) in [("first", &idle_first), ("second", &idle_second)] {
        let per = i.rss_after.saturating_sub(i.rss_before) as f64 * 1024.0 / half as f64;
        r.figure(
            &format!("chain.rss_per_connection_kib_{side}"),
            per / 1024.0,
        );
        r.figure(&format!("chain.idle_cpu_percent_{side}"), i.cpu_percent);
    }
    r.section(&format!(
        "Several servers on one database: {n} agents over two"
    ));
    r.line(&format!("{n} PCs enrolled through the first server in {enroll_secs:.0} s; half the agents connect to each server ({FLEET} per child process), about {connect_secs:.0} s for all of them to have their first state. Then each server's hall counts the PCs online, its own and the other's."));
    r.table(
        &[
            "server",
            "agents connected to it",
            "RSS before",
            "after",
            "per connection",
            "CPU over a heartbeat period",
            "PCs online in its hall",
        ],
        &[
            vec![
                "first".into(),
                format!("{half}"),
                format!("{} KiB", idle_first.rss_before),
                format!("{} KiB", idle_first.rss_after),
                format!(
                    "{:.1} KiB",
                    idle_first.rss_after.saturating_sub(idle_first.rss_before) as f64 / half as f64
                ),
                format!("{:.2} % of a core", idle_first.cpu_percent),
                format!("{}", online[0]),
            ],
            vec![
                "second".into(),
                format!("{}", n - half),
                format!("{} KiB", idle_second.rss_before),
                format!("{} KiB", idle_second.rss_after),
                format!(
                    "{:.1} KiB",
                    idle_second.rss_after.saturating_sub(idle_second.rss_before) as f64
                        / (n - half) as f64
                ),
                format!("{:.2} % of a core", idle_second.cpu_percent),
                format!("{}", online[1]),
            ],
        ],
    );
    r.line(&format!("From the first server's operator sending a session create to the PC's agent receiving its new state, {REACH} PCs one after another on each side (each session cancelled before the next):"));
    r.table(
        &["the PC's agent is on", "median", "p99"],
        &[
            vec![
                "the same server".into(),
                ms(median(&mut same)),
                ms(pct(&mut same, 0.99)),
            ],
            vec![
                "the other server".into(),
                ms(median(&mut other)),
                ms(pct(&mut other, 0.99)),
            ],
        ],
    );
    drop((on_first, on_second));
    second.stop().await?;
    first.stop().await
}

/// Creates a session on each PC in turn and times the request to its
/// agent's new state; cancels it before the next.
async fn reach(
    api: &Api,
    (client, tariff): (i64, i64),
    pcs: &[(i64, String)],
    fleets: &[Fleet],
) -> anyhow::Result<Vec<Duration>> {
    let mut out = Vec::with_capacity(pcs.len());
    for (device, _) in pcs {
        let fleet = fleets
            .iter()
            .find(|f| f.seen.lock().unwrap().states.contains_key(device))
            .context("the PC's fleet")?;
        let sent = now_ns();
        let s = api
            .post(
                "/sessions",
                json!({"client_id": client, "device_id": device, "tariff_id": tariff}),
            )
            .await?;
        let session = s["id"].as_i64().context("id")?;
        fleet
            .wait(Duration::from_secs(30), |seen| {
                seen.states
                    .get(device)
                    .is_some_and(|v| v.iter().any(|(id, _)| *id == session))
            })
            .await?;
        let arrived = fleet.seen.lock().unwrap().states[device]
            .iter()
            .find(|(id, _)| *id == session)
            .map(|(_, at)| *at)
            .context("the state")?;
        out.push(Duration::from_nanos(arrived.saturating_sub(sent)));
        api.post(&format!("/sessions/{session}/cancel"), json!({}))
            .await?;
    }
    Ok(out)
}
