//! The configuration file, the version, and logs that never carry a
//! secret.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_config_file_sets_what_flags_leave_and_no_secret_reaches_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("club-server.toml");
    std::fs::write(
        &config,
        "owner-password = \"file-owner-pw\"\nmetrics-token = \"m3trics-t0ken-xyz\"\n\
         log-format = \"json\"\ntoken-ttl-hours = 3\n",
    )
    .unwrap();
    let mut cmd = server_command(
        database_in(dir.path()),
        "",
        &["--config", config.to_str().unwrap()],
    );
    // Everything the server can say.
    cmd.env("RUST_LOG", "trace");
    let (mut child, base, lines) = server_keeping_output(cmd).await;

    // The flag's owner password won over the file's.
    let (status, _) = Api::new(&base)
        .post(
            "/auth/login",
            json!({"login": "owner", "password": "file-owner-pw"}),
        )
        .await;
    assert_eq!(status, 401);
    let owner = sign_in_owner(&base).await;
    let me = owner.ok(Method::GET, "/operators", Value::Null).await;
    assert!(me.as_array().is_some());
    // The file's token lifetime applies: a sign-in lasts 3 hours.
    let c = rusqlite::Connection::open(database_in(dir.path())).unwrap();
    let ttl_ms: i64 = c
        .query_row("SELECT MAX(expires_at - created_at) FROM tokens", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(ttl_ms, 3 * 3600 * 1000);
    drop(c);

    // Secrets go over the wire: a hall feed with its token in the URL, a
    // PC's enrollment code and secret, a player's PIN, a staff password.
    let token = owner.token().unwrap();
    let url = format!(
        "{}/api/v1/hall/ws?token={token}",
        base.replace("http://", "ws://")
    );
    let (feed, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let zone = owner
        .ok(Method::POST, "/zones", json!({"name": "Main"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let dev = owner
        .ok(
            Method::POST,
            "/devices",
            json!({"name": "PC-1", "zone_id": zone, "x": 0, "y": 0}),
        )
        .await;
    let code = dev["enrollment_code"].as_str().unwrap().to_owned();
    let (status, enrolled) = Api::new(&base)
        .post("/agent/enroll", json!({"code": code, "hostname": "pc-1"}))
        .await;
    assert_eq!(status, 200, "{enrolled}");
    let secret = enrolled["device_secret"].as_str().unwrap().to_owned();
    new_client(&owner, "Ivy", "+1 555 0177", 0).await;
    let (_, _) = Api::new(&base)
        .post(
            "/player/login",
            // Eight digits: a shorter PIN turns up by chance in the trace
            // log's timestamps and hex dumps (4321 did, in 18:56:25.404321).
            json!({"phone": "+1 555 0177", "pin": "86420975"}),
        )
        .await;
    let metrics = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(metrics.status(), 200);
    drop(feed);

    let pid = child.id().unwrap().to_string();
    tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    tokio::time::timeout(WAIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    let said = lines.lock().unwrap().join("\n");
    assert!(said.contains("club-server started"), "{said}");
    for secret in [
        PROCESS_OWNER_PASSWORD,
        "file-owner-pw",
        "m3trics-t0ken-xyz",
        token.as_str(),
        code.as_str(),
        secret.as_str(),
        "86420975",
    ] {
        assert!(!said.contains(secret), "`{secret}` in the output:\n{said}");
    }
    assert!(!said.contains('\u{1b}'), "no colour codes off a terminal");
    // JSON logs: every log line is one JSON object.
    let logs: Vec<&str> = said.lines().filter(|l| l.starts_with('{')).collect();
    assert!(logs.len() > 5, "{said}");
    for l in &logs {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert!(v["level"].is_string() && v["timestamp"].is_string(), "{l}");
    }
    // Requests are logged under their route, not their raw path.
    assert!(
        logs.iter()
            .any(|l| l.contains(r#""route":"/api/v1/auth/login""#)),
        "{said}"
    );
}

#[tokio::test]
async fn the_version_and_a_bad_config_file_are_answered_plainly() {
    let (ok, said) = club_server(&[os("--version")]).await;
    assert!(ok);
    assert_eq!(
        said.trim(),
        format!("club-server {}", env!("CARGO_PKG_VERSION"))
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("club.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\nlsiten = 1\n").unwrap();
    let (ok, said) = club_server(&[os("--config"), config.as_os_str()]).await;
    assert!(!ok);
    assert!(said.contains("unknown setting `lsiten`"), "{said}");
    let (ok, said) =
        club_server(&[os("--config"), dir.path().join("missing.toml").as_os_str()]).await;
    assert!(!ok && said.contains("reading the config file"), "{said}");
}
