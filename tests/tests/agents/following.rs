//! An agent following its sessions: online, locks and unlocks, Start, restarts, offline.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enrolled_agent_shows_online_with_metrics() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let mut events = srv.events();
    let agent = TestAgent::start(&srv, &api, h.zone, "PC-A").await;
    agent.wait("connected", |s| s.connected && s.locked).await;
    wait_for(&mut events, |e| {
        matches!(e, Event::DeviceChanged { device_id } if *device_id == agent.device_id)
            .then_some(())
    })
    .await;

    let hall = api.ok(Method::GET, "/hall", Value::Null).await;
    let pc = hall["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == agent.device_id)
        .unwrap();
    assert_eq!(pc["online"], true);
    assert!(pc["metrics"]["memory_total"].as_u64().unwrap() > 0);
    assert!(!pc["metrics"]["os"].as_str().unwrap().is_empty());
    assert!(pc["last_seen_at"].is_string());
    assert_eq!(agent.lock_log().await, ["lock"], "starts locked");
    agent.stop().await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pc_follows_the_session_start_cancel_end_and_natural_end() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let agent = TestAgent::start(&srv, &api, h.zone, "PC-A").await;
    agent.wait("connected", |s| s.connected).await;

    // ACTIVE: the lock screen names the client; Start unlocks.
    let id = new_session(&api, h.client, agent.device_id, h.keep).await;
    let s = agent
        .wait("welcome", |s| {
            session_status(s) == Some(SessionStatus::Active)
        })
        .await;
    assert_eq!(s.session.unwrap().client_name, "Dana");
    assert!(s.locked);
    let (status, body) = agent.press_start().await;
    assert_eq!(status, 200, "{body}");
    let s = agent.wait("unlocked", |s| !s.locked).await;
    assert_eq!(session_status(&s), Some(SessionStatus::Started));
    assert_eq!(s.seconds_left, Some(TWO_HOURS));
    let session = api
        .ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
        .await;
    assert_eq!(session["status"], "STARTED");
    assert_eq!(session["actual_start_at"], "2026-06-01T12:00:00Z");
    let start = session["audit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "session.start")
        .unwrap()
        .clone();
    assert_eq!(start["actor"], "agent");

    // Manual end locks.
    api.ok(Method::POST, &format!("/sessions/{id}/end"), json!({}))
        .await;
    agent
        .wait("locked after end", |s| s.locked && s.session.is_none())
        .await;

    // Cancel: it never unlocked.
    let id = new_session(&api, h.client, agent.device_id, h.keep).await;
    agent
        .wait("welcome again", |s| {
            session_status(s) == Some(SessionStatus::Active)
        })
        .await;
    api.ok(Method::POST, &format!("/sessions/{id}/cancel"), json!({}))
        .await;
    let s = agent.wait("cleared", |s| s.session.is_none()).await;
    assert!(s.locked);

    // Natural end on the manual clock.
    let id = new_session(&api, h.client, agent.device_id, h.keep).await;
    agent
        .wait("welcome a third time", |s| {
            session_status(s) == Some(SessionStatus::Active)
        })
        .await;
    api.ok(
        Method::POST,
        &format!("/sessions/{id}/start"),
        json!({"force": true}),
    )
    .await;
    agent.wait("unlocked by the desk", |s| !s.locked).await;
    srv.clock.advance(Duration::hours(2));
    agent
        .wait("locked at the natural end", |s| {
            s.locked && s.session.is_none()
        })
        .await;
    let ended = api
        .ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
        .await;
    assert_eq!(ended["end_kind"], "natural");

    assert_eq!(
        agent.lock_log().await,
        ["lock", "unlock", "lock", "unlock", "lock"]
    );
    agent.stop().await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_press_counts_once_and_only_on_its_own_pc() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (mine, mine_dir, _d1) = club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    let (_, other_dir, _d2) = club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-B").await;
    let (_, secret) = mine_dir.load_enrollment().unwrap();
    let (_, other_secret) = other_dir.load_enrollment().unwrap();
    let id = new_session(&api, h.client, mine, h.keep).await;

    // The other PC presses Start for this session: refused and audited.
    let mut intruder = raw_agent(&srv, &other_secret).await.unwrap();
    send(&mut intruder, &hello(1)).await;
    first_state(&mut intruder).await;
    send(
        &mut intruder,
        &AgentMsg::StartPressed {
            session_id: id,
            press_id: "x1".into(),
        },
    )
    .await;
    match recv(&mut intruder).await {
        ServerMsg::Error { code, press_id, .. } => {
            assert_eq!(code, "forbidden");
            assert_eq!(press_id.as_deref(), Some("x1"));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let audit = api
        .ok(Method::GET, &format!("/audit?session_id={id}"), Value::Null)
        .await;
    assert!(audit
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["kind"] == "session.start_refused" && a["actor"] == "agent"));

    // Its own PC presses twice with one press id: one start.
    let mut ws = raw_agent(&srv, &secret).await.unwrap();
    send(&mut ws, &hello(1)).await;
    first_state(&mut ws).await;
    for _ in 0..2 {
        send(
            &mut ws,
            &AgentMsg::StartPressed {
                session_id: id,
                press_id: "p-1".into(),
            },
        )
        .await;
    }
    match first_state(&mut ws).await {
        ServerMsg::State { desired, .. } => assert!(!desired.locked, "unlock follows the press"),
        _ => unreachable!(),
    }
    // Both presses are answered before this heartbeat's ack.
    send(
        &mut ws,
        &AgentMsg::Heartbeat {
            metrics: Metrics::default(),
        },
    )
    .await;
    loop {
        match recv(&mut ws).await {
            ServerMsg::HeartbeatAck { .. } => break,
            ServerMsg::Error { message, .. } => {
                panic!("a repeated press is not an error: {message}")
            }
            _ => {}
        }
    }
    let session = api
        .ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
        .await;
    assert_eq!(session["status"], "STARTED");
    let starts = session["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "session.start")
        .count();
    assert_eq!(starts, 1);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_come_back_after_a_restart_and_catch_up() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let a = TestAgent::start(&srv, &api, h.zone, "PC-A").await;
    let b = TestAgent::start(&srv, &api, h.zone, "PC-B").await;
    let sa = new_session(&api, h.client, a.device_id, h.keep).await;
    let sb = new_session(&api, h.client, b.device_id, h.keep).await;
    api.ok(
        Method::POST,
        &format!("/sessions/{sa}/start"),
        json!({"force": true}),
    )
    .await;
    api.ok(
        Method::POST,
        &format!("/sessions/{sb}/start"),
        json!({"force": true}),
    )
    .await;
    a.wait("A playing", |s| !s.locked).await;
    b.wait("B playing", |s| !s.locked).await;

    // While the server is down, B's session is ended at the desk.
    let srv = srv
        .restart(|service| async move {
            let owner = service
                .login(
                    "owner",
                    OWNER_PASSWORD,
                    std::net::Ipv4Addr::LOCALHOST.into(),
                )
                .await
                .unwrap();
            let actor = service.authenticate_staff(&owner.token).await.unwrap();
            let actor = club_server::service::Actor::Staff(actor);
            service.end_session(&actor, sb, None).await.unwrap();
        })
        .await;
    // Within the first backoff ceilings (1 s, 2 s) both are back.
    a.wait("A back and still playing", |s| s.connected && !s.locked)
        .await;
    b.wait("B back and locked", |s| {
        s.connected && s.locked && s.session.is_none()
    })
    .await;
    a.stop().await;
    b.stop().await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_the_agent_locks_when_the_time_runs_out_and_never_unlocks_alone() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let agent = TestAgent::start(&srv, &api, h.zone, "PC-A").await;
    let id = new_session(&api, h.client, agent.device_id, h.keep).await;
    api.ok(
        Method::POST,
        &format!("/sessions/{id}/start"),
        json!({"force": true}),
    )
    .await;
    agent.wait("playing", |s| !s.locked).await;

    let stopped = srv.stop_for_a_while().await;
    agent.wait("disconnected", |s| !s.connected).await;
    // Before the end: still playing.
    stopped.clock.advance(Duration::minutes(119));
    assert!(!agent.status().locked);
    stopped.clock.advance(Duration::minutes(1));
    let s = agent.wait("locked by itself", |s| s.locked).await;
    assert!(!s.connected);
    assert_eq!(agent.lock_log().await, ["lock", "unlock", "lock"]);

    // The applied state still says "unlocked, until 14:00"; the agent does
    // not go back to it, and on reconnect the server ends the session.
    let srv = stopped.start_again().await;
    agent
        .wait("reconnected", |s| s.connected && s.session.is_none())
        .await;
    assert_eq!(
        agent.lock_log().await,
        ["lock", "unlock", "lock"],
        "never unlocked again"
    );
    let api = srv.owner().await;
    let ended = api
        .ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
        .await;
    assert_eq!(ended["status"], "ENDED");
    agent.stop().await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_the_agent_plays_on_through_time_added_by_an_extension() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let agent = TestAgent::start(&srv, &api, h.zone, "PC-A").await;
    let id = new_session(&api, h.client, agent.device_id, h.keep).await;
    api.ok(
        Method::POST,
        &format!("/sessions/{id}/start"),
        json!({"force": true}),
    )
    .await;
    api.ok(
        Method::POST,
        &format!("/sessions/{id}/tariffs"),
        json!({"tariff_id": h.burn}),
    )
    .await;
    agent
        .wait("the new end", |s| {
            s.session.as_ref().and_then(|x| x.ends_at) == Some(t0() + Duration::hours(4))
        })
        .await;

    let stopped = srv.stop_for_a_while().await;
    agent.wait("disconnected", |s| !s.connected).await;
    // Past the first tariff's end: the queued one is paid for.
    stopped.clock.advance(Duration::minutes(150));
    agent
        .wait("still playing, 90 minutes left", |s| {
            !s.locked && s.seconds_left == Some(90 * 60)
        })
        .await;
    stopped.clock.advance(Duration::minutes(90));
    agent.wait("locked by itself", |s| s.locked).await;
    assert_eq!(agent.lock_log().await, ["lock", "unlock", "lock"]);
    let srv = stopped.start_again().await;
    agent
        .wait("reconnected", |s| s.connected && s.session.is_none())
        .await;
    agent.stop().await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reboot_with_the_server_down_stays_locked() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    // The state dir lives in `_disk`, which outlives both agent processes.
    let (device_id, state_dir, _disk) =
        club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    let logs = tempfile::tempdir().unwrap();
    let agent = TestAgent::run(&srv.clock, device_id, state_dir.clone(), logs, |_| {}).await;
    let id = new_session(&api, h.client, device_id, h.keep).await;
    api.ok(
        Method::POST,
        &format!("/sessions/{id}/start"),
        json!({"force": true}),
    )
    .await;
    agent.wait("playing", |s| !s.locked).await;
    let stopped = srv.stop_for_a_while().await;
    agent.stop().await;

    // "Reboot": a new agent process on the same state dir, server still down.
    let rebooted = TestAgent::run(
        &stopped.clock,
        device_id,
        state_dir,
        tempfile::tempdir().unwrap(),
        |_| {},
    )
    .await;
    let s = rebooted.status();
    assert!(s.locked, "starts locked");
    assert!(!s.connected);
    assert_eq!(
        s.session.map(|s| s.id),
        Some(id),
        "remembers the session it showed"
    );
    assert_eq!(rebooted.lock_log().await, ["lock"]);

    // When the server is back, it plays on: the server said so.
    let srv = stopped.start_again().await;
    rebooted
        .wait("unlocked by the server", |s| s.connected && !s.locked)
        .await;
    rebooted.stop().await;
    srv.stop().await;
}
