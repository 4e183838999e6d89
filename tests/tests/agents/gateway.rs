//! The agent gateway: strangers, old agents, bad frames, shutdown, silence, the command line.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_refuses_strangers_and_old_agents_and_survives_bad_frames() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (_, dir, _keep) = club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    let (_, secret) = dir.load_enrollment().unwrap();

    // A wrong secret is refused before the upgrade.
    match raw_agent(&srv, "not-a-secret").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }

    // An old protocol gets a clear refusal, without retry.
    let mut ws = raw_agent(&srv, &secret).await.unwrap();
    send(&mut ws, &hello(0)).await;
    match recv(&mut ws).await {
        ServerMsg::Refused {
            reason,
            retry,
            update,
        } => {
            assert!(!retry);
            assert!(reason.contains("too old"), "{reason}");
            assert_eq!(update, None, "no build is kept");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }

    // Malformed frames get an error and the connection stays.
    let mut ws = raw_agent(&srv, &secret).await.unwrap();
    send(&mut ws, &hello(1)).await;
    first_state(&mut ws).await;
    for bad in [
        "not json",
        r#"{"type":"warp_drive"}"#,
        r#"{"type":"ack","seq":"x"}"#,
        // No text holds a NUL character (PostgreSQL stores none).
        r#"{"type":"start_pressed","session_id":1,"press_id":"p\u0000"}"#,
    ] {
        ws.send(Message::text(bad)).await.unwrap();
        match recv(&mut ws).await {
            ServerMsg::Error { code, .. } => assert_eq!(code, "malformed"),
            other => panic!("expected an error for {bad}, got {other:?}"),
        }
    }
    send(
        &mut ws,
        &AgentMsg::Heartbeat {
            metrics: Metrics::default(),
        },
    )
    .await;
    assert!(
        matches!(recv(&mut ws).await, ServerMsg::HeartbeatAck { .. }),
        "still talking"
    );

    // A frame over 64 KiB is refused: the connection is closed...
    ws.send(Message::text("x".repeat(MAX_FRAME_BYTES + 1)))
        .await
        .unwrap();
    let closed = tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "an oversized frame ends the connection");
    // ...and the server is unaffected.
    let mut again = raw_agent(&srv, &secret).await.unwrap();
    send(&mut again, &hello(1)).await;
    assert!(matches!(
        first_state(&mut again).await,
        ServerMsg::State { .. }
    ));
    let (st, _) = api.get("/hall").await;
    assert_eq!(st, 200);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_agent_stops_trying_after_the_refusal() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (id, dir, tmp) = club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    let agent = TestAgent::run(&srv.clock, id, dir, tmp, |o| o.protocol_version = 0).await;
    let s = agent.wait("refused", |s| s.refused.is_some()).await;
    assert!(!s.connected);
    assert!(s.locked);
    assert!(s.refused.unwrap().contains("update club-agent"));
    assert_eq!(agent.handle.connection_attempts(), 1);
    let (status, body) = agent.press_start().await;
    assert_eq!(status, 409, "{body}");
    agent.stop().await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_presses_start_and_prints_status() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let agent = TestAgent::start(&srv, &api, h.zone, "PC-A").await;
    let id = new_session(&api, h.client, agent.device_id, h.keep).await;
    agent
        .wait("welcome", |s| {
            session_status(s) == Some(SessionStatus::Active)
        })
        .await;
    let dir = agent.state_dir.dir.to_string_lossy().to_string();
    let bin = workspace_bin("club-agent");

    let out = tokio::process::Command::new(&bin)
        .args(["status", "--state-dir", &dir])
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["connected"], true);
    assert_eq!(status["locked"], true);
    assert_eq!(status["session"]["client_name"], "Dana");
    assert_eq!(status["session"]["status"], "ACTIVE");
    assert_eq!(status["seconds_left"], Value::Null);

    let out = tokio::process::Command::new(&bin)
        .args(["start", "--state-dir", &dir])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    agent.wait("unlocked", |s| !s.locked).await;
    let session = api
        .ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
        .await;
    assert_eq!(session["status"], "STARTED");
    let mut events = srv.events();
    api.ok(Method::POST, &format!("/sessions/{id}/end"), json!({}))
        .await;
    wait_for(&mut events, |e| {
        matches!(
            e,
            Event::Session {
                change: SessionChange::Ended,
                ..
            }
        )
        .then_some(())
    })
    .await;
    agent.stop().await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_the_server_down_closes_agent_sockets_cleanly() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (_, dir, _keep) = club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    let (_, secret) = dir.load_enrollment().unwrap();
    let mut ws = raw_agent(&srv, &secret).await.unwrap();
    send(&mut ws, &hello(1)).await;
    first_state(&mut ws).await;

    let stopping = tokio::spawn(srv.stop());
    let close = tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("closed in time")
    .expect("with a reason");
    assert_eq!(u16::from(close.code), 1001, "going away");
    stopping.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_pc_goes_offline_in_the_hall() {
    // The club default is 45 s of silence; this server says 1 s.
    let srv = TestServer::start_with_offline_after(1).await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (id, dir, _keep) = club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    let (_, secret) = dir.load_enrollment().unwrap();
    let mut ws = raw_agent(&srv, &secret).await.unwrap();
    send(&mut ws, &hello(1)).await;
    first_state(&mut ws).await;
    let online = |api: Api| async move {
        let d = api
            .ok(Method::GET, &format!("/devices/{id}"), Value::Null)
            .await;
        d["online"].as_bool().unwrap()
    };
    assert!(online(api.clone()).await);
    let mut events = srv.events();

    // No heartbeat: the server drops the link and the hall shows it.
    wait_for(&mut events, |e| {
        matches!(e, Event::DeviceChanged { device_id } if *device_id == id).then_some(())
    })
    .await;
    assert!(!online(api.clone()).await);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_ahead_of_the_servers_sequence_still_follows_it() {
    // A PC that applied state 1,000 against an earlier database (enrolled
    // before re-enrolment reset its applied state): the server raises its
    // own sequence above the agent's instead of sending states it ignores.
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (device_id, state_dir, dir) =
        club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    state_dir
        .save_applied(&club_agent::state::Applied {
            seq: 1000,
            desired: Default::default(),
        })
        .unwrap();
    let agent = TestAgent::run(&srv.clock, device_id, state_dir, dir, |_| {}).await;
    agent
        .wait("connected, on a sequence above 1000", |s| {
            s.connected && s.applied_seq > 1000
        })
        .await;
    let id = new_session(&api, h.client, device_id, h.keep).await;
    api.ok(Method::POST, &format!("/sessions/{id}/start"), json!({}))
        .await;
    agent.wait("unlocked by the server", |s| !s.locked).await;
    agent.stop().await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_commands_run_off_the_connection_with_a_timeout_and_a_failure_is_not_locked() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (device_id, state_dir, dir) =
        club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    // A lock command that hangs: the agent connects and follows the server
    // meanwhile, kills it after the timeout, and does not call that locked.
    let agent = TestAgent::run(&srv.clock, device_id, state_dir, dir, |o| {
        o.lock_cmd = Some("sleep 20".into());
        o.hook_timeout = std::time::Duration::from_millis(300);
    })
    .await;
    let id = new_session(&api, h.client, device_id, h.keep).await;
    let s = agent
        .wait("the session shown while the lock command hangs", |s| {
            s.connected && s.session.as_ref().is_some_and(|x| x.id == id)
        })
        .await;
    assert!(s.hook_pending, "the lock command is still running");
    let s = agent
        .wait("the lock command killed", |s| !s.hook_pending)
        .await;
    let hook = s.lock_hook.expect("a result");
    assert!(hook.locked && !hook.ok, "{hook:?}");
    assert!(hook.detail.contains("killed"), "{}", hook.detail);
    assert!(!s.locked, "a failed lock command is not reported as locked");
    agent.stop().await;

    // A lock command that fails outright: the same.
    let (device_id, state_dir, dir) =
        club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-B").await;
    let agent = TestAgent::run(&srv.clock, device_id, state_dir, dir, |o| {
        o.lock_cmd = Some("exit 3".into());
    })
    .await;
    let s = agent
        .wait("the lock command failed", |s| {
            s.connected && !s.hook_pending
        })
        .await;
    assert!(!s.locked);
    assert!(s.lock_hook.is_some_and(|h| !h.ok && h.detail.contains('3')));
    agent.stop().await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_screen_that_keeps_failing_is_shown_in_the_hall() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (device_id, state_dir, dir) =
        club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    let mut events = srv.events();
    // The real club-lock with no display to open: it exits at once, again
    // and again.
    let agent = TestAgent::run(&srv.clock, device_id, state_dir, dir, |o| {
        o.lock_screen = Some(workspace_bin("club-lock"));
        o.lock_screen_display = Some(String::new());
    })
    .await;
    let s = agent
        .wait("the lock screen reported failing", |s| {
            s.lock_screen_problem.is_some()
        })
        .await;
    assert!(s.locked, "the PC stays locked");
    let problem = s.lock_screen_problem.unwrap();
    assert!(problem.contains("keeps failing"), "{problem}");
    wait_for(&mut events, |e| {
        matches!(e, Event::DeviceMetrics { device_id: d } if *d == device_id).then_some(())
    })
    .await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let v = api
            .ok(Method::GET, &format!("/devices/{device_id}"), Value::Null)
            .await;
        let problems = v["metrics"]["problems"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if problems
            .iter()
            .any(|p| p.as_str() == Some(problem.as_str()))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the hall never showed it: {v}"
        );
        wait_for(&mut events, |e| {
            matches!(e, Event::DeviceMetrics { device_id: d } if *d == device_id).then_some(())
        })
        .await;
    }
    agent.stop().await;
    srv.stop().await;
}
