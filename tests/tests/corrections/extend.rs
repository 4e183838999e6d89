//! Extending a session: the added tariff is queued after the last one,
//! the end moves later, and a cancel or manual end applies each queued
//! segment's own refund policy to its whole holding.

use super::*;

async fn holding(api: &Api, client: i64, id: &Value) -> Value {
    let c = api
        .ok(Method::GET, &format!("/clients/{client}"), Value::Null)
        .await;
    c["holdings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == *id)
        .unwrap()
        .clone()
}

async fn extend(api: &Api, id: i64, tariff: i64) -> Value {
    api.ok(
        Method::POST,
        &format!("/sessions/{id}/tariffs"),
        json!({"tariff_id": tariff}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_runs_after_the_current_tariff_and_the_pc_follows_the_new_end() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    api.ok(
        Method::PATCH,
        &format!("/clients/{}", h.client),
        json!({"auto_renewal": true}),
    )
    .await;
    let agent = TestAgent::start(&srv, &api, h.zone, "PC-A").await;
    let id = started_on(&api, h.client, agent.device_id, h.burn).await;
    agent.wait("playing", |s| !s.locked).await;

    srv.clock.advance(Duration::minutes(30));
    let after = extend(&api, id, h.keep).await;
    let segs = after["segments"].as_array().unwrap();
    assert_eq!(segs.len(), 2);
    assert_eq!(segs[0]["closed_at"], Value::Null, "nothing is given back");
    assert_eq!(segs[0]["ends_at"], "2026-06-01T14:00:00Z");
    assert_eq!(segs[1]["starts_at"], "2026-06-01T14:00:00Z");
    assert_eq!(segs[1]["ends_at"], "2026-06-01T16:00:00Z");
    assert_eq!(after["ends_at"], "2026-06-01T16:00:00Z");
    let first = holding(&api, h.client, &segs[0]["holding_id"]).await;
    assert_eq!(first["status"], "in_use");
    assert_eq!(first["remaining_seconds"], TWO_HOURS);
    let audit = session(&api, id).await["audit"].clone();
    let add = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "session.add_tariff")
        .unwrap()
        .clone();
    assert_eq!(add["after"]["mode"], "extend");
    assert_eq!(add["after"]["closed"], json!([]));

    // The PC shows the session's new end: its countdown, its warnings and
    // its offline lock all run to it.
    let s = agent
        .wait("new end", |s| {
            s.session.as_ref().and_then(|x| x.ends_at) == Some(t0() + Duration::hours(4))
        })
        .await;
    assert_eq!(s.seconds_left, Some(210 * 60));
    assert!(s.warnings.is_empty());

    // The hall shows the queued tariff after the current one.
    let devices = api.ok(Method::GET, "/devices", Value::Null).await;
    let tile = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == agent.device_id)
        .unwrap()
        .clone();
    let plan = tile["session"]["segments"].as_array().unwrap();
    assert_eq!(plan.len(), 2);
    assert_eq!(plan[0]["tariff_name"], "Burn");
    assert_eq!(plan[1]["tariff_name"], "Keep");
    assert_eq!(plan[1]["starts_at"], "2026-06-01T14:00:00Z");
    assert_eq!(plan[1]["seconds"], TWO_HOURS);

    // No warning and no lock at the first tariff's end: the first warning
    // comes five minutes before the session's new end.
    srv.clock.advance(Duration::minutes(205));
    agent
        .wait("five-minute warning", |s| s.warnings == ["5 minutes left"])
        .await;
    assert_eq!(session(&api, id).await["status"], "STARTED");
    assert_eq!(agent.lock_log().await, ["lock", "unlock"]);

    // Auto-renewal appends after the last tariff: a Keep holding waits.
    api.ok(
        Method::POST,
        &format!("/clients/{}/purchases", h.client),
        json!({"tariff_id": h.keep}),
    )
    .await;
    let mut events = srv.events();
    srv.clock.advance(Duration::minutes(5));
    let renewed = wait_for(&mut events, |e| match e {
        Event::Session {
            change: SessionChange::Renewed,
            session,
            ..
        } if session.id == id => Some(session.clone()),
        _ => None,
    })
    .await;
    assert_eq!(renewed.segments.len(), 3);
    assert_eq!(
        renewed.segments[2].starts_at,
        Some(t0() + Duration::hours(4))
    );
    assert_eq!(renewed.ends_at, Some(t0() + Duration::hours(6)));

    srv.clock.advance(Duration::hours(2));
    agent
        .wait("locked", |s| s.locked && s.session.is_none())
        .await;
    assert_eq!(agent.lock_log().await, ["lock", "unlock", "lock"]);
    let done = session(&api, id).await;
    assert_eq!(done["end_kind"], "natural");
    let lines: Vec<_> = done["receipt"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["seconds_used"].as_i64(), l["amount"].as_i64()))
        .collect();
    let full = (Some(TWO_HOURS), Some(PRICE));
    assert_eq!(lines, [full, full, full]);
    agent.stop().await;
    srv.stop().await;
}

#[tokio::test]
async fn a_manual_end_applies_each_queued_segments_policy_to_its_whole_holding() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let id = started_on(&api, h.client, h.pcs[0], h.keep).await;
    extend(&api, id, h.convert).await;
    let extended = extend(&api, id, h.burn).await;
    assert_eq!(extended["ends_at"], "2026-06-01T18:00:00Z");
    let client_before = api
        .ok(Method::GET, &format!("/clients/{}", h.client), Value::Null)
        .await;

    srv.clock.advance(Duration::minutes(30));
    let preview = api
        .ok(
            Method::GET,
            &format!("/sessions/{id}/preview?action=end"),
            Value::Null,
        )
        .await;
    let effect: Vec<_> = preview["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["tariff_name"].as_str().unwrap().to_owned(),
                o["seconds_used"].as_i64().unwrap(),
                o["kept_seconds"].as_i64().unwrap(),
                o["bonus"].as_i64().unwrap(),
                o["burned"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        effect,
        [
            ("Keep".to_owned(), 1800, 5400, 0, 0),
            ("Convert".to_owned(), 0, 0, PRICE, 0),
            ("Burn".to_owned(), 0, 0, 0, PRICE),
        ],
        "the preview shows the money effect on every segment"
    );
    assert_eq!(preview["bonus_total"], PRICE);

    let ended = api
        .ok(Method::POST, &format!("/sessions/{id}/end"), json!({}))
        .await;
    let segs = ended["segments"].as_array().unwrap();
    assert!(segs
        .iter()
        .all(|g| g["closed_at"] == "2026-06-01T12:30:00Z"));
    let receipt = &ended["receipt"];
    assert_eq!(receipt["total"], 50, "only the time played is charged");
    assert_eq!(receipt["lines"].as_array().unwrap().len(), 3);
    // Itemised: what each segment's policy did with its unused time.
    let effect: Vec<_> = receipt["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["kept_seconds"].as_i64(),
                l["bonus"].as_i64(),
                l["burned"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        effect,
        [
            (Some(5400), Some(0), Some(0)),
            (Some(0), Some(PRICE), Some(0)),
            (Some(0), Some(0), Some(PRICE)),
        ]
    );
    assert_eq!(
        (
            receipt["bonus_returned"].as_i64(),
            receipt["burned"].as_i64()
        ),
        (Some(PRICE), Some(PRICE))
    );
    let kept = holding(&api, h.client, &segs[0]["holding_id"]).await;
    assert_eq!(
        (kept["status"].as_str(), kept["remaining_seconds"].as_i64()),
        (Some("available"), Some(5400))
    );
    for g in &segs[1..] {
        let gone = holding(&api, h.client, &g["holding_id"]).await;
        assert_eq!(gone["status"], "used_up");
    }
    let client_after = api
        .ok(Method::GET, &format!("/clients/{}", h.client), Value::Null)
        .await;
    assert_eq!(
        client_after["bonus_balance"].as_i64().unwrap()
            - client_before["bonus_balance"].as_i64().unwrap(),
        PRICE,
        "the queued Convert tariff is paid whole into bonus"
    );
    assert_eq!(client_after["balance"], client_before["balance"]);
    srv.stop().await;
}

#[tokio::test]
async fn before_start_an_extension_is_reserved_and_starts_in_turn_or_is_cancelled_by_its_policy() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    // Extended before Start: both tariffs run in turn from the press.
    let first = new_session(&api, h.client, h.pcs[0], h.keep).await;
    let reserved = extend(&api, first, h.burn).await;
    assert_eq!(reserved["status"], "ACTIVE");
    let segs = reserved["segments"].as_array().unwrap();
    assert_eq!(segs.len(), 2);
    assert!(segs.iter().all(|g| g["starts_at"].is_null()));
    srv.clock.advance(Duration::minutes(10));
    let started = api
        .ok(
            Method::POST,
            &format!("/sessions/{first}/start"),
            json!({"force": true}),
        )
        .await;
    let segs = started["segments"].as_array().unwrap();
    assert_eq!(segs[0]["starts_at"], "2026-06-01T12:10:00Z");
    assert_eq!(segs[0]["ends_at"], "2026-06-01T14:10:00Z");
    assert_eq!(segs[1]["starts_at"], "2026-06-01T14:10:00Z");
    assert_eq!(segs[1]["ends_at"], "2026-06-01T16:10:00Z");
    assert_eq!(started["ends_at"], "2026-06-01T16:10:00Z");

    // A booking extended, then cancelled: each tariff's own policy.
    let later = t0() + Duration::days(1);
    let booking = api
        .ok(
            Method::POST,
            "/sessions",
            json!({"client_id": h.client, "device_id": h.pcs[1], "tariff_id": h.keep,
                "planned_start_at": later}),
        )
        .await;
    let bid = booking["id"].as_i64().unwrap();
    let extended = extend(&api, bid, h.convert).await;
    let bonus_before = api
        .ok(Method::GET, &format!("/clients/{}", h.client), Value::Null)
        .await["bonus_balance"]
        .as_i64()
        .unwrap();
    let cancelled = api
        .ok(Method::POST, &format!("/sessions/{bid}/cancel"), json!({}))
        .await;
    assert_eq!(cancelled["status"], "CANCELLED");
    let segs = extended["segments"].as_array().unwrap();
    let keep = holding(&api, h.client, &segs[0]["holding_id"]).await;
    assert_eq!(
        (keep["status"].as_str(), keep["remaining_seconds"].as_i64()),
        (Some("available"), Some(TWO_HOURS))
    );
    let convert = holding(&api, h.client, &segs[1]["holding_id"]).await;
    assert_eq!(convert["status"], "used_up");
    let bonus_after = api
        .ok(Method::GET, &format!("/clients/{}", h.client), Value::Null)
        .await["bonus_balance"]
        .as_i64()
        .unwrap();
    assert_eq!(bonus_after - bonus_before, PRICE);
    srv.stop().await;
}

#[tokio::test]
async fn a_switch_returns_queued_holdings_whole_and_starts_the_new_tariff_now() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let id = started_on(&api, h.client, h.pcs[0], h.keep).await;
    extend(&api, id, h.convert).await;
    srv.clock.advance(Duration::minutes(30));
    let switched = api
        .ok(
            Method::POST,
            &format!("/sessions/{id}/tariffs"),
            json!({"tariff_id": h.burn, "mode": "switch"}),
        )
        .await;
    let segs = switched["segments"].as_array().unwrap();
    assert_eq!(segs.len(), 3);
    assert_eq!(
        (
            segs[0]["seconds_used"].as_i64(),
            segs[1]["seconds_used"].as_i64()
        ),
        (Some(1800), Some(0))
    );
    assert_eq!(segs[1]["closed_at"], "2026-06-01T12:30:00Z");
    assert_eq!(segs[2]["starts_at"], "2026-06-01T12:30:00Z");
    assert_eq!(switched["ends_at"], "2026-06-01T14:30:00Z");
    let queued = holding(&api, h.client, &segs[1]["holding_id"]).await;
    assert_eq!(
        (
            queued["status"].as_str(),
            queued["remaining_seconds"].as_i64()
        ),
        (Some("available"), Some(TWO_HOURS)),
        "a switch burns nothing, whatever the queued tariff's policy"
    );
    srv.stop().await;
}

#[tokio::test]
async fn an_extension_that_cannot_run_in_its_turn_is_refused_and_changes_nothing() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let night = api
        .ok(
            Method::POST,
            "/tariffs",
            json!({"name": "Night", "duration_seconds": 36_000, "price": 500,
                "refund_policy": "keep_balance", "window_start_minute": 1320, "window_end_minute": 480}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let id = started_on(&api, h.client, h.pcs[0], h.keep).await;
    // A booking on the same PC at 15:00: an extension to 16:00 overlaps it.
    api.ok(
        Method::POST,
        "/sessions",
        json!({"client_id": h.client, "device_id": h.pcs[0], "tariff_id": h.keep,
            "planned_start_at": t0() + Duration::hours(3)}),
    )
    .await;
    let before = api
        .ok(Method::GET, &format!("/clients/{}", h.client), Value::Null)
        .await;
    let session_before = session(&api, id).await;

    let (st, body) = api
        .post(
            &format!("/sessions/{id}/tariffs"),
            json!({"tariff_id": night}),
        )
        .await;
    assert_eq!(st, 409, "{body}");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("Night is usable only") && msg.contains("14:00"),
        "{msg}"
    );
    let (st, body) = api
        .post(
            &format!("/sessions/{id}/tariffs"),
            json!({"tariff_id": h.keep}),
        )
        .await;
    assert_eq!(st, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("occupied"),
        "{body}"
    );

    let after = api
        .ok(Method::GET, &format!("/clients/{}", h.client), Value::Null)
        .await;
    assert_eq!(before, after, "a refused extension buys nothing");
    let mut session_after = session(&api, id).await;
    session_after["audit"] = session_before["audit"].clone();
    assert_eq!(session_after, session_before);
    srv.stop().await;
}
