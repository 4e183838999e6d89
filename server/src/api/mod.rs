//! The REST API under /api/v1: one route list, handlers per resource, the
//! OpenAPI document generated from these same routes.

mod builds;
mod clients;
mod doc;
mod extract;
mod hall;
mod ops;
mod orders;
mod sessions;
mod staff;
mod tariffs;

pub use crate::state::{bearer, AppState, Player, Staff};

use crate::error::{Error, ErrorBody};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every route of the API, in one place.
pub fn router(state: AppState) -> Router {
    let request_timeout = state.request_timeout;
    let (api, doc) = OpenApiRouter::with_openapi(doc::ApiDoc::openapi())
        .routes(routes!(staff::login))
        .routes(routes!(staff::list_roles, staff::create_role))
        .routes(routes!(staff::update_role))
        .routes(routes!(staff::list_operators, staff::create_operator))
        .routes(routes!(hall::list_clubs, hall::create_club))
        .routes(routes!(hall::update_club))
        .routes(routes!(hall::list_zones, hall::create_zone))
        .routes(routes!(hall::list_devices, hall::create_device))
        .routes(routes!(hall::get_device, hall::update_device))
        .routes(routes!(hall::new_enrollment_code))
        .routes(routes!(hall::send_command))
        .routes(routes!(hall::enroll))
        .routes(routes!(
            builds::upload_agent_build,
            builds::list_agent_builds
        ))
        .routes(routes!(builds::download_agent_build))
        .routes(routes!(hall::hall))
        .routes(routes!(tariffs::list_tariffs, tariffs::create_tariff))
        .routes(routes!(tariffs::get_tariff, tariffs::update_tariff))
        .routes(routes!(tariffs::get_settings, tariffs::put_settings))
        .routes(routes!(clients::list_clients, clients::create_client))
        .routes(routes!(clients::get_client, clients::update_client))
        .routes(routes!(clients::top_up))
        .routes(routes!(clients::purchase))
        .routes(routes!(clients::ledger))
        .routes(routes!(sessions::list_sessions, sessions::create_session))
        .routes(routes!(sessions::get_session))
        .routes(routes!(sessions::start_session))
        .routes(routes!(sessions::cancel_session))
        .routes(routes!(sessions::end_session))
        .routes(routes!(sessions::preview))
        .routes(routes!(sessions::add_tariff))
        .routes(routes!(sessions::move_session))
        .routes(routes!(sessions::correct_price))
        .routes(routes!(sessions::bulk_cancel))
        .routes(routes!(sessions::sessions_csv))
        .routes(routes!(orders::open_shift))
        .routes(routes!(orders::list_shifts))
        .routes(routes!(orders::current_shift))
        .routes(routes!(orders::close_shift))
        .routes(routes!(orders::shift_report))
        .routes(routes!(orders::list_orders))
        .routes(routes!(orders::refund_order))
        .routes(routes!(orders::extra_charge))
        .routes(routes!(sessions::audit))
        .routes(routes!(staff::logout))
        .routes(routes!(staff::change_password))
        .routes(routes!(staff::update_operator))
        .routes(routes!(clients::player_login))
        .routes(routes!(clients::unlock_pin))
        .routes(routes!(clients::player_me))
        .routes(routes!(sessions::player_start))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .split_for_parts();
    let doc = std::sync::Arc::new(doc::with_standard_responses(doc));
    let router = Router::new()
        .merge(api)
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { Json((*doc).clone()) }
            }),
        )
        .route("/agent/v1/ws", get(crate::gateway::upgrade))
        .route("/api/v1/hall/ws", get(crate::hall::upgrade))
        .merge(crate::web::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state.service.metrics.clone(),
            count_operation,
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);
    with_security_headers(router)
        .layer(axum::middleware::from_fn_with_state(
            request_timeout,
            request_deadline,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                |req: &axum::http::Request<axum::body::Body>| {
                    // The matched route, not the raw path (ids and tokens
                    // stay out of logs): routing has not happened yet
                    // here, so `count_operation` fills it in.
                    tracing::info_span!(
                        "request",
                        method = %req.method(),
                        route = tracing::field::Empty
                    )
                },
            ),
        )
}

/// Names the request's span by its route, and counts each request that
/// changes something by its route and result.
async fn count_operation(
    axum::extract::State(metrics): axum::extract::State<crate::metrics::Metrics>,
    route: axum::extract::MatchedPath,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    tracing::Span::current().record("route", route.as_str());
    let method = req.method().clone();
    let res = next.run(req).await;
    if method != axum::http::Method::GET && method != axum::http::Method::HEAD {
        let kind = format!("{method} {}", route.as_str());
        metrics
            .operations
            .with_label_values(&[&kind, &crate::metrics::result_of(res.status())])
            .inc();
    }
    res
}

/// Headers on every response: the page runs only its own script and
/// style, loads and connects only to this server, and is never framed; no
/// response is sniffed into another type or leaks its URL as a referrer.
fn with_security_headers(router: Router) -> Router {
    use axum::http::header::{
        CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
    };
    use axum::http::HeaderValue;
    use tower_http::set_header::SetResponseHeaderLayer;
    let h = HeaderValue::from_static;
    router
        .layer(SetResponseHeaderLayer::overriding(
            CONTENT_SECURITY_POLICY,
            h(
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
               connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            X_FRAME_OPTIONS,
            h("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            X_CONTENT_TYPE_OPTIONS,
            h("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            REFERRER_POLICY,
            h("no-referrer"),
        ))
}

/// The largest request body: the biggest real one (500 sessions to cancel
/// with a reason) is about 5 KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What a request or an agent's frame is told when its text holds a NUL
/// character: no field needs one, and PostgreSQL stores none.
pub const NUL_REFUSED: &str = "text may not contain a NUL character (U+0000)";

/// A request must be read and answered within `limit` (30 s unless
/// configured): a client that sends its body a byte a minute holds no
/// connection slot for long.
async fn request_deadline(
    axum::extract::State(limit): axum::extract::State<std::time::Duration>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            let body = ErrorBody {
                error: crate::error::ErrorDetail {
                    code: "request_timeout".into(),
                    message: format!(
                        "the request took longer than {} s to arrive and be answered",
                        limit.as_secs()
                    ),
                },
            };
            (axum::http::StatusCode::REQUEST_TIMEOUT, Json(body)).into_response()
        }
    }
}

async fn not_found() -> impl IntoResponse {
    Error::NotFound("no such endpoint".into())
}

async fn method_not_allowed() -> impl IntoResponse {
    let body = ErrorBody {
        error: crate::error::ErrorDetail {
            code: "method_not_allowed".into(),
            message: "this endpoint does not take that method".into(),
        },
    };
    (axum::http::StatusCode::METHOD_NOT_ALLOWED, Json(body))
}
