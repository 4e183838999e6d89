//! The databases test servers serve: a SQLite file in a temporary
//! directory, or a new database on the PostgreSQL server the run names.

use crate::WAIT;
use std::sync::Arc;

/// The environment variable that runs the tests on PostgreSQL: the URL of
/// a server (`postgres://user@127.0.0.1:PORT`) where each test server gets
/// a new database. Unset, they run on SQLite files.
pub const POSTGRES_ENV: &str = "CLUBHALL_TEST_POSTGRES";

/// Whether this run's test servers use PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var_os(POSTGRES_ENV).is_some()
}

/// A test server's place: a temporary directory, and the database it
/// serves, SQLite's file in that directory or a new PostgreSQL database.
pub struct Place {
    pub dir: tempfile::TempDir,
    pub database: String,
}

impl Place {
    pub async fn new() -> Arc<Place> {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = new_database(dir.path()).await;
        Arc::new(Place { dir, database })
    }

    /// Runs `batch` (statements separated by `;`) on the database itself,
    /// as an older server or a fault would have written it.
    pub async fn sql(&self, batch: &str) {
        if let Err(e) = self.try_sql(batch).await {
            panic!("{batch}: {e}");
        }
    }

    /// `sql`, answering the database's refusal.
    pub async fn try_sql(&self, batch: &str) -> Result<(), String> {
        if self.database.contains("://") {
            let client = pg_connect(&self.database)
                .await
                .expect("the test database can be reached");
            client
                .batch_execute(batch)
                .await
                .map_err(|e| match e.as_db_error() {
                    Some(db) => db.message().to_owned(),
                    None => e.to_string(),
                })
        } else {
            let c = rusqlite::Connection::open(&self.database).expect("the SQLite file opens");
            c.busy_timeout(WAIT).expect("a busy timeout");
            c.execute_batch(batch).map_err(|e| e.to_string())
        }
    }
}

/// A connection to the PostgreSQL database at `url`; its socket is driven
/// by a task of its own, which ends when the client is dropped.
pub async fn pg_connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| anyhow::anyhow!("connecting to {url}: {e}"))?;
    tokio::spawn(connection);
    Ok(client)
}

/// A new, empty database for a server: a SQLite file in `dir`, or on
/// PostgreSQL (see [`POSTGRES_ENV`]) a database of its own.
pub async fn new_database(dir: &std::path::Path) -> String {
    let server = std::env::var(POSTGRES_ENV).ok();
    new_database_on(server.as_deref(), dir)
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_ENV}: {e}"))
}

/// A new, empty database: a SQLite file in `dir`, or a database of its own
/// on the PostgreSQL server at `postgres` (`postgres://user@host:port`).
pub async fn new_database_on(
    postgres: Option<&str>,
    dir: &std::path::Path,
) -> anyhow::Result<String> {
    let Some(server) = postgres else {
        return Ok(dir.join("club.db").to_string_lossy().into_owned());
    };
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let name = format!(
        "t_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        rand::random::<u32>()
    );
    pg_connect(&format!("{server}/postgres"))
        .await?
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await?;
    Ok(format!("{server}/{name}"))
}

/// Waits until no server holds a SQLite database's lock file. A server
/// stopped in this process lets go of it at once, but a child process this
/// process forked meanwhile (an agent's lock command) holds a copy of the
/// file until it execs: the lock is free only then.
pub(crate) async fn wait_for_the_lock(database: &str) {
    if database.contains("://") {
        return;
    }
    let lock = club_server::store::lock_file(std::path::Path::new(database));
    if !lock.exists() {
        return;
    }
    let waiting = tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new().write(true).open(&lock)?;
        file.lock()
    });
    tokio::time::timeout(WAIT, waiting)
        .await
        .expect("the database's lock is let go in time")
        .expect("waiting for the lock")
        .expect("locking the database's lock file");
}
