//! Agent updates from the server, with real builds of club-agent run as
//! processes: build A (this build, stripped of its debug info), build B (A
//! with bytes appended: another build that runs the same), and build C (A
//! with its WebSocket path changed: a build that runs but cannot connect).

use club_shared::protocol::{agent_platform, AgentMsg, ServerMsg};
use club_shared::Event;
use club_tests::agents::{enrolled_pc, workspace_bin};
use club_tests::*;
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use tokio::io::AsyncBufReadExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// Build A: this club-agent without its debug info (a release-sized
/// executable to upload).
fn build_a(dir: &Path) -> Vec<u8> {
    let out = dir.join("club-agent.a");
    let status = std::process::Command::new("strip")
        .arg("-o")
        .arg(&out)
        .arg(workspace_bin("club-agent"))
        .status()
        .expect("strip (binutils) runs");
    assert!(status.success());
    std::fs::read(out).unwrap()
}

/// Build B: A and a few bytes more. Runs exactly as A does.
fn build_b(a: &[u8]) -> Vec<u8> {
    [a, b"\0clubhall test build B\0"].concat()
}

/// Build C: A with its agent WebSocket path changed, same length: it runs
/// (answers --version) but the server has no such path.
fn build_c(a: &[u8]) -> Vec<u8> {
    let from = b"/agent/v1/ws";
    let at: Vec<usize> = memchr::memmem::find_iter(a, from).collect();
    assert_eq!(at.len(), 1, "the path is in the build once");
    let mut c = a.to_vec();
    c[at[0]..at[0] + from.len()].copy_from_slice(b"/agent/v1/wz");
    c
}

fn sha(bytes: &[u8]) -> String {
    club_shared::tls::sha256_hex(bytes)
}

async fn upload(srv: &TestServer, token: &str, version: &str, bytes: Vec<u8>) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/agent-builds?platform={}&version={version}",
            srv.base,
            agent_platform()
        ))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A club-agent process run from `bin`, its log lines in a channel.
struct AgentProcess {
    child: tokio::process::Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
}

impl AgentProcess {
    fn start(bin: &Path, state: &Path, probation_seconds: u64) -> AgentProcess {
        let mut child = tokio::process::Command::new(bin)
            .arg("run")
            .arg("--state-dir")
            .arg(state)
            .args(["--ui-listen", "127.0.0.1:0", "--lock-screen", "none"])
            .args(["--update-probation-seconds", &probation_seconds.to_string()])
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            // The same pipe stays with the process across its exec.
            let mut r = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = r.next_line().await {
                eprintln!("agent: {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        AgentProcess { child, lines }
    }

    /// Waits for a log line containing `text`.
    async fn said(&mut self, text: &str) -> String {
        tokio::time::timeout(WAIT * 3, async {
            loop {
                match self.lines.recv().await {
                    Some(l) if l.contains(text) => return l,
                    Some(_) => {}
                    None => panic!("the agent ended before saying {text:?}"),
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("the agent never said {text:?}"))
    }
}

/// Copies build A to `dir/bin/club-agent`.
fn install(dir: &Path, a: &[u8]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let exe = bin.join("club-agent");
    std::fs::write(&exe, a).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    exe
}

async fn audits(api: &Api, kind: &str) -> Vec<Value> {
    let all = api.ok(Method::GET, "/audit", Value::Null).await;
    all.as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == kind)
        .cloned()
        .collect()
}

/// An agent running build A, with B the club's build, downloads B with its
/// device secret, checks it, puts it in its own place and restarts as B;
/// B, welcomed, stays. The server audits the change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_updates_itself_to_the_clubs_build_and_stays_on_it() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let token = api.token().unwrap();
    let h = hall(&api).await;
    let (device_id, state_dir, dir) = enrolled_pc(&srv, &api, h.zone, "PC-U").await;
    let a = build_a(dir.path());
    let b = build_b(&a);

    // Uploads are checked: an executable for the platform, a version, a
    // known platform; nothing is kept otherwise.
    let (status, e) = upload(&srv, &token, "2.0.0", b"#!/bin/sh\necho hi\n".to_vec()).await;
    assert_eq!(status, 400, "{e}");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("executable"));
    let (status, _) = upload(&srv, &token, "two words", b.clone()).await;
    assert_eq!(status, 400);
    let res = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/agent-builds?platform=amiga-68k&version=1",
            srv.base
        ))
        .bearer_auth(&token)
        .body(b.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/agent-builds?platform={}&version=1",
            srv.base,
            agent_platform()
        ))
        // Small: the server answers before reading a body, and may close
        // the connection under a large one.
        .body(b"\x7fELF".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "no token, no upload");
    assert_eq!(
        api.ok(Method::GET, "/agent-builds", Value::Null).await,
        json!([])
    );

    let (status, kept) = upload(&srv, &token, "2.0.0-b", b.clone()).await;
    assert_eq!(status, 201, "{kept}");
    assert_eq!(kept["sha256"], json!(sha(&b)));
    assert_eq!(kept["size"], json!(b.len()));
    assert_eq!(kept["current"], json!(true));

    // Only an enrolled PC's agent downloads builds.
    let url = format!("{}/api/v1/agent/builds/{}", srv.base, sha(&b));
    let anonymous = reqwest::get(&url).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let staff = reqwest::Client::new()
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(staff.status(), 401, "a staff token is no device secret");

    let exe = install(dir.path(), &a);
    let mut agent = AgentProcess::start(&exe, &state_dir.dir, 30);
    agent.said("the new build is in place").await;
    agent.said("a new build on probation").await;
    agent.said("updated: the new build is welcomed").await;
    assert_eq!(
        sha(&std::fs::read(&exe).unwrap()),
        sha(&b),
        "B is in A's place"
    );
    let previous = dir.path().join("bin/club-agent.previous");
    assert_eq!(
        sha(&std::fs::read(previous).unwrap()),
        sha(&a),
        "A is kept beside"
    );
    assert!(!state_dir.dir.join("update.json").exists());

    // The server saw the change (it records the build before it welcomes).
    let updated = audits(&api, "agent.updated").await;
    assert_eq!(updated.len(), 1, "{updated:?}");
    assert_eq!(updated[0]["device_id"], json!(device_id));
    assert_eq!(updated[0]["before"]["sha256"], json!(sha(&a)));
    assert_eq!(updated[0]["after"]["sha256"], json!(sha(&b)));
    assert_eq!(updated[0]["after"]["version"], json!("2.0.0-b"));
    assert_eq!(audits(&api, "agent_build.uploaded").await.len(), 1);

    // Uploading A makes A the club's build again: the agent goes back.
    let (status, again) = upload(&srv, &token, "1.0.0-a", a.clone()).await;
    assert_eq!(status, 201, "{again}");
    let (status, b_again) = upload(&srv, &token, "ignored", b.clone()).await;
    assert_eq!(
        (status, &b_again["current"]),
        (200, &json!(true)),
        "B again"
    );
    let list = api.ok(Method::GET, "/agent-builds", Value::Null).await;
    let current: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["current"] == json!(true))
        .collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["sha256"], json!(sha(&b)));
    agent.child.kill().await.unwrap();
    srv.stop().await;
}

/// Build C runs but cannot connect: after its probation it puts A back and
/// restarts as A, which does not try C again and tells the hall why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_that_cannot_connect_is_rolled_back() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let token = api.token().unwrap();
    let h = hall(&api).await;
    let (device_id, state_dir, dir) = enrolled_pc(&srv, &api, h.zone, "PC-R").await;
    let a = build_a(dir.path());
    let c = build_c(&a);
    let (status, _) = upload(&srv, &token, "3.0.0-c", c.clone()).await;
    assert_eq!(status, 201);

    let exe = install(dir.path(), &a);
    let mut events = srv.events();
    let mut agent = AgentProcess::start(&exe, &state_dir.dir, 3);
    agent.said("the new build is in place").await;
    agent.said("a new build on probation").await;
    agent
        .said("the new build could not connect; putting the previous one back")
        .await;
    // A again, in its place, connected, and not taking C again.
    let back = agent.said("connected to the club server").await;
    assert!(!back.is_empty());
    assert_eq!(sha(&std::fs::read(&exe).unwrap()), sha(&a), "A is back");
    let failed = dir.path().join("bin/club-agent.failed");
    assert_eq!(sha(&std::fs::read(failed).unwrap()), sha(&c));
    let marker: Value =
        serde_json::from_slice(&std::fs::read(state_dir.dir.join("update.json")).unwrap()).unwrap();
    assert_eq!(marker["failed"], json!(true));
    assert_eq!(marker["to_sha256"], json!(sha(&c)));

    // The hall shows why.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let v = api
            .ok(Method::GET, &format!("/devices/{device_id}"), Value::Null)
            .await;
        let problems = v["metrics"]["problems"].to_string();
        if problems.contains("the update to 3.0.0-c could not connect") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never shown: {v}");
        wait_for(&mut events, |e| {
            matches!(e, Event::DeviceMetrics { device_id: d } if *d == device_id).then_some(())
        })
        .await;
    }
    assert!(
        audits(&api, "agent.updated").await.is_empty(),
        "C never said hello"
    );
    agent.child.kill().await.unwrap();
    srv.stop().await;
}

/// An agent whose protocol is too old is refused, and the refusal names
/// the club's build for its platform: the way out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_for_an_old_protocol_offers_the_clubs_build() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let token = api.token().unwrap();
    let h = hall(&api).await;
    let (_, state_dir, dir) = enrolled_pc(&srv, &api, h.zone, "PC-O").await;
    let b = build_b(&build_a(dir.path()));
    let (status, _) = upload(&srv, &token, "2.0.0-b", b.clone()).await;
    assert_eq!(status, 201);
    let (_, secret) = state_dir.load_enrollment().unwrap();
    let url = srv.base.replace("http://", "ws://") + "/agent/v1/ws";
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {secret}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let hello = AgentMsg::Hello {
        protocol_version: 0,
        agent_version: "0.0.1".into(),
        last_applied_seq: 0,
        locked: true,
        hardware: Default::default(),
        agent_started_at: None,
        build: Some(club_shared::protocol::AgentBuild {
            platform: agent_platform(),
            sha256: "0".repeat(64),
        }),
    };
    ws.send(Message::text(serde_json::to_string(&hello).unwrap()))
        .await
        .unwrap();
    let reply = tokio::time::timeout(WAIT, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let msg: ServerMsg = serde_json::from_str(reply.to_text().unwrap()).unwrap();
    let ServerMsg::Refused { retry, update, .. } = msg else {
        panic!("expected a refusal, got {msg:?}");
    };
    assert!(!retry);
    let offer = update.expect("the club's build is offered");
    assert_eq!(offer.sha256, sha(&b));
    assert_eq!(offer.size, b.len() as u64);
    assert_eq!(offer.version, "2.0.0-b");

    // With the device secret, that build downloads, byte for byte.
    let got = reqwest::Client::new()
        .get(format!("{}/api/v1/agent/builds/{}", srv.base, offer.sha256))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().as_ref(), b.as_slice());
    srv.stop().await;
}
