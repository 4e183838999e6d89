//! Several servers on one database serving one hall: every operation
//! reaches the agents and hall screens wherever they are connected, in one
//! order; a move between PCs on different servers retargets both; the
//! desk's commands reach a PC on another server; a
//! server killed mid-operation loses nothing it acknowledged, and its
//! agents carry on with another. (Which server a PC is on: `presence`.)

use super::require_postgres;
use club_shared::hall::{HallEventKind, HallMsg};
use club_shared::{CommandState, Event, SessionStatus};
use club_tests::agents::TestAgent;
use club_tests::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// Reads a screen until an event `until` accepts; answers the session
/// events read on the way (that one included) as (kind, session id).
pub(super) async fn read_until(
    ws: &mut Ws,
    what: &str,
    within: Duration,
    until: impl Fn(&club_shared::hall::HallEvent) -> bool,
) -> Vec<(HallEventKind, i64)> {
    let deadline = tokio::time::Instant::now() + within;
    let mut sessions = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        assert!(!left.is_zero(), "the screen never showed: {what}");
        if let HallMsg::Event { event, .. } = next_hall_msg(ws, left).await {
            if let Some(s) = &event.session {
                sessions.push((event.kind, s.id));
            }
            if until(&event) {
                return sessions;
            }
        }
    }
}

/// Whether an event shows PC `id` online (or offline).
pub(super) fn shows(e: &club_shared::hall::HallEvent, id: i64, online: bool) -> bool {
    e.devices.iter().any(|d| d.id == id && d.online == online)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_server_publishes_every_operation_in_one_order_and_a_move_retargets_both_pcs() {
    require_postgres();
    let a = TestServer::start().await;
    let b = a.start_beside().await;
    let (api_a, api_b) = (a.owner().await, b.owner().await);
    let h = hall(&api_a).await;
    let mut screen_a = screen(&a, &api_a.token().unwrap()).await;
    let mut screen_b = screen(&b, &api_b.token().unwrap()).await;
    // One PC's agent on each server.
    let on_a = TestAgent::start(&a, &api_a, h.zone, "On A").await;
    let on_b = TestAgent::start(&b, &api_b, h.zone, "On B").await;
    for agent in [&on_a, &on_b] {
        agent.wait("connected", |s| s.connected).await;
    }
    // Each screen shows the PC connected to the other server online.
    read_until(&mut screen_b, "the PC on A online", WAIT, |e| {
        shows(e, on_a.device_id, true)
    })
    .await;
    read_until(&mut screen_a, "the PC on B online", WAIT, |e| {
        shows(e, on_b.device_id, true)
    })
    .await;

    // Booked on B for the PC on A: the PC on A shows it.
    let session = new_session(&api_b, h.client, on_a.device_id, h.keep).await;
    on_a.wait("the session booked on B", |s| {
        s.session.as_ref().is_some_and(|x| x.id == session)
    })
    .await;
    // Started on the PC (through A): unlocked.
    let (status, body) = on_a.press_start().await;
    assert_eq!(status, 200, "{body}");
    on_a.wait("unlocked", |s| !s.locked).await;
    // Moved on A to the PC on B: A's PC locks, B's PC unlocks.
    api_a
        .ok(
            Method::POST,
            &format!("/sessions/{session}/device"),
            json!({"device_id": on_b.device_id}),
        )
        .await;
    on_b.wait("the moved session, unlocked", |s| {
        !s.locked && s.session.as_ref().is_some_and(|x| x.id == session)
    })
    .await;
    on_a.wait("locked, with no session", |s| {
        s.locked && s.session.is_none()
    })
    .await;
    // Both screens saw the session's events in the same order.
    let moved = |e: &club_shared::hall::HallEvent| e.kind == HallEventKind::SessionMoved;
    let seen_a = read_until(&mut screen_a, "the move", WAIT, moved).await;
    let seen_b = read_until(&mut screen_b, "the move", WAIT, moved).await;
    assert_eq!(
        seen_a,
        vec![
            (HallEventKind::SessionCreated, session),
            (HallEventKind::SessionStarted, session),
            (HallEventKind::SessionMoved, session),
        ]
    );
    assert_eq!(seen_a, seen_b);
    // The session runs on B's PC, as either server tells.
    for api in [&api_a, &api_b] {
        let s = api
            .ok(Method::GET, &format!("/sessions/{session}"), Value::Null)
            .await;
        assert_eq!(s["device_id"], on_b.device_id);
        assert_eq!(s["status"], json!(SessionStatus::Started));
    }

    // A message from A's desk to the PC on B: B hands it to the agent, and
    // its answer reaches A's hall.
    let mut events = a.events();
    let (status, c) = api_a
        .call(
            Method::POST,
            &format!("/devices/{}/commands", on_b.device_id),
            Some(json!({"kind": "message", "text": "From A"})),
        )
        .await;
    assert_eq!((status, &c["state"]), (202, &json!("sent")), "{c}");
    on_b.wait("A's message", |s| s.message.as_deref() == Some("From A"))
        .await;
    let done = || {
        a.service
            .command(on_b.device_id)
            .is_some_and(|x| json!(x.id) == c["id"] && x.state == CommandState::Done)
    };
    if !done() {
        wait_for(&mut events, |e| match e {
            Event::DeviceChanged { device_id } if *device_id == on_b.device_id => {
                done().then_some(())
            }
            _ => None,
        })
        .await;
    }
    on_a.stop().await;
    on_b.stop().await;
    books_balance(&a).await;
    b.stop().await;
    a.stop().await;
}

/// A PC for the hall of the server at `api`, enrolled with `servers`
/// (comma-separated), its agent running on `clock` with quick retries.
async fn enrolled_agent(
    api: &Api,
    zone: i64,
    name: &str,
    servers: &str,
    clock: &club_server::clock::ManualClock,
) -> TestAgent {
    let (id, state_dir, dir) = club_tests::agents::enrolled_pc_at(api, zone, name, servers).await;
    TestAgent::run(clock, id, state_dir, dir, |o| {
        o.backoff = club_agent::backoff::Backoff::new(
            Duration::from_millis(50),
            Duration::from_millis(500),
        );
    })
    .await
}

/// Top-ups of distinct amounts at `base` until the server is gone
/// (the first request with no answer); answers the amounts it
/// acknowledged. `enough` is told after `kill_after`.
async fn top_ups_until_gone(
    base: String,
    token: String,
    client: i64,
    kill_after: usize,
    enough: std::sync::Arc<tokio::sync::Notify>,
) -> Vec<i64> {
    let http = reqwest::Client::new();
    let url = format!("{base}/api/v1/clients/{client}/top-ups");
    let mut acked = Vec::new();
    for amount in 1001..3000 {
        let sent = http
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({"amount": amount, "method": "cash"}))
            .send()
            .await;
        let Ok(res) = sent else { break };
        let status = res.status().as_u16();
        assert_eq!(
            status,
            200,
            "top-up {amount}: {}",
            res.text().await.unwrap_or_default()
        );
        acked.push(amount);
        if acked.len() == kill_after {
            enough.notify_one();
        }
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_nothing_acknowledged_and_its_agents_carry_on_with_another() {
    require_postgres();
    let dir = tempfile::tempdir().unwrap();
    let database = new_database(dir.path()).await;
    let mut a = club_tests::process::ServerProcess::start(club_tests::process::server_command(
        &database,
        "",
        &[],
    ))
    .await;
    let b = club_tests::process::ServerProcess::start(club_tests::process::server_command(
        &database,
        "",
        &[],
    ))
    .await;
    let api_a = club_tests::process::sign_in_owner(&a.base).await;
    let api_b = club_tests::process::sign_in_owner(&b.base).await;
    let h = hall(&api_a).await;
    let clock = club_server::clock::ManualClock::new(chrono::Utc::now());
    let mut screen_b = tokio_tungstenite::connect_async(format!(
        "{}/api/v1/hall/ws?token={}",
        b.base.replace("http://", "ws://"),
        api_b.token().unwrap()
    ))
    .await
    .expect("feed opens")
    .0;
    // One PC knows both servers, one only A; both connect to A.
    let both = format!("{},{}", a.base, b.base);
    let roams = enrolled_agent(&api_a, h.zone, "Roams", &both, &clock).await;
    let stays = enrolled_agent(&api_a, h.zone, "Stays", &a.base, &clock).await;
    let mut sessions = Vec::new();
    for (agent, phone) in [(&roams, "+1 555 0201"), (&stays, "+1 555 0202")] {
        agent.wait("connected", |s| s.connected).await;
        let client = new_client(&api_a, agent.device_id.to_string().as_str(), phone, 1000).await;
        let session = new_session(&api_b, client, agent.device_id, h.keep).await;
        agent
            .wait("its session", |s| {
                s.session.as_ref().is_some_and(|x| x.id == session)
            })
            .await;
        let (status, body) = agent.press_start().await;
        assert_eq!(status, 200, "{body}");
        agent.wait("unlocked", |s| !s.locked).await;
        sessions.push(session);
    }

    read_until(&mut screen_b, "the PC left on A online", WAIT, |e| {
        shows(e, stays.device_id, true)
    })
    .await;

    // A is killed while it takes top-ups.
    let enough = std::sync::Arc::new(tokio::sync::Notify::new());
    let writer = tokio::spawn(top_ups_until_gone(
        a.base.clone(),
        api_a.token().unwrap(),
        h.client,
        20,
        enough.clone(),
    ));
    tokio::time::timeout(WAIT, enough.notified())
        .await
        .expect("top-ups went through");
    a.child.start_kill().expect("SIGKILL");
    a.child.wait().await.expect("A ended");
    let acked = writer.await.unwrap();
    assert!(acked.len() >= 20, "{acked:?}");

    // Every acknowledged top-up is there, and the books balance.
    let ledger = api_b
        .ok(
            Method::GET,
            &format!("/clients/{}/ledger", h.client),
            Value::Null,
        )
        .await;
    let amounts: Vec<i64> = ledger
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["account"] == "money")
        .map(|e| e["amount"].as_i64().unwrap())
        .collect();
    for amount in &acked {
        assert!(amounts.contains(amount), "top-up {amount} lost");
    }
    let client = api_b
        .ok(Method::GET, &format!("/clients/{}", h.client), Value::Null)
        .await;
    assert_eq!(client["balance"].as_i64(), Some(amounts.iter().sum()));

    // The PC that knows B carries on with it: ended there, it locks.
    api_b
        .ok(
            Method::POST,
            &format!("/sessions/{}/end", sessions[0]),
            json!({}),
        )
        .await;
    roams
        .wait("locked by B", |s| s.locked && s.session.is_none())
        .await;
    // The PC that knew only A goes offline in B's hall once A is silent,
    // on record as offline while playing; its player plays on.
    read_until(
        &mut screen_b,
        "the PC left on A offline",
        chain_silent() + WAIT,
        |e| shows(e, stays.device_id, false),
    )
    .await;
    let audit = api_b
        .ok(
            Method::GET,
            &format!("/audit?session_id={}", sessions[1]),
            Value::Null,
        )
        .await;
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "device.offline_while_playing"),
        "{audit}"
    );
    assert!(!stays.status().locked, "the player plays on");
    roams.stop().await;
    stays.stop().await;
    b.stop().await;
}

/// How long a server may be silent before the others take it for dead.
fn chain_silent() -> Duration {
    club_server::service::chain::SILENT
}
