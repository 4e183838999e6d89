use super::extract::{Body, OptionalBody, Path, Query};
use crate::error::{ErrorBody, Result};
use crate::requests::sessions::{
    AuditQuery, NewSession, PreviewAction, SessionQuery, StartOptions,
};
use crate::service::Preview;
use crate::state::AppState;
use crate::state::{Player, Staff};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use club_shared::{AuditEntryView, SessionView};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The session report (ReportView), newest first.
#[utoipa::path(get, path = "/api/v1/sessions", tag = "sessions", security(("bearer" = [])),
    params(SessionQuery), responses((status = 200, body = [SessionView]), (status = 403, body = ErrorBody),
        (status = 404, description = "`club_id` names another club than the caller's", body = ErrorBody)))]
pub async fn list_sessions(
    State(s): State<AppState>,
    Staff(a): Staff,
    Query(q): Query<SessionQuery>,
) -> Result<Json<Vec<SessionView>>> {
    Ok(Json(s.service.list_sessions(&a, q).await?))
}

/// A session on a PC: ACTIVE now, or PENDING when planned for later.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions", security(("bearer" = [])), request_body = NewSession,
    responses((status = 201, body = SessionView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "`client_id`, `device_id`, `holding_id` or `tariff_id` names nothing", body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn create_session(
    State(s): State<AppState>,
    Staff(a): Staff,
    Body(req): Body<NewSession>,
) -> Result<(StatusCode, Json<SessionView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.service.create_session(&a, req).await?),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct SessionDetail {
    #[serde(flatten)]
    session: SessionView,
    /// Every audit entry on this session, newest first.
    audit: Vec<AuditEntryView>,
}

/// A session; its audit trail only for ReportView (empty otherwise).
#[utoipa::path(get, path = "/api/v1/sessions/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = SessionDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_session(
    State(s): State<AppState>,
    Staff(a): Staff,
    Path(id): Path<i64>,
) -> Result<Json<SessionDetail>> {
    let session = s.service.session_for(&a, id).await?;
    let audit = s.service.session_audit(&a, id).await?;
    Ok(Json(SessionDetail { session, audit }))
}

/// An operator presses Start for the player (SessionStart). Refused (409)
/// on a PC whose agent is offline unless the body says `"force": true`.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/start", tag = "sessions", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body(content = Option<StartOptions>, description = "May be left out, or `null`."),
    responses((status = 200, body = SessionView), (status = 403, body = ErrorBody),
        (status = 409, description = "not startable now, or the PC is offline and `force` is not set", body = ErrorBody)))]
pub async fn start_session(
    State(s): State<AppState>,
    Staff(a): Staff,
    Path(id): Path<i64>,
    OptionalBody(body): OptionalBody<Option<StartOptions>>,
) -> Result<Json<SessionView>> {
    let force = body.is_some_and(|b| b.force);
    Ok(Json(s.service.start_session(&a, id, None, force).await?))
}

/// The optional body of cancel and end: left out, `null` or `{}` all mean
/// no reason.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    #[serde(default)]
    #[schema(max_length = 500)]
    reason: Option<String>,
}

/// Cancel before Start (SessionDelete); the refund policy applies to every reserved holding.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/cancel", tag = "sessions", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body(content = Option<Reason>, description = "May be left out, or `null`."),
    responses((status = 200, body = SessionView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel_session(
    State(s): State<AppState>,
    Staff(a): Staff,
    Path(id): Path<i64>,
    OptionalBody(body): OptionalBody<Option<Reason>>,
) -> Result<Json<SessionView>> {
    let reason = body.and_then(|b| b.reason);
    Ok(Json(s.service.cancel_session(&a, id, reason).await?))
}

/// Manual end (SessionEnd); answers the session with its receipt.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/end", tag = "sessions", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body(content = Option<Reason>, description = "May be left out, or `null`."),
    responses((status = 200, body = SessionView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn end_session(
    State(s): State<AppState>,
    Staff(a): Staff,
    Path(id): Path<i64>,
    OptionalBody(body): OptionalBody<Option<Reason>>,
) -> Result<Json<SessionView>> {
    let reason = body.and_then(|b| b.reason);
    Ok(Json(s.service.end_session(&a, id, reason).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct PreviewParams {
    /// `cancel` or `end`.
    action: PreviewAction,
}

/// What cancel or end would do to time and money now, changing nothing.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/preview", tag = "sessions", security(("bearer" = [])),
    params(("id" = i64, Path), PreviewParams),
    responses((status = 200, body = Preview), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "SessionDelete (cancel) or SessionEnd (end) is missing", body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn preview(
    State(s): State<AppState>,
    Staff(a): Staff,
    Path(id): Path<i64>,
    Query(p): Query<PreviewParams>,
) -> Result<Json<Preview>> {
    Ok(Json(s.service.preview(&a, id, p.action).await?))
}

/// The audit trail (ReportView), newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("bearer" = [])),
    params(AuditQuery), responses((status = 200, body = [AuditEntryView]), (status = 403, body = ErrorBody),
        (status = 404, description = "`club_id` names another club than the caller's", body = ErrorBody)))]
pub async fn audit(
    State(s): State<AppState>,
    Staff(a): Staff,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<AuditEntryView>>> {
    Ok(Json(s.service.audit(&a, q).await?))
}

/// The player presses Start in the app, on one of their own sessions.
/// Refused (409) on a PC whose agent is offline unless `"force": true`.
#[utoipa::path(post, path = "/api/v1/player/sessions/{id}/start", tag = "player", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body(content = Option<StartOptions>, description = "May be left out, or `null`."),
    responses((status = 200, body = SessionView), (status = 403, body = ErrorBody),
        (status = 409, description = "not startable now, or the PC is offline and `force` is not set", body = ErrorBody)))]
pub async fn player_start(
    State(s): State<AppState>,
    Player(p): Player,
    Path(id): Path<i64>,
    OptionalBody(body): OptionalBody<Option<StartOptions>>,
) -> Result<Json<SessionView>> {
    let force = body.is_some_and(|b| b.force);
    Ok(Json(s.service.start_session(&p, id, None, force).await?))
}

/// Add a tariff (extension or switch, SessionEdit): a new segment from now.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/tariffs", tag = "sessions", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = crate::requests::extend::AddTariff,
    responses((status = 200, body = SessionView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "no such session, or `holding_id` or `tariff_id` names nothing", body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn add_tariff(
    State(s): State<AppState>,
    Staff(a): Staff,
    Path(id): Path<i64>,
    Body(req): Body<crate::requests::extend::AddTariff>,
) -> Result<Json<SessionView>> {
    Ok(Json(s.service.add_tariff(&a, id, req).await?))
}

/// Move to another PC (SessionEdit); the session's time does not stop.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/device", tag = "sessions", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = crate::requests::corrections::MoveSession,
    responses((status = 200, body = SessionView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn move_session(
    State(s): State<AppState>,
    Staff(a): Staff,
    Path(id): Path<i64>,
    Body(req): Body<crate::requests::corrections::MoveSession>,
) -> Result<Json<SessionView>> {
    Ok(Json(s.service.move_session(&a, id, req).await?))
}

/// Manual price correction (SessionEdit): a signed delta and a required reason.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/price-corrections", tag = "sessions", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = crate::requests::corrections::PriceCorrection,
    responses((status = 200, body = SessionView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn correct_price(
    State(s): State<AppState>,
    Staff(a): Staff,
    Path(id): Path<i64>,
    Body(req): Body<crate::requests::corrections::PriceCorrection>,
) -> Result<Json<SessionView>> {
    Ok(Json(s.service.correct_price(&a, id, req).await?))
}

/// Cancels many PENDING/ACTIVE sessions (a hall that failed): each succeeds
/// or fails on its own, with a result per session (SessionDelete).
#[utoipa::path(post, path = "/api/v1/sessions/bulk-cancel", tag = "sessions", security(("bearer" = [])),
    request_body = crate::requests::housekeeping::BulkCancel,
    responses((status = 200, body = [crate::service::BulkResult]), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn bulk_cancel(
    State(s): State<AppState>,
    Staff(a): Staff,
    Body(req): Body<crate::requests::housekeeping::BulkCancel>,
) -> Result<Json<Vec<crate::service::BulkResult>>> {
    Ok(Json(s.service.bulk_cancel(&a, req).await?))
}

/// The session report as CSV, with the same filters (ReportView): every
/// matching session, page after page, up to 100,000 rows (narrow the dates
/// for more); money in major units.
#[utoipa::path(get, path = "/api/v1/sessions.csv", tag = "sessions", security(("bearer" = [])),
    params(SessionQuery), responses((status = 200, content_type = "text/csv", body = String),
        (status = 403, body = ErrorBody),
        (status = 404, description = "`club_id` names another club than the caller's", body = ErrorBody)))]
pub async fn sessions_csv(
    State(s): State<AppState>,
    Staff(a): Staff,
    Query(q): Query<SessionQuery>,
) -> Result<impl axum::response::IntoResponse> {
    let sessions = s.service.all_sessions(&a, q, 100_000).await?;
    let body = crate::service::sessions_csv(&sessions);
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"sessions.csv\"",
            ),
        ],
        body,
    ))
}
