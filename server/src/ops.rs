//! The IT person's commands: `club-server backup`, `restore` and `health`.
//!
//! A backup is `VACUUM INTO` on its own connection: one read transaction,
//! so the copy is the database as one moment left it, while the server
//! goes on writing (WAL readers never block the writer). The copy is
//! written under a temporary name, checked with `PRAGMA integrity_check`,
//! synced, and only then given its name: a file with the backup's name is
//! a whole, checked backup.

use crate::config::database_file;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the backup waits for a lock another connection holds (only a
/// checkpoint can hold one that long).
const BUSY: Duration = Duration::from_secs(30);

/// What a database holds, in a line.
struct Contents {
    schema: i64,
    clients: i64,
    sessions: i64,
    ledger: i64,
}

impl std::fmt::Display for Contents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "schema version {}, {} clients, {} sessions, {} ledger entries",
            self.schema, self.clients, self.sessions, self.ledger
        )
    }
}

/// Checks a database file whole and says what it holds; an error if it is
/// damaged or not a Clubhall database this build can serve.
fn check(path: &Path) -> anyhow::Result<Contents> {
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    c.busy_timeout(BUSY)?;
    let integrity: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| {
            anyhow::anyhow!("{} is not a readable SQLite database: {e}", path.display())
        })?;
    anyhow::ensure!(
        integrity == "ok",
        "{} failed its integrity check: {integrity}",
        path.display()
    );
    let count = |sql: &str| -> anyhow::Result<i64> {
        c.query_row(sql, [], |r| r.get::<_, Option<i64>>(0))
            .map(|n| n.unwrap_or(0))
            .map_err(|e| anyhow::anyhow!("{} is not a Clubhall database: {e}", path.display()))
    };
    let contents = Contents {
        schema: count("SELECT MAX(version) FROM schema_migrations")?,
        clients: count("SELECT COUNT(*) FROM clients")?,
        sessions: count("SELECT COUNT(*) FROM sessions")?,
        ledger: count("SELECT COUNT(*) FROM ledger")?,
    };
    let latest = crate::store::latest_migration();
    anyhow::ensure!(
        contents.schema <= latest,
        "{} comes from a newer club-server (schema version {}, this one knows up to {latest})",
        path.display(),
        contents.schema
    );
    Ok(contents)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Syncs a file, then its directory (so that its new name is durable too).
fn sync(path: &Path) -> anyhow::Result<()> {
    std::fs::File::open(path)?.sync_all()?;
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Backup and restore are of SQLite's file; PostgreSQL has its own tools.
fn not_postgres(database: &str, tool: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        !crate::store::is_postgres_url(database),
        "backup and restore work on a SQLite file; a PostgreSQL database is copied with \
         PostgreSQL's own {tool} (or its continuous archiving)"
    );
    Ok(())
}

/// `club-server backup --database DB --to FILE`: an online, consistent,
/// checked copy. Never overwrites a file.
pub fn backup(database: &str, to: &Path) -> anyhow::Result<String> {
    not_postgres(database, "pg_dump")?;
    let from = Path::new(database_file(database));
    anyhow::ensure!(from.is_file(), "there is no database at {}", from.display());
    anyhow::ensure!(
        !to.exists(),
        "{} exists already: a backup never overwrites a file",
        to.display()
    );
    let partial = with_suffix(to, ".partial");
    if partial.exists() {
        // What a backup that died half-way left.
        std::fs::remove_file(&partial)?;
    }
    let started = std::time::Instant::now();
    let result = (|| -> anyhow::Result<Contents> {
        // Read-write without create: the file must exist, and a reader of
        // a WAL database may have to create its shared-memory index.
        let c = Connection::open_with_flags(
            from,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        c.busy_timeout(BUSY)?;
        let target = partial
            .to_str()
            .ok_or_else(|| anyhow::anyhow!("{} is not a UTF-8 path", partial.display()))?;
        c.execute("VACUUM INTO ?1", [target])
            .map_err(|e| anyhow::anyhow!("copying {}: {e}", from.display()))?;
        drop(c);
        let contents = check(&partial)?;
        sync(&partial)?;
        Ok(contents)
    })();
    let contents = match result {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, to)?;
    sync(to)?;
    let size = std::fs::metadata(to)?.len();
    Ok(format!(
        "Backed up {} to {} in {:.1} s: {:.1} MiB, integrity ok, {contents}.",
        from.display(),
        to.display(),
        started.elapsed().as_secs_f64(),
        size as f64 / (1024.0 * 1024.0)
    ))
}

/// `club-server restore --from FILE --database DB`: the database becomes
/// the backup. Refused while a server uses the database; the replaced
/// files are kept beside it, renamed.
pub fn restore(from: &Path, database: &str) -> anyhow::Result<String> {
    not_postgres(database, "pg_restore")?;
    let target = Path::new(database_file(database));
    let contents = check(from)?;
    let _held = crate::store::hold(target)?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let mut kept = Vec::new();
    if target.exists() {
        // The database and its log move aside together, so the kept copy
        // is whole.
        let aside = with_suffix(target, &format!(".replaced-{stamp}"));
        for suffix in ["", "-wal", "-shm"] {
            let file = with_suffix(target, suffix);
            if file.exists() {
                let to = with_suffix(&aside, suffix);
                std::fs::rename(&file, &to)?;
                if suffix.is_empty() {
                    kept.push(to.display().to_string());
                }
            }
        }
    }
    let restoring = with_suffix(target, ".restoring");
    std::fs::copy(from, &restoring)?;
    sync(&restoring)?;
    std::fs::rename(&restoring, target)?;
    sync(target)?;
    let kept = match kept.first() {
        Some(k) => format!(" The replaced database is kept as {k}."),
        None => String::new(),
    };
    Ok(format!(
        "Restored {} from {} ({contents}).{kept} Start the server on it.",
        target.display(),
        from.display()
    ))
}

/// `club-server health`: GET /readyz on the server at `listen` (loopback if
/// it listens on every address); Ok if it answers 200.
pub async fn health(listen: std::net::SocketAddr) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut addr = listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let answer = tokio::time::timeout(Duration::from_secs(5), async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(
            format!("GET /readyz HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
        let mut answer = Vec::new();
        s.take(64 * 1024).read_to_end(&mut answer).await?;
        anyhow::Ok(String::from_utf8_lossy(&answer).into_owned())
    })
    .await
    .map_err(|_| anyhow::anyhow!("no answer from {addr} within 5 s"))?
    .map_err(|e| anyhow::anyhow!("asking {addr}: {e}"))?;
    let status = answer.split_whitespace().nth(1).unwrap_or("");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("").trim();
    anyhow::ensure!(status == "200", "not ready ({status}): {body}");
    println!("ready: {body}");
    Ok(())
}
