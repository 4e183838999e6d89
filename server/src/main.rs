use clap::Parser;
use club_server::clock::SystemClock;
use club_server::config::Config;
use club_server::App;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// glibc's allocator cost the server about a seventh of its time in the
/// durable benchmark (many small allocations freed on other threads).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let shutdown = CancellationToken::new();
    stop_on_signal(shutdown.clone())?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let app = App::open(&config, Arc::new(SystemClock)).await?;
    let addr = listener.local_addr()?;
    // Secrets go to the terminal once, never to the log.
    if let Some(p) = &app.generated_owner_password {
        println!("New database: sign in as `owner` with password `{p}` (shown only once).");
    }
    if let Some(demo) = &app.demo {
        println!("Demo hall ready. Staff logins:");
        for (login, password, role) in &demo.operators {
            println!("  {login:<8} {password:<20} {role}");
        }
        println!("Player app logins (phone / PIN):");
        for (phone, pin) in &demo.players {
            println!("  {phone} / {pin}");
        }
    }
    let scheme = if app.tls.is_some() { "https" } else { "http" };
    println!(
        "Clubhall is listening on {scheme}://{addr}  (API document: {scheme}://{addr}/api/v1/openapi.json)"
    );
    match &app.tls {
        Some(tls) => println!(
            "TLS certificate SHA-256: {}  (agents enroll with --server-cert-sha256 and this)",
            tls.cert_sha256
        ),
        None if !addr.ip().is_loopback() => tracing::warn!(
            %addr,
            "serving plain HTTP beyond this machine: staff passwords, tokens and device secrets \
             cross the network readable; use --tls-cert/--tls-key or --tls-self-signed"
        ),
        None => {}
    }

    tracing::info!(%addr, database = %config.database, "club-server started");
    app.serve(listener, shutdown).await?;
    tracing::info!("club-server stopped");
    Ok(())
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
