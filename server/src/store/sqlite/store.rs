//! The SQLite store: one writer connection (write transactions are BEGIN
//! IMMEDIATE and group-committed, see `writer`) and a pool of read-only
//! readers that never wait behind the writer (WAL).

use super::db::Db;
use super::writer::Tx;
use super::writer::{Done, Writer};
use crate::config::Synchronous;
use crate::store::sql::cache::Cache;
use crate::store::sql::Sql;
use crate::store::{Conn, Error, Result};
use chrono::Utc;
use rusqlite::OpenFlags;
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Readers at most: reads never wait behind the writer (WAL), only for a
/// free reader.
const READERS: usize = 4;
/// How long a read waits for a free reader before the server says busy.
const READER_PATIENCE: Duration = Duration::from_secs(5);
/// Only a checkpoint or a reader racing the WAL index can wait this long.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Every connection's settings: statement journals and sorts in memory
/// (an operation's savepoint would otherwise create, write and delete a
/// temporary file per statement that changes rows), and a page cache that
/// holds a batch's pages without spilling them early.
const TUNING: &str = "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -16384;";

#[derive(Clone)]
pub struct SqliteStore {
    writer: Writer,
    readers: Arc<Readers>,
    /// The server's hold on the database (see [`hold`]), let go at close.
    held: Arc<Mutex<Option<std::fs::File>>>,
}

/// The file a server holds locked while it serves a database: a second
/// server, and `club-server restore`, refuse to touch a database in use.
pub fn lock_file(database: &std::path::Path) -> PathBuf {
    let mut p = database.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

/// Locks `database`'s lock file for this process (let go when the file is
/// closed, also when the process dies), or says who has it. An in-memory
/// database needs no lock.
pub fn hold(database: &std::path::Path) -> anyhow::Result<Option<std::fs::File>> {
    let name = database.to_string_lossy();
    if name.is_empty() || name.contains(":memory:") || name.starts_with("file:") {
        return Ok(None);
    }
    let path = lock_file(database);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| {
            anyhow::anyhow!(
                "the database cannot be written (opening its lock file {}: {e}): check that the \
                 account the server runs as owns the file and its directory, that the disk is not \
                 full and not mounted read-only",
                path.display()
            )
        })?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another club-server is using the database {} (it holds {}); stop it first",
            database.display(),
            path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            anyhow::bail!("locking {}: {e}", path.display())
        }
    }
}

struct Readers {
    path: PathBuf,
    cache: Arc<Cache>,
    idle: Mutex<Vec<Db>>,
    free: Arc<Semaphore>,
}

impl Readers {
    fn open(&self) -> Result<Db> {
        let c = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        c.busy_timeout(BUSY_TIMEOUT)?;
        let db = Db::with_cache(c, self.cache.clone());
        db.batch(TUNING)?;
        Ok(db)
    }
}

impl SqliteStore {
    pub async fn open(database: &str, synchronous: Synchronous) -> anyhow::Result<Self> {
        let path = PathBuf::from(crate::config::database_file(database));
        let held = hold(&path)?;
        // FULL: the writer's flusher fsyncs the WAL itself before it
        // answers, so SQLite's COMMIT need not (see `writer`).
        let sync = match synchronous {
            Synchronous::Full | Synchronous::Normal => "NORMAL",
            Synchronous::Off => "OFF",
        };
        let unwritable = |e: Error| {
            anyhow::anyhow!(
                "the database cannot be written ({e}): check that the account the server runs as \
                 owns the file and its directory, that the disk is not full and not mounted read-only"
            )
        };
        let cache = Arc::new(Cache::default());
        let writer = {
            let (path, cache) = (path.clone(), cache.clone());
            tokio::task::spawn_blocking(move || -> anyhow::Result<Db> {
                let c = rusqlite::Connection::open_with_flags(
                    &path,
                    OpenFlags::SQLITE_OPEN_READ_WRITE
                        | OpenFlags::SQLITE_OPEN_CREATE
                        | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(|e| unwritable(e.into()))?;
                c.busy_timeout(BUSY_TIMEOUT)
                    .map_err(|e| unwritable(e.into()))?;
                let db = Db::with_cache(c, cache);
                let mode: String = db
                    .first("PRAGMA journal_mode = WAL", &[])
                    .map_err(unwritable)?;
                if !mode.eq_ignore_ascii_case("wal") {
                    anyhow::bail!("the database cannot use WAL mode (it answered {mode})");
                }
                db.batch(&format!(
                    "PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON; {TUNING}"
                ))
                .map_err(unwritable)?;
                probe_writable(&db).map_err(unwritable)?;
                super::migrate::run(&db, Utc::now().timestamp_millis())?;
                Ok(db)
            })
            .await??
        };
        let writer = match synchronous {
            Synchronous::Full => {
                // SQLite names the WAL after the database file as it
                // resolved it (symbolic links followed).
                let file = writer.raw().path().map(PathBuf::from);
                let mut wal = file.unwrap_or_else(|| path.clone()).into_os_string();
                wal.push("-wal");
                Writer::flushing(writer, wal.into())
            }
            Synchronous::Normal | Synchronous::Off => Writer::new(writer),
        };
        let readers = Arc::new(Readers {
            path,
            cache,
            idle: Mutex::new(Vec::new()),
            free: Arc::new(Semaphore::new(READERS)),
        });
        Ok(SqliteStore {
            writer,
            readers,
            held: Arc::new(Mutex::new(held)),
        })
    }

    /// Whether the database takes a write now: a small write commits and
    /// is flushed (a writer stopped by a failed flush refuses it). Answers
    /// the newest migration the database has applied.
    pub async fn probe(&self) -> Result<i64> {
        self.writer.probe(probe_writable).await
    }

    /// The writer's figures, for the server's metrics.
    pub fn writer_stats(&self) -> crate::metrics::WriterStats {
        self.writer.stats()
    }

    /// An operation's write transaction: it holds the write lock from its
    /// first statement and answers its commit once durable.
    pub async fn write(&self) -> Result<Tx> {
        self.writer.begin().await
    }

    /// An operation run whole on the writer's own thread, inside the open
    /// batch: undone if it fails, answered once durable (see `writer`).
    pub async fn run<T, E>(
        &self,
        op: impl FnOnce(&mut Conn) -> Done<T, E> + Send + 'static,
    ) -> std::result::Result<T, E>
    where
        T: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        self.writer.run(op).await
    }

    /// A read-only snapshot: every query in it sees the same committed state.
    pub async fn snapshot(&self) -> Result<SqliteReader> {
        let mut r = self.read().await?;
        r.db.as_ref().expect("a reader in use").batch("BEGIN")?;
        r.in_transaction = true;
        Ok(r)
    }

    /// A reader: each query sees what was committed when it ran.
    pub async fn read(&self) -> Result<SqliteReader> {
        let permit =
            tokio::time::timeout(READER_PATIENCE, self.readers.free.clone().acquire_owned())
                .await
                .map_err(|_| Error::Busy)?
                .map_err(|_| Error::Busy)?;
        let idle = self
            .readers
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        let db = match idle {
            Some(db) => db,
            None => self.readers.open()?,
        };
        Ok(SqliteReader {
            db: Some(db),
            readers: self.readers.clone(),
            in_transaction: false,
            _permit: permit,
        })
    }

    /// COMMITs the writer issued so far.
    pub fn commits(&self) -> u64 {
        self.writer.commits()
    }

    /// fsyncs of the WAL the writer's flusher made so far (FULL only).
    pub fn flushes(&self) -> u64 {
        self.writer.flushes()
    }

    /// A new database in `dir`, for the store's own tests.
    #[cfg(test)]
    pub(crate) async fn open_in(dir: &tempfile::TempDir) -> SqliteStore {
        let path = dir.path().join("club.db");
        SqliteStore::open(path.to_str().unwrap(), Synchronous::Normal)
            .await
            .unwrap()
    }

    /// Reads the cache of rarely changing values could not answer.
    #[cfg(test)]
    pub(crate) fn cache_misses(&self) -> u64 {
        self.readers.cache.misses()
    }

    pub async fn close(&self) {
        self.readers.free.close();
        self.readers
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.writer.close().await;
        // Another server, or a restore, may have the database now.
        self.held.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

/// A reader lent to one request; back to the pool when dropped.
pub struct SqliteReader {
    db: Option<Db>,
    readers: Arc<Readers>,
    in_transaction: bool,
    _permit: OwnedSemaphorePermit,
}

impl Deref for SqliteReader {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.db.as_ref().expect("a reader in use")
    }
}

impl DerefMut for SqliteReader {
    fn deref_mut(&mut self) -> &mut Conn {
        self.db.as_mut().expect("a reader in use")
    }
}

impl Drop for SqliteReader {
    fn drop(&mut self) {
        let Some(db) = self.db.take() else { return };
        if self.in_transaction && db.batch("ROLLBACK").is_err() {
            return; // not back to the pool in an unknown state
        }
        self.readers
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(db);
    }
}

/// A real committed write, so a file the server cannot write (a read-only
/// file, directory or mount, a full disk) stops it at start, not at the
/// first operation: SQLite opens such a file read-only without a word.
fn probe_writable(db: &Db) -> Result<()> {
    let version: i64 = db.first("PRAGMA user_version", &[])?;
    db.batch(&format!("PRAGMA user_version = {version}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn synchronous_and_flushes(mode: Synchronous) -> (i64, u64) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("club.db");
        let store = SqliteStore::open(path.to_str().unwrap(), mode)
            .await
            .unwrap();
        let tx = store.write().await.unwrap();
        let sync: i64 = tx.db().first("PRAGMA synchronous", &[]).unwrap();
        tx.db()
            .run(
                "INSERT INTO settings (key, value) VALUES ('flush test', '1')",
                &[],
            )
            .unwrap();
        tx.commit().await.unwrap();
        let flushes = store.flushes();
        store.close().await;
        (sync, flushes)
    }

    #[tokio::test]
    async fn full_durability_is_the_writers_own_fsync_of_the_wal_before_it_answers() {
        // SQLite's COMMIT does not wait for the disk (NORMAL = 1) ...
        let (sync, flushes) = synchronous_and_flushes(Synchronous::Full).await;
        assert_eq!(sync, 1);
        // ... the flusher's fsync does, before the commit is answered.
        assert!(flushes >= 1, "answered before the WAL was flushed");
        let (sync, flushes) = synchronous_and_flushes(Synchronous::Normal).await;
        assert_eq!((sync, flushes), (1, 0));
    }
}
