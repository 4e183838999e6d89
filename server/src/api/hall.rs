use super::extract::{Body, Path};
use crate::error::{ErrorBody, Result};
use crate::requests::commands::NewCommand;
use crate::requests::enrollment::EnrollRequest;
use crate::requests::hall::{NewClub, NewDevice, NewZone};
use crate::service::{AgentCommands, CreatedDevice, Enrolled, EnrollmentCode};
use crate::state::AppState;
use crate::state::Staff;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::Json;
use club_shared::DeviceCommandView;
use club_shared::{ClubView, DeviceView, HallSnapshot, ZoneView};

/// The clubs the caller sees: every club for the chain's staff, their own
/// for staff of one club.
#[utoipa::path(get, path = "/api/v1/clubs", tag = "hall", security(("bearer" = [])),
    responses((status = 200, body = [ClubView])))]
pub async fn list_clubs(State(s): State<AppState>, Staff(a): Staff) -> Result<Json<Vec<ClubView>>> {
    Ok(Json(s.service.list_clubs(&a).await?))
}

/// A new club of the chain (RoleManage; the chain's staff only).
#[utoipa::path(post, path = "/api/v1/clubs", tag = "hall", security(("bearer" = [])), request_body = NewClub,
    responses((status = 201, body = ClubView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "a club with this name exists", body = ErrorBody)))]
pub async fn create_club(
    State(s): State<AppState>,
    Staff(a): Staff,
    Body(req): Body<NewClub>,
) -> Result<(StatusCode, Json<ClubView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.service.create_club(&a, req).await?),
    ))
}

/// Names a club and sets its own time zone and no-show rule (RoleManage;
/// the chain's staff only): the club as given, a `time_zone` or
/// `no_show_minutes` left out meaning the chain's.
#[utoipa::path(put, path = "/api/v1/clubs/{id}", tag = "hall", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = NewClub,
    responses((status = 200, body = ClubView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "a club with this name exists", body = ErrorBody)))]
pub async fn update_club(
    State(s): State<AppState>,
    Staff(a): Staff,
    Path(id): Path<i64>,
    Body(req): Body<NewClub>,
) -> Result<Json<ClubView>> {
    Ok(Json(s.service.update_club(&a, id, req).await?))
}

#[utoipa::path(get, path = "/api/v1/zones", tag = "hall", security(("bearer" = [])),
    responses((status = 200, body = [ZoneView])))]
pub async fn list_zones(State(s): State<AppState>, Staff(a): Staff) -> Result<Json<Vec<ZoneView>>> {
    Ok(Json(s.service.list_zones(&a).await?))
}

#[utoipa::path(post, path = "/api/v1/zones", tag = "hall", security(("bearer" = [])), request_body = NewZone,
    responses((status = 201, body = ZoneView),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "`club_id` names no club the caller sees", body = ErrorBody),
        (status = 409, description = "a zone with this name exists in the club, or the chain has several clubs and `club_id` is missing", body = ErrorBody)))]
pub async fn create_zone(
    State(s): State<AppState>,
    Staff(a): Staff,
    Body(req): Body<NewZone>,
) -> Result<(StatusCode, Json<ZoneView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.service.create_zone(&a, req).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/devices", tag = "hall", security(("bearer" = [])),
    responses((status = 200, body = [DeviceView])))]
pub async fn list_devices(
    State(s): State<AppState>,
    Staff(a): Staff,
) -> Result<Json<Vec<DeviceView>>> {
    Ok(Json(s.service.list_devices(&a).await?))
}

/// A PC; the answer carries a one-time `enrollment_code` for its agent.
#[utoipa::path(post, path = "/api/v1/devices", tag = "hall", security(("bearer" = [])), request_body = NewDevice,
    responses((status = 201, body = CreatedDevice), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "`zone_id` names no zone", body = ErrorBody),
        (status = 409, description = "a PC with this name exists", body = ErrorBody)))]
pub async fn create_device(
    State(s): State<AppState>,
    Staff(a): Staff,
    headers: HeaderMap,
    Body(req): Body<NewDevice>,
) -> Result<(StatusCode, Json<CreatedDevice>)> {
    let mut created = s.service.create_device(&a, req).await?;
    created.commands = agent_commands(&s, &headers, &created.enrollment_code);
    Ok((StatusCode::CREATED, Json(created)))
}

/// The commands to run on the PC, for the address the desk reached the
/// server at (its Host header, if it is a plain host[:port]).
fn agent_commands(s: &AppState, headers: &HeaderMap, code: &str) -> Option<AgentCommands> {
    let host = headers.get(axum::http::header::HOST)?.to_str().ok()?;
    let plain = !host.is_empty()
        && host.len() <= 260
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !plain {
        return None;
    }
    let pin = s.service.server_cert_sha256();
    let scheme = if pin.is_some() { "https" } else { "http" };
    Some(AgentCommands::new(
        &format!("{scheme}://{host}"),
        code,
        pin.as_deref(),
    ))
}

#[utoipa::path(get, path = "/api/v1/devices/{id}", tag = "hall", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = DeviceView), (status = 404, body = ErrorBody)))]
pub async fn get_device(
    State(s): State<AppState>,
    Staff(a): Staff,
    Path(id): Path<i64>,
) -> Result<Json<DeviceView>> {
    Ok(Json(s.service.device_for(&a, id).await?))
}

/// A fresh one-time enrollment code (the previous unused one stops working).
#[utoipa::path(post, path = "/api/v1/devices/{id}/enrollment", tag = "hall", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = EnrollmentCode), (status = 404, body = ErrorBody)))]
pub async fn new_enrollment_code(
    State(s): State<AppState>,
    Staff(a): Staff,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<EnrollmentCode>> {
    let mut code = s.service.new_enrollment_code(&a, id).await?;
    code.commands = agent_commands(&s, &headers, &code.enrollment_code);
    Ok(Json(code))
}

/// Sends a command to a PC (DeviceManage): `message` (shown on the lock
/// screen or over the game), `reboot` and `shutdown` (refused while a
/// session is STARTED unless `force`), both through its agent; `wake`
/// sends a Wake-on-LAN packet for the MACs its agent reported. Answers the
/// command as sent (or, for `wake`, done); its answer reaches the hall.
#[utoipa::path(post, path = "/api/v1/devices/{id}/commands", tag = "hall", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = NewCommand,
    responses((status = 202, body = DeviceCommandView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn send_command(
    State(s): State<AppState>,
    Staff(a): Staff,
    Path(id): Path<i64>,
    Body(req): Body<NewCommand>,
) -> Result<(StatusCode, Json<DeviceCommandView>)> {
    Ok((
        StatusCode::ACCEPTED,
        Json(s.service.send_command(&a, id, req).await?),
    ))
}

/// The agent trades its one-time code for the device secret (no staff token).
#[utoipa::path(post, path = "/api/v1/agent/enroll", tag = "agent", request_body = EnrollRequest,
    responses((status = 200, body = Enrolled), (status = 401, body = ErrorBody)))]
pub async fn enroll(
    State(s): State<AppState>,
    Body(req): Body<EnrollRequest>,
) -> Result<Json<Enrolled>> {
    Ok(Json(s.service.enroll(req).await?))
}

/// The hall snapshot: every zone and PC with its live state and session.
#[utoipa::path(get, path = "/api/v1/hall", tag = "hall", security(("bearer" = [])),
    responses((status = 200, body = HallSnapshot)))]
pub async fn hall(State(s): State<AppState>, Staff(a): Staff) -> Result<Json<HallSnapshot>> {
    Ok(Json(s.service.hall_of(a.club()).await?))
}

/// Rename, re-place or disable a PC (DeviceManage).
#[utoipa::path(patch, path = "/api/v1/devices/{id}", tag = "hall", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = crate::requests::devices::DevicePatch,
    responses((status = 200, body = DeviceView), (status = 400, body = ErrorBody),
        (status = 404, description = "no such PC, or `zone_id` names no zone", body = ErrorBody),
        (status = 409, description = "another PC has this name", body = ErrorBody)))]
pub async fn update_device(
    State(s): State<AppState>,
    Staff(a): Staff,
    Path(id): Path<i64>,
    Body(req): Body<crate::requests::devices::DevicePatch>,
) -> Result<Json<DeviceView>> {
    Ok(Json(s.service.update_device(&a, id, req).await?))
}
