//! Clubs in a chain: staff of one club see and work on their club only, the
//! chain's staff on every club, clients and their money are the chain's,
//! and each club's hall screens get their club's feed. Through the REST API
//! and the hall feed of a real server (on PostgreSQL too, in that pass).

use club_shared::hall::{HallEventKind, HallMsg};
use club_tests::*;
use futures_util::SinkExt;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// Club 1's hall (as a single club has it), then a second club, North,
/// with a zone, a PC and a manager of its own (the Owner role, in North
/// only): (hall, North's id, North's PC, North's manager).
async fn two_clubs(srv: &TestServer, owner: &Api) -> (Hall, i64, i64, Api) {
    let h = hall(owner).await;
    let north = owner
        .ok(Method::POST, "/clubs", json!({"name": "North"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let zone = owner
        .ok(
            Method::POST,
            "/zones",
            json!({"name": "North hall", "club_id": north}),
        )
        .await;
    assert_eq!(zone["club_id"], north);
    let pc = owner
        .ok(
            Method::POST,
            "/devices",
            json!({"name": "N-1", "zone_id": zone["id"], "x": 0, "y": 0}),
        )
        .await;
    assert_eq!(pc["club_id"], north);
    let owner_role = owner.role_id("Owner").await;
    let nora = owner
        .ok(
            Method::POST,
            "/operators",
            json!({"login": "nora", "password": "password-123", "role_id": owner_role,
                "club_id": north}),
        )
        .await;
    assert_eq!(nora["club_id"], north);
    let nora = srv.login("nora", "password-123").await;
    (h, north, pc["id"].as_i64().unwrap(), nora)
}

fn ids(v: &Value, key: &str) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x[key].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn staff_of_one_club_see_and_work_on_their_club_only() {
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

/// The next event on a screen, skipping none: its number and body.
async fn next_event(ws: &mut Ws) -> (u64, club_shared::hall::HallEvent) {
    match next_hall_msg(ws, Duration::from_secs(10)).await {
        HallMsg::Event { seq, event } => (seq, *event),
        other => panic!("an event, not {other:?}"),
    }
}

async fn open_screen(srv: &TestServer, api: &Api) -> (Ws, u64, club_shared::HallSnapshot) {
    let mut ws = screen(srv, &api.token().unwrap()).await;
    match next_hall_msg(&mut ws, Duration::from_secs(10)).await {
        HallMsg::Snapshot { seq, hall } => (ws, seq, hall),
        other => panic!("a snapshot first, not {other:?}"),
    }
}

#[tokio::test]
async fn a_clubs_screen_gets_its_clubs_events_numbered_without_gaps() {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let (h, north, north_pc, nora) = two_clubs(&srv, &owner).await;
    let (mut chain, chain_seq, chain_hall) = open_screen(&srv, &owner).await;
    let (mut club, club_seq, club_hall) = open_screen(&srv, &nora).await;
    assert_eq!(chain_hall.devices.len(), 4);
    assert_eq!(
        club_hall.devices.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![north_pc]
    );
    assert!(club_hall.zones.iter().all(|z| z.club_id == north));

    // A session in club 1, then one in North: the chain's screen gets
    // both; North's gets North's, and the client's balance (the chain's).
    let here = new_session(&owner, h.client, h.pcs[0], h.keep).await;
    let there = new_session(&owner, h.client, north_pc, h.keep).await;
    let mut expected = chain_seq;
    let mut created = Vec::new();
    while created.len() < 2 {
        let (seq, e) = next_event(&mut chain).await;
        expected += 1;
        assert_eq!(seq, expected, "the chain's feed has no gaps");
        if e.kind == HallEventKind::SessionCreated {
            created.push(e.session.unwrap().id);
        }
    }
    assert_eq!(created, vec![here, there]);

    let mut expected = club_seq;
    let mut balances = 0;
    loop {
        let (seq, e) = next_event(&mut club).await;
        expected += 1;
        assert_eq!(seq, expected, "a club's feed has no gaps");
        assert!(
            e.devices.iter().all(|d| d.club_id == north),
            "club 1's PCs never reach North's screen: {e:?}"
        );
        if let Some(s) = &e.session {
            assert_eq!(s.id, there, "club 1's session never reaches North's screen");
            assert_eq!(e.kind, HallEventKind::SessionCreated);
            break;
        }
        if e.kind == HallEventKind::BalanceChanged {
            balances += 1;
        }
    }
    assert_eq!(
        balances, 1,
        "the balance change of the first session reached North"
    );

    // A fresh snapshot for North: its number follows its own feed.
    club.send(tokio_tungstenite::tungstenite::Message::Text(
        r#"{"type":"resync"}"#.into(),
    ))
    .await
    .unwrap();
    let mut resynced = None;
    while resynced.is_none() {
        match next_hall_msg(&mut club, Duration::from_secs(10)).await {
            HallMsg::Snapshot { seq, hall } => resynced = Some((seq, hall)),
            HallMsg::Event { seq, .. } => expected = seq,
            HallMsg::Error { message } => panic!("{message}"),
        }
    }
    let (seq, hall) = resynced.unwrap();
    assert!(seq >= expected, "{seq} after {expected}");
    assert_eq!(hall.devices.len(), 1);
    assert_eq!(hall.devices[0].session.as_ref().unwrap().id, there);
    srv.stop().await;
}

#[tokio::test]
async fn a_club_in_another_time_zone_keeps_tariff_windows_and_days_on_its_own_clock() {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let h = hall(&owner).await;
    // The chain's clock is UTC; Tokyo's is 9 hours ahead.
    let tokyo = owner
        .ok(
            Method::POST,
            "/clubs",
            json!({"name": "Tokyo", "time_zone": "Asia/Tokyo"}),
        )
        .await;
    assert_eq!(tokyo["time_zone"], "Asia/Tokyo");
    let tokyo = tokyo["id"].as_i64().unwrap();
    let zone = owner
        .ok(
            Method::POST,
            "/zones",
            json!({"name": "Main", "club_id": tokyo}),
        )
        .await;
    let pc = owner
        .ok(
            Method::POST,
            "/devices",
            json!({"name": "PC-0", "zone_id": zone["id"], "x": 0, "y": 0}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let night = owner
        .ok(
            Method::POST,
            "/tariffs",
            json!({"name": "Night", "duration_seconds": 3600, "price": 100,
                "refund_policy": "burn", "window_start_minute": 1320, "window_end_minute": 480}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    // 14:00 UTC is afternoon on the chain's clock and 23:00 in Tokyo.
    let at = (t0() + chrono::Duration::hours(2)).to_rfc3339();
    let book = |device: i64| {
        json!({"client_id": h.client, "device_id": device, "tariff_id": night,
            "planned_start_at": at})
    };
    let (st, body) = owner.post("/sessions", book(h.pcs[0])).await;
    assert_eq!(st, 400, "club 1 is on the chain's clock: {body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("usable only"));
    let booked = owner.ok(Method::POST, "/sessions", book(pc)).await;
    assert_eq!(booked["status"], "PENDING");

    // Tokyo's days are Tokyo's: 14:00 UTC on June 1st is still June 1st
    // there (until 15:00 UTC).
    let on = |day: &str| format!("/sessions?club_id={tokyo}&day={day}");
    let first = owner.ok(Method::GET, &on("2026-06-01"), Value::Null).await;
    assert_eq!(ids(&first, "id"), vec![booked["id"].as_i64().unwrap()]);
    let second = owner.ok(Method::GET, &on("2026-06-02"), Value::Null).await;
    assert!(second.as_array().unwrap().is_empty(), "{second}");

    // Back on the chain's clock, the same booking would not be taken.
    let same = owner
        .ok(
            Method::PUT,
            &format!("/clubs/{tokyo}"),
            json!({"name": "Tokyo"}),
        )
        .await;
    assert_eq!(same["time_zone"], Value::Null);
    let (st, _) = owner.post("/sessions", book(pc)).await;
    assert_eq!(st, 400);
    let (st, body) = owner
        .post(
            "/clubs",
            json!({"name": "Mars", "time_zone": "Mars/Olympus"}),
        )
        .await;
    assert_eq!(st, 400, "{body}");
    srv.stop().await;
}
