//! Stalled and late screens.

use super::*;

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
