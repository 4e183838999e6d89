//! Slow, idle and too many connections; login lockouts.

use super::*;

/// A raw TCP connection to the server from `from` (a loopback address).
pub(crate) async fn raw_from(srv: &TestServer, from: &str) -> tokio::net::TcpStream {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let to: std::net::SocketAddr = srv.base.trim_start_matches("http://").parse().unwrap();
    sock.connect(to).await.unwrap()
}

/// Reads until the server closes the connection; answers what it sent.
pub(crate) async fn read_to_close(
    s: &mut tokio::net::TcpStream,
    within: std::time::Duration,
) -> String {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    tokio::time::timeout(within, s.read_to_end(&mut got))
        .await
        .expect("the server closed the connection in time")
        .ok();
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_half_sent_connections_are_closed_and_one_address_cannot_take_them_all() {
    use tokio::io::AsyncWriteExt;
    const CAP: usize = 8;
    let srv = TestServer::start_with(|c| {
        c.header_read_timeout_seconds = 1;
        c.max_connections_per_address = CAP;
    })
    .await;
    let api = srv.owner().await;

    // A player's PC (127.0.0.2) opens connections and sends nothing, or
    // half a request head: its first CAP are held, the next is refused at
    // once with a word why...
    let mut held = Vec::new();
    for i in 0..CAP {
        let mut s = raw_from(&srv, "127.0.0.2").await;
        if i % 2 == 1 {
            s.write_all(b"GET /api/v1/hall HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap();
        }
        held.push(s);
    }
    let mut over = raw_from(&srv, "127.0.0.2").await;
    let said = read_to_close(&mut over, WAIT).await;
    assert!(said.starts_with("HTTP/1.1 503"), "{said:?}");
    assert!(said.contains("\"busy\""), "{said:?}");

    // ...while the desk (127.0.0.1) is served as usual.
    let (status, _) = api.get("/hall").await;
    assert_eq!(status, 200);

    // Within the header timeout (1 s here), every held one is closed.
    let started = std::time::Instant::now();
    for mut s in held {
        let said = read_to_close(&mut s, std::time::Duration::from_secs(5)).await;
        assert!(!said.contains("200 OK"), "{said:?}");
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // And the address gets its slots back.
    let mut again = raw_from(&srv, "127.0.0.2").await;
    again
        .write_all(b"GET /api/v1/hall HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let said = read_to_close(&mut again, WAIT).await;
    assert!(said.starts_with("HTTP/1.1 401"), "{said:?}");
    srv.stop().await;
}

async fn player_login(api: &Api, phone: &str, pin: &str) -> (u16, Value) {
    api.post("/player/login", json!({"phone": phone, "pin": pin}))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_pins_lock_the_pin_until_time_or_staff_lift_it() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let client = new_client(&api, "Pia", "+1 555 0142", 0).await;
    let anon = srv.anonymous();
    for _ in 0..5 {
        assert_eq!(player_login(&anon, "+1 555 0142", "0000").await.0, 401);
    }
    // Locked: even the right PIN is refused, with how long to wait.
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/player/login", srv.base))
        .json(&json!({"phone": "+1 555 0142", "pin": "4321"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "900");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_attempts");
    let audit = api.ok(Method::GET, "/audit", Value::Null).await;
    let locked = audit
        .as_array()
        .or_else(|| audit["items"].as_array())
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "sign_in_locked")
        .cloned()
        .expect("the lock is audited");
    assert_eq!(locked["client_id"], client);

    // Staff lift it (ClientManage, audited).
    let lifted = api
        .ok(
            Method::POST,
            &format!("/clients/{client}/pin-unlock"),
            json!({}),
        )
        .await;
    assert_eq!(lifted["was_locked"], true);
    assert_eq!(player_login(&anon, "+1 555 0142", "4321").await.0, 200);

    // Locked again, it lifts with time (15 minutes on the server's clock).
    for _ in 0..5 {
        player_login(&anon, "+1 555 0142", "9999").await;
    }
    assert_eq!(player_login(&anon, "+1 555 0142", "4321").await.0, 429);
    srv.clock
        .advance(chrono::Duration::minutes(30) + chrono::Duration::seconds(1));
    assert_eq!(player_login(&anon, "+1 555 0142", "4321").await.0, 200);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_logins_lock_per_account_and_per_address() {
    let srv = TestServer::start().await;
    let anon = srv.anonymous();
    let login = |l: &str, p: &str| {
        let anon = anon.clone();
        let body = json!({"login": l, "password": p});
        async move { anon.post("/auth/login", body).await.0 }
    };
    for _ in 0..5 {
        assert_eq!(login("owner", "guess-guess").await, 401);
    }
    assert_eq!(
        login("owner", OWNER_PASSWORD).await,
        429,
        "the account is locked"
    );
    srv.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(
        login("owner", OWNER_PASSWORD).await,
        200,
        "and lifts after a minute"
    );

    // A player's PC (127.0.0.2) trying made-up logins: 30 a minute, then
    // the address is shut out; the desk (127.0.0.1) is not.
    let pc = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let mut statuses = Vec::new();
    for i in 0..31 {
        let res = pc
            .post(format!("{}/api/v1/auth/login", srv.base))
            .json(&json!({"login": format!("nobody-{i}"), "password": "guess-guess"}))
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    assert!(statuses[..30].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses[30], 429);
    assert_eq!(login("owner", OWNER_PASSWORD).await, 200);
    srv.stop().await;
}
