//! Permissions, sign-in, bad input, occupancy and the player app, through
//! the REST API of a real server.

use chrono::Duration;
use club_tests::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn balance_and_ledger(api: &Api, client: i64) -> (Value, usize) {
    let c = api
        .ok(Method::GET, &format!("/clients/{client}"), Value::Null)
        .await;
    let ledger = api
        .ok(
            Method::GET,
            &format!("/clients/{client}/ledger"),
            Value::Null,
        )
        .await;
    (
        json!([c["balance"], c["bonus_balance"], c["holdings"]]),
        ledger.as_array().unwrap().len(),
    )
}

#[tokio::test]
async fn a_cashier_cannot_cancel_until_the_owner_grants_session_delete() {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let h = hall(&owner).await;
    let cashier = srv.staff("carl", "Cashier").await;
    let s = cashier
        .ok(
            Method::POST,
            "/sessions",
            json!({"client_id": h.client, "device_id": h.pcs[0], "tariff_id": h.keep}),
        )
        .await;
    let id = s["id"].as_i64().unwrap();

    let (st, body) = cashier
        .post(&format!("/sessions/{id}/cancel"), json!({}))
        .await;
    assert_eq!(st, 403);
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(body["error"]["message"], "missing permission SessionDelete");

    // Role settings: the Owner grants SessionDelete to Cashier.
    let cashier_role = owner.role_id("Cashier").await;
    let roles = owner.ok(Method::GET, "/roles", Value::Null).await;
    let mut perms: Vec<Value> = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == cashier_role)
        .unwrap()["permissions"]
        .as_array()
        .unwrap()
        .clone();
    perms.push(json!("SessionDelete"));
    let updated = owner
        .ok(
            Method::PUT,
            &format!("/roles/{cashier_role}"),
            json!({"permissions": perms}),
        )
        .await;
    assert!(updated["permissions"]
        .as_array()
        .unwrap()
        .contains(&json!("SessionDelete")));

    let cancelled = cashier
        .ok(Method::POST, &format!("/sessions/{id}/cancel"), json!({}))
        .await;
    assert_eq!(cancelled["status"], "CANCELLED");
    let audit = owner.ok(Method::GET, "/audit", Value::Null).await;
    assert!(audit
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["kind"] == "role.permissions"));
    srv.stop().await;
}

#[tokio::test]
async fn each_permission_is_checked_on_the_server() {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let h = hall(&owner).await;
    let cashier = srv.staff("carl", "Cashier").await;
    let admin = srv.staff("ada", "Administrator").await;
    let tariff = json!({"name": "X", "duration_seconds": 60, "price": 1, "refund_policy": "burn"});
    let checks: Vec<(&Api, Method, String, Value, &str)> = vec![
        (
            &cashier,
            Method::POST,
            "/tariffs".into(),
            tariff.clone(),
            "TariffManage",
        ),
        (
            &cashier,
            Method::PUT,
            format!("/tariffs/{}", h.keep),
            tariff,
            "TariffManage",
        ),
        (
            &cashier,
            Method::POST,
            "/zones".into(),
            json!({"name": "Z"}),
            "DeviceManage",
        ),
        (
            &cashier,
            Method::POST,
            "/devices".into(),
            json!({"name": "P", "zone_id": h.zone, "x": 0, "y": 0}),
            "DeviceManage",
        ),
        (
            &cashier,
            Method::POST,
            format!("/devices/{}/enrollment", h.pcs[0]),
            json!({}),
            "DeviceManage",
        ),
        (
            &admin,
            Method::GET,
            "/roles".into(),
            Value::Null,
            "RoleManage",
        ),
        (
            &admin,
            Method::PUT,
            "/roles/1".into(),
            json!({"permissions": []}),
            "RoleManage",
        ),
        (
            &admin,
            Method::POST,
            "/operators".into(),
            json!({"login": "x", "password": "password-1", "role_id": 1}),
            "RoleManage",
        ),
        (
            &admin,
            Method::PUT,
            "/settings".into(),
            json!({"warn_before_end_seconds": 60}),
            "RoleManage",
        ),
    ];
    for (api, method, path, body, perm) in checks {
        let body = if method == Method::GET {
            None
        } else {
            Some(body)
        };
        let (st, res) = api.call(method.clone(), &path, body).await;
        assert_eq!(st, 403, "{method} {path}: {res}");
        assert_eq!(
            res["error"]["message"],
            format!("missing permission {perm}"),
            "{method} {path}"
        );
    }

    // A role without SessionCreate, SessionStart, SessionEnd, BalanceTopUp, ReportView.
    let bare = owner
        .ok(
            Method::POST,
            "/roles",
            json!({"name": "Viewer", "permissions": []}),
        )
        .await;
    owner
        .ok(
            Method::POST,
            "/operators",
            json!({"login": "vic", "password": "password-123", "role_id": bare["id"]}),
        )
        .await;
    let viewer = srv.login("vic", "password-123").await;
    let s = owner
        .ok(
            Method::POST,
            "/sessions",
            json!({"client_id": h.client, "device_id": h.pcs[0], "tariff_id": h.keep}),
        )
        .await;
    let id = s["id"].as_i64().unwrap();
    let checks: Vec<(Method, String, Value, &str)> = vec![
        (
            Method::POST,
            "/sessions".into(),
            json!({"client_id": h.client, "device_id": h.pcs[1], "tariff_id": h.keep}),
            "SessionCreate",
        ),
        (
            Method::POST,
            format!("/sessions/{id}/start"),
            json!({}),
            "SessionStart",
        ),
        (
            Method::POST,
            format!("/sessions/{id}/end"),
            json!({}),
            "SessionEnd",
        ),
        (
            Method::POST,
            format!("/clients/{}/top-ups", h.client),
            json!({"amount": 5, "method": "cash"}),
            "BalanceTopUp",
        ),
        (
            Method::POST,
            format!("/clients/{}/purchases", h.client),
            json!({"tariff_id": h.keep}),
            "BalanceTopUp",
        ),
        (
            Method::POST,
            "/clients".into(),
            json!({"name": "N", "phone": "+1 555 0300"}),
            "ClientManage",
        ),
        (Method::GET, "/sessions".into(), Value::Null, "ReportView"),
        (Method::GET, "/audit".into(), Value::Null, "ReportView"),
    ];
    for (method, path, body, perm) in checks {
        let body = if method == Method::GET {
            None
        } else {
            Some(body)
        };
        let (st, res) = viewer.call(method.clone(), &path, body).await;
        assert_eq!(st, 403, "{method} {path}: {res}");
        assert_eq!(
            res["error"]["message"],
            format!("missing permission {perm}")
        );
    }
    srv.stop().await;
}

#[tokio::test]
async fn signing_in_needs_the_right_password_and_a_live_token() {
    let srv = TestServer::start().await;
    let anon = srv.anonymous();
    let (st, body) = anon
        .post("/auth/login", json!({"login": "owner", "password": "nope"}))
        .await;
    assert_eq!(st, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    let (st, _) = anon
        .post("/auth/login", json!({"login": "ghost", "password": "nope"}))
        .await;
    assert_eq!(st, 401);
    let (st, _) = anon.get("/hall").await;
    assert_eq!(st, 401);

    let owner = srv.owner().await;
    let (st, hall) = owner.get("/hall").await;
    assert_eq!(st, 200);
    assert!(hall["devices"].as_array().unwrap().is_empty());

    // Tokens expire (12 h by default).
    srv.clock.advance(Duration::hours(13));
    let (st, _) = owner.get("/hall").await;
    assert_eq!(st, 401);
    srv.stop().await;
}

/// (method, path, raw body or None, JSON body, status, what the message names)
type BadInput<'a> = (Method, String, Option<&'a str>, Value, u16, &'a str);

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_changes_no_balance() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let capped = api
        .ok(
            Method::POST,
            "/tariffs",
            json!({"name": "Capped", "duration_seconds": 3600, "price": 100,
            "refund_policy": "keep_balance", "max_bonus_percent": 10}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let before = balance_and_ledger(&api, h.client).await;
    let c = h.client;
    let past = (t0() - Duration::hours(1)).to_rfc3339();
    let cases: Vec<BadInput> = vec![
        (
            Method::POST,
            format!("/clients/{c}/top-ups"),
            Some("{\"amount\": "),
            Value::Null,
            400,
            "body",
        ),
        (
            Method::POST,
            format!("/clients/{c}/top-ups"),
            Some("not json"),
            Value::Null,
            400,
            "body",
        ),
        (
            Method::POST,
            format!("/clients/{c}/top-ups"),
            None,
            json!({"amount": -5, "method": "cash"}),
            400,
            "amount",
        ),
        (
            Method::POST,
            format!("/clients/{c}/top-ups"),
            None,
            json!({"amount": 0, "method": "cash"}),
            400,
            "amount",
        ),
        (
            Method::POST,
            format!("/clients/{c}/top-ups"),
            None,
            json!({"amount": "ten", "method": "cash"}),
            400,
            "amount",
        ),
        (
            Method::POST,
            format!("/clients/{c}/top-ups"),
            None,
            json!({"amount": 5, "method": "cheque"}),
            400,
            "method",
        ),
        (
            Method::POST,
            "/clients/999/top-ups".into(),
            None,
            json!({"amount": 5, "method": "cash"}),
            404,
            "client 999",
        ),
        (
            Method::POST,
            format!("/clients/{c}/purchases"),
            None,
            json!({"tariff_id": capped, "bonus_amount": 11}),
            400,
            "bonus_amount",
        ),
        (
            Method::POST,
            format!("/clients/{c}/purchases"),
            None,
            json!({"tariff_id": capped, "bonus_amount": -1}),
            400,
            "bonus_amount",
        ),
        (
            Method::POST,
            format!("/clients/{c}/purchases"),
            None,
            json!({"tariff_id": 999}),
            404,
            "tariff_id",
        ),
        (
            Method::POST,
            "/sessions".into(),
            None,
            json!({"client_id": c, "device_id": h.pcs[0], "tariff_id": h.keep, "planned_start_at": past}),
            400,
            "planned_start_at",
        ),
        (
            Method::POST,
            "/sessions".into(),
            None,
            json!({"client_id": c, "device_id": 999, "tariff_id": h.keep}),
            404,
            "device 999",
        ),
        (
            Method::POST,
            "/sessions".into(),
            None,
            json!({"client_id": 999, "device_id": h.pcs[0], "tariff_id": h.keep}),
            404,
            "client 999",
        ),
        (
            Method::POST,
            "/sessions".into(),
            None,
            json!({"client_id": c, "device_id": h.pcs[0]}),
            400,
            "holding_id",
        ),
        (
            Method::POST,
            "/sessions".into(),
            None,
            json!({"client_id": c, "device_id": h.pcs[0], "tariff_id": capped, "bonus_amount": 50}),
            400,
            "bonus_amount",
        ),
        (
            Method::POST,
            "/sessions".into(),
            None,
            json!({"client_id": c, "device_id": h.pcs[0], "tariff_id": h.keep, "extra": 1}),
            400,
            "extra",
        ),
        (
            Method::POST,
            "/sessions/999/cancel".into(),
            None,
            json!({}),
            404,
            "session 999",
        ),
        (
            Method::GET,
            "/sessions/999".into(),
            None,
            Value::Null,
            404,
            "session 999",
        ),
        (
            Method::GET,
            "/sessions/abc".into(),
            None,
            Value::Null,
            400,
            "path",
        ),
        (
            Method::POST,
            "/tariffs".into(),
            None,
            json!({"name": "T", "duration_seconds": 0, "price": 1, "refund_policy": "burn"}),
            400,
            "duration_seconds",
        ),
        (
            Method::POST,
            "/tariffs".into(),
            None,
            json!({"name": "T", "duration_seconds": 60, "price": -1, "refund_policy": "burn"}),
            400,
            "price",
        ),
        (
            Method::POST,
            "/tariffs".into(),
            None,
            json!({"name": "T", "duration_seconds": 60, "price": 1, "refund_policy": "burn", "max_bonus_percent": 101}),
            400,
            "max_bonus_percent",
        ),
        (
            Method::POST,
            "/tariffs".into(),
            None,
            json!({"name": "T", "duration_seconds": 60, "price": 1, "refund_policy": "refund"}),
            400,
            "refund_policy",
        ),
        (
            Method::POST,
            "/clients".into(),
            None,
            json!({"name": "", "phone": "+1 555 0111"}),
            400,
            "name",
        ),
        (
            Method::POST,
            "/clients".into(),
            None,
            json!({"name": "Q", "phone": "+1 555 0111", "pin": "12"}),
            400,
            "pin",
        ),
    ];
    for (method, path, raw, body, status, mentions) in cases {
        let (st, res) = match raw {
            Some(raw) => api.post_raw(&path, raw).await,
            None => {
                api.call(
                    method.clone(),
                    &path,
                    if method == Method::GET {
                        None
                    } else {
                        Some(body.clone())
                    },
                )
                .await
            }
        };
        assert_eq!(st, status, "{method} {path} {body}: {res}");
        let message = res["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("error shape: {res}"));
        assert!(
            message.contains(mentions),
            "{method} {path}: {message:?} should name {mentions}"
        );
    }
    assert_eq!(
        balance_and_ledger(&api, h.client).await,
        before,
        "nothing changed"
    );

    let (st, res) = api.get("/no-such-thing").await;
    assert_eq!(st, 404);
    assert_eq!(res["error"]["code"], "not_found");
    let (st, res) = api.call(Method::DELETE, "/hall", None).await;
    assert_eq!(st, 405);
    assert_eq!(res["error"]["code"], "method_not_allowed");
    srv.stop().await;
}

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
        .contains("balance of 150"));
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
            json!({}),
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
