//! Whether the server can do its job (`GET /readyz`): the database takes
//! a write, its schema is this build's, and the scheduler runs. Anyone on
//! the LAN may ask, so a check runs at most once a second and every caller
//! in that second gets its answer.

use super::Service;
use serde::Serialize;
use std::time::{Duration, Instant};
use utoipa::ToSchema;

/// How long one check's answer is reused.
const FRESH_FOR: Duration = Duration::from_secs(1);

/// The answer of `GET /readyz`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Readiness {
    /// Every check passed.
    pub ready: bool,
    /// `ok`, or why the database takes no write.
    pub database: String,
    /// `ok`, or how the applied migrations differ from this build's.
    pub migrations: String,
    /// `ok`, or that the scheduler is not running.
    pub scheduler: String,
}

pub(super) struct Checked {
    at: Instant,
    readiness: Readiness,
}

impl Service {
    /// The readiness checks, run now or reused from the last second.
    pub async fn readiness(&self) -> Readiness {
        let mut last = self.readiness.lock().await;
        if let Some(c) = last.as_ref().filter(|c| c.at.elapsed() < FRESH_FOR) {
            return c.readiness.clone();
        }
        let readiness = self.check_readiness().await;
        *last = Some(Checked {
            at: Instant::now(),
            readiness: readiness.clone(),
        });
        readiness
    }

    async fn check_readiness(&self) -> Readiness {
        let ok = || "ok".to_owned();
        let latest = self.store.latest_migration();
        let probe = tokio::time::timeout(Duration::from_secs(5), self.store.probe()).await;
        let (database, migrations) = match probe {
            Ok(Ok(v)) if v == latest => (ok(), ok()),
            Ok(Ok(v)) => (
                ok(),
                format!("the database is at migration {v}, this build at {latest}"),
            ),
            Ok(Err(e)) => (format!("takes no write: {e}"), "unknown".to_owned()),
            Err(_) => (
                "takes no write: no answer within 5 s".to_owned(),
                "unknown".to_owned(),
            ),
        };
        let scheduler = if self.metrics.scheduler_running.get() == 1 {
            ok()
        } else {
            "not running".to_owned()
        };
        Readiness {
            ready: [&database, &migrations, &scheduler]
                .iter()
                .all(|c| *c == "ok"),
            database,
            migrations,
            scheduler,
        }
    }
}
