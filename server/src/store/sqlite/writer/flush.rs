//! The writer's flusher thread: the fsync of the WAL that makes a batch's
//! operations durable before they are answered (see the parent module).

use super::{Committed, Outcome};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

/// Why the writer refuses operations after a failed flush.
pub(super) const BROKEN: &str =
    "the disk failed to flush the database's log; restart the server once the disk is checked";

/// The flusher thread: fsyncs the WAL once for every batch committed since
/// its last flush, then runs their callbacks and answers them, in order.
pub(super) fn flush(
    wal: PathBuf,
    batches: mpsc::Receiver<Vec<Committed>>,
    broken: Arc<AtomicBool>,
    flushes: Arc<AtomicU64>,
    timing: prometheus::Histogram,
) {
    let mut file: Option<std::fs::File> = None;
    while let Ok(first) = batches.recv() {
        let mut ready = vec![first];
        ready.extend(batches.try_iter());
        let synced: Outcome = if broken.load(Ordering::SeqCst) {
            Err(Arc::from(BROKEN))
        } else {
            let f = match file.take() {
                Some(f) => Ok(f),
                None => std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&wal),
            };
            let timer = timing.start_timer();
            let synced = f.and_then(|f| f.sync_data().map(|()| f));
            timer.observe_duration();
            match synced {
                Ok(f) => {
                    file = Some(f);
                    flushes.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }
                Err(e) => {
                    tracing::error!(error = %e, wal = %wal.display(), "flushing the database's log failed");
                    broken.store(true, Ordering::SeqCst);
                    Err(Arc::from(BROKEN))
                }
            }
        };
        for (done, after) in ready.into_iter().flatten() {
            if synced.is_ok() {
                after();
            }
            done.send(synced.clone());
        }
    }
}
