//! Several servers on one database serving one hall: every operation
//! reaches the agents and hall screens wherever they are connected, in one
//! order; a move between PCs on different servers retargets both; a
//! server killed mid-operation loses nothing it acknowledged, and its
//! agents carry on with another.

use super::require_postgres;
use club_shared::hall::{HallEventKind, HallMsg};
use club_shared::SessionStatus;
use club_tests::agents::TestAgent;
use club_tests::*;
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// The next hall message on a screen, within `within`.
async fn next(ws: &mut Ws, within: Duration) -> HallMsg {
    loop {
        match tokio::time::timeout(within, ws.next())
            .await
            .expect("a hall message in time")
        {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).expect("a hall message"),
            Some(Ok(_)) => continue,
            other => panic!("feed ended: {other:?}"),
        }
    }
}

/// Reads a screen until an event `until` accepts; answers the session
/// events read on the way (that one included) as (kind, session id).
async fn read_until(
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
        if let HallMsg::Event { event, .. } = next(ws, left).await {
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
fn shows(e: &club_shared::hall::HallEvent, id: i64, online: bool) -> bool {
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
    on_a.stop().await;
    on_b.stop().await;
    books_balance(&a).await;
    b.stop().await;
    a.stop().await;
}
