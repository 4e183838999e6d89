//! Bulk cancel, no-show release, holding expiry, and the session report as
//! CSV; each checks that balances still equal their ledgers.

use chrono::Duration;
use club_shared::events::SessionChange;
use club_shared::Event;
use club_tests::agents::TestAgent;
use club_tests::*;
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_cancel_answers_per_session_and_tells_the_agents() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let agent = TestAgent::start(&srv, &api, h.zone, "PC-A").await;
    let waiting = api
        .ok(
            Method::POST,
            "/sessions",
            json!({"client_id": h.client, "device_id": agent.device_id, "tariff_id": h.convert}),
        )
        .await;
    let playing = api
        .ok(
            Method::POST,
            "/sessions",
            json!({"client_id": h.client, "device_id": h.pcs[0], "tariff_id": h.keep}),
        )
        .await;
    api.ok(
        Method::POST,
        &format!("/sessions/{}/start", playing["id"]),
        json!({"force": true}),
    )
    .await;
    agent.wait("welcome", |s| s.session.is_some()).await;

    let (st, _) = api
        .post(
            "/sessions/bulk-cancel",
            json!({"session_ids": [], "reason": "x"}),
        )
        .await;
    assert_eq!(st, 400);
    let (st, _) = api
        .post(
            "/sessions/bulk-cancel",
            json!({"session_ids": [1], "reason": ""}),
        )
        .await;
    assert_eq!(st, 400, "a reason is required");
    let cashier = srv.staff("carl", "Cashier").await;
    let (st, _) = cashier
        .post(
            "/sessions/bulk-cancel",
            json!({"session_ids": [1], "reason": "x"}),
        )
        .await;
    assert_eq!(st, 403);

    let results = api
        .ok(
            Method::POST,
            "/sessions/bulk-cancel",
            json!({"session_ids": [waiting["id"], playing["id"], 999], "reason": "power cut"}),
        )
        .await;
    let r = results.as_array().unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(
        (r[0]["ok"].clone(), r[0]["status"].clone()),
        (json!(true), json!("CANCELLED"))
    );
    assert_eq!(r[1]["ok"], false);
    assert_eq!(r[1]["status"], "STARTED");
    assert_eq!(r[1]["error"]["code"], "conflict");
    assert_eq!(r[2]["error"]["code"], "not_found");

    agent
        .wait("cleared", |s| s.session.is_none() && s.locked)
        .await;
    let c = api
        .ok(Method::GET, &format!("/clients/{}", h.client), Value::Null)
        .await;
    assert_eq!(
        c["bonus_balance"], PRICE,
        "the convert policy applied to the cancelled one"
    );
    let audit = api
        .ok(
            Method::GET,
            &format!("/audit?session_id={}", waiting["id"]),
            Value::Null,
        )
        .await;
    assert!(audit
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["kind"] == "session.cancel" && a["reason"] == "power cut"));
    books_balance(&srv).await;
    agent.stop().await;
    srv.stop().await;
}

#[tokio::test]
async fn a_no_show_is_released_by_the_system_when_the_club_wants_it() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let mut events = srv.events();
    let planned = t0() + Duration::minutes(30);
    let s = api
        .ok(Method::POST, "/sessions", json!({"client_id": h.client, "device_id": h.pcs[0], "tariff_id": h.keep, "planned_start_at": planned}))
        .await;
    let id = s["id"].as_i64().unwrap();

    // Off by default: nothing happens to a late client.
    srv.clock.advance(Duration::minutes(60));
    wait_for(&mut events, |e| {
        matches!(
            e,
            Event::Session {
                change: SessionChange::Activated,
                ..
            }
        )
        .then_some(())
    })
    .await;
    assert_eq!(
        api.ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
            .await["status"],
        "ACTIVE"
    );

    // The club turns it on: 15 minutes of grace, long past for this one.
    api.ok(Method::PUT, "/settings", json!({"no_show_minutes": 15}))
        .await;
    let cancelled = wait_for(&mut events, |e| match e {
        Event::Session {
            change: SessionChange::Cancelled,
            session,
            ..
        } => Some(session.clone()),
        _ => None,
    })
    .await;
    assert_eq!(cancelled.id, id);
    assert_eq!(cancelled.cancelled_by, None, "the system, not an operator");
    let detail = api
        .ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
        .await;
    let audit = detail["audit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "session.cancel")
        .unwrap()
        .clone();
    assert_eq!(audit["actor"], "system");
    assert!(audit["reason"].as_str().unwrap().starts_with("no-show"));

    // A fresh booking is released exactly at planned start + 15 minutes.
    let s2 = api
        .ok(Method::POST, "/sessions", json!({"client_id": h.client, "device_id": h.pcs[1], "tariff_id": h.keep, "planned_start_at": srv.service.now() + Duration::minutes(10)}))
        .await;
    srv.clock.advance(Duration::minutes(24));
    srv.clock.advance(Duration::minutes(1));
    let next = wait_for(&mut events, |e| match e {
        Event::Session {
            change: SessionChange::Cancelled,
            session,
            ..
        } => Some(session.id),
        _ => None,
    })
    .await;
    assert_eq!(Value::from(next), s2["id"]);
    books_balance(&srv).await;
    srv.stop().await;
}

#[tokio::test]
async fn holdings_expire_by_their_tariffs_policy_but_not_while_in_use() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let tariff = |name: &str, policy: &str| {
        json!({"name": name, "duration_seconds": 3600, "price": 120, "refund_policy": "keep_balance",
               "validity_days": 1, "expiration_policy": policy})
    };
    let burn = api
        .ok(Method::POST, "/tariffs", tariff("Day burn", "burn"))
        .await["id"]
        .as_i64()
        .unwrap();
    let convert = api
        .ok(
            Method::POST,
            "/tariffs",
            tariff("Day convert", "convert_to_bonus"),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let buy = |t: i64| {
        let api = api.clone();
        async move {
            api.ok(
                Method::POST,
                &format!("/clients/{}/purchases", h.client),
                json!({"tariff_id": t}),
            )
            .await["id"]
                .clone()
        }
    };
    let burned = buy(burn).await;
    let converted = buy(convert).await;
    let in_use = buy(burn).await;
    let s = api
        .ok(
            Method::POST,
            "/sessions",
            json!({"client_id": h.client, "device_id": h.pcs[0], "holding_id": in_use}),
        )
        .await;

    let mut events = srv.events();
    srv.clock.advance(Duration::hours(25));
    wait_for(&mut events, |e| {
        matches!(
            e,
            Event::BalanceChanged {
                bonus_balance: 120,
                ..
            }
        )
        .then_some(())
    })
    .await;
    let api = srv.owner().await; // the sign-in of a day ago has expired
    let holdings = |c: Value| c["holdings"].as_array().unwrap().clone();
    let find = |hs: &[Value], id: &Value| hs.iter().find(|h| &h["id"] == id).unwrap().clone();
    let c = api
        .ok(Method::GET, &format!("/clients/{}", h.client), Value::Null)
        .await;
    assert_eq!(
        c["bonus_balance"], 120,
        "converted pro rata: all of it was unused"
    );
    let hs = holdings(c);
    assert_eq!(find(&hs, &burned)["status"], "expired");
    assert_eq!(find(&hs, &converted)["status"], "expired");
    assert_eq!(
        find(&hs, &in_use)["status"],
        "in_use",
        "a live session holds it"
    );
    books_balance(&srv).await;

    // When the session lets go of it, it expires too.
    let mut events = srv.events();
    api.ok(
        Method::POST,
        &format!("/sessions/{}/cancel", s["id"]),
        json!({}),
    )
    .await;
    wait_for(&mut events, |e| {
        matches!(e, Event::BalanceChanged { .. }).then_some(())
    })
    .await;
    let c = api
        .ok(Method::GET, &format!("/clients/{}", h.client), Value::Null)
        .await;
    assert_eq!(find(&holdings(c), &in_use)["status"], "expired");
    books_balance(&srv).await;
    srv.stop().await;
}

#[tokio::test]
async fn the_session_report_filters_and_exports_csv() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let admin = srv.staff("ada", "Administrator").await;
    let a = admin
        .ok(
            Method::POST,
            "/sessions",
            json!({"client_id": h.client, "device_id": h.pcs[0], "tariff_id": h.keep}),
        )
        .await;
    api.ok(
        Method::POST,
        "/sessions",
        json!({"client_id": h.client, "device_id": h.pcs[1], "tariff_id": h.keep}),
    )
    .await;
    admin
        .ok(
            Method::POST,
            &format!("/sessions/{}/cancel", a["id"]),
            json!({"reason": "wrong PC, sorry"}),
        )
        .await;

    let ada = admin
        .ok(Method::GET, &format!("/sessions/{}", a["id"]), Value::Null)
        .await["cancelled_by"]
        .clone();
    let by_ada = api
        .ok(
            Method::GET,
            &format!("/sessions?operator_id={ada}"),
            Value::Null,
        )
        .await;
    assert_eq!(
        by_ada.as_array().unwrap().len(),
        1,
        "the session ada created and cancelled"
    );
    let report = api
        .ok(Method::GET, "/sessions?status=CANCELLED", Value::Null)
        .await;
    assert_eq!(report.as_array().unwrap().len(), 1);
    let by_pc = api
        .ok(
            Method::GET,
            &format!("/sessions?device_id={}", h.pcs[1]),
            Value::Null,
        )
        .await;
    assert_eq!(by_pc.as_array().unwrap().len(), 1);

    let res = reqwest::Client::new()
        .get(format!("{}/api/v1/sessions.csv?status=CANCELLED", srv.base))
        .bearer_auth(api.token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].starts_with("id,client_id,client_name,device_id,device_name,status"));
    assert!(lines[1].contains(",CANCELLED,"));
    assert!(lines[1].starts_with(&format!("{},", a["id"])));
    srv.stop().await;
}
