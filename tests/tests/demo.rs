//! The README's run command: `club-server --demo` on a new database fills
//! the demo hall, prints the logins and the lock screens, and every demo PC
//! comes online with the agent's own code running in the server.

use club_shared::hall::HallMsg;
use club_tests::process::sign_in_owner;
use club_tests::*;
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::AsyncBufReadExt;

/// `club-server --demo` on `db` (the demo PCs' state in `dir`): the
/// process, and what it printed up to its last demo line.
async fn demo(db: &str, dir: &std::path::Path) -> (tokio::process::Child, Vec<String>) {
    let state = format!("--state-dir={}", dir.display());
    let mut child = club_tests::process::server_command(db, "", &["--demo", &state])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let said = tokio::time::timeout(WAIT * 2, async {
        let mut said = Vec::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            let done = line.starts_with("Clubhall is listening on");
            said.push(line);
            if done {
                break;
            }
        }
        said
    })
    .await
    .expect("the demo said it all in time");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, said)
}

fn base_of(said: &[String]) -> String {
    said.iter()
        .find_map(|l| l.split("listening on ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .expect("where it listens")
        .to_owned()
}

/// The lock screen lines: "  NAME  http://…/".
fn lock_screens(said: &[String]) -> Vec<&String> {
    said.iter()
        .filter(|l| l.starts_with("  ") && l.contains("http://127.0.0.1:"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_hall_comes_up_online_with_its_logins_and_lock_screens() {
    let dir = tempfile::tempdir().unwrap();
    let db = club_tests::new_database(dir.path()).await;
    let (mut child, said) = demo(&db, dir.path()).await;
    let text = said.join("\n");
    assert!(text.contains("Demo hall ready"), "{text}");
    assert!(text.contains("admin-demo-1"), "{text}");
    // One block after start-up: the agents' log lines come before it, and
    // nothing comes between its lines.
    let block = said
        .iter()
        .position(|l| l.starts_with("Demo hall ready"))
        .expect("the block");
    assert!(
        said[..block].iter().any(|l| l.contains("agent connected")),
        "the demo agents connected before the block: {text}"
    );
    assert!(
        said[block..]
            .iter()
            .all(|l| !l.contains(" INFO ") && !l.contains(" WARN ")),
        "no log line inside the block: {text}"
    );
    assert!(
        !text.contains("PC locked") && !text.contains("connected to the club server"),
        "the in-process agents log only their warnings: {text}"
    );
    let base = base_of(&said);
    let screens = lock_screens(&said);
    assert_eq!(screens.len(), 12, "{text}");

    // The demo logins work, and every PC comes online: each event on the
    // hall feed is a moment to look again.
    let (status, login) = Api::new(&base)
        .call(
            Method::POST,
            "/auth/login",
            Some(json!({"login": "admin", "password": "admin-demo-1"})),
        )
        .await;
    assert_eq!(status, 200, "{login}");
    let token = login["token"].as_str().unwrap().to_owned();
    let url = format!(
        "{}/api/v1/hall/ws?token={token}",
        base.replace("http://", "ws://")
    );
    let (mut feed, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let online = |hall: &Value| {
        hall["devices"].as_array().map_or(0, |d| {
            d.iter().filter(|d| d["online"] == json!(true)).count()
        })
    };
    let api = Api::new(&base).with_token(&token);
    tokio::time::timeout(WAIT * 2, async {
        loop {
            let hall = api.ok(Method::GET, "/hall", Value::Null).await;
            if online(&hall) == 12 {
                return;
            }
            let msg = feed.next().await.expect("the feed stays").unwrap();
            let _: HallMsg = serde_json::from_str(msg.to_text().unwrap()).unwrap();
        }
    })
    .await
    .expect("all 12 demo PCs online in time");

    // A lock screen answers with the agent's own status, which turns to
    // connected once the agent has the server's welcome (just after the
    // server counts it online): each answer after the first waits for the
    // next change.
    let mut words = screens[0].split_whitespace();
    let (name, addr) = (words.next().unwrap(), words.next().unwrap());
    let status = tokio::time::timeout(WAIT * 2, async {
        let mut url = format!("{addr}api/status");
        loop {
            let status: Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
            if status["connected"] == json!(true) {
                return status;
            }
            url = format!("{addr}api/status?after={}", status["version"]);
        }
    })
    .await
    .expect("the lock screen says connected in time");
    assert_eq!(status["device_name"], json!(name), "{status}");
    child.kill().await.unwrap();
}

/// Enrolls `device` as a real agent would: its new secret.
async fn enroll(api: &Api, device: &Value) -> String {
    let code = api
        .ok(
            Method::POST,
            &format!("/devices/{}/enrollment", device["id"]),
            Value::Null,
        )
        .await;
    api.ok(
        Method::POST,
        "/agent/enroll",
        json!({"code": code["enrollment_code"], "hostname": "a-real-pc"}),
    )
    .await["device_secret"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Whether the server takes `secret` for an agent's connection.
async fn key_works(base: &str, secret: &str) -> bool {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("{}/agent/v1/ws", base.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {secret}").parse().unwrap());
    tokio_tungstenite::connect_async(req).await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_on_a_database_in_use_adds_nothing_and_enrolls_no_pc_that_is_not_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let db = club_tests::new_database(dir.path()).await;
    let (mut first, said) = demo(&db, dir.path()).await;
    let base = base_of(&said);
    let owner = sign_in_owner(&base).await;
    // The club takes the demo's PC-01 for a real PC, and adds one of its own.
    let devices = owner.ok(Method::GET, "/devices", Value::Null).await;
    let pc01 = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "PC-01")
        .unwrap()
        .clone();
    let taken = enroll(&owner, &pc01).await;
    let zone = owner
        .ok(Method::POST, "/zones", json!({"name": "Upstairs"}))
        .await;
    let own = owner
        .ok(
            Method::POST,
            "/devices",
            json!({"name": "Real-01", "zone_id": zone["id"], "x": 9, "y": 9}),
        )
        .await;
    let own_key = enroll(&owner, &own).await;
    let counts = |api: Api| async move {
        let mut n = Vec::new();
        for path in ["/zones", "/devices", "/tariffs", "/clients"] {
            n.push(
                api.ok(Method::GET, path, Value::Null)
                    .await
                    .as_array()
                    .unwrap()
                    .len(),
            );
        }
        n
    };
    let before = counts(owner.clone()).await;
    first.kill().await.unwrap();
    first.wait().await.unwrap();

    // --demo again on that database.
    let (mut again, said) = demo(&db, dir.path()).await;
    let text = said.join("\n");
    assert!(
        !text.contains("Demo hall ready"),
        "nothing is added: {text}"
    );
    let screens = lock_screens(&said);
    assert_eq!(screens.len(), 11, "{text}");
    assert!(
        screens
            .iter()
            .all(|l| !l.contains("PC-01") && !l.contains("Real-01")),
        "{text}"
    );
    assert!(
        text.contains("Left alone, enrolled by an agent of their own or disabled: PC-01"),
        "{text}"
    );
    let base = base_of(&said);
    let owner = sign_in_owner(&base).await;
    assert_eq!(counts(owner.clone()).await, before, "nothing added");
    assert!(
        key_works(&base, &taken).await,
        "PC-01's real agent keeps its key"
    );
    assert!(key_works(&base, &own_key).await, "Real-01 keeps its key");
    again.kill().await.unwrap();
}
