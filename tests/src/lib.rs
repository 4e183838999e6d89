//! Test harness: starts the real club server on 127.0.0.1:0 with a fresh
//! temporary SQLite file and a manual clock, and talks to it over HTTP.

use chrono::{DateTime, TimeZone, Utc};
use club_server::clock::ManualClock;
use club_server::config::Config;
use club_server::service::Service;
use club_server::App;
use club_shared::Event;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

pub const OWNER_PASSWORD: &str = "owner-pass-1";

/// How long a test waits for something that should happen at once.
pub const WAIT: Duration = Duration::from_secs(10);

pub mod agents;
pub mod browser;
#[cfg(unix)]
pub mod display;
#[cfg(unix)]
pub mod process;

pub struct TestServer {
    pub base: String,
    /// The certificate's fingerprint when the server serves TLS.
    pub cert_sha256: Option<String>,
    pub clock: ManualClock,
    pub service: Service,
    pub feed: club_server::hall::HallFeed,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    dir: Arc<tempfile::TempDir>,
    addr: std::net::SocketAddr,
}

/// A fixed, ordinary afternoon: tests never depend on the real date.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

/// A hall screen on `url` (`ws://…/api/v1/hall/ws?token=…`) with a 4 KiB
/// receive buffer, for a caller that never reads it: the server's sends to
/// it stall as soon as the kernel's buffers fill.
pub async fn stalled_screen(
    url: &str,
) -> anyhow::Result<tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>> {
    let addr: std::net::SocketAddr = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .ok_or_else(|| anyhow::anyhow!("no address in {url}"))?
        .parse()?;
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_recv_buffer_size(4096)?;
    let stream = socket.connect(addr).await?;
    let (ws, _) = tokio_tungstenite::client_async(url, stream).await?;
    Ok(ws)
}

/// Asserts the books balance: every balance equals its ledger, and all
/// money topped up is on a balance, in a holding, earned, burned or paid out.
pub async fn books_balance(srv: &TestServer) {
    assert!(
        srv.service.ledger_mismatches().await.unwrap().is_empty(),
        "every balance equals its ledger"
    );
    let t = srv.service.money_totals().await.unwrap();
    let accounted =
        t.balances + t.bonus_balances + t.holding_value + t.revenue + t.burned + t.paid_out;
    assert_eq!(t.topped_up, accounted, "{t:?}");
}

impl TestServer {
    pub async fn start() -> TestServer {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        Self::open(
            dir,
            ManualClock::new(t0()),
            "127.0.0.1:0".parse().unwrap(),
            |_| async {},
        )
        .await
    }

    /// A server that closes an operator screen whose socket takes nothing
    /// for `millis`.
    pub async fn start_with_screen_send_timeout(millis: u64) -> TestServer {
        Self::start_with(move |c| c.hall_screen_send_timeout_ms = millis).await
    }

    /// A server that calls a PC offline after `seconds` of silence.
    pub async fn start_with_offline_after(seconds: u64) -> TestServer {
        Self::start_with(move |c| c.agent_offline_after_seconds = seconds).await
    }

    /// A server on a configuration changed by `configure`.
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> TestServer {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        let addr = "127.0.0.1:0".parse().unwrap();
        Self::open_with(dir, ManualClock::new(t0()), addr, configure, |_| async {}).await
    }

    async fn open<F, Fut>(
        dir: Arc<tempfile::TempDir>,
        clock: ManualClock,
        addr: std::net::SocketAddr,
        before_serving: F,
    ) -> TestServer
    where
        F: FnOnce(Service) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        Self::open_with(dir, clock, addr, |_| {}, before_serving).await
    }

    async fn open_with<F, Fut>(
        dir: Arc<tempfile::TempDir>,
        clock: ManualClock,
        addr: std::net::SocketAddr,
        configure: impl FnOnce(&mut Config),
        before_serving: F,
    ) -> TestServer
    where
        F: FnOnce(Service) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let db = dir.path().join("club.db");
        let mut config = Config::for_database(db.to_string_lossy().to_string());
        config.owner_password = Some(OWNER_PASSWORD.into());
        // Wake-on-LAN packets stay on this machine.
        config.wol_target = "127.0.0.1:9".parse().unwrap();
        configure(&mut config);
        let app = App::open(&config, Arc::new(clock.clone()))
            .await
            .expect("server opens");
        let service = app.service.clone();
        let feed = app.feed.clone();
        let cert_sha256 = app.tls.as_ref().map(|t| t.cert_sha256.clone());
        before_serving(service.clone()).await;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let scheme = if cert_sha256.is_some() {
            "https"
        } else {
            "http"
        };
        let base = format!("{scheme}://{addr}");
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(app.serve(listener, shutdown.clone()));
        TestServer {
            base,
            cert_sha256,
            clock,
            service,
            feed,
            shutdown,
            task,
            dir,
            addr,
        }
    }

    /// Stops the server, lets `while_down` change the database as an
    /// operation would while no agent can hear it, and serves the same
    /// database on the same address again.
    pub async fn restart<F, Fut>(self, while_down: F) -> TestServer
    where
        F: FnOnce(Service) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let (dir, clock, addr) = (self.dir.clone(), self.clock.clone(), self.addr);
        self.stop().await;
        Self::open(dir, clock, addr, while_down).await
    }

    /// Stops the server and keeps it down until the returned value is used
    /// to start it again.
    pub async fn stop_for_a_while(self) -> Stopped {
        let (dir, clock, addr) = (self.dir.clone(), self.clock.clone(), self.addr);
        self.stop().await;
        Stopped { dir, clock, addr }
    }

    /// The server's SQLite file.
    pub fn database(&self) -> std::path::PathBuf {
        self.dir.path().join("club.db")
    }

    pub fn anonymous(&self) -> Api {
        match &self.cert_sha256 {
            Some(pin) => Api::pinned(&self.base, pin),
            None => Api::new(&self.base),
        }
    }

    pub async fn login(&self, login: &str, password: &str) -> Api {
        let (status, body) = self
            .anonymous()
            .post("/auth/login", json!({"login": login, "password": password}))
            .await;
        assert_eq!(status, 200, "login {login}: {body}");
        Api {
            token: Some(body["token"].as_str().expect("token").to_owned()),
            ..self.anonymous()
        }
    }

    pub async fn owner(&self) -> Api {
        self.login("owner", OWNER_PASSWORD).await
    }

    /// Creates an operator with a built-in role and signs them in.
    pub async fn staff(&self, login: &str, role: &str) -> Api {
        let owner = self.owner().await;
        let role_id = owner.role_id(role).await;
        owner
            .ok(
                Method::POST,
                "/operators",
                json!({"login": login, "password": "password-123", "role_id": role_id}),
            )
            .await;
        self.login(login, "password-123").await
    }

    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.service.bus.subscribe()
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("server stops in time")
            .expect("server task")
            .expect("server ran cleanly");
    }
}

/// A server that was stopped, with what it needs to start again.
pub struct Stopped {
    pub dir: Arc<tempfile::TempDir>,
    pub clock: ManualClock,
    pub addr: std::net::SocketAddr,
}

impl Stopped {
    pub async fn start_again(self) -> TestServer {
        TestServer::open(self.dir, self.clock, self.addr, |_| async {}).await
    }
}

/// Waits for the first event that `pick` accepts, failing after [`WAIT`].
pub async fn wait_for<T>(
    rx: &mut broadcast::Receiver<Event>,
    mut pick: impl FnMut(&Event) -> Option<T>,
) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            match rx.recv().await {
                Ok(e) => {
                    if let Some(v) = pick(&e) {
                        return v;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("event bus closed: {e}"),
            }
        }
    })
    .await
    .expect("the expected event arrived in time")
}

/// An HTTP client that trusts only the certificate whose SHA-256 is `pin`.
pub fn pinned_http(pin: &str) -> anyhow::Result<reqwest::Client> {
    let tls = club_shared::tls::pinned_client_config(pin).map_err(anyhow::Error::msg)?;
    Ok(reqwest::Client::builder()
        .use_preconfigured_tls((*tls).clone())
        .build()?)
}

/// A thin JSON client for the REST API.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    /// An anonymous client of the API at `base` (`http://host:port`).
    pub fn new(base: &str) -> Api {
        Api {
            http: reqwest::Client::new(),
            base: base.to_owned(),
            token: None,
        }
    }

    /// An anonymous client of an https:// server that trusts only the
    /// certificate with this fingerprint, as an agent does.
    pub fn pinned(base: &str, sha256: &str) -> Api {
        Api {
            http: pinned_http(sha256).expect("an https client"),
            base: base.to_owned(),
            token: None,
        }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body read");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    /// Sends raw bytes as a JSON body (for malformed-input tests).
    pub async fn post_raw(&self, path: &str, raw: &str) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}/api/v1{path}", self.base))
            .header("content-type", "application/json")
            .body(raw.to_owned());
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub fn token(&self) -> Option<String> {
        self.token.clone()
    }

    pub fn with_token(self, token: &str) -> Api {
        Api {
            token: Some(token.to_owned()),
            ..self
        }
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    /// A call that must succeed; answers its body.
    pub async fn ok(&self, method: Method, path: &str, body: Value) -> Value {
        let body = if method == Method::GET {
            None
        } else {
            Some(body)
        };
        let (status, value) = self.call(method.clone(), path, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {value}"
        );
        value
    }

    /// The id of the operator who signs in as `login`.
    pub async fn operator_id(&self, login: &str) -> i64 {
        let ops = self.ok(Method::GET, "/operators", Value::Null).await;
        ops.as_array()
            .unwrap()
            .iter()
            .find(|o| o["login"] == login)
            .unwrap_or_else(|| panic!("operator {login}"))["id"]
            .as_i64()
            .unwrap()
    }

    pub async fn role_id(&self, name: &str) -> i64 {
        let roles = self.ok(Method::GET, "/roles", Value::Null).await;
        roles
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("role {name}"))["id"]
            .as_i64()
            .unwrap()
    }
}

/// A small hall: a zone, PCs, one tariff per refund policy, a client with money.
pub struct Hall {
    pub zone: i64,
    pub pcs: Vec<i64>,
    pub keep: i64,
    pub convert: i64,
    pub burn: i64,
    pub client: i64,
}

/// Seed numbers: the "2 hours for 200" tariff of the refund-policy page.
pub const TWO_HOURS: i64 = 7200;
pub const PRICE: i64 = 200;

pub async fn hall(api: &Api) -> Hall {
    let zone = api
        .ok(Method::POST, "/zones", json!({"name": "Main"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let mut pcs = Vec::new();
    for i in 0..3 {
        let d = api
            .ok(
                Method::POST,
                "/devices",
                json!({"name": format!("PC-{i}"), "zone_id": zone, "x": i, "y": 0}),
            )
            .await;
        pcs.push(d["id"].as_i64().unwrap());
    }
    let tariff = |name: &str, policy: &str| {
        let api = api.clone();
        let body = json!({"name": name, "duration_seconds": TWO_HOURS, "price": PRICE,
            "refund_policy": policy, "max_bonus_percent": 50});
        async move {
            api.ok(Method::POST, "/tariffs", body).await["id"]
                .as_i64()
                .unwrap()
        }
    };
    let keep = tariff("Keep", "keep_balance").await;
    let convert = tariff("Convert", "convert_to_bonus").await;
    let burn = tariff("Burn", "burn").await;
    let client = new_client(api, "Dana", "+1 555 0100", 1000).await;
    Hall {
        zone,
        pcs,
        keep,
        convert,
        burn,
        client,
    }
}

/// A hall screen's socket.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The hall feed's address for a sign-in (the token in the query, as a
/// browser sends it on the upgrade).
pub fn feed_url(srv: &TestServer, token: &str) -> String {
    format!(
        "{}/api/v1/hall/ws?token={token}",
        srv.base.replace("http://", "ws://")
    )
}

/// An open hall screen for a sign-in.
pub async fn screen(srv: &TestServer, token: &str) -> Ws {
    tokio_tungstenite::connect_async(feed_url(srv, token))
        .await
        .expect("feed opens")
        .0
}

/// A session for `client` on `device` from a tariff: its id.
pub async fn new_session(api: &Api, client: i64, device: i64, tariff: i64) -> i64 {
    api.ok(
        Method::POST,
        "/sessions",
        json!({"client_id": client, "device_id": device, "tariff_id": tariff}),
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

pub async fn new_client(api: &Api, name: &str, phone: &str, money: i64) -> i64 {
    let id = api
        .ok(
            Method::POST,
            "/clients",
            json!({"name": name, "phone": phone, "pin": "4321"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    if money > 0 {
        api.ok(
            Method::POST,
            &format!("/clients/{id}/top-ups"),
            json!({"amount": money, "method": "cash"}),
        )
        .await;
    }
    id
}
