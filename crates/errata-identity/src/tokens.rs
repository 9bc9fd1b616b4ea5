//! API tokens (seed 001's `companyTokens`): long-lived JWTs a user creates
//! for scripts, limited to a subset of the user's permissions. The token is
//! shown once; the server keeps its id, never the token itself, and a
//! revoked or expired id stops it.

use errata_catalog::Error;
use errata_errors::security;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::jwt::{AUDIENCE, Claims, ISSUER, Kind};
use crate::permissions::Permissions;
use crate::users::db;
use crate::{Identity, Permission, Principal, now, secret};

/// An API token, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Id (the token's `jti`).
    pub id: String,
    /// The user it acts as.
    pub user_id: i64,
    /// A name to recognise it by.
    pub name: String,
    /// What it may do, at most.
    pub permissions: Permissions,
    /// Created (seconds).
    pub created_at: i64,
    /// Expires (seconds).
    pub expires_at: i64,
    /// Last used (seconds), written in batches.
    pub last_used_at: Option<i64>,
    /// Revoked (seconds).
    pub revoked_at: Option<i64>,
}

fn token_from_row(row: &AnyRow) -> Result<ApiToken, sqlx::Error> {
    Ok(ApiToken {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        permissions: Permissions::from_stored(&row.try_get::<String, _>("permissions")?),
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

/// Checks a display name for a token or a client.
pub(crate) fn check_label(name: &str) -> Result<String, Error> {
    crate::users::check_name(name)
}

impl Identity {
    /// Checks a lifetime in days against `max-token-days`.
    pub(crate) fn check_days(&self, days: i64) -> Result<i64, Error> {
        let max = self.config().max_token_days;
        if (1..=i64::from(max)).contains(&days) {
            Ok(days)
        } else {
            Err(security::expiration_invalid(max))
        }
    }

    /// Permissions a caller asks to hand on: known, and each one the
    /// caller has (`security.permission_not_grantable` names the first
    /// that is not).
    pub(crate) fn grantable(
        &self,
        caller: &Principal,
        names: &[String],
    ) -> Result<Permissions, Error> {
        let asked = Permissions::parse(names)?;
        if let Some(p) = asked.iter().find(|p| !caller.has(*p)) {
            return Err(security::permission_not_grantable(p.name()));
        }
        Ok(asked)
    }

    /// Creates an API token for the caller; returns it and the token
    /// itself, which is never shown again.
    pub async fn create_api_token(
        &self,
        caller: &Principal,
        name: &str,
        permissions: &[String],
        days: i64,
    ) -> Result<(ApiToken, String), Error> {
        let user = caller.session_user()?;
        let name = check_label(name)?;
        // The token dies with the session that made it: it carries the
        // generation that session was checked against, which must still be
        // the user's (a sign-out everywhere, a ban or a new password since
        // then would otherwise be outlived).
        let generation = caller.generation;
        let max = self.config().max_api_tokens;
        let permissions = self.grantable(caller, permissions)?;
        let days = self.check_days(days)?;
        let now = now();
        let id = secret::random_token();
        let expires_at = now + days * 86_400;
        // One statement checks the generation and the cap and inserts, so
        // neither a sign-out nor concurrent creations can slip between.
        let inserted = sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, permissions, created_at, expires_at) \
             SELECT $1, $2, $3, $4, $5, $6 FROM users u WHERE u.id = $2 AND u.generation = $7 \
             AND (SELECT COUNT(*) FROM api_tokens t WHERE t.user_id = $2 AND t.revoked_at IS NULL AND t.expires_at > $5) < $8",
        )
        .bind(&id)
        .bind(user)
        .bind(&name)
        .bind(permissions.to_stored())
        .bind(now)
        .bind(expires_at)
        .bind(generation)
        .bind(i64::from(max))
        .execute(self.pool())
        .await
        .map_err(db)?;
        if inserted.rows_affected() != 1 {
            let current: Option<i64> =
                sqlx::query_scalar("SELECT generation FROM users WHERE id = $1")
                    .bind(user)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(db)?;
            return Err(if current == Some(generation) {
                security::api_token_limit(max)
            } else {
                security::token_revoked()
            });
        }
        self.changed().await?;
        let token = self.signer().sign(&Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user.to_string(),
            iat: now,
            nbf: now,
            exp: expires_at,
            jti: id.clone(),
            knd: Kind::Api,
            generation,
            scope: Some(permissions.names().join(" ")),
            cid: None,
            ugen: None,
            auth: None,
        });
        Ok((self.api_token(caller, &id).await?, token))
    }

    /// The caller's API tokens; every token for `manage:api`.
    pub async fn api_tokens(&self, caller: &Principal) -> Result<Vec<ApiToken>, Error> {
        let user = caller.user()?;
        let all = caller.has(Permission::ManageApi);
        sqlx::query("SELECT * FROM api_tokens WHERE $1 OR user_id = $2 ORDER BY created_at, id")
            .bind(all)
            .bind(user)
            .fetch_all(self.pool())
            .await
            .map_err(db)?
            .iter()
            .map(|r| token_from_row(r).map_err(db))
            .collect()
    }

    /// One of the caller's API tokens (any, for `manage:api`).
    pub async fn api_token(&self, caller: &Principal, id: &str) -> Result<ApiToken, Error> {
        let user = caller.user()?;
        let all = caller.has(Permission::ManageApi);
        let row = sqlx::query("SELECT * FROM api_tokens WHERE id = $1 AND ($2 OR user_id = $3)")
            .bind(id)
            .bind(all)
            .bind(user)
            .fetch_optional(self.pool())
            .await
            .map_err(db)?
            .ok_or_else(security::api_token_not_found)?;
        token_from_row(&row).map_err(db)
    }

    /// Revokes an API token; requests with it get 401 at once. Only a
    /// session can (a token must not revoke its siblings), and another
    /// user's token only when that user is within the caller's reach.
    pub async fn revoke_api_token(&self, caller: &Principal, id: &str) -> Result<ApiToken, Error> {
        let user = caller.session_user()?;
        let token = self.api_token(caller, id).await?;
        if token.user_id != user {
            self.check_user_reach(caller, token.user_id).await?;
        }
        sqlx::query("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
            .bind(now())
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(db)?;
        self.changed().await?;
        self.api_token(caller, id).await
    }
}
