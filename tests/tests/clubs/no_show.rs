//! A club may keep its own no-show rule (DESIGN: an optional, per club
//! setting); the others follow the chain's.

use super::*;
use club_shared::events::SessionChange;
use club_shared::Event;

/// Books `device` for the client of `for_`, planned `minutes` from now:
/// the session's id.
async fn book(srv: &TestServer, api: &Api, for_: (i64, i64), device: i64, minutes: i64) -> i64 {
    let (client, tariff) = for_;
    let planned = srv.service.now() + chrono::Duration::minutes(minutes);
    api.ok(
        Method::POST,
        "/sessions",
        json!({"client_id": client, "device_id": device, "tariff_id": tariff,
            "planned_start_at": planned}),
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

/// The next session the system cancels.
async fn next_cancelled(events: &mut tokio::sync::broadcast::Receiver<Event>) -> i64 {
    wait_for(events, |e| match e {
        Event::Session {
            change: SessionChange::Cancelled,
            session,
            ..
        } => Some(session.id),
        _ => None,
    })
    .await
}

async fn status(api: &Api, id: i64) -> Value {
    api.ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
        .await["status"]
        .clone()
}

#[tokio::test]
async fn each_club_releases_its_no_shows_by_its_own_rule_or_the_chains() {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let (h, north, north_pc, _) = two_clubs(&srv, &owner).await;
    let north_url = format!("/clubs/{north}");
    // Eight bookings of 2.00 each, none of them started.
    let buyer = (
        new_client(&owner, "Lee", "+1 555 0199", 20_00).await,
        h.keep,
    );
    let mut events = srv.events();

    // Out of range is refused and changes nothing: no club is made, and
    // North keeps the chain's rule.
    for bad in [json!(-1), json!(1441), json!("ten")] {
        let (st, body) = owner
            .call(
                Method::PUT,
                &north_url,
                Some(json!({"name": "North", "no_show_minutes": bad})),
            )
            .await;
        assert_eq!(st, 400, "{bad}: {body}");
        let (st, body) = owner
            .post("/clubs", json!({"name": "South", "no_show_minutes": bad}))
            .await;
        assert_eq!(st, 400, "{bad}: {body}");
    }
    let clubs = owner.ok(Method::GET, "/clubs", Value::Null).await;
    assert_eq!(clubs.as_array().unwrap().len(), 2, "{clubs}");
    assert_eq!(clubs[1]["no_show_minutes"], Value::Null, "{clubs}");

    // The chain's rule is off; North keeps its own, 10 minutes.
    let club = owner
        .ok(
            Method::PUT,
            &north_url,
            json!({"name": "North", "no_show_minutes": 10}),
        )
        .await;
    assert_eq!(club["no_show_minutes"], 10);
    let here = book(&srv, &owner, buyer, h.pcs[0], 5).await;
    let there = book(&srv, &owner, buyer, north_pc, 5).await;

    // Sixteen minutes on, North's client is a no-show; club 1's is not.
    // One pass releases the no-shows of every club in the order they were
    // booked, club 1's first: the first cancellation being North's means
    // club 1's was not due.
    srv.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(next_cancelled(&mut events).await, there);
    assert_eq!(status(&owner, here).await, "ACTIVE");
    let detail = owner
        .ok(Method::GET, &format!("/sessions/{there}"), Value::Null)
        .await;
    let reason = detail["audit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "session.cancel")
        .map(|a| a["reason"].clone());
    assert_eq!(
        reason,
        Some(json!(
            "no-show: not started 10 minutes after the planned start"
        )),
        "{detail}"
    );

    // The chain turns its rule on, 15 minutes: club 1 follows it, and its
    // booking is released 15 minutes after its planned start.
    owner
        .ok(Method::PUT, "/settings", json!({"no_show_minutes": 15}))
        .await;
    srv.clock.advance(chrono::Duration::minutes(4));
    assert_eq!(next_cancelled(&mut events).await, here);

    // North turns it off for itself (0), whatever the chain's: of two
    // bookings planned alike, club 1's is released and North's stays.
    // North's is booked first, so in one pass it would go first.
    owner
        .ok(
            Method::PUT,
            &north_url,
            json!({"name": "North", "no_show_minutes": 0}),
        )
        .await;
    let there = book(&srv, &owner, buyer, north_pc, 1).await;
    let here = book(&srv, &owner, buyer, h.pcs[1], 1).await;
    srv.clock.advance(chrono::Duration::minutes(20));
    assert_eq!(next_cancelled(&mut events).await, here);
    assert_eq!(status(&owner, there).await, "ACTIVE");

    // Left out, the rule is the chain's again.
    let club = owner
        .ok(Method::PUT, &north_url, json!({"name": "North"}))
        .await;
    assert_eq!(club["no_show_minutes"], Value::Null);
    assert_eq!(next_cancelled(&mut events).await, there);

    // A club's own rule wins over the chain's: North waits 30 minutes
    // where the chain waits 15. North's booking goes first again.
    owner
        .ok(
            Method::PUT,
            &north_url,
            json!({"name": "North", "no_show_minutes": 30}),
        )
        .await;
    let there = book(&srv, &owner, buyer, north_pc, 1).await;
    let here = book(&srv, &owner, buyer, h.pcs[1], 1).await;
    srv.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(next_cancelled(&mut events).await, here);
    assert_eq!(status(&owner, there).await, "ACTIVE");
    srv.clock.advance(chrono::Duration::minutes(15));
    assert_eq!(next_cancelled(&mut events).await, there);
    srv.stop().await;
}
