//! Refund policies on cancel and manual end; none on a natural end.

use super::*;

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
    api.ok(
        Method::POST,
        &format!("/sessions/{id}/start"),
        json!({"force": true}),
    )
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
            json!({"force": true}),
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
    api.ok(
        Method::POST,
        &format!("/sessions/{id}/start"),
        json!({"force": true}),
    )
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
