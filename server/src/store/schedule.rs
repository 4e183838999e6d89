//! What the scheduler asks of the sessions: what is due now (activations,
//! natural ends, no-shows, warnings) and when the next thing will be.

use super::db::Result;
use super::Conn;

/// Sessions due for the scheduler at `now`: (id, status).
pub fn due_sessions(c: &mut Conn, now: i64) -> Result<Vec<(i64, String)>> {
    c.all(
        "SELECT id, status FROM sessions \
         WHERE (status = 'PENDING' AND planned_start_at <= ?1) \
            OR (status = 'STARTED' AND ends_at <= ?1) \
         ORDER BY COALESCE(ends_at, planned_start_at), id",
        rusqlite::params![now],
    )
}

/// The next moment after `now` at which the scheduler has work.
pub fn next_deadline(c: &mut Conn, now: i64) -> Result<Option<i64>> {
    c.first("SELECT MIN(t) FROM ( \
           SELECT planned_start_at AS t FROM sessions WHERE status = 'PENDING' AND planned_start_at > ?1 \
           UNION ALL \
           SELECT ends_at AS t FROM sessions WHERE status = 'STARTED' AND ends_at > ?1)", rusqlite::params![now])
}

/// STARTED sessions whose warning moments fall in `(after, until]`:
/// (session id, device id, ends_at).
pub fn sessions_to_warn(
    c: &mut Conn,
    after: i64,
    until: i64,
    warn_ms: &[i64],
) -> Result<Vec<(i64, i64, i64)>> {
    let mut out = Vec::new();
    for w in warn_ms {
        let rows: Vec<(i64, i64, i64)> = c.all(
            "SELECT id, device_id, ends_at FROM sessions \
             WHERE status = 'STARTED' AND ends_at - ?1 > ?2 AND ends_at - ?1 <= ?3",
            rusqlite::params![w, after, until],
        )?;
        out.extend(rows);
    }
    Ok(out)
}

/// The next warning moment after `after`, for the scheduler.
pub fn next_warning(c: &mut Conn, after: i64, warn_ms: &[i64]) -> Result<Option<i64>> {
    let mut next: Option<i64> = None;
    for w in warn_ms {
        let t: Option<i64> = c.first(
            "SELECT MIN(ends_at - ?1) FROM sessions WHERE status = 'STARTED' AND ends_at - ?1 > ?2",
            rusqlite::params![w, after],
        )?;
        next = match (next, t) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(next)
}

/// PENDING or ACTIVE sessions planned to start at or before `cutoff` that
/// nobody started: the no-shows.
pub fn due_no_shows(c: &mut Conn, cutoff: i64) -> Result<Vec<i64>> {
    c.all(
        "SELECT id FROM sessions WHERE status IN ('PENDING', 'ACTIVE') \
         AND actual_start_at IS NULL AND planned_start_at <= ? ORDER BY id",
        rusqlite::params![cutoff],
    )
}

/// The next no-show moment after `after`, with no-shows `grace_ms` late.
pub fn next_no_show(c: &mut Conn, after: i64, grace_ms: i64) -> Result<Option<i64>> {
    c.first(
        "SELECT MIN(planned_start_at + ?1) FROM sessions WHERE status IN ('PENDING', 'ACTIVE') \
         AND actual_start_at IS NULL AND planned_start_at + ?1 > ?2",
        rusqlite::params![grace_ms, after],
    )
}
