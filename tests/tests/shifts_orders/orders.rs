//! Refunds through orders, back to the balance or paid out, and a tariff
//! sold for cash in one step.

use super::*;

#[tokio::test]
async fn refunds_go_through_orders_back_to_the_balance_or_paid_out() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let orders = |api: Api, client: i64| async move {
        api.ok(
            Method::GET,
            &format!("/orders?client_id={client}"),
            Value::Null,
        )
        .await
        .as_array()
        .unwrap()
        .clone()
    };
    // An unused purchase, refunded onto the balance.
    let holding = api
        .ok(
            Method::POST,
            &format!("/clients/{}/purchases", h.client),
            json!({"tariff_id": h.burn}),
        )
        .await;
    let purchase = orders(api.clone(), h.client)
        .await
        .into_iter()
        .find(|o| o["holding_id"] == holding["id"])
        .unwrap();
    let before = balance(&api, h.client).await;
    let cashier = srv.staff("carl", "Cashier").await;
    let (st, body) = cashier
        .post(
            &format!("/orders/{}/refund", purchase["id"]),
            json!({"amount": 200, "method": "balance", "reason": "x"}),
        )
        .await;
    assert_eq!(
        (st, body["error"]["message"].clone()),
        (403, json!("missing permission OrderRefund"))
    );
    let (st, _) = api
        .post(
            &format!("/orders/{}/refund", purchase["id"]),
            json!({"amount": 200, "method": "balance", "reason": " "}),
        )
        .await;
    assert_eq!(st, 400, "a reason is required");
    let (st, _) = api
        .post(
            &format!("/orders/{}/refund", purchase["id"]),
            json!({"amount": 201, "method": "balance", "reason": "x"}),
        )
        .await;
    assert_eq!(st, 400, "not more than was paid");
    let refund = api
        .ok(
            Method::POST,
            &format!("/orders/{}/refund", purchase["id"]),
            json!({"amount": 200, "method": "balance", "reason": "not needed"}),
        )
        .await;
    assert_eq!(refund["kind"], "refund");
    assert_eq!(refund["refund_of"], purchase["id"]);
    // Refunded in full: another refund depends on that state, a 409.
    let (st, body) = api
        .post(
            &format!("/orders/{}/refund", purchase["id"]),
            json!({"amount": 1, "method": "balance", "reason": "again"}),
        )
        .await;
    assert_eq!(st, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing is left to refund"),
        "{body}"
    );
    assert_eq!(purchase["lines"][0]["description"], "Tariff Burn");
    assert_eq!(purchase["lines"][0]["money"], PRICE);
    assert_eq!(balance(&api, h.client).await, before + 200);
    let c = api
        .ok(Method::GET, &format!("/clients/{}", h.client), Value::Null)
        .await;
    let gone = c["holdings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == holding["id"])
        .unwrap()
        .clone();
    assert_eq!(
        (
            gone["remaining_seconds"].as_i64(),
            gone["value_remaining"].as_i64()
        ),
        (Some(0), Some(0))
    );
    books_balance(&srv).await;

    // A PC failed 10 minutes in: end, then refund the whole price by card,
    // the unused part and what the 10 minutes earned.
    let s = api
        .ok(
            Method::POST,
            "/sessions",
            json!({"client_id": h.client, "device_id": h.pcs[0], "tariff_id": h.keep}),
        )
        .await;
    let purchase = orders(api.clone(), h.client)
        .await
        .into_iter()
        .find(|o| o["holding_id"] == s["segments"][0]["holding_id"])
        .unwrap();
    api.ok(
        Method::POST,
        &format!("/sessions/{}/start", s["id"]),
        json!({"force": true}),
    )
    .await;
    let (st, body) = api
        .post(
            &format!("/orders/{}/refund", purchase["id"]),
            json!({"amount": 200, "method": "card", "reason": "PC failed"}),
        )
        .await;
    assert_eq!(st, 409, "in use: {body}");
    srv.clock.advance(Duration::minutes(10));
    api.ok(
        Method::POST,
        &format!("/sessions/{}/end", s["id"]),
        json!({"reason": "PC failed"}),
    )
    .await;
    let before = balance(&api, h.client).await;
    api.ok(
        Method::POST,
        &format!("/orders/{}/refund", purchase["id"]),
        json!({"amount": 200, "method": "card", "reason": "PC failed"}),
    )
    .await;
    assert_eq!(
        balance(&api, h.client).await,
        before,
        "paid out by card, not onto the balance"
    );
    books_balance(&srv).await;

    // An extra charge after the end is an order; so is giving it back.
    let charge = api
        .ok(Method::POST, "/orders/extra-charges", json!({"client_id": h.client, "session_id": s["id"], "amount": 40, "reason": "broken mouse"}))
        .await;
    assert_eq!(balance(&api, h.client).await, before - 40);
    api.ok(
        Method::POST,
        &format!("/orders/{}/refund", charge["id"]),
        json!({"amount": 40, "method": "cash", "reason": "it was broken before"}),
    )
    .await;
    books_balance(&srv).await;

    // A top-up is refunded by paying it out, never "to the balance".
    let top = orders(api.clone(), h.client)
        .await
        .into_iter()
        .find(|o| o["kind"] == "top_up")
        .unwrap();
    let (st, _) = api
        .post(
            &format!("/orders/{}/refund", top["id"]),
            json!({"amount": 10, "method": "balance", "reason": "x"}),
        )
        .await;
    assert_eq!(st, 400);
    let before = balance(&api, h.client).await;
    api.ok(
        Method::POST,
        &format!("/orders/{}/refund", top["id"]),
        json!({"amount": 10, "method": "cash", "reason": "leaving town"}),
    )
    .await;
    assert_eq!(balance(&api, h.client).await, before - 10);
    let audit = api.ok(Method::GET, "/audit", Value::Null).await;
    assert_eq!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["kind"] == "order.refund")
            .count(),
        4
    );
    books_balance(&srv).await;
    srv.stop().await;
}

#[tokio::test]
async fn a_tariff_is_sold_for_cash_in_one_step_and_orders_filter_by_shift_and_date() {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let h = hall(&owner).await;
    let ada = srv.staff("ada", "Administrator").await;
    let shift = ada
        .ok(Method::POST, "/shifts/open", json!({"opening_cash": 0}))
        .await;
    let before = balance(&owner, h.client).await;

    let holding = ada
        .ok(
            Method::POST,
            &format!("/clients/{}/purchases", h.client),
            json!({"tariff_id": h.keep, "pay": "cash"}),
        )
        .await;
    assert_eq!(holding["remaining_seconds"], TWO_HOURS);
    assert_eq!(
        balance(&owner, h.client).await,
        before,
        "paid at the desk: the balance is as it was"
    );
    let mine = owner
        .ok(
            Method::GET,
            &format!("/orders?shift_id={}", shift["shift_id"]),
            Value::Null,
        )
        .await;
    let kinds: Vec<_> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["kind"].as_str().unwrap().to_owned(),
                o["method"].as_str().unwrap().to_owned(),
                o["money"].as_i64().unwrap(),
                o["operator_login"].as_str().unwrap().to_owned(),
                o["client_name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let row = |kind: &str, method: &str| {
        (
            kind.to_owned(),
            method.to_owned(),
            PRICE,
            "ada".to_owned(),
            "Dana".to_owned(),
        )
    };
    assert_eq!(kinds, [row("purchase", "balance"), row("top_up", "cash")]);
    let x = ada.ok(Method::GET, "/shifts/current", Value::Null).await;
    assert_eq!(x["expected_cash"], PRICE, "the sale is in the till");

    // Without a shift a cash sale is refused and sells nothing.
    let carl = srv.staff("carl", "Cashier").await;
    let client_before = owner
        .ok(Method::GET, &format!("/clients/{}", h.client), Value::Null)
        .await;
    let (st, body) = carl
        .post(
            &format!("/clients/{}/purchases", h.client),
            json!({"tariff_id": h.keep, "pay": "card"}),
        )
        .await;
    assert_eq!(st, 409, "{body}");
    assert_eq!(
        owner
            .ok(Method::GET, &format!("/clients/{}", h.client), Value::Null)
            .await,
        client_before
    );

    // Dates and pages.
    let later = (t0() + Duration::hours(1)).to_rfc3339().replace('+', "%2B");
    let none = owner
        .ok(Method::GET, &format!("/orders?from={later}"), Value::Null)
        .await;
    assert_eq!(none, json!([]));
    let one = owner.ok(Method::GET, "/orders?limit=1", Value::Null).await;
    let first = one[0]["id"].as_i64().unwrap();
    let next = owner
        .ok(
            Method::GET,
            &format!("/orders?limit=1&before_id={first}"),
            Value::Null,
        )
        .await;
    assert!(next[0]["id"].as_i64().unwrap() < first);
    for bad in ["limit=0", "before_id=0", "shift_id=x"] {
        let (st, _) = owner.get(&format!("/orders?{bad}")).await;
        assert_eq!(st, 400, "{bad}");
    }

    // The club's confirmation threshold is a setting, in minor units.
    let mut settings = owner.ok(Method::GET, "/settings", Value::Null).await;
    assert_eq!(settings["confirm_above"], 100_00);
    settings["confirm_above"] = json!(-1);
    let (st, _) = owner.call(Method::PUT, "/settings", Some(settings)).await;
    assert_eq!(st, 400);
    books_balance(&srv).await;
    srv.stop().await;
}
