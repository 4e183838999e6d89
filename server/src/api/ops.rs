//! What the IT person's tools ask, without a sign-in: is the server alive,
//! is it ready, and its metrics (open to loopback; a token otherwise).

use super::AppState;
use crate::error::{Error, ErrorBody};
use crate::service::health::Readiness;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use std::net::SocketAddr;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Alive {
    /// Always `ok`.
    pub status: &'static str,
}

/// The process serves requests (a liveness probe: nothing else is checked).
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Alive)))]
pub async fn healthz() -> Json<Alive> {
    Json(Alive { status: "ok" })
}

/// The server can do its job: the database takes a write, its schema is
/// this build's, the scheduler runs. Checked at most once a second.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, description = "not ready: the failing check says why", body = Readiness)))]
pub async fn readyz(State(s): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let r = s.service.readiness().await;
    let status = if r.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(r))
}

/// Prometheus metrics (text format 0.0.4). Open to loopback; from anywhere
/// else only with `Authorization: Bearer <metrics token>` (`--metrics-token`).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, content_type = "text/plain", body = String),
        (status = 401, description = "from beyond loopback without the metrics token", body = ErrorBody),
        (status = 403, description = "from beyond loopback, and the server has no metrics token", body = ErrorBody)))]
pub async fn metrics(
    State(s): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    may_read_metrics(from.ip(), s.metrics_token.as_deref(), authorization)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.service.metrics.render(),
    )
        .into_response())
}

/// Loopback reads the metrics freely; anyone else needs the token, and
/// none is let in when the server has no token.
fn may_read_metrics(
    from: std::net::IpAddr,
    token: Option<&crate::config::Secret>,
    authorization: Option<&str>,
) -> Result<(), Error> {
    if from.to_canonical().is_loopback() {
        return Ok(());
    }
    let Some(token) = token else {
        return Err(Error::NotAllowed(
            "metrics are served to loopback only; start the server with --metrics-token to \
             read them from elsewhere"
                .into(),
        ));
    };
    let given = authorization
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .trim();
    // Digests compared, so the time taken says nothing of the token.
    use sha2::{Digest, Sha256};
    if Sha256::digest(given) != Sha256::digest(token.expose()) {
        return Err(Error::Unauthorized("metrics need the metrics token".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn loopback_reads_metrics_freely_and_others_need_the_token() {
        let lan: std::net::IpAddr = "192.168.1.20".parse().unwrap();
        let token = Secret::from("scrape-me");
        for local in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            assert!(may_read_metrics(local.parse().unwrap(), None, None).is_ok());
        }
        let refused = |r: Result<(), Error>| r.unwrap_err().code();
        assert_eq!(refused(may_read_metrics(lan, None, None)), "forbidden");
        assert_eq!(
            refused(may_read_metrics(lan, None, Some("Bearer scrape-me"))),
            "forbidden",
            "no token configured: nobody beyond loopback"
        );
        assert_eq!(
            refused(may_read_metrics(lan, Some(&token), None)),
            "unauthorized"
        );
        assert_eq!(
            refused(may_read_metrics(lan, Some(&token), Some("Bearer scrape-m"))),
            "unauthorized"
        );
        assert!(may_read_metrics(lan, Some(&token), Some("Bearer scrape-me")).is_ok());
    }
}
