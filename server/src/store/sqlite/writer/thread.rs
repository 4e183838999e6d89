//! The writer's own thread: operations handed over whole, as closures, run
//! there back to back, each inside its savepoint of the open batch. No
//! async task holds the writer between two of them, so the writer never
//! waits for a woken task to be scheduled (see the parent module).

use super::super::db::Db;
use super::tx::{lost, undo};
use super::{AfterCommit, Answer, Batch, Committed, Outcome, Writer, BROKEN};
use crate::store::{Conn, Error, Result};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use tokio::sync::oneshot;

/// An operation for the writer's thread. It is given the connection
/// inside its savepoint (or why there is none) and answers what to run
/// after the batch is durable, or nothing when its writes are to be undone.
pub(super) type Job = Box<dyn FnOnce(Result<&mut Db>) -> Option<Committed> + Send>;

/// How an operation on the writer's thread ends: its value and what to run
/// once it is durable (publishing its events), or its error.
pub type Done<T, E> = std::result::Result<(T, AfterCommit), E>;

impl Writer {
    /// Runs `op` on the writer's thread inside the open batch: its writes
    /// are undone if it returns an error, and its value is answered once
    /// they are durable, after `after` ran.
    pub async fn run<T, E>(
        &self,
        op: impl FnOnce(&mut Conn) -> Done<T, E> + Send + 'static,
    ) -> std::result::Result<T, E>
    where
        T: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        self.run_on_db(move |db| op(db)).await
    }

    /// `run` with the SQLite connection itself.
    pub(super) async fn run_on_db<T, E>(
        &self,
        op: impl FnOnce(&mut Db) -> Done<T, E> + Send + 'static,
    ) -> std::result::Result<T, E>
    where
        T: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        let jobs = self.jobs.as_ref().expect("the writer's own handle");
        let (value, valued) = oneshot::channel::<std::result::Result<T, E>>();
        let (queue, runs) = (
            self.stats.queue_seconds.clone(),
            self.stats.operation_seconds.clone(),
        );
        let sent = std::time::Instant::now();
        let job: Job = Box::new(move |conn| {
            let started = std::time::Instant::now();
            queue.observe(started.duration_since(sent).as_secs_f64());
            let ran = conn.map_err(E::from).and_then(op);
            runs.observe(started.elapsed().as_secs_f64());
            answer(ran, value)
        });
        let gone = || E::from(lost("the writer went away"));
        jobs.send(job).map_err(|_| gone())?;
        valued.await.map_err(|_| gone())?
    }
}

/// How an operation that ran is answered: once durable when it succeeded
/// (by whoever learns it, in one wake-up), at once when it failed.
fn answer<T: Send + 'static, E: From<Error> + Send + 'static>(
    ran: std::result::Result<(T, AfterCommit), E>,
    value: oneshot::Sender<std::result::Result<T, E>>,
) -> Option<Committed> {
    match ran {
        Ok((v, after)) => {
            let answer = Answer(Box::new(move |outcome: Outcome| {
                let _ = value.send(outcome.map(|()| v).map_err(|m| E::from(lost(&m))));
            }));
            Some((answer, after))
        }
        Err(e) => {
            let _ = value.send(Err(e));
            None
        }
    }
}

/// Operations in a batch before it commits even with more queued. The
/// COMMIT only writes the WAL (the flusher fsyncs it), so a batch committed
/// early is answered while the writer runs the next one; waiting for an
/// empty queue instead made all operators wait for one long batch and
/// answered them at once, in waves that left the writer idle between them
/// (32 operators in `club-bench durable`: 16 answered 20-40 % more
/// operations per second than 8, 24 or an empty queue).
const ROUND: usize = 16;

/// The thread: takes the writer for each run of queued operations, runs
/// them in the batch while it is young and small, then lets it go as an
/// async operation would (committing when nobody else is waiting).
pub(super) fn serve(writer: Writer, jobs: mpsc::Receiver<Job>) {
    while let Ok(job) = jobs.recv() {
        let mut guard = {
            writer.queued.fetch_add(1, Ordering::SeqCst);
            let _queued = super::Queued(writer.queued.clone());
            writer.batch.clone().blocking_lock_owned()
        };
        let mut next = Some(job);
        while let Some(job) = next.take() {
            writer.run_job(&mut guard, job);
            if guard.committed.len() < ROUND && guard.opened_at.elapsed() < writer.max_age {
                next = jobs.try_recv().ok();
            }
        }
        if guard.committed.len() >= ROUND {
            writer.commit_batch(&mut guard);
        }
        // Commits unless an async operation waits and the batch is young
        // and small; queued jobs left over open the next batch.
        writer.release(guard);
    }
}

impl Writer {
    fn run_job(&self, b: &mut Batch, job: Job) {
        if self.broken.load(Ordering::SeqCst) {
            let _ = job(Err(lost(BROKEN)));
            return;
        }
        b.lost();
        let first = !b.open;
        let opened = if first {
            b.conn.batch("BEGIN IMMEDIATE")
        } else {
            b.conn.batch("SAVEPOINT op")
        };
        if let Err(e) = opened {
            let _ = job(Err(e));
            return;
        }
        if first {
            b.open = true;
            b.opened_at = std::time::Instant::now();
        }
        let Some((done, after)) = job(Ok(&mut b.conn)) else {
            undo(b, first);
            return;
        };
        if b.lost() {
            done.send(Err(Arc::from(super::LOST)));
            return;
        }
        if !first {
            if let Err(e) = b.conn.batch("RELEASE op") {
                tracing::error!(error = %e, "releasing the savepoint");
                undo(b, false);
                done.send(Err(Arc::from(e.to_string())));
                return;
            }
        }
        b.committed.push((done, after));
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{committed, flushing, until_queued, writer};
    use super::*;
    use crate::store::sql::Sql;
    use crate::store::Error;
    use std::sync::Mutex;

    type Order = Arc<Mutex<Vec<i64>>>;

    /// Inserts `v` on the writer's thread, failing after the insert when
    /// `fail`; its callback records `v` in `order`.
    fn spawn_run(
        w: &Writer,
        v: i64,
        fail: bool,
        order: Order,
    ) -> tokio::task::JoinHandle<Result<i64>> {
        let w = w.clone();
        tokio::spawn(async move {
            w.run_on_db(move |db| {
                db.run("INSERT INTO t (v) VALUES (?)", crate::args![v])?;
                if fail {
                    return Err(Error::Other("failed after its insert".into()));
                }
                let after: AfterCommit = Box::new(move || order.lock().unwrap().push(v));
                Ok((v * 10, after))
            })
            .await
        })
    }

    #[tokio::test]
    async fn operations_on_the_writer_thread_join_the_open_batch_and_a_failing_one_undoes_only_its_writes(
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (w, path) = writer(&dir);
        let order: Order = Arc::default();
        // An async operation holds the batch while three are queued.
        let first = w.begin().await.unwrap();
        first.db().run("INSERT INTO t (v) VALUES (1)", &[]).unwrap();
        let runs = [(2, false), (3, true), (4, false)]
            .map(|(v, fail)| spawn_run(&w, v, fail, order.clone()));
        // Each sends its job when first polled; then the thread waits.
        until_queued(&w, 1).await;
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        let o = order.clone();
        first
            .commit_then(move || o.lock().unwrap().push(1))
            .await
            .unwrap();
        let [two, three, four] = runs;
        assert_eq!(two.await.unwrap().unwrap(), 20);
        assert!(matches!(three.await.unwrap(), Err(Error::Other(_))));
        assert_eq!(four.await.unwrap().unwrap(), 40);
        assert_eq!(w.commits(), 1, "one batch");
        assert_eq!(committed(&path).await, vec![1, 2, 4]);
        assert_eq!(*order.lock().unwrap(), vec![1, 2, 4]);
    }

    #[tokio::test]
    async fn an_operation_on_the_writer_thread_is_answered_after_the_flush() {
        let dir = tempfile::tempdir().unwrap();
        let (w, path) = flushing(&dir, None);
        let order: Order = Arc::default();
        for v in 1..=3 {
            let flushed = w.flushes();
            assert_eq!(
                spawn_run(&w, v, false, order.clone())
                    .await
                    .unwrap()
                    .unwrap(),
                v * 10
            );
            assert!(w.flushes() > flushed, "answered before the WAL was flushed");
        }
        assert_eq!(*order.lock().unwrap(), vec![1, 2, 3]);
        assert_eq!(committed(&path).await, vec![1, 2, 3]);
    }

    #[tokio::test]
    async fn after_a_failed_flush_the_writer_thread_runs_no_operation() {
        let dir = tempfile::tempdir().unwrap();
        let (w, _) = flushing(&dir, Some("missing/w.db-wal"));
        let order: Order = Arc::default();
        let e = spawn_run(&w, 1, false, order.clone())
            .await
            .unwrap()
            .unwrap_err();
        assert!(matches!(e, Error::Unavailable { .. }), "{e:?}");
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let r = ran.clone();
        let refused = w
            .run(move |_| -> Done<(), Error> {
                r.store(true, Ordering::SeqCst);
                Ok(((), Box::new(|| {})))
            })
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("flush"), "{refused}");
        assert!(!ran.load(Ordering::SeqCst), "the operation ran");
        assert!(order.lock().unwrap().is_empty(), "callbacks ran");
    }
}
