//! The database itself refuses to rewrite history: audit entries, ledger
//! entries and segments are append-only, and a closed segment is final.

use chrono::{Duration, TimeZone, Utc};
use club_server::clock::ManualClock;
use club_server::config::Config;
use club_server::requests::clients::NewClient;
use club_server::requests::hall::{NewDevice, NewZone};
use club_server::requests::money::TopUp;
use club_server::requests::sessions::NewSession;
use club_server::requests::tariffs::TariffInput;
use club_server::service::Actor;
use club_server::App;
use club_shared::{ExpirationPolicy, PaymentMethod, RefundPolicy};
use std::sync::Arc;

#[tokio::test]
async fn history_cannot_be_rewritten_even_with_raw_sql() {
    let dir = tempfile::tempdir().unwrap();
    let db = club_tests::new_database(dir.path()).await;
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap());
    let config = Config::for_database(db.clone());
    let app = App::open(&config, Arc::new(clock.clone())).await.unwrap();
    let s = &app.service;
    let sys = Actor::System;
    let zone = s
        .create_zone(
            &sys,
            NewZone {
                name: "Z".into(),
                club_id: None,
            },
        )
        .await
        .unwrap();
    let pc = s
        .create_device(
            &sys,
            NewDevice {
                name: "PC".into(),
                zone_id: zone.id,
                x: 0,
                y: 0,
            },
        )
        .await
        .unwrap();
    let tariff = s
        .save_tariff(
            &sys,
            None,
            TariffInput {
                name: "Hour".into(),
                duration_seconds: 3600,
                price: 100,
                refund_policy: RefundPolicy::KeepBalance,
                max_bonus_percent: None,
                validity_days: None,
                expiration_policy: ExpirationPolicy::Burn,
                window_start_minute: None,
                window_end_minute: None,
                zone_ids: vec![],
                active: true,
            },
        )
        .await
        .unwrap();
    let client = s
        .create_client(
            &sys,
            NewClient {
                name: "C".into(),
                phone: "+1 555 0100".into(),
                auto_renewal: false,
                pin: None,
            },
        )
        .await
        .unwrap();
    s.top_up(
        &sys,
        client.id,
        TopUp {
            amount: 500,
            method: PaymentMethod::Cash,
        },
    )
    .await
    .unwrap();
    let req = NewSession {
        client_id: client.id,
        device_id: pc.device.id,
        holding_id: None,
        tariff_id: Some(tariff.id),
        bonus_amount: 0,
        planned_start_at: None,
    };
    let session = s.create_session(&sys, req).await.unwrap();
    s.start_session(&sys, session.id, None, false)
        .await
        .unwrap();
    clock.advance(Duration::minutes(10));
    s.end_session(&sys, session.id, None).await.unwrap();
    app.service.store.close().await;

    let place = club_tests::Place { dir, database: db };
    for sql in [
        "UPDATE segments SET seconds_used = 0",
        "UPDATE segments SET ends_at = ends_at + 1",
        "DELETE FROM segments",
        "UPDATE ledger SET amount = amount + 1",
        "DELETE FROM ledger",
        "UPDATE audit SET reason = 'edited'",
        "DELETE FROM audit",
    ] {
        let err = place.try_sql(sql).await.expect_err(sql);
        assert!(err.contains("never"), "{sql}: {err}");
    }
    // PostgreSQL's TRUNCATE skips row triggers: a trigger of its own
    // refuses it (SQLite has no TRUNCATE).
    if club_tests::on_postgres() {
        for sql in [
            "TRUNCATE segments CASCADE",
            "TRUNCATE ledger",
            "TRUNCATE audit",
        ] {
            let err = place.try_sql(sql).await.expect_err(sql);
            assert!(err.contains("never"), "{sql}: {err}");
        }
    }
}
