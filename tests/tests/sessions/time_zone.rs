//! The club's time zone: tariff windows and club days follow its clock
//! across both daylight-saving changes, on the manual clock.

use super::*;
use chrono::{TimeZone, Utc};

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

#[tokio::test]
async fn a_night_package_follows_the_clubs_clock_across_both_changes() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let mut settings = api.ok(Method::GET, "/settings", Value::Null).await;
    assert_eq!(settings["time_zone"], "UTC", "the default");
    for bad in ["Mars/Olympus", "CET+1", "", "europe/berlin"] {
        settings["time_zone"] = json!(bad);
        let (st, body) = api
            .call(Method::PUT, "/settings", Some(settings.clone()))
            .await;
        assert_eq!(st, 400, "{bad}: {body}");
    }
    settings["time_zone"] = json!("Europe/Berlin");
    api.ok(Method::PUT, "/settings", settings).await;
    let night = api
        .ok(
            Method::POST,
            "/tariffs",
            json!({"name": "Night", "duration_seconds": 36_000, "price": 300,
                "refund_policy": "burn", "window_start_minute": 22 * 60, "window_end_minute": 8 * 60}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    api.ok(
        Method::POST,
        &format!("/clients/{}/top-ups", h.client),
        json!({"amount": 1000, "method": "cash"}),
    )
    .await;
    let night_from = |api: Api, device: i64| async move {
        let id = create(&api, h.client, device, night).await["id"]
            .as_i64()
            .unwrap();
        api.ok(
            Method::POST,
            &format!("/sessions/{id}/start"),
            json!({"force": true}),
        )
        .await
    };

    // 23:00 CET on 28 March; the clocks go 02:00 -> 03:00 in the night:
    // the package ends at 08:00 CEST = 06:00 UTC, after 8 hours (9 on the
    // wall clock).
    srv.clock.set(utc(2026, 3, 28, 22, 0));
    // Sign-ins are timed on this clock too: one for each jump.
    let api = srv.owner().await;
    let spring = night_from(api.clone(), h.pcs[0]).await;
    assert_eq!(spring["ends_at"], "2026-03-29T06:00:00Z");
    // Bookings at 00:30 CET on the 29th and 00:30 CEST on the 30th: the
    // 28th and 29th in UTC, the 29th and 30th on the club's clock.
    let book = |at: &str| {
        let api = api.clone();
        let body = json!({"client_id": h.client, "device_id": h.pcs[2],
            "tariff_id": h.keep, "planned_start_at": at});
        async move {
            api.ok(Method::POST, "/sessions", body).await["id"]
                .as_i64()
                .unwrap()
        }
    };
    let first_night = book("2026-03-28T23:30:00Z").await;
    let second_night = book("2026-03-29T22:30:00Z").await;
    // 08:30 CEST is past the window, though 07:30 at the winter offset.
    srv.clock.set(utc(2026, 3, 29, 6, 30));
    let api = srv.owner().await;
    let (st, body) = api
        .post(
            "/sessions",
            json!({"client_id": h.client, "device_id": h.pcs[1], "tariff_id": night}),
        )
        .await;
    assert_eq!(st, 400, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("22:00-08:00"));

    // 23:00 CEST on 24 October = 21:00 UTC; the clocks go 03:00 -> 02:00:
    // 08:00 CET = 07:00 UTC, after 10 hours.
    srv.clock.set(utc(2026, 10, 24, 21, 0));
    let api = srv.owner().await;
    let autumn = night_from(api.clone(), h.pcs[1]).await;
    assert_eq!(autumn["ends_at"], "2026-10-25T07:00:00Z");

    // Club days on the club's clock: the spring session (23:00 CET on the
    // 28th) is the 28th's, though 22:00 UTC is an hour from midnight in UTC.
    let day = |d: &str| {
        let api = api.clone();
        let path = format!("/sessions?day={d}");
        async move {
            let list = api.ok(Method::GET, &path, Value::Null).await;
            let mut ids: Vec<i64> = list
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_i64().unwrap())
                .collect();
            ids.sort();
            ids
        }
    };
    let spring_id = spring["id"].as_i64().unwrap();
    let autumn_id = autumn["id"].as_i64().unwrap();
    assert_eq!(
        day("2026-03-28").await,
        vec![spring_id],
        "23:00 on the 28th"
    );
    assert_eq!(
        day("2026-03-29").await,
        vec![first_night],
        "a day of 23 hours"
    );
    assert_eq!(day("2026-03-30").await, vec![second_night]);
    assert_eq!(
        day("2026-10-24").await,
        vec![autumn_id],
        "23:00 CEST on the 24th"
    );
    // With from or to: the part of the day they leave.
    let narrowed = api
        .ok(
            Method::GET,
            "/sessions?day=2026-03-29&from=2026-03-29T00:00:00Z",
            Value::Null,
        )
        .await;
    assert_eq!(narrowed.as_array().unwrap().len(), 0, "{narrowed}");
    srv.stop().await;
}

#[tokio::test]
async fn an_old_utc_offset_setting_becomes_the_time_zone_that_keeps_it() {
    let srv = TestServer::start().await;
    let stopped = srv.stop_for_a_while().await;
    stopped
        .place
        .sql(
            r#"INSERT INTO settings (key, value) VALUES ('club',
                '{"no_show_minutes": 15, "warn_before_end_seconds": 300, "utc_offset_minutes": 120}')
               ON CONFLICT (key) DO UPDATE SET value = excluded.value"#,
        )
        .await;
    let srv = stopped.start_again().await;
    let api = srv.owner().await;
    let settings = api.ok(Method::GET, "/settings", Value::Null).await;
    assert_eq!(settings["time_zone"], "Etc/GMT-2", "UTC+2 all year");
    assert_eq!(settings["no_show_minutes"], 15, "the rest kept");
    assert!(settings.get("utc_offset_minutes").is_none());
    let audit = api.ok(Method::GET, "/audit", Value::Null).await;
    assert!(audit
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "settings.upgraded"));
    srv.stop().await;
}
