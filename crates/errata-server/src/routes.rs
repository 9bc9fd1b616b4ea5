//! The routes and their handlers: the GraphQL endpoint, the error
//! references, the probes and the metrics. Every route is behind the edge,
//! which decides by path what each needs before the handler runs.

use std::sync::Arc;
use std::time::Instant;

use async_graphql::parser::types::OperationType;
use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use errata_catalog::{Class, Error};
use errata_errors::{http, system};
use errata_graphql::{GraphqlRequest, Method, RequestInfo};
use errata_identity::Principal;

use crate::edge::EdgeLayer;
use crate::metrics::{count_cache, count_error, record_duration};
use crate::ratelimit::Client;
use crate::reply::{error_response, rate_limited};
use crate::request::{ClientAddr, RequestMeta};
use crate::schema::{Caller, RequestContext};
use crate::state::AppState;

/// The routes and the middleware around them. Which routes need a bearer
/// check and admission is the edge's to decide, by path.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/graphql",
            get(graphql_get)
                .post(graphql_post)
                .fallback(graphql_method_not_allowed),
        )
        .route("/errors", get(errors_html))
        .route("/errors.json", get(errors_json))
        .route("/metrics", get(metrics_text))
        .route(
            "/oauth/token",
            axum::routing::post(crate::oauth::token).fallback(crate::oauth::method_not_allowed),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .layer(EdgeLayer::new(Arc::clone(&state)))
        .with_state(state)
}

/// What the pipeline is told of a request by `principal`: answers that
/// depend on permissions are kept under its permission key.
fn info<'a>(
    meta: &'a RequestMeta,
    method: Method,
    media: errata_graphql::Media,
    principal: &Principal,
) -> RequestInfo<'a> {
    RequestInfo {
        request_id: &meta.id,
        locale: meta.locale,
        method,
        media,
        permission_key: Some(principal.permission_key()),
    }
}

async fn graphql_post(
    State(state): State<Arc<AppState>>,
    Extension(meta): Extension<RequestMeta>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    principal: Option<Extension<Principal>>,
    request: Request,
) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let media = match errata_graphql::negotiate(header_str(&headers, header::ACCEPT)) {
        Ok(media) => media,
        Err(e) => return error_response(&e, meta.locale, &meta.id),
    };
    let limit = state.config.max_body_bytes;
    let declared =
        header_str(&headers, header::CONTENT_LENGTH).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return error_response(&too_large(limit), meta.locale, &meta.id);
    }
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(body) => body,
        Err(e) => {
            let error = if is_length_limit(&e) {
                too_large(limit)
            } else {
                http::json_invalid("the body could not be read").with_source(e)
            };
            return error_response(&error, meta.locale, &meta.id);
        }
    };
    let content_type = header_str(&headers, header::CONTENT_TYPE);
    if let Err(e) = errata_graphql::transport::check_content_type(content_type) {
        return error_response(&e, meta.locale, &meta.id);
    }
    // The route is always behind `edge::authenticate`; without it the caller
    // would be a guest.
    let principal = principal.map_or_else(|| state.guest(), |p| p.0);
    let info = info(&meta, Method::Post, media, &principal);
    let key = state.pipeline.body_key(&body, info);
    // A body seen before may have its answer kept: found before decoding.
    // Per-operation limits need the operation's fields, so with any
    // configured, every request is decoded first.
    if state.operation_limiters.is_empty()
        && let Some(key) = &key
        && let Some(outcome) = state.pipeline.replay(key, info)
    {
        return respond(outcome, info, started);
    }
    let request = match errata_graphql::decode_post(content_type, &body) {
        Ok(request) => request,
        Err(e) => return error_response(&e, meta.locale, &meta.id),
    };
    run(
        &state,
        request,
        key.as_ref(),
        info,
        started,
        RequestContext {
            locale: meta.locale,
            ip: Some(client),
        },
        principal,
    )
    .await
}

async fn graphql_get(
    State(state): State<Arc<AppState>>,
    Extension(meta): Extension<RequestMeta>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    principal: Option<Extension<Principal>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let accept = header_str(&headers, header::ACCEPT);
    if state.config.graphiql() && query.is_none() && accept.is_some_and(|a| a.contains("text/html"))
    {
        return Html(GRAPHIQL).into_response();
    }
    let media = match errata_graphql::negotiate(accept) {
        Ok(media) => media,
        Err(e) => return error_response(&e, meta.locale, &meta.id),
    };
    let request = match errata_graphql::decode_get(query.as_deref().unwrap_or("")) {
        Ok(request) => request,
        Err(e) => return error_response(&e, meta.locale, &meta.id),
    };
    let principal = principal.map_or_else(|| state.guest(), |p| p.0);
    run(
        &state,
        request,
        None,
        info(&meta, Method::Get, media, &principal),
        started,
        RequestContext {
            locale: meta.locale,
            ip: Some(client),
        },
        principal,
    )
    .await
}

async fn run(
    state: &AppState,
    request: GraphqlRequest,
    body: Option<&errata_graphql::cache::Key>,
    info: RequestInfo<'_>,
    started: Instant,
    context: RequestContext,
    principal: Principal,
) -> Response {
    if !state.operation_limiters.is_empty()
        && let Some(ip) = context.ip
    {
        let fields = state.pipeline.operation_fields(&request).await;
        let client = Client::address(ip);
        for (path, limiter) in &state.operation_limiters {
            let Some((_, times)) = fields.iter().find(|(f, _)| f == path) else {
                continue;
            };
            if let Err(refusal) = limiter.check_n(&client, *times).await {
                return rate_limited(refusal, limiter, info.locale, info.request_id);
            }
        }
    }
    let outcome = state
        .pipeline
        .execute_post(request, body, info, |r| {
            r.data(Caller(principal)).data(context)
        })
        .await;
    respond(outcome, info, started)
}

/// The HTTP response for a pipeline's outcome, counted in the metrics.
fn respond(outcome: errata_graphql::Outcome, info: RequestInfo<'_>, started: Instant) -> Response {
    if let Some(hit) = outcome.cached {
        count_cache(hit);
    }
    for (code, class) in &outcome.errors {
        count_error(*code, *class);
    }
    let operation = match outcome.operation {
        Some(OperationType::Query) => "query",
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        None => "none",
    };
    record_duration(operation, started.elapsed().as_secs_f64());
    let mut response = Response::new(Body::from(outcome.body));
    *response.status_mut() =
        StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // A field that needs a signed-in caller makes the whole answer a 401
    // with the challenge (RFC 6750), whatever else resolved: the client must
    // act at the HTTP level. A missing permission only nulls its field, and
    // the partial answer keeps its 200, as GraphQL over HTTP has it.
    if outcome
        .errors
        .iter()
        .any(|(_, class)| *class == Class::Unauthenticated)
    {
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"errata\""),
        );
    }
    // A field the server had no capacity for (password hashing is full)
    // makes the answer a 503 with Retry-After, as an overloaded server's
    // refusal before the body is: the client should retry the same request.
    if outcome
        .errors
        .iter()
        .any(|(_, class)| *class == Class::ServiceUnavailable)
    {
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(info.media.content_type()),
    );
    if let Some(value) = outcome
        .cache_control
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        headers.insert(header::CACHE_CONTROL, value);
        // The media type follows Accept, and messages Accept-Language: an
        // HTTP cache must keep one answer per pair.
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Accept, Accept-Language"),
        );
    }
    if let Some(allow) = outcome.allow {
        headers.insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    response
}

async fn graphql_method_not_allowed(
    Extension(meta): Extension<RequestMeta>,
    request: Request,
) -> Response {
    let error = http::method_not_allowed(request.method().to_string(), "GET or POST");
    let mut response = error_response(&error, meta.locale, &meta.id);
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    response
}

fn too_large(limit: usize) -> Error {
    http::body_too_large(limit).with_detail("limit", limit)
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.to_string().contains("length limit exceeded") {
            return true;
        }
        source = s.source();
    }
    false
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn errors_html(State(state): State<Arc<AppState>>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CONTENT_SECURITY_POLICY, state.errors_csp.clone()),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        state.errors_html.clone(),
    )
        .into_response()
}

async fn errors_json(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        state.errors_json.clone(),
    )
        .into_response()
}

async fn healthz() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        "{\"status\":\"ok\"}",
    )
        .into_response()
}

async fn readyz(
    State(state): State<Arc<AppState>>,
    Extension(meta): Extension<RequestMeta>,
) -> Response {
    let ready = match state.identity() {
        Ok(_) => state.storage.ping().await,
        Err(e) => Err(e),
    };
    match ready {
        Ok(()) => (
            [(header::CONTENT_TYPE, "application/json")],
            "{\"status\":\"ready\"}",
        )
            .into_response(),
        Err(e) => {
            if let Some(cause) = e.cause() {
                tracing::error!(cause = %cause, "database unreachable");
            }
            error_response(&e, meta.locale, &meta.id)
        }
    }
}

async fn metrics_text(
    State(state): State<Arc<AppState>>,
    Extension(meta): Extension<RequestMeta>,
) -> Response {
    match &state.metrics {
        Some(handle) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            handle.render(),
        )
            .into_response(),
        None => error_response(&system::internal(), meta.locale, &meta.id),
    }
}

async fn not_found(Extension(meta): Extension<RequestMeta>, request: Request) -> Response {
    let path: String = request.uri().path().chars().take(200).collect();
    error_response(&http::not_found(path), meta.locale, &meta.id)
}

const GRAPHIQL: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>errata GraphiQL</title>
<link rel="stylesheet" href="https://unpkg.com/graphiql@3/graphiql.min.css">
<style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script crossorigin src="https://unpkg.com/react@18/umd/react.production.min.js"></script>
<script crossorigin src="https://unpkg.com/react-dom@18/umd/react-dom.production.min.js"></script>
<script crossorigin src="https://unpkg.com/graphiql@3/graphiql.min.js"></script>
<script>
  const fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
  ReactDOM.createRoot(document.getElementById('graphiql')).render(React.createElement(GraphiQL, { fetcher }));
</script>
</body>
</html>
"#;
