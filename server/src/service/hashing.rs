//! Password and PIN hashing on a few threads of their own. An argon2 check
//! takes 19 MiB and tens of milliseconds of CPU on purpose; run on tokio's
//! blocking pool, their number (and with it the memory held, which glibc
//! keeps per thread arena) grew with every wrong login an attacker sent at
//! once. Here the threads bound the memory, and the queue in front of them
//! bounds the waiting: past it a check is refused as busy, not queued.

use crate::error::{Error, Result};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};

/// Threads that hash: at most this many checks hold their memory at once.
pub const HASH_THREADS: usize = 2;
/// Checks that may wait for a thread; more at once are answered busy.
pub const HASH_QUEUE: usize = 32;

type Job = Box<dyn FnOnce() + Send>;

/// Worker threads and the bounded queue in front of them.
pub struct Pool {
    jobs: SyncSender<Job>,
}

impl Pool {
    pub fn new(threads: usize, queue: usize) -> Pool {
        let (jobs, rx) = sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("hash-{i}"))
                .spawn(move || worker(&rx))
                .expect("a password-hashing thread");
        }
        Pool { jobs }
    }

    /// Queues `f` for a thread, at once: `Busy` when the queue is full.
    pub fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<tokio::sync::oneshot::Receiver<T>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        match self.jobs.try_send(job) {
            Ok(()) => Ok(rx),
            Err(TrySendError::Full(_)) => Err(Error::Busy(
                "too many password checks at once; try again in a moment".into(),
            )),
            Err(TrySendError::Disconnected(_)) => Err(Error::Internal(anyhow::anyhow!(
                "the hashing threads are gone"
            ))),
        }
    }

    /// Runs `f` on one of the threads.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        self.submit(f)?
            .await
            .map_err(|_| Error::Internal(anyhow::anyhow!("a hashing job was dropped")))
    }
}

fn worker(rx: &Mutex<Receiver<Job>>) {
    loop {
        let job = match rx.lock().unwrap_or_else(|p| p.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        // A job that panics loses its answer (its caller gets an error),
        // not the thread.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

/// Runs `f` on the process's hashing threads.
pub async fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool::new(HASH_THREADS, HASH_QUEUE))
        .run(f)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn checks_past_the_threads_and_the_queue_are_refused_as_busy() {
        let pool = Pool::new(1, 2);
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = std::sync::mpsc::channel::<()>();
        // One job holds the only thread until released...
        let held = pool
            .submit(move || {
                let _ = started_tx.send(());
                let _ = hold.recv();
            })
            .unwrap();
        started.recv().unwrap();
        // ...two wait in the queue, and the next is refused at once.
        let queued = [pool.submit(|| 1).unwrap(), pool.submit(|| 2).unwrap()];
        assert!(matches!(pool.submit(|| 3), Err(Error::Busy(_))));
        release.send(()).unwrap();
        held.await.unwrap();
        let [a, b] = queued;
        assert_eq!((a.await.unwrap(), b.await.unwrap()), (1, 2));
        // Room again.
        assert_eq!(pool.run(|| 4).await.unwrap(), 4);
    }
}
