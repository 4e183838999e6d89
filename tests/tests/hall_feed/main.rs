//! The hall feed over a real WebSocket: snapshot, sequenced events,
//! resync, and a stalled screen that does not hold up the others.

use club_shared::hall::{HallEventKind, HallMsg};
use club_shared::protocol::AgentMsg;
use club_shared::{Event, Metrics};
use club_tests::*;
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

mod limits;
mod slow_screens;
mod snapshot;

async fn next<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>) -> HallMsg
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    next_hall_msg(ws, WAIT).await
}

fn seq_of(m: &HallMsg) -> u64 {
    match m {
        HallMsg::Snapshot { seq, .. } | HallMsg::Event { seq, .. } => *seq,
        HallMsg::Error { message } => panic!("error from the feed: {message}"),
    }
}

/// A session event as big as a screen could get (a 4 KiB client name).
fn big_session_event(n: i64) -> Event {
    let t = t0();
    let session = club_shared::SessionView {
        id: n,
        client_id: 1,
        client_name: "x".repeat(4096),
        device_id: 1,
        device_name: "PC-1".into(),
        club_id: 1,
        status: club_shared::SessionStatus::Started,
        planned_start_at: t,
        actual_start_at: Some(t),
        actual_end_at: None,
        ends_at: None,
        cancelled_at: None,
        cancelled_by: None,
        cancelled_by_login: None,
        end_kind: None,
        segments: vec![],
        bindings: vec![],
        price_corrections: vec![],
        receipt: None,
        actions: Default::default(),
    };
    Event::Session {
        change: club_shared::events::SessionChange::PriceCorrected,
        devices: vec![],
        session: Box::new(session),
    }
}
