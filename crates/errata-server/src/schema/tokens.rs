//! API tokens, as seed 001's `companyTokens`.

use async_graphql::{Context, Object, Result, SimpleObject};

use super::context::{ResponseStatus, caller, identity, settle, timestamp};

/// An API token (never the token itself, which is shown once).
#[derive(Debug, Clone)]
pub struct ApiToken(pub errata_identity::tokens::ApiToken);

#[Object]
impl ApiToken {
    /// Id (the token's `jti`).
    async fn id(&self) -> &str {
        &self.0.id
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What it may do, at most (never more than its user).
    async fn permissions(&self) -> Vec<String> {
        self.0.permissions.names()
    }
    /// The user it acts as.
    async fn user_id(&self) -> i64 {
        self.0.user_id
    }
    /// Created (RFC 3339).
    async fn created(&self) -> String {
        timestamp(self.0.created_at)
    }
    /// Expires (RFC 3339).
    async fn expiration(&self) -> String {
        timestamp(self.0.expires_at)
    }
    /// Last used (RFC 3339), to within a few seconds.
    async fn last_used(&self) -> Option<String> {
        self.0.last_used_at.map(timestamp)
    }
    /// Whether it was revoked.
    async fn revoked(&self) -> bool {
        self.0.revoked_at.is_some()
    }
}

/// An API token mutation's status, the token, and at creation its secret.
#[derive(Debug, SimpleObject)]
pub struct ApiTokenResponse {
    /// How it went.
    pub response_result: ResponseStatus,
    /// The token's record.
    pub token: Option<ApiToken>,
    /// The bearer token itself, only in the answer to `createApiToken`.
    pub secret: Option<String>,
}

pub(super) async fn list(ctx: &Context<'_>) -> Result<Option<Vec<ApiToken>>> {
    let caller = caller(ctx)?;
    caller.user()?;
    let identity = identity(ctx)?;
    identity.flush_last_used().await?;
    Ok(Some(
        identity
            .api_tokens(caller)
            .await?
            .into_iter()
            .map(ApiToken)
            .collect(),
    ))
}

pub(super) async fn create(
    ctx: &Context<'_>,
    name: String,
    permissions: Vec<String>,
    days: i32,
) -> Result<ApiTokenResponse> {
    let caller = caller(ctx)?;
    caller.session_user()?;
    let result = identity(ctx)?
        .create_api_token(caller, &name, &permissions, i64::from(days))
        .await;
    let (status, created) = settle(
        ctx,
        result,
        "API token created: copy it now, it is not shown again.",
    )?;
    let (token, secret) = created.unzip();
    Ok(ApiTokenResponse {
        response_result: status,
        token: token.map(ApiToken),
        secret,
    })
}

pub(super) async fn revoke(ctx: &Context<'_>, id: String) -> Result<ApiTokenResponse> {
    let caller = caller(ctx)?;
    caller.user()?;
    let result = identity(ctx)?.revoke_api_token(caller, &id).await;
    let (status, token) = settle(ctx, result, "API token revoked")?;
    Ok(ApiTokenResponse {
        response_result: status,
        token: token.map(ApiToken),
        secret: None,
    })
}
