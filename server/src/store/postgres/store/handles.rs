//! What an operation and a read hold while they use a connection: the
//! transaction (rolled back unless committed) and the lent reader.

use super::{PgStore, Pool};
use crate::store::postgres::conn::{io, PgDb};
use crate::store::{AfterCommit, Conn, Error, Result};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::OwnedSemaphorePermit;

/// An operation's transaction on PostgreSQL. Dereferences to the
/// connection; dropped without `commit`, it rolls back.
pub struct PgTx {
    pub(super) db: Option<PgDb>,
    pub(super) permit: Option<OwnedSemaphorePermit>,
    /// Its place in the order of events.
    pub(super) ticket: u64,
    /// Committed or rolled back: its ticket is done.
    pub(super) finished: bool,
    pub(super) store: PgStore,
}

impl Deref for PgTx {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.db.as_ref().expect("a live transaction")
    }
}

impl DerefMut for PgTx {
    fn deref_mut(&mut self) -> &mut Conn {
        self.db.as_mut().expect("a live transaction")
    }
}

impl PgTx {
    pub async fn commit(self) -> Result<()> {
        self.commit_then(|| {}).await
    }

    /// Commits, runs `after` once committed (in the order the operations
    /// took the write lock), and answers. The COMMIT and `after` run in a
    /// task of their own: a caller that goes away meanwhile cannot leave a
    /// committed operation's events unpublished, nor hold up the next
    /// operation's.
    pub async fn commit_then(mut self, after: impl FnOnce() + Send + 'static) -> Result<()> {
        let db = self.db.take().expect("a live transaction");
        let permit = self.permit.take().expect("a live transaction");
        let (store, ticket) = (self.store.clone(), self.ticket);
        self.finished = true;
        let committing = store.clone();
        let committed = io().spawn(async move {
            let store = committing;
            let started = Instant::now();
            match db.shared().batch_execute("COMMIT").await {
                Ok(()) => {
                    store.count_commit(started);
                    store.writers.put(db);
                    drop(permit);
                    store
                        .sequencer
                        .done(ticket, Some(Box::new(after) as AfterCommit));
                    Ok(())
                }
                Err(e) => {
                    store.sequencer.done(ticket, None);
                    store.writers.roll_back(db, permit);
                    Err(Error::from(e))
                }
            }
        });
        committed
            .await
            .map_err(|e| Error::Other(format!("committing: {e}")))??;
        store.sequencer.ran(ticket).await;
        Ok(())
    }
}

impl Drop for PgTx {
    /// Dropped without `commit` (an error, or the caller went away): its
    /// writes are undone, and its place in the order of events is passed.
    fn drop(&mut self) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        self.store.sequencer.done(self.ticket, None);
        if let (Some(db), Some(permit)) = (self.db.take(), self.permit.take()) {
            self.store.writers.roll_back(db, permit);
        }
    }
}

/// A reader lent to one request; back to the pool when dropped.
pub struct PgReader {
    pub(super) db: Option<PgDb>,
    pub(super) permit: Option<OwnedSemaphorePermit>,
    pub(super) pool: Arc<Pool>,
    pub(super) in_transaction: bool,
}

impl Deref for PgReader {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.db.as_ref().expect("a reader in use")
    }
}

impl DerefMut for PgReader {
    fn deref_mut(&mut self) -> &mut Conn {
        self.db.as_mut().expect("a reader in use")
    }
}

impl Drop for PgReader {
    fn drop(&mut self) {
        let (Some(db), Some(permit)) = (self.db.take(), self.permit.take()) else {
            return;
        };
        if self.in_transaction {
            self.pool.roll_back(db, permit);
        } else {
            self.pool.put(db);
        }
    }
}
