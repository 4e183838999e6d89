//! Racing requests: whichever backend serves them (SQLite's single writer,
//! or PostgreSQL with several connections), exactly one of two operations
//! that exclude each other wins, and the loser changes nothing. (Racing
//! creates on one PC are in `occupancy`, racing moves in `corrections`.)

use super::*;

/// Sends `n` copies of `POST path body` at once; answers their statuses,
/// sorted.
async fn race(api: &Api, n: usize, path: &str, body: Value) -> Vec<u16> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (api, path, body) = (api.clone(), path.to_owned(), body.clone());
            tokio::spawn(async move { api.post(&path, body).await.0 })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("the request task"));
    }
    statuses.sort();
    statuses
}

/// The audit entries of `kinds` for session `id`.
async fn audited(api: &Api, id: i64, kinds: &[&str]) -> usize {
    let audit = api
        .ok(Method::GET, &format!("/audit?session_id={id}"), Value::Null)
        .await;
    audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| kinds.iter().any(|k| e["kind"] == *k))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_start_starts_once() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let id = new_session(&api, h.client, h.pcs[0], h.keep).await;
    let statuses = race(
        &api,
        6,
        &format!("/sessions/{id}/start"),
        json!({"force": true}),
    )
    .await;
    assert_eq!(statuses, [200, 409, 409, 409, 409, 409]);
    let s = api
        .ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
        .await;
    assert_eq!(s["status"], "STARTED");
    // Forced on a PC without an agent: audited as such, once.
    let starts = ["session.start", "session.start_offline"];
    assert_eq!(audited(&api, id, &starts).await, 1);
    books_balance(&srv).await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_end_ends_once_and_refunds_once() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let id = new_session(&api, h.client, h.pcs[0], h.keep).await;
    api.ok(
        Method::POST,
        &format!("/sessions/{id}/start"),
        json!({"force": true}),
    )
    .await;
    srv.clock.advance(Duration::minutes(30));
    let before = balance_and_ledger(&api, h.client).await;
    let statuses = race(&api, 6, &format!("/sessions/{id}/end"), json!({})).await;
    assert_eq!(statuses, [200, 409, 409, 409, 409, 409]);
    let after = balance_and_ledger(&api, h.client).await;
    // The unused time went back once: one more ledger entry at most.
    assert!(after.1 <= before.1 + 1, "{before:?} -> {after:?}");
    assert_eq!(audited(&api, id, &["session.end"]).await, 1);
    books_balance(&srv).await;
    srv.stop().await;
}
