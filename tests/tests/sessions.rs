//! The session state machine and the money rules, through the REST API of a
//! real server on a manual clock.

use chrono::Duration;
use club_shared::events::SessionChange;
use club_shared::Event;
use club_tests::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn create(api: &Api, client: i64, device: i64, tariff: i64) -> Value {
    api.ok(
        Method::POST,
        "/sessions",
        json!({"client_id": client, "device_id": device, "tariff_id": tariff}),
    )
    .await
}

async fn client(api: &Api, id: i64) -> Value {
    api.ok(Method::GET, &format!("/clients/{id}"), Value::Null)
        .await
}

fn holding<'a>(client: &'a Value, id: &Value) -> &'a Value {
    client["holdings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| &h["id"] == id)
        .expect("holding")
}

#[tokio::test]
async fn a_session_goes_active_started_ended_with_a_receipt() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let s = create(&api, h.client, h.pcs[0], h.keep).await;
    assert_eq!(s["status"], "ACTIVE");
    assert_eq!(client(&api, h.client).await["balance"], 1000 - PRICE);

    let id = s["id"].as_i64().unwrap();
    let started = api
        .ok(Method::POST, &format!("/sessions/{id}/start"), json!({}))
        .await;
    assert_eq!(started["status"], "STARTED");
    assert_eq!(started["actual_start_at"], "2026-06-01T12:00:00Z");
    assert_eq!(started["ends_at"], "2026-06-01T14:00:00Z");

    srv.clock.advance(Duration::minutes(30));
    let ended = api
        .ok(Method::POST, &format!("/sessions/{id}/end"), json!({}))
        .await;
    assert_eq!(ended["status"], "ENDED");
    let receipt = &ended["receipt"];
    assert_eq!(receipt["end_kind"], "manual");
    assert_eq!(receipt["lines"][0]["seconds_used"], 1800);
    assert_eq!(receipt["lines"][0]["amount"], 50, "a quarter of 200");
    assert_eq!(receipt["total"], 50);
    srv.stop().await;
}

#[tokio::test]
async fn each_refused_transition_is_409_naming_the_status() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let id = create(&api, h.client, h.pcs[0], h.keep).await["id"]
        .as_i64()
        .unwrap();

    let (st, body) = api.post(&format!("/sessions/{id}/end"), json!({})).await;
    assert_eq!(st, 409);
    assert_eq!(body["error"]["code"], "conflict");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("session is ACTIVE"));

    api.ok(Method::POST, &format!("/sessions/{id}/start"), json!({}))
        .await;
    let (st, body) = api.post(&format!("/sessions/{id}/cancel"), json!({})).await;
    assert_eq!(st, 409);
    assert_eq!(
        body["error"]["message"],
        "session is STARTED; only ending is available"
    );

    api.ok(Method::POST, &format!("/sessions/{id}/end"), json!({}))
        .await;
    for action in ["start", "cancel", "end"] {
        let (st, body) = api
            .post(&format!("/sessions/{id}/{action}"), json!({}))
            .await;
        assert_eq!(st, 409, "{action}");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("session is ENDED"));
    }

    // A reservation cannot be started before its time.
    let later = (t0() + Duration::hours(5)).to_rfc3339();
    let pending = api
        .ok(
            Method::POST,
            "/sessions",
            json!({"client_id": h.client, "device_id": h.pcs[1], "tariff_id": h.keep, "planned_start_at": later}),
        )
        .await;
    assert_eq!(pending["status"], "PENDING");
    let (st, body) = api
        .post(&format!("/sessions/{}/start", pending["id"]), json!({}))
        .await;
    assert_eq!(st, 409);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("session is PENDING"));
    srv.stop().await;
}

#[tokio::test]
async fn cancel_applies_each_refund_policy_to_the_reserved_holding() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    api.ok(
        Method::POST,
        &format!("/clients/{}/top-ups", h.client),
        json!({"amount": 1000, "method": "card"}),
    )
    .await;

    let mut results = Vec::new();
    for (i, tariff) in [h.keep, h.convert, h.burn].into_iter().enumerate() {
        let s = create(&api, h.client, h.pcs[i], tariff).await;
        let preview = api
            .ok(
                Method::GET,
                &format!("/sessions/{}/preview?action=cancel", s["id"]),
                Value::Null,
            )
            .await;
        let before = client(&api, h.client).await;
        let cancelled = api
            .ok(
                Method::POST,
                &format!("/sessions/{}/cancel", s["id"]),
                json!({"reason": "PC broke"}),
            )
            .await;
        assert_eq!(cancelled["status"], "CANCELLED");
        assert_eq!(cancelled["cancelled_at"], "2026-06-01T12:00:00Z");
        let after = client(&api, h.client).await;
        let holding_id = &s["segments"][0]["holding_id"];
        results.push((
            preview,
            before,
            after.clone(),
            holding(&after, holding_id).clone(),
        ));
    }

    let (preview, _, _, kept) = &results[0];
    assert_eq!(preview["kept_seconds_total"], TWO_HOURS);
    assert_eq!(
        kept["status"], "available",
        "keep: the tariff is back on the balance"
    );
    assert_eq!(kept["remaining_seconds"], TWO_HOURS);

    let (preview, before, after, converted) = &results[1];
    assert_eq!(preview["bonus_total"], PRICE);
    assert_eq!(
        after["bonus_balance"].as_i64().unwrap() - before["bonus_balance"].as_i64().unwrap(),
        PRICE,
        "convert: the whole unused tariff becomes bonus"
    );
    assert_eq!(converted["remaining_seconds"], 0);

    let (preview, before, after, burned) = &results[2];
    assert_eq!(preview["burned_total"], PRICE);
    assert_eq!(
        after["bonus_balance"], before["bonus_balance"],
        "burn returns nothing"
    );
    assert_eq!(burned["status"], "used_up");
    assert_eq!(burned["remaining_seconds"], 0);
    srv.stop().await;
}

// Seed: price 200, 2 h, 30 min unused -> 50 bonus.
#[tokio::test]
async fn manual_end_converts_the_unused_time_to_bonus_as_in_the_seed() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let id = create(&api, h.client, h.pcs[0], h.convert).await["id"]
        .as_i64()
        .unwrap();
    api.ok(Method::POST, &format!("/sessions/{id}/start"), json!({}))
        .await;
    srv.clock.advance(Duration::minutes(90));

    let preview = api
        .ok(
            Method::GET,
            &format!("/sessions/{id}/preview?action=end"),
            Value::Null,
        )
        .await;
    assert_eq!(preview["bonus_total"], 50);
    assert_eq!(preview["receipt"]["total"], 150);

    let ended = api
        .ok(
            Method::POST,
            &format!("/sessions/{id}/end"),
            json!({"reason": "leaving"}),
        )
        .await;
    assert_eq!(ended["receipt"]["total"], 150);
    let c = client(&api, h.client).await;
    assert_eq!(c["bonus_balance"], 50);
    let ledger = api
        .ok(
            Method::GET,
            &format!("/clients/{}/ledger", h.client),
            Value::Null,
        )
        .await;
    let bonus: Vec<_> = ledger
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["account"] == "bonus")
        .collect();
    assert_eq!(bonus.len(), 1);
    assert_eq!(bonus[0]["amount"], 50);
    assert_eq!(bonus[0]["kind"], "refund_to_bonus");
    assert_eq!(bonus[0]["session_id"], id);
    srv.stop().await;
}

#[tokio::test]
async fn manual_end_keeps_or_burns_the_unused_time_by_policy() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let keep = create(&api, h.client, h.pcs[0], h.keep).await;
    let burn = create(&api, h.client, h.pcs[1], h.burn).await;
    for s in [&keep, &burn] {
        api.ok(
            Method::POST,
            &format!("/sessions/{}/start", s["id"]),
            json!({}),
        )
        .await;
    }
    srv.clock.advance(Duration::minutes(30));
    for s in [&keep, &burn] {
        api.ok(
            Method::POST,
            &format!("/sessions/{}/end", s["id"]),
            json!({}),
        )
        .await;
    }
    let c = client(&api, h.client).await;
    let kept = holding(&c, &keep["segments"][0]["holding_id"]);
    assert_eq!(
        kept["remaining_seconds"],
        90 * 60,
        "keep: 90 minutes for the next visit"
    );
    assert_eq!(kept["status"], "available");
    let burned = holding(&c, &burn["segments"][0]["holding_id"]);
    assert_eq!(burned["remaining_seconds"], 0);
    assert_eq!(c["bonus_balance"], 0);
    srv.stop().await;
}

#[tokio::test]
async fn natural_end_on_the_manual_clock_applies_no_policy() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let mut events = srv.events();
    let id = create(&api, h.client, h.pcs[0], h.convert).await["id"]
        .as_i64()
        .unwrap();
    api.ok(Method::POST, &format!("/sessions/{id}/start"), json!({}))
        .await;

    srv.clock.advance(Duration::minutes(119));
    srv.clock.advance(Duration::minutes(1));
    let ended = wait_for(&mut events, |e| match e {
        Event::Session {
            change: SessionChange::Ended,
            session,
            ..
        } if session.id == id => Some(session.clone()),
        _ => None,
    })
    .await;
    assert_eq!(ended.end_kind.as_deref(), Some("natural"));
    let receipt = ended.receipt.expect("receipt");
    assert_eq!(receipt.total, PRICE);
    assert_eq!(receipt.ended_at, t0() + Duration::hours(2));
    assert_eq!(
        client(&api, h.client).await["bonus_balance"],
        0,
        "no remainder on a natural end"
    );

    let audit = api
        .ok(Method::GET, &format!("/audit?session_id={id}"), Value::Null)
        .await;
    let natural = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "session.end_natural")
        .expect("audited");
    assert_eq!(natural["actor"], "system");
    assert_eq!(natural["operator_id"], Value::Null);
    srv.stop().await;
}

#[tokio::test]
async fn a_reservation_becomes_active_at_its_planned_start() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let mut events = srv.events();
    let planned = t0() + Duration::minutes(45);
    let s = api
        .ok(
            Method::POST,
            "/sessions",
            json!({"client_id": h.client, "device_id": h.pcs[0], "tariff_id": h.keep, "planned_start_at": planned}),
        )
        .await;
    assert_eq!(s["status"], "PENDING");
    let id = s["id"].as_i64().unwrap();

    srv.clock.advance(Duration::minutes(44));
    srv.clock.advance(Duration::minutes(1));
    wait_for(&mut events, |e| match e {
        Event::Session {
            change: SessionChange::Activated,
            session,
            ..
        } if session.id == id => Some(()),
        _ => None,
    })
    .await;
    let now = api
        .ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
        .await;
    assert_eq!(now["status"], "ACTIVE");
    srv.stop().await;
}

#[tokio::test]
async fn an_open_session_keeps_the_refund_policy_it_started_with() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let id = create(&api, h.client, h.pcs[0], h.convert).await["id"]
        .as_i64()
        .unwrap();
    api.ok(Method::POST, &format!("/sessions/{id}/start"), json!({}))
        .await;

    // The owner switches the tariff to burn while the session runs.
    let changed = api
        .ok(
            Method::PUT,
            &format!("/tariffs/{}", h.convert),
            json!({"name": "Convert", "duration_seconds": TWO_HOURS, "price": PRICE, "refund_policy": "burn"}),
        )
        .await;
    assert_eq!(changed["refund_policy"], "burn");

    srv.clock.advance(Duration::minutes(90));
    api.ok(Method::POST, &format!("/sessions/{id}/end"), json!({}))
        .await;
    assert_eq!(
        client(&api, h.client).await["bonus_balance"],
        50,
        "still converted"
    );

    // A session opened after the change burns.
    let id2 = create(&api, h.client, h.pcs[1], h.convert).await;
    assert_eq!(id2["segments"][0]["refund_policy"], "burn");
    srv.stop().await;
}

#[tokio::test]
async fn a_cancelled_session_keeps_its_time_operator_and_tariff_state_in_the_audit() {
    let srv = TestServer::start().await;
    let admin = srv.staff("alice", "Administrator").await;
    let h = hall(&admin).await;
    let s = create(&admin, h.client, h.pcs[0], h.keep).await;
    let id = s["id"].as_i64().unwrap();
    srv.clock.advance(Duration::minutes(3));
    admin
        .ok(
            Method::POST,
            &format!("/sessions/{id}/cancel"),
            json!({"reason": "client left"}),
        )
        .await;

    let detail = admin
        .ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
        .await;
    assert_eq!(detail["status"], "CANCELLED");
    assert_eq!(detail["cancelled_at"], "2026-06-01T12:03:00Z");
    let cancel = detail["audit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "session.cancel")
        .expect("cancel audited");
    assert_eq!(detail["cancelled_by"], cancel["operator_id"]);
    assert!(cancel["operator_id"].as_i64().is_some());
    assert_eq!(cancel["actor"], "staff");
    assert_eq!(cancel["reason"], "client left");
    assert_eq!(cancel["session_id"], id);
    assert_eq!(cancel["device_id"], h.pcs[0]);
    assert_eq!(cancel["client_id"], h.client);
    assert_eq!(cancel["before"]["holdings"][0]["status"], "in_use");
    assert_eq!(cancel["after"]["holdings"][0]["status"], "available");
    assert_eq!(cancel["before"]["session"]["status"], "ACTIVE");
    assert_eq!(cancel["after"]["session"]["status"], "CANCELLED");

    let report = admin
        .ok(Method::GET, "/sessions?status=CANCELLED", Value::Null)
        .await;
    assert_eq!(report.as_array().unwrap().len(), 1);
    assert_eq!(report[0]["id"], id);
    srv.stop().await;
}

#[tokio::test]
async fn every_operation_writes_an_audit_entry() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let id = create(&api, h.client, h.pcs[0], h.keep).await["id"]
        .as_i64()
        .unwrap();
    api.ok(Method::POST, &format!("/sessions/{id}/start"), json!({}))
        .await;
    api.ok(Method::POST, &format!("/sessions/{id}/end"), json!({}))
        .await;
    let audit = api.ok(Method::GET, "/audit", Value::Null).await;
    let kinds: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "zone.create",
        "device.create",
        "tariff.create",
        "client.create",
        "client.top_up",
        "session.create",
        "session.start",
        "session.end",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    srv.stop().await;
}
