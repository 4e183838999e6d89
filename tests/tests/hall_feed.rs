//! The hall feed over a real WebSocket: snapshot, sequenced events,
//! resync, and a stalled screen that does not hold up the others.

use club_shared::hall::{HallEventKind, HallMsg};
use club_shared::protocol::AgentMsg;
use club_shared::{Event, Metrics};
use club_tests::*;
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

async fn next<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>) -> HallMsg
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message in time")
        {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).expect("a hall message"),
            Some(Ok(_)) => continue,
            other => panic!("feed ended: {other:?}"),
        }
    }
}

fn seq_of(m: &HallMsg) -> u64 {
    match m {
        HallMsg::Snapshot { seq, .. } | HallMsg::Event { seq, .. } => *seq,
        HallMsg::Error { message } => panic!("error from the feed: {message}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_gets_a_snapshot_then_numbered_events_with_full_views() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let token = api.token().unwrap();
    let mut ws = screen(&srv, &token).await;
    let HallMsg::Snapshot { seq, hall } = next(&mut ws).await else {
        panic!("snapshot first")
    };
    assert_eq!(hall.devices.len(), 3);

    let s = api
        .ok(
            Method::POST,
            "/sessions",
            json!({"client_id": h.client, "device_id": h.pcs[0], "tariff_id": h.keep}),
        )
        .await;
    let mut kinds = Vec::new();
    let mut expected = seq + 1;
    while !kinds.contains(&HallEventKind::SessionCreated) {
        let m = next(&mut ws).await;
        assert_eq!(seq_of(&m), expected, "no gap");
        expected += 1;
        let HallMsg::Event { event, .. } = m else {
            panic!("an event")
        };
        if event.kind == HallEventKind::SessionCreated {
            assert_eq!(
                event.session.as_ref().unwrap().id,
                s["id"].as_i64().unwrap()
            );
            let pc = &event.devices[0];
            assert_eq!(pc.id, h.pcs[0]);
            assert_eq!(pc.session.as_ref().unwrap().client_name, "Dana");
        }
        kinds.push(event.kind);
    }
    // The purchase moved money: its balance event follows.
    let m = next(&mut ws).await;
    assert_eq!(seq_of(&m), expected);
    expected += 1;
    assert!(
        matches!(m, HallMsg::Event { event, .. } if event.kind == HallEventKind::BalanceChanged)
    );

    // A screen that saw a gap asks again and gets a fresh snapshot.
    ws.send(Message::text(r#"{"type":"resync"}"#))
        .await
        .unwrap();
    let HallMsg::Snapshot { seq: again, hall } = next(&mut ws).await else {
        panic!("a snapshot")
    };
    assert_eq!(again, expected - 1);
    assert!(hall
        .devices
        .iter()
        .any(|d| d.session.as_ref().is_some_and(|x| x.client_name == "Dana")));
    // Nonsense gets an error and the feed goes on.
    ws.send(Message::text("hello?")).await.unwrap();
    assert!(matches!(next(&mut ws).await, HallMsg::Error { .. }));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_needs_a_staff_token() {
    let srv = TestServer::start().await;
    let url = format!(
        "{}/api/v1/hall/ws?token=nope",
        srv.base.replace("http://", "ws://")
    );
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_reach_the_hall_at_most_once_per_pc_per_five_seconds() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (_, dir, _keep) = club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    let (_, secret) = dir.load_enrollment().unwrap();
    let url = srv.base.replace("http://", "ws://") + "/agent/v1/ws";
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {secret}").parse().unwrap());
    let (mut agent, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let hello = AgentMsg::Hello {
        protocol_version: 1,
        agent_version: "t".into(),
        last_applied_seq: 0,
        locked: true,
        hardware: Metrics::default(),
        agent_started_at: None,
        build: None,
    };
    agent
        .send(Message::text(serde_json::to_string(&hello).unwrap()))
        .await
        .unwrap();
    let mut ws = screen(&srv, &api.token().unwrap()).await;
    next(&mut ws).await;

    for cpu in [10.0, 20.0, 30.0] {
        let beat = AgentMsg::Heartbeat {
            metrics: Metrics {
                cpu_percent: cpu,
                ..Metrics::default()
            },
        };
        agent
            .send(Message::text(serde_json::to_string(&beat).unwrap()))
            .await
            .unwrap();
    }
    // The three heartbeats are processed before this top-up's event.
    let mut got_acks = 0;
    while got_acks < 3 {
        if let Some(Ok(Message::Text(t))) = agent.next().await {
            if t.contains("heartbeat_ack") {
                got_acks += 1;
            }
        }
    }
    api.ok(
        Method::POST,
        &format!("/clients/{}/top-ups", h.client),
        json!({"amount": 5, "method": "cash"}),
    )
    .await;
    let mut metrics = Vec::new();
    loop {
        let HallMsg::Event { event, .. } = next(&mut ws).await else {
            continue;
        };
        match event.kind {
            HallEventKind::Metrics => {
                metrics.push(event.devices[0].metrics.clone().unwrap().cpu_percent)
            }
            HallEventKind::BalanceChanged => break,
            _ => {}
        }
    }
    assert_eq!(
        metrics.len(),
        1,
        "one metrics event for three heartbeats: {metrics:?}"
    );
    assert!(
        [10.0, 20.0, 30.0].contains(&metrics[0]),
        "with the latest metrics when it was sent"
    );
    srv.stop().await;
}

/// A session event as big as a screen could get (a 4 KiB client name).
fn big_session_event(n: i64) -> Event {
    let t = t0();
    let session = club_shared::SessionView {
        id: n,
        client_id: 1,
        client_name: "x".repeat(4096),
        device_id: 1,
        status: club_shared::SessionStatus::Started,
        planned_start_at: t,
        actual_start_at: Some(t),
        actual_end_at: None,
        ends_at: None,
        cancelled_at: None,
        cancelled_by: None,
        end_kind: None,
        segments: vec![],
        bindings: vec![],
        price_corrections: vec![],
        receipt: None,
        actions: Default::default(),
    };
    Event::Session {
        change: club_shared::events::SessionChange::PriceCorrected,
        devices: vec![],
        session: Box::new(session),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_screen_is_resynced_and_does_not_hold_up_the_others() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let token = api.token().unwrap();

    // The stalled screen: a tiny receive buffer, and it never reads.
    let mut stalled = stalled_screen(&feed_url(&srv, &token)).await.unwrap();
    let mut live = screen(&srv, &token).await;
    let first = seq_of(&next(&mut live).await);

    // Far more than a screen's queue and the kernel's socket buffers hold
    // (16 MiB of 4 KiB events), in batches the live screen keeps up with.
    let (batches, per_batch) = (100, 40);
    let mut expected = first + 1;
    for b in 0..batches {
        srv.service
            .bus
            .publish((0..per_batch).map(|i| big_session_event(b * per_batch + i)));
        for _ in 0..per_batch {
            let m = next(&mut live).await;
            assert!(
                matches!(m, HallMsg::Event { .. }),
                "the live screen is never resynced"
            );
            assert_eq!(seq_of(&m), expected, "in order, no gap");
            expected += 1;
        }
    }

    // The stalled one lost its backlog and got a fresh snapshot instead.
    let mut snapshots = 0;
    loop {
        let m = next(&mut stalled).await;
        if matches!(m, HallMsg::Snapshot { .. }) {
            snapshots += 1;
        }
        let last = seq_of(&m);
        if snapshots >= 2 && last == expected - 1 {
            break;
        }
        assert!(last < expected, "nothing beyond what was published");
    }
    // After the resync it follows live events again.
    srv.service.bus.publish([big_session_event(-1)]);
    assert_eq!(seq_of(&next(&mut stalled).await), expected);
    assert_eq!(seq_of(&next(&mut live).await), expected);
    srv.stop().await;
}

/// Screens that open between two events see the same hall (they may share
/// one snapshot); a change made while no screen was open is in the next
/// screen's snapshot all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_opened_after_unwatched_changes_sees_them() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let token = api.token().unwrap();
    let zone = api
        .ok(Method::POST, "/zones", json!({"name": "Hall"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let mut open = srv.feed.open_screens();
    let mut first = screen(&srv, &token).await;
    let mut second = screen(&srv, &token).await;
    let (HallMsg::Snapshot { seq: a, hall: ha }, HallMsg::Snapshot { seq: b, hall: hb }) =
        (next(&mut first).await, next(&mut second).await)
    else {
        panic!("snapshots first")
    };
    assert_eq!((a, &ha.devices), (b, &hb.devices), "the same hall");
    drop((first, second));
    tokio::time::timeout(WAIT, open.wait_for(|n| *n == 0))
        .await
        .expect("the screens closed in time")
        .unwrap();

    // Nobody watches: the hub skips the event but numbers it.
    let before = srv.feed.last_seq();
    api.ok(
        Method::POST,
        "/devices",
        json!({"name": "PC-unwatched", "zone_id": zone, "x": 1, "y": 1}),
    )
    .await;
    tokio::time::timeout(WAIT, async {
        while srv.feed.last_seq() == before {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the hub took the event in time");

    let mut third = screen(&srv, &token).await;
    let HallMsg::Snapshot { hall, .. } = next(&mut third).await else {
        panic!("snapshot first")
    };
    assert!(
        hall.devices.iter().any(|d| d.name == "PC-unwatched"),
        "the new PC is in the snapshot"
    );
    srv.stop().await;
}

/// A snapshot tells the page the server's time: one kept for screens that
/// open together is not handed out once the server's clock has moved on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_screens_snapshot_carries_the_time_it_opened() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let token = api.token().unwrap();
    let mut first = screen(&srv, &token).await;
    let HallMsg::Snapshot { hall, .. } = next(&mut first).await else {
        panic!("snapshot first")
    };
    assert_eq!(hall.at, t0());
    srv.clock.advance(chrono::Duration::minutes(10));
    let mut second = screen(&srv, &token).await;
    let HallMsg::Snapshot { hall, .. } = next(&mut second).await else {
        panic!("snapshot first")
    };
    assert_eq!(hall.at, t0() + chrono::Duration::minutes(10));
    srv.stop().await;
}

/// A screen that takes no data at all (a laptop asleep) is closed once a
/// send to it has waited the send timeout; the live one carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_that_takes_nothing_is_closed_after_the_send_timeout() {
    let srv = TestServer::start_with_screen_send_timeout(200).await;
    let api = srv.owner().await;
    let token = api.token().unwrap();
    let mut open = srv.feed.open_screens();

    let mut stalled = stalled_screen(&feed_url(&srv, &token)).await.unwrap();
    let mut live = screen(&srv, &token).await;
    let first = seq_of(&next(&mut live).await);
    tokio::time::timeout(WAIT, open.wait_for(|n| *n == 2))
        .await
        .expect("both screens open in time")
        .unwrap();

    // More than the kernel's socket buffers hold, so that a send to the
    // stalled screen waits; the live screen reads along.
    let mut expected = first + 1;
    let mut closed = false;
    for b in 0..100 {
        srv.service
            .bus
            .publish((0..40).map(|i| big_session_event(b * 40 + i)));
        for _ in 0..40 {
            assert_eq!(seq_of(&next(&mut live).await), expected);
            expected += 1;
        }
        if *open.borrow() == 1 {
            closed = true;
            break;
        }
    }
    if !closed {
        tokio::time::timeout(WAIT, open.wait_for(|n| *n == 1))
            .await
            .expect("the stalled screen closed in time")
            .unwrap();
    }
    // Its socket ends once what the kernel buffered is read.
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            match stalled.next().await {
                Some(Ok(_)) => continue,
                _ => return,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stalled screen's socket was closed");
    // The live one still follows.
    srv.service.bus.publish([big_session_event(-1)]);
    assert_eq!(seq_of(&next(&mut live).await), expected);
    srv.stop().await;
}

/// A big club's snapshot is larger than any one event: it must still reach
/// the screen whole (it was once cut off by the socket's write ceiling).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_halls_snapshot_reaches_the_screen() {
    const PCS: usize = 2000;
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let zone = api
        .ok(Method::POST, "/zones", json!({"name": "Big hall"}))
        .await["id"]
        .as_i64()
        .unwrap();
    // 16 at a time: one address gets 64 connections at most.
    let creates = futures_util::stream::iter(0..PCS).map(|i| {
        let api = api.clone();
        async move {
            api.ok(
                Method::POST,
                "/devices",
                json!({"name": format!("PC-{i}"), "zone_id": zone, "x": i % 50, "y": i / 50}),
            )
            .await
        }
    });
    let made: Vec<serde_json::Value> = creates.buffer_unordered(16).collect().await;
    assert_eq!(made.len(), PCS);
    let mut ws = screen(&srv, &api.token().unwrap()).await;
    let Some(Ok(Message::Text(t))) = tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("in time")
    else {
        panic!("a snapshot frame")
    };
    assert!(t.len() > 256 * 1024, "the snapshot is {} bytes", t.len());
    let HallMsg::Snapshot { hall, .. } = serde_json::from_str(&t).unwrap() else {
        panic!("snapshot first")
    };
    assert_eq!(hall.devices.len(), PCS);
}
