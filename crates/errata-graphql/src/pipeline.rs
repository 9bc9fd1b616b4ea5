//! One GraphQL request, from decoded parameters to response bytes:
//! limits, parsing (cached), operation resolution, the GET/mutation rule,
//! execution by async-graphql, and every error rendered from the catalog.

use std::hash::BuildHasher;
use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{ObjectType, Pos, Schema, ServerError, SubscriptionType, Variables};
use futures_util::FutureExt;
use lru::LruCache;
use serde_json::Value;

use errata_catalog::{Class, Error};
use errata_errors::{graphql as gql, http, system};

use crate::limits::Limits;
use crate::response::{Body, BodyExtensions, Location, WireError};
use crate::rules;
use crate::transport::{GraphqlRequest, Media};

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
}

/// A parsed document and its operations, cached by query text.
struct Prepared {
    doc: ExecutableDocument,
    operations: Vec<(Option<String>, OperationType, Pos)>,
}

/// Parsed documents by the hash of their text; the text is kept to rule out collisions.
type DocumentCache = LruCache<u64, (Arc<str>, Arc<Prepared>)>;

/// The error pipeline around an async-graphql schema.
pub struct Pipeline<Q, M, S> {
    schema: Schema<Q, M, S>,
    limits: Limits,
    introspection: bool,
    documents: Mutex<DocumentCache>,
    hasher: std::hash::RandomState,
}

impl<Q, M, S> std::fmt::Debug for Pipeline<Q, M, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("limits", &self.limits)
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

fn location(pos: Pos) -> Location {
    Location {
        line: pos.line,
        column: pos.column,
    }
}

impl<Q, M, S> Pipeline<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    /// Wraps `schema`, caching up to `cache_size` parsed documents.
    /// Without `introspection`, documents that ask for `__schema` or
    /// `__type` are refused.
    pub fn new(
        schema: Schema<Q, M, S>,
        limits: Limits,
        cache_size: usize,
        introspection: bool,
    ) -> Self {
        let capacity = NonZeroUsize::new(cache_size.max(1)).expect("at least one");
        Pipeline {
            schema,
            limits,
            introspection,
            documents: Mutex::new(LruCache::new(capacity)),
            hasher: std::hash::RandomState::new(),
        }
    }

    /// The schema.
    pub fn schema(&self) -> &Schema<Q, M, S> {
        &self.schema
    }

    /// Runs one request. `prepare` adds per-request data (the caller's
    /// identity, ...) to the async-graphql request.
    pub async fn execute(
        &self,
        request: GraphqlRequest,
        info: RequestInfo<'_>,
        prepare: impl FnOnce(async_graphql::Request) -> async_graphql::Request,
    ) -> Outcome {
        let prepared = match self.prepare(&request.query) {
            Ok(prepared) => prepared,
            Err(e) => return self.request_failure(e, info, None),
        };
        let operation = match resolve_operation(&prepared, request.operation_name.as_deref()) {
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
        if operation == OperationType::Subscription {
            let error =
                gql::validation_failed("Subscriptions are not supported over this endpoint.");
            return self.request_failure(error.into(), info, Some(operation));
        }

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
        self.execution_result(response, info, operation)
    }

    fn prepare(&self, query: &str) -> Result<Arc<Prepared>, RequestError> {
        let key = self.hasher.hash_one(query);
        if let Ok(mut cache) = self.documents.lock()
            && let Some((text, prepared)) = cache.get(&key)
            && &**text == query
        {
            return Ok(Arc::clone(prepared));
        }
        self.limits.check_tokens(query)?;
        let doc = async_graphql::parser::parse_query(query).map_err(parse_failure)?;
        self.limits.check_document(&doc)?;
        if !self.introspection {
            refuse_introspection(&doc)?;
        }
        let operations = match &doc.operations {
            DocumentOperations::Single(op) => vec![(None, op.node.ty, op.pos)],
            DocumentOperations::Multiple(ops) => {
                let mut ops: Vec<_> = ops
                    .iter()
                    .map(|(n, op)| (Some(n.to_string()), op.node.ty, op.pos))
                    .collect();
                ops.sort_by_key(|(_, _, pos)| (pos.line, pos.column));
                ops
            }
        };
        let prepared = Arc::new(Prepared { doc, operations });
        if let Ok(mut cache) = self.documents.lock() {
            cache.put(key, (Arc::from(query), Arc::clone(&prepared)));
        }
        Ok(prepared)
    }

    fn execution_result(
        &self,
        response: async_graphql::Response,
        info: RequestInfo<'_>,
        op: OperationType,
    ) -> Outcome {
        let executed = !response.errors.iter().all(is_request_error)
            || !matches!(response.data, async_graphql::Value::Null);
        if !executed && !response.errors.is_empty() {
            // async-graphql validated the document and rejected it: a request error.
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
        let errors = response
            .errors
            .iter()
            .map(|e| self.field_error(e, info))
            .collect();
        self.finish(Some(&response.data), errors, 200, info, Some(op))
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

    fn request_failure(
        &self,
        e: RequestError,
        info: RequestInfo<'_>,
        op: Option<OperationType>,
    ) -> Outcome {
        let class = e.error.class();
        let status = match (info.media, class) {
            (_, Class::MethodNotAllowed) => 405,
            (Media::Json, _) => 200,
            (Media::GraphqlResponseJson, class) => class.status(),
        };
        let wire = self.wire(&e.error, info, e.locations, None);
        self.finish(None, vec![wire], status, info, op)
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
        let codes = errors
            .iter()
            .map(|e| {
                let code = e.error_code();
                let class = errata_errors::CATALOG
                    .by_code(code)
                    .map_or(Class::Internal, |d| d.class);
                (code, class)
            })
            .collect();
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
        }
    }
}

/// graphql-js's NoSchemaIntrospectionCustomRule, for production mode.
fn refuse_introspection(doc: &ExecutableDocument) -> Result<(), RequestError> {
    use async_graphql::parser::types::{Selection, SelectionSet};
    fn walk(set: &SelectionSet) -> Option<(&str, Pos)> {
        set.items.iter().find_map(|item| match &item.node {
            Selection::Field(f) => {
                let name = f.node.name.node.as_str();
                if name == "__schema" || name == "__type" {
                    Some((name, f.pos))
                } else {
                    walk(&f.node.selection_set.node)
                }
            }
            Selection::InlineFragment(i) => walk(&i.node.selection_set.node),
            Selection::FragmentSpread(_) => None,
        })
    }
    let operations: Vec<&SelectionSet> = match &doc.operations {
        DocumentOperations::Single(op) => vec![&op.node.selection_set.node],
        DocumentOperations::Multiple(ops) => {
            ops.values().map(|op| &op.node.selection_set.node).collect()
        }
    };
    let fragments = doc.fragments.values().map(|f| &f.node.selection_set.node);
    match operations.into_iter().chain(fragments).find_map(walk) {
        None => Ok(()),
        Some((name, pos)) => Err(RequestError {
            error: gql::validation_failed(format!(
                "GraphQL introspection has been disabled, but the requested query contained the field \"{name}\"."
            ))
            .with_detail("rule", "NoSchemaIntrospectionCustomRule"),
            locations: vec![location(pos)],
        }),
    }
}

/// An error async-graphql reports before running any resolver.
fn is_request_error(e: &ServerError) -> bool {
    e.path.is_empty() && e.source::<Error>().is_none()
}

fn resolve_operation(
    prepared: &Prepared,
    name: Option<&str>,
) -> Result<OperationType, RequestError> {
    match (name, prepared.operations.as_slice()) {
        (Some(name), ops) => ops
            .iter()
            .find(|(n, _, _)| n.as_deref() == Some(name))
            .map(|(_, ty, _)| *ty)
            .ok_or_else(|| gql::operation_not_found(name).into()),
        (None, [(_, ty, _)]) => Ok(*ty),
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
