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
    /// PENDING or ACTIVE sessions nobody started by `now`, their club's
    /// no-show grace after their planned start: the no-shows, each with that
    /// grace in minutes. A club's grace is its own rule (0: none there), or
    /// else the chain's `chain_minutes` (None: none).
    fn due_no_shows(&mut self, chain_minutes: Option<i64>, now: i64) -> Result<Vec<(i64, i64)>>;
    /// The next no-show moment after `after`, by the same rules.
    fn next_no_show(&mut self, chain_minutes: Option<i64>, after: i64) -> Result<Option<i64>>;
}
