//! The REST calls the scenarios make of the server under test, and the
//! server's own timing of its writes, read from its `/metrics`.

use crate::server::OWNER_PASSWORD;
use anyhow::{bail, Context};
use serde_json::{json, Value};

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
