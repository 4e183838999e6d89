//! Real server, real agents, real WebSockets: the PC follows the server's
//! word, the Start press, reconnects, the offline failsafe, and a gateway
//! that stands up to bad clients.

use chrono::Duration;
use club_agent::LocalStatus;
use club_shared::events::SessionChange;
use club_shared::protocol::{AgentMsg, ServerMsg, MAX_FRAME_BYTES};
use club_shared::{Event, Metrics, SessionStatus};
use club_tests::agents::{workspace_bin, TestAgent};
use club_tests::*;
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

mod alarms;
mod desk;
mod following;
mod gateway;
mod lock_channel;
mod offline_start;
mod revoked;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn session_status(s: &LocalStatus) -> Option<SessionStatus> {
    s.session.as_ref().map(|s| s.status)
}

/// A bare protocol client, for what a well-behaved agent never sends.
async fn raw_agent(
    srv: &TestServer,
    secret: &str,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let url = srv.base.replace("http://", "ws://") + "/agent/v1/ws";
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {secret}").parse().unwrap());
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}

async fn send(ws: &mut Ws, msg: &AgentMsg) {
    ws.send(Message::text(serde_json::to_string(msg).unwrap()))
        .await
        .unwrap();
}

async fn recv(ws: &mut Ws) -> ServerMsg {
    loop {
        let frame = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message in time");
        match frame {
            Some(Ok(Message::Text(t))) => {
                return serde_json::from_str(&t).expect("server speaks the protocol")
            }
            Some(Ok(_)) => continue,
            other => panic!("connection ended: {other:?}"),
        }
    }
}

fn hello(version: u32) -> AgentMsg {
    AgentMsg::Hello {
        protocol_version: version,
        agent_version: "test".into(),
        last_applied_seq: 0,
        locked: true,
        hardware: Metrics {
            hostname: "raw".into(),
            ..Metrics::default()
        },
        agent_started_at: None,
        build: None,
    }
}

/// Reads until the first State message.
async fn first_state(ws: &mut Ws) -> ServerMsg {
    loop {
        let m = recv(ws).await;
        if matches!(m, ServerMsg::State { .. }) {
            return m;
        }
    }
}
