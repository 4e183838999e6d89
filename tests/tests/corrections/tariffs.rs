//! Adding a tariff and auto-renewal.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switch_starts_a_new_segment_now_without_locking_the_pc() {
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
            json!({"tariff_id": h.keep, "mode": "switch", "reason": "one more"}),
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
            json!({"tariff_id": h.convert, "mode": "switch"}),
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
    let (st, body) = api
        .post(
            &format!("/sessions/{}/tariffs", pending["id"]),
            json!({"tariff_id": h.keep, "mode": "later"}),
        )
        .await;
    assert_eq!(st, 400, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("mode"),
        "{body}"
    );
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
