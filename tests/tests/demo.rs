//! The README's run command: `club-server --demo` on a new database fills
//! the demo hall, prints the logins and the lock screens, and every demo PC
//! comes online with the agent's own code running in the server.

use club_shared::hall::HallMsg;
use club_tests::*;
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::AsyncBufReadExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_hall_comes_up_online_with_its_logins_and_lock_screens() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("club.db");
    let mut child = club_tests::process::server_command(&db, "", &["--demo"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    // Everything up to the last lock screen line.
    let said = tokio::time::timeout(WAIT * 2, async {
        let mut said = Vec::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            let done = line.trim_start().starts_with("VIP-04");
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
    let text = said.join("\n");
    assert!(text.contains("Demo hall ready"), "{text}");
    assert!(text.contains("admin-demo-1"), "{text}");
    let base = said
        .iter()
        .find_map(|l| l.split("listening on ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .expect("where it listens")
        .to_owned();
    let screens: Vec<&String> = said
        .iter()
        .filter(|l| l.starts_with("  ") && l.contains("http://127.0.0.1:"))
        .collect();
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
