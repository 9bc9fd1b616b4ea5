//! One GraphQL request, from decoded parameters to response bytes:
//! limits, parsing (cached), operation resolution, the GET/mutation rule,
//! execution by async-graphql, and every error rendered from the catalog.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{ObjectType, Pos, Schema, ServerError, SubscriptionType, Variables};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serde_json::Value;

use errata_catalog::{Class, Error};
use errata_errors::{graphql as gql, http, system};

use crate::cache::{Kept, Key, Policy, ResponseCache, Scope};

/// How long a refused POST body's answer is kept: a document the schema
/// refuses stays refused until the server is replaced.
const REFUSAL_MAX_AGE: u32 = 3600;
use crate::limits::{Lexed, Limits};
use crate::model::SchemaModel;
use crate::response::{Body, BodyExtensions, Location, REQUEST_ID_MARK, Template, WireError};
use crate::rules;
use crate::syntax::{self, ast};
use crate::transport::{GraphqlRequest, Media};
use crate::validation::{self, validate};
use crate::weighed::WeighedLru;

/// The HTTP method a request came with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET: queries only.
    Get,
    /// POST.
    Post,
}

/// What the pipeline needs to know about the HTTP request.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    /// The request id, echoed in every error and in the response.
    pub request_id: &'a str,
    /// The locale messages are rendered in.
    pub locale: Option<&'a str>,
    /// GET or POST.
    pub method: Method,
    /// The negotiated response media type.
    pub media: Media,
    /// The caller's permission set, as a key equal for two callers exactly
    /// when every permission check answers them alike: answers that depend
    /// on permissions are kept under it. `None` keeps none of them.
    pub permission_key: Option<u64>,
}

/// The HTTP response for one GraphQL request.
#[derive(Debug)]
pub struct Outcome {
    /// The status code.
    pub status: u16,
    /// The JSON body.
    pub body: Vec<u8>,
    /// Set when the response needs an `Allow` header.
    pub allow: Option<&'static str>,
    /// `(code, class)` of every error in the body, for metrics.
    pub errors: Vec<(u32, Class)>,
    /// The kind of operation that ran, once it is known.
    pub operation: Option<OperationType>,
    /// The `Cache-Control` value, for an answer the schema lets caches keep.
    pub cache_control: Option<String>,
    /// For an answer the response cache may keep: whether it came from it.
    pub cached: Option<bool>,
}

impl From<crate::cache::Hit> for Outcome {
    fn from(hit: crate::cache::Hit) -> Outcome {
        Outcome {
            status: hit.status,
            body: hit.body,
            allow: None,
            errors: hit.errors.to_vec(),
            operation: hit.operation,
            cache_control: hit.cache_control,
            // Replayed refusals are not the answer cache's hits.
            cached: hit.operation.map(|_| true),
        }
    }
}

/// A parsed and validated document and its operations, cached by query text.
struct Prepared {
    doc: ExecutableDocument,
    ast: ast::Document,
    /// Each operation's name, kind and cache policy.
    operations: Vec<(Option<String>, OperationType, Policy)>,
    /// The heap bytes the two trees hold, estimated from the tokens.
    weight: usize,
}

/// What a parsed document holds besides its tokens.
const PARSED_BYTES: usize = 1024;
/// What a parsed document holds per token, in errata's tree and
/// async-graphql's together: measured between 150 and 550 bytes, the most
/// for the smallest documents, which the fixed part covers.
const PARSED_BYTES_PER_TOKEN: usize = 384;

/// The heap bytes a document's two trees hold: a node per token, and a copy
/// of each name and string in each tree. Its comments are not kept.
fn parsed_weight(lexed: Lexed) -> usize {
    PARSED_BYTES
        .saturating_add(lexed.tokens.saturating_mul(PARSED_BYTES_PER_TOKEN))
        .saturating_add(lexed.bytes.saturating_mul(2))
}

/// What a document's text turns into; request errors are cached too, so a
/// client repeating an invalid document costs no more than a valid one.
type Preparation = Result<Arc<Prepared>, Arc<Refused>>;

/// A document's request errors, and their body in each locale asked for so
/// far: a client repeating an invalid document gets a copy.
struct Refused {
    errors: Box<[CachedError]>,
    bodies: Mutex<Vec<(Option<Box<str>>, Template)>>,
}

impl From<Box<[CachedError]>> for Refused {
    fn from(errors: Box<[CachedError]>) -> Refused {
        Refused {
            errors,
            bodies: Mutex::new(Vec::new()),
        }
    }
}

impl Refused {
    /// The heap bytes it holds once its body is rendered in every locale:
    /// it is weighed when it is cached, before any body is.
    fn weight(&self) -> usize {
        let bodies = 1 + errata_errors::CATALOG.locales.len();
        self.errors
            .iter()
            .map(|e| {
                let message = e.error.message().len();
                // The error and its locations; then, in each body, the
                // message (longer in some locales, and escaped) and the
                // extensions around it.
                256 + message + bodies * (2 * message + 256)
            })
            .sum()
    }
}

/// A request error as the cache keeps it.
struct CachedError {
    error: Error,
    locations: Vec<Location>,
}

/// How the pipeline treats documents.
#[derive(Debug, Clone, Copy)]
pub struct PipelineOptions {
    /// Document limits.
    pub limits: Limits,
    /// Parsed documents kept in the cache.
    pub cache_size: usize,
    /// Bytes the kept documents may take; as many again for the texts of
    /// persisted queries.
    pub document_cache_bytes: usize,
    /// Whole answers kept, for operations the schema's `@cacheControl`
    /// hints make cacheable and not private; 0 turns the response cache off.
    pub response_cache: usize,
    /// Bytes the kept answers may take.
    pub response_cache_bytes: usize,
    /// Allow introspection.
    pub introspection: bool,
    /// Add "Did you mean ...?" to validation messages.
    pub suggestions: bool,
    /// Directives (named without `@`) that mark a field whose answer
    /// depends on what the caller may do, such as a permission check: an
    /// answer selecting one is kept per permission set
    /// ([`RequestInfo::permission_key`]) and sent as `private`.
    /// The schema's owner names them; this crate knows no directive of its own.
    pub permission_directives: &'static [&'static str],
    /// Directives that mark a field whose answer is about the caller (who
    /// they are, not only what they may do): an answer selecting one is
    /// private and never kept, whatever its `@cacheControl` hints say.
    pub personal_directives: &'static [&'static str],
}

impl Default for PipelineOptions {
    fn default() -> PipelineOptions {
        PipelineOptions {
            limits: Limits::default(),
            cache_size: 1024,
            document_cache_bytes: 16 << 20,
            response_cache: 1024,
            response_cache_bytes: 16 << 20,
            introspection: true,
            suggestions: true,
            permission_directives: &[],
            personal_directives: &[],
        }
    }
}

/// Persisted queries registered on other instances: a store the server
/// keeps (in Redis), known here only by this trait. A store that fails
/// finds nothing and keeps nothing; the pipeline then knows only its own
/// documents, and a client sending a hash it does not know is told
/// `PersistedQueryNotFound`, upon which Apollo clients send the document.
/// What a store finds is run only if its SHA-256 is the hash it was asked
/// for, so a store cannot put another document under a hash.
pub trait SharedDocuments: Send + Sync {
    /// The document registered under `hash`, a lowercase hex SHA-256.
    fn get<'a>(&'a self, hash: &'a str) -> BoxFuture<'a, Option<String>>;
    /// Registers `document`, whose SHA-256 is `hash`.
    fn put<'a>(&'a self, hash: &'a str, document: &'a str) -> BoxFuture<'a, ()>;
}

/// Prepared documents by the SHA-256 of their text, which is not kept: a
/// document of a megabyte of comments costs 32 bytes of key.
type DocumentCache = WeighedLru<[u8; 32], Preparation>;

/// The error pipeline around an async-graphql schema.
pub struct Pipeline<Q, M, S> {
    schema: Schema<Q, M, S>,
    model: SchemaModel,
    options: PipelineOptions,
    /// Automatic persisted queries: document text by its SHA-256, hex.
    persisted: Mutex<WeighedLru<String, Arc<str>>>,
    /// Persisted queries other instances registered.
    shared: Option<Arc<dyn SharedDocuments>>,
    documents: Mutex<DocumentCache>,
    responses: Option<ResponseCache>,
}

impl<Q, M, S> std::fmt::Debug for Pipeline<Q, M, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// A request error: it happens before execution, so the response has no `data`.
struct RequestError {
    error: Error,
    locations: Vec<Location>,
}

impl From<Error> for RequestError {
    fn from(error: Error) -> RequestError {
        RequestError {
            error,
            locations: Vec::new(),
        }
    }
}

/// One uncached-stage failure as the cache's error list.
fn single(error: Error) -> Box<[CachedError]> {
    Box::new([CachedError {
        error,
        locations: Vec::new(),
    }])
}

fn location(pos: Pos) -> Location {
    Location {
        line: pos.line,
        column: pos.column,
    }
}

fn syntax_location(pos: syntax::Pos) -> Location {
    Location {
        line: pos.line as usize,
        column: pos.column as usize,
    }
}

impl<Q, M, S> Pipeline<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    /// Forgets every kept answer: the data some were computed from changed
    /// (here or on another instance). Answers being computed meanwhile are
    /// not kept either.
    pub fn forget_responses(&self) {
        if let Some(responses) = &self.responses {
            responses.clear();
        }
    }

    /// Wraps `schema`. Its SDL is read once into the model validation uses.
    pub fn new(schema: Schema<Q, M, S>, options: PipelineOptions) -> Self {
        let capacity = NonZeroUsize::new(options.cache_size.max(1)).expect("at least one");
        let model = SchemaModel::from_sdl_with(
            &schema.sdl(),
            options.permission_directives,
            options.personal_directives,
        )
        .expect("async-graphql prints valid SDL");
        Pipeline {
            schema,
            model,
            options,
            persisted: Mutex::new(WeighedLru::new(capacity, options.document_cache_bytes)),
            shared: None,
            documents: Mutex::new(WeighedLru::new(capacity, options.document_cache_bytes)),
            responses: ResponseCache::new(options.response_cache, options.response_cache_bytes),
        }
    }

    /// Looks up persisted queries this pipeline does not know in `store`,
    /// and registers there the ones it is sent; without a store, each
    /// pipeline knows its own.
    pub fn sharing_documents(mut self, store: Option<Arc<dyn SharedDocuments>>) -> Self {
        self.shared = store;
        self
    }

    /// Runs one request. `prepare` adds per-request data (the caller's
    /// identity, ...) to the async-graphql request.
    pub async fn execute(
        &self,
        request: GraphqlRequest,
        info: RequestInfo<'_>,
        prepare: impl FnOnce(async_graphql::Request) -> async_graphql::Request,
    ) -> Outcome {
        self.execute_post(request, None, info, prepare).await
    }

    /// The key the response cache keeps a POST body's answer under, for
    /// [`Pipeline::replay`] and [`Pipeline::execute_post`]; `None` when the
    /// cache is off. Made once per request: it hashes the whole body.
    pub fn body_key(&self, body: &[u8], info: RequestInfo<'_>) -> Option<Key> {
        self.responses.as_ref()?;
        Some(crate::cache::post_key(body, info.locale, info.media))
    }

    /// The answer the response cache keeps for a POST body, by its
    /// [`Pipeline::body_key`], if any: found before the body is decoded or
    /// the document parsed. Only answers that [`Pipeline::execute_post`]
    /// kept under their body are found here: a public one under the body
    /// alone, a per-permission one under the body and the caller's
    /// permission key. A body names one document, whose policy is one of
    /// the two, so at most one of the keys holds an answer.
    pub fn replay(&self, body: &Key, info: RequestInfo<'_>) -> Option<Outcome> {
        let responses = self.responses.as_ref()?;
        responses
            .get(body, info.request_id)
            .or_else(|| {
                let permissions = crate::cache::for_permissions(body, info.permission_key?);
                responses.get(&permissions, info.request_id)
            })
            .map(Outcome::from)
    }

    /// As [`Pipeline::execute`], for a request decoded from the POST body
    /// whose [`Pipeline::body_key`] is `body`: a kept answer is kept under
    /// it, for [`Pipeline::replay`].
    pub async fn execute_post(
        &self,
        request: GraphqlRequest,
        body: Option<&Key>,
        info: RequestInfo<'_>,
        prepare: impl FnOnce(async_graphql::Request) -> async_graphql::Request,
    ) -> Outcome {
        let request = match self.persisted_query(request).await {
            Ok(request) => request,
            Err(e) => return self.request_failure(e.into(), info, None),
        };
        let prepared = match self.prepare(&request.query) {
            Ok(prepared) => prepared,
            Err(refused) => return self.refused(&refused, body, info),
        };
        let (operation, policy) =
            match resolve_operation(&prepared, request.operation_name.as_deref()) {
                Ok(op) => op,
                Err(e) => return self.request_failure(e, info, None),
            };
        if info.method == Method::Get && operation != OperationType::Query {
            let name = match operation {
                OperationType::Mutation => "mutation",
                _ => "subscription",
            };
            let mut outcome =
                self.request_failure(http::mutation_over_get(name).into(), info, Some(operation));
            outcome.allow = Some("POST");
            return outcome;
        }
        // graphql-js refuses these at execution; errata does before it.
        let kind = match operation {
            OperationType::Query => ast::OperationKind::Query,
            OperationType::Mutation => ast::OperationKind::Mutation,
            OperationType::Subscription => ast::OperationKind::Subscription,
        };
        if self.model.root(kind).is_none() {
            let error = gql::operation_not_supported(kind.keyword());
            return self.request_failure(error.into(), info, Some(operation));
        }
        if operation == OperationType::Subscription {
            return self.request_failure(
                gql::subscription_unsupported().into(),
                info,
                Some(operation),
            );
        }

        // An answer the schema lets caches keep may already be here: a
        // public one under the request, one that depends on permissions
        // under the request and the caller's permission key (without a key,
        // it is neither looked for nor kept). Only executed answers are
        // kept, so a request whose variables do not coerce misses, and
        // fails below as it would have.
        let shared_by = match policy.scope {
            Scope::Public => Some(None),
            Scope::Permissions => info.permission_key.map(Some),
            Scope::Private => None,
        };
        let cache_key = match (&self.responses, shared_by) {
            (Some(responses), Some(permissions)) if policy.max_age > 0 => {
                let key = match body {
                    Some(body) => *body,
                    None => {
                        let variables = serde_json::to_vec(&request.variables).unwrap_or_default();
                        crate::cache::key(
                            &request.query,
                            request.operation_name.as_deref(),
                            &variables,
                            info.locale,
                        )
                    }
                };
                let key = match permissions {
                    Some(permissions) => crate::cache::for_permissions(&key, permissions),
                    None => key,
                };
                if let Some(hit) = responses.get(&key, info.request_id) {
                    return Outcome::from(hit);
                }
                Some((key, responses.generation()))
            }
            _ => None,
        };

        // Variable coercion, before execution: a failure is a request error.
        let ast_operation = find_operation(&prepared.ast, request.operation_name.as_deref());
        if let Some(op_ast) = ast_operation {
            let problems = crate::coerce::coerce_variables(
                &self.model,
                op_ast,
                &request.variables,
                self.options.suggestions,
            );
            if !problems.is_empty() {
                let errors = problems
                    .into_iter()
                    .map(|p| RequestError {
                        error: gql::variable_invalid(p.message),
                        locations: vec![syntax_location(p.pos)],
                    })
                    .collect();
                return self.request_failures(errors, info, Some(operation));
            }
        }
        let operation_name = request.operation_name.clone();
        let mut gql_request = async_graphql::Request::new(request.query)
            .variables(Variables::from_json(Value::Object(request.variables)));
        if let Some(name) = request.operation_name {
            gql_request = gql_request.operation_name(name);
        }
        gql_request.set_parsed_query(prepared.doc.clone());
        let gql_request = prepare(gql_request);

        let run = AssertUnwindSafe(self.schema.execute(gql_request))
            .catch_unwind()
            .await;
        let response = match run {
            Ok(response) => response,
            Err(panic) => {
                let cause = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic without a message".to_owned());
                tracing::error!(request_id = info.request_id, cause, "resolver panicked");
                let error = system::internal();
                return self.finish(
                    None,
                    vec![self.wire(&error, info, Vec::new(), None)],
                    500,
                    info,
                    Some(operation),
                );
            }
        };
        self.execution_result(
            response,
            info,
            operation,
            &prepared,
            operation_name.as_deref(),
            Keep {
                key: cache_key,
                policy,
            },
        )
    }

    /// The fields an operation selects at its first two levels, as dotted
    /// paths (`catalog`, `catalog.error`), each with the number of times it
    /// is selected: every alias, every spread of a fragment holding it and
    /// every occurrence of its parent counts, so `a: catalog { ...F }
    /// b: catalog { ...F }` selects `catalog.error` twice for each `error`
    /// in `F`. Per-operation rate limits charge these counts. Empty when the
    /// document is invalid; execution then reports why.
    pub async fn operation_fields(&self, request: &GraphqlRequest) -> Vec<(String, u64)> {
        let persisted;
        let query = if request.query.trim().is_empty() {
            let hash = request
                .extensions
                .get("persistedQuery")
                .and_then(|p| p.get("sha256Hash"))
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase);
            persisted = match hash {
                Some(hash) => self.persisted_text(&hash).await,
                None => None,
            };
            match &persisted {
                Some(q) => &**q,
                None => return Vec::new(),
            }
        } else {
            request.query.as_str()
        };
        let Ok(prepared) = self.prepare(query) else {
            return Vec::new();
        };
        let Some(operation) = find_operation(&prepared.ast, request.operation_name.as_deref())
        else {
            return Vec::new();
        };
        let fragments = prepared.ast.fragments();
        let mut count = Occurrences {
            fragments: &fragments,
            names: HashMap::new(),
            pairs: HashMap::new(),
        };
        let mut paths: Vec<(String, u64)> = count
            .names(&operation.selection_set)
            .iter()
            .map(|(root, times)| ((*root).to_owned(), *times))
            .chain(
                count
                    .pairs(&operation.selection_set)
                    .iter()
                    .map(|((root, child), times)| (format!("{root}.{child}"), *times)),
            )
            .collect();
        paths.sort();
        paths
    }

    /// Automatic persisted queries (Apollo's protocol, version 1): a hash
    /// alone runs the document registered under it; a document with its
    /// hash registers it, once the hash is checked.
    async fn persisted_query(&self, mut request: GraphqlRequest) -> Result<GraphqlRequest, Error> {
        let Some(persisted) = request.extensions.get("persistedQuery") else {
            return Ok(request);
        };
        let version = persisted.get("version").cloned().unwrap_or(Value::Null);
        let hash = persisted.get("sha256Hash").and_then(Value::as_str);
        let (Some(1), Some(hash)) = (version.as_u64(), hash) else {
            return Err(gql::persisted_query_unsupported(version.to_string()));
        };
        let hash = hash.to_ascii_lowercase();
        if request.query.trim().is_empty() {
            return match self.persisted_text(&hash).await {
                Some(query) => {
                    request.query = query.to_string();
                    Ok(request)
                }
                None => Err(gql::persisted_query_not_found()),
            };
        }
        if sha256_hex(&request.query) != hash {
            return Err(gql::persisted_query_mismatch());
        }
        let known = self
            .persisted
            .lock()
            .is_ok_and(|mut cache| cache.get(&hash).is_some());
        // Only a document that could run is registered: anyone can send
        // one, and what is registered is shared with every instance.
        if !known && self.prepare(&request.query).is_ok() {
            self.keep_persisted(hash.clone(), Arc::from(request.query.as_str()));
            // Registered once per instance, not once per request: a client
            // that sends the document with every request costs no write.
            if let Some(shared) = &self.shared {
                shared.put(&hash, &request.query).await;
            }
        }
        Ok(request)
    }

    /// The document persisted under `hash`: known here, or found in the
    /// shared store and kept here once its hash is checked.
    async fn persisted_text(&self, hash: &str) -> Option<Arc<str>> {
        let known = self
            .persisted
            .lock()
            .ok()
            .and_then(|mut cache| cache.get(hash).cloned());
        if known.is_some() {
            return known;
        }
        // No document has another hash: a client's text of any other shape
        // costs the store nothing.
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let text = self.shared.as_ref()?.get(hash).await?;
        if sha256_hex(&text) != hash {
            tracing::warn!(
                hash,
                "the shared store holds another document under a persisted query's hash"
            );
            return None;
        }
        let text: Arc<str> = Arc::from(text);
        self.keep_persisted(hash.to_owned(), Arc::clone(&text));
        Some(text)
    }

    fn keep_persisted(&self, hash: String, text: Arc<str>) {
        if let Ok(mut cache) = self.persisted.lock() {
            // The hash is kept as text, beside the document's.
            let weight = hash.len() + text.len();
            cache.put(hash, text, weight);
        }
    }

    fn prepare(&self, query: &str) -> Preparation {
        let key = sha256(query.as_bytes());
        if let Ok(mut cache) = self.documents.lock()
            && let Some(prepared) = cache.get(&key)
        {
            return prepared.clone();
        }
        let prepared: Preparation = self
            .prepare_uncached(query)
            .map(Arc::new)
            .map_err(|errors| Arc::new(Refused::from(errors)));
        let weight = match &prepared {
            Ok(prepared) => prepared.weight,
            Err(refused) => refused.weight(),
        };
        if let Ok(mut cache) = self.documents.lock() {
            cache.put(key, prepared.clone(), weight);
        }
        prepared
    }

    /// Tokens, parse, limits, validation: each stage refuses the document
    /// with its catalogued errors before the next one runs.
    fn prepare_uncached(&self, query: &str) -> Result<Prepared, Box<[CachedError]>> {
        let lexed = self.options.limits.check_tokens(query).map_err(single)?;
        let doc = syntax::parse(query).map_err(|e| {
            Box::new([CachedError {
                error: gql::parse_failed(e.message),
                locations: vec![syntax_location(e.pos)],
            }]) as Box<[CachedError]>
        })?;
        self.options.limits.check_document(&doc).map_err(single)?;
        let options = validation::Options {
            suggestions: self.options.suggestions,
            introspection: self.options.introspection,
            ..validation::Options::default()
        };
        let errors = validate(&self.model, &doc, options);
        if !errors.is_empty() {
            return Err(errors
                .into_iter()
                .map(|e| CachedError {
                    error: e.rule.annotate(gql::validation_failed(e.message)),
                    locations: e.locations.into_iter().map(syntax_location).collect(),
                })
                .collect());
        }
        let operations = doc
            .definitions
            .iter()
            .filter_map(|d| match d {
                ast::Definition::Operation(op) => Some((
                    op.name.as_ref().map(|n| n.value.clone()),
                    match op.kind {
                        ast::OperationKind::Query => OperationType::Query,
                        ast::OperationKind::Mutation => OperationType::Mutation,
                        ast::OperationKind::Subscription => OperationType::Subscription,
                    },
                    match op.kind {
                        // Only reads may be answered from a cache.
                        ast::OperationKind::Query => crate::cache::policy(&self.model, &doc, op),
                        _ => Policy::NONE,
                    },
                )),
                _ => None,
            })
            .collect();
        // async-graphql executes from its own tree. Its parser accepting less
        // than graphql-js's would be a bug of ours to hear about, not the client's.
        let executable = async_graphql::parser::parse_query(query).map_err(|e| {
            tracing::error!(error = %e, "async-graphql rejected a document errata's parser accepted");
            let failure = parse_failure(e);
            Box::new([CachedError {
                error: failure.error,
                locations: failure.locations,
            }]) as Box<[CachedError]>
        })?;
        Ok(Prepared {
            doc: executable,
            ast: doc,
            operations,
            weight: parsed_weight(lexed),
        })
    }

    fn execution_result(
        &self,
        mut response: async_graphql::Response,
        info: RequestInfo<'_>,
        op: OperationType,
        prepared: &Prepared,
        operation_name: Option<&str>,
        keep: Keep,
    ) -> Outcome {
        let executed = !response.errors.iter().all(is_request_error)
            || !matches!(response.data, async_graphql::Value::Null);
        if !executed && !response.errors.is_empty() {
            // async-graphql refused a document errata's validation accepted.
            // That is a divergence to fix here; the client still gets a
            // catalogued request error, in async-graphql's words.
            tracing::error!(
                request_id = info.request_id,
                errors = ?response.errors.iter().map(|e| &e.message).collect::<Vec<_>>(),
                "async-graphql refused a validated document"
            );
            let errors = response
                .errors
                .iter()
                .map(|e| {
                    let error = if e.message.starts_with("Variable \"$")
                        || e.message.contains("Invalid value for argument")
                    {
                        gql::variable_invalid(e.message.clone())
                    } else {
                        gql::validation_failed(e.message.clone())
                    };
                    self.wire(
                        &error,
                        info,
                        e.locations.iter().copied().map(location).collect(),
                        None,
                    )
                })
                .collect();
            let status = match info.media {
                Media::Json => 200,
                Media::GraphqlResponseJson => 400,
            };
            return self.finish(None, errors, status, info, Some(op));
        }
        let paths: Vec<&[async_graphql::PathSegment]> =
            response.errors.iter().map(|e| e.path.as_slice()).collect();
        let operation = find_operation(&prepared.ast, operation_name);
        if let Some(operation) = operation
            && !paths.is_empty()
            && !crate::bubble::propagate(
                &self.model,
                &prepared.ast,
                operation,
                &mut response.data,
                &paths,
            )
        {
            response.data = async_graphql::Value::Null;
        }
        let errors: Vec<WireError> = response
            .errors
            .iter()
            .map(|e| self.field_error(e, info))
            .collect();
        if keep.policy.max_age > 0 {
            return self.finish_kept(&response.data, errors, info, op, keep);
        }
        self.finish(Some(&response.data), errors, 200, info, Some(op))
    }

    /// Finishes an answer the schema lets caches keep: with the
    /// `Cache-Control` header when it has no errors, and, when it has a key
    /// (it is not private), into the response cache, unless an error in it
    /// is the server's.
    fn finish_kept(
        &self,
        data: &async_graphql::Value,
        mut errors: Vec<WireError>,
        info: RequestInfo<'_>,
        op: OperationType,
        keep: Keep,
    ) -> Outcome {
        let header = if errors.is_empty() {
            keep.policy.header()
        } else {
            None
        };
        let server_failed = errors.iter().any(|e| {
            errata_errors::CATALOG
                .by_code(e.error_code())
                .is_none_or(|d| d.class.status() >= 500)
        });
        if let (Some(responses), Some((key, generation)), false) =
            (&self.responses, keep.key, server_failed)
        {
            for e in &mut errors {
                e.set_request_id(REQUEST_ID_MARK);
            }
            let marked = Body {
                data: Some(data),
                errors: &errors,
                extensions: BodyExtensions {
                    request_id: REQUEST_ID_MARK,
                },
            }
            .to_vec();
            if let Some(template) = Template::cut(&marked, 1 + errors.len(), 0) {
                let codes = codes(&errors);
                let body = template.fill(info.request_id, 0);
                let kept = Kept {
                    body: template,
                    status: 200,
                    errors: Arc::from(codes.as_slice()),
                    operation: Some(op),
                    max_age: keep.policy.max_age,
                    cache_control: header.clone(),
                };
                responses.put_since(key, kept, generation);
                return Outcome {
                    status: 200,
                    body,
                    allow: None,
                    errors: codes,
                    operation: Some(op),
                    cache_control: header,
                    cached: Some(false),
                };
            }
            // The data holds the mark itself: answer without keeping it.
            for e in &mut errors {
                e.set_request_id(info.request_id);
            }
        }
        let mut outcome = self.finish(Some(data), errors, 200, info, Some(op));
        outcome.cache_control = header;
        outcome
    }

    fn field_error(&self, e: &ServerError, info: RequestInfo<'_>) -> WireError {
        let locations = e.locations.iter().copied().map(location).collect();
        let path =
            (!e.path.is_empty()).then(|| serde_json::to_value(&e.path).unwrap_or(Value::Null));
        match e.source::<Error>() {
            Some(error) => {
                if let Some(cause) = error.cause() {
                    tracing::warn!(request_id = info.request_id, id = error.id(), cause = %cause, "field error");
                }
                self.wire(error, info, locations, path)
            }
            None => {
                tracing::error!(request_id = info.request_id, message = %e.message, "uncatalogued field error");
                self.wire(&system::internal(), info, locations, path)
            }
        }
    }

    /// The answer to a document refused before: its body in this locale,
    /// rendered the first time it is asked for and copied after.
    /// A POST body whose document was refused is kept in the response cache
    /// too, so that a client repeating it costs no decoding either.
    fn refused(&self, refused: &Refused, body: Option<&Key>, info: RequestInfo<'_>) -> Outcome {
        let errors = || -> Vec<RequestError> {
            refused
                .errors
                .iter()
                .map(|e| RequestError {
                    error: e.error.clone_without_source(),
                    locations: e.locations.clone(),
                })
                .collect()
        };
        let known = refused.bodies.lock().ok().and_then(|bodies| {
            bodies
                .iter()
                .find(|(locale, _)| locale.as_deref() == info.locale)
                .map(|(_, template)| template.clone())
        });
        let template = match known {
            Some(template) => template,
            None => {
                let marked = RequestInfo {
                    request_id: REQUEST_ID_MARK,
                    ..info
                };
                let outcome = self.request_failures(errors(), marked, None);
                let Some(template) = Template::cut(&outcome.body, 1 + refused.errors.len(), 0)
                else {
                    // A message quotes the mark from the document: render it each time.
                    return self.request_failures(errors(), info, None);
                };
                if let Ok(mut bodies) = refused.bodies.lock() {
                    bodies.push((info.locale.map(Box::from), template.clone()));
                }
                template
            }
        };
        let first = refused.errors.first().map(|e| e.error.class());
        let status = request_status(info.media, first);
        let codes: Vec<(u32, Class)> = refused
            .errors
            .iter()
            .map(|e| (e.error.code(), e.error.class()))
            .collect();
        let answer = template.fill(info.request_id, 0);
        if let (Some(responses), Some(body)) = (&self.responses, body) {
            let kept = Kept {
                body: template,
                status,
                errors: Arc::from(codes.as_slice()),
                operation: None,
                max_age: REFUSAL_MAX_AGE,
                cache_control: None,
            };
            responses.put(*body, kept);
        }
        Outcome {
            status,
            body: answer,
            allow: None,
            errors: codes,
            operation: None,
            cache_control: None,
            cached: None,
        }
    }

    fn request_failure(
        &self,
        e: RequestError,
        info: RequestInfo<'_>,
        op: Option<OperationType>,
    ) -> Outcome {
        self.request_failures(vec![e], info, op)
    }

    fn request_failures(
        &self,
        errors: Vec<RequestError>,
        info: RequestInfo<'_>,
        op: Option<OperationType>,
    ) -> Outcome {
        let status = request_status(info.media, errors.first().map(|e| e.error.class()));
        let wire = errors
            .into_iter()
            .map(|e| self.wire(&e.error, info, e.locations, None))
            .collect();
        self.finish(None, wire, status, info, op)
    }

    fn wire(
        &self,
        error: &Error,
        info: RequestInfo<'_>,
        locations: Vec<Location>,
        path: Option<Value>,
    ) -> WireError {
        WireError::new(error, info.locale, info.request_id, locations, path)
    }

    fn finish(
        &self,
        data: Option<&async_graphql::Value>,
        errors: Vec<WireError>,
        status: u16,
        info: RequestInfo<'_>,
        operation: Option<OperationType>,
    ) -> Outcome {
        let codes = codes(&errors);
        let body = Body {
            data,
            errors: &errors,
            extensions: BodyExtensions {
                request_id: info.request_id,
            },
        }
        .to_vec();
        Outcome {
            status,
            body,
            allow: None,
            errors: codes,
            operation,
            cache_control: None,
            cached: None,
        }
    }
}

/// The status of a response to a request error whose first error has `class`.
fn request_status(media: Media, class: Option<Class>) -> u16 {
    match (media, class.unwrap_or(Class::BadRequest)) {
        (_, Class::MethodNotAllowed) => 405,
        (Media::Json, _) => 200,
        (Media::GraphqlResponseJson, class) => class.status(),
    }
}

/// `(code, class)` of each error, for metrics.
fn codes(errors: &[WireError]) -> Vec<(u32, Class)> {
    errors
        .iter()
        .map(|e| {
            let code = e.error_code();
            let class = errata_errors::CATALOG
                .by_code(code)
                .map_or(Class::Internal, |d| d.class);
            (code, class)
        })
        .collect()
}

/// Where an executed answer may be kept: its key in the response cache
/// (`None` when it may not be kept there) and its policy.
struct Keep {
    /// The key, and the cache's generation before execution began.
    key: Option<(Key, u64)>,
    policy: Policy,
}

/// Field names by how often a set selects them.
type Counts<'d> = Rc<HashMap<&'d str, u64>>;
/// `(parent, child)` field names by how often a set selects them.
type PairCounts<'d> = Rc<HashMap<(&'d str, &'d str), u64>>;

/// Counts the fields a selection set selects, through inline fragments and
/// fragment spreads. A fragment is counted once and its counts are added at
/// each spread, so a chain of fragments each spreading the next twice costs
/// its length, not two to the power of it. Counts saturate; a fragment
/// spread inside itself (a validation error) counts as nothing.
struct Occurrences<'d, 'f> {
    fragments: &'f HashMap<&'d str, &'d ast::FragmentDefinition>,
    /// `None` while a fragment is being counted.
    names: HashMap<&'d str, Option<Counts<'d>>>,
    pairs: HashMap<&'d str, Option<PairCounts<'d>>>,
}

fn add<K: std::hash::Hash + Eq + Copy>(into: &mut HashMap<K, u64>, from: &HashMap<K, u64>) {
    for (key, times) in from {
        let total = into.entry(*key).or_insert(0);
        *total = total.saturating_add(*times);
    }
}

impl<'d> Occurrences<'d, '_> {
    /// The fields `set` selects directly, by name.
    fn names(&mut self, set: &'d ast::SelectionSet) -> Counts<'d> {
        let mut out = HashMap::new();
        for item in &set.items {
            match item {
                ast::Selection::Field(f) => {
                    let total = out.entry(f.name.value.as_str()).or_insert(0u64);
                    *total = total.saturating_add(1);
                }
                ast::Selection::InlineFragment(i) => add(&mut out, &self.names(&i.selection_set)),
                ast::Selection::FragmentSpread(s) => {
                    let name = s.name.value.as_str();
                    let counts = match self.names.get(name) {
                        Some(known) => known.clone().unwrap_or_default(),
                        None => match self.fragments.get(name).copied() {
                            Some(fragment) => {
                                self.names.insert(name, None);
                                let counts = self.names(&fragment.selection_set);
                                self.names.insert(name, Some(Rc::clone(&counts)));
                                counts
                            }
                            None => Counts::default(),
                        },
                    };
                    add(&mut out, &counts);
                }
            }
        }
        Rc::new(out)
    }

    /// The fields `set` selects directly, each with the fields below it.
    fn pairs(&mut self, set: &'d ast::SelectionSet) -> PairCounts<'d> {
        let mut out = HashMap::new();
        for item in &set.items {
            match item {
                ast::Selection::Field(f) => {
                    if let Some(below) = &f.selection_set {
                        let parent = f.name.value.as_str();
                        for (child, times) in self.names(below).iter() {
                            let total = out.entry((parent, *child)).or_insert(0u64);
                            *total = total.saturating_add(*times);
                        }
                    }
                }
                ast::Selection::InlineFragment(i) => add(&mut out, &self.pairs(&i.selection_set)),
                ast::Selection::FragmentSpread(s) => {
                    let name = s.name.value.as_str();
                    let counts = match self.pairs.get(name) {
                        Some(known) => known.clone().unwrap_or_default(),
                        None => match self.fragments.get(name).copied() {
                            Some(fragment) => {
                                self.pairs.insert(name, None);
                                let counts = self.pairs(&fragment.selection_set);
                                self.pairs.insert(name, Some(Rc::clone(&counts)));
                                counts
                            }
                            None => PairCounts::default(),
                        },
                    };
                    add(&mut out, &counts);
                }
            }
        }
        Rc::new(out)
    }
}

/// The SHA-256 of some bytes.
fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// The SHA-256 of a text, in lowercase hexadecimal.
fn sha256_hex(text: &str) -> String {
    use std::fmt::Write as _;
    let digest = sha256(text.as_bytes());
    let mut out = String::with_capacity(64);
    for byte in digest {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// The operation a request runs: the named one, or the only one.
fn find_operation<'d>(
    doc: &'d ast::Document,
    name: Option<&str>,
) -> Option<&'d ast::OperationDefinition> {
    doc.definitions.iter().find_map(|d| match d {
        ast::Definition::Operation(o)
            if name.is_none() || o.name.as_ref().map(|n| n.value.as_str()) == name =>
        {
            Some(o)
        }
        _ => None,
    })
}

/// An error async-graphql reports before running any resolver.
fn is_request_error(e: &ServerError) -> bool {
    e.path.is_empty() && e.source::<Error>().is_none()
}

fn resolve_operation(
    prepared: &Prepared,
    name: Option<&str>,
) -> Result<(OperationType, Policy), RequestError> {
    match (name, prepared.operations.as_slice()) {
        (Some(name), ops) => ops
            .iter()
            .find(|(n, _, _)| n.as_deref() == Some(name))
            .map(|(_, ty, policy)| (*ty, *policy))
            .ok_or_else(|| gql::operation_not_found(name).into()),
        (None, [(_, ty, policy)]) => Ok((*ty, *policy)),
        (None, []) => Err(gql::no_operation().into()),
        (None, _) => Err(gql::operation_name_required().into()),
    }
}

/// Maps async-graphql's parser errors onto the catalog. Three of them are
/// validation rules in graphql-js, and get that rule's message.
fn parse_failure(e: async_graphql::parser::Error) -> RequestError {
    use async_graphql::parser::Error as P;
    let at = |pos: Pos| vec![location(pos)];
    match e {
        P::MultipleOperations { anonymous, .. } => RequestError {
            error: rules::LONE_ANONYMOUS_OPERATION.annotate(gql::validation_failed(
                "This anonymous operation must be the only defined operation.",
            )),
            locations: at(anonymous),
        },
        P::OperationDuplicated {
            operation,
            first,
            second,
        } => RequestError {
            error: rules::UNIQUE_OPERATION_NAMES.annotate(gql::validation_failed(format!(
                "There can be only one operation named \"{operation}\"."
            ))),
            locations: vec![location(first), location(second)],
        },
        P::FragmentDuplicated {
            fragment,
            first,
            second,
        } => RequestError {
            error: rules::UNIQUE_FRAGMENT_NAMES.annotate(gql::validation_failed(format!(
                "There can be only one fragment named \"{fragment}\"."
            ))),
            locations: vec![location(first), location(second)],
        },
        P::MissingOperation => gql::no_operation().into(),
        P::Syntax { message, start, .. } => RequestError {
            error: gql::parse_failed(syntax_detail(&message)),
            locations: at(start),
        },
        P::RecursionLimitExceeded => gql::parse_failed("Document is nested too deeply.").into(),
        other => {
            let locations = other.positions().map(location).collect();
            RequestError {
                error: gql::parse_failed(other.to_string()),
                locations,
            }
        }
    }
}

/// The last line of pest's report (`= expected selection`) as a sentence.
fn syntax_detail(message: &str) -> String {
    let line = message
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("unexpected input");
    let line = line.trim_start_matches('=').trim();
    let mut chars = line.chars();
    let sentence = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
        None => "Unexpected input".to_owned(),
    };
    if sentence.ends_with('.') {
        sentence
    } else {
        format!("{sentence}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::{EmptyMutation, EmptySubscription, Object};

    struct Root;

    #[Object]
    impl Root {
        async fn shelf(&self) -> Shelf {
            Shelf
        }
        async fn clock(&self) -> i32 {
            0
        }
    }

    struct Shelf;

    #[Object]
    impl Shelf {
        async fn book(&self) -> i32 {
            1
        }
        async fn title(&self) -> &str {
            "t"
        }
    }

    fn with_documents(bytes: usize) -> Pipeline<Root, EmptyMutation, EmptySubscription> {
        Pipeline::new(
            Schema::new(Root, EmptyMutation, EmptySubscription),
            PipelineOptions {
                document_cache_bytes: bytes,
                ..PipelineOptions::default()
            },
        )
    }

    /// Whether preparing `query` twice gives the same kept preparation.
    fn kept(pipeline: &Pipeline<Root, EmptyMutation, EmptySubscription>, query: &str) -> bool {
        match (pipeline.prepare(query), pipeline.prepare(query)) {
            (Ok(a), Ok(b)) => Arc::ptr_eq(&a, &b),
            (Err(a), Err(b)) => Arc::ptr_eq(&a, &b),
            _ => false,
        }
    }

    #[test]
    fn documents_are_kept_by_weight_not_by_text() {
        let pipeline = with_documents(64 * 1024);
        let commented = format!("# {}\n{{ shelf {{ book }} }}", "x".repeat(1 << 20));
        assert!(
            kept(&pipeline, &commented),
            "a megabyte of comment weighs nothing"
        );
        assert!(
            kept(&pipeline, "{ shelf { nope } }"),
            "refusals are kept too"
        );
        let fields: String = (0..300).map(|i| format!("f{i}: clock ")).collect();
        let heavy = format!("{{ {fields} }}");
        let limits = Limits {
            max_aliases: 1000,
            ..Limits::default()
        };
        let pipeline = Pipeline::new(
            Schema::new(Root, EmptyMutation, EmptySubscription),
            PipelineOptions {
                limits,
                document_cache_bytes: 64 * 1024,
                ..PipelineOptions::default()
            },
        );
        assert!(pipeline.prepare(&heavy).is_ok());
        assert!(
            !kept(&pipeline, &heavy),
            "900 tokens weigh more than 64 KiB: parsed, answered, not kept"
        );
        assert!(kept(&pipeline, "{ clock }"));
        let documents = pipeline.documents.lock().unwrap();
        assert!(documents.bytes() <= 64 * 1024);
    }

    fn fields(limits: Limits, query: &str) -> Vec<(String, u64)> {
        let pipeline = Pipeline::new(
            Schema::new(Root, EmptyMutation, EmptySubscription),
            PipelineOptions {
                limits,
                ..PipelineOptions::default()
            },
        );
        pipeline
            .operation_fields(&GraphqlRequest {
                query: query.to_owned(),
                ..GraphqlRequest::default()
            })
            .now_or_never()
            .expect("without a shared store, nothing is awaited")
    }

    fn counts(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
        pairs.iter().map(|(p, n)| ((*p).to_owned(), *n)).collect()
    }

    #[test]
    fn each_selection_of_a_path_counts() {
        let limits = Limits::default();
        assert_eq!(
            fields(limits, "{ shelf { book } clock }"),
            counts(&[("clock", 1), ("shelf", 1), ("shelf.book", 1)])
        );
        assert_eq!(
            fields(
                limits,
                "{ a: shelf { x: book y: book } b: shelf { ...F } } fragment F on Shelf { book title }"
            ),
            counts(&[("shelf", 2), ("shelf.book", 3), ("shelf.title", 1)]),
            "aliases and parents' aliases multiply"
        );
        assert_eq!(
            fields(
                limits,
                "{ shelf { ...G } ...R ...R } fragment R on Root { shelf { book } } \
                 fragment G on Shelf { ...F ... on Shelf { ...F } } fragment F on Shelf { a: book }"
            ),
            counts(&[("shelf", 3), ("shelf.book", 4)]),
            "nested fragments and fragments spread from several places"
        );
        assert!(fields(limits, "{ shelf { nope } }").is_empty());
    }

    #[test]
    fn a_fan_out_of_fragments_is_counted_without_expanding_it() {
        let mut query = String::from("{ shelf { ...F0 } ...R0 }\n");
        for i in 0..40 {
            let next = i + 1;
            query.push_str(&format!(
                "fragment F{i} on Shelf {{ ...F{next} ...F{next} }}\n\
                 fragment R{i} on Root {{ ...R{next} ...R{next} }}\n"
            ));
        }
        query.push_str("fragment F40 on Shelf { book }\nfragment R40 on Root { clock }\n");
        let limits = Limits {
            max_tokens: usize::MAX,
            max_cost: usize::MAX,
            ..Limits::default()
        };
        assert_eq!(
            fields(limits, &query),
            counts(&[("clock", 1 << 40), ("shelf", 1), ("shelf.book", 1 << 40)])
        );
    }
}
