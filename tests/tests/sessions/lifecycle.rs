//! A session's way through its states, and the transitions refused.

use super::*;

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
        .ok(
            Method::POST,
            &format!("/sessions/{id}/start"),
            json!({"force": true}),
        )
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

    api.ok(
        Method::POST,
        &format!("/sessions/{id}/start"),
        json!({"force": true}),
    )
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
