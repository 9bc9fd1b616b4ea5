//! OAuth 2.0 clients (RFC 6749 §4.4, client credentials): a client acts as
//! the user who owns it, within its scopes. Secrets are stored as keyed
//! hashes and compared in constant time.

use std::sync::Arc;

use errata_catalog::Error;
use errata_errors::{auth, oauth, security};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::jwt::{AUDIENCE, Claims, ISSUER, Kind};
use crate::permissions::{Permission, Permissions};
use crate::users::db;
use crate::{ADMINISTRATORS, Identity, Principal, PrincipalKind, now, secret};

/// An OAuth client, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    /// The client id.
    pub id: String,
    /// A name to recognise it by.
    pub name: String,
    /// The scopes it may ask for.
    pub scopes: Permissions,
    /// The user it acts as.
    pub owner_id: i64,
    /// Created (seconds).
    pub created_at: i64,
    /// Expires (seconds), if ever.
    pub expires_at: Option<i64>,
    /// Days it lives after creation or rotation, if it expires.
    pub lifetime_days: Option<i64>,
    /// Last secret rotation (seconds).
    pub rotated_at: Option<i64>,
}

impl OAuthClient {
    /// Whether it has expired at `now`.
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

fn client_from_row(row: &AnyRow) -> Result<OAuthClient, sqlx::Error> {
    Ok(OAuthClient {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        scopes: Permissions::from_stored(&row.try_get::<String, _>("scopes")?),
        owner_id: row.try_get("owner_id")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        lifetime_days: row.try_get("lifetime_days")?,
        rotated_at: row.try_get("rotated_at")?,
    })
}

/// An access token from the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The JWT.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// The scopes granted, space-separated.
    pub scope: String,
}

/// Longest client id and secret the token endpoint looks at.
pub const MAX_CLIENT_ID: usize = 128;
/// See `MAX_CLIENT_ID`.
pub const MAX_CLIENT_SECRET: usize = 256;

impl Identity {
    /// Creates a client acting as `owner`, limited to `scopes`, living
    /// `days` (`auth.client-default-days` when `None`, at most
    /// `auth.max-token-days`). Returns it and its secret, which is never
    /// shown again.
    pub async fn create_client(
        &self,
        owner: i64,
        name: &str,
        scopes: Permissions,
        days: Option<i64>,
    ) -> Result<(OAuthClient, String), Error> {
        self.insert_client(owner, None, name, scopes, days).await
    }

    /// Inserts a client bound to `generation` of its owner (their current
    /// one when `None`); a generation that is no longer the owner's is
    /// `security.token_revoked`, checked in the same statement.
    async fn insert_client(
        &self,
        owner: i64,
        generation: Option<i64>,
        name: &str,
        scopes: Permissions,
        days: Option<i64>,
    ) -> Result<(OAuthClient, String), Error> {
        let name = crate::tokens::check_label(name)?;
        let max = i64::from(self.config().max_token_days);
        let default = i64::from(self.config().client_default_days).clamp(1, max.max(1));
        let days = Some(self.check_days(days.unwrap_or(default))?);
        self.user(owner).await?;
        let id = secret::hex(&secret::random_bytes::<12>());
        let secret = secret::random_token();
        let now = now();
        let inserted = sqlx::query(
            "INSERT INTO oauth_clients (id, name, secret_hash, scopes, owner_id, owner_generation, created_at, expires_at, lifetime_days) \
             SELECT $1, $2, $3, $4, $5, u.generation, $6, $7, $8 FROM users u \
             WHERE u.id = $5 AND ($9 IS NULL OR u.generation = $9)",
        )
        .bind(&id)
        .bind(&name)
        .bind(self.hasher().hash(&secret))
        .bind(scopes.to_stored())
        .bind(owner)
        .bind(now)
        .bind(days.map(|d| now + d * 86_400))
        .bind(days)
        .bind(generation)
        .execute(self.pool())
        .await
        .map_err(db)?;
        if inserted.rows_affected() != 1 {
            return Err(security::token_revoked());
        }
        self.changed().await?;
        Ok((self.client(&id).await?, secret))
    }

    /// Creates a client for the caller, with scopes the caller has. Only a
    /// session can: a client made with a token would outlive the token's
    /// revocation.
    pub async fn create_client_for(
        &self,
        caller: &Principal,
        name: &str,
        scopes: &[String],
        days: Option<i64>,
    ) -> Result<(OAuthClient, String), Error> {
        let owner = caller.session_user()?;
        let scopes = self.grantable(caller, scopes)?;
        // Bound to the session that made it: a session the owner has ended
        // since it was checked cannot bind a client to their new password.
        self.insert_client(owner, Some(caller.generation), name, scopes, days)
            .await
    }

    /// The first administrator, who owns clients made from the command line.
    pub async fn first_administrator(&self) -> Result<i64, Error> {
        sqlx::query_scalar(
            "SELECT u.id FROM users u JOIN user_groups ug ON ug.user_id = u.id WHERE ug.group_id = $1 AND u.is_system = 0 ORDER BY u.id LIMIT 1",
        )
        .bind(ADMINISTRATORS)
        .fetch_optional(self.pool())
        .await
        .map_err(db)?
        .ok_or_else(auth::user_not_found)
    }

    /// One client; `security.credential_not_found` ("Credential not found").
    pub async fn client(&self, id: &str) -> Result<OAuthClient, Error> {
        let row = sqlx::query("SELECT * FROM oauth_clients WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(db)?
            .ok_or_else(security::credential_not_found)?;
        client_from_row(&row).map_err(db)
    }

    /// Every client.
    pub async fn clients(&self) -> Result<Vec<OAuthClient>, Error> {
        sqlx::query("SELECT * FROM oauth_clients ORDER BY created_at, id")
            .fetch_all(self.pool())
            .await
            .map_err(db)?
            .iter()
            .map(|r| client_from_row(r).map_err(db))
            .collect()
    }

    /// `Ok` when `by` may change `client`: its secret acts as its owner
    /// within its scopes, so a client reaching further than `by` holds
    /// needs `manage:system`.
    async fn check_client_reach(&self, by: &Principal, client: &OAuthClient) -> Result<(), Error> {
        let (owner_reach, _) = self.user_reach(client.owner_id).await?;
        by.check_outranks(
            &format!("the client \"{}\"", client.name),
            client.scopes.within(owner_reach),
        )
    }

    /// Expires a client now; its tokens stop working.
    pub async fn expire_client(&self, by: &Principal, id: &str) -> Result<OAuthClient, Error> {
        let client = self.client(id).await?;
        self.check_client_reach(by, &client).await?;
        sqlx::query(
            "UPDATE oauth_clients SET expires_at = $1, generation = generation + 1 WHERE id = $2",
        )
        .bind(now())
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(db)?;
        self.changed().await?;
        self.client(id).await
    }

    /// Gives a client a new secret. The old secret and every token issued
    /// with it stop working; an expired client lives again for its lifetime.
    pub async fn rotate_client(
        &self,
        by: &Principal,
        id: &str,
    ) -> Result<(OAuthClient, String), Error> {
        let client = self.client(id).await?;
        self.check_client_reach(by, &client).await?;
        // The owner rotating binds the client to the generation their
        // credential was checked under, which must still be theirs; anyone
        // else binds it to the owner's current one.
        let required = (by.kind != PrincipalKind::Operator && by.user_id == client.owner_id)
            .then_some(by.generation);
        let secret = secret::random_token();
        let now = now();
        let rotated = sqlx::query(
            "UPDATE oauth_clients SET secret_hash = $1, generation = generation + 1, rotated_at = $2, \
             owner_generation = (SELECT generation FROM users WHERE id = owner_id), \
             expires_at = CASE WHEN lifetime_days IS NULL THEN NULL ELSE $2 + lifetime_days * 86400 END \
             WHERE id = $3 AND ($4 IS NULL OR $4 = (SELECT generation FROM users WHERE id = owner_id))",
        )
        .bind(self.hasher().hash(&secret))
        .bind(now)
        .bind(id)
        .bind(required)
        .execute(self.pool())
        .await
        .map_err(db)?;
        if rotated.rows_affected() != 1 {
            return Err(security::token_revoked());
        }
        self.changed().await?;
        Ok((self.client(id).await?, secret))
    }

    /// The token endpoint's work: checks the client's credentials and the
    /// scope asked for, and issues an access token. Every refusal is one of
    /// the catalog's `oauth.*` errors.
    pub async fn issue_client_token(
        &self,
        client_id: &str,
        client_secret: &str,
        scope: Option<&str>,
    ) -> Result<IssuedToken, Error> {
        // A client the snapshot knows is checked without a database round
        // trip; one it does not (made a moment ago by the command line or
        // another instance, or unknown) is read from the database.
        let known = self.directory().clients.get(client_id).map(|c| {
            (
                c.owner_id,
                c.scopes,
                c.expires_at,
                Arc::clone(&c.secret_hash),
                c.generation,
                c.owner_generation,
            )
        });
        let client = match known {
            Some(known) => Some(known),
            None => {
                let row = sqlx::query("SELECT * FROM oauth_clients WHERE id = $1")
                    .bind(client_id)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(db)?;
                match &row {
                    Some(row) => {
                        let client = client_from_row(row).map_err(db)?;
                        Some((
                            client.owner_id,
                            client.scopes,
                            client.expires_at,
                            Arc::from(row.try_get::<String, _>("secret_hash").map_err(db)?),
                            row.try_get::<i64, _>("generation").map_err(db)?,
                            row.try_get::<Option<i64>, _>("owner_generation")
                                .map_err(db)?,
                        ))
                    }
                    None => None,
                }
            }
        };
        // An unknown id costs the same hash as a wrong secret.
        let (owner_id, scopes, expires_at, generation, bound_to) = match client {
            Some((owner_id, scopes, expires_at, hash, generation, bound_to))
                if self.hasher().verify(client_secret, &hash) =>
            {
                (owner_id, scopes, expires_at, generation, bound_to)
            }
            Some(_) => return Err(oauth::invalid_client::credentials_invalid()),
            None => {
                let _ = self.hasher().verify(client_secret, "");
                return Err(oauth::invalid_client::credentials_invalid());
            }
        };
        let now = now();
        if expires_at.is_some_and(|at| at <= now) {
            return Err(oauth::invalid_client::expired());
        }
        // A client made by another process may have an owner the snapshot
        // has not seen yet.
        if !self.directory().users.contains_key(&owner_id) {
            self.reload_since(crate::now_ms()).await?;
        }
        let owner_generation = match self.directory().users.get(&owner_id) {
            Some(o) if o.active && o.verified => o.generation,
            _ => return Err(oauth::unauthorized_client::owner_disabled()),
        };
        if bound_to != Some(owner_generation) {
            return Err(oauth::invalid_client::owner_signed_out());
        }
        let granted = match scope.map(str::trim).filter(|s| !s.is_empty()) {
            None => scopes,
            Some(asked) => {
                let mut granted = Permissions::NONE;
                for name in asked.split(' ').filter(|s| !s.is_empty()) {
                    let shown: String = name.chars().take(64).collect();
                    let p = Permission::parse(name)
                        .ok_or_else(|| oauth::invalid_scope::unknown(shown.clone()))?;
                    if !scopes.has_exactly(p) {
                        return Err(oauth::invalid_scope::not_allowed(shown));
                    }
                    granted.insert(p);
                }
                granted
            }
        };
        let ttl = self.config().client_token_ttl_secs;
        let scope = granted.names().join(" ");
        let access_token = self.signer().sign(&Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: owner_id.to_string(),
            iat: now,
            nbf: now,
            exp: now + i64::try_from(ttl).unwrap_or(3600),
            jti: secret::random_id(),
            knd: Kind::Client,
            generation,
            scope: Some(scope.clone()),
            cid: Some(client_id.to_owned()),
            ugen: Some(owner_generation),
            auth: None,
        });
        Ok(IssuedToken {
            access_token,
            expires_in: ttl,
            scope,
        })
    }
}
