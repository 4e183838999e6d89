//! The same-run baselines the ratios are taken against.

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use sqlx::Connection;
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

/// Baseline 2: a bare SQLite WAL commit (synchronous=FULL, as the server).
pub async fn commit(seconds: u64) -> anyhow::Result<Vec<Duration>> {
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
