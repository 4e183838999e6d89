//! A shift collects its operators' money, corrections and cancellations,
//! and cash or card money needs an open shift unless the club says not.

use super::*;

#[tokio::test]
async fn a_shift_collects_its_operators_money_corrections_and_cancellations() {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let h = hall(&owner).await;
    let ada = srv.staff("ada", "Administrator").await;
    let (st, _) = ada.get("/shifts/current").await;
    assert_eq!(st, 404);
    let (st, body) = ada.post("/shifts/open", json!({})).await;
    assert_eq!(st, 400, "the float is counted: {body}");
    let (st, _) = ada.post("/shifts/open", json!({"opening_cash": -1})).await;
    assert_eq!(st, 400);
    let shift = ada
        .ok(
            Method::POST,
            "/shifts/open",
            json!({"opening_cash": 100_00}),
        )
        .await;
    let id = shift["shift_id"].as_i64().unwrap();
    assert_eq!(shift["kind"], "x");
    assert_eq!(shift["operator_login"], "ada");
    assert_eq!(shift["opening_cash"], 100_00);
    let (st, _) = ada.post("/shifts/open", json!({"opening_cash": 0})).await;
    assert_eq!(st, 409, "one open shift per operator");

    ada.ok(
        Method::POST,
        &format!("/clients/{}/top-ups", h.client),
        json!({"amount": 500, "method": "cash"}),
    )
    .await;
    ada.ok(
        Method::POST,
        &format!("/clients/{}/top-ups", h.client),
        json!({"amount": 300, "method": "card"}),
    )
    .await;
    // The owner's top-up is not in ada's shift.
    owner
        .ok(
            Method::POST,
            &format!("/clients/{}/top-ups", h.client),
            json!({"amount": 7, "method": "cash"}),
        )
        .await;
    let cancelled = ada
        .ok(
            Method::POST,
            "/sessions",
            json!({"client_id": h.client, "device_id": h.pcs[0], "tariff_id": h.convert}),
        )
        .await;
    ada.ok(
        Method::POST,
        &format!("/sessions/{}/cancel", cancelled["id"]),
        json!({"reason": "changed mind"}),
    )
    .await;
    let played = ada.ok(Method::POST, "/sessions", json!({"client_id": h.client, "device_id": h.pcs[1], "tariff_id": h.keep, "bonus_amount": 100})).await;
    ada.ok(
        Method::POST,
        &format!("/sessions/{}/start", played["id"]),
        json!({"force": true}),
    )
    .await;
    ada.ok(
        Method::POST,
        &format!("/sessions/{}/price-corrections", played["id"]),
        json!({"delta": 25, "reason": "headset"}),
    )
    .await;

    let x = ada.ok(Method::GET, "/shifts/current", Value::Null).await;
    assert_eq!(x["shift_id"], id);
    assert_eq!(line(&x, "top_up", "cash")["money"], 500);
    assert_eq!(line(&x, "top_up", "card")["money"], 300);
    // The till: the float plus cash taken; cards are not in it.
    assert_eq!(
        (x["cash_in"].as_i64(), x["card_in"].as_i64()),
        (Some(500), Some(300))
    );
    assert_eq!(x["expected_cash"], 100_00 + 500);
    assert_eq!(x["counted_cash"], Value::Null);
    assert_eq!(line(&x, "purchase", "balance")["count"], 2);
    assert_eq!(line(&x, "purchase", "balance")["bonus"], 100);
    assert_eq!(x["bonus_issued"], PRICE, "the cancelled convert tariff");
    assert_eq!(x["bonus_spent"], 100);
    let ada_id = x["operator_id"].clone();
    assert_eq!(x["corrections"][0]["delta"], 25);
    assert_eq!(x["corrections"][0]["operator_id"], ada_id);
    assert_eq!(x["cancellations"][0]["session_id"], cancelled["id"]);
    assert_eq!(x["cancellations"][0]["operator_id"], ada_id);

    let cashier = srv.staff("carl", "Cashier").await;
    let (st, _) = cashier
        .post(&format!("/shifts/{id}/close"), json!({"counted_cash": 0}))
        .await;
    assert_eq!(st, 403, "only its operator (or RoleManage) closes a shift");
    srv.clock.advance(Duration::hours(8));
    let ada = srv.login("ada", "password-123").await;
    let (st, _) = ada.post(&format!("/shifts/{id}/close"), json!({})).await;
    assert_eq!(st, 400, "the till is counted at the close");
    // 50 short in the till.
    let z = ada
        .ok(
            Method::POST,
            &format!("/shifts/{id}/close"),
            json!({"counted_cash": 104_50}),
        )
        .await;
    assert_eq!(z["kind"], "z");
    assert!(z["closed_at"].is_string());
    assert_eq!(z["expected_cash"], 105_00);
    assert_eq!(z["counted_cash"], 104_50);
    assert_eq!(z["cash_difference"], -50);
    let (st, _) = ada
        .post(&format!("/shifts/{id}/close"), json!({"counted_cash": 0}))
        .await;
    assert_eq!(st, 409);
    // After the close no cash is taken without a shift, and nothing joins
    // the closed one: the Z report stays as it was.
    let (st, body) = ada
        .post(
            &format!("/clients/{}/top-ups", h.client),
            json!({"amount": 1, "method": "cash"}),
        )
        .await;
    assert_eq!(st, 409, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("ada has no open shift"));
    let listed = owner.ok(Method::GET, "/shifts", Value::Null).await;
    let mine = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["shift_id"] == id)
        .unwrap()
        .clone();
    assert_eq!(mine, z, "the list shows the Z report");
    let again = ada
        .ok(Method::GET, &format!("/shifts/{id}/report"), Value::Null)
        .await;
    assert_eq!(again, z);
    books_balance(&srv).await;
    srv.stop().await;
}

#[tokio::test]
async fn cash_and_card_money_needs_the_operators_open_shift_unless_the_club_turns_it_off() {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let h = hall(&owner).await;
    let ada = srv.staff("ada", "Administrator").await;
    let client_url = format!("/clients/{}", h.client);
    let before = owner.ok(Method::GET, &client_url, Value::Null).await;
    let top_up = owner
        .ok(
            Method::GET,
            &format!("/orders?client_id={}", h.client),
            Value::Null,
        )
        .await[0]
        .clone();
    assert_eq!(top_up["kind"], "top_up");

    for method in ["cash", "card"] {
        let (st, body) = ada
            .post(
                &format!("/clients/{}/top-ups", h.client),
                json!({"amount": 500, "method": method}),
            )
            .await;
        assert_eq!(st, 409, "{method}: {body}");
        assert_eq!(
            body["error"]["message"],
            "ada has no open shift: open a shift with the counted cash float before taking \
             a cash or card top-up"
        );
        let (st, body) = ada
            .post(
                &format!("/orders/{}/refund", top_up["id"]),
                json!({"amount": 100, "method": method, "reason": "typo"}),
            )
            .await;
        assert_eq!(st, 409, "{method}: {body}");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .ends_with("before paying money out"));
    }
    assert_eq!(
        owner.ok(Method::GET, &client_url, Value::Null).await,
        before,
        "a refused payment changes nothing"
    );

    // A club without a till per shift turns the rule off.
    let mut settings = owner.ok(Method::GET, "/settings", Value::Null).await;
    assert_eq!(settings["require_open_shift"], true, "on by default");
    settings["require_open_shift"] = json!(false);
    owner.ok(Method::PUT, "/settings", settings.clone()).await;
    let order = ada
        .ok(
            Method::POST,
            &format!("/clients/{}/top-ups", h.client),
            json!({"amount": 500, "method": "cash"}),
        )
        .await;
    assert_eq!(order["balance"], before["balance"].as_i64().unwrap() + 500);
    books_balance(&srv).await;
    srv.stop().await;
}
