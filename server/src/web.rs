//! The operator page: static files built into the binary (no Node, no
//! build step), served at / with the API beside them.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

const INDEX: &str = include_str!("../web/index.html");
const APP_CSS: &str = include_str!("../web/app.css");

/// The page's script: native ES modules, one per screen or job, served at
/// `/js/NAME` (`main.js` imports the rest).
const MODULES: &[(&str, &str)] = &[
    ("api.js", include_str!("../web/js/api.js")),
    ("audit.js", include_str!("../web/js/audit.js")),
    ("card.js", include_str!("../web/js/card.js")),
    ("clients.js", include_str!("../web/js/clients.js")),
    ("feed.js", include_str!("../web/js/feed.js")),
    ("hall.js", include_str!("../web/js/hall.js")),
    ("main.js", include_str!("../web/js/main.js")),
    ("map-edit.js", include_str!("../web/js/map-edit.js")),
    ("orders.js", include_str!("../web/js/orders.js")),
    ("panes.js", include_str!("../web/js/panes.js")),
    ("report-tools.js", include_str!("../web/js/report-tools.js")),
    ("roles.js", include_str!("../web/js/roles.js")),
    (
        "session-blocks.js",
        include_str!("../web/js/session-blocks.js"),
    ),
    ("sessions.js", include_str!("../web/js/sessions.js")),
    ("setup.js", include_str!("../web/js/setup.js")),
    ("shift.js", include_str!("../web/js/shift.js")),
    ("staff.js", include_str!("../web/js/staff.js")),
    ("state.js", include_str!("../web/js/state.js")),
    ("tariffs.js", include_str!("../web/js/tariffs.js")),
    ("util.js", include_str!("../web/js/util.js")),
];

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, content_type), (CACHE_CONTROL, "no-cache")],
        body,
    )
}

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX) }),
        )
        .route("/js/{name}", get(module))
        .route(
            "/app.css",
            get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
}

async fn module(Path(name): Path<String>) -> axum::response::Response {
    match MODULES.iter().find(|(n, _)| *n == name) {
        Some((_, body)) => asset("text/javascript; charset=utf-8", body).into_response(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::MODULES;

    /// Every module in web/js is served (a new file must be listed), and
    /// each stays readable: none over about 400 lines.
    #[test]
    fn every_module_is_served_and_none_is_long() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/web/js");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".js"))
            .collect();
        files.sort();
        let served: Vec<&str> = MODULES.iter().map(|(n, _)| *n).collect();
        assert_eq!(files, served);
        for (name, body) in MODULES {
            let lines = body.lines().count();
            assert!(lines <= 420, "{name} has {lines} lines");
        }
    }
}
