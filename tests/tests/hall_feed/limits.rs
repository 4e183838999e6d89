//! Screens that take nothing, and big halls.

use super::*;

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
