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
///
/// `server` may list several servers on one database, comma-separated:
/// the first that answers enrolls the PC, and the agent connects to any
/// of them, trying them in turn (servers that share a certificate, when
/// it is pinned).
pub async fn enroll(
    dir: &StateDir,
    server: &str,
    code: &str,
    server_cert_sha256: Option<&str>,
) -> anyhow::Result<i64> {
    let servers: Vec<&str> = server
        .split(',')
        .map(|s| s.trim().trim_end_matches('/'))
        .filter(|s| !s.is_empty())
        .collect();
    let Some(first) = servers.first() else {
        bail!("no server given");
    };
    let tls = http::target(first)?.tls;
    for s in &servers[1..] {
        if http::target(s)?.tls != tls {
            bail!("the servers must all be http:// or all https://: {server}");
        }
    }
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
    let body = serde_json::json!({"code": code, "hostname": hostname});
    // The first server that answers; one that cannot be reached, or is
    // failing (5xx, e.g. a balancer in front of a stopped server), passes
    // the code on to the next. A refusal does not: the code is the same.
    let mut answered = None;
    let mut unreachable = Vec::new();
    for (i, s) in servers.iter().enumerate() {
        let url = format!("{s}/api/v1/agent/enroll");
        match http::request_pinned("POST", &url, Some(&body), pin.as_deref()).await {
            Ok((status, _)) if status >= 500 && i + 1 < servers.len() => {
                unreachable.push(format!("{s}: answered {status}"));
            }
            Ok(answer) => {
                answered = Some((i, answer));
                break;
            }
            Err(e) => unreachable.push(format!("{s}: {e:#}")),
        }
    }
    let Some((i, (status, bytes))) = answered else {
        bail!("no server answered: {}", unreachable.join("; "));
    };
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
    // The server that enrolled it first, then the others in their order.
    let enrollment = Enrollment {
        server: servers[i].to_owned(),
        also: servers
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, s)| (*s).to_owned())
            .collect(),
        device_id,
        server_cert_sha256: pin,
    };
    dir.save_enrollment(&enrollment, secret)?;
    Ok(device_id)
}
