use club_server::clock::SystemClock;
use club_server::config::{Cli, Command, Config, LogFormat};
use club_server::{App, Started};
use std::io::IsTerminal;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// glibc's allocator cost the server about a seventh of its time in the
/// durable benchmark (many small allocations freed on other threads).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = match club_server::config::parse_from(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(e) => match e.downcast::<clap::Error>() {
            // --help and --version too: clap prints and exits.
            Ok(clap_error) => clap_error.exit(),
            Err(e) => {
                eprintln!("club-server: {e:#}");
                return std::process::ExitCode::from(2);
            }
        },
    };
    init_logs(cli.config.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("club-server: starting the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let Cli { config, command } = cli;
    let result = runtime.block_on(async move {
        match command {
            None => serve(config).await,
            Some(Command::Backup { database, to }) => {
                club_server::ops::backup(&database, &to).map(|summary| println!("{summary}"))
            }
            Some(Command::Restore { from, database }) => {
                club_server::ops::restore(&from, &database).map(|summary| println!("{summary}"))
            }
            Some(Command::Health { listen }) => club_server::ops::health(listen).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("club-server: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Logs to standard output, coloured only on a terminal. The in-process
/// demo agents log only their warnings (`RUST_LOG` overrides all of this).
fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,club_agent=warn"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => logs.with_ansi(std::io::stdout().is_terminal()).init(),
        LogFormat::Json => logs.json().with_current_span(true).init(),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    stop_on_signal(shutdown.clone())?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let app = App::open(&config, Arc::new(SystemClock)).await?;
    tracing::info!(addr = %listener.local_addr()?, database = %club_server::store::redacted_database(&config.database), "club-server started");
    // Secrets go to the terminal once, never to the log: the whole block
    // is printed after start-up, the last thing on the screen.
    let mut block = String::new();
    if let Some(p) = &app.generated_owner_password {
        block +=
            &format!("New database: sign in as `owner` with password `{p}` (shown only once).\n");
    }
    if let Some(demo) = &app.demo {
        block += "Demo hall ready. Staff logins:\n";
        for (login, password, role) in &demo.operators {
            block += &format!("  {login:<8} {password:<20} {role}\n");
        }
        block += "Player app logins (phone / PIN):\n";
        for (phone, pin) in &demo.players {
            block += &format!("  {phone} / {pin}\n");
        }
    }
    let fingerprint = app.tls.as_ref().map(|t| t.cert_sha256.clone());
    let app = app.on_started(move |started| {
        print!("{block}{}", started_block(&started, fingerprint.as_deref()));
    });
    app.serve(listener, shutdown).await?;
    tracing::info!("club-server stopped");
    Ok(())
}

fn started_block(s: &Started, fingerprint: Option<&str>) -> String {
    let mut out = String::new();
    let demo = &s.demo_agents;
    if demo.built_without {
        out += "Built without the demo-agents feature: the demo PCs stay offline.\n";
    }
    if !demo.screens.is_empty() {
        out += "Demo PCs run the agent in this process. Their lock screens:\n";
        for (name, addr) in &demo.screens {
            out += &format!("  {name:<7} http://{addr}/\n");
        }
    }
    if !demo.left_alone.is_empty() {
        out += &format!(
            "Left alone, enrolled by an agent of their own or disabled: {}\n",
            demo.left_alone.join(", ")
        );
    }
    let (scheme, addr) = (s.scheme, s.addr);
    out += &format!(
        "Clubhall is listening on {scheme}://{addr}  (operator page: {scheme}://{addr}/, API document: {scheme}://{addr}/api/v1/openapi.json)\n"
    );
    match fingerprint {
        Some(sha) => {
            out += &format!(
            "TLS certificate SHA-256: {sha}  (agents enroll with --server-cert-sha256 and this)\n"
        )
        }
        None if !addr.ip().is_loopback() => tracing::warn!(
            %addr,
            "serving plain HTTP beyond this machine: staff passwords, tokens and device secrets \
             cross the network readable; use --tls-cert/--tls-key or --tls-self-signed"
        ),
        None => {}
    }
    out
}

/// Listens for SIGTERM and SIGINT from the start (a service manager may
/// stop the server the moment it is up), cancelling `shutdown` on either.
#[cfg(unix)]
fn stop_on_signal(shutdown: CancellationToken) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("shutting down");
        shutdown.cancel();
    });
    Ok(())
}

#[cfg(not(unix))]
fn stop_on_signal(shutdown: CancellationToken) -> anyhow::Result<()> {
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
        shutdown.cancel();
    });
    Ok(())
}
