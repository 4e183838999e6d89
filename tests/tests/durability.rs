//! Durability: whatever the server acknowledged before it was killed with
//! SIGKILL is still there after a restart on the same database file.
//!
//! This runs the real binary rather than `App` in-process, because only a
//! separate process can be killed without any chance to flush or close.

#![cfg(unix)]

use serde_json::{json, Value};
use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Notify;

const OWNER_PASSWORD: &str = "owner-pass-1";

/// Concurrent writers, so that several top-ups are in flight at the kill.
const WRITERS: i64 = 4;
/// Upper bound per writer: the loops end even if the kill never comes.
const MAX_REQUESTS_PER_WRITER: i64 = 400;
/// Acknowledgements to collect before the kill; well below the bound above,
/// so the writers are still busy when the server dies.
const KILL_AFTER_ACKS: usize = 100;

/// Generous bound for anything that should take a moment (startup, the
/// writers noticing the dead server).
const PATIENCE: Duration = Duration::from_secs(60);

/// Starts `club-server` on a free loopback port and answers the child and
/// its base URL. The address comes from the banner the binary prints once it
/// is bound and the database is open, so there is nothing to poll for.
async fn spawn_server(database: &str) -> (Child, String) {
    let mut child = Command::new(club_tests::agents::workspace_bin("club-server"))
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--database")
        .arg(database)
        .arg("--owner-password")
        .arg(OWNER_PASSWORD)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start club-server");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();

    let base = tokio::time::timeout(PATIENCE, async {
        loop {
            let line = lines
                .next_line()
                .await
                .expect("read club-server stdout")
                .expect("club-server exited before it was listening");
            // "Clubhall is listening on http://127.0.0.1:PORT  (API document: ...)"
            if let Some(rest) = line.split("Clubhall is listening on http://").nth(1) {
                let addr = rest
                    .split_whitespace()
                    .next()
                    .expect("address after http://");
                return format!("http://{addr}");
            }
        }
    })
    .await
    .expect("club-server did not start listening in time");

    // Keep draining stdout so the server never blocks on (or fails writing
    // to) a full or closed pipe; its log lines end up in the test output.
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("[club-server] {line}");
        }
    });
    (child, base)
}

/// Signs in as the Owner and answers the bearer token.
async fn login(http: &reqwest::Client, base: &str) -> String {
    let res = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"login": "owner", "password": OWNER_PASSWORD}))
        .send()
        .await
        .expect("login request");
    assert_eq!(res.status(), 200, "owner login");
    let body: Value = res.json().await.expect("login answer");
    body["token"].as_str().expect("token").to_owned()
}

/// GET with the staff token; asserts 200 and answers the JSON body.
async fn get_json(http: &reqwest::Client, base: &str, token: &str, path: &str) -> Value {
    let res = http
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(res.status(), 200, "GET {path}");
    res.json()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

async fn create_client(http: &reqwest::Client, base: &str, token: &str) -> i64 {
    let res = http
        .post(format!("{base}/api/v1/clients"))
        .bearer_auth(token)
        .json(&json!({"name": "Dana", "phone": "+1 555 0199"}))
        .send()
        .await
        .expect("create client request");
    assert_eq!(res.status(), 201, "create client");
    let body: Value = res.json().await.expect("client answer");
    // Cash is taken in the operator's open shift.
    let res = http
        .post(format!("{base}/api/v1/shifts/open"))
        .bearer_auth(token)
        .json(&json!({"opening_cash": 0}))
        .send()
        .await
        .expect("open shift request");
    assert_eq!(res.status(), 201, "open shift");
    body["id"].as_i64().expect("client id")
}

/// One writer: top-ups with amounts unique to this writer until the server
/// goes away (the first transport error) or the bound is reached. Every
/// amount answered with 200 goes into `acked`. Answers any response that was
/// neither 200 nor a transport error, which would be a bug of its own.
async fn top_up_until_error(
    http: reqwest::Client,
    base: String,
    token: String,
    client_id: i64,
    writer: i64,
    acked: Arc<Mutex<Vec<i64>>>,
    enough: Arc<Notify>,
) -> Vec<String> {
    let url = format!("{base}/api/v1/clients/{client_id}/top-ups");
    let mut unexpected = Vec::new();
    for i in 0..MAX_REQUESTS_PER_WRITER {
        // Distinct across writers and requests, so the multiset check after
        // the restart can tell every acknowledged top-up apart.
        let amount = writer * 1000 + i + 1;
        let res = match http
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({"amount": amount, "method": "cash"}))
            .send()
            .await
        {
            Ok(res) => res,
            // Connection refused/reset: the server is gone.
            Err(_) => break,
        };
        if res.status() == 200 {
            let mut acked = acked.lock().expect("acked lock");
            acked.push(amount);
            // Exactly once across all writers; notify_one keeps the permit
            // if the test is not waiting yet.
            if acked.len() == KILL_AFTER_ACKS {
                enough.notify_one();
            }
        } else {
            let status = res.status();
            let body = res.text().await.unwrap_or_default();
            unexpected.push(format!("top-up {amount}: {status} {body}"));
            break;
        }
    }
    unexpected
}

/// How often each value occurs.
fn counts(values: impl IntoIterator<Item = i64>) -> HashMap<i64, usize> {
    let mut out = HashMap::new();
    for v in values {
        *out.entry(v).or_default() += 1;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_operations_survive_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = club_tests::new_database(dir.path()).await;
    // A request timeout keeps every loop bounded in time as well as count.
    let http = reqwest::Client::builder()
        .timeout(PATIENCE)
        .build()
        .expect("http client");

    let (mut server, base) = spawn_server(&database).await;
    let token = login(&http, &base).await;
    let client_id = create_client(&http, &base, &token).await;

    let acked = Arc::new(Mutex::new(Vec::new()));
    let enough = Arc::new(Notify::new());
    let writers: Vec<_> = (1..=WRITERS)
        .map(|writer| {
            tokio::spawn(top_up_until_error(
                http.clone(),
                base.clone(),
                token.clone(),
                client_id,
                writer,
                acked.clone(),
                enough.clone(),
            ))
        })
        .collect();

    // Kill while the writers are mid-stream: no graceful shutdown, no chance
    // to flush anything that was not already durable when acknowledged.
    tokio::time::timeout(PATIENCE, enough.notified())
        .await
        .expect("the server acknowledged too few top-ups in time");
    server.start_kill().expect("send SIGKILL");
    let status = server.wait().await.expect("wait for killed server");
    assert_eq!(status.signal(), Some(9), "server died by SIGKILL: {status}");

    let mut unexpected = Vec::new();
    for writer in writers {
        let found = tokio::time::timeout(PATIENCE, writer)
            .await
            .expect("writer stopped after the kill")
            .expect("writer task");
        unexpected.extend(found);
    }
    assert!(unexpected.is_empty(), "unexpected answers: {unexpected:#?}");
    let acked = acked.lock().expect("acked lock").clone();
    assert!(
        acked.len() >= KILL_AFTER_ACKS,
        "acknowledged {}",
        acked.len()
    );

    // Same database file, fresh process: only what reached the disk counts.
    let (mut server, base) = spawn_server(&database).await;
    let token = login(&http, &base).await;
    let ledger = get_json(
        &http,
        &base,
        &token,
        &format!("/api/v1/clients/{client_id}/ledger"),
    )
    .await;
    let entries = ledger.as_array().expect("ledger is an array");

    let stored = counts(
        entries
            .iter()
            .filter(|e| e["kind"] == "top_up")
            .map(|e| e["amount"].as_i64().expect("amount")),
    );
    // In the test output: how far past the acknowledgements the disk got.
    eprintln!(
        "acknowledged {} top-ups before SIGKILL; {} stored after restart",
        acked.len(),
        stored.values().sum::<usize>()
    );
    // Every acknowledged top-up is present (in-flight ones may or may not be).
    let missing: Vec<_> = counts(acked.iter().copied())
        .into_iter()
        .filter(|(amount, n)| stored.get(amount).copied().unwrap_or(0) < *n)
        .map(|(amount, _)| amount)
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged top-ups lost after SIGKILL: {missing:?}",
        missing.len(),
        acked.len()
    );

    // And the recovered state is consistent: balance is its ledger's sum.
    let money: i64 = entries
        .iter()
        .filter(|e| e["account"] == "money")
        .map(|e| e["amount"].as_i64().expect("amount"))
        .sum();
    let client = get_json(
        &http,
        &base,
        &token,
        &format!("/api/v1/clients/{client_id}"),
    )
    .await;
    assert_eq!(client["balance"].as_i64(), Some(money), "balance vs ledger");

    server.start_kill().expect("stop second server");
    server.wait().await.expect("wait for second server");
}
