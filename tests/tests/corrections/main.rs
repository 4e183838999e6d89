//! Live session corrections end to end: add tariff, auto-renewal with
//! warnings, moves with two real agents, price corrections.

use chrono::Duration;
use club_shared::events::SessionChange;
use club_shared::{Event, SessionStatus};
use club_tests::agents::TestAgent;
use club_tests::*;
use reqwest::Method;
use serde_json::{json, Value};

mod extend;
mod moves;
mod prices;
mod tariffs;

async fn session(api: &Api, id: i64) -> Value {
    api.ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
        .await
}

async fn started_on(api: &Api, client: i64, device: i64, tariff: i64) -> i64 {
    let id = api
        .ok(
            Method::POST,
            "/sessions",
            json!({"client_id": client, "device_id": device, "tariff_id": tariff}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    api.ok(
        Method::POST,
        &format!("/sessions/{id}/start"),
        json!({"force": true}),
    )
    .await;
    id
}
