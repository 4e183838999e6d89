//! Request bodies, queries and paths whose rejections speak the API's
//! error shape. (Who is calling: `crate::state`.)

use crate::error::Error;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// JSON body; a malformed one is a 400 naming what is wrong.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(v)) => typed(v).map(Body),
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => Err(too_large()),
            Err(e) => Err(Error::BadRequest(json_rejection_message(&e))),
        }
    }
}

fn too_large() -> Error {
    Error::TooLarge(format!(
        "body: larger than {} KiB",
        super::MAX_BODY_BYTES / 1024
    ))
}

/// The body as `T`. JSON has one number type, and JSON Schema counts 12.0
/// as an integer: a number with no fraction is read as an integer wherever
/// the body has one. A field that fails is named by its path.
fn typed<T: DeserializeOwned>(mut v: serde_json::Value) -> Result<T, Error> {
    // Every body is an object (serde would read a struct from an array).
    if !v.is_object() {
        return Err(Error::BadRequest("body: must be a JSON object".into()));
    }
    integral_floats_as_integers(&mut v);
    if let Some(path) = nul_at(&v) {
        let path = path.trim_start_matches('.');
        return Err(Error::BadRequest(format!(
            "body: {path}: {}",
            super::NUL_REFUSED
        )));
    }
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        match path.as_str() {
            "." => Error::BadRequest(format!("body: {}", e.inner())),
            _ => Error::BadRequest(format!("body: {path}: {}", e.inner())),
        }
    })
}

/// Where the body holds a string (or a field name) with a NUL character,
/// as `.field[index]…`; the path is only written for the one found.
fn nul_at(v: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match v {
        Value::String(s) => s.contains('\0').then(String::new),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| Some(format!("[{i}]{}", nul_at(item)?))),
        Value::Object(fields) => fields.iter().find_map(|(k, item)| match k.contains('\0') {
            true => Some(format!(".{k}")),
            false => Some(format!(".{k}{}", nul_at(item)?)),
        }),
        _ => None,
    }
}

/// A query or path with `%00` (a NUL character, percent-encoded) in it.
fn nul_in_uri(part: Option<&str>) -> bool {
    part.is_some_and(|p| p.contains("%00"))
}

fn integral_floats_as_integers(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Number(n) => {
            // Only where every integer is exact in a float (|x| <= 2^53): a
            // bigger float may be an out-of-range integer rounded.
            const EXACT: f64 = 9_007_199_254_740_992.0;
            if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
                if f.fract() == 0.0 && (-EXACT..=EXACT).contains(&f) {
                    *v = Value::from(f as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

fn json_rejection_message(e: &JsonRejection) -> String {
    match e {
        JsonRejection::MissingJsonContentType(_) => {
            "body: expected Content-Type: application/json".into()
        }
        // axum's text names the path of the field that failed, e.g.
        // "amount: invalid type: string \"x\", expected i64 at line 1 column 14".
        other => format!(
            "body: {}",
            other
                .body_text()
                .trim_start_matches("Failed to deserialize the JSON body into the target type: ")
        ),
    }
}

/// A JSON body that may be left out entirely, or be `null` (then
/// `T::default()`).
pub struct OptionalBody<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| match e.status() {
                axum::http::StatusCode::PAYLOAD_TOO_LARGE => too_large(),
                _ => Error::BadRequest(format!("body: {}", e.body_text())),
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalBody(T::default()));
        }
        let v: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| Error::BadRequest(format!("body: {e}")))?;
        if v.is_null() {
            return Ok(OptionalBody(T::default()));
        }
        typed(v).map(OptionalBody)
    }
}

pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        if nul_in_uri(parts.uri.query()) {
            return Err(Error::BadRequest(format!("query: {}", super::NUL_REFUSED)));
        }
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e: QueryRejection| Error::BadRequest(format!("query: {}", e.body_text())))
    }
}

pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        if nul_in_uri(Some(parts.uri.path())) {
            return Err(Error::BadRequest(format!("path: {}", super::NUL_REFUSED)));
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e: PathRejection| Error::BadRequest(format!("path: {}", e.body_text())))
    }
}
