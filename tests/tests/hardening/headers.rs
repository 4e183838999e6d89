//! Security headers, tokens in queries, CSV formulas, what agents say, the loopback page.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    let srv = TestServer::start().await;
    let http = reqwest::Client::new();
    for path in ["/", "/js/main.js", "/api/v1/hall", "/nowhere"] {
        let res = http
            .get(format!("{}{path}", srv.base))
            .send()
            .await
            .unwrap();
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_in_the_query_is_read_only_on_websocket_upgrades() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let token = api.token().unwrap();
    let http = reqwest::Client::new();
    let in_query = http
        .get(format!("{}/api/v1/hall?token={token}", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(in_query.status(), 401, "REST ignores ?token=");
    let in_header = http
        .get(format!("{}/api/v1/hall", srv.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(in_header.status(), 200);
    // The hall feed, a WebSocket, still takes it from the query.
    let url = feed_url(&srv, &token);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let first = tokio::time::timeout(WAIT, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let v: Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
    assert_eq!(v["type"], "snapshot");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_formula_in_a_name_is_shown_not_run_in_the_csv() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let evil = new_client(
        &api,
        "=HYPERLINK(\"http://evil.example\",\"x\")",
        "+1 555 0166",
        1000,
    )
    .await;
    let id = new_session(&api, evil, h.pcs[0], h.keep).await;
    api.ok(Method::POST, &format!("/sessions/{id}/cancel"), json!({}))
        .await;
    let csv = reqwest::Client::new()
        .get(format!("{}/api/v1/sessions.csv", srv.base))
        .bearer_auth(api.token().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\","),
        "{csv}"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_an_agent_says_about_its_pc_is_cut_to_size() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (device_id, state_dir, _dir) = enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    let (_, secret) = state_dir.load_enrollment().unwrap();
    let url = srv.base.replace("http://", "ws://") + "/agent/v1/ws";
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {secret}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let hello = AgentMsg::Hello {
        protocol_version: club_shared::protocol::PROTOCOL_VERSION,
        agent_version: "hostile".into(),
        last_applied_seq: 0,
        locked: true,
        hardware: Metrics {
            hostname: "h".repeat(60_000),
            os: "o".repeat(2_000),
            problems: vec!["p".repeat(300); 10],
            ..Metrics::default()
        },
        agent_started_at: None,
        build: None,
    };
    ws.send(Message::text(serde_json::to_string(&hello).unwrap()))
        .await
        .unwrap();
    loop {
        let frame = tokio::time::timeout(WAIT, ws.next()).await.unwrap();
        let text = frame.unwrap().unwrap().into_text().unwrap();
        if let Ok(ServerMsg::State { .. }) = serde_json::from_str(&text) {
            break;
        }
    }
    let d = api
        .ok(Method::GET, &format!("/devices/{device_id}"), Value::Null)
        .await;
    let m = &d["metrics"];
    assert_eq!(m["hostname"].as_str().unwrap().len(), 253);
    assert_eq!(m["os"].as_str().unwrap().len(), 200);
    let problems = m["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 4);
    assert!(problems.iter().all(|p| p.as_str().unwrap().len() == 200));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agents_loopback_page_answers_only_itself() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let agent = TestAgent::start(&srv, &api, h.zone, "PC-A").await;
    agent.wait("connected", |s| s.connected).await;
    let addr = agent.handle.ui_addr();
    let http = reqwest::Client::new();
    let start = format!("http://{addr}/api/start");
    // A web page in the player's browser: its own Origin.
    let from_a_page = http
        .post(&start)
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(from_a_page.status(), 403);
    // DNS rebinding: the page's host name, resolved to 127.0.0.1.
    let rebound = http
        .get(format!("http://{addr}/api/status"))
        .header("host", format!("evil.example:{}", addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 403);
    // The page itself, and the command line, still work.
    let own = http
        .get(format!("http://{addr}/api/status"))
        .header("origin", format!("http://{addr}"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    assert_eq!(own.headers()["x-frame-options"], "DENY");
    let (status, _) = agent.press_start().await;
    assert_eq!(status, 409, "no session: refused, but answered");
    agent.stop().await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agents_status_page_waits_for_a_change_when_asked() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let agent = TestAgent::start(&srv, &api, h.zone, "PC-A").await;
    agent.wait("connected", |s| s.connected).await;
    let status = |q: &str| {
        let url = format!("http://{}/api/status{q}", agent.handle.ui_addr());
        async move {
            let r = reqwest::get(url).await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (code, now) = status("").await;
    assert_eq!(code, 200);
    let seen = now["version"].as_u64().expect("a version");
    let (code, bad) = status("?after=soon").await;
    assert_eq!(
        (code, bad["error"]["code"].as_str()),
        (400, Some("bad_request"))
    );
    // An old version answers at once; the current one waits for the
    // session the desk sells, and answers with it.
    let (_, at_once) = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        status(&format!("?after={}", seen.wrapping_sub(1))),
    )
    .await
    .expect("no wait for a version already passed");
    assert!(at_once["version"].as_u64().unwrap() >= seen, "{at_once}");
    let seen = at_once["version"].as_u64().unwrap();
    let waiting = tokio::spawn(status(&format!("?after={seen}")));
    let sid = new_session(&api, h.client, agent.device_id, h.keep).await;
    let (code, mut changed) = tokio::time::timeout(WAIT, waiting).await.unwrap().unwrap();
    assert_eq!(code, 200);
    assert!(changed["version"].as_u64().unwrap() > seen, "{changed}");
    // The session may come with a later change than the first.
    tokio::time::timeout(WAIT, async {
        while changed["session"]["id"] != json!(sid) {
            changed = status(&format!("?after={}", changed["version"])).await.1;
        }
    })
    .await
    .expect("the session reaches the status page");
    agent.stop().await;
    srv.stop().await;
}
