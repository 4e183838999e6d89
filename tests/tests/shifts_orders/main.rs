//! Shifts with X and Z reports, and orders: refunds to the balance or paid
//! out, and extra charges; the books balance after each.

use chrono::Duration;
use club_tests::*;
use reqwest::Method;
use serde_json::{json, Value};

mod orders;
mod shifts;

async fn balance(api: &Api, client: i64) -> i64 {
    api.ok(Method::GET, &format!("/clients/{client}"), Value::Null)
        .await["balance"]
        .as_i64()
        .unwrap()
}

fn line<'a>(report: &'a Value, kind: &str, method: &str) -> &'a Value {
    report["payments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == kind && p["method"] == method)
        .unwrap_or_else(|| panic!("no {kind}/{method} in {report}"))
}
