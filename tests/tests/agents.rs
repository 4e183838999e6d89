//! Real server, real agents, real WebSockets: the PC follows the server's
//! word, the Start press, reconnects, the offline failsafe, and a gateway
//! that stands up to bad clients.

use chrono::Duration;
use club_agent::LocalStatus;
use club_shared::events::SessionChange;
use club_shared::protocol::{AgentMsg, ServerMsg, MAX_FRAME_BYTES};
use club_shared::{Event, Metrics, SessionStatus};
use club_tests::agents::{workspace_bin, TestAgent};
use club_tests::*;
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn session_status(s: &LocalStatus) -> Option<SessionStatus> {
    s.session.as_ref().map(|s| s.status)
}

/// A bare protocol client, for what a well-behaved agent never sends.
async fn raw_agent(
    srv: &TestServer,
    secret: &str,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let url = srv.base.replace("http://", "ws://") + "/agent/v1/ws";
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {secret}").parse().unwrap());
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}

async fn send(ws: &mut Ws, msg: &AgentMsg) {
    ws.send(Message::text(serde_json::to_string(msg).unwrap()))
        .await
        .unwrap();
}

async fn recv(ws: &mut Ws) -> ServerMsg {
    loop {
        let frame = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message in time");
        match frame {
            Some(Ok(Message::Text(t))) => {
                return serde_json::from_str(&t).expect("server speaks the protocol")
            }
            Some(Ok(_)) => continue,
            other => panic!("connection ended: {other:?}"),
        }
    }
}

fn hello(version: u32) -> AgentMsg {
    AgentMsg::Hello {
        protocol_version: version,
        agent_version: "test".into(),
        last_applied_seq: 0,
        locked: true,
        hardware: Metrics {
            hostname: "raw".into(),
            ..Metrics::default()
        },
        agent_started_at: None,
        build: None,
    }
}

/// Reads until the first State message.
async fn first_state(ws: &mut Ws) -> ServerMsg {
    loop {
        let m = recv(ws).await;
        if matches!(m, ServerMsg::State { .. }) {
            return m;
        }
    }
}

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
    api.ok(Method::POST, &format!("/sessions/{id}/start"), json!({}))
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
    api.ok(Method::POST, &format!("/sessions/{sa}/start"), json!({}))
        .await;
    api.ok(Method::POST, &format!("/sessions/{sb}/start"), json!({}))
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
    api.ok(Method::POST, &format!("/sessions/{id}/start"), json!({}))
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
    api.ok(Method::POST, &format!("/sessions/{id}/start"), json!({}))
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

/// A FIFO the test reads lines from, opened before anything writes to it
/// (a writer's open waits for it): each line is an event the test waits
/// on, not a poll.
#[cfg(unix)]
struct Fifo {
    path: std::path::PathBuf,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::net::unix::pipe::Receiver>>,
}

#[cfg(unix)]
impl Fifo {
    fn new(path: std::path::PathBuf) -> Fifo {
        use tokio::io::AsyncBufReadExt;
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        let rx = tokio::net::unix::pipe::OpenOptions::new()
            .read_write(true)
            .open_receiver(&path)
            .unwrap();
        Fifo {
            path,
            lines: tokio::io::BufReader::new(rx).lines(),
        }
    }

    /// The next line, within [`WAIT`].
    async fn next(&mut self, what: &str) -> String {
        tokio::time::timeout(WAIT, self.lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("{what} in time"))
            .unwrap()
            .unwrap()
    }
}

/// A lock screen stand-in that tells the test its pid through a FIFO, then
/// stays.
#[cfg(unix)]
fn announcing_lock_screen(dir: &std::path::Path) -> (std::path::PathBuf, Fifo) {
    use std::os::unix::fs::PermissionsExt;
    let fifo = Fifo::new(dir.join("starts.fifo"));
    let script = dir.join("fake-lock.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$$\" > '{}'\nexec sleep 600\n",
            fifo.path.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, fifo)
}

/// A player signing in (the Windows service hears it from the service
/// manager) starts the lock screen again at once, in the session now on the
/// screen; the old one is ended and it does not count as a failure.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_change_moves_the_lock_screen_at_once_and_is_no_failure() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (device_id, state_dir, dir) =
        club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    let (script, mut starts) = announcing_lock_screen(dir.path());
    let mut next_start = async || -> u32 {
        let line = starts.next("the lock screen started").await;
        line.trim().parse().unwrap()
    };
    let agent = TestAgent::run(&srv.clock, device_id, state_dir, dir, |o| {
        o.lock_screen = Some(script.clone());
    })
    .await;
    let first = next_start().await;
    assert!(std::path::Path::new(&format!("/proc/{first}")).exists());
    agent.handle.session_changed();
    let second = next_start().await;
    assert_ne!(first, second, "a new lock screen");
    // The old one was ended and reaped before the new one started.
    assert!(
        !std::path::Path::new(&format!("/proc/{first}")).exists(),
        "the first lock screen still runs"
    );
    // Again: a move is never a quick exit counted towards "keeps failing".
    for _ in 0..3 {
        agent.handle.session_changed();
        next_start().await;
    }
    let s = agent.handle.status();
    assert!(s.locked);
    assert_eq!(s.lock_screen_problem, None);
    agent.stop().await;
    srv.stop().await;
}

/// With the lock screen another service's (club-lock's user unit, which
/// the player could stop), the daemon starts it again whenever none is
/// connected: at once after a grace, again until one connects, and the
/// hall hears of it from the second try on.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_starts_the_lock_screen_service_again_when_none_is_connected() {
    use tokio::io::AsyncBufReadExt;
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (device_id, state_dir, dir) =
        club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    let mut restarts = Fifo::new(dir.path().join("restarts.fifo"));
    let fifo = restarts.path.clone();
    let mut next_restart = async || restarts.next("a restart").await;
    let socket = state_dir.dir.join("lock.sock");
    // The stand-in for `systemctl --user … start club-lock` fails, as it
    // does while the player's session is not up.
    let cmd = format!(
        "echo restart > '{}'; echo 'no session' >&2; exit 1",
        fifo.display()
    );
    let agent = TestAgent::run(&srv.clock, device_id, state_dir, dir, |o| {
        o.lock_screen = None;
        o.lock_screen_restart_cmd = Some(cmd);
        o.lock_screen_grace = std::time::Duration::from_millis(100);
    })
    .await;
    assert_eq!(next_restart().await, "restart");
    assert_eq!(next_restart().await, "restart");
    let s = agent
        .wait("the hall told", |s| s.lock_screen_problem.is_some())
        .await;
    let problem = s.lock_screen_problem.unwrap();
    assert!(problem.contains("no lock screen is connected"), "{problem}");
    assert!(problem.contains("no session"), "{problem}");

    // A lock screen connects: the problem is gone, no more restarts.
    let stream = tokio::net::UnixStream::connect(&socket).await.unwrap();
    let mut lines = tokio::io::BufReader::new(stream).lines();
    tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("the view")
        .unwrap()
        .expect("a line");
    agent
        .wait("the problem cleared", |s| s.lock_screen_problem.is_none())
        .await;
    // It goes away (the player stopped its unit): started again.
    drop(lines);
    assert_eq!(next_restart().await, "restart");
    agent.stop().await;
    srv.stop().await;
}

#[cfg(unix)]
async fn next(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::net::unix::OwnedReadHalf>>,
) -> Option<club_shared::lock::DaemonMsg> {
    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("a line in time")
        .ok()?;
    line.map(|l| serde_json::from_str(&l).expect("the daemon speaks the protocol"))
}

/// The daemon's end of the lock screen's channel, spoken to as a hostile
/// local program would: bad lines get an error and the channel stays; a
/// press with nothing to start is refused; an endless line is cut off.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lock_channel_answers_bad_lines_and_never_unlocks() {
    use club_shared::lock::{DaemonMsg, MAX_LOCK_LINE_BYTES};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let agent = TestAgent::start(&srv, &api, h.zone, "PC-A").await;
    agent.wait("connected", |s| s.connected).await;
    let socket = agent.state_dir.dir.join("lock.sock");
    let stream = tokio::net::UnixStream::connect(&socket).await.unwrap();
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r).lines();
    let Some(DaemonMsg::View { view }) = next(&mut lines).await else {
        panic!("the view comes first")
    };
    assert!(view.locked && view.connected);

    for bad in [
        &b"{not json\n"[..],
        b"{\"type\":\"unlock\"}\n",
        b"{\"type\":\"start_pressed\"}\n",
    ] {
        w.write_all(bad).await.unwrap();
        assert!(
            matches!(next(&mut lines).await, Some(DaemonMsg::Error { .. })),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    w.write_all(b"{\"type\":\"start_pressed\",\"press\":7}\n")
        .await
        .unwrap();
    match next(&mut lines).await {
        Some(DaemonMsg::StartAnswer {
            press: 7,
            ok: false,
            message,
        }) => {
            assert!(message.unwrap().contains("no session"))
        }
        other => panic!("a refused press, got {other:?}"),
    }
    assert!(agent.status().locked, "nothing on the channel unlocks");

    // A line past the limit: an error, then the daemon closes the channel.
    let long = vec![b'x'; MAX_LOCK_LINE_BYTES + 10];
    let _ = w.write_all(&long).await;
    assert!(matches!(
        next(&mut lines).await,
        Some(DaemonMsg::Error { .. })
    ));
    assert!(next(&mut lines).await.is_none(), "closed");
    agent.stop().await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_silent_during_a_started_session_is_an_alarm_on_record() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (device_id, state_dir, _disk) =
        club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    let run = |state_dir| {
        TestAgent::run(
            &srv.clock,
            device_id,
            state_dir,
            tempfile::tempdir().unwrap(),
            |_| {},
        )
    };
    let device = |api: &Api| {
        let api = api.clone();
        async move {
            api.ok(Method::GET, &format!("/devices/{device_id}"), Value::Null)
                .await
        }
    };
    let mut events = srv.events();
    // The PC's view changed (published after the commit) and it is now
    // online (or not). Events from before the step are drained first.
    let now_online = |online: bool| {
        let service = srv.service.clone();
        move |e: &Event| match e {
            Event::DeviceChanged { device_id: d }
                if *d == device_id && service.presence(device_id).online == online =>
            {
                Some(())
            }
            _ => None,
        }
    };

    // Offline with nothing running: just offline.
    let agent = run(state_dir.clone()).await;
    agent.wait("connected", |s| s.connected).await;
    while events.try_recv().is_ok() {}
    agent.stop().await;
    wait_for(&mut events, now_online(false)).await;
    let d = device(&api).await;
    assert_eq!(
        (d["online"].clone(), d["alerts"].clone()),
        (json!(false), json!([]))
    );

    // Silent while a session is STARTED: an alarm, and on record.
    let agent = run(state_dir.clone()).await;
    agent.wait("connected", |s| s.connected).await;
    let id = new_session(&api, h.client, device_id, h.keep).await;
    api.ok(Method::POST, &format!("/sessions/{id}/start"), json!({}))
        .await;
    agent.wait("playing", |s| !s.locked).await;
    srv.clock.advance(Duration::minutes(7));
    while events.try_recv().is_ok() {}
    agent.stop().await;
    wait_for(&mut events, now_online(false)).await;
    let d = device(&api).await;
    assert_eq!(d["alerts"], json!(["offline_while_playing"]), "{d}");
    let hall = api.ok(Method::GET, "/hall", Value::Null).await;
    let tile = hall["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == json!(device_id))
        .unwrap()
        .clone();
    assert_eq!(tile["alerts"], json!(["offline_while_playing"]));

    // Back: the alarm ends, and when it went silent and came back is kept.
    srv.clock.advance(Duration::minutes(3));
    while events.try_recv().is_ok() {}
    let agent = run(state_dir).await;
    agent.wait("back", |s| s.connected).await;
    wait_for(&mut events, now_online(true)).await;
    assert_eq!(device(&api).await["alerts"], json!([]));
    let audit = api
        .ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
        .await["audit"]
        .as_array()
        .unwrap()
        .clone();
    let at = |kind: &str| {
        audit
            .iter()
            .find(|a| a["kind"] == kind)
            .unwrap_or_else(|| panic!("{kind} in {audit:?}"))["at"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let silent: chrono::DateTime<chrono::Utc> = at("device.offline_while_playing").parse().unwrap();
    let back: chrono::DateTime<chrono::Utc> = at("device.back_online").parse().unwrap();
    assert_eq!(back - silent, Duration::minutes(3));
    // The agent that came back is a new process: its restart is on record
    // too, with the PC's uptime (this PC did not reboot).
    let restarted = audit
        .iter()
        .find(|a| a["kind"] == "agent.restarted")
        .unwrap_or_else(|| panic!("agent.restarted in {audit:?}"));
    assert_eq!(restarted["after"]["pc_rebooted"], false, "{restarted}");
    agent.stop().await;
    srv.stop().await;
}

/// Waits until the PC's last command from the desk is answered; its state.
async fn command_answered(
    srv: &TestServer,
    device_id: i64,
    id: &Value,
) -> club_shared::CommandState {
    let mut events = srv.events();
    let answered = || {
        srv.service
            .command(device_id)
            .filter(|c| json!(c.id) == *id && c.state != club_shared::CommandState::Sent)
            .map(|c| c.state)
    };
    if let Some(s) = answered() {
        return s;
    }
    wait_for(&mut events, |e| match e {
        Event::DeviceChanged { device_id: d } if *d == device_id => answered(),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_sends_a_message_reboots_shuts_down_and_wakes_pcs() {
    use club_shared::CommandState::{Done, Failed};
    // Wake-on-LAN packets go to a loopback socket of this test.
    let wol = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let target = wol.local_addr().unwrap();
    let srv = TestServer::start_with(move |c| c.wol_target = target).await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (device_id, state_dir, _disk) =
        club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    let power = tempfile::tempdir().unwrap();
    let power_log = power.path().join("power.log");
    let log = power_log.clone();
    let agent = TestAgent::run(
        &srv.clock,
        device_id,
        state_dir,
        tempfile::tempdir().unwrap(),
        move |o| {
            o.reboot_cmd = format!("echo reboot >> '{}'", log.display());
            o.shutdown_cmd = "echo no power button here >&2; exit 3".into();
        },
    )
    .await;
    agent.wait("connected", |s| s.connected).await;
    let path = format!("/devices/{device_id}/commands");
    let command = |body: Value| {
        let (api, path) = (api.clone(), path.clone());
        async move { api.call(Method::POST, &path, Some(body)).await }
    };

    // A message: on the PC at once, and answered.
    let (status, c) = command(json!({"kind": "message", "text": "Closing at 23:00"})).await;
    assert_eq!((status, &c["state"]), (202, &json!("sent")), "{c}");
    agent
        .wait("the message is on the PC", |s| {
            s.message.as_deref() == Some("Closing at 23:00")
        })
        .await;
    assert_eq!(command_answered(&srv, device_id, &c["id"]).await, Done);
    let d = api
        .ok(Method::GET, &format!("/devices/{device_id}"), Value::Null)
        .await;
    assert_eq!(d["command"]["state"], "done", "the hall shows it: {d}");
    let (status, _) = command(json!({"kind": "message", "text": "   "})).await;
    assert_eq!(status, 400, "a message needs words");

    // Reboot: refused while a session is STARTED, unless forced.
    let id = new_session(&api, h.client, device_id, h.keep).await;
    api.ok(Method::POST, &format!("/sessions/{id}/start"), json!({}))
        .await;
    let (status, v) = command(json!({"kind": "reboot"})).await;
    assert_eq!(status, 409, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("force"));
    let (status, c) = command(json!({"kind": "reboot", "force": true})).await;
    assert_eq!(status, 202, "{c}");
    assert_eq!(command_answered(&srv, device_id, &c["id"]).await, Done);
    assert_eq!(
        std::fs::read_to_string(&power_log).unwrap().trim(),
        "reboot"
    );
    // A shutdown command that fails is answered as failed, with why.
    let (_, c) = command(json!({"kind": "shutdown", "force": true})).await;
    assert_eq!(command_answered(&srv, device_id, &c["id"]).await, Failed);
    let error = srv.service.command(device_id).unwrap().error.unwrap();
    assert!(error.contains("no power button here"), "{error}");

    // Only with DeviceManage.
    let cashier = srv.staff("cas", "Cashier").await;
    let (status, _) = cashier
        .call(
            Method::POST,
            &path,
            Some(json!({"kind": "message", "text": "hi"})),
        )
        .await;
    assert_eq!(status, 403);
    let mut events = srv.events();
    agent.stop().await;
    // The server has seen the PC go (an agent's stop returns before its
    // disconnect is handled there).
    let service = srv.service.clone();
    wait_for(&mut events, |e| match e {
        Event::DeviceChanged { device_id: d }
            if *d == device_id && !service.presence(device_id).online =>
        {
            Some(())
        }
        _ => None,
    })
    .await;

    // Offline: nobody to ask, except for a wake.
    let (status, _) = command(json!({"kind": "message", "text": "hello?"})).await;
    assert_eq!(status, 409);

    // Wake: a PC whose agent reported its MAC gets the magic packet.
    let (other, other_state, _other_disk) =
        club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-B").await;
    let (status, _) = api
        .call(
            Method::POST,
            &format!("/devices/{other}/commands"),
            Some(json!({"kind": "wake"})),
        )
        .await;
    assert_eq!(status, 409, "no MAC known yet");
    let (_, secret) = other_state.load_enrollment().unwrap();
    let mut ws = raw_agent(&srv, &secret).await.unwrap();
    let mut hello = hello(1);
    if let AgentMsg::Hello { hardware, .. } = &mut hello {
        hardware.macs = vec!["02:00:5E:10:20:30".into(), "not a mac".into()];
    }
    send(&mut ws, &hello).await;
    first_state(&mut ws).await;
    ws.close(None).await.unwrap();
    let (status, c) = api
        .call(
            Method::POST,
            &format!("/devices/{other}/commands"),
            Some(json!({"kind": "wake"})),
        )
        .await;
    assert_eq!((status, &c["state"]), (202, &json!("done")), "{c}");
    let mut packet = [0u8; 200];
    let (n, _) = tokio::time::timeout(WAIT, wol.recv_from(&mut packet))
        .await
        .expect("a magic packet")
        .unwrap();
    assert_eq!(n, 102);
    assert_eq!(&packet[..6], &[0xFF; 6]);
    for mac in packet[6..n].chunks(6) {
        assert_eq!(mac, &[0x02, 0x00, 0x5e, 0x10, 0x20, 0x30]);
    }

    // Every command and every answer is on record.
    let audit = api.ok(Method::GET, "/audit", Value::Null).await;
    let kinds: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["kind"].as_str())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "device.command").count(), 4);
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "device.command_done")
            .count(),
        3
    );
    srv.stop().await;
}

/// Connects to a Unix socket as `user` and answers the first line it says
/// (empty: refused or closed).
async fn first_line_as(user: &str, socket: &std::path::Path) -> (bool, String) {
    let script = "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ntry:\n s.connect(sys.argv[1])\nexcept OSError as e:\n print('refused', e.errno); sys.exit(3)\nf=s.makefile()\nprint(f.readline().strip())\n";
    let out = tokio::time::timeout(
        WAIT,
        tokio::process::Command::new("setpriv")
            // The group: nogroup (65534), which every Debian system has.
            .args(["--reuid", user, "--regid", "65534", "--clear-groups", "--"])
            // Debian's own Python: every account can run it.
            .args(["/usr/bin/python3", "-c", script])
            .arg(socket)
            .output(),
    )
    .await
    .expect("finished in time")
    .expect("setpriv runs");
    let said = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    (out.status.success(), format!("{said}{err}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_system_service_daemon_lets_only_the_players_lock_screen_on_its_channel() {
    if !club_tests::process::is_root() {
        eprintln!("needs root to act as two accounts: skipped");
        return;
    }
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (device_id, state_dir, _disk) =
        club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    // /run/club-agent in the packaged unit: root's, readable by all.
    let run = tempfile::tempdir().unwrap();
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    std::fs::set_permissions(run.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = run.path().join("lock.sock");
    let nobody = club_agent::state::uid_of("nobody").unwrap();
    let path = socket.clone();
    let agent = TestAgent::run(
        &srv.clock,
        device_id,
        state_dir,
        tempfile::tempdir().unwrap(),
        move |o| {
            o.lock_channel = Some(path);
            o.lock_screen_uid = Some(nobody);
        },
    )
    .await;
    agent.wait("connected", |s| s.connected).await;
    let meta = std::fs::metadata(&socket).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (nobody, 0o600));
    // The player's account (here: nobody) gets the view...
    let (ok, line) = first_line_as("nobody", &socket).await;
    assert!(ok && line.contains("\"locked\":true"), "{line}");
    // ...and another account cannot even open the socket.
    let (ok, line) = first_line_as("daemon", &socket).await;
    assert!(!ok && line.starts_with("refused"), "{line}");
    agent.stop().await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pc_that_rebooted_is_told_apart_from_an_agent_that_restarted() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (device_id, state, _disk) =
        club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    let (_, secret) = state.load_enrollment().unwrap();
    let id = new_session(&api, h.client, device_id, h.keep).await;
    api.ok(Method::POST, &format!("/sessions/{id}/start"), json!({}))
        .await;
    // Hellos as the agent sends them: when it started, and the PC's uptime.
    let connect = |started: chrono::DateTime<chrono::Utc>, uptime: u64| {
        let (srv, secret) = (&srv, secret.clone());
        async move {
            let mut ws = raw_agent(srv, &secret).await.unwrap();
            let mut hi = hello(1);
            if let AgentMsg::Hello {
                hardware,
                agent_started_at,
                ..
            } = &mut hi
            {
                hardware.uptime_seconds = uptime;
                *agent_started_at = Some(started);
            }
            send(&mut ws, &hi).await;
            first_state(&mut ws).await;
            ws.close(None).await.unwrap();
        }
    };
    let t = srv.service.now();
    connect(t, 3600).await;
    // The agent alone restarted 10 minutes later: the PC has been up 1 h 10.
    srv.clock.advance(Duration::minutes(10));
    connect(srv.service.now(), 4200).await;
    // The PC rebooted 10 minutes after that: up for 30 s only.
    srv.clock.advance(Duration::minutes(10));
    connect(srv.service.now(), 30).await;
    // Reconnecting without a restart is no restart.
    connect(srv.service.now(), 40).await;

    let audit = api
        .ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
        .await["audit"]
        .as_array()
        .unwrap()
        .clone();
    let rebooted: Vec<Value> = audit
        .iter()
        .filter(|a| a["kind"] == "agent.restarted")
        .map(|a| a["after"]["pc_rebooted"].clone())
        .collect();
    assert_eq!(
        rebooted,
        vec![json!(true), json!(false)],
        "newest first: {audit:?}"
    );
    srv.stop().await;
}
