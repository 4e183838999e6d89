//! What staff of one club see and change, and what the chain's staff do.

use super::*;

#[tokio::test]
async fn staff_of_one_club_see_their_club_only_and_another_clubs_rows_do_not_exist() {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let (h, north, north_pc, nora) = two_clubs(&srv, &owner).await;
    let here = new_session(&owner, h.client, h.pcs[0], h.keep).await;
    // The chain's owner sees both clubs; Nora sees North only.
    assert_eq!(
        ids(&owner.ok(Method::GET, "/clubs", Value::Null).await, "id"),
        vec![1, north]
    );
    assert_eq!(
        ids(&nora.ok(Method::GET, "/clubs", Value::Null).await, "id"),
        vec![north]
    );
    let hall = nora.ok(Method::GET, "/hall", Value::Null).await;
    assert_eq!(ids(&hall["devices"], "id"), vec![north_pc]);
    assert!(hall["zones"]
        .as_array()
        .unwrap()
        .iter()
        .all(|z| z["club_id"] == north));
    assert_eq!(
        ids(&nora.ok(Method::GET, "/devices", Value::Null).await, "id"),
        vec![north_pc]
    );
    let everything = owner.ok(Method::GET, "/hall", Value::Null).await;
    assert_eq!(everything["devices"].as_array().unwrap().len(), 4);

    // Club 1's PCs and sessions do not exist for her.
    let before = owner.ok(Method::GET, "/hall", Value::Null).await;
    for (method, path, body) in [
        (Method::GET, format!("/devices/{}", h.pcs[1]), Value::Null),
        (Method::GET, format!("/sessions/{here}"), Value::Null),
        (
            Method::POST,
            "/sessions".into(),
            json!({"client_id": h.client, "device_id": h.pcs[1], "tariff_id": h.keep}),
        ),
        (
            Method::POST,
            format!("/sessions/{here}/cancel"),
            json!({"reason": "x"}),
        ),
        (Method::POST, format!("/sessions/{here}/end"), json!({})),
        (
            Method::POST,
            format!("/sessions/{here}/device"),
            json!({"device_id": north_pc}),
        ),
        (
            Method::GET,
            format!("/sessions/{here}/preview?action=cancel"),
            Value::Null,
        ),
        (
            Method::PATCH,
            format!("/devices/{}", h.pcs[1]),
            json!({"name": "Mine"}),
        ),
        (
            Method::POST,
            format!("/devices/{}/enrollment", h.pcs[1]),
            json!({}),
        ),
        (
            Method::POST,
            format!("/devices/{}/commands", h.pcs[1]),
            json!({"kind": "message", "text": "hi"}),
        ),
        (
            Method::POST,
            "/zones".into(),
            json!({"name": "Theirs", "club_id": 1}),
        ),
        (
            Method::POST,
            "/devices".into(),
            json!({"name": "N-2", "zone_id": h.zone, "x": 0, "y": 0}),
        ),
    ] {
        let (st, body) = nora.call(method.clone(), &path, Some(body)).await;
        assert_eq!(st, 404, "{method} {path}: {body}");
    }
    let mine = nora
        .ok(
            Method::GET,
            &format!("/sessions?club_id={north}"),
            Value::Null,
        )
        .await;
    assert!(mine.as_array().unwrap().is_empty(), "{mine}");
    let (st, _) = nora.get("/sessions?club_id=1").await;
    assert_eq!(st, 404);
    assert_eq!(owner.ok(Method::GET, "/hall", Value::Null).await, before);
    srv.stop().await;
}

#[tokio::test]
async fn what_the_chain_shares_is_set_up_by_the_chains_staff_only() {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let (h, north, _, nora) = two_clubs(&srv, &owner).await;
    // Clubs are named by the chain's staff; names are unique.
    let renamed = owner
        .ok(Method::PUT, "/clubs/1", json!({"name": "Center"}))
        .await;
    assert_eq!(renamed["name"], "Center");
    let (st, body) = owner
        .call(Method::PUT, "/clubs/1", Some(json!({"name": "North"})))
        .await;
    assert_eq!(st, 409, "{body}");
    assert_eq!(
        body["error"]["message"],
        "a club with this name already exists"
    );
    let (st, _) = nora
        .call(
            Method::PUT,
            &format!("/clubs/{north}"),
            Some(json!({"name": "Mine"})),
        )
        .await;
    assert_eq!(st, 403);

    // What the chain shares is changed by the chain's staff only, though
    // her role holds every permission.
    let tariff = json!({"name": "Night", "duration_seconds": 60, "price": 1,
        "refund_policy": "burn"});
    for (method, path, body) in [
        (Method::POST, "/tariffs".to_owned(), tariff),
        (
            Method::PUT,
            format!("/tariffs/{}", h.keep),
            json!({"name": "Keep", "duration_seconds": 60, "price": 1,
                "refund_policy": "burn"}),
        ),
        (Method::POST, "/clubs".into(), json!({"name": "South"})),
        (
            Method::POST,
            "/roles".into(),
            json!({"name": "Mine", "permissions": []}),
        ),
    ] {
        let (st, body) = nora.call(method.clone(), &path, Some(body)).await;
        assert_eq!(st, 403, "{method} {path}: {body}");
    }
    let settings = owner.ok(Method::GET, "/settings", Value::Null).await;
    let (st, _) = nora.call(Method::PUT, "/settings", Some(settings)).await;
    assert_eq!(st, 403);
    srv.stop().await;
}

#[tokio::test]
async fn a_clubs_operators_are_its_own_and_the_chains_staff_move_them() {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let (_, north, _, nora) = two_clubs(&srv, &owner).await;
    nora.ok(Method::POST, "/shifts/open", json!({"opening_cash": 0}))
        .await;
    // Her operators are her club's; the chain's staff stay out of her view.
    let cashier = owner.role_id("Cashier").await;
    let made = nora
        .ok(
            Method::POST,
            "/operators",
            json!({"login": "nick", "password": "password-123", "role_id": cashier}),
        )
        .await;
    assert_eq!(made["club_id"], north);
    let (st, _) = nora
        .post(
            "/operators",
            json!({"login": "olga", "password": "password-123", "role_id": cashier,
                "club_id": 1}),
        )
        .await;
    assert_eq!(st, 404);
    let operators = nora.ok(Method::GET, "/operators", Value::Null).await;
    assert!(operators
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["club_id"] == north));
    let owner_id = owner.operator_id("owner").await;
    let (st, _) = nora
        .call(
            Method::PATCH,
            &format!("/operators/{owner_id}"),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(st, 404);
    let nick = made["id"].as_i64().unwrap();
    let (st, _) = nora
        .call(
            Method::PATCH,
            &format!("/operators/{nick}"),
            Some(json!({"club_id": null})),
        )
        .await;
    assert_eq!(st, 403, "only the chain's staff move staff between clubs");
    let nick_signed_in = srv.login("nick", "password-123").await;
    let moved = owner
        .ok(
            Method::PATCH,
            &format!("/operators/{nick}"),
            json!({"club_id": 1}),
        )
        .await;
    assert_eq!(moved["club_id"], 1);
    let (st, _) = nick_signed_in.get("/hall").await;
    assert_eq!(st, 401, "a move ends the sign-ins made for the old club");
    // One with a shift open at her desk stays until it is closed.
    let nora_id = owner.operator_id("nora").await;
    let (st, body) = owner
        .call(
            Method::PATCH,
            &format!("/operators/{nora_id}"),
            Some(json!({"club_id": 1})),
        )
        .await;
    assert_eq!(st, 409, "{body}");
    srv.stop().await;
}
