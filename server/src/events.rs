//! The in-process event bus: operations publish after commit; the agent
//! gateway and the hall feed subscribe.

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
