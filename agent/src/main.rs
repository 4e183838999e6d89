//! club-agent: the command line over the agent library.

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use club_agent::state::StateDir;
use club_agent::{AgentOptions, LocalStatus};
use std::net::SocketAddr;
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
        /// The club server, e.g. http://10.0.0.2:8080 or https://10.0.0.2:8443
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
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// Where the lock screen listens (loopback).
        #[arg(long, default_value = "127.0.0.1:7480")]
        ui_listen: SocketAddr,
        /// Runs through `sh -c` (`cmd /C` on Windows) when the PC must lock.
        #[arg(long)]
        lock_cmd: Option<String>,
        /// Runs when the server unlocks the PC.
        #[arg(long)]
        unlock_cmd: Option<String>,
        /// Lock and unlock commands still running after this are killed and
        /// count as failed.
        #[arg(long, default_value_t = 30)]
        hook_timeout_seconds: u64,
        /// The lock screen to start and keep running. Default: `club-lock`
        /// beside this executable, in a graphical session (DISPLAY or
        /// WAYLAND_DISPLAY set, or on Windows); `none` starts none.
        #[arg(long)]
        lock_screen: Option<PathBuf>,
        /// The lock screen's local channel (default: lock.sock in the state
        /// dir; on Windows the named pipe \\.\pipe\clubhall-lock).
        #[arg(long)]
        lock_channel: Option<PathBuf>,
        /// Unix: the account (name or uid) whose club-lock may use the lock
        /// channel, when the daemon runs as a system service and club-lock in
        /// the player's graphical session. The socket is given to it.
        #[arg(long)]
        lock_screen_user: Option<String>,
        /// Runs when the desk reboots the PC.
        #[arg(long, default_value = club_agent::DEFAULT_REBOOT_CMD)]
        reboot_cmd: String,
        /// Runs when the desk shuts the PC down.
        #[arg(long, default_value = club_agent::DEFAULT_SHUTDOWN_CMD)]
        shutdown_cmd: String,
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

/// `--lock-screen`, or `club-lock` beside this executable when there is a
/// display to show it on.
fn lock_screen_path(arg: Option<PathBuf>) -> anyhow::Result<Option<PathBuf>> {
    match arg {
        Some(p) if p.as_os_str() == "none" => Ok(None),
        Some(p) => Ok(Some(p)),
        None => {
            let graphical = cfg!(windows)
                || std::env::var_os("DISPLAY").is_some()
                || std::env::var_os("WAYLAND_DISPLAY").is_some();
            if !graphical {
                return Ok(None);
            }
            let exe = std::env::current_exe().context("finding club-agent's own path")?;
            let name = format!("club-lock{}", std::env::consts::EXE_SUFFIX);
            Ok(exe.parent().map(|d| d.join(name)))
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Enroll {
            server,
            code,
            server_cert_sha256,
            state_dir,
        } => {
            let dir = StateDir::resolve(state_dir);
            let device_id =
                club_agent::enroll(&dir, &server, &code, server_cert_sha256.as_deref()).await?;
            println!(
                "Enrolled as device {device_id}; the secret is in {}",
                dir.dir.display()
            );
            Ok(())
        }
        Command::Run {
            state_dir,
            ui_listen,
            lock_cmd,
            unlock_cmd,
            hook_timeout_seconds,
            lock_screen,
            reboot_cmd,
            shutdown_cmd,
            lock_channel,
            lock_screen_user,
        } => {
            if !ui_listen.ip().is_loopback() {
                bail!(
                    "--ui-listen must be a loopback address: the lock screen is for this PC only"
                );
            }
            let mut opts = AgentOptions::new(StateDir::resolve(state_dir), ui_listen);
            opts.lock_cmd = lock_cmd;
            opts.unlock_cmd = unlock_cmd;
            opts.hook_timeout = std::time::Duration::from_secs(hook_timeout_seconds);
            opts.lock_screen = lock_screen_path(lock_screen)?;
            opts.reboot_cmd = reboot_cmd;
            opts.shutdown_cmd = shutdown_cmd;
            if let Some(path) = lock_channel {
                opts.lock_channel = Some(path);
            }
            opts.lock_screen_uid = match lock_screen_user {
                Some(user) => Some(club_agent::state::uid_of(&user)?),
                None => None,
            };
            if let Some(exe) = &opts.lock_screen {
                tracing::info!(lock_screen = %exe.display(), "supervising the lock screen");
            }
            let shutdown = CancellationToken::new();
            let (_handle, done) = club_agent::run(opts, shutdown.clone()).await?;
            let stop = shutdown.clone();
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                stop.cancel();
            });
            #[cfg(unix)]
            {
                let stop = shutdown.clone();
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
                tokio::spawn(async move {
                    term.recv().await;
                    stop.cancel();
                });
            }
            done.await?;
            Ok(())
        }
        Command::Start { state_dir } => {
            let addr = StateDir::resolve(state_dir).load_ui_addr()?;
            let (status, body) =
                club_agent::http::request("POST", &format!("http://{addr}/api/start"), None)
                    .await?;
            println!("{}", String::from_utf8_lossy(&body));
            if status != 200 {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Status { state_dir } => {
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
        }
    }
}
