//! An operation's transaction on the writer: its statements, its commit
//! (answered once durable) and its undo (see the parent module).

use super::{Batch, Writer, HANDOFF_PATIENCE, LOST};
#[cfg(test)]
use crate::store::sqlite::db::Db;
use crate::store::{Conn, Error, Result};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::{oneshot, OwnedMutexGuard};

/// An operation's share of the writer's transaction. Dereferences to the
/// connection, so the store's query functions take it as they are.
pub struct Tx {
    pub(super) guard: Option<OwnedMutexGuard<Batch>>,
    pub(super) writer: Writer,
    /// Opened the transaction, so has no savepoint of its own.
    pub(super) first: bool,
}

impl Deref for Tx {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.guard.as_ref().expect("live transaction").conn
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.guard.as_mut().expect("live transaction").conn
    }
}

impl Tx {
    /// The SQLite connection itself, for the store's own tests.
    #[cfg(test)]
    pub(crate) fn db(&self) -> &Db {
        &self.guard.as_ref().expect("live transaction").conn
    }
}

impl Tx {
    /// Commits and answers once durable.
    pub async fn commit(self) -> Result<()> {
        self.commit_then(|| {}).await
    }

    /// Commits, runs `after` once the COMMIT is durable (before any later
    /// operation's), and answers.
    pub async fn commit_then(mut self, after: impl FnOnce() + Send + 'static) -> Result<()> {
        let mut guard = self.guard.take().expect("live transaction");
        if guard.lost() {
            // This operation's writes went with the batch.
            self.writer.release(guard);
            return Err(lost(LOST));
        }
        if !self.first {
            // The operation's writes join the batch's transaction.
            if let Err(e) = guard.conn.batch("RELEASE op") {
                tracing::error!(error = %e, "releasing the savepoint");
                undo(&mut guard, false);
                self.writer.release(guard);
                return Err(e);
            }
        }
        let (done, mut outcome) = oneshot::channel();
        let generation = guard.generation;
        guard.committed.push((done.into(), Box::new(after)));
        self.writer.release(guard);
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
                        // Still in the open batch: commit it. Otherwise it
                        // is committed and waits for its flush.
                        Err(oneshot::error::TryRecvError::Empty)
                            if guard.generation == generation =>
                        {
                            self.writer.commit_batch(&mut guard)
                        }
                        Err(oneshot::error::TryRecvError::Empty) => {
                            drop(guard);
                            break (&mut outcome)
                                .await
                                .unwrap_or_else(|_| Err(Arc::from("the writer went away")));
                        }
                    }
                }
            }
        };
        outcome.map_err(|m| lost(&m))
    }
}

/// The error of an operation whose batch was lost: the storage failing is
/// what it is.
pub(super) fn lost(message: &str) -> Error {
    Error::Unavailable {
        why: "the disk failed to read or write",
        detail: message.to_owned(),
    }
}

pub(super) fn undo(b: &mut Batch, first: bool) {
    if b.lost() {
        // Nothing left to undo: SQLite rolled back the whole batch.
    } else if first {
        b.rollback();
    } else if let Err(e) = b.conn.batch("ROLLBACK TO op; RELEASE op") {
        // The savepoint is gone, so is the transaction: the batch is lost.
        tracing::error!(error = %e, "rolling back to the savepoint");
        b.rolled_back.store(true, Ordering::SeqCst);
        b.lost();
        b.rollback();
    }
}

impl Drop for Tx {
    /// Dropped without `commit` (an error, or the request went away): this
    /// operation's writes are undone; the batch goes on.
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        undo(&mut guard, self.first);
        self.writer.release(guard);
    }
}
