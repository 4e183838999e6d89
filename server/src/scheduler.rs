//! Moves sessions on time: PENDING -> ACTIVE at planned start, STARTED ->
//! ENDED when the time runs out. It waits on the injected clock, so tests
//! drive it by advancing a manual clock.
//!
//! A pass goes on past an item it cannot move (another operation got there
//! first, its PC is busy, or the storage failed). Such an item is still due,
//! and nothing may wake the scheduler for it: so after a pass that left work
//! it comes back by itself, 1 s later, then 2 s, up to 30 s, until a pass
//! leaves nothing behind.

use crate::service::{Pass, Service};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The least real time between two passes woken by operations. Under load
/// every operation wakes the scheduler, and a pass is a dozen reads: a
/// burst is served by one pass, at most this much later.
const SETTLE: Duration = Duration::from_millis(20);
/// The first wait before a pass that left work comes back, on the clock.
pub const RETRY_FIRST: Duration = Duration::from_secs(1);
/// The longest wait between passes while work is left.
pub const RETRY_MAX: Duration = Duration::from_secs(30);

/// One step's result: a failure to even read what is due leaves work too.
fn left(step: &str, result: crate::error::Result<Pass>) -> bool {
    match result {
        Ok(pass) => pass.left_work(),
        Err(e) => {
            tracing::error!(%step, error = ?e, "scheduler step failed");
            true
        }
    }
}

/// Marks the scheduler running for /readyz and /metrics while it lives.
struct Running(prometheus::IntGauge);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.set(0);
    }
}

pub async fn run(service: Service, shutdown: CancellationToken) {
    service.metrics.scheduler_running.set(1);
    let _running = Running(service.metrics.scheduler_running.clone());
    let changed = service.schedule_changed();
    // The deadline the scheduler last slept until, when that woke it.
    let mut woke_for: Option<chrono::DateTime<chrono::Utc>> = None;
    let mut last_pass = service.now();
    let mut woken_by_change = false;
    let mut pass_started = tokio::time::Instant::now();
    // The wait before coming back for work a pass left, while it is left.
    let mut retry: Option<Duration> = None;
    loop {
        if woken_by_change {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep_until(pass_started + SETTLE) => {}
            }
        }
        pass_started = tokio::time::Instant::now();
        // Register interest before reading the deadline, so a change that
        // lands in between still wakes us.
        let notified = changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();

        let now = service.now();
        if let Some(deadline) = woke_for.take() {
            let late = (now - deadline).to_std().unwrap_or_default();
            service.metrics.scheduler_lag.observe(late.as_secs_f64());
        }
        let mut behind = left("sessions due", service.run_due(now).await);
        behind |= left("no-shows", service.release_no_shows(now).await);
        behind |= left("holding expiry", service.expire_holdings(now).await);
        if let Err(e) = service.announce_warnings(last_pass, now).await {
            tracing::error!(error = ?e, "announcing end warnings failed");
        }
        last_pass = now;
        let mut next = match service.next_deadline(now).await {
            Ok(next) => next,
            Err(e) => {
                tracing::error!(error = ?e, "scheduler could not read its next deadline");
                behind = true;
                None
            }
        };
        retry = if behind {
            let wait = retry.map_or(RETRY_FIRST, |r| (r * 2).min(RETRY_MAX));
            let again = now + chrono::Duration::from_std(wait).unwrap_or_default();
            next = Some(next.map_or(again, |n| n.min(again)));
            Some(wait)
        } else {
            None
        };
        let sleep = async {
            match next {
                Some(deadline) => service.clock.sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        woken_by_change = tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = &mut notified => true,
            _ = sleep => false,
        };
        if !woken_by_change {
            woke_for = next;
        }
    }
}
