//! A server every player on the LAN can reach, tried as a hostile player
//! would (issue 13): each finding that is fixed stays fixed here.

use club_shared::protocol::{AgentMsg, ServerMsg};
use club_shared::Metrics;
use club_tests::agents::{enrolled_pc, TestAgent};
use club_tests::*;
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

mod connections;
mod documents;
mod headers;
mod sign_ins;
