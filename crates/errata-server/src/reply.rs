//! Catalogued answers outside GraphQL execution, which the edge and the
//! handlers both give: a JSON error with its class's status, and the 429.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;

use errata_catalog::Error;

use crate::metrics::count_error;
use crate::ratelimit::{ClientLimiter, Refusal};

static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
pub(crate) static JSON_UTF8: HeaderValue =
    HeaderValue::from_static("application/json; charset=utf-8");

/// The 429 answer: `Retry-After`, `RateLimit-Policy` and `RateLimit`, and
/// the body rendered once per locale by the limiter.
pub fn rate_limited(
    refusal: Refusal,
    limiter: &ClientLimiter,
    locale: Option<&str>,
    request_id: &str,
) -> Response {
    let def = errata_errors::http::RATE_LIMITED;
    count_error(def.code, def.class);
    let body = limiter.body(locale, request_id, refusal.retry_after);
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, JSON_UTF8.clone());
    headers.insert(header::RETRY_AFTER, HeaderValue::from(refusal.retry_after));
    headers.insert(RATELIMIT_POLICY.clone(), limiter.policy().clone());
    let mut value = String::with_capacity(limiter.name().len() + 16);
    value.push('"');
    value.push_str(limiter.name());
    value.push_str("\";r=0;t=");
    value.push_str(&refusal.retry_after.to_string());
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(RATELIMIT.clone(), value);
    }
    response
}

/// A JSON error response for a failure outside GraphQL execution, with the
/// class's status.
pub fn error_response(error: &Error, locale: Option<&str>, request_id: &str) -> Response {
    let def = error.def();
    count_error(def.code, def.class);
    let body = errata_graphql::response::error_body(error, locale, request_id);
    let status =
        StatusCode::from_u16(def.class.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, JSON_UTF8.clone());
    response
}
