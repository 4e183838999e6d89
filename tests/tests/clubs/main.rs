//! Clubs in a chain: staff of one club see and work on their club only, the
//! chain's staff on every club, clients and their money are the chain's,
//! and each club's hall screens get their club's feed. Through the REST API
//! and the hall feed of a real server (on PostgreSQL too, in that pass).

use club_tests::*;
use reqwest::Method;
use serde_json::{json, Value};

mod clock;
mod desk;
mod feed;
mod no_show;
mod staff;

/// Club 1's hall (as a single club has it), then a second club, North,
/// with a zone, a PC and a manager of its own (the Owner role, in North
/// only): (hall, North's id, North's PC, North's manager).
async fn two_clubs(srv: &TestServer, owner: &Api) -> (Hall, i64, i64, Api) {
    let h = hall(owner).await;
    let north = owner
        .ok(Method::POST, "/clubs", json!({"name": "North"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let zone = owner
        .ok(
            Method::POST,
            "/zones",
            json!({"name": "North hall", "club_id": north}),
        )
        .await;
    assert_eq!(zone["club_id"], north);
    let pc = owner
        .ok(
            Method::POST,
            "/devices",
            json!({"name": "N-1", "zone_id": zone["id"], "x": 0, "y": 0}),
        )
        .await;
    assert_eq!(pc["club_id"], north);
    let owner_role = owner.role_id("Owner").await;
    let nora = owner
        .ok(
            Method::POST,
            "/operators",
            json!({"login": "nora", "password": "password-123", "role_id": owner_role,
                "club_id": north}),
        )
        .await;
    assert_eq!(nora["club_id"], north);
    let nora = srv.login("nora", "password-123").await;
    (h, north, pc["id"].as_i64().unwrap(), nora)
}

fn ids(v: &Value, key: &str) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x[key].as_i64().unwrap())
        .collect()
}
