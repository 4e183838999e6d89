//! What the scheduler asks of the sessions: what is due now (activations,
//! natural ends, no-shows, warnings) and when the next thing will be.

use super::{Conn, Result};

/// What the store keeps of schedule, as every backend answers it.
pub trait Schedule {
    /// Sessions due for the scheduler at `now`: (id, status).
    fn due_sessions(&mut self, now: i64) -> Result<Vec<(i64, String)>>;
    /// The next moment after `now` at which the scheduler has work.
    fn next_deadline(&mut self, now: i64) -> Result<Option<i64>>;
    /// STARTED sessions whose warning moments fall in `(after, until]`:
    /// (session id, device id, ends_at).
    fn sessions_to_warn(
        &mut self,
        after: i64,
        until: i64,
        warn_ms: &[i64],
    ) -> Result<Vec<(i64, i64, i64)>>;
    /// The next warning moment after `after`, for the scheduler.
    fn next_warning(&mut self, after: i64, warn_ms: &[i64]) -> Result<Option<i64>>;
    /// PENDING or ACTIVE sessions planned to start at or before `cutoff` that
    /// nobody started: the no-shows.
    fn due_no_shows(&mut self, cutoff: i64) -> Result<Vec<i64>>;
    /// The next no-show moment after `after`, with no-shows `grace_ms` late.
    fn next_no_show(&mut self, after: i64, grace_ms: i64) -> Result<Option<i64>>;
}

/// Sessions due for the scheduler at `now`: (id, status).
pub fn due_sessions(c: &mut Conn, now: i64) -> Result<Vec<(i64, String)>> {
    c.due_sessions(now)
}

/// The next moment after `now` at which the scheduler has work.
pub fn next_deadline(c: &mut Conn, now: i64) -> Result<Option<i64>> {
    c.next_deadline(now)
}

/// STARTED sessions whose warning moments fall in `(after, until]`:
/// (session id, device id, ends_at).
pub fn sessions_to_warn(
    c: &mut Conn,
    after: i64,
    until: i64,
    warn_ms: &[i64],
) -> Result<Vec<(i64, i64, i64)>> {
    c.sessions_to_warn(after, until, warn_ms)
}

/// The next warning moment after `after`, for the scheduler.
pub fn next_warning(c: &mut Conn, after: i64, warn_ms: &[i64]) -> Result<Option<i64>> {
    c.next_warning(after, warn_ms)
}

/// PENDING or ACTIVE sessions planned to start at or before `cutoff` that
/// nobody started: the no-shows.
pub fn due_no_shows(c: &mut Conn, cutoff: i64) -> Result<Vec<i64>> {
    c.due_no_shows(cutoff)
}

/// The next no-show moment after `after`, with no-shows `grace_ms` late.
pub fn next_no_show(c: &mut Conn, after: i64, grace_ms: i64) -> Result<Option<i64>> {
    c.next_no_show(after, grace_ms)
}
