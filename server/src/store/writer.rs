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
//! SQLite may roll the whole transaction back by itself when a statement
//! fails on a full disk or an I/O error. A rollback hook on the connection
//! notices: every operation of the lost batch, also those already waiting
//! for their COMMIT, is answered with an error, and the next operation
//! begins a new transaction. Nobody is told a lost write was durable.

use sqlx::SqliteConnection;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Mutex, OwnedMutexGuard};

/// Operations in one commit at most; bounds the work a failed COMMIT undoes.
const MAX_BATCH: usize = 512;
/// A batch older than this commits even with operations queued behind it.
const MAX_AGE: Duration = Duration::from_millis(10);
/// How long a committed operation waits for the batch's owner before it
/// commits the batch itself.
const HANDOFF_PATIENCE: Duration = Duration::from_millis(20);

type AfterCommit = Box<dyn FnOnce() + Send>;
type Outcome = Result<(), Arc<str>>;

struct Batch {
    conn: SqliteConnection,
    /// BEGIN IMMEDIATE issued and not yet committed.
    open: bool,
    opened_at: Instant,
    committed: Vec<(oneshot::Sender<Outcome>, AfterCommit)>,
    /// Set by the connection's rollback hook: a transaction ended in a
    /// rollback, ours or SQLite's own.
    rolled_back: Arc<AtomicBool>,
}

/// What the operations of a batch SQLite rolled back are told.
const LOST: &str = "the database could not write this change (disk full or I/O error)";

impl Batch {
    /// A ROLLBACK the writer itself asked for: the hook's flag is spent.
    async fn rollback(&mut self) {
        if let Err(e) = sqlx::query("ROLLBACK").execute(&mut self.conn).await {
            tracing::debug!(error = %e, "rolling back");
        }
        self.open = false;
        self.rolled_back.store(false, Ordering::SeqCst);
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
        for (done, _) in self.committed.drain(..) {
            let _ = done.send(Err(Arc::from(LOST)));
        }
        true
    }
}

#[derive(Clone)]
pub struct Writer {
    batch: Arc<Mutex<Batch>>,
    queued: Arc<AtomicUsize>,
    commits: Arc<AtomicU64>,
    max_age: Duration,
}

/// Counts an operation queued for the writer until it holds it, also when
/// its future is dropped while it waits.
struct Queued(Arc<AtomicUsize>);

impl Drop for Queued {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Writer {
    pub async fn new(conn: SqliteConnection) -> sqlx::Result<Self> {
        Self::with_max_age(conn, MAX_AGE).await
    }

    async fn with_max_age(mut conn: SqliteConnection, max_age: Duration) -> sqlx::Result<Self> {
        let rolled_back = Arc::new(AtomicBool::new(false));
        let hook = rolled_back.clone();
        conn.lock_handle()
            .await?
            .set_rollback_hook(move || hook.store(true, Ordering::SeqCst));
        Ok(Writer {
            batch: Arc::new(Mutex::new(Batch {
                conn,
                open: false,
                opened_at: Instant::now(),
                committed: Vec::new(),
                rolled_back,
            })),
            queued: Arc::default(),
            commits: Arc::default(),
            max_age,
        })
    }

    /// COMMITs issued so far: operations / commits is the batching factor.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// One operation's transaction: it sees every earlier operation's
    /// writes, and its own are undone by dropping it without `commit`.
    pub async fn begin(&self) -> sqlx::Result<Tx> {
        let mut guard = {
            self.queued.fetch_add(1, Ordering::SeqCst);
            let _queued = Queued(self.queued.clone());
            self.batch.clone().lock_owned().await
        };
        guard.lost();
        // The batch's first operation needs no savepoint: undoing it is
        // undoing the transaction. Later ones nest a savepoint each, never
        // released (a round trip saved): ROLLBACK TO finds the latest, and
        // COMMIT ends them all.
        let first = !guard.open;
        let open = if first {
            "BEGIN IMMEDIATE"
        } else {
            "SAVEPOINT op"
        };
        if let Err(e) = sqlx::query(open).execute(&mut guard.conn).await {
            if !first {
                self.release(guard).await;
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
    async fn release(&self, mut guard: OwnedMutexGuard<Batch>) {
        guard.lost();
        let hand_over = self.queued.load(Ordering::SeqCst) > 0
            && guard.committed.len() < MAX_BATCH
            && guard.opened_at.elapsed() < self.max_age;
        if guard.open && !hand_over {
            self.commit_batch(&mut guard).await;
        }
    }

    /// Commits whatever batch is open.
    pub async fn close(&self) {
        let mut guard = self.batch.clone().lock_owned().await;
        if guard.open {
            self.commit_batch(&mut guard).await;
        }
        tracing::info!(commits = self.commits(), "writer closed");
    }

    async fn commit_batch(&self, b: &mut Batch) {
        if b.lost() {
            return;
        }
        self.commits.fetch_add(1, Ordering::Relaxed);
        let outcome: Outcome = match sqlx::query("COMMIT").execute(&mut b.conn).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let message: Arc<str> = e.to_string().into();
                tracing::error!(error = %message, operations = b.committed.len(), "group commit failed");
                // The batch is lost as a whole; nobody was told it was durable.
                b.rollback().await;
                Err(message)
            }
        };
        b.open = false;
        for (done, after) in b.committed.drain(..) {
            if outcome.is_ok() {
                after();
            }
            let _ = done.send(outcome.clone());
        }
    }
}

/// An operation's share of the writer's transaction. Dereferences to the
/// connection, so the store's query functions take it as they are.
pub struct Tx {
    guard: Option<OwnedMutexGuard<Batch>>,
    writer: Writer,
    /// Opened the transaction, so has no savepoint of its own.
    first: bool,
}

impl Deref for Tx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.guard.as_ref().expect("live transaction").conn
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.guard.as_mut().expect("live transaction").conn
    }
}

impl Tx {
    /// Commits and answers once durable.
    pub async fn commit(self) -> sqlx::Result<()> {
        self.commit_then(|| {}).await
    }

    /// Commits, runs `after` once the COMMIT is durable (before any later
    /// operation's), and answers.
    pub async fn commit_then(mut self, after: impl FnOnce() + Send + 'static) -> sqlx::Result<()> {
        let mut guard = self.guard.take().expect("live transaction");
        if guard.lost() {
            // This operation's writes went with the batch.
            self.writer.release(guard).await;
            return Err(lost());
        }
        let (done, mut outcome) = oneshot::channel();
        guard.committed.push((done, Box::new(after)));
        self.writer.release(guard).await;
        let outcome = loop {
            match tokio::time::timeout(HANDOFF_PATIENCE, &mut outcome).await {
                Ok(Ok(o)) => break o,
                Ok(Err(_)) => break Err(Arc::from("the writer went away")),
                Err(_) => {
                    // The batch's owner is slow or gone: once the writer is
                    // ours, a batch still holding this operation commits.
                    let mut guard = self.writer.batch.clone().lock_owned().await;
                    match outcome.try_recv() {
                        Ok(o) => break o,
                        Err(oneshot::error::TryRecvError::Closed) => {
                            break Err(Arc::from("the writer went away"))
                        }
                        Err(oneshot::error::TryRecvError::Empty) => {
                            self.writer.commit_batch(&mut guard).await
                        }
                    }
                }
            }
        };
        outcome.map_err(|m| sqlx::Error::Io(std::io::Error::other(m.to_string())))
    }
}

/// The error of an operation whose batch SQLite rolled back: an I/O error,
/// as the storage failing is what it is.
fn lost() -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::other(LOST))
}

async fn undo(b: &mut Batch, first: bool) {
    if b.lost() {
        // Nothing left to undo: SQLite rolled back the whole batch.
    } else if first {
        b.rollback().await;
    } else if let Err(e) = sqlx::query("ROLLBACK TO op").execute(&mut b.conn).await {
        // The savepoint is gone, so is the transaction: the batch is lost.
        tracing::error!(error = %e, "rolling back to the savepoint");
        b.rolled_back.store(true, Ordering::SeqCst);
        b.lost();
        b.rollback().await;
    }
}

impl Drop for Tx {
    /// Dropped without `commit` (an error, or the request went away): this
    /// operation's writes are undone; the batch goes on.
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        let (writer, first) = (self.writer.clone(), self.first);
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    undo(&mut guard, first).await;
                    writer.release(guard).await;
                });
            }
            Err(_) => tracing::error!("transaction dropped outside the runtime"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    use sqlx::Connection;

    const PATIENCE: Duration = Duration::from_secs(10);

    async fn writer(dir: &tempfile::TempDir) -> (Writer, SqliteConnectOptions) {
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("w.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        let mut c = SqliteConnection::connect_with(&options).await.unwrap();
        sqlx::query("CREATE TABLE t (v INTEGER NOT NULL)")
            .execute(&mut c)
            .await
            .unwrap();
        // Old enough never: the tests decide when a batch ends.
        let w = Writer::with_max_age(c, Duration::from_secs(3600))
            .await
            .unwrap();
        (w, options)
    }

    /// What another connection sees: only what was committed.
    async fn committed(options: &SqliteConnectOptions) -> Vec<i64> {
        let mut c = SqliteConnection::connect_with(options).await.unwrap();
        sqlx::query_scalar("SELECT v FROM t ORDER BY v")
            .fetch_all(&mut c)
            .await
            .unwrap()
    }

    async fn insert(tx: &mut Tx, v: i64) {
        sqlx::query("INSERT INTO t (v) VALUES (?)")
            .bind(v)
            .execute(&mut **tx)
            .await
            .unwrap();
    }

    async fn until_queued(w: &Writer, n: usize) {
        tokio::time::timeout(PATIENCE, async {
            while w.queued.load(Ordering::SeqCst) != n {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("operations queued for the writer");
    }

    fn spawn_insert(
        w: &Writer,
        v: i64,
        order: Arc<std::sync::Mutex<Vec<i64>>>,
    ) -> tokio::task::JoinHandle<sqlx::Result<()>> {
        let w = w.clone();
        tokio::spawn(async move {
            let mut tx = w.begin().await?;
            insert(&mut tx, v).await;
            tx.commit_then(move || order.lock().unwrap().push(v)).await
        })
    }

    #[tokio::test]
    async fn queued_operations_share_one_commit_and_run_their_callbacks_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (w, options) = writer(&dir).await;
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut first = w.begin().await.unwrap();
        insert(&mut first, 0).await;
        let mut queued = Vec::new();
        for v in 1..=5 {
            queued.push(spawn_insert(&w, v, order.clone()));
            until_queued(&w, v as usize).await;
        }
        let o = order.clone();
        first
            .commit_then(move || o.lock().unwrap().push(0))
            .await
            .unwrap();
        for q in queued {
            q.await.unwrap().unwrap();
        }
        assert_eq!(w.commits(), 1);
        assert_eq!(committed(&options).await, vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4, 5]);
    }

    #[tokio::test]
    async fn a_dropped_operation_rolls_back_alone_and_the_batch_commits() {
        let dir = tempfile::tempdir().unwrap();
        let (w, options) = writer(&dir).await;
        let mut first = w.begin().await.unwrap();
        insert(&mut first, 1).await;
        let failing = {
            let w = w.clone();
            tokio::spawn(async move {
                let mut tx = w.begin().await.unwrap();
                insert(&mut tx, 2).await;
                // Fails half-way: dropped without commit.
            })
        };
        until_queued(&w, 1).await;
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let last = spawn_insert(&w, 3, order.clone());
        until_queued(&w, 2).await;
        first.commit().await.unwrap();
        failing.await.unwrap();
        last.await.unwrap().unwrap();
        assert_eq!(committed(&options).await, vec![1, 3]);
        assert_eq!(*order.lock().unwrap(), vec![3]);
    }

    #[tokio::test]
    async fn an_operation_dropped_while_it_holds_the_batch_lets_it_commit() {
        let dir = tempfile::tempdir().unwrap();
        let (w, options) = writer(&dir).await;
        let mut first = w.begin().await.unwrap();
        insert(&mut first, 1).await;
        let holder = {
            let w = w.clone();
            tokio::spawn(async move {
                let mut tx = w.begin().await.unwrap();
                insert(&mut tx, 2).await;
                std::future::pending::<()>().await;
            })
        };
        until_queued(&w, 1).await;
        let commit = tokio::spawn(first.commit());
        // The batch goes to the queued operation, which never finishes.
        until_queued(&w, 0).await;
        holder.abort();
        tokio::time::timeout(PATIENCE, commit)
            .await
            .expect("commit answered")
            .unwrap()
            .unwrap();
        assert_eq!(committed(&options).await, vec![1]);
    }

    #[tokio::test]
    async fn a_batch_handed_to_an_operation_that_never_comes_still_commits() {
        let dir = tempfile::tempdir().unwrap();
        let (w, options) = writer(&dir).await;
        let mut tx = w.begin().await.unwrap();
        insert(&mut tx, 1).await;
        // An operation counted as queued whose request went away before it
        // got the writer: the batch is handed to nobody.
        w.queued.fetch_add(1, Ordering::SeqCst);
        tokio::time::timeout(PATIENCE, tx.commit())
            .await
            .expect("commit answered")
            .unwrap();
        assert_eq!(committed(&options).await, vec![1]);
        assert_eq!(w.commits(), 1);
    }

    #[tokio::test]
    async fn a_batch_whose_first_operation_fails_goes_on_with_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let (w, options) = writer(&dir).await;
        let mut first = w.begin().await.unwrap();
        insert(&mut first, 1).await;
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let next = spawn_insert(&w, 2, order.clone());
        until_queued(&w, 1).await;
        drop(first);
        next.await.unwrap().unwrap();
        let mut after = w.begin().await.unwrap();
        insert(&mut after, 3).await;
        after.commit().await.unwrap();
        assert_eq!(committed(&options).await, vec![2, 3]);
    }

    /// SQLite rolling the transaction back by itself, as it may on a full
    /// disk or an I/O error, during the third operation of a batch.
    async fn batch_lost_by(
        ends: impl FnOnce(Tx) -> tokio::task::JoinHandle<sqlx::Result<()>> + Send + 'static,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (w, options) = writer(&dir).await;
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut first = w.begin().await.unwrap();
        insert(&mut first, 1).await;
        let second = spawn_insert(&w, 2, order.clone());
        until_queued(&w, 1).await;
        let third = {
            let w = w.clone();
            tokio::spawn(async move {
                let mut tx = w.begin().await.unwrap();
                insert(&mut tx, 3).await;
                sqlx::query("ROLLBACK").execute(&mut *tx).await.unwrap();
                ends(tx).await.unwrap()
            })
        };
        until_queued(&w, 2).await;
        // Queued behind the failure: it must not revive the lost batch.
        let fourth = spawn_insert(&w, 4, order.clone());
        until_queued(&w, 3).await;
        let o = order.clone();
        let first = first.commit_then(move || o.lock().unwrap().push(1)).await;
        assert!(first.is_err(), "the first operation was lost: {first:?}");
        assert!(second.await.unwrap().is_err(), "so was the second");
        assert!(third.await.unwrap().is_err(), "and the third");
        // The writer goes on with a new transaction.
        fourth.await.unwrap().unwrap();
        assert_eq!(*order.lock().unwrap(), vec![4], "only the fourth published");
        assert_eq!(committed(&options).await, vec![4]);
    }

    #[tokio::test]
    async fn a_batch_sqlite_rolls_back_answers_every_operation_with_an_error() {
        // The failing operation gives up (its error went up with `?`).
        batch_lost_by(|tx| {
            tokio::spawn(async move {
                drop(tx);
                Err(lost())
            })
        })
        .await;
    }

    #[tokio::test]
    async fn an_operation_that_commits_after_sqlite_rolled_back_is_told_it_failed() {
        batch_lost_by(|tx| tokio::spawn(tx.commit())).await;
    }

    #[tokio::test]
    async fn an_operation_alone_commits_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let (w, options) = writer(&dir).await;
        for v in 1..=3 {
            let mut tx = w.begin().await.unwrap();
            insert(&mut tx, v).await;
            tx.commit().await.unwrap();
            assert_eq!(committed(&options).await.len(), v as usize);
        }
        assert_eq!(w.commits(), 3);
    }
}
