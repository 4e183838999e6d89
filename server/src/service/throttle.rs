//! Failed sign-ins, counted per source address and per account, with a
//! lock once too many come within a window: a 4-digit PIN must not fall to
//! a loop, nor a staff password to 70 guesses a second. A locked key is
//! refused before any password check (so a lock also costs no hashing);
//! the lock lifts with time, doubling for each lock in a row up to a
//! ceiling, and staff can lift a PIN's lock. Time comes in as a parameter.
//!
//! Made-up accounts are counted like real ones (a lock must not tell an
//! attacker which names exist); their number is bounded by the address
//! limit, and keys with nothing left to remember are dropped as the map
//! grows.

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Address(IpAddr),
    /// A staff login from one address: a staff account is locked per
    /// address, so that nobody can keep the owner out by guessing wrong
    /// from a PC of their own.
    Staff(String, IpAddr),
    /// A player, by the phone they sign in with.
    Phone(String),
}

/// How many failures within `window` lock a key, for how long at first,
/// and how long at most.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub failures: u32,
    pub window: Duration,
    pub lock: Duration,
    pub max_lock: Duration,
}

/// One address: 30 failed sign-ins a minute (any accounts), then 1 minute
/// shut out, doubling up to 15.
pub const ADDRESS: Rule = Rule {
    failures: 30,
    window: Duration::minutes(1),
    lock: Duration::minutes(1),
    max_lock: Duration::minutes(15),
};
/// A staff account: 5 wrong passwords in 15 minutes, then 1 minute,
/// doubling up to 30.
pub const STAFF: Rule = Rule {
    failures: 5,
    window: Duration::minutes(15),
    lock: Duration::minutes(1),
    max_lock: Duration::minutes(30),
};
/// A player's PIN: 5 wrong in 15 minutes, then 15 minutes (or until staff
/// unlock it), doubling up to 4 hours.
pub const PLAYER: Rule = Rule {
    failures: 5,
    window: Duration::minutes(15),
    lock: Duration::minutes(15),
    max_lock: Duration::hours(4),
};

/// Past this many keys, the ones with nothing left to remember are dropped.
const TIDY_ABOVE: usize = 4096;

#[derive(Debug, Clone)]
struct Entry {
    failures: u32,
    /// Attempts begun and not yet decided: counted against the limit, so
    /// that a burst of parallel guesses cannot all pass the check first.
    pending: u32,
    since: DateTime<Utc>,
    locked_until: Option<DateTime<Utc>>,
    /// Locks in a row (not reset by a lock ending; reset by a success).
    locks: u32,
    rule: Rule,
}

/// Whole seconds from `now` until `until`, at least 1 (for Retry-After).
fn seconds_until(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    ((until - now).num_milliseconds().max(0) as u64)
        .div_ceil(1000)
        .max(1)
}

impl Entry {
    fn new(now: DateTime<Utc>, rule: Rule) -> Entry {
        Entry {
            failures: 0,
            pending: 0,
            since: now,
            locked_until: None,
            locks: 0,
            rule,
        }
    }
}

#[derive(Default)]
pub struct Throttle {
    entries: Mutex<HashMap<Key, Entry>>,
}

/// A lock that a failure just set: for the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct Locked {
    pub key: Key,
    pub until: DateTime<Utc>,
}

impl Throttle {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Begins a sign-in attempt: `Err(seconds to wait)` while a key is
    /// locked or already has as many attempts under way as it may still
    /// fail. The attempt counts from here: if it is never decided (the
    /// caller went away), it counts as a failure.
    pub fn begin(
        self: &Arc<Self>,
        keys: Vec<(Key, Rule)>,
        now: DateTime<Utc>,
    ) -> Result<Attempt, u64> {
        let mut m = self.map();
        for (key, rule) in &keys {
            let Some(e) = m.get(key) else { continue };
            if let Some(until) = e.locked_until.filter(|u| *u > now) {
                return Err(seconds_until(until, now));
            }
            let counted = if now - e.since < rule.window {
                e.failures
            } else {
                0
            };
            if counted + e.pending >= rule.failures {
                return Err(1);
            }
        }
        for (key, rule) in &keys {
            m.entry(key.clone())
                .or_insert_with(|| Entry::new(now, *rule))
                .pending += 1;
        }
        Ok(Attempt {
            throttle: self.clone(),
            keys,
            at: now,
            decided: false,
        })
    }

    fn settle(&self, keys: &[(Key, Rule)]) {
        let mut m = self.map();
        for (key, _) in keys {
            if let Some(e) = m.get_mut(key) {
                e.pending = e.pending.saturating_sub(1);
            }
        }
    }

    /// `Err(seconds to wait)` while any of `keys` is locked (the state the
    /// tests look at; sign-ins go through `begin`).
    #[cfg(test)]
    fn check(&self, keys: &[Key], now: DateTime<Utc>) -> Result<(), u64> {
        let m = self.map();
        let wait = keys
            .iter()
            .filter_map(|k| m.get(k)?.locked_until)
            .filter(|until| *until > now)
            .max();
        match wait {
            Some(until) => Err(seconds_until(until, now)),
            None => Ok(()),
        }
    }

    /// Counts a failure against each key; answers the locks it set.
    fn failed(&self, keys: &[(Key, Rule)], now: DateTime<Utc>) -> Vec<Locked> {
        let mut m = self.map();
        if m.len() > TIDY_ABOVE {
            m.retain(|_, e| {
                e.pending > 0
                    || e.locked_until.is_some_and(|u| u > now)
                    || now - e.since < e.rule.window
            });
        }
        let mut set = Vec::new();
        for (key, rule) in keys {
            let e = m
                .entry(key.clone())
                .or_insert_with(|| Entry::new(now, *rule));
            if now - e.since >= rule.window {
                e.failures = 0;
                e.since = now;
            }
            e.failures += 1;
            if e.failures >= rule.failures {
                let lock = rule.lock * 2i32.saturating_pow(e.locks.min(16));
                let until = now + lock.min(rule.max_lock);
                e.locked_until = Some(until);
                e.locks += 1;
                e.failures = 0;
                e.since = now;
                set.push(Locked {
                    key: key.clone(),
                    until,
                });
            }
        }
        set
    }

    /// A sign-in that worked: the account starts afresh.
    fn succeeded(&self, key: &Key) {
        self.map().remove(key);
    }

    /// Lifts a lock by hand; answers whether there was one.
    pub fn unlock(&self, key: &Key, now: DateTime<Utc>) -> bool {
        self.map()
            .remove(key)
            .is_some_and(|e| e.locked_until.is_some_and(|u| u > now))
    }
}

/// A sign-in attempt under way; decide it with `failed` or `succeeded`.
/// Dropped undecided (the caller went away mid-check), it is a failure.
pub struct Attempt {
    throttle: Arc<Throttle>,
    keys: Vec<(Key, Rule)>,
    at: DateTime<Utc>,
    decided: bool,
}

impl Key {
    /// What the key locks: `address`, `login` or `phone`.
    pub fn kind(&self) -> &'static str {
        match self {
            Key::Address(_) => "address",
            Key::Staff(..) => "login",
            Key::Phone(_) => "phone",
        }
    }
}

impl Attempt {
    /// `player` for a PIN sign-in, `staff` for a password one.
    pub fn who(&self) -> &'static str {
        if self.keys.iter().any(|(k, _)| matches!(k, Key::Phone(_))) {
            "player"
        } else {
            "staff"
        }
    }

    /// A wrong password or PIN: answers the locks it set.
    pub fn failed(mut self, now: DateTime<Utc>) -> Vec<Locked> {
        self.decided = true;
        self.throttle.settle(&self.keys);
        self.throttle.failed(&self.keys, now)
    }

    /// The right one: the account (every key but the address) starts afresh.
    pub fn succeeded(mut self) {
        self.decided = true;
        self.throttle.settle(&self.keys);
        for (key, _) in &self.keys {
            if !matches!(key, Key::Address(_)) {
                self.throttle.succeeded(key);
            }
        }
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if !self.decided {
            self.throttle.settle(&self.keys);
            let _ = self.throttle.failed(&self.keys, self.at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn five_wrong_pins_lock_the_player_for_a_while_then_longer() {
        let th = Throttle::default();
        let pin = Key::Phone("+1 555 0107".into());
        for i in 0..4 {
            assert!(th.failed(&[(pin.clone(), PLAYER)], t(i)).is_empty());
            assert_eq!(th.check(std::slice::from_ref(&pin), t(i)), Ok(()));
        }
        let locked = th.failed(&[(pin.clone(), PLAYER)], t(4));
        assert_eq!(
            locked,
            [Locked {
                key: pin.clone(),
                until: t(4 + 15 * 60)
            }]
        );
        assert_eq!(th.check(std::slice::from_ref(&pin), t(5)), Err(15 * 60 - 1));
        assert_eq!(
            th.check(std::slice::from_ref(&pin), t(4 + 15 * 60)),
            Ok(()),
            "lifts with time"
        );
        // The next lock in a row is twice as long.
        for i in 0..5 {
            th.failed(&[(pin.clone(), PLAYER)], t(1000 + i));
        }
        assert_eq!(th.check(std::slice::from_ref(&pin), t(1004)), Err(30 * 60));
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let th = Throttle::default();
        let staff = Key::Staff("owner".into(), "10.0.0.9".parse().unwrap());
        for i in 0..4 {
            th.failed(&[(staff.clone(), STAFF)], t(i * 16 * 60));
        }
        assert_eq!(th.check(&[staff], t(4 * 16 * 60)), Ok(()));
    }

    #[test]
    fn a_success_or_staff_start_an_account_afresh() {
        let th = Throttle::default();
        let pin = Key::Phone("+1 555 0107".into());
        for i in 0..5 {
            th.failed(&[(pin.clone(), PLAYER)], t(i));
        }
        assert!(th.check(std::slice::from_ref(&pin), t(6)).is_err());
        assert!(th.unlock(&pin, t(6)));
        assert_eq!(th.check(std::slice::from_ref(&pin), t(6)), Ok(()));
        assert!(!th.unlock(&pin, t(6)), "nothing left to unlock");
        for i in 0..4 {
            th.failed(&[(pin.clone(), PLAYER)], t(10 + i));
        }
        th.succeeded(&pin);
        assert!(th.failed(&[(pin.clone(), PLAYER)], t(20)).is_empty());
    }

    #[test]
    fn parallel_attempts_cannot_all_pass_the_check_first() {
        let th = Arc::new(Throttle::default());
        let pin = Key::Phone("+1 555 0107".into());
        let attempts: Vec<Attempt> = (0..5)
            .map(|_| th.begin(vec![(pin.clone(), PLAYER)], t(0)).unwrap())
            .collect();
        assert_eq!(
            th.begin(vec![(pin.clone(), PLAYER)], t(0)).err(),
            Some(1),
            "a sixth while five are under way"
        );
        let mut locks = Vec::new();
        for a in attempts {
            locks.extend(a.failed(t(1)));
        }
        assert_eq!(locks.len(), 1, "the fifth failure locks");
        assert!(th.begin(vec![(pin, PLAYER)], t(2)).is_err());
    }

    #[test]
    fn an_attempt_abandoned_midway_counts_as_a_failure() {
        let th = Arc::new(Throttle::default());
        let pin = Key::Phone("+1 555 0107".into());
        for _ in 0..5 {
            drop(th.begin(vec![(pin.clone(), PLAYER)], t(0)).unwrap());
        }
        assert!(th.check(std::slice::from_ref(&pin), t(1)).is_err());
        // A right one in time starts the account afresh.
        let other = Key::Phone("+1 555 0108".into());
        for _ in 0..4 {
            drop(th.begin(vec![(other.clone(), PLAYER)], t(0)).unwrap());
        }
        th.begin(vec![(other.clone(), PLAYER)], t(0))
            .unwrap()
            .succeeded();
        th.begin(vec![(other.clone(), PLAYER)], t(0))
            .unwrap()
            .failed(t(0));
        assert_eq!(th.check(&[other], t(1)), Ok(()));
    }

    #[test]
    fn the_address_counts_every_account_and_the_lock_is_capped() {
        let th = Throttle::default();
        let from = Key::Address("10.0.0.9".parse().unwrap());
        let mut locks = Vec::new();
        for round in 0..10 {
            for i in 0..30 {
                locks.extend(th.failed(&[(from.clone(), ADDRESS)], t(round * 3600 + i)));
            }
        }
        assert_eq!(locks.len(), 10);
        let longest = locks.iter().map(|l| l.until - t(0)).max().unwrap();
        assert!(longest <= Duration::hours(10));
        assert_eq!(th.check(&[from], t(9 * 3600 + 29)), Err(15 * 60));
    }
}
