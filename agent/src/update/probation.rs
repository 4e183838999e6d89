//! A new build's probation: welcomed in time it stays, otherwise the
//! previous build goes back (see the parent module).

use super::{marker_path, write_marker, Marker, SelfUpdate};
use crate::runtime::AgentHandle;
use anyhow::Context;
use chrono::Utc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A new build on probation: welcomed by the server in time, it stays (the
/// marker goes); otherwise the previous build goes back in its place and
/// the agent restarts into it.
pub(crate) async fn probation(
    handle: AgentHandle,
    su: SelfUpdate,
    marker: Marker,
    shutdown: CancellationToken,
) {
    let left = (marker.deadline - Utc::now())
        .to_std()
        .unwrap_or(Duration::ZERO);
    tracing::info!(version = %marker.to_version, seconds = left.as_secs(), "a new build on probation");
    let welcomed = tokio::select! {
        // Stopped meanwhile: the next start goes on with the probation.
        _ = shutdown.cancelled() => return,
        s = handle.wait_until(left, |s| s.connected) => s.is_some(),
    };
    let marker_file = marker_path(&handle);
    if welcomed {
        let _ = std::fs::remove_file(&marker_file);
        tracing::info!(version = %marker.to_version, "updated: the new build is welcomed");
        return;
    }
    tracing::error!(version = %marker.to_version, "the new build could not connect; putting the previous one back");
    let back = (|| -> anyhow::Result<()> {
        let _ = std::fs::remove_file(su.failed());
        std::fs::rename(&su.exe, su.failed()).context("moving the new build aside")?;
        if let Err(e) = std::fs::rename(&marker.previous, &su.exe) {
            let _ = std::fs::rename(su.failed(), &su.exe);
            return Err(e).context("putting the previous build back");
        }
        write_marker(
            &marker_file,
            &Marker {
                failed: true,
                ..marker.clone()
            },
        )
    })();
    match back {
        Ok(()) => handle.request_restart(),
        Err(e) => {
            let why = format!("{e:#}");
            tracing::error!(error = %why, "rolling back failed");
            handle.set_update_problem(Some(format!(
                "the update to {} could not connect and rolling back failed: {why}",
                marker.to_version
            )));
        }
    }
}
