//! The frames an agent sends once greeted: acks, heartbeats, a command's
//! answer, a Start press. Each gets its reply, or none.

use crate::service::{Actor, AgentDevice, Service};
use club_shared::protocol::{AgentMsg, ServerMsg};

pub(super) fn error(code: &str, message: impl Into<String>, press_id: Option<String>) -> ServerMsg {
    ServerMsg::Error {
        code: code.into(),
        message: message.into(),
        press_id,
    }
}

/// An agent's frame as its message. Text may not hold a NUL character
/// (JSON's `\u0000`): PostgreSQL stores none, and no field needs one.
pub(super) fn parse(text: &str) -> Result<AgentMsg, String> {
    if text.contains("\\u0000") {
        return Err(crate::api::NUL_REFUSED.into());
    }
    serde_json::from_str::<AgentMsg>(text).map_err(|e| format!("not a message: {e}"))
}

/// One text frame from an agent; answers the reply, if any.
pub(super) async fn handle(
    service: &Service,
    device: &AgentDevice,
    text: &str,
) -> Option<ServerMsg> {
    let msg = match parse(text) {
        Ok(m) => m,
        Err(e) => return Some(error("malformed", e, None)),
    };
    match msg {
        AgentMsg::Hello { .. } => {
            Some(error("already_greeted", "hello was already received", None))
        }
        AgentMsg::Ack { seq } => {
            tracing::debug!(seq, "agent applied state");
            None
        }
        AgentMsg::CommandDone { id, ok, error } => {
            match service.command_done(device.id, id, ok, error).await {
                Ok(true) => None,
                Ok(false) => Some(self::error(
                    "unknown_command",
                    format!("no command {id} is waiting for this PC's answer"),
                    None,
                )),
                Err(e) => {
                    tracing::error!(error = ?e, "recording a command's answer");
                    None
                }
            }
        }
        AgentMsg::Heartbeat { metrics } => {
            if let Err(e) = service
                .device_presence(device.id, true, Some(metrics))
                .await
            {
                tracing::error!(error = ?e, "recording heartbeat");
            }
            Some(ServerMsg::HeartbeatAck {
                server_time: service.now(),
            })
        }
        AgentMsg::StartPressed {
            session_id,
            press_id,
        } => {
            if press_id.is_empty() || press_id.len() > 100 {
                return Some(error(
                    "bad_request",
                    "press_id: must be 1 to 100 characters",
                    Some(press_id),
                ));
            }
            let actor = Actor::Agent {
                device_id: device.id,
            };
            let started = service
                .start_session(&actor, session_id, Some(&press_id), false)
                .await;
            let result = match &started {
                Ok(_) => "ok",
                Err(e) => e.code(),
            };
            service
                .metrics
                .agent_reports
                .with_label_values(&["start_pressed", result])
                .inc();
            match started {
                // The unlock follows as the desired-state push the start
                // stored in its transaction.
                Ok(_) => None,
                Err(e) => Some(error(e.code(), e.to_string(), Some(press_id))),
            }
        }
    }
}
