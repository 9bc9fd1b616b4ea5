//! `search { ... }`: Wiki.js 2.5's search engine administration.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use errata_identity::Permission;

use super::auth::DefaultResponse;
use super::context::{Needs, requires};

/// A key and a value.
#[derive(Debug, Clone, SimpleObject)]
pub struct KeyValuePair {
    key: String,
    value: String,
}

/// A key and a value, as input.
#[derive(Debug, Clone, InputObject)]
pub struct KeyValuePairInput {
    key: String,
    value: String,
}

/// A search engine.
#[derive(Debug, SimpleObject)]
pub struct SearchEngine {
    is_enabled: bool,
    key: String,
    title: String,
    description: Option<String>,
    logo: Option<String>,
    website: Option<String>,
    is_available: Option<bool>,
    config: Option<Vec<Option<KeyValuePair>>>,
}

/// An engine's settings, as `updateSearchEngines` takes them.
#[derive(Debug, Clone, InputObject)]
pub struct SearchEngineInput {
    is_enabled: bool,
    key: String,
    config: Option<Vec<Option<KeyValuePairInput>>>,
}

/// Search queries.
#[derive(Debug)]
pub struct SearchQuery;

#[Object]
impl SearchQuery {
    /// Every engine; `filter` keeps those whose key contains it.
    #[graphql(
        guard = "Needs(Permission::ManageSystem)",
        directive = requires::apply("manage:system".into())
    )]
    async fn search_engines(
        &self,
        ctx: &Context<'_>,
        filter: Option<String>,
        order_by: Option<String>,
    ) -> Result<Option<Vec<Option<SearchEngine>>>> {
        let mut engines = super::pages::domain(ctx)?.search_engines().await?;
        if let Some(filter) = filter.filter(|f| !f.is_empty()) {
            engines.retain(|e| e.engine.key().contains(&filter));
        }
        if order_by.as_deref() == Some("title") {
            engines.sort_by_key(|e| e.title);
        }
        Ok(Some(
            engines
                .into_iter()
                .map(|e| {
                    Some(SearchEngine {
                        is_enabled: e.is_enabled,
                        key: e.engine.key().to_owned(),
                        title: e.title.to_owned(),
                        description: Some(e.description.to_owned()),
                        logo: None,
                        website: Some(e.website.to_owned()),
                        is_available: Some(e.is_available),
                        config: Some(
                            e.config
                                .into_iter()
                                .map(|(key, value)| Some(KeyValuePair { key, value }))
                                .collect(),
                        ),
                    })
                })
                .collect(),
        ))
    }
}

/// Search mutations.
#[derive(Debug)]
pub struct SearchMutation;

#[Object]
impl SearchMutation {
    /// Activates the one enabled engine with its settings: 4102 for an
    /// unknown engine, 4002 when it cannot run here. On failure the active
    /// engine and its settings stay as they were.
    #[graphql(
        guard = "Needs(Permission::ManageSystem)",
        directive = requires::apply("manage:system".into())
    )]
    async fn update_search_engines(
        &self,
        ctx: &Context<'_>,
        engines: Option<Vec<Option<SearchEngineInput>>>,
    ) -> Result<Option<DefaultResponse>> {
        let result = async {
            let engines: Vec<SearchEngineInput> =
                engines.unwrap_or_default().into_iter().flatten().collect();
            for engine in &engines {
                if errata_pages::Engine::parse(&engine.key).is_none() {
                    return Err(errata_errors::search::engine_unknown(engine.key.clone()));
                }
            }
            let enabled: Vec<&SearchEngineInput> =
                engines.iter().filter(|e| e.is_enabled).collect();
            let [engine] = enabled.as_slice() else {
                return Err(errata_errors::search::activation_failed()
                    .with_detail("reason", "exactly one engine must be enabled".to_owned()));
            };
            let config: Vec<(String, String)> = engine
                .config
                .iter()
                .flatten()
                .flatten()
                .map(|kv| (kv.key.clone(), kv.value.clone()))
                .collect();
            super::pages::domain(ctx)
                .map_err(|_| errata_errors::system::database_unavailable())?
                .activate_engine(&engine.key, &config)
                .await
        }
        .await;
        DefaultResponse::settle(ctx, result, "Search engine activated").map(Some)
    }

    /// Builds the active backend's index again from the pages.
    #[graphql(
        guard = "Needs(Permission::ManageSystem)",
        directive = requires::apply("manage:system".into())
    )]
    async fn rebuild_index(&self, ctx: &Context<'_>) -> Result<Option<DefaultResponse>> {
        let result = super::pages::domain(ctx)?.rebuild_index().await;
        DefaultResponse::settle(ctx, result, "Index rebuilt").map(Some)
    }
}
