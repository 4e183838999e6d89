//! Reads that rarely change, kept in memory for every connection of the
//! store: the club's settings, tariffs and their zones, and who a sign-in
//! token belongs to with their operator. A request reads them on every
//! call (a session create reads the settings and its tariff; every staff
//! request its token and operator), and they change a few times a day.
//!
//! The cache holds committed values only. An operation that writes one of
//! these tables marks its connection, which then reads them from the
//! database until its batch ends (it sees its own writes; no other
//! connection does). When that batch commits, the whole cache is dropped
//! and its generation moves on; a value read while a commit happened (its
//! generation passed) is not kept. A batch that rolls back changed nothing.

use crate::store::{OperatorRow, TariffRow, TokenOwner};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Entries one map holds at most: a full map starts again empty, so
/// lookups of ids that do not exist cannot grow it.
const MAX_ENTRIES: usize = 4096;

#[derive(Default)]
pub(crate) struct Maps {
    pub settings: HashMap<String, Option<String>>,
    pub tariffs: HashMap<i64, Option<TariffRow>>,
    pub tariff_zones: HashMap<i64, Vec<i64>>,
    /// Live tokens only: an unknown token is never kept.
    pub tokens: HashMap<String, TokenOwner>,
    pub operators: HashMap<i64, Option<OperatorRow>>,
}

/// Keeps `value` under `key` in `map`, starting the map again when full.
pub(crate) fn keep<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>, key: K, value: V) {
    if map.len() >= MAX_ENTRIES {
        map.clear();
    }
    map.insert(key, value);
}

#[derive(Default)]
pub(crate) struct Cache {
    /// The generation and the values read in it.
    state: Mutex<(u64, Maps)>,
    /// Reads the cache could not answer (for the tests).
    misses: AtomicU64,
}

impl Cache {
    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, Maps)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached value `pick` finds, or `load`'s, kept by `put` unless a
    /// commit changed the cache meanwhile.
    pub(crate) fn get<T, E>(
        &self,
        pick: impl FnOnce(&Maps) -> Option<T>,
        load: impl FnOnce() -> Result<T, E>,
        put: impl FnOnce(&mut Maps, &T),
    ) -> Result<T, E> {
        let generation = {
            let state = self.lock();
            if let Some(v) = pick(&state.1) {
                return Ok(v);
            }
            state.0
        };
        self.misses.fetch_add(1, Ordering::Relaxed);
        let v = load()?;
        let mut state = self.lock();
        if state.0 == generation {
            put(&mut state.1, &v);
        }
        Ok(v)
    }

    /// A batch that wrote cached tables committed: every value goes.
    pub(crate) fn invalidate(&self) {
        let mut state = self.lock();
        state.0 += 1;
        state.1 = Maps::default();
    }

    #[cfg(test)]
    pub(crate) fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    async fn setting(s: &Store) -> Option<String> {
        s.read().await.unwrap().get_setting("k").unwrap()
    }

    #[tokio::test]
    async fn readers_see_a_change_once_committed_and_the_writer_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open_in(&dir).await;
        let mut tx = s.write().await.unwrap();
        tx.put_setting("k", "a").unwrap();
        tx.commit().await.unwrap();
        assert_eq!(setting(&s).await.as_deref(), Some("a"));
        let misses = s.cache_misses();
        assert_eq!(setting(&s).await.as_deref(), Some("a"));
        assert_eq!(s.cache_misses(), misses, "the second read is the cache's");

        let mut tx = s.write().await.unwrap();
        tx.put_setting("k", "b").unwrap();
        let own = tx.get_setting("k").unwrap();
        assert_eq!(own.as_deref(), Some("b"), "the writer sees its own change");
        assert_eq!(setting(&s).await.as_deref(), Some("a"), "nobody else yet");
        tx.commit().await.unwrap();
        assert_eq!(setting(&s).await.as_deref(), Some("b"));
    }

    #[tokio::test]
    async fn a_change_rolled_back_leaves_the_committed_value() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open_in(&dir).await;
        let mut tx = s.write().await.unwrap();
        tx.put_setting("k", "a").unwrap();
        tx.commit().await.unwrap();
        assert_eq!(setting(&s).await.as_deref(), Some("a"));
        let mut tx = s.write().await.unwrap();
        tx.put_setting("k", "b").unwrap();
        drop(tx);
        assert_eq!(setting(&s).await.as_deref(), Some("a"));
        let mut tx = s.write().await.unwrap();
        let seen = tx.get_setting("k").unwrap();
        assert_eq!(seen.as_deref(), Some("a"), "the next operation too");
    }

    #[tokio::test]
    async fn a_kept_token_expires_and_an_unknown_one_is_never_kept() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open_in(&dir).await;
        let mut tx = s.write().await.unwrap();
        let role = tx.insert_role("R", false, "[]").unwrap();
        let op = tx.insert_operator("op", "x", role, None, 0).unwrap();
        tx.insert_token("t", Some(op), None, 0, 100).unwrap();
        tx.commit().await.unwrap();
        let owner = |now: i64| {
            let s = s.clone();
            async move { s.read().await.unwrap().token_owner("t", now).unwrap() }
        };
        assert_eq!(owner(50).await, Some((Some(op), None, 100)));
        let misses = s.cache_misses();
        assert_eq!(owner(60).await, Some((Some(op), None, 100)));
        assert_eq!(s.cache_misses(), misses, "kept");
        assert_eq!(owner(100).await, None, "expired, also when kept");
        for _ in 0..3 {
            let mut c = s.read().await.unwrap();
            assert_eq!(c.token_owner("unknown", 0).unwrap(), None);
        }
        assert_eq!(
            s.cache_misses(),
            misses + 3,
            "each unknown token asked again"
        );

        // Signing out reaches every reader once committed.
        let mut tx = s.write().await.unwrap();
        tx.delete_token("t").unwrap();
        tx.commit().await.unwrap();
        assert_eq!(owner(60).await, None);
    }
}
