//! Clubhall club server: one process per club. `App::open` prepares the
//! database; `App::serve` runs the API and the scheduler until shutdown.

pub mod api;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod gateway;
pub mod hall;
pub mod metrics;
pub mod ops;
pub mod phone;
pub mod requests;
pub mod scheduler;
pub mod secrets;
pub mod serve;
pub mod service;
pub mod state;
pub mod store;
pub mod tls;
pub mod web;

use anyhow::Context;
use clock::SharedClock;
use config::Config;
use service::demo::DemoLogins;
use service::Service;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub struct App {
    pub service: Service,
    /// Set when a new database got an Owner with a generated password.
    pub generated_owner_password: Option<String>,
    /// Set when `--demo` filled an empty database.
    pub demo: Option<DemoLogins>,
    /// With `--demo`: where the in-process demo agents keep their state.
    pub demo_agents: Option<std::path::PathBuf>,
    /// The hall feed the operator screens are served from.
    pub feed: hall::HallFeed,
    /// Serving HTTPS/WSS, when configured.
    pub tls: Option<tls::Tls>,
    agent_offline_after: std::time::Duration,
    limits: serve::Limits,
    metrics_token: Option<config::Secret>,
    announce: Option<Box<dyn FnOnce(Started) + Send>>,
    /// On a shared database: following the other servers' operations.
    following: Option<service::chain::Following>,
}

/// What a started server tells its operator, once everything it starts is
/// up (the demo agents connected too), so that it is the last thing on the
/// terminal rather than scrolled away under their log lines.
pub struct Started {
    pub addr: std::net::SocketAddr,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// With `--demo`: the PCs whose agents run in this process, with their
    /// lock screens' addresses.
    pub demo_agents: service::demo::DemoAgents,
}

impl App {
    /// Opens (creating and migrating) the database, bootstraps a new one,
    /// and fills the demo hall when asked.
    pub async fn open(config: &Config, clock: SharedClock) -> anyhow::Result<App> {
        let store = store::Store::open(&config.database, config.sqlite_synchronous)
            .await
            .with_context(|| {
                format!(
                    "opening the database {}",
                    store::redacted_database(&config.database)
                )
            })?;
        let tls = config.tls().context("setting up TLS")?;
        let service = Service::new(store, events::Bus::new(), clock, config.token_ttl_hours)
            .with_server_cert_sha256(tls.as_ref().map(|t| t.cert_sha256.clone()))
            .with_wol_target(config.wol_target);
        let following = service::chain::join(&service)
            .await
            .context("joining the other servers on the database")?;
        let generated_owner_password = service
            .bootstrap(config.owner_password.as_ref().map(config::Secret::expose))
            .await
            .context("creating the first Owner")?;
        if service
            .upgrade_stored_settings()
            .await
            .context("upgrading the stored settings")?
        {
            tracing::info!("stored settings upgraded: the UTC offset is now a time zone");
        }
        let normalized = service
            .normalize_stored_phones()
            .await
            .context("bringing stored phone numbers to E.164")?;
        if normalized > 0 {
            tracing::info!(
                clients = normalized,
                "stored phone numbers brought to E.164"
            );
        }
        let demo = if config.demo {
            service::demo::fill(&service)
                .await
                .context("filling the demo hall")?
        } else {
            None
        };
        let demo_agents = match config.demo {
            true => Some(service::demo::agents_dir(&config.files_base()?)),
            false => None,
        };
        let feed = hall::HallFeed::new(
            config.hall_screen_queue,
            std::time::Duration::from_millis(config.hall_screen_send_timeout_ms.max(1)),
            config.hall_screens_per_sign_in,
        )
        .with_metrics(&service.metrics);
        Ok(App {
            service,
            generated_owner_password,
            demo,
            demo_agents,
            limits: config.limits(),
            metrics_token: config.metrics_token.clone(),
            announce: None,
            tls,
            agent_offline_after: std::time::Duration::from_secs(
                config.agent_offline_after_seconds.max(1),
            ),
            feed,
            following,
        })
    }

    /// Calls `f` once the server is up: listening, and with `--demo` its
    /// agents connected.
    pub fn on_started(mut self, f: impl FnOnce(Started) + Send + 'static) -> Self {
        self.announce = Some(Box::new(f));
        self
    }

    /// Serves until `shutdown` is cancelled, then stops the scheduler and
    /// closes the database.
    pub async fn serve(
        mut self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let scheduler = tokio::spawn(scheduler::run(self.service.clone(), shutdown.clone()));
        let state = state::AppState {
            service: self.service.clone(),
            shutdown: shutdown.clone(),
            gateway: gateway::Gateway::new(self.agent_offline_after),
            tasks: tokio_util::task::TaskTracker::new(),
            feed: self.feed.clone(),
            request_timeout: self.limits.request_timeout,
            metrics_token: self.metrics_token.clone().map(std::sync::Arc::new),
        };
        let hub = tokio::spawn(hall::run_hub(
            self.service.clone(),
            state.feed.clone(),
            shutdown.clone(),
        ));
        let pusher = tokio::spawn(gateway::push_states(
            self.service.clone(),
            state.gateway.clone(),
            shutdown.clone(),
        ));
        let commander = tokio::spawn(gateway::push_commands(
            self.service.clone(),
            state.gateway.clone(),
            shutdown.clone(),
        ));
        let revoker = tokio::spawn(gateway::close_revoked(
            self.service.clone(),
            state.gateway.clone(),
            shutdown.clone(),
        ));
        let sockets = state.tasks.clone();
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let addr = listener.local_addr()?;
        let mut demo_agents = service::demo::DemoAgents::default();
        if let Some(dir) = &self.demo_agents {
            let base = format!("{scheme}://{addr}");
            demo_agents = service::demo::run_agents(&self.service, dir, &base, shutdown.clone())
                .await
                .context("starting the demo agents")?;
        }
        if let Some(announce) = self.announce.take() {
            tokio::spawn(async move {
                if let Some(connected) = demo_agents.connected.take() {
                    connected.await;
                }
                announce(Started {
                    addr,
                    scheme,
                    demo_agents,
                });
            });
        }
        let app = api::router(state);
        let stop = shutdown.clone();
        // One router for every connection, cloned (an Arc): serving the
        // Router as a make-service would rebuild its route table per
        // connection (about 1.5 KiB held for as long as an agent stays).
        let acceptor = self.tls.as_ref().map(|t| t.acceptor.clone());
        serve::serve(listener, app, self.limits, acceptor, stop)
            .await
            .context("serving HTTP")?;
        shutdown.cancel();
        // Agent sockets get a close frame each; give them a moment to go.
        sockets.close();
        if tokio::time::timeout(std::time::Duration::from_secs(5), sockets.wait())
            .await
            .is_err()
        {
            tracing::warn!("some agent connections did not close in time");
        }
        let _ = scheduler.await;
        let _ = pusher.await;
        let _ = commander.await;
        let _ = revoker.await;
        let _ = hub.await;
        if let Some(following) = self.following.take() {
            following.leave().await;
        }
        self.service.store.close().await;
        Ok(())
    }
}

/// Opens and serves: what the binary does, and what tests call on port 0.
pub async fn run(
    config: Config,
    clock: SharedClock,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    App::open(&config, clock)
        .await?
        .serve(listener, shutdown)
        .await
}
