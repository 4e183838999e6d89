//! Which server each PC is on, among several on one database: a PC's
//! metrics reach the other servers' halls; a server that loses its
//! listening connection resyncs and follows on; one taken for dead puts
//! itself and its PCs back on record.

use super::chain::{read_until, shows};
use super::require_postgres;
use club_shared::hall::{HallEventKind, HallMsg};
use club_shared::Event;
use club_tests::agents::TestAgent;
use club_tests::*;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pcs_heartbeat_metrics_reach_the_other_servers_hall() {
    use club_shared::protocol::AgentMsg;
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    require_postgres();
    let a = TestServer::start().await;
    let b = a.start_beside().await;
    let (api_a, api_b) = (a.owner().await, b.owner().await);
    let h = hall(&api_a).await;
    let (device, dir, _keep) = club_tests::agents::enrolled_pc(&a, &api_a, h.zone, "PC-A").await;
    let (_, secret) = dir.load_enrollment().unwrap();
    let mut screen_b = screen(&b, &api_b.token().unwrap()).await;
    // An agent on A, saying hello and then one heartbeat.
    let mut req = (a.base.replace("http://", "ws://") + "/agent/v1/ws")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {secret}").parse().unwrap());
    let (mut agent, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let send = |m: AgentMsg| Message::text(serde_json::to_string(&m).unwrap());
    agent
        .send(send(AgentMsg::Hello {
            protocol_version: 1,
            agent_version: "t".into(),
            last_applied_seq: 0,
            locked: true,
            hardware: club_shared::Metrics::default(),
            agent_started_at: None,
            build: None,
        }))
        .await
        .unwrap();
    read_until(&mut screen_b, "the PC on A online", WAIT, |e| {
        shows(e, device, true)
    })
    .await;
    agent
        .send(send(AgentMsg::Heartbeat {
            metrics: club_shared::Metrics {
                cpu_percent: 42.5,
                ..club_shared::Metrics::default()
            },
        }))
        .await
        .unwrap();
    // A shares its PCs' fresh metrics every few seconds.
    read_until(&mut screen_b, "the heartbeat's metrics", WAIT, |e| {
        e.kind == HallEventKind::Metrics
            && e.devices.iter().any(|d| {
                d.id == device && d.metrics.as_ref().is_some_and(|m| m.cpu_percent == 42.5)
            })
    })
    .await;
    drop(agent);
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_loses_its_listening_connection_resyncs_its_screens_and_follows_on() {
    require_postgres();
    let a = TestServer::start().await;
    let b = a.start_beside().await;
    let (api_a, api_b) = (a.owner().await, b.owner().await);
    let h = hall(&api_a).await;
    let on_a = TestAgent::start(&a, &api_a, h.zone, "On A").await;
    on_a.wait("connected", |s| s.connected).await;
    let mut screen_a = screen(&a, &api_a.token().unwrap()).await;
    assert!(matches!(
        next_hall_msg(&mut screen_a, WAIT).await,
        HallMsg::Snapshot { .. }
    ));
    // Both servers' listening connections are cut.
    a.sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .await;
    // A's screen starts afresh from a snapshot once A listens again: it
    // may have missed outcomes meanwhile.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        assert!(!left.is_zero(), "A's screen was never brought up to date");
        if let HallMsg::Snapshot { .. } = next_hall_msg(&mut screen_a, left).await {
            break;
        }
    }
    // And what B does reaches A's PC and A's screen.
    let session = new_session(&api_b, h.client, on_a.device_id, h.keep).await;
    on_a.wait("the session booked on B", |s| {
        s.session.as_ref().is_some_and(|x| x.id == session)
    })
    .await;
    read_until(&mut screen_a, "the session booked on B", WAIT, |e| {
        e.kind == HallEventKind::SessionCreated
            && e.session.as_ref().is_some_and(|s| s.id == session)
    })
    .await;
    on_a.stop().await;
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_taken_for_dead_puts_itself_and_its_pcs_back_on_record() {
    require_postgres();
    let a = TestServer::start().await;
    let b = a.start_beside().await;
    let api_a = a.owner().await;
    let h = hall(&api_a).await;
    let on_a = TestAgent::start(&a, &api_a, h.zone, "On A").await;
    on_a.wait("connected", |s| s.connected).await;
    let on_record = |instance: String| {
        let place = &a;
        let device = on_a.device_id;
        async move {
            place
                .try_sql(&format!(
                    "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM chain_presence \
                     WHERE device_id = {device} AND instance_id = '{instance}') \
                     THEN RAISE EXCEPTION 'not on record'; END IF; END $$"
                ))
                .await
                .is_ok()
        }
    };
    let instance = a.service.instance().to_owned();
    assert!(on_record(instance.clone()).await);
    // Another server took A for dead: A and its PC are off the record.
    let mut events = b.events();
    a.sql(&format!(
        "DELETE FROM chain_instances WHERE id = '{instance}'"
    ))
    .await;
    assert!(!on_record(instance.clone()).await);
    // A's next beat puts both back, and B hears of its PC.
    wait_for(&mut events, |e| match e {
        Event::DeviceChanged { device_id } if *device_id == on_a.device_id => Some(()),
        _ => None,
    })
    .await;
    assert!(on_record(instance).await);
    assert!(b.service.presence(on_a.device_id).online);
    on_a.stop().await;
    b.stop().await;
    a.stop().await;
}
