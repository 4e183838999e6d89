//! The writer's group commit, savepoints and lost batches, on real
//! SQLite files.

use super::*;
use crate::store::sql::Sql;
use crate::store::Error;

const PATIENCE: Duration = Duration::from_secs(10);

fn open(path: &std::path::Path) -> Db {
    let c = rusqlite::Connection::open(path).unwrap();
    c.busy_timeout(PATIENCE).unwrap();
    let db = Db::new(c);
    db.batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
        .unwrap();
    db
}

pub(super) fn writer(dir: &tempfile::TempDir) -> (Writer, std::path::PathBuf) {
    let path = dir.path().join("w.db");
    let db = open(&path);
    db.batch("CREATE TABLE t (v INTEGER NOT NULL)").unwrap();
    // Old enough never: the tests decide when a batch ends.
    (
        Writer::with_max_age(db, Duration::from_secs(3600), None),
        path,
    )
}

/// What another connection sees: only what was committed.
pub(super) async fn committed(path: &std::path::Path) -> Vec<i64> {
    open(path).all("SELECT v FROM t ORDER BY v", &[]).unwrap()
}

async fn insert(tx: &mut Tx, v: i64) {
    tx.db()
        .run("INSERT INTO t (v) VALUES (?)", crate::args![v])
        .unwrap();
}

pub(super) async fn until_queued(w: &Writer, n: usize) {
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
) -> tokio::task::JoinHandle<Result<()>> {
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
    let (w, options) = writer(&dir);
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
    let (w, options) = writer(&dir);
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
    let (w, options) = writer(&dir);
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
    let (w, options) = writer(&dir);
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
    let (w, options) = writer(&dir);
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
    ends: impl FnOnce(Tx) -> tokio::task::JoinHandle<Result<()>> + Send + 'static,
) {
    let dir = tempfile::tempdir().unwrap();
    let (w, options) = writer(&dir);
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
            tx.db().batch("ROLLBACK").unwrap();
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
            Err(lost(LOST))
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
    let (w, options) = writer(&dir);
    for v in 1..=3 {
        let mut tx = w.begin().await.unwrap();
        insert(&mut tx, v).await;
        tx.commit().await.unwrap();
        assert_eq!(committed(&options).await.len(), v as usize);
    }
    assert_eq!(w.commits(), 3);
}

pub(super) fn flushing(dir: &tempfile::TempDir, wal: Option<&str>) -> (Writer, std::path::PathBuf) {
    let path = dir.path().join("w.db");
    let db = open(&path);
    db.batch("PRAGMA synchronous = NORMAL; CREATE TABLE t (v INTEGER NOT NULL)")
        .unwrap();
    let wal = wal.map_or_else(|| dir.path().join("w.db-wal"), |w| dir.path().join(w));
    (
        Writer::with_max_age(db, Duration::from_secs(3600), Some(wal)),
        path,
    )
}

#[tokio::test]
async fn a_flushing_writer_answers_queued_operations_after_fsyncing_the_wal_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (w, options) = flushing(&dir, None);
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut first = w.begin().await.unwrap();
    insert(&mut first, 0).await;
    let mut queued = Vec::new();
    for v in 1..=3 {
        queued.push(spawn_insert(&w, v, order.clone()));
        until_queued(&w, v as usize).await;
    }
    let o = order.clone();
    first
        .commit_then(move || o.lock().unwrap().push(0))
        .await
        .unwrap();
    assert!(w.flushes() >= 1, "answered before the WAL was flushed");
    for q in queued {
        q.await.unwrap().unwrap();
    }
    assert_eq!(w.commits(), 1);
    assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3]);
    assert_eq!(committed(&options).await, vec![0, 1, 2, 3]);
    // A later batch: flushed again before it is answered.
    let flushed = w.flushes();
    spawn_insert(&w, 4, order.clone()).await.unwrap().unwrap();
    assert!(w.flushes() > flushed);
    assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
}

#[tokio::test]
async fn a_failed_flush_answers_an_error_runs_no_callback_and_refuses_later_operations() {
    let dir = tempfile::tempdir().unwrap();
    // The flusher cannot open this log: its fsync fails.
    let (w, _) = flushing(&dir, Some("missing/w.db-wal"));
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let e = spawn_insert(&w, 1, order.clone())
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(e, Error::Unavailable { .. }),
        "a failed flush is not durable: {e:?}"
    );
    assert!(order.lock().unwrap().is_empty(), "callbacks ran");
    assert_eq!(w.flushes(), 0);
    let refused = w.begin().await.err().expect("the writer refuses");
    assert!(refused.to_string().contains("flush"), "{refused}");
}

#[tokio::test]
async fn closing_a_flushing_writer_waits_for_the_last_flush() {
    let dir = tempfile::tempdir().unwrap();
    let (w, options) = flushing(&dir, None);
    let mut tx = w.begin().await.unwrap();
    insert(&mut tx, 1).await;
    let pending = tokio::spawn(tx.commit());
    until_queued(&w, 0).await;
    w.close().await;
    assert!(w.flushes() >= 1);
    pending.await.unwrap().unwrap();
    assert_eq!(committed(&options).await, vec![1]);
}

#[tokio::test]
async fn a_failing_operation_after_committed_ones_undoes_only_its_own_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (w, options) = writer(&dir);
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut first = w.begin().await.unwrap();
    insert(&mut first, 1).await;
    let committed_one = spawn_insert(&w, 2, order.clone());
    until_queued(&w, 1).await;
    let failing = {
        let w = w.clone();
        tokio::spawn(async move {
            let mut tx = w.begin().await.unwrap();
            insert(&mut tx, 3).await;
        })
    };
    until_queued(&w, 2).await;
    let last = spawn_insert(&w, 4, order.clone());
    until_queued(&w, 3).await;
    first.commit().await.unwrap();
    committed_one.await.unwrap().unwrap();
    failing.await.unwrap();
    last.await.unwrap().unwrap();
    assert_eq!(w.commits(), 1);
    assert_eq!(committed(&options).await, vec![1, 2, 4]);
    assert_eq!(*order.lock().unwrap(), vec![2, 4]);
}
