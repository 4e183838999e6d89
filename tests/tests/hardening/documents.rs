//! The API document, bodies and their limits, unhelloed sockets.

use super::*;
use crate::connections::{raw_from, read_to_close};

/// Every `$ref` in a JSON document, with where it stands.
fn refs(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if k == "$ref" {
                    if let Some(r) = v.as_str() {
                        out.push((at.to_owned(), r.to_owned()));
                    }
                } else {
                    refs(v, &format!("{at}/{k}"), out);
                }
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                refs(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_schema_the_api_document_names_is_in_it() {
    let srv = TestServer::start().await;
    let (_, doc) = srv.anonymous().get("/openapi.json").await;
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut found = Vec::new();
    refs(&doc, "", &mut found);
    assert!(!found.is_empty());
    let missing: Vec<_> = found
        .iter()
        .filter(|(_, r)| {
            let name = r.trim_start_matches("#/components/schemas/");
            !schemas.contains_key(name)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "schemas named but not in the document: {missing:?}"
    );
    // The sign-in routes say they can answer 429 and 503.
    let login = &doc["paths"]["/api/v1/auth/login"]["post"]["responses"];
    for status in ["200", "401", "429", "503"] {
        assert!(login.get(status).is_some(), "login: {status}");
    }
    srv.stop().await;
}

#[tokio::test]
async fn ones_own_password_and_role_change_only_where_the_current_password_is_asked() {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let me = owner.operator_id("owner").await;
    let cashier = owner.role_id("Cashier").await;
    for body in [
        json!({"password": "taken-over-1"}),
        json!({"role_id": cashier}),
        json!({"disabled": true}),
    ] {
        let (status, v) = owner
            .call(Method::PATCH, &format!("/operators/{me}"), Some(body))
            .await;
        assert_eq!(status, 400, "{v}");
    }
    // Nothing changed: the sign-in still works, with the Owner's rights.
    let (status, _) = owner.get("/roles").await;
    assert_eq!(status, 200);
    srv.login("owner", OWNER_PASSWORD).await;
    srv.stop().await;
}

#[tokio::test]
async fn a_body_is_one_json_object_and_a_whole_number_may_carry_a_point() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    // An array is not a zone, even if every field had a default.
    let (status, v) = api.post_raw("/zones", "[]").await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("object"));
    // JSON Schema counts 250.0 as an integer; 250.5 is not one.
    let top_up = format!("/clients/{}/top-ups", h.client);
    let (status, v) = api
        .post_raw(&top_up, r#"{"amount": 250.0, "method": "cash"}"#)
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = api
        .post_raw(&top_up, r#"{"amount": 250.5, "method": "cash"}"#)
        .await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("amount"),
        "{v}"
    );
    let client = api
        .ok(Method::GET, &format!("/clients/{}", h.client), Value::Null)
        .await;
    assert_eq!(client["balance"], 1000 + 250);
    // A cancel's reason may be left out, or be null.
    let id = new_session(&api, h.client, h.pcs[0], h.keep).await;
    let (status, v) = api
        .post_raw(&format!("/sessions/{id}/cancel"), "null")
        .await;
    assert_eq!((status, &v["status"]), (200, &json!("CANCELLED")), "{v}");
    books_balance(&srv).await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pcs_secret_holds_at_most_two_sockets_that_have_not_said_hello() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (_, state, _dir) = enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    let (_, secret) = state.load_enrollment().unwrap();
    let url = format!("{}/agent/v1/ws", srv.base.replace("http://", "ws://"));
    let upgrade = || {
        let mut req = url.as_str().into_client_request().unwrap();
        req.headers_mut()
            .insert("authorization", format!("Bearer {secret}").parse().unwrap());
        tokio_tungstenite::connect_async(req)
    };
    // Upgraded sockets leave the HTTP connection counts; before their hello
    // a PC may hold two (a reconnect racing the old one), not hundreds.
    let (first, _) = upgrade().await.expect("first upgrades");
    let (_second, _) = upgrade().await.expect("second upgrades");
    match upgrade().await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status(), 503)
        }
        other => panic!("a third upgraded: {:?}", other.map(|(_, r)| r.status())),
    }
    // One goes (the server has let it go once its side is closed): its
    // place comes back.
    let mut first = first;
    first.close(None).await.unwrap();
    tokio::time::timeout(WAIT, async { while first.next().await.is_some() {} })
        .await
        .expect("the server closed its side");
    let (_again, _) = upgrade().await.expect("a place came back");
    // Sockets that never said hello do not hold the server's shutdown up.
    let stopping = std::time::Instant::now();
    srv.stop().await;
    assert!(stopping.elapsed() < std::time::Duration::from_secs(4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_64_kib_is_refused_and_one_sent_too_slowly_is_cut_off() {
    use tokio::io::AsyncWriteExt;
    let srv = TestServer::start_with(|c| c.request_timeout_seconds = 1).await;
    let api = srv.owner().await;
    let big = format!(r#"{{"name": "{}"}}"#, "x".repeat(65 * 1024));
    let (status, v) = api.post_raw("/zones", &big).await;
    assert_eq!(status, 413, "{v}");
    assert_eq!(v["error"]["code"], "payload_too_large");
    // Nothing was made of it.
    let zones = api.ok(Method::GET, "/zones", Value::Null).await;
    assert_eq!(zones.as_array().unwrap().len(), 0);

    // A body promised whole and sent a byte at a time, then not at all:
    // answered 408 once the request deadline (1 s here) passes.
    let mut s = raw_from(&srv, "127.0.0.3").await;
    s.write_all(
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{",
    )
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let said = read_to_close(&mut s, WAIT).await;
    assert!(said.starts_with("HTTP/1.1 408"), "{said:?}");
    assert!(said.contains("request_timeout"), "{said:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    srv.stop().await;
}
