use super::extract::{Body, Path, Query};
use crate::error::{ErrorBody, Result};
use crate::requests::clients::{ClientPatch, NewClient};
use crate::requests::money::{Purchase, TopUp};
use crate::service::Actor;
use crate::state::AppState;
use crate::state::{Player, Staff};
use axum::extract::ConnectInfo;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use club_shared::{ClientView, HoldingView, LedgerEntryView, SessionView};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
pub struct ClientSearch {
    /// Part of a name or phone number.
    #[serde(default)]
    q: String,
}

#[utoipa::path(get, path = "/api/v1/clients", tag = "clients", security(("bearer" = [])),
    params(ClientSearch), responses((status = 200, body = [ClientView])))]
pub async fn list_clients(
    State(s): State<AppState>,
    _staff: Staff,
    Query(q): Query<ClientSearch>,
) -> Result<Json<Vec<ClientView>>> {
    Ok(Json(s.service.search_clients(&q.q).await?))
}

#[utoipa::path(post, path = "/api/v1/clients", tag = "clients", security(("bearer" = [])), request_body = NewClient,
    responses((status = 201, body = ClientView), (status = 400, body = ErrorBody),
        (status = 409, description = "a client with this phone exists", body = ErrorBody)))]
pub async fn create_client(
    State(s): State<AppState>,
    Staff(a): Staff,
    Body(req): Body<NewClient>,
) -> Result<(StatusCode, Json<ClientView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.service.create_client(&a, req).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/clients/{id}", tag = "clients", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = ClientView), (status = 404, body = ErrorBody)))]
pub async fn get_client(
    State(s): State<AppState>,
    _staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<ClientView>> {
    Ok(Json(s.service.client(id).await?))
}

/// Name, phone, auto-renewal, or a new player-app PIN.
#[utoipa::path(patch, path = "/api/v1/clients/{id}", tag = "clients", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = ClientPatch,
    responses((status = 200, body = ClientView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "another client has this phone", body = ErrorBody)))]
pub async fn update_client(
    State(s): State<AppState>,
    Staff(a): Staff,
    Path(id): Path<i64>,
    Body(req): Body<ClientPatch>,
) -> Result<Json<ClientView>> {
    Ok(Json(s.service.update_client(&a, id, req).await?))
}

/// Money onto the balance (BalanceTopUp).
#[utoipa::path(post, path = "/api/v1/clients/{id}/top-ups", tag = "clients", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = TopUp,
    responses((status = 200, body = ClientView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "the operator has no open shift (club setting `require_open_shift`)", body = ErrorBody)))]
pub async fn top_up(
    State(s): State<AppState>,
    Staff(a): Staff,
    Path(id): Path<i64>,
    Body(req): Body<TopUp>,
) -> Result<Json<ClientView>> {
    Ok(Json(s.service.top_up(&a, id, req).await?))
}

/// Buys a tariff into a holding, paying money and up to the tariff's bonus cap in bonus.
#[utoipa::path(post, path = "/api/v1/clients/{id}/purchases", tag = "clients", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = Purchase,
    responses((status = 201, body = HoldingView), (status = 400, body = ErrorBody),
        (status = 404, description = "no such client, or `tariff_id` names no tariff", body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn purchase(
    State(s): State<AppState>,
    Staff(a): Staff,
    Path(id): Path<i64>,
    Body(req): Body<Purchase>,
) -> Result<(StatusCode, Json<HoldingView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.service.purchase(&a, id, req).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/clients/{id}/ledger", tag = "clients", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = [LedgerEntryView]), (status = 404, body = ErrorBody)))]
pub async fn ledger(
    State(s): State<AppState>,
    _staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<Vec<LedgerEntryView>>> {
    Ok(Json(s.service.ledger(id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlayerLogin {
    phone: String,
    pin: String,
}

#[derive(Serialize, ToSchema)]
pub struct PlayerToken {
    token: String,
}

/// Player app sign-in with phone and PIN.
#[utoipa::path(post, path = "/api/v1/player/login", tag = "player", request_body = PlayerLogin,
    responses((status = 200, body = PlayerToken), (status = 401, body = ErrorBody),
        (status = 429, description = "too many wrong PINs for this phone or from this address; see Retry-After", body = ErrorBody),
        (status = 503, description = "too many sign-ins at once; see Retry-After", body = ErrorBody)))]
pub async fn player_login(
    State(s): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Body(req): Body<PlayerLogin>,
) -> Result<Json<PlayerToken>> {
    let token = s
        .service
        .player_login(&req.phone, &req.pin, from.ip())
        .await?;
    Ok(Json(PlayerToken { token }))
}

#[derive(Serialize, ToSchema)]
pub struct PinUnlocked {
    /// Whether the PIN was locked.
    was_locked: bool,
}

/// Lifts the lock on a client's PIN after too many wrong tries (ClientManage).
#[utoipa::path(post, path = "/api/v1/clients/{id}/pin-unlock", tag = "clients", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = PinUnlocked), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unlock_pin(
    State(s): State<AppState>,
    Staff(a): Staff,
    Path(id): Path<i64>,
) -> Result<Json<PinUnlocked>> {
    let was_locked = s.service.unlock_pin(&a, id).await?;
    Ok(Json(PinUnlocked { was_locked }))
}

#[derive(Serialize, ToSchema)]
pub struct PlayerMe {
    client: ClientView,
    /// The player's sessions that are not over yet.
    sessions: Vec<SessionView>,
}

#[utoipa::path(get, path = "/api/v1/player/me", tag = "player", security(("bearer" = [])),
    responses((status = 200, body = PlayerMe), (status = 401, body = ErrorBody)))]
pub async fn player_me(State(s): State<AppState>, Player(p): Player) -> Result<Json<PlayerMe>> {
    let Actor::Player { client_id } = p else {
        return Err(crate::error::Error::Unauthorized(
            "sign in to the player app first".into(),
        ));
    };
    let client = s.service.client(client_id).await?;
    let sessions = s.service.live_sessions_of_client(client_id).await?;
    Ok(Json(PlayerMe { client, sessions }))
}
