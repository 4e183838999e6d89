//! A server every player on the LAN can reach, tried as a hostile player
//! would (issue 13): each finding that is fixed stays fixed here.

use club_shared::protocol::{AgentMsg, ServerMsg};
use club_shared::Metrics;
use club_tests::agents::{enrolled_pc, TestAgent};
use club_tests::*;
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    let srv = TestServer::start().await;
    let http = reqwest::Client::new();
    for path in ["/", "/app.js", "/api/v1/hall", "/nowhere"] {
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

/// A raw TCP connection to the server from `from` (a loopback address).
async fn raw_from(srv: &TestServer, from: &str) -> tokio::net::TcpStream {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let to: std::net::SocketAddr = srv.base.trim_start_matches("http://").parse().unwrap();
    sock.connect(to).await.unwrap()
}

/// Reads until the server closes the connection; answers what it sent.
async fn read_to_close(s: &mut tokio::net::TcpStream, within: std::time::Duration) -> String {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    tokio::time::timeout(within, s.read_to_end(&mut got))
        .await
        .expect("the server closed the connection in time")
        .ok();
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_half_sent_connections_are_closed_and_one_address_cannot_take_them_all() {
    use tokio::io::AsyncWriteExt;
    const CAP: usize = 8;
    let srv = TestServer::start_with(|c| {
        c.header_read_timeout_seconds = 1;
        c.max_connections_per_address = CAP;
    })
    .await;
    let api = srv.owner().await;

    // A player's PC (127.0.0.2) opens connections and sends nothing, or
    // half a request head: its first CAP are held, the next is refused at
    // once with a word why...
    let mut held = Vec::new();
    for i in 0..CAP {
        let mut s = raw_from(&srv, "127.0.0.2").await;
        if i % 2 == 1 {
            s.write_all(b"GET /api/v1/hall HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap();
        }
        held.push(s);
    }
    let mut over = raw_from(&srv, "127.0.0.2").await;
    let said = read_to_close(&mut over, WAIT).await;
    assert!(said.starts_with("HTTP/1.1 503"), "{said:?}");
    assert!(said.contains("\"busy\""), "{said:?}");

    // ...while the desk (127.0.0.1) is served as usual.
    let (status, _) = api.get("/hall").await;
    assert_eq!(status, 200);

    // Within the header timeout (1 s here), every held one is closed.
    let started = std::time::Instant::now();
    for mut s in held {
        let said = read_to_close(&mut s, std::time::Duration::from_secs(5)).await;
        assert!(!said.contains("200 OK"), "{said:?}");
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // And the address gets its slots back.
    let mut again = raw_from(&srv, "127.0.0.2").await;
    again
        .write_all(b"GET /api/v1/hall HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let said = read_to_close(&mut again, WAIT).await;
    assert!(said.starts_with("HTTP/1.1 401"), "{said:?}");
    srv.stop().await;
}

async fn player_login(api: &Api, phone: &str, pin: &str) -> (u16, Value) {
    api.post("/player/login", json!({"phone": phone, "pin": pin}))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_pins_lock_the_pin_until_time_or_staff_lift_it() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let client = new_client(&api, "Pia", "+1 555 0142", 0).await;
    let anon = srv.anonymous();
    for _ in 0..5 {
        assert_eq!(player_login(&anon, "+1 555 0142", "0000").await.0, 401);
    }
    // Locked: even the right PIN is refused, with how long to wait.
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/player/login", srv.base))
        .json(&json!({"phone": "+1 555 0142", "pin": "4321"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "900");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_attempts");
    let audit = api.ok(Method::GET, "/audit", Value::Null).await;
    let locked = audit
        .as_array()
        .or_else(|| audit["items"].as_array())
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "sign_in_locked")
        .cloned()
        .expect("the lock is audited");
    assert_eq!(locked["client_id"], client);

    // Staff lift it (ClientManage, audited).
    let lifted = api
        .ok(
            Method::POST,
            &format!("/clients/{client}/pin-unlock"),
            json!({}),
        )
        .await;
    assert_eq!(lifted["was_locked"], true);
    assert_eq!(player_login(&anon, "+1 555 0142", "4321").await.0, 200);

    // Locked again, it lifts with time (15 minutes on the server's clock).
    for _ in 0..5 {
        player_login(&anon, "+1 555 0142", "9999").await;
    }
    assert_eq!(player_login(&anon, "+1 555 0142", "4321").await.0, 429);
    srv.clock
        .advance(chrono::Duration::minutes(30) + chrono::Duration::seconds(1));
    assert_eq!(player_login(&anon, "+1 555 0142", "4321").await.0, 200);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_logins_lock_per_account_and_per_address() {
    let srv = TestServer::start().await;
    let anon = srv.anonymous();
    let login = |l: &str, p: &str| {
        let anon = anon.clone();
        let body = json!({"login": l, "password": p});
        async move { anon.post("/auth/login", body).await.0 }
    };
    for _ in 0..5 {
        assert_eq!(login("owner", "guess-guess").await, 401);
    }
    assert_eq!(
        login("owner", OWNER_PASSWORD).await,
        429,
        "the account is locked"
    );
    srv.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(
        login("owner", OWNER_PASSWORD).await,
        200,
        "and lifts after a minute"
    );

    // A player's PC (127.0.0.2) trying made-up logins: 30 a minute, then
    // the address is shut out; the desk (127.0.0.1) is not.
    let pc = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let mut statuses = Vec::new();
    for i in 0..31 {
        let res = pc
            .post(format!("{}/api/v1/auth/login", srv.base))
            .json(&json!({"login": format!("nobody-{i}"), "password": "guess-guess"}))
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    assert!(statuses[..30].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses[30], 429);
    assert_eq!(login("owner", OWNER_PASSWORD).await, 200);
    srv.stop().await;
}

/// Waits for the hall screen to be closed with `code`.
async fn closed_with(ws: &mut Ws, code: u16) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("the screen closed in time");
        match frame {
            Some(Ok(Message::Close(Some(f)))) => {
                assert_eq!(u16::from(f.code), code, "{f:?}");
                return;
            }
            Some(Ok(_)) => continue,
            other => panic!("closed without a close frame: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_or_running_out_closes_the_hall_feed() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;

    // Logout ends the token and closes the screens opened with it.
    let desk = srv.owner().await;
    let mut feed = screen(&srv, &desk.token().unwrap()).await;
    assert_eq!(desk.post("/auth/logout", json!({})).await.0, 204);
    closed_with(&mut feed, 4001).await;
    assert_eq!(desk.get("/hall").await.0, 401);
    assert_eq!(api.get("/hall").await.0, 200, "other sign-ins go on");

    // A sign-in that runs out (12 h): its screen closes at the next change.
    let mut feed = screen(&srv, &api.token().unwrap()).await;
    srv.clock.advance(chrono::Duration::hours(13));
    let fresh = srv.owner().await;
    fresh
        .ok(
            Method::POST,
            "/devices",
            json!({"name": "PC-late", "zone_id": h.zone, "x": 9, "y": 9}),
        )
        .await;
    closed_with(&mut feed, 4001).await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolling_a_pc_again_closes_the_old_secrets_connection() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let agent = TestAgent::start(&srv, &api, h.zone, "PC-A").await;
    agent.wait("connected", |s| s.connected).await;
    let code = api
        .ok(
            Method::POST,
            &format!("/devices/{}/enrollment", agent.device_id),
            json!({}),
        )
        .await["enrollment_code"]
        .as_str()
        .unwrap()
        .to_owned();
    api.ok(
        Method::POST,
        "/agent/enroll",
        json!({"code": code, "hostname": "the real PC"}),
    )
    .await;
    let s = agent
        .wait("the old secret's connection closed", |s| !s.connected)
        .await;
    assert!(s.locked, "and the PC stays locked");
    agent.stop().await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sessions_audit_needs_report_view_and_a_preview_the_actions_permission() {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let h = hall(&owner).await;
    let id = new_session(&owner, h.client, h.pcs[0], h.keep).await;
    let role = owner
        .ok(
            Method::POST,
            "/roles",
            json!({"name": "Greeter", "permissions": ["SessionCreate"]}),
        )
        .await["id"]
        .clone();
    owner
        .ok(
            Method::POST,
            "/operators",
            json!({"login": "greta", "password": "password-123", "role_id": role}),
        )
        .await;
    let greta = srv.login("greta", "password-123").await;
    let seen = greta
        .ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
        .await;
    assert_eq!(seen["id"], id);
    assert_eq!(seen["audit"], json!([]), "no ReportView, no audit trail");
    let full = owner
        .ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
        .await;
    assert!(!full["audit"].as_array().unwrap().is_empty());
    for (action, permission) in [("cancel", "SessionDelete"), ("end", "SessionEnd")] {
        let (status, body) = greta
            .get(&format!("/sessions/{id}/preview?action={action}"))
            .await;
        assert_eq!(status, 403, "{action}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(permission),
            "{body}"
        );
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_a_pc_closes_its_agents_connection() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let agent = TestAgent::start(&srv, &api, h.zone, "PC-A").await;
    agent.wait("connected", |s| s.connected).await;
    api.ok(
        Method::PATCH,
        &format!("/devices/{}", agent.device_id),
        json!({"enabled": false}),
    )
    .await;
    let s = agent.wait("closed out", |s| !s.connected).await;
    assert!(s.locked);
    agent.stop().await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_or_resetting_an_operator_ends_their_sign_ins_and_screens() {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let ada = srv.staff("ada", "Cashier").await;
    let id = owner.operator_id("ada").await;
    let mut feed = screen(&srv, &ada.token().unwrap()).await;

    // Disabled: the screen closes, the token is refused, and so is a login.
    let v = owner
        .ok(
            Method::PATCH,
            &format!("/operators/{id}"),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(v["disabled"], true);
    closed_with(&mut feed, 4001).await;
    assert_eq!(ada.get("/hall").await.0, 401);
    let (status, body) = srv
        .anonymous()
        .post(
            "/auth/login",
            json!({"login": "ada", "password": "password-123"}),
        )
        .await;
    assert_eq!(status, 401);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("disabled"));

    // Enabled with a new password: the old one no longer works.
    owner
        .ok(
            Method::PATCH,
            &format!("/operators/{id}"),
            json!({"disabled": false, "password": "fresh-pass-1"}),
        )
        .await;
    let (status, _) = srv
        .anonymous()
        .post(
            "/auth/login",
            json!({"login": "ada", "password": "password-123"}),
        )
        .await;
    assert_eq!(status, 401);
    let ada = srv.login("ada", "fresh-pass-1").await;
    assert_eq!(ada.get("/hall").await.0, 200);

    // A reset ends the sign-ins made before it.
    owner
        .ok(
            Method::PATCH,
            &format!("/operators/{id}"),
            json!({"password": "fresh-pass-2"}),
        )
        .await;
    assert_eq!(ada.get("/hall").await.0, 401);

    // Nobody disables their own account.
    let me = owner
        .ok(Method::GET, "/operators", Value::Null)
        .await
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["login"] == "owner")
        .unwrap()["id"]
        .clone();
    let (status, _) = owner
        .call(
            Method::PATCH,
            &format!("/operators/{me}"),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, 400);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_ones_own_password_ends_the_other_sign_ins() {
    let srv = TestServer::start().await;
    let here = srv.staff("ada", "Cashier").await;
    let elsewhere = srv.login("ada", "password-123").await;
    let mut feed = screen(&srv, &elsewhere.token().unwrap()).await;
    let (status, _) = here
        .post(
            "/auth/password",
            json!({"current_password": "wrong-one-1", "new_password": "brand-new-1"}),
        )
        .await;
    assert_eq!(status, 400, "the current password must be known");
    let (status, _) = here
        .post(
            "/auth/password",
            json!({"current_password": "password-123", "new_password": "brand-new-1"}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(here.get("/hall").await.0, 200, "this sign-in goes on");
    assert_eq!(elsewhere.get("/hall").await.0, 401, "the others end");
    closed_with(&mut feed, 4001).await;
    srv.login("ada", "brand-new-1").await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sign_in_holds_a_few_hall_screens_not_hundreds() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let token = api.token().unwrap();
    let mut open = Vec::new();
    for _ in 0..8 {
        let mut ws = screen(&srv, &token).await;
        // The snapshot: the screen is open.
        tokio::time::timeout(WAIT, ws.next()).await.unwrap();
        open.push(ws);
    }
    let url = feed_url(&srv, &token);
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status(), 429);
            assert!(res.headers().contains_key("retry-after"));
        }
        other => panic!("the ninth screen was not refused: {other:?}"),
    }
    // One closes: there is room again.
    drop(open.pop());
    let deadline = std::time::Instant::now() + WAIT;
    let url = feed_url(&srv, &token);
    while tokio_tungstenite::connect_async(&url).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "no room after a close"
        );
        tokio::task::yield_now().await;
    }
    srv.stop().await;
}

/// Every `$ref` in a JSON document, with where it stands.
fn refs(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if k == "$ref" {
                    if let Some(r) = v.as_str() {
                        out.push((at.to_owned(), r.to_owned()));
                    }
                } else {
                    refs(v, &format!("{at}/{k}"), out);
                }
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                refs(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_schema_the_api_document_names_is_in_it() {
    let srv = TestServer::start().await;
    let (_, doc) = srv.anonymous().get("/openapi.json").await;
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut found = Vec::new();
    refs(&doc, "", &mut found);
    assert!(!found.is_empty());
    let missing: Vec<_> = found
        .iter()
        .filter(|(_, r)| {
            let name = r.trim_start_matches("#/components/schemas/");
            !schemas.contains_key(name)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "schemas named but not in the document: {missing:?}"
    );
    // The sign-in routes say they can answer 429 and 503.
    let login = &doc["paths"]["/api/v1/auth/login"]["post"]["responses"];
    for status in ["200", "401", "429", "503"] {
        assert!(login.get(status).is_some(), "login: {status}");
    }
    srv.stop().await;
}

#[tokio::test]
async fn ones_own_password_and_role_change_only_where_the_current_password_is_asked() {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let me = owner.operator_id("owner").await;
    let cashier = owner.role_id("Cashier").await;
    for body in [
        json!({"password": "taken-over-1"}),
        json!({"role_id": cashier}),
        json!({"disabled": true}),
    ] {
        let (status, v) = owner
            .call(Method::PATCH, &format!("/operators/{me}"), Some(body))
            .await;
        assert_eq!(status, 400, "{v}");
    }
    // Nothing changed: the sign-in still works, with the Owner's rights.
    let (status, _) = owner.get("/roles").await;
    assert_eq!(status, 200);
    srv.login("owner", OWNER_PASSWORD).await;
    srv.stop().await;
}

#[tokio::test]
async fn a_body_is_one_json_object_and_a_whole_number_may_carry_a_point() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    // An array is not a zone, even if every field had a default.
    let (status, v) = api.post_raw("/zones", "[]").await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("object"));
    // JSON Schema counts 250.0 as an integer; 250.5 is not one.
    let top_up = format!("/clients/{}/top-ups", h.client);
    let (status, v) = api
        .post_raw(&top_up, r#"{"amount": 250.0, "method": "cash"}"#)
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = api
        .post_raw(&top_up, r#"{"amount": 250.5, "method": "cash"}"#)
        .await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("amount"),
        "{v}"
    );
    let client = api
        .ok(Method::GET, &format!("/clients/{}", h.client), Value::Null)
        .await;
    assert_eq!(client["balance"], 1000 + 250);
    // A cancel's reason may be left out, or be null.
    let id = new_session(&api, h.client, h.pcs[0], h.keep).await;
    let (status, v) = api
        .post_raw(&format!("/sessions/{id}/cancel"), "null")
        .await;
    assert_eq!((status, &v["status"]), (200, &json!("CANCELLED")), "{v}");
    books_balance(&srv).await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pcs_secret_holds_at_most_two_sockets_that_have_not_said_hello() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (_, state, _dir) = enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    let (_, secret) = state.load_enrollment().unwrap();
    let url = format!("{}/agent/v1/ws", srv.base.replace("http://", "ws://"));
    let upgrade = || {
        let mut req = url.as_str().into_client_request().unwrap();
        req.headers_mut()
            .insert("authorization", format!("Bearer {secret}").parse().unwrap());
        tokio_tungstenite::connect_async(req)
    };
    // Upgraded sockets leave the HTTP connection counts; before their hello
    // a PC may hold two (a reconnect racing the old one), not hundreds.
    let (first, _) = upgrade().await.expect("first upgrades");
    let (_second, _) = upgrade().await.expect("second upgrades");
    match upgrade().await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status(), 503)
        }
        other => panic!("a third upgraded: {:?}", other.map(|(_, r)| r.status())),
    }
    // One goes (the server has let it go once its side is closed): its
    // place comes back.
    let mut first = first;
    first.close(None).await.unwrap();
    tokio::time::timeout(WAIT, async { while first.next().await.is_some() {} })
        .await
        .expect("the server closed its side");
    let (_again, _) = upgrade().await.expect("a place came back");
    // Sockets that never said hello do not hold the server's shutdown up.
    let stopping = std::time::Instant::now();
    srv.stop().await;
    assert!(stopping.elapsed() < std::time::Duration::from_secs(4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_64_kib_is_refused_and_one_sent_too_slowly_is_cut_off() {
    use tokio::io::AsyncWriteExt;
    let srv = TestServer::start_with(|c| c.request_timeout_seconds = 1).await;
    let api = srv.owner().await;
    let big = format!(r#"{{"name": "{}"}}"#, "x".repeat(65 * 1024));
    let (status, v) = api.post_raw("/zones", &big).await;
    assert_eq!(status, 413, "{v}");
    assert_eq!(v["error"]["code"], "payload_too_large");
    // Nothing was made of it.
    let zones = api.ok(Method::GET, "/zones", Value::Null).await;
    assert_eq!(zones.as_array().unwrap().len(), 0);

    // A body promised whole and sent a byte at a time, then not at all:
    // answered 408 once the request deadline (1 s here) passes.
    let mut s = raw_from(&srv, "127.0.0.3").await;
    s.write_all(
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{",
    )
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let said = read_to_close(&mut s, WAIT).await;
    assert!(said.starts_with("HTTP/1.1 408"), "{said:?}");
    assert!(said.contains("request_timeout"), "{said:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    srv.stop().await;
}
