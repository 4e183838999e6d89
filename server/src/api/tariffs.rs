use super::extract::{Body, Path};
use crate::error::{ErrorBody, Result};
use crate::requests::tariffs::TariffInput;
use crate::service::Settings;
use crate::state::AppState;
use crate::state::Staff;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use club_shared::TariffView;

#[utoipa::path(get, path = "/api/v1/tariffs", tag = "tariffs", security(("bearer" = [])),
    responses((status = 200, body = [TariffView])))]
pub async fn list_tariffs(
    State(s): State<AppState>,
    _staff: Staff,
) -> Result<Json<Vec<TariffView>>> {
    Ok(Json(s.service.list_tariffs().await?))
}

#[utoipa::path(post, path = "/api/v1/tariffs", tag = "tariffs", security(("bearer" = [])), request_body = TariffInput,
    responses((status = 201, body = TariffView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "one of `zone_ids` names no zone", body = ErrorBody),
        (status = 409, description = "a tariff with this name exists", body = ErrorBody)))]
pub async fn create_tariff(
    State(s): State<AppState>,
    Staff(a): Staff,
    Body(req): Body<TariffInput>,
) -> Result<(StatusCode, Json<TariffView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.service.save_tariff(&a, None, req).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/tariffs/{id}", tag = "tariffs", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = TariffView), (status = 404, body = ErrorBody)))]
pub async fn get_tariff(
    State(s): State<AppState>,
    _staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<TariffView>> {
    Ok(Json(s.service.tariff(id).await?))
}

/// Changes a tariff; sessions already open keep the policy they snapshotted.
#[utoipa::path(put, path = "/api/v1/tariffs/{id}", tag = "tariffs", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = TariffInput,
    responses((status = 200, body = TariffView), (status = 400, body = ErrorBody),
        (status = 404, description = "no such tariff, or one of `zone_ids` names no zone", body = ErrorBody),
        (status = 409, description = "another tariff has this name", body = ErrorBody)))]
pub async fn update_tariff(
    State(s): State<AppState>,
    Staff(a): Staff,
    Path(id): Path<i64>,
    Body(req): Body<TariffInput>,
) -> Result<Json<TariffView>> {
    Ok(Json(s.service.save_tariff(&a, Some(id), req).await?))
}

#[utoipa::path(get, path = "/api/v1/settings", tag = "settings", security(("bearer" = [])),
    responses((status = 200, body = Settings)))]
pub async fn get_settings(State(s): State<AppState>, _staff: Staff) -> Result<Json<Settings>> {
    Ok(Json(s.service.settings().await?))
}

#[utoipa::path(put, path = "/api/v1/settings", tag = "settings", security(("bearer" = [])), request_body = Settings,
    responses((status = 200, body = Settings), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn put_settings(
    State(s): State<AppState>,
    Staff(a): Staff,
    Body(req): Body<Settings>,
) -> Result<Json<Settings>> {
    Ok(Json(s.service.put_settings(&a, req).await?))
}
