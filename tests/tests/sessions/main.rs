//! The session state machine and the money rules, through the REST API of a
//! real server on a manual clock.

use chrono::Duration;
use club_shared::events::SessionChange;
use club_shared::Event;
use club_tests::*;
use reqwest::Method;
use serde_json::{json, Value};

mod lifecycle;
mod records;
mod refunds;
mod reports;
mod time_zone;

async fn create(api: &Api, client: i64, device: i64, tariff: i64) -> Value {
    api.ok(
        Method::POST,
        "/sessions",
        json!({"client_id": client, "device_id": device, "tariff_id": tariff}),
    )
    .await
}

async fn client(api: &Api, id: i64) -> Value {
    api.ok(Method::GET, &format!("/clients/{id}"), Value::Null)
        .await
}

fn holding<'a>(client: &'a Value, id: &Value) -> &'a Value {
    client["holdings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| &h["id"] == id)
        .expect("holding")
}
