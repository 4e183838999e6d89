//! The in-process event bus: operations publish after commit; the hall feed
//! subscribes. (Agents get their desired states from `desired_pushes`, which
//! the operation stored in its own transaction.) One exception: heartbeat
//! metrics are published with no transaction behind them, because live
//! presence is kept in memory only.

use club_shared::Event;
use tokio::sync::broadcast;

#[derive(Clone)]
pub struct Bus {
    tx: broadcast::Sender<Event>,
}

impl Bus {
    pub fn new() -> Self {
        // Subscribers that lag this far behind resynchronise from a snapshot.
        let (tx, _) = broadcast::channel(4096);
        Self { tx }
    }

    pub fn publish(&self, events: impl IntoIterator<Item = Event>) {
        for e in events {
            // No subscriber is not an error: nobody is watching yet.
            let _ = self.tx.send(e);
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}

impl Default for Bus {
    fn default() -> Self {
        Self::new()
    }
}
