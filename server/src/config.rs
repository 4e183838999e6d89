use clap::{Parser, ValueEnum};
use std::net::SocketAddr;

/// Clubhall club server.
#[derive(Debug, Clone, Parser)]
#[command(name = "club-server", version, about)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "CLUB_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// SQLite file path or sqlite:// URL; created and migrated on first start.
    #[arg(long, env = "CLUB_DATABASE", default_value = "./clubhall.db")]
    pub database: String,

    /// Password for the first Owner of a new database (generated and printed once if absent).
    #[arg(long, env = "CLUB_OWNER_PASSWORD", hide_env_values = true)]
    pub owner_password: Option<String>,

    /// Fill an empty database with a demo hall and print the demo logins.
    #[arg(long, env = "CLUB_DEMO")]
    pub demo: bool,

    /// SQLite synchronous mode. FULL makes every acknowledged operation
    /// durable: the writer fsyncs the WAL before it answers.
    #[arg(long, env = "CLUB_SQLITE_SYNCHRONOUS", value_enum, default_value_t = Synchronous::Full)]
    pub sqlite_synchronous: Synchronous,

    /// A PC whose agent says nothing for this long is offline.
    #[arg(long, env = "CLUB_AGENT_OFFLINE_AFTER_SECONDS", default_value_t = club_shared::protocol::OFFLINE_AFTER_SECONDS)]
    pub agent_offline_after_seconds: u64,

    /// Hall feed events queued per operator screen before it is resynced.
    #[arg(long, env = "CLUB_HALL_SCREEN_QUEUE", default_value_t = crate::hall::SCREEN_QUEUE)]
    pub hall_screen_queue: usize,

    /// An operator screen that takes no data for this long is closed (its
    /// page reconnects by itself), in milliseconds.
    #[arg(long, env = "CLUB_HALL_SCREEN_SEND_TIMEOUT_MS", default_value_t = crate::hall::SCREEN_SEND_TIMEOUT.as_millis() as u64)]
    pub hall_screen_send_timeout_ms: u64,

    /// Hall screens one sign-in may hold open at once.
    #[arg(long, env = "CLUB_HALL_SCREENS_PER_SIGN_IN", default_value_t = crate::hall::SCREENS_PER_SIGN_IN)]
    pub hall_screens_per_sign_in: usize,

    /// Lifetime of staff and player sign-ins, in hours.
    #[arg(long, env = "CLUB_TOKEN_TTL_HOURS", default_value_t = 12)]
    pub token_ttl_hours: i64,

    /// A connection that sends no whole request head for this long (at its
    /// start, or between two requests) is closed, in seconds.
    #[arg(long, env = "CLUB_HEADER_READ_TIMEOUT_SECONDS", default_value_t = 10)]
    pub header_read_timeout_seconds: u64,

    /// HTTP connections from one address at once (WebSockets leave the
    /// count once upgraded).
    #[arg(long, env = "CLUB_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 64)]
    pub max_connections_per_address: usize,

    /// HTTP connections at once, from everyone.
    #[arg(long, env = "CLUB_MAX_CONNECTIONS", default_value_t = 1000)]
    pub max_connections: usize,

    /// A request must arrive whole and be answered within this, in seconds
    /// (then 408): a body sent a byte a minute holds no slot.
    #[arg(long, env = "CLUB_REQUEST_TIMEOUT_SECONDS", default_value_t = 30)]
    pub request_timeout_seconds: u64,

    /// Where the desk's Wake-on-LAN packets go: the LAN's broadcast address
    /// (or a subnet's, e.g. 192.168.1.255:9).
    #[arg(long, env = "CLUB_WOL_TARGET", default_value = crate::service::DEFAULT_WOL_TARGET)]
    pub wol_target: SocketAddr,

    /// Serve HTTPS and WSS with this certificate (PEM, the server's first,
    /// then its chain).
    #[arg(
        long,
        env = "CLUB_TLS_CERT",
        requires = "tls_key",
        conflicts_with = "tls_self_signed"
    )]
    pub tls_cert: Option<std::path::PathBuf>,

    /// The certificate's private key (PEM).
    #[arg(long, env = "CLUB_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,

    /// Serve HTTPS and WSS with a self-signed certificate made on the first
    /// start and kept beside the database (DATABASE.tls-cert.pem and
    /// DATABASE.tls-key.pem).
    #[arg(long, env = "CLUB_TLS_SELF_SIGNED")]
    pub tls_self_signed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Synchronous {
    Full,
    Normal,
    Off,
}

impl Config {
    pub fn limits(&self) -> crate::serve::Limits {
        crate::serve::Limits {
            header_read_timeout: std::time::Duration::from_secs(
                self.header_read_timeout_seconds.max(1),
            ),
            per_address: self.max_connections_per_address.max(1),
            total: self.max_connections.max(1),
            request_timeout: std::time::Duration::from_secs(self.request_timeout_seconds.max(1)),
        }
    }

    /// The database's file path, from a path or a `sqlite:` URL.
    pub fn database_file(&self) -> &str {
        database_file(&self.database)
    }

    /// The TLS the configuration asks for, if any (made or read now).
    pub fn tls(&self) -> anyhow::Result<Option<crate::tls::Tls>> {
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            return crate::tls::load(cert, key).map(Some);
        }
        if self.tls_self_signed {
            let (cert, key) = crate::tls::self_signed_paths(self.database_file());
            return crate::tls::self_signed(&cert, &key, crate::tls::names_for(self.listen))
                .map(Some);
        }
        Ok(None)
    }

    /// A configuration for tests and embedding: loopback, the given database.
    pub fn for_database(database: impl Into<String>) -> Self {
        Config {
            listen: "127.0.0.1:0".parse().expect("valid address"),
            database: database.into(),
            owner_password: None,
            demo: false,
            sqlite_synchronous: Synchronous::Full,
            token_ttl_hours: 12,
            agent_offline_after_seconds: club_shared::protocol::OFFLINE_AFTER_SECONDS,
            hall_screen_queue: crate::hall::SCREEN_QUEUE,
            hall_screen_send_timeout_ms: crate::hall::SCREEN_SEND_TIMEOUT.as_millis() as u64,
            hall_screens_per_sign_in: crate::hall::SCREENS_PER_SIGN_IN,
            header_read_timeout_seconds: 10,
            max_connections_per_address: 64,
            max_connections: 1000,
            request_timeout_seconds: 30,
            wol_target: crate::service::DEFAULT_WOL_TARGET
                .parse()
                .expect("valid address"),
            tls_cert: None,
            tls_key: None,
            tls_self_signed: false,
        }
    }
}

/// A database's file path, from a path or a `sqlite:`/`sqlite://` URL (its
/// query left out).
pub fn database_file(database: &str) -> &str {
    let path = database
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    path.split('?').next().unwrap_or(path)
}
