//! A sign-in flood, as hostile players on the LAN would send it: wrong
//! staff logins at once for a while, each attacker from a loopback address
//! of its own (127.0.1.x, as PCs of a hall would be) and on made-up logins
//! (so no account locks), against the release server, while a signed-in
//! operator keeps reading the hall. Figures: the server's
//! RSS before, at its peak, at the end and after a quiet spell; how the
//! logins were answered; the operator's latency before and during the flood.

use crate::api::Api;
use crate::report::{median, ms, pct, Report};
use crate::server::{proc_stats, Server};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct FloodArgs {
    pub attackers: usize,
    pub seconds: u64,
}

/// The operator reading the hall every 50 ms: the latency of each read,
/// and how many failed.
async fn operator(api: &Api, for_: Duration) -> (Vec<Duration>, usize) {
    let until = Instant::now() + for_;
    let (mut lat, mut failed) = (Vec::new(), 0);
    while Instant::now() < until {
        let t0 = Instant::now();
        match api.get("/hall").await {
            Ok(_) => lat.push(t0.elapsed()),
            Err(_) => failed += 1,
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (lat, failed)
}

pub async fn run(a: &FloodArgs) -> anyhow::Result<String> {
    let server = Server::start().await?;
    let api = Api::login(&server.base).await?;
    let pid = server.pid();
    let rss_start = proc_stats(pid)?.0;
    eprintln!("flood: the operator alone");
    let (mut alone, alone_failed) = operator(&api, Duration::from_secs(3)).await;

    eprintln!(
        "flood: {} wrong logins at a time for {} s",
        a.attackers, a.seconds
    );
    let window = Duration::from_secs(a.seconds);
    let until = Instant::now() + window;
    let url = format!("{}/api/v1/auth/login", server.base);
    let answers: Arc<std::sync::Mutex<BTreeMap<String, u64>>> = Arc::default();
    let attackers: Vec<_> = (0..a.attackers)
        .map(|i| {
            let from = std::net::IpAddr::from([127, 0, 1, (i % 250 + 1) as u8]);
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .local_address(from)
                .build();
            let (url, answers) = (url.clone(), answers.clone());
            tokio::spawn(async move {
                let Ok(http) = http else { return };
                let mut n = 0u64;
                while Instant::now() < until {
                    n += 1;
                    let body =
                        json!({"login": format!("guess-{i}-{n}"), "password": "wrong-password"});
                    let status = match http.post(&url).json(&body).send().await {
                        Ok(r) => r.status().as_u16().to_string(),
                        Err(_) => "no answer".to_owned(),
                    };
                    *answers.lock().unwrap().entry(status).or_default() += 1;
                }
            })
        })
        .collect();
    let peak = Arc::new(AtomicU64::new(rss_start));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            while Instant::now() < until {
                if let Ok((rss, _)) = proc_stats(pid) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let (mut during, during_failed) = operator(&api, window).await;
    for t in attackers {
        t.await?;
    }
    sampler.await?;
    let rss_end = proc_stats(pid)?.0;
    eprintln!("flood: 10 s quiet");
    tokio::time::sleep(Duration::from_secs(10)).await;
    let rss_quiet = proc_stats(pid)?.0;
    server.stop().await?;

    let peak = peak.load(Ordering::Relaxed);
    let answers = answers.lock().unwrap().clone();
    let total: u64 = answers.values().sum();
    let mib = |k: u64| format!("{:.1} MiB", k as f64 / 1024.0);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let header = format!(
        "# Clubhall sign-in flood\n\n\
         Command: `cargo run --release -p club-tests --bin club-bench -- flood --attackers {} --seconds {}`  \n\
         Machine: {cores} cores, {}; the release server and this bench share them; loopback only.\n\n",
        a.attackers,
        a.seconds,
        std::env::consts::OS
    );
    let mut r = Report::default();
    r.section("Server memory");
    r.table(
        &[
            "before",
            "peak during the flood",
            "at its end",
            "after 10 s quiet",
        ],
        &[vec![
            mib(rss_start),
            mib(peak),
            mib(rss_end),
            mib(rss_quiet),
        ]],
    );
    r.section("The wrong logins' answers");
    let rows: Vec<Vec<String>> = answers
        .iter()
        .map(|(status, n)| vec![status.clone(), n.to_string()])
        .collect();
    r.table(&["status", "answers"], &rows);
    r.line(&format!(
        "{total} logins in {} s: {:.0}/s.",
        a.seconds,
        total as f64 / window.as_secs_f64()
    ));
    r.section("The signed-in operator (GET /hall every 50 ms)");
    r.table(
        &["", "reads", "failed", "median", "p99"],
        &[
            vec![
                "alone (same run)".into(),
                alone.len().to_string(),
                alone_failed.to_string(),
                ms(median(&mut alone)),
                ms(pct(&mut alone, 0.99)),
            ],
            vec![
                "during the flood".into(),
                during.len().to_string(),
                during_failed.to_string(),
                ms(median(&mut during)),
                ms(pct(&mut during, 0.99)),
            ],
        ],
    );
    r.target(
        "server RSS under the flood",
        format!("peak {}", mib(peak)),
        "< 100 MiB",
        peak < 100 * 1024,
    );
    r.target(
        "the operator served during the flood",
        format!(
            "{} reads, {} failed, p99 {}",
            during.len(),
            during_failed,
            ms(pct(&mut during, 0.99))
        ),
        "no failures",
        during_failed == 0 && !during.is_empty(),
    );
    Ok(r.render(&header))
}
