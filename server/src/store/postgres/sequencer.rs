//! Events in the order their operations committed. Operations take the
//! write lock one after another and each takes a ticket while it holds it;
//! a committed operation's callback runs once every earlier ticket is done
//! (committed and run, or rolled back), whichever task gets there first.

use crate::store::AfterCommit;
use std::collections::BTreeMap;
use std::sync::Mutex;
use tokio::sync::watch;

pub(super) struct Sequencer {
    state: Mutex<State>,
    /// The first ticket not yet done.
    through: watch::Sender<u64>,
}

#[derive(Default)]
struct State {
    issued: u64,
    next: u64,
    waiting: BTreeMap<u64, Option<AfterCommit>>,
}

impl Default for Sequencer {
    fn default() -> Self {
        Sequencer {
            state: Mutex::new(State::default()),
            through: watch::Sender::new(0),
        }
    }
}

impl Sequencer {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next place in the order.
    pub(super) fn ticket(&self) -> u64 {
        let mut s = self.lock();
        s.issued += 1;
        s.issued - 1
    }

    /// `ticket` is done: committed with `after` to run, or rolled back.
    /// Runs every callback whose turn came, in order.
    pub(super) fn done(&self, ticket: u64, after: Option<AfterCommit>) {
        let mut s = self.lock();
        s.waiting.insert(ticket, after);
        loop {
            let next = s.next;
            let Some(after) = s.waiting.remove(&next) else {
                break;
            };
            s.next += 1;
            if let Some(after) = after {
                // Under the lock: the next callback waits for this one.
                after();
            }
        }
        let next = s.next;
        drop(s);
        self.through.send_replace(next);
    }

    /// Waits until `ticket`'s callback ran.
    pub(super) async fn ran(&self, ticket: u64) {
        let mut through = self.through.subscribe();
        let _ = through.wait_for(|next| *next > ticket).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn callbacks_run_in_ticket_order_whoever_finishes_first() {
        let s = Sequencer::default();
        let order = Arc::new(Mutex::new(Vec::new()));
        let [a, b, c] = [s.ticket(), s.ticket(), s.ticket()];
        let push = |n: u64| {
            let order = order.clone();
            Some(Box::new(move || order.lock().unwrap().push(n)) as AfterCommit)
        };
        s.done(c, push(c));
        s.done(b, None);
        assert!(order.lock().unwrap().is_empty(), "the first is not done");
        s.done(a, push(a));
        assert_eq!(*order.lock().unwrap(), vec![a, c]);
    }
}
