use super::Result;

/// One operation's outcome as the other servers read it (`chain_outbox`).
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub origin: String,
    pub body: String,
}

/// What servers sharing one database keep for each other (PostgreSQL
/// only: the `chain_*` tables). Times are the database server's clock.
pub trait Chain {
    /// Writes an operation's outcome in its transaction; answers its id.
    fn append_outbox(&mut self, origin: &str, body: &str) -> Result<i64>;
    /// The outcomes after `id`, oldest first, at most `limit`.
    fn outbox_after(&mut self, id: i64, limit: i64) -> Result<Vec<OutboxRow>>;
    /// The newest outcome's id (0 when there is none).
    fn outbox_last(&mut self) -> Result<i64>;
    /// Forgets outcomes older than `older_than_ms`; answers how many.
    fn prune_outbox(&mut self, older_than_ms: i64) -> Result<usize>;
    /// Records this server running, or beating again.
    fn register_instance(&mut self, instance: &str) -> Result<()>;
    /// This server beats; false when it is no longer on record (another
    /// server found it silent and took it for dead).
    fn beat_instance(&mut self, instance: &str) -> Result<bool>;
    /// The servers silent for longer than `silent_ms`.
    fn silent_instances(&mut self, silent_ms: i64) -> Result<Vec<String>>;
    /// Removes a server (with `silent_ms`, only one silent for longer than
    /// that still); answers the PCs that were connected to it (none when it
    /// beat since).
    fn remove_instance(&mut self, instance: &str, silent_ms: Option<i64>) -> Result<Vec<i64>>;
    /// Tells every server listening on `channel` (`NOTIFY`).
    fn notify(&mut self, channel: &str, payload: &str) -> Result<()>;
    /// The next number for a desk's command.
    fn next_command_id(&mut self) -> Result<i64>;
    /// A PC's agent is connected to `instance` since `since` (unix ms).
    fn put_presence(&mut self, device_id: i64, instance: &str, since: i64) -> Result<()>;
    /// Records a PC on `instance` unless it is on record elsewhere; false
    /// then.
    fn claim_presence(&mut self, device_id: i64, instance: &str, since: i64) -> Result<bool>;
    /// A PC's agent left `instance`; false when it is connected elsewhere.
    fn drop_presence(&mut self, device_id: i64, instance: &str) -> Result<bool>;
    /// The server a PC's agent is connected to, if any.
    fn presence_of(&mut self, device_id: i64) -> Result<Option<String>>;
    /// Every connected PC and its server.
    fn all_presence(&mut self) -> Result<Vec<(i64, String)>>;
}
