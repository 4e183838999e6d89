//! Sign-ins ending: sign-out, re-enrollment, disabled PCs and operators, password changes.

use super::*;

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
