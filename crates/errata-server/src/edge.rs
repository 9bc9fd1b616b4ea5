//! What every request goes through at the edge, in one middleware: a
//! request id, the locale, the client's address (`forwarded`), then, by
//! path, bearer authentication and
//! admission (the rate limit, before the body is read, the concurrency
//! limit and the timeout), and a count of the response by status.
//!
//! One tower layer rather than an axum middleware per step: each costs a
//! boxed future, a boxed service and a clone of the router's service per
//! request, and the refusals here must cost less than the requests they
//! refuse.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;

use errata_catalog::{Class, Error};
use errata_errors::{http, security};
use errata_graphql::weighed::WeighedLru;

use crate::forwarded;
use crate::metrics::{count_error, count_response};
use crate::ratelimit::Client;
use crate::reply::{JSON_UTF8, error_response, rate_limited};
use crate::request::{ClientAddr, RequestMeta};
use crate::state::AppState;
use crate::telemetry::RequestScope;

/// The request id header.
pub const REQUEST_ID: &str = "x-request-id";
static X_REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID);

/// What the edge does for a path, beyond the request id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// Probes, and the token endpoint, which authenticates clients its own way.
    Open,
    /// The references and metrics: bearer tokens are checked.
    Authenticated,
    /// The GraphQL endpoint: bearer tokens, then admission.
    Admitted,
}

fn gate(path: &str) -> Gate {
    match path {
        "/graphql" => Gate::Admitted,
        "/errors" | "/errors.json" | "/metrics" => Gate::Authenticated,
        _ => Gate::Open,
    }
}

/// The edge, as a layer over every route.
#[derive(Debug, Clone)]
pub struct EdgeLayer {
    state: Arc<AppState>,
}

impl EdgeLayer {
    /// The edge of the server whose state is `state`.
    pub fn new(state: Arc<AppState>) -> EdgeLayer {
        EdgeLayer { state }
    }
}

impl<S> tower::Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Edge<S> {
        Edge {
            state: Arc::clone(&self.state),
            inner,
        }
    }
}

/// A route behind the edge.
#[derive(Debug, Clone)]
pub struct Edge<S> {
    state: Arc<AppState>,
    inner: S,
}

impl<S> tower::Service<Request> for Edge<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The service made ready goes with the request; a clone stays.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let state = Arc::clone(&self.state);
        Box::pin(async move { Ok(edge(&state, request, inner).await) })
    }
}

/// Calls the route.
async fn forward<S>(mut inner: S, request: Request) -> Response
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    match inner.call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// Assigns the request id and locale, authenticates and admits the request
/// as its path needs, and echoes the id.
async fn edge<S>(state: &AppState, mut request: Request, inner: S) -> Response
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    let started = Instant::now();
    // axum's connect info, which `errata serve` always sets.
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    // Resolved once, here: everything after uses this, never the peer.
    let client = forwarded::from_headers(
        peer,
        &state.config.trusted_proxies,
        state.config.trusted_proxy_header,
        request.headers(),
    );
    request.extensions_mut().insert(ClientAddr(client));
    let id: Arc<str> = match request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
    {
        Some(given) if is_sane_id(given) => Arc::from(given),
        _ => Arc::from(new_request_id_text(&mut [0; 25])),
    };
    let locale = request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| choose_locale(v, &state.locales));
    // The access line's fields are only gathered when it will be written.
    let access = tracing::enabled!(tracing::Level::DEBUG)
        .then(|| (request.method().clone(), request.uri().path().to_owned()));
    let gate = gate(request.uri().path());
    let mut response = match gate {
        Gate::Open => {
            request.extensions_mut().insert(RequestMeta {
                id: Arc::clone(&id),
                locale,
            });
            RequestScope::new(Arc::clone(&id), forward(inner, request)).await
        }
        Gate::Authenticated | Gate::Admitted => {
            guarded(state, client, gate, request, inner, &id, locale).await
        }
    };
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    let status = response.status();
    // The access line is debug: at info, every request would cost a write.
    // Errors and warnings inside the request are logged at their own level,
    // with the request id.
    if let Some((method, path)) = access {
        tracing::debug!(request_id = &*id, %client, %method, path, status = status.as_u16(), elapsed_ms = started.elapsed().as_secs_f64() * 1e3, "handled");
    }
    count_response(status);
    response
}

/// Bearer authentication (RFC 6750), then, for the GraphQL endpoint,
/// admission. The caller of every request comes from its `Authorization`
/// header, or is the guest without one. A header or token that is not valid
/// is refused before the body is read: 400 for one that is not a bearer JWT
/// at all (as GraphCMS), 401 for one that is not valid now; both with a
/// `WWW-Authenticate` challenge. Refusals count against the client's
/// address, so trying tokens is rate limited too.
///
/// Admission is the rate limit, the concurrency limit and the timeout, in
/// that order, so that a refused request costs as little as possible.
/// Authenticated callers are counted by who they are, guests by their
/// address.
async fn guarded<S>(
    state: &AppState,
    client: IpAddr,
    gate: Gate,
    mut request: Request,
    inner: S,
    id: &Arc<str>,
    locale: Option<&'static str>,
) -> Response
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    let authenticated = match (
        request.headers().get(header::AUTHORIZATION),
        state.identity(),
    ) {
        (None, Ok(identity)) => identity.authenticate(None),
        (None, Err(_)) => Ok(state.guest()),
        (Some(value), identity) => match value.to_str() {
            Ok(text) => match identity {
                Ok(identity) => identity.authenticate_fresh(Some(text)).await,
                Err(unavailable) => Err(unavailable),
            },
            Err(_) => Err(security::authorization_header_invalid()),
        },
    };
    let principal = match authenticated {
        Ok(principal) => principal,
        Err(error) => {
            let limited = match &state.limiter {
                Some(limiter) => (limiter.check(&Client::address(client)).await.err())
                    .map(|refusal| rate_limited(refusal, limiter, locale, id)),
                None => None,
            };
            let response = limited.unwrap_or_else(|| {
                let header = request.headers().get(header::AUTHORIZATION);
                state.refusals.answer(header, &error, locale, id)
            });
            return refuse(request, response).await;
        }
    };
    if gate == Gate::Admitted
        && let Some(limiter) = &state.limiter
    {
        let client = if principal.is_guest() {
            Client::address(client)
        } else {
            Client::Subject(Arc::clone(&principal.subject))
        };
        if let Err(refusal) = limiter.check(&client).await {
            return refuse(request, rate_limited(refusal, limiter, locale, id)).await;
        }
    }
    let extensions = request.extensions_mut();
    extensions.insert(principal);
    extensions.insert(RequestMeta {
        id: Arc::clone(id),
        locale,
    });
    if gate != Gate::Admitted {
        return RequestScope::new(Arc::clone(id), forward(inner, request)).await;
    }
    let Ok(_slot) = Arc::clone(&state.slots).try_acquire_owned() else {
        let error = http::overloaded(1u32).with_detail("retryAfter", 1);
        let mut response = error_response(&error, locale, id);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(1));
        return response;
    };
    let timeout = state.config.request_timeout();
    let run = RequestScope::new(Arc::clone(id), forward(inner, request));
    match tokio::time::timeout(timeout, run).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                request_id = &**id,
                timeout_ms = timeout.as_millis() as u64,
                "request timed out"
            );
            let error = http::timeout(timeout.as_millis() as u64)
                .with_detail("limit", timeout.as_millis() as u64);
            error_response(&error, locale, id)
        }
    }
}

/// Refused bearer tokens' answers, rendered once: a client that keeps
/// sending a bad token (an expired one, most often) is refused at the cost
/// of a copy. Keyed by the SHA-256 of the header and the locale, so that a
/// header of many kilobytes costs 32 bytes of key; a kept answer is used
/// only when the identity check refuses the token with the same error
/// again, so a token refused for now (not yet valid) is not refused for ever.
#[derive(Debug)]
pub struct Refusals {
    kept: std::sync::Mutex<WeighedLru<[u8; 32], KeptRefusal>>,
}

#[derive(Debug)]
struct KeptRefusal {
    code: u32,
    status: StatusCode,
    body: errata_graphql::response::Template,
    challenge: HeaderValue,
}

/// The key of a refusal: the `Authorization` value and the locale.
fn refusal_key(header: &[u8], locale: Option<&str>) -> [u8; 32] {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    // The header's length first, so that no header and locale run together
    // into another pair's bytes.
    hasher.update((header.len() as u64).to_le_bytes());
    hasher.update(header);
    hasher.update(locale.unwrap_or("").as_bytes());
    hasher.finalize().into()
}

impl Refusals {
    /// Room for `capacity` answers weighing at most `bytes`.
    pub fn new(capacity: std::num::NonZeroUsize, bytes: usize) -> Refusals {
        Refusals {
            kept: std::sync::Mutex::new(WeighedLru::new(capacity, bytes)),
        }
    }

    /// The 400 or 401 answer to `error`, for the `Authorization` value `header`.
    fn answer(
        &self,
        header: Option<&HeaderValue>,
        error: &Error,
        locale: Option<&'static str>,
        request_id: &str,
    ) -> Response {
        let def = error.def();
        let key = refusal_key(header.map_or(&b""[..], |h| h.as_bytes()), locale);
        let known = self.kept.lock().ok().and_then(|mut kept| {
            kept.get(&key)
                .filter(|k| k.code == def.code)
                .map(|k| (k.status, k.body.fill(request_id, 0), k.challenge.clone()))
        });
        let (status, body, challenge) = match known {
            Some(known) => known,
            None => {
                let status = StatusCode::from_u16(def.class.status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let challenge = HeaderValue::from_str(&bearer_challenge(error))
                    .unwrap_or_else(|_| HeaderValue::from_static("Bearer realm=\"errata\""));
                let marked = errata_graphql::response::error_body(
                    error,
                    locale,
                    errata_graphql::response::REQUEST_ID_MARK,
                );
                let body = match errata_graphql::response::Template::cut(&marked, 2, 0) {
                    Some(template) => {
                        let body = template.fill(request_id, 0);
                        if let Ok(mut kept) = self.kept.lock() {
                            let weight = template.weight() + challenge.len();
                            let refusal = KeptRefusal {
                                code: def.code,
                                status,
                                body: template,
                                challenge: challenge.clone(),
                            };
                            kept.put(key, refusal, weight);
                        }
                        body
                    }
                    None => errata_graphql::response::error_body(error, locale, request_id),
                };
                (status, body, challenge)
            }
        };
        count_error(def.code, def.class);
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, JSON_UTF8.clone());
        headers.insert(header::WWW_AUTHENTICATE, challenge);
        response
    }
}

/// Largest body read before a refusal, so the connection can serve the
/// client's next request.
const DRAINED_BODY: usize = 16 * 1024;

/// Answers a request refused before its body was read. A small body that
/// is declared is read first: an unread body makes the connection unusable,
/// and a client that is refused would pay a new connection for its next
/// request. A large or undeclared one is left, and the connection with it.
async fn refuse(request: Request, response: Response) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n <= DRAINED_BODY) {
        // Read and dropped frame by frame: nothing is kept, so nothing is copied.
        let mut body = request.into_body();
        let mut read = 0;
        while read <= DRAINED_BODY {
            match http_body_util::BodyExt::frame(&mut body).await {
                Some(Ok(frame)) => read += frame.data_ref().map_or(0, |d| d.len()),
                Some(Err(_)) | None => break,
            }
        }
    }
    response
}

/// The `WWW-Authenticate` value for a refused bearer token or a field that
/// needs one (RFC 6750 §3).
pub fn bearer_challenge(error: &Error) -> String {
    let code = match error.class() {
        Class::Unauthenticated if error.is(errata_errors::security::AUTHENTICATION_REQUIRED) => {
            None
        }
        Class::Unauthenticated => Some("invalid_token"),
        Class::Forbidden => Some("insufficient_scope"),
        _ => Some("invalid_request"),
    };
    match code {
        None => "Bearer realm=\"errata\"".to_owned(),
        Some(code) => {
            // error_description allows printable ASCII but `"` and `\`.
            let description: String = error
                .message()
                .chars()
                .map(|c| {
                    if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                        c
                    } else {
                        '\''
                    }
                })
                .collect();
            format!(
                "Bearer realm=\"errata\", error=\"{code}\", error_description=\"{description}\""
            )
        }
    }
}

/// A client-chosen request id is kept when it is short and plain.
pub fn is_sane_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'~'))
}

/// A new request id, written into `buf`: 25 characters of base32, like
/// GraphCMS's ids. Ids must be unique, not secret: each thread draws them
/// from a generator seeded once from the OS, so making one costs no system
/// call.
fn new_request_id_text(buf: &mut [u8; 25]) -> &str {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
    thread_local! {
        static STATE: std::cell::Cell<u128> = std::cell::Cell::new(seed());
    }
    fn seed() -> u128 {
        let mut bytes = [0u8; 16];
        if getrandom::fill(&mut bytes).is_err() {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            bytes = now.to_le_bytes();
        }
        u128::from_le_bytes(bytes) | 1
    }
    // xorshift128+ style step over the 128-bit state, then a multiplicative mix.
    let mut n = STATE.with(|state| {
        let mut x = state.get();
        x ^= x << 23;
        x ^= x >> 17;
        x ^= x << 41;
        state.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D_9E37_79B9_7F4A_7C15)
    });
    for byte in buf.iter_mut() {
        *byte = ALPHABET[(n & 31) as usize];
        n >>= 5;
    }
    // The alphabet is ASCII.
    std::str::from_utf8(buf).unwrap_or_default()
}

/// The best catalog locale for an `Accept-Language` header, or `None` for
/// the catalog's source language (English).
pub fn choose_locale(header: &str, locales: &[&'static str]) -> Option<&'static str> {
    let mut ranges: Vec<(u16, &str)> = header
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.split(';');
            let tag = pieces.next()?.trim();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .map_or(1000, |q| (q.clamp(0.0, 1.0) * 1000.0) as u16);
            (!tag.is_empty() && q > 0).then_some((q, tag))
        })
        .collect();
    ranges.sort_by_key(|r| std::cmp::Reverse(r.0));
    for (_, tag) in ranges {
        let language = tag.split('-').next().unwrap_or(tag);
        if language.eq_ignore_ascii_case("en") || tag == "*" {
            return None;
        }
        if let Some(found) = locales
            .iter()
            .find(|l| l.eq_ignore_ascii_case(tag) || l.eq_ignore_ascii_case(language))
        {
            return Some(found);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_kept_only_when_sane() {
        assert!(is_sane_id("abc-123_X.y:z"));
        assert!(!is_sane_id(""));
        assert!(!is_sane_id("a b"));
        assert!(!is_sane_id("<script>"));
        assert!(!is_sane_id(&"a".repeat(129)));
        let id = new_request_id_text(&mut [0; 25]).to_owned();
        assert_eq!(id.len(), 25);
        assert!(is_sane_id(&id));
        assert_ne!(new_request_id_text(&mut [0; 25]), id);
    }

    #[test]
    fn refused_headers_cost_a_digest_not_their_bytes() {
        let refusals = Refusals::new(std::num::NonZeroUsize::new(1024).unwrap(), 1 << 20);
        let error = security::authorization_header_invalid();
        let body = |response: Response| {
            let bytes = futures_util::FutureExt::now_or_never(axum::body::to_bytes(
                response.into_body(),
                usize::MAX,
            ));
            String::from_utf8(bytes.unwrap().unwrap().to_vec()).unwrap()
        };
        for i in 0..100 {
            let header =
                HeaderValue::from_str(&format!("Basic {i}{}", "x".repeat(60_000))).unwrap();
            let first = body(refusals.answer(Some(&header), &error, None, "r-1"));
            let again = body(refusals.answer(Some(&header), &error, None, "r-2"));
            assert_eq!(first.replace("r-1", "r-2"), again);
        }
        let kept = refusals.kept.lock().unwrap();
        assert!(
            kept.bytes() < 100 * 4096,
            "a hundred 60 KB headers kept in {} bytes",
            kept.bytes()
        );
        drop(kept);
        let header = HeaderValue::from_static("Basic abc");
        let english = body(refusals.answer(Some(&header), &error, None, "r"));
        let french = body(refusals.answer(Some(&header), &error, Some("fr"), "r"));
        assert_ne!(english, french, "the locale is part of the key");
    }

    #[test]
    fn locales_follow_accept_language() {
        let locales = ["fr"];
        assert_eq!(
            choose_locale("fr-CA,fr;q=0.9,en;q=0.8", &locales),
            Some("fr")
        );
        assert_eq!(choose_locale("en-US,fr;q=0.5", &locales), None);
        assert_eq!(choose_locale("de,fr;q=0.5", &locales), Some("fr"));
        assert_eq!(choose_locale("de", &locales), None);
        assert_eq!(choose_locale("fr;q=0", &locales), None);
    }
}
