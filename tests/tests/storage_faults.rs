//! Storage faults: a full disk, a database the server may not write, a
//! scheduler pass that meets a failing session. Each answers clearly,
//! changes nothing half-way, and recovers by itself.

use chrono::Duration;
use club_shared::events::SessionChange;
use club_shared::Event;
use club_tests::process::{
    database_in, finished, is_root, server_command, sign_in_owner, ServerProcess,
    PROCESS_OWNER_PASSWORD,
};
use club_tests::*;
use reqwest::Method;
use serde_json::{json, Value};

/// Sets the server process's file-size limit (bytes): past it, a write
/// fails as on a full disk (EFBIG; the server's shell ignores SIGXFSZ).
async fn limit_file_size(pid: u32, limit: &str) {
    let (status, err) = finished({
        let mut c = tokio::process::Command::new("prlimit");
        c.args(["--pid", &pid.to_string(), &format!("--fsize={limit}:")]);
        c
    })
    .await;
    assert!(status.success(), "prlimit: {err}");
}

fn size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

async fn balance(api: &Api, client: i64) -> i64 {
    api.ok(Method::GET, &format!("/clients/{client}"), Value::Null)
        .await["balance"]
        .as_i64()
        .unwrap()
}

async fn ledger_sum(api: &Api, client: i64) -> i64 {
    api.ok(
        Method::GET,
        &format!("/clients/{client}/ledger"),
        Value::Null,
    )
    .await
    .as_array()
    .unwrap()
    .iter()
    .filter(|e| e["account"] == "money")
    .map(|e| e["amount"].as_i64().unwrap())
    .sum()
}

#[tokio::test]
async fn a_full_disk_answers_storage_unavailable_changes_nothing_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_in(dir.path());
    let srv = ServerProcess::start(server_command(&db, "trap '' XFSZ", &[])).await;
    let api = sign_in_owner(&srv.base).await;
    let client = new_client(&api, "Dana", "+1 555 0100", 0).await;
    open_shift(&api).await;

    // The disk fills: no file of the database may grow past its size now.
    let wal = db.with_extension("db-wal");
    let room = size(&db).max(size(&wal)) + 16 * 1024;
    limit_file_size(srv.pid(), &room.to_string()).await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/clients/{client}/top-ups", srv.base);
    let mut accepted = 0;
    let refusal = loop {
        assert!(accepted < 5_000, "the limit never bit");
        let res = http
            .post(&url)
            .bearer_auth(api.token().unwrap())
            .json(&json!({"amount": 1_00, "method": "cash"}))
            .send()
            .await
            .unwrap();
        match res.status().as_u16() {
            200 => accepted += 1,
            status => {
                break (
                    status,
                    res.headers().clone(),
                    res.json::<Value>().await.unwrap(),
                )
            }
        }
    };
    let (status, headers, body) = refusal;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "storage_unavailable", "{body}");
    assert!(headers.contains_key("retry-after"));
    // Nothing half-done: the balance is what was acknowledged, and its ledger.
    assert_eq!(balance(&api, client).await, accepted * 1_00);
    assert_eq!(ledger_sum(&api, client).await, accepted * 1_00);
    // A sign-in writes too (its token): with no room left at all (a small
    // write could fit where the failed one was), the same clear answer.
    limit_file_size(srv.pid(), "0").await;
    let (status, body) = Api::new(&srv.base)
        .post(
            "/auth/login",
            json!({"login": "owner", "password": PROCESS_OWNER_PASSWORD}),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (503, &json!("storage_unavailable")),
        "{body}"
    );

    // Space returns: the next operation goes through, with no restart.
    limit_file_size(srv.pid(), "unlimited").await;
    api.ok(
        Method::POST,
        &format!("/clients/{client}/top-ups"),
        json!({"amount": 1_00, "method": "cash"}),
    )
    .await;
    let expected = (accepted + 1) * 1_00;
    assert_eq!(balance(&api, client).await, expected);
    srv.stop().await;

    // What was acknowledged is on disk, and the file is sound.
    let c = rusqlite::Connection::open(&db).unwrap();
    let check: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let stored: i64 = c
        .query_row("SELECT balance FROM clients WHERE id = ?", [client], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(stored, expected);
}

#[tokio::test]
async fn a_database_the_server_may_not_write_stops_it_at_start_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_in(dir.path());
    // A database made by a first start.
    ServerProcess::start(server_command(&db, "", &[]))
        .await
        .stop()
        .await;
    // Now readable only: for root (who may write anything) the server runs
    // as another account, as a service with the wrong owner would.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    for f in std::fs::read_dir(dir.path()).unwrap() {
        let f = f.unwrap().path();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o444)).unwrap();
    }
    let prelude = if is_root() {
        "exec setpriv --reuid=nobody --regid=nogroup --clear-groups -- \"$@\""
    } else {
        ""
    };
    let (status, stderr) = finished(server_command(&db, prelude, &[])).await;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(!status.success(), "the server refused to start");
    assert!(
        stderr.contains("the database cannot be written") && stderr.contains("owns the file"),
        "stderr: {stderr}"
    );
}

#[tokio::test]
async fn the_scheduler_goes_on_past_a_failing_session_and_comes_back_for_it() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let mut events = srv.events();
    let mut ids = Vec::new();
    for pc in &h.pcs[..2] {
        let id = new_session(&api, h.client, *pc, h.keep).await;
        api.ok(
            Method::POST,
            &format!("/sessions/{id}/start"),
            json!({"force": true}),
        )
        .await;
        ids.push(id);
    }
    // The first session to end cannot be written: the storage refuses it.
    let fault = if on_postgres() {
        "CREATE TRIGGER fault BEFORE UPDATE OF status ON sessions FOR EACH ROW \
         WHEN (OLD.id = {id} AND NEW.status = 'ENDED') \
         EXECUTE FUNCTION clubhall_refuse('injected fault')"
    } else {
        "CREATE TRIGGER fault BEFORE UPDATE OF status ON sessions \
         WHEN OLD.id = {id} AND NEW.status = 'ENDED' \
         BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
    };
    srv.sql(&fault.replace("{id}", &ids[0].to_string())).await;

    let ended = |e: &Event| match e {
        Event::Session {
            change: SessionChange::Ended,
            session,
            ..
        } => Some(session.id),
        _ => None,
    };
    srv.clock.advance(Duration::seconds(TWO_HOURS));
    // The pass went on to the other session.
    assert_eq!(wait_for(&mut events, ended).await, ids[1]);
    let status = |id: i64| {
        let api = api.clone();
        async move {
            api.ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
                .await["status"]
                .clone()
        }
    };
    assert_eq!(status(ids[0]).await, "STARTED");

    // The fault clears; nothing else happens in the club. The scheduler
    // comes back by itself for the session past its end.
    srv.sql(if on_postgres() {
        "DROP TRIGGER fault ON sessions"
    } else {
        "DROP TRIGGER fault"
    })
    .await;
    // However many passes met the fault meanwhile (each doubles the wait),
    // it is back within the longest wait.
    srv.clock
        .advance(Duration::from_std(club_server::scheduler::RETRY_MAX).unwrap());
    assert_eq!(wait_for(&mut events, ended).await, ids[0]);
    assert_eq!(status(ids[0]).await, "ENDED");
    books_balance(&srv).await;
    srv.stop().await;
}
