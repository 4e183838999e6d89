//! Live session corrections end to end: add tariff, auto-renewal with
//! warnings, moves with two real agents, price corrections.

use chrono::Duration;
use club_shared::events::SessionChange;
use club_shared::{Event, SessionStatus};
use club_tests::agents::TestAgent;
use club_tests::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn session(api: &Api, id: i64) -> Value {
    api.ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
        .await
}

async fn started_on(api: &Api, client: i64, device: i64, tariff: i64) -> i64 {
    let id = api
        .ok(
            Method::POST,
            "/sessions",
            json!({"client_id": client, "device_id": device, "tariff_id": tariff}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    api.ok(Method::POST, &format!("/sessions/{id}/start"), json!({}))
        .await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_a_tariff_starts_a_new_segment_now_without_locking_the_pc() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let agent = TestAgent::start(&srv, &api, h.zone, "PC-A").await;
    let id = started_on(&api, h.client, agent.device_id, h.burn).await;
    agent.wait("playing", |s| !s.locked).await;

    srv.clock.advance(Duration::minutes(30));
    let after = api
        .ok(
            Method::POST,
            &format!("/sessions/{id}/tariffs"),
            json!({"tariff_id": h.keep, "reason": "one more"}),
        )
        .await;
    let segs = after["segments"].as_array().unwrap();
    assert_eq!(segs.len(), 2);
    assert_eq!(segs[0]["closed_at"], "2026-06-01T12:30:00Z");
    assert_eq!(segs[0]["seconds_used"], 1800);
    assert_eq!(segs[1]["starts_at"], "2026-06-01T12:30:00Z");
    assert_eq!(segs[1]["ends_at"], "2026-06-01T14:30:00Z");
    assert_eq!(after["ends_at"], "2026-06-01T14:30:00Z");
    assert_eq!(after["status"], "STARTED");

    // The old holding keeps what it did not use, even under burn.
    let client = api
        .ok(Method::GET, &format!("/clients/{}", h.client), Value::Null)
        .await;
    let old = client["holdings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == segs[0]["holding_id"])
        .unwrap();
    assert_eq!(old["remaining_seconds"], 5400);
    assert_eq!(old["status"], "available");

    // The PC got the new end time and never locked.
    let s = agent
        .wait("new end time", |s| {
            s.session
                .as_ref()
                .and_then(|x| x.ends_at)
                .map(|e| e.to_rfc3339())
                == Some("2026-06-01T14:30:00+00:00".into())
        })
        .await;
    assert!(!s.locked);
    assert_eq!(agent.lock_log().await, ["lock", "unlock"]);

    // The receipt bills each segment by its use.
    srv.clock.advance(Duration::minutes(60));
    let ended = api
        .ok(Method::POST, &format!("/sessions/{id}/end"), json!({}))
        .await;
    let lines = ended["receipt"]["lines"].as_array().unwrap();
    assert_eq!(
        (
            lines[0]["seconds_used"].as_i64(),
            lines[0]["amount"].as_i64()
        ),
        (Some(1800), Some(50))
    );
    assert_eq!(
        (
            lines[1]["seconds_used"].as_i64(),
            lines[1]["amount"].as_i64()
        ),
        (Some(3600), Some(100))
    );
    let audit = api
        .ok(Method::GET, &format!("/audit?session_id={id}"), Value::Null)
        .await;
    let add = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "session.add_tariff")
        .unwrap();
    assert_eq!(add["reason"], "one more");
    assert!(add["operator_id"].is_i64());
    assert_eq!(
        add["before"]["session"]["segments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        add["after"]["session"]["segments"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    agent.stop().await;
    srv.stop().await;
}

#[tokio::test]
async fn adding_a_tariff_needs_a_live_session_and_valid_payment() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let pending = api
        .ok(
            Method::POST,
            "/sessions",
            json!({"client_id": h.client, "device_id": h.pcs[0], "tariff_id": h.keep,
            "planned_start_at": t0() + Duration::hours(3)}),
        )
        .await;
    let switched = api
        .ok(
            Method::POST,
            &format!("/sessions/{}/tariffs", pending["id"]),
            json!({"tariff_id": h.convert}),
        )
        .await;
    assert_eq!(switched["status"], "PENDING");
    assert_eq!(switched["segments"][0]["seconds_used"], 0);
    assert_eq!(switched["segments"][1]["refund_policy"], "convert_to_bonus");

    let before = api
        .ok(Method::GET, &format!("/clients/{}", h.client), Value::Null)
        .await;
    let (st, body) = api
        .post(
            &format!("/sessions/{}/tariffs", pending["id"]),
            json!({"tariff_id": h.keep, "bonus_amount": 101}),
        )
        .await;
    assert_eq!(st, 400, "{body}");
    let (st, _) = api
        .post(&format!("/sessions/{}/tariffs", pending["id"]), json!({}))
        .await;
    assert_eq!(st, 400);
    let after = api
        .ok(Method::GET, &format!("/clients/{}", h.client), Value::Null)
        .await;
    assert_eq!(before, after, "a refused correction changes nothing");
    assert_eq!(
        session(&api, pending["id"].as_i64().unwrap()).await["segments"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    api.ok(
        Method::POST,
        &format!("/sessions/{}/cancel", pending["id"]),
        json!({}),
    )
    .await;
    let (st, body) = api
        .post(
            &format!("/sessions/{}/tariffs", pending["id"]),
            json!({"tariff_id": h.keep}),
        )
        .await;
    assert_eq!(st, 409);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("session is CANCELLED"));

    let cashier = srv.staff("carl", "Cashier").await;
    for (path, body) in [
        ("tariffs", json!({"tariff_id": h.keep})),
        ("device", json!({"device_id": h.pcs[1]})),
        ("price-corrections", json!({"delta": 10, "reason": "x"})),
    ] {
        let (st, res) = cashier
            .post(&format!("/sessions/{}/{path}", pending["id"]), body)
            .await;
        assert_eq!(st, 403, "{path}");
        assert_eq!(res["error"]["message"], "missing permission SessionEdit");
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_renewal_continues_without_a_gap_after_warnings() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    api.ok(
        Method::PATCH,
        &format!("/clients/{}", h.client),
        json!({"auto_renewal": true}),
    )
    .await;
    // A second "Keep" holding waits on the balance.
    api.ok(
        Method::POST,
        &format!("/clients/{}/purchases", h.client),
        json!({"tariff_id": h.keep}),
    )
    .await;
    let agent = TestAgent::start(&srv, &api, h.zone, "PC-A").await;
    let mut events = srv.events();
    let id = started_on(&api, h.client, agent.device_id, h.keep).await;
    agent.wait("playing", |s| !s.locked).await;

    srv.clock.advance(Duration::minutes(115));
    agent
        .wait("five-minute warning", |s| s.warnings == ["5 minutes left"])
        .await;
    srv.clock.advance(Duration::minutes(4));
    agent
        .wait("one-minute warning", |s| s.warnings == ["1 minute left"])
        .await;
    srv.clock.advance(Duration::minutes(1));
    let renewed = wait_for(&mut events, |e| match e {
        Event::Session {
            change: SessionChange::Renewed,
            session,
            ..
        } if session.id == id => Some(session.clone()),
        _ => None,
    })
    .await;
    assert_eq!(renewed.status, SessionStatus::Started);
    assert_eq!(renewed.segments.len(), 2);
    assert_eq!(
        renewed.segments[0].closed_at,
        Some(t0() + Duration::hours(2))
    );
    assert_eq!(
        renewed.segments[1].starts_at,
        Some(t0() + Duration::hours(2)),
        "no gap"
    );
    assert_eq!(renewed.ends_at, Some(t0() + Duration::hours(4)));
    agent
        .wait("playing on", |s| {
            s.session.as_ref().and_then(|x| x.ends_at) == Some(t0() + Duration::hours(4))
                && s.warnings.is_empty()
        })
        .await;

    // No holding left: the next end is natural, and the PC locks.
    srv.clock.advance(Duration::hours(2));
    agent
        .wait("locked", |s| s.locked && s.session.is_none())
        .await;
    assert_eq!(
        agent.lock_log().await,
        ["lock", "unlock", "lock"],
        "never locked at the renewal"
    );
    let done = session(&api, id).await;
    assert_eq!(done["end_kind"], "natural");
    assert_eq!(done["receipt"]["lines"].as_array().unwrap().len(), 2);
    assert!(done["audit"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["kind"] == "session.renew" && a["actor"] == "system"));
    agent.stop().await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_locks_the_old_pc_and_unlocks_the_new_one_without_stopping_time() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let a = TestAgent::start(&srv, &api, h.zone, "PC-A").await;
    let b = TestAgent::start(&srv, &api, h.zone, "PC-B").await;
    b.wait("B online", |s| s.connected).await;
    let id = started_on(&api, h.client, a.device_id, h.keep).await;
    a.wait("A playing", |s| !s.locked).await;
    srv.clock.advance(Duration::minutes(20));
    let before = session(&api, id).await;

    let moved = api
        .ok(
            Method::POST,
            &format!("/sessions/{id}/device"),
            json!({"device_id": b.device_id, "reason": "fan noise"}),
        )
        .await;
    assert_eq!(moved["device_id"], b.device_id);
    assert_eq!(
        moved["ends_at"], before["ends_at"],
        "the session's time does not stop"
    );
    let bindings = moved["bindings"].as_array().unwrap();
    assert_eq!(bindings.len(), 2);
    assert_eq!(bindings[0]["actual_end_at"], "2026-06-01T12:20:00Z");
    assert_eq!(bindings[1]["device_id"], b.device_id);
    assert_eq!(bindings[1]["actual_start_at"], "2026-06-01T12:20:00Z");

    a.wait("A free and locked", |s| s.locked && s.session.is_none())
        .await;
    let s = b.wait("B playing", |s| !s.locked).await;
    assert_eq!(s.session.unwrap().id, id);
    assert_eq!(s.seconds_left, Some(100 * 60));
    let audit = session(&api, id).await["audit"].clone();
    let mv = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["kind"] == "session.move")
        .unwrap()
        .clone();
    assert_eq!(mv["before"]["device_id"], a.device_id);
    assert_eq!(mv["after"]["device_id"], b.device_id);
    assert_eq!(mv["reason"], "fan noise");
    a.stop().await;
    b.stop().await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_is_refused_to_an_occupied_offline_disabled_or_wrong_zone_pc() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let vip = api.ok(Method::POST, "/zones", json!({"name": "VIP"})).await["id"]
        .as_i64()
        .unwrap();
    let a = TestAgent::start(&srv, &api, h.zone, "PC-A").await;
    let busy = TestAgent::start(&srv, &api, h.zone, "PC-Busy").await;
    let off = TestAgent::start(&srv, &api, h.zone, "PC-Off").await;
    let other_zone = TestAgent::start(&srv, &api, vip, "VIP-1").await;
    for ag in [&a, &busy, &off, &other_zone] {
        ag.wait("online", |s| s.connected).await;
    }
    // Main-hall-only tariff for the moving session.
    let main_only = api
        .ok(
            Method::POST,
            "/tariffs",
            json!({"name": "Main only", "duration_seconds": 3600, "price": 100,
            "refund_policy": "keep_balance", "zone_ids": [h.zone]}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let id = started_on(&api, h.client, a.device_id, main_only).await;
    started_on(&api, h.client, busy.device_id, h.keep).await;
    api.ok(
        Method::PATCH,
        &format!("/devices/{}", off.device_id),
        json!({"enabled": false}),
    )
    .await;
    let offline = h.pcs[0]; // enrolled by nobody: never online

    for (target, needle) in [
        (busy.device_id, "occupied"),
        (off.device_id, "disabled"),
        (offline, "offline"),
        (other_zone.device_id, "not allowed in the zone"),
    ] {
        let (st, body) = api
            .post(
                &format!("/sessions/{id}/device"),
                json!({"device_id": target}),
            )
            .await;
        assert_eq!(st, 409, "{needle}: {body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(needle),
            "{body}"
        );
    }
    let (st, _) = api
        .post(&format!("/sessions/{id}/device"), json!({"device_id": 999}))
        .await;
    assert_eq!(st, 404);
    assert_eq!(
        session(&api, id).await["device_id"],
        a.device_id,
        "still where it was"
    );
    for ag in [a, busy, off, other_zone] {
        ag.stop().await;
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_moves_onto_one_free_pc_at_once_have_one_winner() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let other = new_client(&api, "Other", "+1 555 0202", 1000).await;
    let free = TestAgent::start(&srv, &api, h.zone, "PC-Free").await;
    free.wait("online", |s| s.connected).await;
    let s1 = started_on(&api, h.client, h.pcs[0], h.keep).await;
    let s2 = started_on(&api, other, h.pcs[1], h.keep).await;
    let moves: Vec<_> = [s1, s2]
        .into_iter()
        .map(|id| {
            let api = api.clone();
            let body = json!({"device_id": free.device_id});
            tokio::spawn(async move { api.post(&format!("/sessions/{id}/device"), body).await.0 })
        })
        .collect();
    let mut statuses = Vec::new();
    for m in moves {
        statuses.push(m.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let hall = api.ok(Method::GET, "/hall", Value::Null).await;
    let pc = hall["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == free.device_id)
        .unwrap()
        .clone();
    assert!(pc["session"]["id"] == s1 || pc["session"]["id"] == s2);
    free.stop().await;
    srv.stop().await;
}

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
            json!({"tariff_id": h.convert}),
        )
        .await;
    let closed = first["segments"][0].clone();
    srv.clock.advance(Duration::minutes(10));
    api.ok(
        Method::POST,
        &format!("/sessions/{id}/tariffs"),
        json!({"tariff_id": h.burn}),
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
