//! Permissions, sign-in, bad input, occupancy and the player app, through
//! the REST API of a real server.

use chrono::Duration;
use club_tests::*;
use reqwest::Method;
use serde_json::{json, Value};

mod bad_input;
mod duplicates;
mod occupancy;
mod permissions;
mod phones;
mod races;

async fn balance_and_ledger(api: &Api, client: i64) -> (Value, usize) {
    let c = api
        .ok(Method::GET, &format!("/clients/{client}"), Value::Null)
        .await;
    let ledger = api
        .ok(
            Method::GET,
            &format!("/clients/{client}/ledger"),
            Value::Null,
        )
        .await;
    (
        json!([c["balance"], c["bonus_balance"], c["holdings"]]),
        ledger.as_array().unwrap().len(),
    )
}
