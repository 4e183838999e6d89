//! club-agent: the command line over the agent library.

use anyhow::Context;
use clap::{Parser, Subcommand};
use club_agent::cli::RunArgs;
use club_agent::state::StateDir;
use club_agent::LocalStatus;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "club-agent", version, about = "Clubhall PC agent")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Exchange a one-time enrollment code for this PC's device secret.
    Enroll {
        /// The club server, e.g. http://10.0.0.2:8080 or https://10.0.0.2:8443;
        /// several servers on one database comma-separated, tried in turn
        #[arg(long)]
        server: String,
        #[arg(long)]
        code: String,
        /// For an https:// server: the SHA-256 of its certificate, shown with
        /// the enrollment code. The PC trusts that certificate and no other.
        #[arg(long)]
        server_cert_sha256: Option<String>,
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
    /// Run the agent daemon (starts locked).
    Run {
        #[command(flatten)]
        run: RunArgs,
        /// Started by the Windows service manager (`service install`
        /// registers it so).
        #[arg(long, hide = true)]
        service: bool,
    },
    /// The agent as a service: started at boot, restarted whenever it ends.
    Service {
        #[command(subcommand)]
        action: ServiceAction,
    },
    /// Press Start, as the player would on the lock screen.
    Start {
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
    /// Print the agent's local state as JSON.
    Status {
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ServiceAction {
    /// Windows: register a LocalSystem service (automatic start, restarted
    /// on any failure) that runs with these options. Linux: install the
    /// systemd units (the daemon, and club-lock in the player's session),
    /// then enable and start them.
    Install {
        #[cfg(windows)]
        #[command(flatten)]
        run: Box<RunArgs>,
        #[cfg(unix)]
        #[command(flatten)]
        install: club_agent::service::InstallArgs,
    },
    /// Stop and remove the service (the device secret is kept).
    Uninstall,
    Start,
    Stop,
    /// The service's state; a non-zero exit when it is not running.
    Status,
}

fn init_logging(service: bool, state_dir: &StateDir) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    if service {
        // A service has no terminal: its log is a file in its state dir,
        // started afresh when it has grown past 10 MB.
        let path = state_dir.dir.join("club-agent.log");
        if std::fs::metadata(&path).is_ok_and(|m| m.len() > 10 << 20) {
            let _ = std::fs::rename(&path, path.with_extension("log.old"));
        }
        let _ = std::fs::create_dir_all(&state_dir.dir);
        if let Ok(file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
        {
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .init();
            return;
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        Command::Run { run, service } => {
            init_logging(*service, &StateDir::resolve(run.state_dir.clone()))
        }
        _ => init_logging(false, &StateDir::resolve(None)),
    }
    match cli.command {
        Command::Run { run, service } => {
            let opts = run.options()?;
            if let Some(exe) = &opts.lock_screen {
                tracing::info!(lock_screen = %exe.display(), "supervising the lock screen");
            }
            if service {
                #[cfg(windows)]
                return club_agent::service::dispatch(opts);
                #[cfg(not(windows))]
                anyhow::bail!("--service is for the Windows service manager");
            }
            runtime()?.block_on(run_daemon(opts))
        }
        Command::Service { action } => match action {
            #[cfg(windows)]
            ServiceAction::Install { run } => club_agent::service::install(&run),
            #[cfg(unix)]
            ServiceAction::Install { install } => club_agent::service::install(&install),
            ServiceAction::Uninstall => club_agent::service::uninstall(),
            ServiceAction::Start => club_agent::service::start(),
            ServiceAction::Stop => club_agent::service::stop(),
            ServiceAction::Status => club_agent::service::status(),
        },
        Command::Enroll {
            server,
            code,
            server_cert_sha256,
            state_dir,
        } => runtime()?.block_on(async {
            let dir = StateDir::resolve(state_dir);
            let device_id =
                club_agent::enroll(&dir, &server, &code, server_cert_sha256.as_deref()).await?;
            println!(
                "Enrolled as device {device_id}; the secret is in {}",
                dir.dir.display()
            );
            Ok(())
        }),
        Command::Start { state_dir } => runtime()?.block_on(async {
            let addr = StateDir::resolve(state_dir).load_ui_addr()?;
            let (status, body) =
                club_agent::http::request("POST", &format!("http://{addr}/api/start"), None)
                    .await?;
            println!("{}", String::from_utf8_lossy(&body));
            if status != 200 {
                std::process::exit(1);
            }
            Ok(())
        }),
        Command::Status { state_dir } => runtime()?.block_on(async {
            let addr = StateDir::resolve(state_dir).load_ui_addr()?;
            let (_, body) =
                club_agent::http::request("GET", &format!("http://{addr}/api/status"), None)
                    .await?;
            let st: LocalStatus =
                serde_json::from_slice(&body).context("reading the agent's status")?;
            let out = serde_json::json!({
                "connected": st.connected,
                "locked": st.locked,
                "session": st.session.as_ref().map(|s| serde_json::json!({
                    "id": s.id, "client_name": s.client_name, "status": s.status, "ends_at": s.ends_at
                })),
                "seconds_left": st.seconds_left,
                "lock_hook": st.lock_hook,
                "lock_screen_problem": st.lock_screen_problem,
            });
            println!("{out}");
            Ok(())
        }),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// The daemon in the foreground (a terminal, or systemd's service): until
/// Ctrl+C or SIGTERM.
async fn run_daemon(opts: club_agent::AgentOptions) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let self_update = opts.self_update.clone();
    let (handle, mut done) = club_agent::run(opts, shutdown.clone()).await?;
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    #[cfg(unix)]
    {
        let stop = shutdown.clone();
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::spawn(async move {
            term.recv().await;
            stop.cancel();
        });
    }
    tokio::select! {
        r = &mut done => return Ok(r?),
        _ = handle.restart_requested() => {}
    }
    // A new build is in place (or the previous one is back): stop, then
    // start again as that build.
    shutdown.cancel();
    done.await?;
    match self_update {
        Some(su) => Err(club_agent::update::restart(&su)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }

    /// The systemd unit's command line (continuation lines joined, the
    /// player's account filled in, double quotes grouping words as systemd
    /// groups them) is one this club-agent accepts.
    #[test]
    fn the_system_units_command_line_parses() {
        use clap::Parser;
        let unit = include_str!("../../packaging/linux/club-agent.service");
        let joined = unit.replace("\\\n", " ");
        let exec = joined
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .expect("an ExecStart line")
            .replace("${CLUB_LOCK_SCREEN_USER}", "player");
        let mut words = Vec::new();
        let mut word = String::new();
        let mut quoted = false;
        for c in exec.chars() {
            match c {
                '"' => quoted = !quoted,
                ' ' if !quoted => {
                    if !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                }
                c => word.push(c),
            }
        }
        words.push(word);
        assert_eq!(words[0], "/usr/local/bin/club-agent");
        let cli = super::Cli::try_parse_from(&words).expect("the unit's arguments parse");
        let super::Command::Run { run, service } = cli.command else {
            panic!("the unit runs `club-agent run`");
        };
        assert!(!service);
        assert_eq!(
            run.lock_screen.as_deref(),
            Some(std::path::Path::new("none"))
        );
        assert_eq!(
            run.lock_screen_restart_cmd.as_deref(),
            Some("systemctl --user --machine=player@ start club-lock.service")
        );
    }
}
