//! Test harness: starts the real club server on 127.0.0.1:0 with a fresh
//! database (a temporary SQLite file, or a new PostgreSQL database when
//! `CLUBHALL_TEST_POSTGRES` is set) and a manual clock, and talks to it
//! over HTTP.

use chrono::{DateTime, TimeZone, Utc};
use club_server::clock::ManualClock;
use club_server::config::Config;
use club_server::service::Service;
use club_server::App;
use club_shared::Event;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

pub use api::{hall, new_client, new_session, open_shift, Api, Hall, PRICE, TWO_HOURS};

pub const OWNER_PASSWORD: &str = "owner-pass-1";

/// How long a test waits for something that should happen at once.
pub const WAIT: Duration = Duration::from_secs(10);

pub mod agents;
mod api;
pub mod browser;
mod databases;
pub use databases::*;
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
    /// The configuration it was started with.
    pub config: Config,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    place: Arc<Place>,
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
        Self::open(
            Place::new().await,
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

    /// A second server on this one's database (PostgreSQL only: SQLite's
    /// file takes one server), on its own address, sharing its clock.
    pub async fn start_beside(&self) -> TestServer {
        let addr = "127.0.0.1:0".parse().unwrap();
        Self::open(self.place.clone(), self.clock.clone(), addr, |_| async {}).await
    }

    /// A server on a configuration changed by `configure`.
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> TestServer {
        let addr = "127.0.0.1:0".parse().unwrap();
        Self::open_with(
            Place::new().await,
            ManualClock::new(t0()),
            addr,
            configure,
            |_| async {},
        )
        .await
    }

    async fn open<F, Fut>(
        place: Arc<Place>,
        clock: ManualClock,
        addr: std::net::SocketAddr,
        before_serving: F,
    ) -> TestServer
    where
        F: FnOnce(Service) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        Self::open_with(place, clock, addr, |_| {}, before_serving).await
    }

    async fn open_with<F, Fut>(
        place: Arc<Place>,
        clock: ManualClock,
        addr: std::net::SocketAddr,
        configure: impl FnOnce(&mut Config),
        before_serving: F,
    ) -> TestServer
    where
        F: FnOnce(Service) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let mut config = Config::for_database(place.database.clone());
        wait_for_the_lock(&place.database).await;
        if on_postgres() {
            config.state_dir = Some(place.dir.path().to_owned());
        }
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
            config,
            shutdown,
            task,
            place,
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
        let (place, clock, addr) = (self.place.clone(), self.clock.clone(), self.addr);
        self.stop().await;
        Self::open(place, clock, addr, while_down).await
    }

    /// Stops the server and keeps it down until the returned value is used
    /// to start it again.
    pub async fn stop_for_a_while(self) -> Stopped {
        let (place, clock, addr) = (self.place.clone(), self.clock.clone(), self.addr);
        self.stop().await;
        Stopped { place, clock, addr }
    }

    /// The server's SQLite file (a test that reads it runs on SQLite).
    pub fn database(&self) -> std::path::PathBuf {
        assert!(
            !self.place.database.contains("://"),
            "this test reads SQLite's file; it serves {}",
            self.place.database
        );
        std::path::PathBuf::from(&self.place.database)
    }

    /// Runs `batch` on the server's database itself (see [`Place::sql`]).
    pub async fn sql(&self, batch: &str) {
        self.place.sql(batch).await
    }

    /// `sql`, answering the database's refusal.
    pub async fn try_sql(&self, batch: &str) -> Result<(), String> {
        self.place.try_sql(batch).await
    }

    /// The server's temporary directory.
    pub fn dir(&self) -> &std::path::Path {
        self.place.dir.path()
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
        self.anonymous()
            .with_token(body["token"].as_str().expect("token"))
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
    pub place: Arc<Place>,
    pub clock: ManualClock,
    pub addr: std::net::SocketAddr,
}

impl Stopped {
    pub async fn start_again(self) -> TestServer {
        TestServer::open(self.place, self.clock, self.addr, |_| async {}).await
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
/// A sample's value in Prometheus's text format: the line `series VALUE`
/// (series with its labels, as written), or `None` when there is none or
/// its value is not a number.
pub fn metric_sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

pub fn pinned_http(pin: &str) -> anyhow::Result<reqwest::Client> {
    let tls = club_shared::tls::pinned_client_config(pin).map_err(anyhow::Error::msg)?;
    Ok(reqwest::Client::builder()
        .use_preconfigured_tls((*tls).clone())
        .build()?)
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

/// The next message on a hall screen, within `within`.
pub async fn next_hall_msg<S>(
    ws: &mut tokio_tungstenite::WebSocketStream<S>,
    within: Duration,
) -> club_shared::hall::HallMsg
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use futures_util::StreamExt;
    loop {
        match tokio::time::timeout(within, ws.next())
            .await
            .expect("a hall message in time")
        {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) => {
                return serde_json::from_str(&t).expect("a hall message")
            }
            Some(Ok(_)) => continue,
            other => panic!("feed ended: {other:?}"),
        }
    }
}

/// An open hall screen for a sign-in.
pub async fn screen(srv: &TestServer, token: &str) -> Ws {
    tokio_tungstenite::connect_async(feed_url(srv, token))
        .await
        .expect("feed opens")
        .0
}
