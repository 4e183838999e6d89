//! The server under test, as its own process, and the REST calls the
//! scenarios make of it.

use anyhow::{bail, Context};
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

pub const OWNER_PASSWORD: &str = "bench-pass-1";

/// The PostgreSQL server (`--postgres URL`) whose new databases the bench's
/// servers run on; SQLite files when unset.
static POSTGRES: OnceLock<String> = OnceLock::new();

pub fn use_postgres(url: String) {
    let _ = POSTGRES.set(url);
}

pub fn postgres() -> Option<&'static str> {
    POSTGRES.get().map(String::as_str)
}

/// The name of the backend the servers run on, for the report.
pub fn backend() -> &'static str {
    if postgres().is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    }
}

pub struct Server {
    child: tokio::process::Child,
    pub base: String,
    /// The certificate fingerprint of a server started with TLS.
    pub pin: Option<String>,
    extra: Vec<String>,
    database: String,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// A release club-server on a fresh database, on a free loopback port.
    pub async fn start() -> anyhow::Result<Server> {
        Self::start_with(&[]).await
    }

    /// The same with more arguments (e.g. `--tls-self-signed`).
    pub async fn start_with(extra: &[&str]) -> anyhow::Result<Server> {
        let dir = tempfile::tempdir()?;
        let database = club_tests::new_database_on(postgres(), dir.path()).await?;
        let mut extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        if postgres().is_some() {
            // The self-signed certificate needs a place of its own.
            extra.push(format!("--state-dir={}", dir.path().display()));
        }
        let mut s = Self::spawn(&database, "127.0.0.1:0", &extra).await?;
        s._dir = Some(dir);
        Ok(s)
    }

    async fn spawn(database: &str, listen: &str, extra: &[String]) -> anyhow::Result<Server> {
        let bin = std::env::current_exe()?.with_file_name("club-server");
        if !bin.exists() {
            bail!(
                "{} is missing: cargo build --release -p club-server",
                bin.display()
            );
        }
        let prefix = std::env::var("CLUB_BENCH_SERVER_PREFIX").unwrap_or_default();
        let mut words = prefix.split_whitespace();
        let mut command = match words.next() {
            Some(profiler) => {
                let mut c = tokio::process::Command::new(profiler);
                c.args(words).arg(bin);
                c
            }
            None => tokio::process::Command::new(bin),
        };
        let mut child = command
            .args(["--listen", listen, "--owner-password", OWNER_PASSWORD])
            // Every simulated PC and operator comes from 127.0.0.1: the
            // per-address cap is for a LAN, not for this bench.
            .args([
                "--max-connections-per-address",
                "1000000",
                "--max-connections",
                "1000000",
            ])
            // Its 210 hall screens share one operator's sign-in.
            .args(["--hall-screens-per-sign-in", "1000000"])
            .arg("--database")
            .arg(database)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
        let tls = extra.iter().any(|a| a.starts_with("--tls"));
        let (base, pin) = tokio::time::timeout(Duration::from_secs(120), async {
            let mut base = None;
            while let Some(l) = lines.next_line().await? {
                let word = |after: &str| {
                    l.split(after)
                        .nth(1)
                        .and_then(|r| r.split_whitespace().next())
                        .map(str::to_owned)
                };
                if let Some(b) = word("listening on ") {
                    if !tls {
                        return Ok((b, None));
                    }
                    base = Some(b);
                } else if let (Some(b), Some(pin)) = (&base, word("SHA-256: ")) {
                    return Ok((b.clone(), Some(pin)));
                }
            }
            bail!("club-server exited")
        })
        .await??;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server {
            child,
            base,
            pin,
            extra: extra.to_vec(),
            database: database.to_owned(),
            _dir: None,
        })
    }

    /// Another server on this one's database (PostgreSQL's: several
    /// servers may share it).
    pub async fn beside(&self) -> anyhow::Result<Server> {
        Self::spawn(&self.database, "127.0.0.1:0", &self.extra).await
    }

    /// Stops the server gracefully (SIGTERM) and starts it again on the same
    /// address and database; answers once it listens.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        let pid = self.pid();
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
        tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .context("server stopping")??;
        let listen = self
            .base
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_owned();
        let next = Self::spawn(&self.database, &listen, &self.extra).await?;
        self.child = next.child;
        Ok(())
    }

    /// Stops the server with SIGTERM, and any process a profiler prefix
    /// started under it, then waits for the profiler to write its data.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let pid = self.pid().to_string();
        std::process::Command::new("pkill")
            .args(["-TERM", "-P", &pid])
            .status()?;
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()?;
        tokio::time::timeout(Duration::from_secs(300), self.child.wait())
            .await
            .context("server stopping")??;
        Ok(())
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or_default()
    }

    pub fn ws_base(&self) -> String {
        self.base
            .replace("https://", "wss://")
            .replace("http://", "ws://")
    }
}

/// Reads /proc/<pid>: (RSS KiB, CPU ticks of user + system time).
pub fn proc_stats(pid: u32) -> anyhow::Result<(u64, u64)> {
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

/// Linux's USER_HZ: the unit of /proc CPU times.
pub const TICKS_PER_SECOND: f64 = 100.0;

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Api {
    pub async fn login(base: &str) -> anyhow::Result<Api> {
        Self::login_pinned(base, None).await
    }

    /// Signs in to a server, over TLS trusting only `pin` when given.
    pub async fn login_pinned(base: &str, pin: Option<&str>) -> anyhow::Result<Api> {
        let http = match pin {
            Some(pin) => club_tests::pinned_http(pin)?,
            None => reqwest::Client::new(),
        };
        let v: Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"login": "owner", "password": OWNER_PASSWORD}))
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

    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
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

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let res = self
            .http
            .get(format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        if !res.status().is_success() {
            bail!("GET {path}: {} {}", res.status(), res.text().await?);
        }
        Ok(res.json().await?)
    }

    /// The server's own timing of its writes, from `/metrics` (open on
    /// loopback): each histogram's count and sum of seconds.
    pub async fn writer_times(&self) -> anyhow::Result<WriterTimes> {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        let sample = |name: &str| {
            club_tests::metric_sample(&text, name).with_context(|| format!("{name} in /metrics"))
        };
        let pair = |name: &str| -> anyhow::Result<(f64, f64)> {
            Ok((
                sample(&format!("{name}_count"))?,
                sample(&format!("{name}_sum"))?,
            ))
        };
        Ok(WriterTimes {
            queue: pair("clubhall_writer_queue_seconds")?,
            operation: pair("clubhall_writer_operation_seconds")?,
            commit: pair("clubhall_commit_seconds")?,
            flush: pair("clubhall_wal_flush_seconds")?,
            batch: pair("clubhall_commit_batch_operations")?,
        })
    }

    /// PCs the server counts as online.
    pub async fn id(&self, path: &str, body: Value) -> anyhow::Result<i64> {
        self.post(path, body).await?["id"]
            .as_i64()
            .with_context(|| format!("POST {path}: no id"))
    }

    /// A client with money for any number of sessions, and a one-hour
    /// tariff whose cancel gives the money back.
    pub async fn rich_client_and_tariff(&self, tag: &str) -> anyhow::Result<(i64, i64)> {
        static CLIENTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = CLIENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let client = self
            .id(
                "/clients",
                json!({"name": format!("Bench {tag}"), "phone": format!("+1 555 {:04}", 1000 + n)}),
            )
            .await?;
        // Cash needs the operator's open shift; one may be open already.
        let _ = self.post("/shifts/open", json!({"opening_cash": 0})).await;
        self.post(
            &format!("/clients/{client}/top-ups"),
            json!({"amount": 1_000_000_000, "method": "cash"}),
        )
        .await?;
        let tariff = self
            .id(
                "/tariffs",
                json!({"name": format!("Bench {tag}"), "duration_seconds": 3600, "price": 1, "refund_policy": "keep_balance"}),
            )
            .await?;
        Ok((client, tariff))
    }

    /// Creates `n` PCs in a zone of their own.
    pub async fn devices(&self, zone: &str, n: usize) -> anyhow::Result<Vec<Value>> {
        let zone = self.id("/zones", json!({"name": zone})).await?;
        let api = self.clone();
        concurrently(n, 16, move |i| {
            let api = api.clone();
            async move {
                api.post(
                    "/devices",
                    json!({"name": format!("B-{zone}-{i}"), "zone_id": zone, "x": i % 100, "y": i / 100}),
                )
                .await
            }
        })
        .await
    }

    /// Enrolls `n` PCs: (device id, secret).
    pub async fn enroll(&self, n: usize) -> anyhow::Result<Vec<(i64, String)>> {
        let devices = self.devices("Bench hall", n).await?;
        let api = self.clone();
        concurrently(n, 16, move |i| {
            let (api, d) = (api.clone(), devices[i].clone());
            async move {
                let e = api
                    .post(
                        "/agent/enroll",
                        json!({"code": d["enrollment_code"], "hostname": "bench"}),
                    )
                    .await?;
                Ok((
                    d["id"].as_i64().context("id")?,
                    e["device_secret"].as_str().context("secret")?.to_owned(),
                ))
            }
        })
        .await
    }
}

/// Runs `f(0..n)` with at most `width` in flight; answers in index order.
pub async fn concurrently<T, F, Fut>(n: usize, width: usize, f: F) -> anyhow::Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
{
    let f = std::sync::Arc::new(f);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..width.min(n.max(1)))
        .map(|_| {
            let (f, next) = (f.clone(), next.clone());
            tokio::spawn(async move {
                let mut out = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        return anyhow::Ok(out);
                    }
                    out.push((i, f(i).await?));
                }
            })
        })
        .collect();
    let mut all = Vec::with_capacity(n);
    for w in workers {
        all.extend(w.await??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, v)| v).collect())
}

/// The server's write timings at one moment: (count, sum) of each
/// histogram; two of them give the means over the time between.
#[derive(Debug, Clone, Copy)]
pub struct WriterTimes {
    pub queue: (f64, f64),
    pub operation: (f64, f64),
    pub commit: (f64, f64),
    pub flush: (f64, f64),
    pub batch: (f64, f64),
}

/// The means of a window: queue wait, the operation's statements, the
/// COMMIT and the WAL fsync (ms), and operations per COMMIT.
#[derive(Debug, Clone, Copy)]
pub struct WriteMeans([f64; 5]);

impl WriteMeans {
    /// The report's column heads, in the order of `cells`.
    pub const HEADS: [&'static str; 5] = [
        "queue wait",
        "operation",
        "COMMIT",
        "WAL fsync",
        "operations per COMMIT",
    ];
    /// The figures' names, in the same order.
    const NAMES: [&'static str; 5] = ["queue_ms", "operation_ms", "commit_ms", "fsync_ms", "batch"];

    pub fn cells(&self) -> Vec<String> {
        let [queue, operation, commit, fsync, batch] = self.0;
        [queue, operation, commit, fsync]
            .iter()
            .map(|v| format!("{v:.3} ms"))
            .chain([format!("{batch:.1}")])
            .collect()
    }

    /// Each mean with its figure name.
    pub fn figures(&self) -> impl Iterator<Item = (&'static str, f64)> {
        Self::NAMES.into_iter().zip(self.0)
    }
}

impl WriterTimes {
    /// The means between `before` and now.
    pub fn means_since(&self, before: &WriterTimes) -> WriteMeans {
        let mean = |now: (f64, f64), then: (f64, f64)| {
            let n = now.0 - then.0;
            if n > 0.0 {
                (now.1 - then.1) / n
            } else {
                0.0
            }
        };
        WriteMeans([
            mean(self.queue, before.queue) * 1000.0,
            mean(self.operation, before.operation) * 1000.0,
            mean(self.commit, before.commit) * 1000.0,
            mean(self.flush, before.flush) * 1000.0,
            mean(self.batch, before.batch),
        ])
    }
}
