//! What the handlers and the edge share: the configuration, the GraphQL
//! pipeline, identity, storage, the limiters and what is rendered once.

use std::sync::{Arc, OnceLock};
use std::time::Duration;
use std::time::Instant;

use async_graphql::EmptySubscription;
use axum::body::Bytes;
use axum::http::HeaderValue;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use metrics_exporter_prometheus::PrometheusHandle;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use errata_catalog::Error;
use errata_catalog::render::{Format, HTML_SCRIPT, HTML_STYLE, render};
use errata_errors::system;
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
    /// Set once the database has been migrated and identity opened: at
    /// start, or later by [`AppState::bring_up`] when PostgreSQL was down.
    pub(crate) identity: Arc<OnceLock<Identity>>,
    /// The pages domain (the schema holds the same).
    pub(crate) pages: errata_pages::Pages,
    /// Outgoing mail (the schema and identity hold the same); its worker
    /// runs once the database answers.
    pub(crate) mail: errata_mail::Mail,
    /// Why the database, reached, could not be used (one a newer errata
    /// migrated): what the server answers instead of `DatabaseUnavailable`
    /// while identity is not set.
    unusable: std::sync::Mutex<Option<Error>>,
    pub(crate) limiter: Option<ClientLimiter>,
    /// Per-operation limiters, by the field path they watch.
    pub(crate) operation_limiters: Vec<(String, ClientLimiter)>,
    pub(crate) slots: Arc<Semaphore>,
    pub(crate) refusals: Refusals,
    pub(crate) locales: Vec<&'static str>,
    pub(crate) storage: Database,
    pub(crate) errors_html: Bytes,
    /// `/errors`' Content-Security-Policy: its own inline style and script
    /// by digest, nothing else from anywhere.
    pub(crate) errors_csp: HeaderValue,
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

/// The policy `/errors` is served with. `default-src 'none'` leaves the
/// page nothing to fetch, connect to, frame or embed; the two digests let
/// its own inline style and script, and nothing injected, apply and run.
fn errors_csp() -> HeaderValue {
    let digest = |text: &str| STANDARD.encode(Sha256::digest(text.as_bytes()));
    let policy = format!(
        "default-src 'none'; style-src 'sha256-{}'; script-src 'sha256-{}'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        digest(HTML_STYLE),
        digest(HTML_SCRIPT)
    );
    HeaderValue::from_str(&policy).expect("a policy of ASCII and base64 is a header value")
}

impl AppState {
    /// Opens storage and builds everything the server needs. On PostgreSQL
    /// an unreachable database does not stop the start: the server answers
    /// what needs no database, `DatabaseUnavailable` to the rest, and
    /// [`AppState::bring_up`] finishes when the database answers.
    pub async fn new(config: Config) -> Result<Arc<AppState>, Error> {
        let storage = crate::storage::connect(&config)?;
        let mail = errata_mail::Mail::new(storage.clone(), config.mail.clone(), &config.data);
        let identity = Arc::new(OnceLock::new());
        match open_identity(&storage, &config, &mail).await {
            Ok(opened) => {
                let _ = identity.set(opened);
            }
            Err(e)
                if storage.backend() == errata_store::Backend::Postgres
                    && e.id() == "system.database_unavailable" =>
            {
                tracing::warn!(
                    database = %storage.url(),
                    error = %e,
                    "the database cannot be reached; serving what needs none until it can"
                );
            }
            Err(e) => return Err(e),
        }
        let facts = ServerFacts {
            started: Instant::now(),
            storage: storage.clone(),
            identity: Arc::clone(&identity),
            pages: errata_pages::Pages::new(storage.clone(), config.pages.clone()),
            mail: mail.clone(),
        };
        let pages = facts.pages.clone();
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
                    permission_directives: schema::context::PERMISSION_DIRECTIVES,
                    personal_directives: schema::context::PERSONAL_DIRECTIVES,
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
            pages,
            mail,
            unusable: std::sync::Mutex::new(None),
            errors_html: Bytes::from(render(catalog, Format::Html)),
            errors_csp: errors_csp(),
            errors_json: Bytes::from(render(catalog, Format::Json)),
            metrics: prometheus(),
            config,
        }))
    }
}

impl AppState {
    /// Identity, once the database has been reached; until then
    /// `DatabaseUnavailable`.
    pub(crate) fn identity(&self) -> Result<&Identity, Error> {
        self.identity.get().ok_or_else(|| {
            self.unusable
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .map_or_else(system::database_unavailable, Error::clone_without_source)
        })
    }

    /// The caller without a token: identity's guest, or, until the database
    /// answers, a guest with no permission, to whom what needs no caller
    /// (the catalog, health) is still served.
    pub(crate) fn guest(&self) -> errata_identity::Principal {
        match self.identity.get() {
            Some(identity) => identity.directory().guest.clone(),
            None => errata_identity::Directory::default().guest,
        }
    }

    /// Identity, waiting for the database if the start could not reach it:
    /// retries with a growing pause (at most 5 s) until migrating and
    /// opening succeed. A database that answers but cannot be used (one a
    /// newer errata migrated) is logged and retried as slowly.
    pub(crate) async fn bring_up(&self) -> &Identity {
        let mut pause = Duration::from_millis(200);
        loop {
            if let Some(identity) = self.identity.get() {
                return identity;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
            match open_identity(&self.storage, &self.config, &self.mail).await {
                Ok(opened) => {
                    if self.identity.set(opened).is_ok() {
                        tracing::info!(database = %self.storage.url(), "the database answers; ready");
                    }
                }
                Err(e) if e.id() == "system.database_unavailable" => {
                    tracing::debug!(error = %e, "the database still cannot be reached");
                }
                Err(e) => {
                    tracing::error!(error = %e, "the database cannot be used");
                    *self.unusable.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                }
            }
        }
    }
}

/// Migrates the database and opens identity over it.
async fn open_identity(
    storage: &Database,
    config: &Config,
    mail: &errata_mail::Mail,
) -> Result<Identity, Error> {
    storage.migrate(crate::storage::DOMAINS).await?;
    Identity::open(storage.clone(), config.auth.clone(), mail.clone()).await
}
