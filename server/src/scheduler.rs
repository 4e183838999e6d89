//! Moves sessions on time: PENDING -> ACTIVE at planned start, STARTED ->
//! ENDED when the time runs out. It waits on the injected clock, so tests
//! drive it by advancing a manual clock.

use crate::service::Service;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The least real time between two passes woken by operations. Under load
/// every operation wakes the scheduler, and a pass is a dozen reads: a
/// burst is served by one pass, at most this much later.
const SETTLE: Duration = Duration::from_millis(20);

pub async fn run(service: Service, shutdown: CancellationToken) {
    let changed = service.schedule_changed();
    let mut last_pass = service.now();
    let mut woken_by_change = false;
    let mut pass_started = tokio::time::Instant::now();
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
        if let Err(e) = service.run_due(now).await {
            tracing::error!(error = ?e, "scheduler pass failed");
        }
        if let Err(e) = service.release_no_shows(now).await {
            tracing::error!(error = ?e, "no-show release failed");
        }
        if let Err(e) = service.expire_holdings(now).await {
            tracing::error!(error = ?e, "holding expiry failed");
        }
        if let Err(e) = service.announce_warnings(last_pass, now).await {
            tracing::error!(error = ?e, "announcing end warnings failed");
        }
        last_pass = now;
        let next = match service.next_deadline(now).await {
            Ok(next) => next,
            Err(e) => {
                tracing::error!(error = ?e, "scheduler could not read its next deadline");
                None
            }
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
    }
}
