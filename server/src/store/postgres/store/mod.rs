//! The PostgreSQL store: pools of connections for operations and for
//! reads. Every operation's transaction takes one advisory lock first, so
//! operations run one after another across every server on the database,
//! as on SQLite's single writer: whatever an operation checks (a free PC,
//! a balance, a session's state) still holds when it commits, and exactly
//! one of two racing operations wins. Its events are published after its
//! COMMIT, in the order the operations took the lock.

use super::conn::{connect, io, PgDb};
use super::migrate;
use super::sequencer::Sequencer;
use crate::metrics::WriterStats;
use crate::store::{Conn, Done, Error, Result};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How every operation's transaction begins: with the advisory lock that
/// lets one writer at a time on the database, whichever server it runs on
/// (its key is "Clubhall" in ASCII, as a big-endian i64; a test checks).
const BEGIN_LOCKED: &str = "BEGIN; SELECT pg_advisory_xact_lock(4858387163544382572)";
/// Connections for operations at most (they take the write lock in turn):
/// those run whole on a blocking thread, and async transactions.
const OPERATIONS: usize = 8;
const WRITERS: usize = 4;
/// Connections for reads at most.
const READERS: usize = 8;
/// How long an operation or a read waits for a free connection.
const PATIENCE: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct PgStore {
    /// Own connections (see `conn`), for operations run whole.
    operations: Arc<Pool>,
    /// Shared connections, for async transactions.
    writers: Arc<Pool>,
    readers: Arc<Pool>,
    sequencer: Arc<Sequencer>,
    /// Commit figures for /metrics: the wait for the write lock, an
    /// operation's statements, its COMMIT (which includes the fsync).
    stats: WriterStats,
}

struct Pool {
    url: String,
    idle: Mutex<Vec<PgDb>>,
    free: Arc<Semaphore>,
}

impl Pool {
    fn new(url: &str, size: usize) -> Arc<Pool> {
        Arc::new(Pool {
            url: url.to_owned(),
            idle: Mutex::new(Vec::new()),
            free: Arc::new(Semaphore::new(size)),
        })
    }

    async fn get(&self) -> Result<(PgDb, OwnedSemaphorePermit)> {
        let permit = self.permit().await?;
        if let Some(db) = self.idle() {
            return Ok((db, permit));
        }
        let client = connect(&self.url).await.map_err(unreachable)?;
        Ok((PgDb::new(client), permit))
    }

    /// A place in the pool, waited for `PATIENCE` at most.
    async fn permit(&self) -> Result<OwnedSemaphorePermit> {
        tokio::time::timeout(PATIENCE, self.free.clone().acquire_owned())
            .await
            .map_err(|_| Error::Busy)?
            .map_err(|_| Error::Busy)
    }

    /// An idle connection that is still open, if any.
    fn idle(&self) -> Option<PgDb> {
        loop {
            let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            match idle {
                Some(db) if db.is_closed() => continue,
                other => return other,
            }
        }
    }

    fn put(&self, db: PgDb) {
        if !db.is_closed() {
            self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(db);
        }
    }

    /// Ends `db`'s open transaction off the caller's thread, then keeps it.
    fn roll_back(self: &Arc<Self>, db: PgDb, permit: OwnedSemaphorePermit) {
        let pool = self.clone();
        io().spawn(async move {
            if db.shared().batch_execute("ROLLBACK").await.is_ok() {
                pool.put(db);
            }
            drop(permit);
        });
    }
}

/// A connection that failed to open: the database server is not there.
fn unreachable(e: Error) -> Error {
    Error::Unavailable {
        why: "the database server cannot be reached",
        detail: e.to_string(),
    }
}

impl PgStore {
    /// Opens the database at `url` (`postgres://…`) and migrates it.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let client = connect(url).await.map_err(|e| {
            anyhow::anyhow!(
                "the database {} cannot be reached ({e}): check that PostgreSQL runs there and \
                 lets this server in",
                redacted(url)
            )
        })?;
        migrate::run(&client, chrono::Utc::now().timestamp_millis()).await?;
        Ok(PgStore {
            operations: Pool::new(url, OPERATIONS),
            writers: Pool::new(url, WRITERS),
            readers: Pool::new(url, READERS),
            sequencer: Arc::new(Sequencer::default()),
            stats: WriterStats::default(),
        })
    }

    /// Whether the database takes a write now; answers its newest
    /// migration.
    pub async fn probe(&self) -> Result<i64> {
        let tx = self.write().await?;
        let version: Option<i64> = crate::store::sql::Sql::first(
            tx.db.as_ref().expect("a live transaction"),
            "SELECT MAX(version) FROM schema_migrations",
            &[],
        )?;
        tx.commit().await?;
        Ok(version.unwrap_or(0))
    }

    /// An operation's transaction, holding the write lock.
    pub async fn write(&self) -> Result<PgTx> {
        let (db, permit) = self.writers.get().await?;
        let begun = db.shared().batch_execute(BEGIN_LOCKED).await;
        if let Err(e) = begun {
            let e = Error::from(e);
            self.writers.roll_back(db, permit);
            return Err(e);
        }
        Ok(PgTx {
            db: Some(db),
            permit: Some(permit),
            ticket: self.sequencer.ticket(),
            finished: false,
            store: self.clone(),
        })
    }

    /// An operation run whole on a blocking thread: undone if it fails,
    /// answered once committed, after its `after` ran. Once it has a
    /// connection it runs to its end, also when its caller goes away (as
    /// on SQLite's writer thread).
    pub async fn run<T, E>(
        &self,
        op: impl FnOnce(&mut Conn) -> Done<T, E> + Send + 'static,
    ) -> std::result::Result<T, E>
    where
        T: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        let asked = Instant::now();
        let permit = self.operations.permit().await?;
        let idle = self.operations.idle();
        let store = self.clone();
        let ran = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            store.run_here(idle, asked, op)
        })
        .await
        .map_err(|e| Error::Other(format!("an operation failed: {e}")))?;
        let (out, ticket) = ran?;
        if let Some(ticket) = ticket {
            self.sequencer.ran(ticket).await;
        }
        out
    }

    /// An operation on this blocking thread, on an own connection: the
    /// lock, its statements, the COMMIT and its `after`. Answers its
    /// outcome, and its ticket when it committed.
    #[allow(clippy::type_complexity)] // the outcome and its place in order
    fn run_here<T, E: From<Error>>(
        &self,
        idle: Option<PgDb>,
        asked: Instant,
        op: impl FnOnce(&mut Conn) -> Done<T, E>,
    ) -> Result<(std::result::Result<T, E>, Option<u64>)> {
        // An idle connection the database server closed meanwhile fails
        // its BEGIN, which did nothing: the next one is tried.
        let (mut idle, mut tries) = (idle, 0);
        let mut db = loop {
            let db = match idle.take().or_else(|| self.operations.idle()) {
                Some(db) => db,
                None => PgDb::own(&self.operations.url).map_err(unreachable)?,
            };
            match db.batch(BEGIN_LOCKED) {
                Ok(()) => break db,
                Err(_) if db.is_closed() && tries < OPERATIONS => tries += 1,
                Err(e) => return Err(e),
            }
        };
        // Passed on (done without an `after`) however this ends, also by
        // a panic in `op`.
        let mut ticket = Ticket {
            sequencer: &self.sequencer,
            ticket: self.sequencer.ticket(),
            done: false,
        };
        let stats = &self.stats;
        stats.queue_seconds.observe(asked.elapsed().as_secs_f64());
        let started = Instant::now();
        let out = op(&mut db);
        stats
            .operation_seconds
            .observe(started.elapsed().as_secs_f64());
        let (value, after) = match out {
            Ok(done) => done,
            Err(e) => {
                if db.batch("ROLLBACK").is_ok() {
                    self.operations.put(db);
                }
                return Ok((Err(e), None));
            }
        };
        let committing = Instant::now();
        if let Err(e) = db.batch("COMMIT") {
            // Whether it committed is unknown: the connection goes.
            return Ok((Err(e.into()), None));
        }
        self.count_commit(committing);
        self.operations.put(db);
        ticket.done = true;
        self.sequencer.done(ticket.ticket, Some(after));
        Ok((Ok(value), Some(ticket.ticket)))
    }

    /// A reader: each query sees what was committed when it ran.
    pub async fn read(&self) -> Result<PgReader> {
        let (db, permit) = self.readers.get().await?;
        Ok(PgReader {
            db: Some(db),
            permit: Some(permit),
            pool: self.readers.clone(),
            in_transaction: false,
        })
    }

    /// A read-only snapshot: every query in it sees the same committed
    /// state.
    pub async fn snapshot(&self) -> Result<PgReader> {
        let mut r = self.read().await?;
        let db = r.db.as_ref().expect("a reader in use");
        db.shared()
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?;
        r.in_transaction = true;
        Ok(r)
    }

    /// A connection that listens on `channels`.
    pub async fn listen(&self, channels: &[&str]) -> Result<super::conn::Listener> {
        super::conn::Listener::open(&self.readers.url, channels)
            .await
            .map_err(unreachable)
    }

    /// A COMMIT that began at `started` went through: one operation each.
    fn count_commit(&self, started: Instant) {
        let stats = &self.stats;
        stats
            .commit_seconds
            .observe(started.elapsed().as_secs_f64());
        stats.commits.inc();
        stats.batch_operations.observe(1.0);
    }

    pub fn writer_stats(&self) -> WriterStats {
        self.stats.clone()
    }

    pub async fn close(&self) {
        for pool in [&self.operations, &self.writers, &self.readers] {
            pool.free.close();
            pool.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
        }
    }
}

/// An operation's place in the order of events, passed on if it ends
/// without committing.
struct Ticket<'a> {
    sequencer: &'a Sequencer,
    ticket: u64,
    done: bool,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.sequencer.done(self.ticket, None);
        }
    }
}

/// `url` without its password, for messages.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user = &url[scheme + 3..at];
            let user = user.split(':').next().unwrap_or("");
            format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

mod handles;
pub use handles::{PgReader, PgTx};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_write_locks_key_is_clubhall() {
        let key = i64::from_be_bytes(*b"Clubhall");
        assert!(BEGIN_LOCKED.ends_with(&format!("({key})")), "{key}");
    }

    #[test]
    fn a_url_in_a_message_keeps_its_user_but_not_its_password() {
        assert_eq!(
            redacted("postgres://club:s3cret@db.example:5432/chain"),
            "postgres://club@db.example:5432/chain"
        );
        assert_eq!(
            redacted("postgres://127.0.0.1/chain"),
            "postgres://127.0.0.1/chain"
        );
    }
}
