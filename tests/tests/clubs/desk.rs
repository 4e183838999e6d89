//! A club's manager at her desk: her zones and PCs, sessions for the
//! chain's clients, her shift, her orders and audit trail; a session stays
//! in its club.

use super::*;

#[tokio::test]
async fn a_clubs_manager_works_in_her_club_with_the_chains_clients() {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let (h, north, north_pc, nora) = two_clubs(&srv, &owner).await;
    let here = new_session(&owner, h.client, h.pcs[0], h.keep).await;
    // In her club she works: a zone, a session for the chain's client,
    // a shift, a top-up of the client's shared balance.
    let zone = nora
        .ok(Method::POST, "/zones", json!({"name": "North VIP"}))
        .await;
    assert_eq!(zone["club_id"], north);
    // Names are the club's own: North has its "Main" and "PC-0" too, once.
    let main = nora
        .ok(Method::POST, "/zones", json!({"name": "Main"}))
        .await;
    let pc = json!({"name": "PC-0", "zone_id": main["id"], "x": 1, "y": 0});
    let made = nora.ok(Method::POST, "/devices", pc.clone()).await;
    assert_eq!(made["club_id"], north);
    let (st, body) = nora.post("/devices", pc).await;
    assert_eq!(st, 409, "{body}");
    assert_eq!(
        body["error"]["message"],
        "a PC with this name already exists in this club"
    );
    let (st, _) = nora.post("/zones", json!({"name": "Main"})).await;
    assert_eq!(st, 409);
    let there = new_session(&nora, h.client, north_pc, h.keep).await;
    let s = nora
        .ok(Method::GET, &format!("/sessions/{there}"), Value::Null)
        .await;
    assert_eq!(s["club_id"], north);
    let listed = nora.ok(Method::GET, "/sessions", Value::Null).await;
    assert_eq!(ids(&listed, "id"), vec![there]);
    let all = owner.ok(Method::GET, "/sessions", Value::Null).await;
    assert_eq!(ids(&all, "id"), vec![there, here]);
    let shift = nora
        .ok(Method::POST, "/shifts/open", json!({"opening_cash": 0}))
        .await;
    assert_eq!(shift["club_id"], north, "{shift}");
    let client = format!("/clients/{}", h.client);
    let balance = owner.ok(Method::GET, &client, Value::Null).await["balance"]
        .as_i64()
        .unwrap();
    nora.ok(
        Method::POST,
        &format!("{client}/top-ups"),
        json!({"amount": 300, "method": "cash"}),
    )
    .await;
    let after = owner.ok(Method::GET, &client, Value::Null).await;
    assert_eq!(after["balance"].as_i64().unwrap(), balance + 300);
    let ledger = owner
        .ok(Method::GET, &format!("{client}/ledger"), Value::Null)
        .await;
    let money: i64 = ledger
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["account"] == "money")
        .map(|e| e["amount"].as_i64().unwrap())
        .sum();
    assert_eq!(money, balance + 300, "the balance is its ledger's sum");
    let shifts = nora.ok(Method::GET, "/shifts", Value::Null).await;
    assert!(shifts
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["club_id"] == north));
    let all_shifts = owner.ok(Method::GET, "/shifts", Value::Null).await;
    assert_eq!(all_shifts.as_array().unwrap().len(), 2);

    // Her orders are her desk's (her top-up, the tariff of North's
    // session), not club 1's.
    let orders = nora.ok(Method::GET, "/orders", Value::Null).await;
    let kinds: Vec<(&str, i64)> = orders
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["kind"].as_str().unwrap(), o["money"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![("top_up", 300), ("purchase", PRICE)],
        "{orders}"
    );
    let all_orders = owner.ok(Method::GET, "/orders", Value::Null).await;
    assert_eq!(all_orders.as_array().unwrap().len(), 4, "{all_orders}");
    // Nor can she refund one of club 1's.
    let theirs = all_orders
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["operator_login"] == "owner" && o["kind"] == "top_up")
        .expect("club 1's top-up")["id"]
        .as_i64()
        .unwrap();
    let (st, body) = nora
        .post(
            &format!("/orders/{theirs}/refund"),
            json!({"amount": 1, "method": "cash", "reason": "x"}),
        )
        .await;
    assert_eq!(st, 404, "{body}");

    // Her audit trail is her club's: its PCs and sessions, her doings.
    let audit = nora.ok(Method::GET, "/audit", Value::Null).await;
    let audit = audit.as_array().unwrap();
    assert!(audit.iter().any(|a| a["session_id"] == there));
    assert!(
        audit
            .iter()
            .all(|a| a["session_id"] != here && !h.pcs.iter().any(|pc| a["device_id"] == *pc)),
        "club 1's entries stay out of North's trail"
    );
    let chain_audit = owner.ok(Method::GET, "/audit", Value::Null).await;
    assert!(chain_audit
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["session_id"] == here));
    srv.stop().await;
}

#[tokio::test]
async fn a_session_stays_in_its_club_and_the_chains_staff_name_the_club() {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let (h, north, north_pc, _) = two_clubs(&srv, &owner).await;
    let there = new_session(&owner, h.client, north_pc, h.keep).await;
    // A session stays in its club, whoever moves it.
    let (st, body) = owner
        .post(
            &format!("/sessions/{there}/device"),
            json!({"device_id": h.pcs[2]}),
        )
        .await;
    assert_eq!(st, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("another club"),
        "{body}"
    );
    // The chain's staff name the club when there are several.
    let (st, body) = owner.post("/zones", json!({"name": "Somewhere"})).await;
    assert_eq!(st, 409, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("club_id: the chain has 2 clubs"));
    let chris = srv.staff("chris", "Cashier").await;
    let (st, body) = chris.post("/shifts/open", json!({"opening_cash": 0})).await;
    assert_eq!(st, 409, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("club_id: the chain has 2 clubs"));
    let shift = chris
        .ok(
            Method::POST,
            "/shifts/open",
            json!({"opening_cash": 0, "club_id": north}),
        )
        .await;
    assert_eq!(shift["club_id"], north);
    srv.stop().await;
}
