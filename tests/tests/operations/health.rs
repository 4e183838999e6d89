//! Health, readiness, and the Prometheus metrics (checked by promtool).

use super::*;

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
            Some(v) => assert_eq!(metric_sample(&text, series), Some(v), "{series} in\n{text}"),
            None => assert!(text.contains(series), "{series} in\n{text}"),
        }
    }
    let commits = metric_sample(&text, "clubhall_commits_total").unwrap();
    assert!(commits >= 5.0, "{text}");
    assert_eq!(
        metric_sample(&text, "clubhall_commit_batch_operations_count"),
        Some(commits),
        "one batch size per commit"
    );
    // SQLite's flusher fsyncs the WAL apart from the COMMIT; PostgreSQL's
    // COMMIT does its own.
    let flushes = metric_sample(&text, "clubhall_wal_flush_seconds_count").unwrap();
    assert_eq!(flushes >= 1.0, !on_postgres(), "{text}");
    let ran = metric_sample(&text, "clubhall_writer_operation_seconds_count").unwrap();
    assert!(ran >= 1.0, "{text}");
    assert_eq!(
        metric_sample(&text, "clubhall_writer_queue_seconds_count"),
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
