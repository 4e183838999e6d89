//! An agent whose key the server no longer knows stops asking with it.

use super::*;
use club_agent::backoff::Backoff;
use std::time::Duration as StdDuration;

/// A server with one enrolled PC whose agent is connected and, were it to
/// retry, would within milliseconds.
async fn connected_agent() -> (TestServer, Api, TestAgent, tempfile::TempDir) {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (device_id, state_dir, disk) =
        club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    let agent = TestAgent::run(
        &srv.clock,
        device_id,
        state_dir,
        tempfile::tempdir().unwrap(),
        |o| o.backoff = Backoff::new(StdDuration::from_millis(5), StdDuration::from_millis(10)),
    )
    .await;
    agent.wait("connected", |s| s.connected).await;
    (srv, api, agent, disk)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_whose_key_was_revoked_says_so_and_stops_retrying() {
    let (srv, api, agent, _disk) = connected_agent().await;
    let device_id = agent.device_id;

    // The PC is enrolled again elsewhere: the old key is revoked and its
    // connection closed.
    let code = api
        .ok(
            Method::POST,
            &format!("/devices/{device_id}/enrollment"),
            Value::Null,
        )
        .await;
    srv.anonymous()
        .ok(
            Method::POST,
            "/agent/enroll",
            json!({"code": code["enrollment_code"], "hostname": "another-pc"}),
        )
        .await;
    let refused = agent
        .wait("refused", |s| !s.connected && s.refused.is_some())
        .await;
    assert_eq!(refused.refused.as_deref(), Some(club_agent::KEY_REVOKED));
    assert!(refused.locked, "the PC stays locked");
    // What must not happen has no event to wait on: watch a window in
    // which a retrying agent (5-10 ms apart) would try dozens of times.
    let attempts = agent.handle.connection_attempts();
    let retried = tokio::time::timeout(StdDuration::from_millis(300), async {
        while agent.handle.connection_attempts() == attempts {
            tokio::time::sleep(StdDuration::from_millis(5)).await;
        }
    })
    .await;
    assert!(retried.is_err(), "it tried again with the revoked key");
    // The lock screen's Start says why.
    let (status, body) = agent.press_start().await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["message"], club_agent::KEY_REVOKED);
    agent.stop().await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_pcs_agent_keeps_trying_and_is_let_in_once_enabled() {
    let (srv, api, agent, _disk) = connected_agent().await;
    let device_id = agent.device_id;
    let path = format!("/devices/{device_id}");
    api.ok(Method::PATCH, &path, json!({"enabled": false}))
        .await;
    agent.wait("disconnected", |s| !s.connected).await;
    // Each attempt meanwhile is answered 403, not "revoked": it keeps
    // trying, and is let in as soon as the PC is enabled again.
    api.ok(Method::PATCH, &path, json!({"enabled": true})).await;
    let back = agent.wait("let in again", |s| s.connected).await;
    assert_eq!(back.refused, None);
    agent.stop().await;
    srv.stop().await;
}
