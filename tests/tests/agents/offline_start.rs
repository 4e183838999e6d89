//! A session may be booked on a PC whose agent is offline, but its time
//! starts only on a PC that can unlock, unless the desk forces it.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_pc_is_booked_but_started_only_by_force_which_is_audited() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    // Booking the offline PC is allowed.
    let id = new_session(&api, h.client, h.pcs[0], h.keep).await;
    let start = format!("/sessions/{id}/start");
    for body in [json!({}), Value::Null, json!({"force": false})] {
        let (st, answer) = api.post(&start, body).await;
        assert_eq!(st, 409, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("PC PC-0 is offline") && message.contains("\"force\": true"),
            "{message}"
        );
    }
    // Nor from the player's app.
    let token = srv
        .anonymous()
        .ok(
            Method::POST,
            "/player/login",
            json!({"phone": "+1 555 0100", "pin": "4321"}),
        )
        .await;
    let player = srv.anonymous().with_token(token["token"].as_str().unwrap());
    let (st, answer) = player
        .post(&format!("/player/sessions/{id}/start"), json!({}))
        .await;
    assert_eq!(st, 409, "{answer}");
    let s = api
        .ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
        .await;
    assert_eq!(s["status"], "ACTIVE", "the refusals changed nothing");
    assert_eq!(s["actual_start_at"], Value::Null);

    // Forced: started, and audited as such.
    let started = api.ok(Method::POST, &start, json!({"force": true})).await;
    assert_eq!(started["status"], "STARTED");
    let detail = api
        .ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
        .await;
    let forced = detail["audit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "session.start_offline")
        .expect("a forced start is audited");
    assert!(forced["reason"].as_str().unwrap().contains("offline"));
    assert_eq!(forced["device_id"], h.pcs[0]);
    // The hall shows what it is: a started session on a PC that is offline.
    let pc = api
        .ok(Method::GET, &format!("/devices/{}", h.pcs[0]), Value::Null)
        .await;
    assert_eq!(
        (&pc["online"], &pc["session"]["status"]),
        (&json!(false), &json!("STARTED"))
    );

    // A PC whose agent is connected starts without being forced.
    let (device_id, state_dir, _disk) =
        club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    let agent = TestAgent::run(
        &srv.clock,
        device_id,
        state_dir,
        tempfile::tempdir().unwrap(),
        |_| {},
    )
    .await;
    agent.wait("connected", |s| s.connected).await;
    let id = new_session(&api, h.client, device_id, h.keep).await;
    let started = api
        .ok(Method::POST, &format!("/sessions/{id}/start"), json!({}))
        .await;
    assert_eq!(started["status"], "STARTED");
    let detail = api
        .ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
        .await;
    assert!(detail["audit"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["kind"] == "session.start"));
    agent.stop().await;
    srv.stop().await;
}
