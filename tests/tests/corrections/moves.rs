//! Moving a session to another PC.

use super::*;

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
