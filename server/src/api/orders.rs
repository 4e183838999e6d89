use super::extract::{Body, Path, Query};
use crate::error::{ErrorBody, Result};
use crate::requests::orders::{
    CloseShift, ExtraCharge, OpenShift, OrderQuery, OrderRefund, ShiftQuery,
};
use crate::service::{OrderView, ShiftReport};
use crate::state::AppState;
use crate::state::Staff;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

/// Opens a shift for the caller (ShiftManage) with the cash float counted
/// in the till; answers its X report.
#[utoipa::path(post, path = "/api/v1/shifts/open", tag = "shifts", security(("bearer" = [])),
    request_body = OpenShift,
    responses((status = 201, body = ShiftReport), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "`club_id` names no club the caller sees", body = ErrorBody),
        (status = 409, description = "the caller's shift is already open, or the chain has several clubs and `club_id` is missing", body = ErrorBody)))]
pub async fn open_shift(
    State(s): State<AppState>,
    Staff(a): Staff,
    Body(req): Body<OpenShift>,
) -> Result<(StatusCode, Json<ShiftReport>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.service.open_shift(&a, req).await?),
    ))
}

/// Shifts, newest first, with their X or Z reports (ReportView).
#[utoipa::path(get, path = "/api/v1/shifts", tag = "shifts", security(("bearer" = [])),
    params(ShiftQuery),
    responses((status = 200, body = [ShiftReport]), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "`club_id` names another club than the caller's", body = ErrorBody)))]
pub async fn list_shifts(
    State(s): State<AppState>,
    Staff(a): Staff,
    Query(q): Query<ShiftQuery>,
) -> Result<Json<Vec<ShiftReport>>> {
    Ok(Json(s.service.list_shifts(&a, q).await?))
}

/// The caller's open shift with its live X report.
#[utoipa::path(get, path = "/api/v1/shifts/current", tag = "shifts", security(("bearer" = [])),
    responses((status = 200, body = ShiftReport), (status = 404, body = ErrorBody)))]
pub async fn current_shift(
    State(s): State<AppState>,
    Staff(a): Staff,
) -> Result<Json<ShiftReport>> {
    Ok(Json(s.service.current_shift(&a).await?))
}

/// Closes a shift with the cash counted in the till and answers its Z
/// report (expected cash, counted cash, the difference).
#[utoipa::path(post, path = "/api/v1/shifts/{id}/close", tag = "shifts", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = CloseShift,
    responses((status = 200, body = ShiftReport), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn close_shift(
    State(s): State<AppState>,
    Staff(a): Staff,
    Path(id): Path<i64>,
    Body(req): Body<CloseShift>,
) -> Result<Json<ShiftReport>> {
    Ok(Json(s.service.close_shift(&a, id, req).await?))
}

/// X report of an open shift, or the Z report of a closed one (ReportView).
#[utoipa::path(get, path = "/api/v1/shifts/{id}/report", tag = "shifts", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = ShiftReport), (status = 404, body = ErrorBody)))]
pub async fn shift_report(
    State(s): State<AppState>,
    Staff(a): Staff,
    Path(id): Path<i64>,
) -> Result<Json<ShiftReport>> {
    Ok(Json(s.service.shift_report(&a, id).await?))
}

/// Orders, newest first (ReportView): by client, shift and dates; the next
/// page is `before_id` = the last id of this one.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])),
    params(OrderQuery), responses((status = 200, body = [OrderView]), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "`club_id` names another club than the caller's", body = ErrorBody)))]
pub async fn list_orders(
    State(s): State<AppState>,
    Staff(a): Staff,
    Query(q): Query<OrderQuery>,
) -> Result<Json<Vec<OrderView>>> {
    Ok(Json(s.service.list_orders(&a, q).await?))
}

/// Refund through an order (OrderRefund, reason required).
#[utoipa::path(post, path = "/api/v1/orders/{id}/refund", tag = "orders", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = OrderRefund,
    responses((status = 201, body = OrderView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn refund_order(
    State(s): State<AppState>,
    Staff(a): Staff,
    Path(id): Path<i64>,
    Body(req): Body<OrderRefund>,
) -> Result<(StatusCode, Json<OrderView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.service.refund_order(&a, id, req).await?),
    ))
}

/// An extra charge after a session ended (OrderRefund, reason required).
#[utoipa::path(post, path = "/api/v1/orders/extra-charges", tag = "orders", security(("bearer" = [])),
    request_body = ExtraCharge,
    responses((status = 201, body = OrderView), (status = 400, body = ErrorBody),
        (status = 404, description = "`client_id` or `session_id` names nothing", body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn extra_charge(
    State(s): State<AppState>,
    Staff(a): Staff,
    Body(req): Body<ExtraCharge>,
) -> Result<(StatusCode, Json<OrderView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.service.extra_charge(&a, req).await?),
    ))
}
