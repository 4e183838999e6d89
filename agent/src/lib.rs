//! club-agent: one WebSocket to the club server, the lock state of this PC,
//! a lock screen on loopback with a Start button, hardware metrics, and the
//! offline failsafe. The binary is a thin shell over [`run`]; tests and the
//! server's demo run the same code.

pub mod backoff;
pub mod cli;
#[cfg(windows)]
mod console;
pub mod http;
mod lockchan;
pub mod metrics;
#[cfg(windows)]
mod pipesec;
mod runtime;
pub mod service;
pub mod state;
pub mod supervise;
mod ui;
pub mod update;

pub use runtime::{
    run, AgentHandle, AgentOptions, Clock, HookOutcome, LocalStatus, StatusSession,
    DEFAULT_REBOOT_CMD, DEFAULT_SHUTDOWN_CMD, KEY_REVOKED,
};

use anyhow::{bail, Context};
use state::{Enrollment, StateDir};

/// Trades a one-time enrollment code for this PC's device secret and keeps
/// it in the state dir. Answers the device id. An https:// server needs the
/// SHA-256 of its certificate (the enrollment answer at the desk shows it):
/// the PC trusts that certificate and no other, now and on every connect.
pub async fn enroll(
    dir: &StateDir,
    server: &str,
    code: &str,
    server_cert_sha256: Option<&str>,
) -> anyhow::Result<i64> {
    let server = server.trim_end_matches('/');
    let tls = http::target(server)?.tls;
    let pin = match (tls, server_cert_sha256) {
        (true, None) => bail!(
            "an https:// server needs --server-cert-sha256 (shown with the enrollment code): \
             this PC trusts no certificate it was not told about"
        ),
        (false, Some(_)) => {
            bail!("--server-cert-sha256 is for an https:// server; {server} is plain HTTP")
        }
        (true, Some(pin)) => {
            Some(club_shared::tls::parse_sha256(pin).map_err(|e| anyhow::anyhow!(e))?)
        }
        (false, None) => None,
    };
    let hostname = sysinfo::System::host_name().unwrap_or_else(|| "unknown".into());
    let url = format!("{server}/api/v1/agent/enroll");
    let body = serde_json::json!({"code": code, "hostname": hostname});
    let (status, bytes) = http::request_pinned("POST", &url, Some(&body), pin.as_deref()).await?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if status != 200 {
        let why = v["error"]["message"].as_str().unwrap_or("no reason given");
        bail!("enrollment refused ({status}): {why}");
    }
    let device_id = v["device_id"]
        .as_i64()
        .context("no device_id in the answer")?;
    let secret = v["device_secret"]
        .as_str()
        .context("no device_secret in the answer")?;
    let enrollment = Enrollment {
        server: server.to_owned(),
        device_id,
        server_cert_sha256: pin,
    };
    dir.save_enrollment(&enrollment, secret)?;
    Ok(device_id)
}
