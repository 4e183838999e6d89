//! HTTPS and WSS: the server serves the club's certificate or one it made
//! and kept, enrollment answers carry its fingerprint, a PC pins it (and
//! refuses any other), agents and the operator page work over TLS.

use club_server::config::Config;
use club_tests::agents::{enrolled_pc, TestAgent};
use club_tests::browser::Browser;
use club_tests::*;
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};

async fn tls_server() -> TestServer {
    TestServer::start_with(|c| c.tls_self_signed = true).await
}

async fn zone(api: &Api) -> i64 {
    api.ok(Method::POST, "/zones", json!({"name": "Main"}))
        .await["id"]
        .as_i64()
        .unwrap()
}

async fn new_pc(api: &Api, zone: i64, name: &str) -> Value {
    api.ok(
        Method::POST,
        "/devices",
        json!({"name": name, "zone_id": zone, "x": 0, "y": 0}),
    )
    .await
}

/// The fingerprint of the first certificate in a PEM file.
fn pem_sha256(path: &std::path::Path) -> String {
    use rustls::pki_types::pem::PemObject;
    let der = rustls::pki_types::CertificateDer::from_pem_file(path).unwrap();
    club_shared::tls::cert_sha256(&der)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pc_pins_the_servers_certificate_at_enrollment_and_its_agent_connects_over_wss() {
    let srv = tls_server().await;
    assert!(srv.base.starts_with("https://"), "{}", srv.base);
    let sha = srv.cert_sha256.clone().unwrap();
    // The fingerprint is the certificate's, as kept beside the database
    // (or, on PostgreSQL, in the state directory).
    let (cert, key) = club_server::tls::self_signed_paths(&srv.config.files_base().unwrap());
    assert_eq!(pem_sha256(&cert), sha);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the key is the server account's alone");

    let api = srv.owner().await;
    let z = zone(&api).await;
    // Both answers that carry an enrollment code carry the fingerprint.
    let dev = new_pc(&api, z, "PC-0").await;
    assert_eq!(dev["server_cert_sha256"], json!(sha));
    let fresh = api
        .ok(
            Method::POST,
            &format!("/devices/{}/enrollment", dev["id"]),
            json!({}),
        )
        .await;
    assert_eq!(fresh["server_cert_sha256"], json!(sha));

    // A PC enrolls over HTTPS with it, keeps it, and runs over WSS.
    let agent = TestAgent::start(&srv, &api, z, "PC-1").await;
    let (enrollment, _) = agent.state_dir.load_enrollment().unwrap();
    assert_eq!(enrollment.server_cert_sha256.as_deref(), Some(sha.as_str()));
    assert!(enrollment.server.starts_with("https://"));
    agent.wait("connected over wss", |s| s.connected).await;
    let tile = api
        .ok(
            Method::GET,
            &format!("/devices/{}", agent.device_id),
            Value::Null,
        )
        .await;
    assert_eq!(tile["online"], true, "{tile}");
    agent.stop().await;
    srv.stop().await;
}

#[tokio::test]
async fn a_wrong_fingerprint_or_none_refuses_to_enroll_and_the_code_stays_good() {
    let srv = tls_server().await;
    let api = srv.owner().await;
    let z = zone(&api).await;
    let dev = new_pc(&api, z, "PC-0").await;
    let code = dev["enrollment_code"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = club_agent::state::StateDir::new(dir.path().join("state"));

    // A stranger's certificate (or a man in the middle): refused.
    let wrong = "ab".repeat(32);
    let e = club_agent::enroll(&state, &srv.base, code, Some(&wrong))
        .await
        .unwrap_err();
    assert!(format!("{e:#}").contains("not the pinned"), "{e:#}");
    // No fingerprint for an https:// server: refused before connecting.
    let e = club_agent::enroll(&state, &srv.base, code, None)
        .await
        .unwrap_err();
    assert!(format!("{e:#}").contains("--server-cert-sha256"), "{e:#}");
    // A fingerprint for a plain http:// server makes no sense: refused.
    let plain = srv.base.replace("https://", "http://");
    let sha = srv.cert_sha256.clone().unwrap();
    assert!(club_agent::enroll(&state, &plain, code, Some(&sha))
        .await
        .is_err());
    assert!(state.load_enrollment().is_err(), "nothing was kept");

    // The code was never spent: the right fingerprint (as people copy it,
    // upper case with colons) enrolls.
    let copied = sha
        .to_uppercase()
        .as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(":");
    let id = club_agent::enroll(&state, &srv.base, code, Some(&copied))
        .await
        .unwrap();
    assert_eq!(json!(id), dev["id"]);
    srv.stop().await;
}

#[tokio::test]
async fn the_clubs_own_certificate_is_served_and_a_made_one_is_kept_across_starts() {
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["club.example".into()]).unwrap();
    let (cert, key) = (dir.path().join("club.crt"), dir.path().join("club.key"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.key_pair.serialize_pem()).unwrap();
    let ours = club_shared::tls::cert_sha256(made.cert.der());
    let srv = TestServer::start_with(|c| {
        c.tls_cert = Some(cert.clone());
        c.tls_key = Some(key.clone());
    })
    .await;
    assert_eq!(srv.cert_sha256.as_deref(), Some(ours.as_str()));
    // A client that trusts only that certificate gets answers.
    let api = srv.owner().await;
    let dev = new_pc(&api, zone(&api).await, "PC-0").await;
    assert_eq!(dev["server_cert_sha256"], json!(ours));
    srv.stop().await;

    // A key that is not the certificate's: the server says so at start.
    let other = rcgen::generate_simple_self_signed(vec!["other".into()]).unwrap();
    std::fs::write(&key, other.key_pair.serialize_pem()).unwrap();
    let mut config = Config::for_database(dir.path().join("c.db").to_string_lossy().to_string());
    config.tls_cert = Some(cert.clone());
    config.tls_key = Some(key.clone());
    let e = config.tls().unwrap_err();
    assert!(format!("{e:#}").contains("do not belong together"), "{e:#}");

    // A made certificate is made once: every start serves the same one, so
    // enrolled PCs keep trusting it.
    let mut config = Config::for_database(dir.path().join("c.db").to_string_lossy().to_string());
    config.tls_self_signed = true;
    let first = config.tls().unwrap().unwrap().cert_sha256;
    let second = config.tls().unwrap().unwrap().cert_sha256;
    assert_eq!(first, second);
}

#[tokio::test]
async fn a_tls_handshake_that_never_finishes_is_dropped() {
    let srv = TestServer::start_with(|c| {
        c.tls_self_signed = true;
        c.header_read_timeout_seconds = 1;
    })
    .await;
    let to: std::net::SocketAddr = srv.base.trim_start_matches("https://").parse().unwrap();
    let mut s = tokio::net::TcpStream::connect(to).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // The first bytes of a ClientHello, and then nothing.
    s.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]).await.unwrap();
    let started = std::time::Instant::now();
    let mut got = Vec::new();
    tokio::time::timeout(WAIT, s.read_to_end(&mut got))
        .await
        .expect("the server closed the connection in time")
        .ok();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // The desk is served meanwhile and after.
    let (status, _) = srv.anonymous().get("/hall").await;
    assert_eq!(status, 401);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hall_feed_runs_over_wss() {
    let srv = tls_server().await;
    let api = srv.owner().await;
    let token = api.token().unwrap();
    let url = format!(
        "{}/api/v1/hall/ws?token={token}",
        srv.base.replace("https://", "wss://")
    );
    // As an agent connects: TCP, then TLS trusting only the pinned certificate.
    let to: std::net::SocketAddr = srv.base.trim_start_matches("https://").parse().unwrap();
    let stream = club_agent::http::connect(
        &to.ip().to_string(),
        to.port(),
        true,
        srv.cert_sha256.as_deref(),
    )
    .await
    .unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    let first = tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("the feed speaks")
        .unwrap()
        .unwrap();
    let v: Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
    assert_eq!(v["type"], "snapshot", "{v}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_page_works_over_https() -> anyhow::Result<()> {
    let srv = tls_server().await;
    let owner = srv.owner().await;
    let z = zone(&owner).await;
    srv.staff("ada", "Administrator").await;
    let b = Browser::start_accepting_self_signed().await?;
    b.goto(&format!("{}/", srv.base)).await?;
    b.wait_for("#login-form", None).await?;
    b.type_into("#login", "ada").await?;
    b.type_into("#password", "password-123").await?;
    b.click("#login-submit").await?;
    b.wait_for("#hall", None).await?;
    // The live feed (wss:) shows a PC turning online without a reload.
    let a = TestAgent::start(&srv, &owner, z, "PC-A").await;
    b.wait_for(
        &format!("[data-device-id=\"{}\"]:not(#session-card)", a.device_id),
        Some(("data-state", "free")),
    )
    .await?;
    b.quit().await;
    a.stop().await;
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn enrolled_pcs_of_a_plain_server_are_unchanged() {
    // No TLS: no fingerprint in the answers, and the agent enrolls as before.
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let z = zone(&api).await;
    let (_, state, _dir) = enrolled_pc(&srv, &api, z, "PC-0").await;
    let dev = new_pc(&api, z, "PC-1").await;
    assert!(dev.get("server_cert_sha256").is_none(), "{dev}");
    assert_eq!(state.load_enrollment().unwrap().0.server_cert_sha256, None);
    srv.stop().await;
}
