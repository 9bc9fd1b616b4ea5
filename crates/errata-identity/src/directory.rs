//! The in-memory snapshot a bearer token is checked against, so that
//! authenticating a request costs a signature check and a few map lookups.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::{AnyPool, Row};

use crate::page_rules::{CheckedRule, Grant, PageRule};
use crate::permissions::Permissions;

/// What a token's validity depends on.
#[derive(Debug)]
pub struct Directory {
    /// Users by id.
    pub users: HashMap<i64, UserState>,
    /// API tokens by id.
    pub api_tokens: HashMap<String, ApiTokenState>,
    /// OAuth clients by client id.
    pub clients: HashMap<String, ClientState>,
    /// The caller without a token, made once per snapshot.
    pub guest: crate::Principal,
    /// When the snapshot began to be read, in milliseconds since the
    /// epoch: a token issued since may name what it has not seen yet.
    pub loaded_at_ms: i64,
}

impl Default for Directory {
    /// Nobody: the guest has no permission until the first load.
    fn default() -> Directory {
        let users = HashMap::new();
        Directory {
            guest: crate::login::guest(&users),
            users,
            api_tokens: HashMap::new(),
            clients: HashMap::new(),
            loaded_at_ms: i64::MIN,
        }
    }
}

/// A user, as authentication sees them.
#[derive(Debug, Clone)]
pub struct UserState {
    /// Not banned.
    pub active: bool,
    /// Email verified.
    pub verified: bool,
    /// Bumped to revoke every session.
    pub generation: i64,
    /// The union of the groups' permissions.
    pub permissions: Permissions,
    /// Each group's grant, for page rules.
    pub grants: Arc<[Grant]>,
    /// `user:ID`, what every credential of the user is rate limited as.
    pub subject: Arc<str>,
}

/// An API token, as authentication sees it.
#[derive(Debug, Clone)]
pub struct ApiTokenState {
    /// Its creator, whom it acts as.
    pub user_id: i64,
    /// When it expires.
    pub expires_at: i64,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// An OAuth client, as authentication sees it.
#[derive(Debug, Clone)]
pub struct ClientState {
    /// The user it acts as.
    pub owner_id: i64,
    /// Bumped by rotation and expiry, which revoke its tokens.
    pub generation: i64,
    /// When it expires, if ever.
    pub expires_at: Option<i64>,
    /// What it may ask for.
    pub scopes: Permissions,
    /// Its secret's keyed hash: the token endpoint checks a known client's
    /// secret here, without a database round trip.
    pub secret_hash: Arc<str>,
    /// The owner's generation it was bound to when created or rotated.
    pub owner_generation: Option<i64>,
}

impl Directory {
    /// Reads everything from the database.
    pub async fn load(pool: &AnyPool) -> Result<Directory, sqlx::Error> {
        let loaded_at_ms = crate::now_ms();
        let mut grants: HashMap<i64, Grant> = HashMap::new();
        for row in sqlx::query("SELECT id, permissions, page_rules FROM groups")
            .fetch_all(pool)
            .await?
        {
            let id: i64 = row.try_get("id")?;
            grants.insert(
                id,
                group_grant(
                    &row.try_get::<String, _>("permissions")?,
                    &row.try_get::<String, _>("page_rules")?,
                ),
            );
        }
        let mut membership: HashMap<i64, Vec<i64>> = HashMap::new();
        for row in sqlx::query("SELECT user_id, group_id FROM user_groups ORDER BY group_id")
            .fetch_all(pool)
            .await?
        {
            membership
                .entry(row.try_get("user_id")?)
                .or_default()
                .push(row.try_get("group_id")?);
        }
        let mut users = HashMap::new();
        for row in sqlx::query("SELECT id, is_active, is_verified, generation FROM users")
            .fetch_all(pool)
            .await?
        {
            let id: i64 = row.try_get("id")?;
            let user_grants: Vec<Grant> = membership
                .get(&id)
                .into_iter()
                .flatten()
                .filter_map(|g| grants.get(g).cloned())
                .collect();
            let permissions = user_grants
                .iter()
                .fold(Permissions::NONE, |acc, g| acc.union(g.permissions()));
            users.insert(
                id,
                UserState {
                    active: errata_store::flag(&row, "is_active")?,
                    verified: errata_store::flag(&row, "is_verified")?,
                    generation: row.try_get("generation")?,
                    permissions,
                    grants: user_grants.into(),
                    subject: Arc::from(format!("user:{id}")),
                },
            );
        }
        let mut api_tokens = HashMap::new();
        for row in sqlx::query("SELECT id, user_id, expires_at, revoked_at FROM api_tokens")
            .fetch_all(pool)
            .await?
        {
            api_tokens.insert(
                row.try_get("id")?,
                ApiTokenState {
                    user_id: row.try_get("user_id")?,
                    expires_at: row.try_get("expires_at")?,
                    revoked: row.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
                },
            );
        }
        let mut clients = HashMap::new();
        for row in sqlx::query(
            "SELECT id, owner_id, generation, expires_at, scopes, secret_hash, owner_generation \
             FROM oauth_clients",
        )
        .fetch_all(pool)
        .await?
        {
            clients.insert(
                row.try_get("id")?,
                ClientState {
                    owner_id: row.try_get("owner_id")?,
                    generation: row.try_get("generation")?,
                    expires_at: row.try_get("expires_at")?,
                    scopes: Permissions::from_stored(&row.try_get::<String, _>("scopes")?),
                    secret_hash: Arc::from(row.try_get::<String, _>("secret_hash")?),
                    owner_generation: row.try_get("owner_generation")?,
                },
            );
        }
        let guest = crate::login::guest(&users);
        Ok(Directory {
            users,
            api_tokens,
            clients,
            guest,
            loaded_at_ms,
        })
    }
}

/// Every permission a stored group has a say in: its own and every one its
/// rules name, valid or not, so that reach is never underestimated.
pub fn stored_reach(permissions: &str, page_rules: &str) -> Permissions {
    let rules: Vec<PageRule> = serde_json::from_str(page_rules).unwrap_or_default();
    crate::page_rules::reach(Permissions::from_stored(permissions), &rules)
}

/// A group's grant from its stored JSON, its fingerprint made once here
/// rather than on every request. The JSON was checked when it was
/// written; anything that no longer reads or checks (a rule a later version
/// refuses) makes the group grant nothing, rather than silently dropping a
/// deny and failing open.
pub fn group_grant(permissions: &str, page_rules: &str) -> Grant {
    let Ok(rules) = serde_json::from_str::<Vec<PageRule>>(page_rules) else {
        return Grant::default();
    };
    let checked: Result<Vec<CheckedRule>, _> =
        rules.iter().enumerate().map(|(i, r)| r.check(i)).collect();
    match checked {
        Ok(rules) => Grant::new(Permissions::from_stored(permissions), rules.into()),
        Err(_) => Grant::default(),
    }
}
