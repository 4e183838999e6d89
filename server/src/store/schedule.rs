//! What the scheduler asks of the sessions: what is due now (activations,
//! natural ends, no-shows, warnings) and when the next thing will be.

use super::Result;

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
    /// PENDING or ACTIVE sessions of a club planned to start at or before
    /// `cutoff` that nobody started: the no-shows.
    fn due_no_shows(&mut self, club_id: i64, cutoff: i64) -> Result<Vec<i64>>;
    /// A club's next no-show moment after `after`, with no-shows `grace_ms`
    /// late.
    fn next_no_show(&mut self, club_id: i64, after: i64, grace_ms: i64) -> Result<Option<i64>>;
}
