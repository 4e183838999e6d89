//! Looking after a club server: health and readiness, Prometheus metrics
//! (checked by Prometheus's own promtool), an online backup under load and
//! a restore, the configuration file, and logs that never carry a secret.

use club_tests::agents::{workspace_bin, TestAgent};
use club_tests::process::{
    database_in, server_command, sign_in_owner, ServerProcess, PROCESS_OWNER_PASSWORD,
};
use club_tests::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

use tokio::io::AsyncBufReadExt;

mod backup;
mod config;
mod health;

async fn get(base: &str, path: &str) -> (u16, String) {
    let res = reqwest::get(format!("{base}{path}")).await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// `club-server ARGS…`, run to its end: (success, stdout + stderr).
async fn club_server(args: &[&std::ffi::OsStr]) -> (bool, String) {
    let out = tokio::time::timeout(
        WAIT * 4,
        tokio::process::Command::new(workspace_bin("club-server"))
            .args(args)
            .env("NO_COLOR", "1")
            .output(),
    )
    .await
    .expect("finished in time")
    .expect("ran");
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), said)
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

/// `promtool check metrics` on `text`: (passed, what it said).
async fn promtool(text: &str) -> (bool, String) {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package, scripts/install-test-deps.sh)");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(text.as_bytes()).await.unwrap();
    drop(stdin);
    let out = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .expect("promtool finished in time")
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), said)
}

/// Top-ups of 1.00 as fast as the server takes them, until told to stop,
/// each counted in `acked` once its answer came.
fn top_ups(
    api: Api,
    client: i64,
    acked: Arc<tokio::sync::watch::Sender<i64>>,
    stop: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while !stop.is_cancelled() {
            api.ok(
                Method::POST,
                &format!("/clients/{client}/top-ups"),
                json!({"amount": 1_00, "method": "cash"}),
            )
            .await;
            acked.send_modify(|n| *n += 1);
        }
    })
}

/// Waits until `acked` reaches `n`.
async fn acknowledged(acked: &tokio::sync::watch::Sender<i64>, n: i64) {
    let mut rx = acked.subscribe();
    tokio::time::timeout(WAIT * 2, rx.wait_for(|v| *v >= n))
        .await
        .expect("the load goes on")
        .unwrap();
}

/// A server process whose every output line is kept: (process, base, lines).
async fn server_keeping_output(
    mut cmd: tokio::process::Command,
) -> (tokio::process::Child, String, Arc<Mutex<Vec<String>>>) {
    let mut child = cmd.spawn().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut tx = Some(tx);
    let mut out = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let kept = lines.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = out.next_line().await {
            if let Some(rest) = line.split("listening on ").nth(1) {
                let base = rest.split_whitespace().next().unwrap().to_owned();
                if let Some(tx) = tx.take() {
                    let _ = tx.send(base);
                }
            }
            kept.lock().unwrap().push(line);
        }
    });
    let mut err = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let kept = lines.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = err.next_line().await {
            kept.lock().unwrap().push(line);
        }
    });
    let base = tokio::time::timeout(WAIT, rx).await.unwrap().unwrap();
    (child, base, lines)
}
