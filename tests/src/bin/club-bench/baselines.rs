//! The same-run baselines the ratios are taken against.

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// Baseline 1: a bare tokio-tungstenite echo round trip on loopback.
pub async fn echo(n: usize) -> anyhow::Result<Vec<Duration>> {
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

/// Baseline 2: a bare SQLite WAL commit (synchronous=FULL, as the server),
/// one row per transaction, on a thread of its own.
pub async fn commit(seconds: u64) -> anyhow::Result<Vec<Duration>> {
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Duration>> {
        let dir = tempfile::tempdir()?;
        let c = rusqlite::Connection::open(dir.path().join("b.db"))?;
        c.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
             CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER);",
        )?;
        let end = Instant::now() + Duration::from_secs(seconds);
        let mut out = Vec::new();
        while Instant::now() < end {
            let t = Instant::now();
            c.execute_batch("BEGIN IMMEDIATE")?;
            c.prepare_cached("INSERT INTO t (v) VALUES (1)")?
                .execute([])?;
            c.execute_batch("COMMIT")?;
            out.push(t.elapsed());
        }
        Ok(out)
    })
    .await?
}
