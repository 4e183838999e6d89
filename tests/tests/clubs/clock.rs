//! A club in another time zone than the chain's keeps its own clock.

use super::*;

#[tokio::test]
async fn a_club_in_another_time_zone_keeps_tariff_windows_and_days_on_its_own_clock() {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let h = hall(&owner).await;
    // The chain's clock is UTC; Tokyo's is 9 hours ahead.
    let tokyo = owner
        .ok(
            Method::POST,
            "/clubs",
            json!({"name": "Tokyo", "time_zone": "Asia/Tokyo"}),
        )
        .await;
    assert_eq!(tokyo["time_zone"], "Asia/Tokyo");
    let tokyo = tokyo["id"].as_i64().unwrap();
    let zone = owner
        .ok(
            Method::POST,
            "/zones",
            json!({"name": "Main", "club_id": tokyo}),
        )
        .await;
    let pc = owner
        .ok(
            Method::POST,
            "/devices",
            json!({"name": "PC-0", "zone_id": zone["id"], "x": 0, "y": 0}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let night = owner
        .ok(
            Method::POST,
            "/tariffs",
            json!({"name": "Night", "duration_seconds": 3600, "price": 100,
                "refund_policy": "burn", "window_start_minute": 1320, "window_end_minute": 480}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    // 14:00 UTC is afternoon on the chain's clock and 23:00 in Tokyo.
    let at = (t0() + chrono::Duration::hours(2)).to_rfc3339();
    let book = |device: i64| {
        json!({"client_id": h.client, "device_id": device, "tariff_id": night,
            "planned_start_at": at})
    };
    let (st, body) = owner.post("/sessions", book(h.pcs[0])).await;
    assert_eq!(st, 400, "club 1 is on the chain's clock: {body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("usable only"));
    let booked = owner.ok(Method::POST, "/sessions", book(pc)).await;
    assert_eq!(booked["status"], "PENDING");

    // Tokyo's days are Tokyo's: 14:00 UTC on June 1st is still June 1st
    // there (until 15:00 UTC).
    let on = |day: &str| format!("/sessions?club_id={tokyo}&day={day}");
    let first = owner.ok(Method::GET, &on("2026-06-01"), Value::Null).await;
    assert_eq!(ids(&first, "id"), vec![booked["id"].as_i64().unwrap()]);
    let second = owner.ok(Method::GET, &on("2026-06-02"), Value::Null).await;
    assert!(second.as_array().unwrap().is_empty(), "{second}");

    // Back on the chain's clock, the same booking would not be taken.
    let same = owner
        .ok(
            Method::PUT,
            &format!("/clubs/{tokyo}"),
            json!({"name": "Tokyo"}),
        )
        .await;
    assert_eq!(same["time_zone"], Value::Null);
    let (st, _) = owner.post("/sessions", book(pc)).await;
    assert_eq!(st, 400);
    let (st, body) = owner
        .post(
            "/clubs",
            json!({"name": "Mars", "time_zone": "Mars/Olympus"}),
        )
        .await;
    assert_eq!(st, 400, "{body}");
    srv.stop().await;
}
