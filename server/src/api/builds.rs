//! Agent builds: uploaded by an administrator, downloaded by agents.

use super::extract::{Path, Query};
use crate::error::{Error, ErrorBody, Result};
use crate::service::AgentBuildView;
use crate::state::AppState;
use crate::state::Staff;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use club_shared::protocol::MAX_AGENT_BUILD_BYTES;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BuildParams {
    /// `linux-x86_64`, `linux-aarch64`, `windows-x86_64` or `windows-aarch64`.
    #[param(value_type = String, pattern = "^(linux-x86_64|linux-aarch64|windows-x86_64|windows-aarch64)$")]
    pub platform: String,
    /// The build's version, e.g. `0.2.0` (1 to 40 letters, digits, `.-+_`).
    #[param(pattern = "^[0-9A-Za-z.+_-]{1,40}$")]
    pub version: String,
}

/// Keeps a club-agent executable and makes it the club's build for its
/// platform (DeviceManage): every agent of that platform running another
/// build updates itself to it once its PC is idle. Uploading a kept build
/// again makes it the club's build again (200; a new one: 201).
#[utoipa::path(post, path = "/api/v1/agent-builds", tag = "agent", security(("bearer" = [])),
    params(BuildParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "the club-agent executable (at most 64 MiB)"),
    responses((status = 201, body = AgentBuildView), (status = 200, body = AgentBuildView),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "the same build is kept for another platform", body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 503, description = "another upload is under way", body = ErrorBody)))]
pub async fn upload_agent_build(
    State(s): State<AppState>,
    Staff(a): Staff,
    Query(p): Query<BuildParams>,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<AgentBuildView>)> {
    // The body is read only for someone who may upload, one upload at a
    // time, and never past the limit: up to 64 MiB in memory, once.
    let _slot = s.service.agent_build_upload_slot(&a)?;
    let bytes = axum::body::to_bytes(body, MAX_AGENT_BUILD_BYTES)
        .await
        .map_err(|_| {
            Error::TooLarge(format!(
                "an agent build is at most {} MiB",
                MAX_AGENT_BUILD_BYTES >> 20
            ))
        })?;
    let (created, build) = s
        .service
        .upload_agent_build(&a, &p.platform, &p.version, bytes.to_vec())
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(build)))
}

/// Every agent build kept; `current` marks the club's build for each
/// platform (DeviceManage).
#[utoipa::path(get, path = "/api/v1/agent-builds", tag = "agent", security(("bearer" = [])),
    responses((status = 200, body = [AgentBuildView]), (status = 403, body = ErrorBody)))]
pub async fn list_agent_builds(
    State(s): State<AppState>,
    Staff(a): Staff,
) -> Result<Json<Vec<AgentBuildView>>> {
    Ok(Json(s.service.agent_builds(&a).await?))
}

/// An agent build's executable, for an enrolled PC's agent (its device
/// secret as the bearer token). A few downloads at once; more are told to
/// come back (503).
#[utoipa::path(get, path = "/api/v1/agent/builds/{sha256}", tag = "agent", security(("bearer" = [])),
    params(("sha256" = String, Path, description = "the build's SHA-256, 64 lowercase hex digits")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn download_agent_build(
    State(s): State<AppState>,
    crate::gateway::Device(_device): crate::gateway::Device,
    Path(sha256): Path<String>,
) -> Result<axum::response::Response> {
    let (permit, bytes) = s.service.agent_build_download(&sha256).await?;
    // The place is held until the whole body has been sent.
    let body = axum::body::Body::from_stream(futures_util::stream::once(async move {
        let _permit = permit;
        Ok::<_, std::convert::Infallible>(bytes)
    }));
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response())
}
