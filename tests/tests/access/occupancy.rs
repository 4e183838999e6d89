//! One live session per PC, enrollment codes, the player app, the API document.

use super::*;

#[tokio::test]
async fn not_enough_money_is_refused_and_rolled_back() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let poor = new_client(&api, "Poor", "+1 555 0200", 150).await;
    let before = balance_and_ledger(&api, poor).await;
    let (st, body) = api
        .post(
            "/sessions",
            json!({"client_id": poor, "device_id": h.pcs[0], "tariff_id": h.keep}),
        )
        .await;
    assert_eq!(st, 409);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("balance of 1.50 does not cover the 2.00"));
    assert_eq!(balance_and_ledger(&api, poor).await, before);
    // The PC is still free: a half-done session would block it.
    api.ok(
        Method::POST,
        "/sessions",
        json!({"client_id": h.client, "device_id": h.pcs[0], "tariff_id": h.keep}),
    )
    .await;
    srv.stop().await;
}

#[tokio::test]
async fn a_pc_never_holds_two_live_sessions() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let other = new_client(&api, "Other", "+1 555 0201", 1000).await;
    api.ok(
        Method::POST,
        "/sessions",
        json!({"client_id": h.client, "device_id": h.pcs[0], "tariff_id": h.keep}),
    )
    .await;
    let (st, body) = api
        .post(
            "/sessions",
            json!({"client_id": other, "device_id": h.pcs[0], "tariff_id": h.keep}),
        )
        .await;
    assert_eq!(st, 409);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("occupied"),
        "{body}"
    );

    // Reservations: overlapping slots are refused, back-to-back ones are fine.
    let at = |h: i64| (t0() + Duration::hours(h)).to_rfc3339();
    api.ok(Method::POST, "/sessions", json!({"client_id": other, "device_id": h.pcs[1], "tariff_id": h.keep, "planned_start_at": at(3)})).await;
    let (st, _) = api.post("/sessions", json!({"client_id": h.client, "device_id": h.pcs[1], "tariff_id": h.keep, "planned_start_at": at(4)})).await;
    assert_eq!(st, 409, "3:00-5:00 overlaps 4:00-6:00");
    api.ok(Method::POST, "/sessions", json!({"client_id": h.client, "device_id": h.pcs[1], "tariff_id": h.keep, "planned_start_at": at(5)})).await;
    // Playing now, 12:00-14:00, ends before the 15:00 booking.
    let (st, _) = api
        .post(
            "/sessions",
            json!({"client_id": other, "device_id": h.pcs[1], "tariff_id": h.keep}),
        )
        .await;
    assert_eq!(st, 201);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_requests_for_one_pc_get_exactly_one_session() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let mut clients = Vec::new();
    for i in 0..8 {
        clients.push(
            new_client(
                &api,
                &format!("Racer {i}"),
                &format!("+1 555 07{i:02}"),
                1000,
            )
            .await,
        );
    }
    let tasks: Vec<_> = clients
        .iter()
        .map(|c| {
            let api = api.clone();
            let body = json!({"client_id": c, "device_id": h.pcs[2], "tariff_id": h.keep});
            tokio::spawn(async move { api.post("/sessions", body).await.0 })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
    // The losers paid nothing: their purchase rolled back with the session.
    let mut paid = 0;
    for c in clients {
        let client = api
            .ok(Method::GET, &format!("/clients/{c}"), Value::Null)
            .await;
        if client["balance"] != 1000 {
            paid += 1;
        }
    }
    assert_eq!(paid, 1);
    srv.stop().await;
}

#[tokio::test]
async fn an_enrollment_code_works_once() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let zone = api.ok(Method::POST, "/zones", json!({"name": "Z"})).await["id"].clone();
    let dev = api
        .ok(
            Method::POST,
            "/devices",
            json!({"name": "PC-9", "zone_id": zone, "x": 1, "y": 1}),
        )
        .await;
    let code = dev["enrollment_code"].as_str().unwrap().to_owned();
    let anon = srv.anonymous();
    let enrolled = anon
        .ok(
            Method::POST,
            "/agent/enroll",
            json!({"code": code, "hostname": "pc9"}),
        )
        .await;
    assert_eq!(enrolled["device_id"], dev["id"]);
    assert!(enrolled["device_secret"].as_str().unwrap().len() >= 40);
    let (st, _) = anon
        .post("/agent/enroll", json!({"code": code, "hostname": "pc9"}))
        .await;
    assert_eq!(st, 401, "single use");

    // A fresh code expires after 24 hours.
    let fresh = api
        .ok(
            Method::POST,
            &format!("/devices/{}/enrollment", dev["id"]),
            json!({}),
        )
        .await;
    srv.clock.advance(Duration::hours(25));
    let (st, _) = anon
        .post(
            "/agent/enroll",
            json!({"code": fresh["enrollment_code"], "hostname": "pc9"}),
        )
        .await;
    assert_eq!(st, 401, "expired");
    let api = srv.owner().await; // the first sign-in expired with the day
    let device = api
        .ok(Method::GET, &format!("/devices/{}", dev["id"]), Value::Null)
        .await;
    assert_eq!(device["enrolled"], true);
    srv.stop().await;
}

#[tokio::test]
async fn a_player_starts_their_own_session_from_the_app() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let other = new_client(&api, "Other", "+1 555 0202", 1000).await;
    let mine = api
        .ok(
            Method::POST,
            "/sessions",
            json!({"client_id": h.client, "device_id": h.pcs[0], "tariff_id": h.keep}),
        )
        .await;
    let theirs = api
        .ok(
            Method::POST,
            "/sessions",
            json!({"client_id": other, "device_id": h.pcs[1], "tariff_id": h.keep}),
        )
        .await;

    let anon = srv.anonymous();
    let (st, _) = anon
        .post(
            "/player/login",
            json!({"phone": "+1 555 0100", "pin": "0000"}),
        )
        .await;
    assert_eq!(st, 401);
    let token = anon
        .ok(
            Method::POST,
            "/player/login",
            json!({"phone": "+1 555 0100", "pin": "4321"}),
        )
        .await;
    let player = srv.anonymous().with_token(token["token"].as_str().unwrap());
    let me = player.ok(Method::GET, "/player/me", Value::Null).await;
    assert_eq!(me["client"]["id"], h.client);
    assert_eq!(me["sessions"][0]["id"], mine["id"]);

    let (st, body) = player
        .post(
            &format!("/player/sessions/{}/start", theirs["id"]),
            json!({}),
        )
        .await;
    assert_eq!(st, 403, "{body}");
    let started = player
        .ok(
            Method::POST,
            &format!("/player/sessions/{}/start", mine["id"]),
            json!({"force": true}),
        )
        .await;
    assert_eq!(started["status"], "STARTED");
    // A player token is not a staff token.
    let (st, _) = player.get("/hall").await;
    assert_eq!(st, 401);
    srv.stop().await;
}

#[tokio::test]
async fn the_api_document_lists_the_real_routes() {
    let srv = TestServer::start().await;
    let (st, doc) = srv.anonymous().get("/openapi.json").await;
    assert_eq!(st, 200);
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/sessions",
        "/api/v1/sessions/{id}/cancel",
        "/api/v1/clients/{id}/top-ups",
        "/api/v1/hall",
        "/api/v1/auth/login",
    ] {
        assert!(paths.contains_key(p), "{p}");
    }
    srv.stop().await;
}
