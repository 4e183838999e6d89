//! What every request handler and socket shares: the application state,
//! and who is calling (staff, a player). The API's routes and the agent
//! and hall sockets all build on this module; none of them on another.

use crate::error::Error;
use crate::service::{Actor, Service};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub shutdown: CancellationToken,
    pub gateway: crate::gateway::Gateway,
    /// Upgraded WebSockets, which axum's graceful shutdown does not wait for.
    pub tasks: tokio_util::task::TaskTracker,
    pub feed: crate::hall::HallFeed,
    /// A request must arrive whole and be answered within this.
    pub request_timeout: std::time::Duration,
    /// Lets machines beyond loopback read /metrics.
    pub metrics_token: Option<std::sync::Arc<crate::config::Secret>>,
}

/// A bearer token from the Authorization header, or `?token=` on a
/// WebSocket upgrade only (browsers cannot give those headers). A token in
/// the query of a REST call is not read: URLs end up in logs and histories.
pub fn bearer(parts: &Parts) -> Option<String> {
    if let Some(v) = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return v.strip_prefix("Bearer ").map(|t| t.trim().to_owned());
    }
    if !is_websocket_upgrade(parts) {
        return None;
    }
    parts.uri.query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("token="))
            .map(str::to_owned)
    })
}

fn is_websocket_upgrade(parts: &Parts) -> bool {
    parts
        .headers
        .get(axum::http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// A signed-in staff member.
pub struct Staff(pub Actor);

impl FromRequestParts<AppState> for Staff {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let token = bearer(parts)
            .ok_or_else(|| Error::Unauthorized("sign in first: no bearer token".into()))?;
        let ctx = state.service.authenticate_staff(&token).await?;
        Ok(Staff(Actor::Staff(ctx)))
    }
}

/// A signed-in player (the player app).
pub struct Player(pub Actor);

impl FromRequestParts<AppState> for Player {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let token = bearer(parts)
            .ok_or_else(|| Error::Unauthorized("sign in first: no bearer token".into()))?;
        Ok(Player(state.service.authenticate_player(&token).await?))
    }
}
