//! Reservations, snapshotted policies and the audit trail.

use super::*;

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
    api.ok(
        Method::POST,
        &format!("/sessions/{id}/start"),
        json!({"force": true}),
    )
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
    api.ok(
        Method::POST,
        &format!("/sessions/{id}/start"),
        json!({"force": true}),
    )
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
        // Forced: the PC of this test has no agent.
        "session.start_offline",
        "session.end",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    srv.stop().await;
}
