//! A PC going silent during a started session: an alarm on record.

use super::*;

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
