use super::extract::{Body, Path};
use crate::error::{ErrorBody, Result};
use crate::requests::staff::{
    NewOperator, NewRole, PasswordChange, RolePermissions, UpdateOperator,
};
use crate::service::LoginAnswer;
use crate::state::AppState;
use crate::state::Staff;
use axum::extract::ConnectInfo;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use club_shared::{OperatorView, RoleView};
use serde::Deserialize;
use std::net::SocketAddr;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    login: String,
    password: String,
}

/// Staff sign-in: a bearer token and who you are.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "staff", request_body = LoginRequest,
    responses((status = 200, body = LoginAnswer), (status = 401, body = ErrorBody),
        (status = 429, description = "too many failed sign-ins from this address or for this login; see Retry-After", body = ErrorBody),
        (status = 503, description = "too many sign-ins at once; see Retry-After", body = ErrorBody)))]
pub async fn login(
    State(s): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Body(req): Body<LoginRequest>,
) -> Result<Json<LoginAnswer>> {
    Ok(Json(
        s.service
            .login(&req.login, &req.password, from.ip())
            .await?,
    ))
}

/// Ends this sign-in; the hall feeds opened with it close.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "staff", security(("bearer" = [])),
    responses((status = 204, description = "signed out"), (status = 401, body = ErrorBody)))]
pub async fn logout(State(s): State<AppState>, Staff(a): Staff) -> Result<axum::http::StatusCode> {
    let crate::service::Actor::Staff(ctx) = &a else {
        return Err(crate::error::Error::Unauthorized("sign in as staff".into()));
    };
    s.service.logout(ctx).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/roles", tag = "staff", security(("bearer" = [])),
    responses((status = 200, body = [RoleView]), (status = 403, body = ErrorBody)))]
pub async fn list_roles(State(s): State<AppState>, Staff(a): Staff) -> Result<Json<Vec<RoleView>>> {
    Ok(Json(s.service.list_roles(&a).await?))
}

#[utoipa::path(post, path = "/api/v1/roles", tag = "staff", security(("bearer" = [])), request_body = NewRole,
    responses((status = 201, body = RoleView), (status = 403, body = ErrorBody),
        (status = 409, description = "a role with this name exists", body = ErrorBody)))]
pub async fn create_role(
    State(s): State<AppState>,
    Staff(a): Staff,
    Body(req): Body<NewRole>,
) -> Result<(StatusCode, Json<RoleView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.service.create_role(&a, req).await?),
    ))
}

/// Role settings: replace a role's permissions (RoleManage).
#[utoipa::path(put, path = "/api/v1/roles/{id}", tag = "staff", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = RolePermissions,
    responses((status = 200, body = RoleView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_role(
    State(s): State<AppState>,
    Staff(a): Staff,
    Path(id): Path<i64>,
    Body(req): Body<RolePermissions>,
) -> Result<Json<RoleView>> {
    Ok(Json(s.service.set_role_permissions(&a, id, req).await?))
}

#[utoipa::path(get, path = "/api/v1/operators", tag = "staff", security(("bearer" = [])),
    responses((status = 200, body = [OperatorView])))]
pub async fn list_operators(
    State(s): State<AppState>,
    Staff(a): Staff,
) -> Result<Json<Vec<OperatorView>>> {
    Ok(Json(s.service.list_operators(&a).await?))
}

/// Changes an operator's role, disables or enables them, or resets their
/// password (RoleManage). Disabling or a new password ends their sign-ins.
#[utoipa::path(patch, path = "/api/v1/operators/{id}", tag = "staff", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = UpdateOperator,
    responses((status = 200, body = OperatorView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "no such operator (in the caller's club), or `role_id` or `club_id` names nothing", body = ErrorBody)))]
pub async fn update_operator(
    State(s): State<AppState>,
    Staff(a): Staff,
    Path(id): Path<i64>,
    Body(req): Body<UpdateOperator>,
) -> Result<Json<OperatorView>> {
    Ok(Json(s.service.update_operator(&a, id, req).await?))
}

/// Changes the caller's own password; their other sign-ins end.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "staff", security(("bearer" = [])),
    request_body = PasswordChange,
    responses((status = 204, description = "changed"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn change_password(
    State(s): State<AppState>,
    Staff(a): Staff,
    Body(req): Body<PasswordChange>,
) -> Result<StatusCode> {
    let crate::service::Actor::Staff(ctx) = &a else {
        return Err(crate::error::Error::Unauthorized("sign in as staff".into()));
    };
    s.service.change_own_password(ctx, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/operators", tag = "staff", security(("bearer" = [])), request_body = NewOperator,
    responses((status = 201, body = OperatorView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "`role_id` names no role, or `club_id` no club the caller sees", body = ErrorBody),
        (status = 409, description = "an operator with this login exists", body = ErrorBody)))]
pub async fn create_operator(
    State(s): State<AppState>,
    Staff(a): Staff,
    Body(req): Body<NewOperator>,
) -> Result<(StatusCode, Json<OperatorView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.service.create_operator(&a, req).await?),
    ))
}
