use crate::store::schedule::*;
use crate::store::sql::{Result, Sql};

// The no-show queries' parts, put together at compile time (the scheduler
// runs them on every pass).

/// A session's no-show grace in minutes: its club's own rule, or else the
/// chain's (`?1`, null when off).
macro_rules! grace {
    () => {
        "COALESCE(k.no_show_minutes, ?1)"
    };
}

/// The moment a session nobody started becomes a no-show.
macro_rules! no_show_at {
    () => {
        concat!("s.planned_start_at + ", grace!(), " * 60000")
    };
}

/// Sessions nobody started, in clubs whose no-show rule is on (0 is off).
macro_rules! not_started {
    () => {
        concat!(
            "FROM sessions s JOIN devices d ON d.id = s.device_id \
             JOIN clubs k ON k.id = d.club_id \
             WHERE s.status IN ('PENDING', 'ACTIVE') AND s.actual_start_at IS NULL AND ",
            grace!(),
            " > 0"
        )
    };
}

impl<D: Sql> Schedule for D {
    fn due_sessions(&mut self, now: i64) -> Result<Vec<(i64, String)>> {
        let c = self;
        c.all(
            "SELECT id, status FROM sessions \
         WHERE (status = 'PENDING' AND planned_start_at <= ?1) \
            OR (status = 'STARTED' AND ends_at <= ?1) \
         ORDER BY COALESCE(ends_at, planned_start_at), id",
            crate::args![now],
        )
    }

    fn next_deadline(&mut self, now: i64) -> Result<Option<i64>> {
        let c = self;
        c.first("SELECT MIN(t) FROM ( \
           SELECT planned_start_at AS t FROM sessions WHERE status = 'PENDING' AND planned_start_at > ?1 \
           UNION ALL \
           SELECT ends_at AS t FROM sessions WHERE status = 'STARTED' AND ends_at > ?1) AS due", crate::args![now])
    }

    fn sessions_to_warn(
        &mut self,
        after: i64,
        until: i64,
        warn_ms: &[i64],
    ) -> Result<Vec<(i64, i64, i64)>> {
        let c = self;
        let mut out = Vec::new();
        for w in warn_ms {
            let rows: Vec<(i64, i64, i64)> = c.all(
                "SELECT id, device_id, ends_at FROM sessions \
             WHERE status = 'STARTED' AND ends_at - ?1 > ?2 AND ends_at - ?1 <= ?3",
                crate::args![w, after, until],
            )?;
            out.extend(rows);
        }
        Ok(out)
    }

    fn next_warning(&mut self, after: i64, warn_ms: &[i64]) -> Result<Option<i64>> {
        let c = self;
        let mut next: Option<i64> = None;
        for w in warn_ms {
            let t: Option<i64> = c.first(
            "SELECT MIN(ends_at - ?1) FROM sessions WHERE status = 'STARTED' AND ends_at - ?1 > ?2",
            crate::args![w, after],
        )?;
            next = match (next, t) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        Ok(next)
    }

    fn due_no_shows(&mut self, chain_minutes: Option<i64>, now: i64) -> Result<Vec<(i64, i64)>> {
        let c = self;
        c.all(
            concat!(
                "SELECT s.id, ",
                grace!(),
                " AS minutes ",
                not_started!(),
                " AND ",
                no_show_at!(),
                " <= ?2 ORDER BY s.id"
            ),
            crate::args![chain_minutes, now],
        )
    }

    fn next_no_show(&mut self, chain_minutes: Option<i64>, after: i64) -> Result<Option<i64>> {
        let c = self;
        c.first(
            concat!(
                "SELECT MIN(",
                no_show_at!(),
                ") ",
                not_started!(),
                " AND ",
                no_show_at!(),
                " > ?2"
            ),
            crate::args![chain_minutes, after],
        )
    }
}
