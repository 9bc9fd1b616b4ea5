//! The GraphQL schema: the error catalog, facts about the server, and the
//! wiki's identity domain in the shape of Wiki.js 2.x (`authentication`,
//! `users`, `groups`), with seed 001's API tokens and OAuth clients.
//!
//! Fields that need a permission say so twice, from one constant: a guard
//! enforces it, and the `@requires` directive shows it in the schema.

pub mod auth;
pub mod catalog;
pub mod clients;
pub mod context;
pub mod groups;
pub mod mail;
pub mod pages;
pub mod search;
pub mod tokens;
pub mod users;

use std::time::Instant;

use async_graphql::{Context, EmptySubscription, Object, Result, Schema, SimpleObject};
use errata_identity::Identity;

use errata_store::Database;

pub use context::{Caller, RequestContext};

/// The server's schema type.
pub type ErrataSchema = Schema<Query, Mutation, EmptySubscription>;

/// Facts the resolvers read.
#[derive(Debug)]
pub struct ServerFacts {
    /// When the process started.
    pub started: Instant,
    /// The storage.
    pub storage: Database,
    /// The identity domain, once the database has been reached.
    pub identity: std::sync::Arc<std::sync::OnceLock<Identity>>,
    /// The pages domain; usable once identity is set, which means the
    /// database has been migrated.
    pub pages: errata_pages::Pages,
    /// Outgoing mail; usable once identity is set.
    pub mail: errata_mail::Mail,
}

/// The schema with its data and async-graphql's defaults.
pub fn builder(
    facts: ServerFacts,
) -> async_graphql::SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query, Mutation, EmptySubscription).data(facts)
}

/// Builds the schema as the server runs it. errata's pipeline has already
/// validated every document with graphql-js's rules, so async-graphql's own
/// validation runs in its fast mode, which keeps only what execution needs.
pub fn build(facts: ServerFacts, introspection: bool, suggestions: bool) -> ErrataSchema {
    let mut builder = builder(facts).validation_mode(async_graphql::ValidationMode::Fast);
    if !introspection {
        builder = builder.disable_introspection();
    }
    if !suggestions {
        builder = builder.disable_suggestions();
    }
    builder.finish()
}

/// The schema's SDL, as validation and clients see it.
pub fn sdl() -> String {
    Schema::build(Query, Mutation, EmptySubscription)
        .finish()
        .sdl()
}

/// The root of queries.
#[derive(Debug, Default)]
pub struct Query;

#[Object]
impl Query {
    /// The error catalog this server raises its errors from.
    async fn catalog(&self) -> catalog::CatalogQuery {
        catalog::CatalogQuery
    }

    /// Facts about the running server.
    async fn system(&self) -> SystemQuery {
        SystemQuery
    }

    /// Users.
    async fn users(&self) -> users::UserQuery {
        users::UserQuery
    }

    /// Groups and their permissions.
    async fn groups(&self) -> groups::GroupQuery {
        groups::GroupQuery
    }

    /// OAuth clients.
    async fn oauth_clients(&self) -> clients::ClientQuery {
        clients::ClientQuery
    }

    /// The caller's API tokens (every token, with `manage:api`).
    #[graphql(directive = context::authenticated::apply())]
    async fn api_tokens(&self, ctx: &Context<'_>) -> Result<Option<Vec<tokens::ApiToken>>> {
        tokens::list(ctx).await
    }

    /// Pages, as Wiki.js 2.5 serves them.
    async fn pages(&self) -> Option<pages::PageQuery> {
        Some(pages::PageQuery)
    }

    /// Search engines.
    async fn search(&self) -> Option<search::SearchQuery> {
        Some(search::SearchQuery)
    }

    /// Mail settings, as Wiki.js 2.5 serves them.
    async fn mail(&self) -> Option<mail::MailQuery> {
        Some(mail::MailQuery)
    }

    /// The permissions a group, a token or a client can hold.
    async fn permissions(&self) -> Vec<&'static str> {
        errata_identity::Permission::ALL
            .iter()
            .map(|p| p.name())
            .collect()
    }
}

/// The root of mutations.
#[derive(Debug, Default)]
pub struct Mutation;

#[Object]
impl Mutation {
    /// Login, registration, sessions and two-factor authentication.
    async fn authentication(&self) -> auth::AuthenticationMutation {
        auth::AuthenticationMutation
    }

    /// User administration, and one's own password.
    async fn users(&self) -> users::UserMutation {
        users::UserMutation
    }

    /// Group administration.
    async fn groups(&self) -> groups::GroupMutation {
        groups::GroupMutation
    }

    /// OAuth client administration.
    async fn oauth_clients(&self) -> clients::ClientMutation {
        clients::ClientMutation
    }

    /// Pages.
    async fn pages(&self) -> Option<pages::PageMutation> {
        Some(pages::PageMutation)
    }

    /// Search engines.
    async fn search(&self) -> Option<search::SearchMutation> {
        Some(search::SearchMutation)
    }

    /// Mail settings and the test mail.
    async fn mail(&self) -> Option<mail::MailMutation> {
        Some(mail::MailMutation)
    }

    /// Creates an API token for the signed-in user, limited to
    /// `permissions` (a subset of the user's). The token is in `secret`,
    /// shown this once.
    #[graphql(directive = context::authenticated::apply())]
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        name: String,
        permissions: Vec<String>,
        #[graphql(default = 90)] expiration_days: i32,
    ) -> Result<tokens::ApiTokenResponse> {
        tokens::create(ctx, name, permissions, expiration_days).await
    }

    /// Revokes an API token: requests with it get 401 at once.
    #[graphql(directive = context::authenticated::apply())]
    async fn revoke_api_token(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> Result<tokens::ApiTokenResponse> {
        tokens::revoke(ctx, id).await
    }
}

/// Facts about the running server.
#[derive(Debug)]
pub struct SystemQuery;

#[Object]
impl SystemQuery {
    /// Version and uptime.
    async fn info(&self, ctx: &Context<'_>) -> Result<SystemInfo> {
        let facts = ctx.data::<ServerFacts>()?;
        Ok(SystemInfo {
            version: env!("CARGO_PKG_VERSION"),
            uptime: facts.started.elapsed().as_secs(),
            data_created_at: facts.storage.created_at().await?,
        })
    }
}

/// Version and uptime.
#[derive(Debug, SimpleObject)]
pub struct SystemInfo {
    /// The server's version.
    version: &'static str,
    /// Seconds since the process started.
    uptime: u64,
    /// When the data directory was first used (UTC).
    data_created_at: String,
}
