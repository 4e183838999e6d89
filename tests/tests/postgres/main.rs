//! What only PostgreSQL has: several servers on one database, a database
//! server that drops their connections, and a schema kept a second time.
//! The test command runs this binary in its PostgreSQL pass only (with
//! `CLUBHALL_TEST_POSTGRES`); without that, each test fails saying so.

use club_tests::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

mod chain;
mod presence;

fn require_postgres() {
    assert!(
        on_postgres(),
        "these tests need {POSTGRES_ENV} (scripts/test.sh sets it in its PostgreSQL pass)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_let_exactly_one_racing_session_onto_a_pc() {
    require_postgres();
    let a = TestServer::start().await;
    let b = a.start_beside().await;
    let (api_a, api_b) = (a.owner().await, b.owner().await);
    let h = hall(&api_a).await;
    let mut clients = Vec::new();
    for i in 0..6 {
        let api = if i % 2 == 0 { &api_a } else { &api_b };
        clients.push(
            new_client(
                api,
                &format!("Racer {i}"),
                &format!("+1 555 08{i:02}"),
                1000,
            )
            .await,
        );
    }
    // Half the requests to each server, all for one PC, at once.
    let tasks: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let api = if i % 2 == 0 {
                api_a.clone()
            } else {
                api_b.clone()
            };
            let body = json!({"client_id": c, "device_id": h.pcs[1], "tariff_id": h.keep});
            tokio::spawn(async move { api.post("/sessions", body).await })
        })
        .collect();
    let mut won = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            201 => won.push(body["id"].as_i64().unwrap()),
            409 => {}
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one session on the PC");
    // Each server sees what the other wrote.
    for api in [&api_a, &api_b] {
        let s = api
            .ok(Method::GET, &format!("/sessions/{}", won[0]), Value::Null)
            .await;
        assert_eq!(s["device_id"], h.pcs[1]);
    }
    books_balance(&a).await;
    books_balance(&b).await;
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_the_database_server_drops_cost_a_request_at_most() {
    require_postgres();
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    // Every connection the server holds to its database is cut.
    srv.sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .await;
    // Each request either goes through or is told the storage failed
    // (503), and fresh connections take over: a few tries at most.
    let mut answers = Vec::new();
    for _ in 0..4 {
        let (status, body) = api
            .post(
                "/sessions",
                json!({"client_id": h.client, "device_id": h.pcs[0], "tariff_id": h.keep}),
            )
            .await;
        answers.push(status);
        if status == 201 {
            break;
        }
        assert_eq!(status, 503, "{body}");
    }
    assert_eq!(answers.last(), Some(&201), "{answers:?}");
    let (status, _) = api.get("/hall").await;
    assert_eq!(status, 200);
    books_balance(&srv).await;
    srv.stop().await;
}

/// The schema as (table, column) pairs and the named indexes. The
/// `chain_*` tables are PostgreSQL's own: several servers share it.
type Schema = (BTreeSet<(String, String)>, BTreeSet<String>);

fn sqlite_schema(path: &std::path::Path) -> Schema {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut columns = BTreeSet::new();
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for t in tables {
        let names: Vec<String> = c
            .prepare(&format!("SELECT name FROM pragma_table_info('{t}')"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        columns.extend(names.into_iter().map(|n| (t.clone(), n)));
    }
    let indexes = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    (columns, indexes)
}

async fn postgres_schema(url: &str) -> Schema {
    let client = pg_connect(url).await.unwrap();
    let columns = client
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name NOT LIKE 'chain\\_%'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    // Indexes made by CREATE INDEX, not those behind a key or UNIQUE.
    let indexes = client
        .query(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public' \
             AND tablename NOT LIKE 'chain\\_%' \
             AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    (columns, indexes)
}

#[tokio::test]
async fn the_postgres_schema_has_every_table_column_and_index_of_sqlites() {
    require_postgres();
    let srv = TestServer::start().await;
    let postgres = postgres_schema(&srv.config.database).await;
    srv.stop().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("club.db");
    let app = club_server::App::open(
        &club_server::config::Config::for_database(file.to_string_lossy().to_string()),
        std::sync::Arc::new(club_server::clock::ManualClock::new(t0())),
    )
    .await
    .unwrap();
    app.service.store.close().await;
    let sqlite = sqlite_schema(&file);
    assert_eq!(postgres.0, sqlite.0, "tables and columns");
    assert_eq!(postgres.1, sqlite.1, "indexes");
}
