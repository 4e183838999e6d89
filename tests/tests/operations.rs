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

/// One metric's value in Prometheus's text format (the line whose name
/// and labels are exactly `series`).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_answer_without_a_sign_in() {
    let srv = TestServer::start().await;
    let (status, body) = get(&srv.base, "/healthz").await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    let (status, body) = get(&srv.base, "/readyz").await;
    let ready: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        ready,
        json!({"ready": true, "database": "ok", "migrations": "ok", "scheduler": "ok"})
    );
    // Both are in the API document.
    let doc = srv
        .anonymous()
        .ok(Method::GET, "/openapi.json", Value::Null)
        .await;
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} documented");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_when_the_database_takes_no_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_in(dir.path());
    let srv = ServerProcess::start(server_command(&db, "trap '' XFSZ", &[])).await;
    // No file may be written past its first byte: the probe's write cannot
    // commit. (Asked before this, the answer would be reused for a second.)
    let (status, err) = club_tests::process::finished({
        let mut c = tokio::process::Command::new("prlimit");
        c.args(["--pid", &srv.pid().to_string(), "--fsize=0:"]);
        c
    })
    .await;
    assert!(status.success(), "prlimit: {err}");
    let (status, body) = get(&srv.base, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["ready"], false, "{body}");
    assert!(
        body["database"]
            .as_str()
            .unwrap()
            .starts_with("takes no write"),
        "{body}"
    );
    assert_eq!(body["scheduler"], "ok");
    assert_eq!(
        get(&srv.base, "/healthz").await.0,
        200,
        "alive all the same"
    );
    let out = club_server(&[
        os("health"),
        os("--listen"),
        os(srv.base.trim_start_matches("http://")),
    ])
    .await;
    assert!(!out.0, "the health command says not ready: {}", out.1);
    assert!(out.1.contains("not ready (503)"), "{}", out.1);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_happens_and_pass_promtool() {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let zone = owner
        .ok(Method::POST, "/zones", json!({"name": "Main"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let agent = TestAgent::start(&srv, &owner, zone, "PC-1").await;
    // Counted before the server welcomes it.
    agent
        .handle
        .wait_until(WAIT, |s| s.connected)
        .await
        .expect("the agent connects");
    let token = owner.token().unwrap();
    let _screen = screen(&srv, &token).await;
    let client = new_client(&owner, "Mia", "+1 555 0142", 50_00).await;
    let (status, _) = srv
        .anonymous()
        .post(
            "/auth/login",
            json!({"login": "owner", "password": "wrong"}),
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = srv
        .anonymous()
        .post(
            "/player/login",
            json!({"phone": "+1 555 0142", "pin": "0000"}),
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = owner
        .post(
            &format!("/clients/{client}/top-ups"),
            json!({"amount": -5, "method": "cash"}),
        )
        .await;
    assert_eq!(status, 400);

    let (status, text) = get(&srv.base, "/metrics").await;
    assert_eq!(status, 200, "{text}");
    let expect = [
        ("clubhall_agents_connected", Some(1.0)),
        ("clubhall_agents_by_protocol{protocol_version=\"", None),
        ("clubhall_hall_screens_connected", Some(1.0)),
        ("clubhall_login_failures_total{who=\"staff\"}", Some(1.0)),
        ("clubhall_login_failures_total{who=\"player\"}", Some(1.0)),
        (
            "clubhall_operations_total{kind=\"POST /api/v1/clients/{id}/top-ups\",result=\"ok\"}",
            Some(1.0),
        ),
        (
            "clubhall_operations_total{kind=\"POST /api/v1/clients/{id}/top-ups\",result=\"400\"}",
            Some(1.0),
        ),
        ("clubhall_scheduler_running", Some(1.0)),
        ("clubhall_build_info{version=\"0.1.0\"}", Some(1.0)),
    ];
    for (series, value) in expect {
        match value {
            Some(v) => assert_eq!(sample(&text, series), Some(v), "{series} in\n{text}"),
            None => assert!(text.contains(series), "{series} in\n{text}"),
        }
    }
    let commits = sample(&text, "clubhall_commits_total").unwrap();
    assert!(commits >= 5.0, "{text}");
    assert_eq!(
        sample(&text, "clubhall_commit_batch_operations_count"),
        Some(commits),
        "one batch size per commit"
    );
    assert!(sample(&text, "clubhall_wal_flush_seconds_count").unwrap() >= 1.0);
    let ran = sample(&text, "clubhall_writer_operation_seconds_count").unwrap();
    assert!(ran >= 1.0, "{text}");
    assert_eq!(
        sample(&text, "clubhall_writer_queue_seconds_count"),
        Some(ran),
        "every operation that ran waited in the queue first"
    );

    // Prometheus's own check of the exposition format and its naming rules.
    let (ok, said) = promtool(&text).await;
    assert!(ok, "promtool: {said}");
    // And the check can fail: a counter without its _total.
    let bad = "# HELP clubhall_things Things.\n# TYPE clubhall_things counter\nclubhall_things 1\n";
    assert!(!promtool(bad).await.0);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_backup_under_load_holds_everything_acknowledged_and_restores() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_in(dir.path());
    let srv = ServerProcess::start(server_command(&db, "", &[])).await;
    let api = sign_in_owner(&srv.base).await;
    let client = new_client(&api, "Dana", "+1 555 0100", 0).await;
    open_shift(&api).await;
    let acked = Arc::new(tokio::sync::watch::Sender::new(0_i64));
    let stop = tokio_util::sync::CancellationToken::new();
    let load: Vec<_> = (0..3)
        .map(|_| top_ups(api.clone(), client, acked.clone(), stop.clone()))
        .collect();
    acknowledged(&acked, 50).await;

    // The backup starts with the load running; what was acknowledged
    // before it started must be in it.
    let before = *acked.borrow();
    let copy = dir.path().join("backup.db");
    let (ok, said) = club_server(&[
        os("backup"),
        os("--database"),
        db.as_os_str(),
        os("--to"),
        copy.as_os_str(),
    ])
    .await;
    let after = *acked.borrow();
    assert!(ok, "{said}");
    assert!(said.contains("integrity ok"), "{said}");
    // The load went on during the backup and after it.
    acknowledged(&acked, after + 20).await;
    stop.cancel();
    for l in load {
        l.await.unwrap();
    }

    let c = rusqlite::Connection::open(&copy).unwrap();
    let check: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let (entries, sum): (i64, i64) = c
        .query_row(
            "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM ledger WHERE client_id = ?1 AND account = 'money'",
            [client],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(
        entries >= before,
        "{entries} in the copy, {before} acknowledged before it began"
    );
    assert_eq!(sum, entries * 1_00);
    let balance: i64 = c
        .query_row("SELECT balance FROM clients WHERE id = ?1", [client], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(
        balance, sum,
        "the copy is one moment: balance and ledger agree"
    );
    drop(c);

    // A backup never overwrites, and a restore refuses a database in use.
    let (ok, said) = club_server(&[
        os("backup"),
        os("--database"),
        db.as_os_str(),
        os("--to"),
        copy.as_os_str(),
    ])
    .await;
    assert!(!ok && said.contains("exists already"), "{said}");
    let (ok, said) = club_server(&[
        os("restore"),
        os("--from"),
        copy.as_os_str(),
        os("--database"),
        db.as_os_str(),
    ])
    .await;
    assert!(
        !ok && said.contains("another club-server is using"),
        "{said}"
    );
    // So does a second server on the same file.
    let mut second = server_command(&db, "", &[]);
    let out = tokio::time::timeout(WAIT, second.output())
        .await
        .unwrap()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("another club-server is using the database"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    srv.stop().await;

    // Stopped, the club restores the backup; the replaced file is kept.
    let (ok, said) = club_server(&[
        os("restore"),
        os("--from"),
        copy.as_os_str(),
        os("--database"),
        db.as_os_str(),
    ])
    .await;
    assert!(ok, "{said}");
    assert!(said.contains("The replaced database is kept as"), "{said}");
    let kept: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("club.db.replaced-")
        })
        .collect();
    assert!(!kept.is_empty());

    // A server on the restored file works: what the copy held, and new work.
    let srv = ServerProcess::start(server_command(&db, "", &[])).await;
    let api = sign_in_owner(&srv.base).await;
    let got = api
        .ok(Method::GET, &format!("/clients/{client}"), Value::Null)
        .await;
    assert_eq!(got["balance"].as_i64().unwrap(), entries * 1_00);
    open_shift(&api).await;
    api.ok(
        Method::POST,
        &format!("/clients/{client}/top-ups"),
        json!({"amount": 1_00, "method": "cash"}),
    )
    .await;
    let got = api
        .ok(Method::GET, &format!("/clients/{client}"), Value::Null)
        .await;
    assert_eq!(got["balance"].as_i64().unwrap(), (entries + 1) * 1_00);
    srv.stop().await;

    // A file that is no database is refused, and nothing is replaced.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let (ok, said) = club_server(&[
        os("restore"),
        os("--from"),
        junk.as_os_str(),
        os("--database"),
        db.as_os_str(),
    ])
    .await;
    assert!(!ok, "{said}");
    let c = rusqlite::Connection::open(&db).unwrap();
    let n: i64 = c
        .query_row("SELECT COUNT(*) FROM clients", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1, "the database is untouched");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_config_file_sets_what_flags_leave_and_no_secret_reaches_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("club-server.toml");
    std::fs::write(
        &config,
        "owner-password = \"file-owner-pw\"\nmetrics-token = \"m3trics-t0ken-xyz\"\n\
         log-format = \"json\"\ntoken-ttl-hours = 3\n",
    )
    .unwrap();
    let mut cmd = server_command(
        &database_in(dir.path()),
        "",
        &["--config", config.to_str().unwrap()],
    );
    // Everything the server can say.
    cmd.env("RUST_LOG", "trace");
    let (mut child, base, lines) = server_keeping_output(cmd).await;

    // The flag's owner password won over the file's.
    let (status, _) = Api::new(&base)
        .post(
            "/auth/login",
            json!({"login": "owner", "password": "file-owner-pw"}),
        )
        .await;
    assert_eq!(status, 401);
    let owner = sign_in_owner(&base).await;
    let me = owner.ok(Method::GET, "/operators", Value::Null).await;
    assert!(me.as_array().is_some());
    // The file's token lifetime applies: a sign-in lasts 3 hours.
    let c = rusqlite::Connection::open(database_in(dir.path())).unwrap();
    let ttl_ms: i64 = c
        .query_row("SELECT MAX(expires_at - created_at) FROM tokens", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(ttl_ms, 3 * 3600 * 1000);
    drop(c);

    // Secrets go over the wire: a hall feed with its token in the URL, a
    // PC's enrollment code and secret, a player's PIN, a staff password.
    let token = owner.token().unwrap();
    let url = format!(
        "{}/api/v1/hall/ws?token={token}",
        base.replace("http://", "ws://")
    );
    let (feed, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let zone = owner
        .ok(Method::POST, "/zones", json!({"name": "Main"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let dev = owner
        .ok(
            Method::POST,
            "/devices",
            json!({"name": "PC-1", "zone_id": zone, "x": 0, "y": 0}),
        )
        .await;
    let code = dev["enrollment_code"].as_str().unwrap().to_owned();
    let (status, enrolled) = Api::new(&base)
        .post("/agent/enroll", json!({"code": code, "hostname": "pc-1"}))
        .await;
    assert_eq!(status, 200, "{enrolled}");
    let secret = enrolled["device_secret"].as_str().unwrap().to_owned();
    new_client(&owner, "Ivy", "+1 555 0177", 0).await;
    let (_, _) = Api::new(&base)
        .post(
            "/player/login",
            json!({"phone": "+1 555 0177", "pin": "4321"}),
        )
        .await;
    let metrics = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(metrics.status(), 200);
    drop(feed);

    let pid = child.id().unwrap().to_string();
    tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    tokio::time::timeout(WAIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    let said = lines.lock().unwrap().join("\n");
    assert!(said.contains("club-server started"), "{said}");
    for secret in [
        PROCESS_OWNER_PASSWORD,
        "file-owner-pw",
        "m3trics-t0ken-xyz",
        token.as_str(),
        code.as_str(),
        secret.as_str(),
        "4321",
    ] {
        assert!(!said.contains(secret), "`{secret}` in the output:\n{said}");
    }
    assert!(!said.contains('\u{1b}'), "no colour codes off a terminal");
    // JSON logs: every log line is one JSON object.
    let logs: Vec<&str> = said.lines().filter(|l| l.starts_with('{')).collect();
    assert!(logs.len() > 5, "{said}");
    for l in &logs {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert!(v["level"].is_string() && v["timestamp"].is_string(), "{l}");
    }
    // Requests are logged under their route, not their raw path.
    assert!(
        logs.iter()
            .any(|l| l.contains(r#""route":"/api/v1/auth/login""#)),
        "{said}"
    );
}

#[tokio::test]
async fn the_version_and_a_bad_config_file_are_answered_plainly() {
    let (ok, said) = club_server(&[os("--version")]).await;
    assert!(ok);
    assert_eq!(
        said.trim(),
        format!("club-server {}", env!("CARGO_PKG_VERSION"))
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("club.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\nlsiten = 1\n").unwrap();
    let (ok, said) = club_server(&[os("--config"), config.as_os_str()]).await;
    assert!(!ok);
    assert!(said.contains("unknown setting `lsiten`"), "{said}");
    let (ok, said) =
        club_server(&[os("--config"), dir.path().join("missing.toml").as_os_str()]).await;
    assert!(!ok && said.contains("reading the config file"), "{said}");
}
