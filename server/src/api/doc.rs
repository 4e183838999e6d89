//! The OpenAPI document's frame: the bearer scheme, and the answers every
//! operation can give besides its own (a malformed request, a missing or
//! refused sign-in, an unknown id, a body over 64 KiB, a request too slow
//! to arrive, a server
//! too busy or a database that cannot take the change), so that the
//! document lists every status an operation can answer.

use crate::error::ErrorBody;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Clubhall", description = "Club server API. Money in integer minor units; times RFC 3339 UTC. \
        Every error is `{\"error\": {\"code\", \"message\"}}`. No text (in a body, a query or a path) \
        may hold a NUL character (U+0000): it is answered 400."),
    modifiers(&BearerAuth),
    // Schemas only a query parameter names: the route macros collect the
    // bodies' schemas, not these.
    components(schemas(ErrorBody, crate::requests::sessions::PreviewAction))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Adds to each operation the answers the server's common layers give,
/// where the operation does not document them itself.
pub fn with_standard_responses(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    for (path, item) in doc.paths.paths.iter_mut() {
        let has_id = path.contains('{');
        for op in operations(item) {
            let signed_in = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let takes_input = has_id
                || op.request_body.is_some()
                || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
            let mut add = |status: &str, why: &str| {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error_response(why).into());
            };
            if takes_input {
                add(
                    "400",
                    "Bad input: the message names the field (also a malformed body)",
                );
            }
            if op.request_body.is_some() {
                add("413", "The body is larger than 64 KiB");
            }
            if signed_in {
                add("401", "Not signed in, or the sign-in ended");
                add(
                    "403",
                    "Signed in, but without the permission (named) or not as this kind of user",
                );
            }
            if has_id {
                add("404", "No such id");
            }
            add(
                "408",
                "The request did not arrive and get answered in time (30 s unless configured)",
            );
            add("503", "Busy, or the database cannot take changes now (`storage_unavailable`); see Retry-After");
        }
    }
    doc
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}
