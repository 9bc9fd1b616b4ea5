//! OAuth client administration (seed 002): clients get tokens from
//! `POST /oauth/token` with the client credentials grant.

use async_graphql::{Context, Object, Result, SimpleObject};
use errata_identity::Permission;

use super::context::{Needs, ResponseStatus, identity, requires, settle, timestamp};

/// An OAuth client (never its secret, which is shown once).
#[derive(Debug, Clone)]
pub struct OAuthClient(pub errata_identity::clients::OAuthClient);

#[Object]
impl OAuthClient {
    /// The client id.
    async fn client_id(&self) -> &str {
        &self.0.id
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Scopes it may ask for.
    async fn scopes(&self) -> Vec<String> {
        self.0.scopes.names()
    }
    /// The user it acts as.
    async fn owner_id(&self) -> i64 {
        self.0.owner_id
    }
    /// Created (RFC 3339).
    async fn created_at(&self) -> String {
        timestamp(self.0.created_at)
    }
    /// Expires (RFC 3339), if ever.
    async fn expires_at(&self) -> Option<String> {
        self.0.expires_at.map(timestamp)
    }
    /// Whether it has expired.
    async fn expired(&self) -> bool {
        self.0.is_expired(errata_identity::now())
    }
    /// Last secret rotation (RFC 3339).
    async fn rotated_at(&self) -> Option<String> {
        self.0.rotated_at.map(timestamp)
    }
}

/// A client mutation's status, the client, and a new secret when there is one.
#[derive(Debug, SimpleObject)]
pub struct ClientResponse {
    /// How it went.
    pub response_result: ResponseStatus,
    /// The client.
    pub client: Option<OAuthClient>,
    /// The secret, only in the answers to `create` and `rotateSecret`.
    pub client_secret: Option<String>,
}

/// Client queries.
#[derive(Debug)]
pub struct ClientQuery;

#[Object]
impl ClientQuery {
    /// Every client.
    #[graphql(guard = "Needs(Permission::ManageApi)", directive = requires::apply("manage:api".into()))]
    async fn list(&self, ctx: &Context<'_>) -> Result<Option<Vec<OAuthClient>>> {
        Ok(Some(
            identity(ctx)?
                .clients()
                .await?
                .into_iter()
                .map(OAuthClient)
                .collect(),
        ))
    }

    /// One client; NOT_FOUND "Credential not found" when there is none.
    #[graphql(guard = "Needs(Permission::ManageApi)", directive = requires::apply("manage:api".into()))]
    async fn single(&self, ctx: &Context<'_>, client_id: String) -> Result<Option<OAuthClient>> {
        Ok(Some(OAuthClient(identity(ctx)?.client(&client_id).await?)))
    }
}

/// Client mutations.
#[derive(Debug)]
pub struct ClientMutation;

#[Object]
impl ClientMutation {
    /// Creates a client acting as the caller, with scopes the caller has.
    #[graphql(guard = "Needs(Permission::ManageApi)", directive = requires::apply("manage:api".into()))]
    async fn create(
        &self,
        ctx: &Context<'_>,
        name: String,
        scopes: Vec<String>,
        expires_in_days: Option<i32>,
    ) -> Result<Option<ClientResponse>> {
        let caller = super::context::caller(ctx)?;
        let result = identity(ctx)?
            .create_client_for(caller, &name, &scopes, expires_in_days.map(i64::from))
            .await;
        let (status, created) = settle(
            ctx,
            result,
            "Client created: copy the secret now, it is not shown again.",
        )?;
        let (client, secret) = created.unzip();
        Ok(Some(ClientResponse {
            response_result: status,
            client: client.map(OAuthClient),
            client_secret: secret,
        }))
    }

    /// Expires a client now; its tokens stop working.
    #[graphql(guard = "Needs(Permission::ManageApi)", directive = requires::apply("manage:api".into()))]
    async fn expire(&self, ctx: &Context<'_>, client_id: String) -> Result<Option<ClientResponse>> {
        let result = identity(ctx)?
            .expire_client(super::context::caller(ctx)?, &client_id)
            .await;
        let (status, client) = settle(ctx, result, "Client expired")?;
        Ok(Some(ClientResponse {
            response_result: status,
            client: client.map(OAuthClient),
            client_secret: None,
        }))
    }

    /// Gives a client a new secret; the old one, and its tokens, stop working.
    #[graphql(guard = "Needs(Permission::ManageApi)", directive = requires::apply("manage:api".into()))]
    async fn rotate_secret(
        &self,
        ctx: &Context<'_>,
        client_id: String,
    ) -> Result<Option<ClientResponse>> {
        let result = identity(ctx)?
            .rotate_client(super::context::caller(ctx)?, &client_id)
            .await;
        let (status, rotated) = settle(
            ctx,
            result,
            "Secret rotated: copy it now, it is not shown again.",
        )?;
        let (client, secret) = rotated.unzip();
        Ok(Some(ClientResponse {
            response_result: status,
            client: client.map(OAuthClient),
            client_secret: secret,
        }))
    }
}
