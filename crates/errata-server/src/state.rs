//! What the handlers and the edge share: the configuration, the GraphQL
//! pipeline, identity, storage, the limiters and what is rendered once.

use std::sync::Arc;
use std::time::Instant;

use async_graphql::EmptySubscription;
use axum::body::Bytes;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::Semaphore;

use errata_catalog::Error;
use errata_catalog::render::{Format, render};
use errata_graphql::{Pipeline, PipelineOptions};
use errata_identity::Identity;

use crate::config::Config;
use crate::edge::Refusals;
use crate::metrics::prometheus;
use crate::ratelimit::ClientLimiter;
use crate::schema::{self, Mutation, Query, ServerFacts};
use errata_store::Database;

use crate::shared::Redis;
use crate::shared::documents::SharedDocuments;

/// What the refused bearer tokens' answers may take: a thousand answers of
/// about a kilobyte each.
const REFUSALS_BYTES: usize = 2 << 20;

/// Everything the handlers share.
pub struct AppState {
    pub(crate) config: Config,
    pub(crate) pipeline: Pipeline<Query, Mutation, EmptySubscription>,
    pub(crate) identity: Identity,
    pub(crate) limiter: Option<ClientLimiter>,
    /// Per-operation limiters, by the field path they watch.
    pub(crate) operation_limiters: Vec<(String, ClientLimiter)>,
    pub(crate) slots: Arc<Semaphore>,
    pub(crate) refusals: Refusals,
    pub(crate) locales: Vec<&'static str>,
    pub(crate) storage: Database,
    pub(crate) errors_html: Bytes,
    pub(crate) errors_json: Bytes,
    pub(crate) metrics: Option<PrometheusHandle>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Opens storage and builds everything the server needs.
    pub async fn new(config: Config) -> Result<Arc<AppState>, Error> {
        let storage = crate::storage::open(&config).await?;
        let identity = Identity::open(storage.clone(), config.auth.clone(), &config.data).await?;
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
                    caller_directives: schema::context::CALLER_DIRECTIVES,
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
            refusals: Refusals::new(
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
