//! The HTTP application: state, routes and handlers, and starting and
//! stopping the server.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_graphql::EmptySubscription;
use async_graphql::parser::types::OperationType;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::sync::{Semaphore, oneshot};

use errata_catalog::render::{Format, render};
use errata_catalog::{Class, Error};
use errata_errors::{http, system};
use errata_graphql::{GraphqlRequest, Method, Pipeline, PipelineOptions, RequestInfo};
use errata_identity::{Identity, Principal};

use crate::config::Config;
use crate::edge::{EdgeLayer, RequestMeta, error_response};
use crate::ratelimit::ClientLimiter;
use crate::schema::{self, Caller, Mutation, Query, RequestContext, ServerFacts};
use crate::shared::Redis;
use crate::shared::documents::SharedDocuments;
use crate::storage::Storage;

/// What the refused bearer tokens' answers may take: a thousand answers of
/// about a kilobyte each.
const REFUSALS_BYTES: usize = 2 << 20;

/// Everything the handlers share.
pub struct AppState {
    pub(crate) config: Config,
    pipeline: Pipeline<Query, Mutation, EmptySubscription>,
    pub(crate) identity: Identity,
    pub(crate) limiter: Option<ClientLimiter>,
    /// Per-operation limiters, by the field path they watch.
    operation_limiters: Vec<(String, ClientLimiter)>,
    pub(crate) slots: Arc<Semaphore>,
    pub(crate) refusals: crate::edge::Refusals,
    pub(crate) locales: Vec<&'static str>,
    storage: Storage,
    errors_html: Bytes,
    errors_json: Bytes,
    metrics: Option<PrometheusHandle>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The process-wide Prometheus recorder; metrics are global in the `metrics` crate.
pub(crate) fn prometheus() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
                ])
                .ok()?
                .install_recorder()
                .ok()
        })
        .clone()
}

impl AppState {
    /// Opens storage and builds everything the server needs.
    pub async fn new(config: Config) -> Result<Arc<AppState>, Error> {
        let storage = Storage::open(&config.data, config.insecure_data_dir).await?;
        let identity =
            Identity::open(storage.pool().clone(), config.auth.clone(), &config.data).await?;
        let facts = ServerFacts {
            started: Instant::now(),
            storage: storage.clone(),
            identity: identity.clone(),
        };
        let schema = schema::build(facts, config.introspection(), config.suggestions());
        let catalog = &errata_errors::CATALOG;
        let redis = match &config.redis {
            Some(url) => {
                Some(Redis::connect(url, config.redis_timeout(), &config.redis_prefix).await)
            }
            None => None,
        };
        let shared_documents = redis.as_ref().map(|redis| {
            Arc::new(SharedDocuments::new(redis)) as Arc<dyn errata_graphql::SharedDocuments>
        });
        Ok(Arc::new(AppState {
            pipeline: Pipeline::new(
                schema,
                PipelineOptions {
                    limits: config.limits,
                    cache_size: config.document_cache,
                    document_cache_bytes: config.document_cache_bytes,
                    response_cache: config.response_cache,
                    response_cache_bytes: config.response_cache_bytes,
                    introspection: config.introspection(),
                    suggestions: config.suggestions(),
                },
            )
            .sharing_documents(shared_documents),
            limiter: ClientLimiter::new(config.rate_limit, config.rate_limit_burst)
                .map(|l| l.sharing(redis.as_ref())),
            operation_limiters: config
                .operation_limits
                .iter()
                .filter_map(|(path, rate)| {
                    ClientLimiter::named(path, *rate, None)
                        .map(|l| (path.clone(), l.sharing(redis.as_ref())))
                })
                .collect(),
            slots: Arc::new(Semaphore::new(config.max_concurrent_requests.max(1))),
            refusals: crate::edge::Refusals::new(
                std::num::NonZeroUsize::new(1024).expect("not zero"),
                REFUSALS_BYTES,
            ),
            locales: catalog.locales.iter().map(|l| &**l).collect(),
            storage,
            identity,
            errors_html: Bytes::from(render(catalog, Format::Html)),
            errors_json: Bytes::from(render(catalog, Format::Json)),
            metrics: prometheus(),
            config,
        }))
    }
}

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

fn info<'a>(
    meta: &'a RequestMeta,
    method: Method,
    media: errata_graphql::Media,
) -> RequestInfo<'a> {
    RequestInfo {
        request_id: &meta.id,
        locale: meta.locale,
        method,
        media,
    }
}

async fn graphql_post(
    State(state): State<Arc<AppState>>,
    Extension(meta): Extension<RequestMeta>,
    principal: Option<Extension<Principal>>,
    request: Request,
) -> Response {
    let peer = peer_of(&request);
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
    let info = info(&meta, Method::Post, media);
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
            ip: peer,
        },
        principal.map(|p| p.0),
    )
    .await
}

async fn graphql_get(
    State(state): State<Arc<AppState>>,
    Extension(meta): Extension<RequestMeta>,
    principal: Option<Extension<Principal>>,
    connect: Option<Extension<axum::extract::ConnectInfo<SocketAddr>>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let peer = connect.map(|c| c.0.0.ip());
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
    run(
        &state,
        request,
        None,
        info(&meta, Method::Get, media),
        started,
        RequestContext {
            locale: meta.locale,
            ip: peer,
        },
        principal.map(|p| p.0),
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
    principal: Option<Principal>,
) -> Response {
    if !state.operation_limiters.is_empty()
        && let Some(ip) = context.ip
    {
        let fields = state.pipeline.operation_fields(&request).await;
        let client = crate::ratelimit::Client::address(ip);
        for (path, limiter) in &state.operation_limiters {
            let Some((_, times)) = fields.iter().find(|(f, _)| f == path) else {
                continue;
            };
            if let Err(refusal) = limiter.check_n(&client, *times).await {
                return crate::edge::rate_limited(refusal, limiter, info.locale, info.request_id);
            }
        }
    }
    // The route is always behind `edge::authenticate`; without it the caller
    // would be a guest.
    let principal = principal.unwrap_or_else(|| state.identity.directory().guest.clone());
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
        crate::edge::count_cache(hit);
    }
    for (code, class) in &outcome.errors {
        crate::edge::count_error(*code, *class);
    }
    let operation = match outcome.operation {
        Some(OperationType::Query) => "query",
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        None => "none",
    };
    crate::edge::record_duration(operation, started.elapsed().as_secs_f64());
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

fn peer_of(request: &Request) -> Option<std::net::IpAddr> {
    request
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
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
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
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
    match state.storage.ping().await {
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

/// A running server.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    state: Arc<AppState>,
}

impl Running {
    /// The address it listens on (useful after binding port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections and waits for requests in flight.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.finish().await
    }

    /// Waits until the server stops by itself (it does not, unless it fails).
    pub async fn wait(self) -> std::io::Result<()> {
        self.finish().await
    }

    async fn finish(self) -> std::io::Result<()> {
        let result = self
            .task
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        if let Err(e) = self.state.identity.flush_last_used().await {
            tracing::warn!(error = %e, "API tokens' last use could not be saved");
        }
        self.state.storage.close().await;
        result
    }
}

/// The async runtime `errata serve` runs on: `config.workers` worker
/// threads, or one per core.
pub fn runtime(config: &Config) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(workers) = config.workers {
        builder.worker_threads(workers.max(1));
    }
    builder.build()
}

/// Binds `config.addr` and starts serving; the returned handle stops it.
pub async fn start(config: Config) -> Result<Running, StartError> {
    let state = AppState::new(config).await.map_err(StartError::Storage)?;
    let listener = tokio::net::TcpListener::bind(state.config.addr)
        .await
        .map_err(|e| StartError::Bind(state.config.addr, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Bind(state.config.addr, e))?;
    let (stop, stopped) = oneshot::channel::<()>();
    let app = router(Arc::clone(&state)).into_make_service_with_connect_info::<SocketAddr>();
    if let Some(handle) = state.metrics.clone() {
        // The exporter keeps every histogram sample until upkeep folds them
        // into buckets; without it, memory grows with each request.
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                handle.run_upkeep();
            }
        });
    }
    let limiters: Vec<ClientLimiter> = state
        .limiter
        .iter()
        .chain(state.operation_limiters.iter().map(|(_, l)| l))
        .cloned()
        .collect();
    if !limiters.is_empty() {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                for limiter in &limiters {
                    limiter.shrink();
                }
            }
        });
    }
    let identity = state.identity.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(10));
        loop {
            tick.tick().await;
            if let Err(e) = identity.flush_last_used().await {
                tracing::warn!(error = %e, "API tokens' last use could not be saved");
            }
        }
    });
    let identity = state.identity.clone();
    let refresh = Duration::from_secs(state.config.auth.directory_refresh_secs.max(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(refresh);
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(e) = identity.reload().await {
                tracing::warn!(error = %e, "the identity directory could not be reloaded");
            }
            if let Err(e) = identity.purge().await {
                tracing::warn!(error = %e, "expired identity records could not be purged");
            }
        }
    });
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    Ok(Running {
        addr,
        stop: Some(stop),
        task,
        state,
    })
}

/// Why the server could not start.
#[derive(Debug)]
pub enum StartError {
    /// The data directory or database could not be opened.
    Storage(Error),
    /// The address could not be bound.
    Bind(SocketAddr, std::io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Storage(e) => match e.cause() {
                Some(cause) => write!(f, "{e} ({cause})"),
                None => write!(f, "{e}"),
            },
            StartError::Bind(addr, e) => write!(f, "cannot listen on {addr}: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_has_the_configured_workers() {
        let config = Config {
            workers: Some(1),
            ..Config::default()
        };
        assert_eq!(runtime(&config).unwrap().metrics().num_workers(), 1);
        let config = Config {
            workers: Some(3),
            ..Config::default()
        };
        assert_eq!(runtime(&config).unwrap().metrics().num_workers(), 3);
    }
}
