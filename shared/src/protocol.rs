//! The agent protocol on /agent/v1/ws: one tagged enum per direction.
//!
//! The server is the authority on what a PC should look like; it sends the
//! whole desired state with a per-device sequence number, and the agent
//! applies states in sequence order (a repeat is a no-op) and acknowledges.
//! The agent is the authority only on the Start press.

use crate::types::SessionStatus;
use crate::views::{CommandKind, Metrics};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Checked once, in `hello`. An agent older than the server's minimum gets
/// [`ServerMsg::Refused`] with `retry: false` and must not reconnect.
pub const PROTOCOL_VERSION: u32 = 1;
pub const MIN_PROTOCOL_VERSION: u32 = 1;

/// Largest frame either side accepts.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// How often an agent sends a heartbeat, and how long the server waits
/// before it calls a silent PC offline.
pub const HEARTBEAT_SECONDS: u64 = 15;
pub const OFFLINE_AFTER_SECONDS: u64 = 45;

/// Agent -> server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentMsg {
    Hello {
        protocol_version: u32,
        agent_version: String,
        /// The sequence number of the last desired state it applied (0: none).
        last_applied_seq: u64,
        /// Whether the PC is locked right now.
        locked: bool,
        hardware: Metrics,
        /// When this agent process started (its clock): a new value is a
        /// restart of the agent, or of the PC (see `hardware.uptime_seconds`).
        #[serde(default)]
        agent_started_at: Option<DateTime<Utc>>,
        /// Which build runs (absent from agents that cannot update
        /// themselves).
        #[serde(default)]
        build: Option<AgentBuild>,
    },
    Ack {
        seq: u64,
    },
    /// The player pressed Start on the lock screen. `press_id` is unique per
    /// press, so a resend after a reconnect has one effect.
    StartPressed {
        session_id: i64,
        press_id: String,
    },
    Heartbeat {
        metrics: Metrics,
    },
    /// The answer to a [`ServerMsg::Command`]: done, or why not.
    CommandDone {
        id: i64,
        ok: bool,
        #[serde(default)]
        error: Option<String>,
    },
}

/// Server -> agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// The answer to `hello`; the desired state follows at once.
    Welcome {
        device_id: i64,
        device_name: String,
        server_time: DateTime<Utc>,
        heartbeat_seconds: u64,
        /// The club's build for this agent's platform, when the agent runs
        /// another: it updates itself once the PC is idle.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        update: Option<UpdateOffer>,
    },
    /// The agent cannot be served; with `retry: false` it must stop trying,
    /// unless `update` offers a build that can be served.
    Refused {
        reason: String,
        retry: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        update: Option<UpdateOffer>,
    },
    /// What the PC should look like now.
    State {
        seq: u64,
        server_time: DateTime<Utc>,
        desired: DesiredState,
    },
    /// A line for the player (e.g. "5 minutes left").
    Notice { text: String },
    /// The answer to a message the server could not accept; the connection stays.
    Error {
        code: String,
        message: String,
        /// The press this answers, when it answers a Start press.
        #[serde(default)]
        press_id: Option<String>,
    },
    /// The answer to a heartbeat: lets the agent keep its clock offset fresh.
    HeartbeatAck { server_time: DateTime<Utc> },
    /// Something the desk asked this PC to do (not `wake`: a sleeping PC
    /// has no agent to ask); answered with [`AgentMsg::CommandDone`].
    Command {
        id: i64,
        kind: CommandKind,
        #[serde(default)]
        text: Option<String>,
    },
}

/// A build of club-agent: the platform it runs on (`linux-x86_64`,
/// `windows-x86_64`: [`agent_platform`]) and the SHA-256 of its executable,
/// in lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentBuild {
    pub platform: String,
    pub sha256: String,
}

/// A build to update to, fetched from `GET /api/v1/agent/builds/{sha256}`
/// with the device secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateOffer {
    pub version: String,
    pub sha256: String,
    pub size: u64,
}

/// The platform name of this build: `{os}-{arch}`, e.g. `linux-x86_64`.
pub fn agent_platform() -> String {
    format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH)
}

/// The platforms agent builds are kept for.
pub const AGENT_PLATFORMS: [&str; 4] = [
    "linux-x86_64",
    "linux-aarch64",
    "windows-x86_64",
    "windows-aarch64",
];

/// The largest agent build the server keeps.
pub const MAX_AGENT_BUILD_BYTES: usize = 64 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DesiredState {
    pub locked: bool,
    /// The session the lock screen (or the player's overlay) shows.
    pub session: Option<ShownSession>,
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownSession {
    pub id: i64,
    pub client_name: String,
    pub status: SessionStatus,
    pub tariff_name: String,
    /// In server time; the agent locks by itself when it passes offline.
    pub ends_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_snake_case() {
        let m = AgentMsg::StartPressed {
            session_id: 7,
            press_id: "p1".into(),
        };
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["type"], "start_pressed");
        assert_eq!(serde_json::from_value::<AgentMsg>(v).unwrap(), m);
        let s = ServerMsg::State {
            seq: 3,
            server_time: Utc::now(),
            desired: DesiredState::default(),
        };
        assert_eq!(serde_json::to_value(&s).unwrap()["type"], "state");
    }

    #[test]
    fn new_fields_arrive_as_defaults() {
        let v = serde_json::json!({"type": "error", "code": "x", "message": "y"});
        let m: ServerMsg = serde_json::from_value(v).unwrap();
        assert!(matches!(m, ServerMsg::Error { press_id: None, .. }));
    }
}
