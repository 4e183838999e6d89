//! Group commit on SQLite's single writer.
//!
//! With `synchronous=FULL` every COMMIT is an fsync, and one fsync per
//! operation caps the club at the disk's commit rate. So operations that
//! queue for the writer share one transaction: each runs inside its own
//! SAVEPOINT (a failed operation rolls back to it, completely, and leaves the
//! others alone), and the transaction commits when nobody else is waiting,
//! when the batch is full, or when it is old. An operation's `commit` answers
//! only after the COMMIT that made it durable, and the callbacks it hands
//! over (publishing events) run after that COMMIT, in operation order.
//!
//! Whoever holds the writer when the queue is empty commits. A holder that
//! hands the batch to a queued operation still watches its own commit: if
//! that operation gives up (its request was dropped) the holder takes the
//! writer back and commits itself, so no acknowledged operation waits on a
//! batch nobody owns.
//!
//! The operation's statements run where it calls them, on the writer's
//! rusqlite connection, in one hop each; only the COMMIT is moved off the
//! async threads.
//!
//! Durability (`--sqlite-synchronous FULL`, the default): SQLite runs with
//! `synchronous=NORMAL`, so a COMMIT writes the batch to the WAL without
//! waiting for the disk, and the writer's flusher thread fsyncs the WAL
//! (one `fdatasync` for every batch committed since its last one) before
//! any operation of those batches is answered or its events published.
//! The writer meanwhile runs the next batch: the disk's sync and the next
//! operations overlap instead of taking turns. What is answered is on the
//! disk, exactly as with `synchronous=FULL`; a power cut loses at most
//! unanswered operations, and SQLite's WAL recovery keeps the database
//! consistent whatever it cuts. Reads may see a batch up to one flush
//! before its operations are answered. If a flush fails, nothing written
//! since the last good one is answered as durable and the writer refuses
//! every later operation until the server restarts.
//!
//! SQLite may roll the whole transaction back by itself when a statement
//! fails on a full disk or an I/O error. A rollback hook on the connection
//! notices: every operation of the lost batch, also those already waiting
//! for their COMMIT, is answered with an error, and the next operation
//! begins a new transaction. Nobody is told a lost write was durable.

use super::db::Db;
use crate::store::sql::Sql;
use crate::store::Result;
use flush::{flush, BROKEN};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Mutex, OwnedMutexGuard};
use tx::lost;
pub use tx::Tx;

/// Operations in one commit at most; bounds the work a failed COMMIT undoes.
const MAX_BATCH: usize = 512;
/// A batch older than this commits even with operations queued behind it.
const MAX_AGE: Duration = Duration::from_millis(10);
/// How long a committed operation waits for the batch's owner before it
/// commits the batch itself.
const HANDOFF_PATIENCE: Duration = Duration::from_millis(20);

pub type AfterCommit = Box<dyn FnOnce() + Send>;
type Outcome = std::result::Result<(), Arc<str>>;
/// An operation whose writes are in the batch: how to answer it, and what
/// to run once they are durable.
type Committed = (Answer, AfterCommit);

/// How an operation is told whether its writes are durable: called once,
/// on whichever thread decides (the writer's or the flusher's).
pub(super) struct Answer(Box<dyn FnOnce(Outcome) + Send>);

impl Answer {
    fn send(self, outcome: Outcome) {
        (self.0)(outcome)
    }
}

impl From<oneshot::Sender<Outcome>> for Answer {
    fn from(done: oneshot::Sender<Outcome>) -> Self {
        Answer(Box::new(move |o| {
            let _ = done.send(o);
        }))
    }
}

struct Batch {
    conn: Db,
    /// BEGIN IMMEDIATE issued and not yet committed.
    open: bool,
    opened_at: Instant,
    /// Counts the batches that ended (committed or lost): an operation
    /// whose batch ended waits for its answer, it never commits again.
    generation: u64,
    committed: Vec<Committed>,
    /// Set by the connection's rollback hook: a transaction ended in a
    /// rollback, ours or SQLite's own.
    rolled_back: Arc<AtomicBool>,
}

/// What the operations of a batch SQLite rolled back are told.
const LOST: &str = "the database could not write this change (disk full or I/O error)";

impl Batch {
    /// A ROLLBACK the writer itself asked for: the hook's flag is spent.
    fn rollback(&mut self) {
        if let Err(e) = self.conn.batch("ROLLBACK") {
            tracing::debug!(error = %e, "rolling back");
        }
        self.open = false;
        self.rolled_back.store(false, Ordering::SeqCst);
        self.conn.batch_rolled_back();
    }

    /// Whether SQLite rolled the open transaction back by itself. If so,
    /// every operation that was waiting for its COMMIT is answered with an
    /// error, and the batch is closed.
    fn lost(&mut self) -> bool {
        if !self.rolled_back.swap(false, Ordering::SeqCst) || !self.open {
            return false;
        }
        tracing::error!(
            operations = self.committed.len(),
            "the database rolled the batch back by itself"
        );
        self.open = false;
        self.generation += 1;
        self.conn.batch_rolled_back();
        for (done, _) in self.committed.drain(..) {
            done.send(Err(Arc::from(LOST)));
        }
        true
    }
}

#[derive(Clone)]
pub struct Writer {
    batch: Arc<Mutex<Batch>>,
    queued: Arc<AtomicUsize>,
    max_age: Duration,
    /// The flusher that fsyncs the WAL and answers committed batches; none
    /// when SQLite's own `synchronous` setting decides (NORMAL, OFF).
    flusher: Option<mpsc::Sender<Vec<Committed>>>,
    flushes: Arc<AtomicU64>,
    /// A flush failed: what is in the WAL may not be on the disk.
    broken: Arc<AtomicBool>,
    /// Operations for the writer's own thread; none in that thread's copy.
    jobs: Option<mpsc::Sender<thread::Job>>,
    /// Commit and flush figures for /metrics.
    stats: crate::metrics::WriterStats,
}

/// Counts an operation queued for the writer until it holds it, also when
/// its future is dropped while it waits.
struct Queued(Arc<AtomicUsize>);

impl Drop for Queued {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs blocking work (a COMMIT's fsync) without holding up the other
/// tasks of a multi-threaded runtime.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

impl Writer {
    pub fn new(conn: Db) -> Self {
        Self::with_max_age(conn, MAX_AGE, None)
    }

    /// A writer whose connection runs `synchronous=NORMAL` and whose
    /// flusher fsyncs the WAL at `wal` before answering (see the module).
    pub fn flushing(conn: Db, wal: PathBuf) -> Self {
        Self::with_max_age(conn, MAX_AGE, Some(wal))
    }

    fn with_max_age(conn: Db, max_age: Duration, wal: Option<PathBuf>) -> Self {
        let broken = Arc::new(AtomicBool::new(false));
        let flushes = Arc::new(AtomicU64::new(0));
        let stats = crate::metrics::WriterStats::default();
        let flusher = wal.map(|wal| {
            let (send, batches) = mpsc::channel();
            let (broken, flushes) = (broken.clone(), flushes.clone());
            let timing = stats.flush_seconds.clone();
            std::thread::Builder::new()
                .name("wal-flusher".into())
                .spawn(move || flush(wal, batches, broken, flushes, timing))
                .expect("starting the WAL flusher thread");
            send
        });
        let rolled_back = Arc::new(AtomicBool::new(false));
        let hook = rolled_back.clone();
        conn.raw()
            .rollback_hook(Some(move || hook.store(true, Ordering::SeqCst)));
        let mut writer = Writer {
            batch: Arc::new(Mutex::new(Batch {
                conn,
                open: false,
                opened_at: Instant::now(),
                generation: 0,
                committed: Vec::new(),
                rolled_back,
            })),
            queued: Arc::default(),
            max_age,
            flusher,
            flushes,
            broken,
            jobs: None,
            stats,
        };
        let (jobs, queue) = mpsc::channel();
        let own = writer.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || thread::serve(own, queue))
            .expect("starting the writer thread");
        writer.jobs = Some(jobs);
        writer
    }

    /// COMMITs issued so far: operations / commits is the batching factor.
    pub fn commits(&self) -> u64 {
        self.stats.commits.get()
    }

    /// Runs `write` on the writer's connection as an operation of its own
    /// and commits it; answers the newest migration applied.
    pub async fn probe(&self, write: fn(&Db) -> Result<()>) -> Result<i64> {
        let tx = self.begin().await?;
        let version = {
            let db = &tx.guard.as_ref().expect("live transaction").conn;
            write(db)?;
            db.first::<Option<i64>>("SELECT MAX(version) FROM schema_migrations", &[])?
        };
        tx.commit().await?;
        Ok(version.unwrap_or(0))
    }

    /// The writer's figures, for the server's metrics.
    pub fn stats(&self) -> crate::metrics::WriterStats {
        self.stats.clone()
    }

    /// Successful fsyncs of the WAL by the flusher so far.
    pub fn flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    /// One operation's transaction: it sees every earlier operation's
    /// writes, and its own are undone by dropping it without `commit`.
    pub async fn begin(&self) -> Result<Tx> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(lost(BROKEN));
        }
        let mut guard = {
            self.queued.fetch_add(1, Ordering::SeqCst);
            let _queued = Queued(self.queued.clone());
            self.batch.clone().lock_owned().await
        };
        guard.lost();
        // The batch's first operation needs no savepoint: undoing it is
        // undoing the transaction. Later ones open a savepoint each and
        // release it when they commit or roll back to it, so only the
        // running operation's pages are copied to the savepoint journal.
        let first = !guard.open;
        let open = if first {
            "BEGIN IMMEDIATE"
        } else {
            "SAVEPOINT op"
        };
        // Only BEGIN may wait (on another program's write lock, up to the busy
        // timeout); a SAVEPOINT is bookkeeping in memory.
        let opened = if first {
            blocking(|| guard.conn.batch(open))
        } else {
            guard.conn.batch(open)
        };
        if let Err(e) = opened {
            if !first {
                self.release(guard);
            }
            return Err(e);
        }
        if first {
            guard.open = true;
            guard.opened_at = Instant::now();
        }
        Ok(Tx {
            guard: Some(guard),
            writer: self.clone(),
            first,
        })
    }

    /// Lets the writer go: to the next queued operation while the batch is
    /// young and small, otherwise after committing the batch.
    fn release(&self, mut guard: OwnedMutexGuard<Batch>) {
        guard.lost();
        let hand_over = self.queued.load(Ordering::SeqCst) > 0
            && guard.committed.len() < MAX_BATCH
            && guard.opened_at.elapsed() < self.max_age;
        if guard.open && !hand_over {
            self.commit_batch(&mut guard);
        }
    }

    /// Commits whatever batch is open and waits for its flush.
    pub async fn close(&self) {
        let mut guard = self.batch.clone().lock_owned().await;
        if guard.open {
            self.commit_batch(&mut guard);
        }
        if let Some(f) = &self.flusher {
            // Answered after every batch sent before it.
            let (done, flushed) = oneshot::channel();
            if f.send(vec![(done.into(), Box::new(|| {}))]).is_ok() {
                let _ = flushed.await;
            }
        }
        tracing::info!(
            commits = self.commits(),
            flushes = self.flushes(),
            "writer closed"
        );
    }

    fn commit_batch(&self, b: &mut Batch) {
        if b.lost() {
            return;
        }
        self.stats.commits.inc();
        self.stats
            .batch_operations
            .observe(b.committed.len().max(1) as f64);
        let timer = self.stats.commit_seconds.start_timer();
        let committed = blocking(|| b.conn.batch("COMMIT"));
        timer.observe_duration();
        let outcome: Outcome = match committed {
            Ok(()) => Ok(()),
            Err(e) => {
                let message: Arc<str> = e.to_string().into();
                tracing::error!(error = %message, operations = b.committed.len(), "group commit failed");
                // The batch is lost as a whole; nobody was told it was durable.
                b.rollback();
                Err(message)
            }
        };
        b.open = false;
        b.generation += 1;
        if outcome.is_ok() {
            b.conn.batch_committed();
            if let Some(f) = &self.flusher {
                // Answered once the WAL is on the disk.
                if let Err(mpsc::SendError(batch)) = f.send(std::mem::take(&mut b.committed)) {
                    for (done, _) in batch {
                        done.send(Err(Arc::from("the writer went away")));
                    }
                }
                return;
            }
        }
        for (done, after) in b.committed.drain(..) {
            if outcome.is_ok() {
                after();
            }
            done.send(outcome.clone());
        }
    }
}

mod flush;
#[cfg(test)]
mod tests;
mod thread;
mod tx;
pub use thread::Done;
