//! The server's settings: flags, each also read from a `CLUB_` variable
//! and from a TOML file (`--config FILE`) under the flag's own name; a flag
//! wins over its variable, and both over the file.

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::net::SocketAddr;

/// Clubhall club server.
#[derive(Debug, Parser)]
#[command(
    name = "club-server",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What `club-server` does besides serving.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Makes an online, consistent copy of the club's database, also while
    /// the server runs, and checks the copy.
    Backup {
        /// The database to copy (a path or sqlite:// URL).
        #[arg(long, env = "CLUB_DATABASE", default_value = "./clubhall.db")]
        database: String,
        /// The copy; it must not exist yet.
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Replaces a stopped server's database with a backup, keeping the
    /// replaced files beside it.
    Restore {
        /// The backup to restore (made by `club-server backup`).
        #[arg(long)]
        from: std::path::PathBuf,
        /// The database to replace (a path or sqlite:// URL).
        #[arg(long, env = "CLUB_DATABASE", default_value = "./clubhall.db")]
        database: String,
    },
    /// Asks a running server whether it is ready (`GET /readyz`); exits 0
    /// if it is, 1 if not. For container and service-manager health checks.
    Health {
        /// The server's address.
        #[arg(long, env = "CLUB_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
}

/// A password or token from the configuration: never printed, never
/// logged (its Debug is a placeholder).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(\"***\")")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines; coloured only on a terminal.
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// A TOML file with any of these settings under the flags' names
    /// (`listen = "0.0.0.0:8080"`); flags and CLUB_ variables win over it.
    #[arg(long, env = "CLUB_CONFIG")]
    pub config: Option<std::path::PathBuf>,

    /// Address to listen on.
    #[arg(long, env = "CLUB_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// SQLite file path or sqlite:// URL (one club), or a PostgreSQL
    /// postgres:// URL (a chain's shared database); created or migrated on
    /// first start.
    #[arg(long, env = "CLUB_DATABASE", default_value = "./clubhall.db")]
    pub database: String,

    /// A directory for the server's own files: its self-signed certificate
    /// and the demo PCs' state. By default they are kept beside the SQLite
    /// file; with PostgreSQL, --tls-self-signed and --demo need it.
    #[arg(long, env = "CLUB_STATE_DIR")]
    pub state_dir: Option<std::path::PathBuf>,

    /// Password for the first Owner of a new database (generated and printed once if absent).
    #[arg(long, env = "CLUB_OWNER_PASSWORD", hide_env_values = true)]
    pub owner_password: Option<Secret>,

    /// `text`, or `json` for one JSON object per line.
    #[arg(long, env = "CLUB_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// A bearer token that lets other machines read /metrics (loopback
    /// needs none; without a token, only loopback may read them).
    #[arg(long, env = "CLUB_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<Secret>,

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
    /// DATABASE.tls-key.pem), or in --state-dir (clubhall.tls-cert.pem …).
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

    /// Where the server's own files go, as a path their suffixes are added
    /// to: `STATE_DIR/clubhall`, or the SQLite file's own path.
    pub fn files_base(&self) -> anyhow::Result<String> {
        match &self.state_dir {
            Some(dir) => Ok(dir.join("clubhall").to_string_lossy().into_owned()),
            None if crate::store::is_postgres_url(&self.database) => anyhow::bail!(
                "with a PostgreSQL database, the self-signed certificate and the demo PCs need \
                 a directory of their own: set --state-dir"
            ),
            None => Ok(self.database_file().to_owned()),
        }
    }

    /// The TLS the configuration asks for, if any (made or read now).
    pub fn tls(&self) -> anyhow::Result<Option<crate::tls::Tls>> {
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            return crate::tls::load(cert, key).map(Some);
        }
        if self.tls_self_signed {
            let (cert, key) = crate::tls::self_signed_paths(&self.files_base()?);
            return crate::tls::self_signed(&cert, &key, crate::tls::names_for(self.listen))
                .map(Some);
        }
        Ok(None)
    }

    /// A configuration for tests and embedding: loopback, the given database.
    pub fn for_database(database: impl Into<String>) -> Self {
        Config {
            listen: "127.0.0.1:0".parse().expect("valid address"),
            config: None,
            database: database.into(),
            state_dir: None,
            owner_password: None,
            log_format: LogFormat::Text,
            metrics_token: None,
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

/// The command line as given, with the `--config` file's settings for
/// whatever neither a flag nor a `CLUB_` variable set.
pub fn parse_from(args: Vec<OsString>) -> anyhow::Result<Cli> {
    let cmd = Cli::command();
    let matches = cmd.clone().try_get_matches_from(&args)?;
    let path = matches.get_one::<std::path::PathBuf>("config");
    let (Some(path), None) = (path, matches.subcommand_name()) else {
        return Ok(Cli::from_arg_matches(&matches)?);
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("reading the config file {}: {e}", path.display()))?;
    let extra = file_args(&cmd, &text, &matches)
        .map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))?;
    let mut all = Vec::with_capacity(args.len() + extra.len());
    let mut given = args.into_iter();
    all.extend(given.next());
    all.extend(extra);
    all.extend(given);
    Ok(Cli::from_arg_matches(&cmd.try_get_matches_from(all)?)?)
}

/// A TOML file's settings as flags, leaving out those the command line or
/// the environment already set.
fn file_args(
    cmd: &clap::Command,
    text: &str,
    given: &clap::ArgMatches,
) -> anyhow::Result<Vec<OsString>> {
    let table: toml::Table = text.parse()?;
    let mut out = Vec::new();
    for (key, value) in table {
        let id = key.replace('-', "_");
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_id().as_str() == id && a.get_long().is_some() && id != "config")
            .ok_or_else(|| anyhow::anyhow!("unknown setting `{key}` (settings are the flags' names: listen, database, demo, …)"))?;
        use clap::parser::ValueSource;
        if matches!(
            given.value_source(&id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        let flag = format!("--{}", arg.get_long().unwrap_or(&id));
        let is_switch = matches!(arg.get_action(), clap::ArgAction::SetTrue);
        match value {
            toml::Value::Boolean(on) if is_switch => {
                if on {
                    out.push(flag.into());
                }
            }
            _ if is_switch => anyhow::bail!("`{key}` is true or false"),
            toml::Value::String(v) => out.push(format!("{flag}={v}").into()),
            toml::Value::Integer(v) => out.push(format!("{flag}={v}").into()),
            toml::Value::Float(v) => out.push(format!("{flag}={v}").into()),
            _ => anyhow::bail!("`{key}` is a string or a number"),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], file: Option<&str>) -> anyhow::Result<Cli> {
        let dir = tempfile::tempdir().unwrap();
        let mut all: Vec<OsString> = args.iter().map(OsString::from).collect();
        if let Some(text) = file {
            let path = dir.path().join("club.toml");
            std::fs::write(&path, text).unwrap();
            all.push("--config".into());
            all.push(path.into());
        }
        all.insert(0, "club-server".into());
        parse_from(all)
    }

    #[test]
    fn the_file_fills_what_the_flags_leave_out_and_flags_win() {
        let file = "listen = \"0.0.0.0:9000\"\ndatabase = \"/var/lib/club.db\"\n\
                    demo = true\nlog-format = \"json\"\ntoken_ttl_hours = 8\n";
        let cli = parse(&["--listen", "127.0.0.1:7000"], Some(file)).unwrap();
        let c = cli.config;
        assert_eq!(c.listen, "127.0.0.1:7000".parse().unwrap(), "the flag wins");
        assert_eq!(c.database, "/var/lib/club.db");
        assert!(c.demo);
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.token_ttl_hours, 8, "snake_case names work too");
    }

    #[test]
    fn an_unknown_or_mistyped_setting_is_an_error_that_names_it() {
        let e = parse(&[], Some("lsiten = \"0.0.0.0:1\"\n")).unwrap_err();
        assert!(e.to_string().contains("unknown setting `lsiten`"), "{e}");
        let e = parse(&[], Some("demo = \"yes\"\n")).unwrap_err();
        assert!(e.to_string().contains("`demo` is true or false"), "{e}");
        let e = parse(&[], Some("listen = [1]\n")).unwrap_err();
        assert!(e.to_string().contains("`listen` is a string"), "{e}");
        let e = parse(&[], Some("token-ttl-hours = \"soon\"\n")).unwrap_err();
        assert!(e.to_string().contains("soon"), "{e}");
    }

    #[test]
    fn secrets_never_show_in_a_debug_print() {
        let file = "owner-password = \"hunter2-owner\"\nmetrics-token = \"m3trics-t0ken\"\n";
        let cli = parse(&[], Some(file)).unwrap();
        let printed = format!("{cli:?} {:#?}", cli.config);
        assert!(!printed.contains("hunter2-owner"), "{printed}");
        assert!(!printed.contains("m3trics-t0ken"), "{printed}");
        assert_eq!(cli.config.owner_password.unwrap().expose(), "hunter2-owner");
    }

    #[test]
    fn maintenance_commands_parse_without_the_server_flags() {
        let cli = parse(&["backup", "--database", "a.db", "--to", "b.db"], None).unwrap();
        assert!(matches!(cli.command, Some(Command::Backup { .. })));
        assert!(parse(&["--demo", "backup", "--to", "b.db"], None).is_err());
    }

    #[test]
    fn a_postgresql_server_keeps_its_own_files_in_the_state_directory() {
        let mut c = Config::for_database("/var/lib/club.db");
        assert_eq!(c.files_base().unwrap(), "/var/lib/club.db");
        c.database = "postgres://club@127.0.0.1/chain".into();
        let e = c.files_base().unwrap_err().to_string();
        assert!(e.contains("--state-dir"), "{e}");
        c.state_dir = Some("/var/lib/clubhall".into());
        assert_eq!(c.files_base().unwrap(), "/var/lib/clubhall/clubhall");
    }
}
