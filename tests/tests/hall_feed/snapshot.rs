//! A screen's snapshot and numbered events, its token, metrics.

use super::*;

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
