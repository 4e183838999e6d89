//! Price corrections and append-only segments.

use super::*;

#[tokio::test]
async fn a_price_correction_needs_a_reason_shows_on_the_receipt_and_not_after_the_end() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let id = started_on(&api, h.client, h.pcs[0], h.keep).await;
    let balance = |api: Api| async move {
        api.ok(Method::GET, &format!("/clients/{}", h.client), Value::Null)
            .await["balance"]
            .as_i64()
            .unwrap()
    };
    let start = balance(api.clone()).await;

    let (st, body) = api
        .post(
            &format!("/sessions/{id}/price-corrections"),
            json!({"delta": 50}),
        )
        .await;
    assert_eq!(st, 400, "{body}");
    let (st, _) = api
        .post(
            &format!("/sessions/{id}/price-corrections"),
            json!({"delta": 50, "reason": "  "}),
        )
        .await;
    assert_eq!(st, 400);
    let (st, _) = api
        .post(
            &format!("/sessions/{id}/price-corrections"),
            json!({"delta": 0, "reason": "x"}),
        )
        .await;
    assert_eq!(st, 400);
    let (st, _) = api
        .post(
            &format!("/sessions/{id}/price-corrections"),
            json!({"delta": -201, "reason": "too much"}),
        )
        .await;
    assert_eq!(st, 400, "cannot give back more than was paid");
    assert_eq!(balance(api.clone()).await, start);

    let s = api
        .ok(
            Method::POST,
            &format!("/sessions/{id}/price-corrections"),
            json!({"delta": 50, "reason": "snacks"}),
        )
        .await;
    assert_eq!(s["price_corrections"][0]["delta"], 50);
    assert_eq!(s["price_corrections"][0]["reason"], "snacks");
    api.ok(
        Method::POST,
        &format!("/sessions/{id}/price-corrections"),
        json!({"delta": -30, "reason": "lag"}),
    )
    .await;
    assert_eq!(balance(api.clone()).await, start - 20);

    srv.clock.advance(Duration::hours(1));
    let ended = api
        .ok(Method::POST, &format!("/sessions/{id}/end"), json!({}))
        .await;
    assert_eq!(ended["receipt"]["corrections"], 20);
    assert_eq!(ended["receipt"]["total"], 100 + 20);
    let itemised: Vec<_> = ended["receipt"]["correction_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["delta"].as_i64().unwrap(),
                c["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        itemised,
        [(50, "snacks".to_owned()), (-30, "lag".to_owned())]
    );
    assert_eq!(ended["receipt"]["time_charged"], 100);
    assert_eq!(ended["receipt"]["credited"], 0);
    let (st, body) = api
        .post(
            &format!("/sessions/{id}/price-corrections"),
            json!({"delta": 5, "reason": "late"}),
        )
        .await;
    assert_eq!(st, 409);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("order"),
        "{body}"
    );

    let ledger = api
        .ok(
            Method::GET,
            &format!("/clients/{}/ledger", h.client),
            Value::Null,
        )
        .await;
    let corrections: Vec<i64> = ledger
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "price_correction")
        .map(|e| e["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(corrections, [-50, 30]);
    let report = api
        .ok(
            Method::GET,
            &format!("/sessions?client_id={}", h.client),
            Value::Null,
        )
        .await;
    assert_eq!(report[0]["price_corrections"].as_array().unwrap().len(), 2);
    let audit = api
        .ok(Method::GET, &format!("/audit?session_id={id}"), Value::Null)
        .await;
    let kinds: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "session.price_correction")
            .count(),
        2
    );
    srv.stop().await;
}

#[tokio::test]
async fn segments_are_append_only() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    api.ok(
        Method::POST,
        &format!("/clients/{}/top-ups", h.client),
        json!({"amount": 1000, "method": "cash"}),
    )
    .await;
    let id = started_on(&api, h.client, h.pcs[0], h.keep).await;
    srv.clock.advance(Duration::minutes(10));
    let first = api
        .ok(
            Method::POST,
            &format!("/sessions/{id}/tariffs"),
            json!({"tariff_id": h.convert, "mode": "switch"}),
        )
        .await;
    let closed = first["segments"][0].clone();
    srv.clock.advance(Duration::minutes(10));
    api.ok(
        Method::POST,
        &format!("/sessions/{id}/tariffs"),
        json!({"tariff_id": h.burn, "mode": "switch"}),
    )
    .await;
    srv.clock.advance(Duration::minutes(10));
    let ended = api
        .ok(Method::POST, &format!("/sessions/{id}/end"), json!({}))
        .await;
    let segs = ended["segments"].as_array().unwrap();
    assert_eq!(segs.len(), 3, "every segment is kept");
    assert_eq!(segs[0], closed, "a closed segment never changes");
    assert_eq!(
        segs.iter()
            .map(|s| s["seconds_used"].as_i64().unwrap())
            .sum::<i64>(),
        1800
    );
    // No endpoint edits or deletes a segment.
    let doc = srv.anonymous().get("/openapi.json").await.1;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if path.contains("segment") {
            panic!("{path} touches segments: {item}");
        }
    }
    srv.stop().await;
}

#[tokio::test]
async fn a_receipt_never_shows_a_negative_total_it_says_what_was_credited() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let id = started_on(&api, h.client, h.pcs[0], h.keep).await;
    srv.clock.advance(Duration::minutes(30));
    api.ok(
        Method::POST,
        &format!("/sessions/{id}/price-corrections"),
        json!({"delta": -120, "reason": "PC froze twice"}),
    )
    .await;
    let ended = api
        .ok(Method::POST, &format!("/sessions/{id}/end"), json!({}))
        .await;
    let r = &ended["receipt"];
    assert_eq!(r["time_charged"], 50, "30 minutes of a 2-hour 2.00 tariff");
    assert_eq!(r["corrections"], -120);
    assert_eq!(r["total"], 0);
    assert_eq!(r["credited"], 70);
    assert_eq!(r["correction_lines"][0]["reason"], "PC froze twice");
    // The unused 90 minutes stay on the Keep holding, on the receipt too.
    assert_eq!(r["lines"][0]["refund_policy"], "keep_balance");
    assert_eq!(r["lines"][0]["kept_seconds"], 5400);
    assert_eq!(r["kept_seconds"], 5400);
    srv.stop().await;
}
