use clap::Parser;
use club_server::clock::SystemClock;
use club_server::config::Config;
use club_server::App;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();

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
    println!(
        "Clubhall is listening on http://{addr}  (API document: http://{addr}/api/v1/openapi.json)"
    );

    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    tracing::info!(%addr, database = %config.database, "club-server started");
    app.serve(listener, shutdown).await?;
    tracing::info!("club-server stopped");
    Ok(())
}

async fn stop_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM");
                    let _ = ctrl_c.await;
                    shutdown.cancel();
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
    shutdown.cancel();
}
