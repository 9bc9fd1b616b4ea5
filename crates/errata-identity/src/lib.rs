//! Identity: who is calling and what they may do. Users and their
//! passwords (argon2id), login with TFA (TOTP), brute-force lockouts,
//! sessions, API tokens and OAuth client tokens (JWTs), groups,
//! permissions and page rules.
//!
//! Every failure is a catalog error (`errata-errors`); the GraphQL schema
//! and the HTTP handlers in `errata-server` only render them.
//!
//! Must never depend on the HTTP or GraphQL layers (axum, async-graphql,
//! `errata-graphql`, `errata-server`): identity is the domain, and the same
//! calls serve the API and the command line.
//!
//! Checking a bearer token reads no database: the state a token depends on
//! (users' status and generation, groups, API tokens, clients) is held in
//! an in-memory [`directory`] snapshot, replaced after every change.

pub mod brute;
pub mod clients;
pub mod directory;
pub mod groups;
pub mod jwt;
pub mod login;
pub mod mail;
pub mod password;
pub mod permissions;
pub mod principal;
pub mod secret;
pub mod tfa;
pub mod tokens;
pub mod users;

use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use errata_catalog::Error;
use errata_errors::system;
use serde::Deserialize;
use sqlx::SqlitePool;

pub use directory::Directory;
pub use permissions::{Grant, PageRule, Permission, Permissions};
pub use principal::{Principal, PrincipalKind};

/// Settings of the identity domain (`[auth]` in the server's configuration).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct AuthConfig {
    /// How long a session from login lasts, in seconds; renew it before.
    pub session_ttl_secs: u64,
    /// How long a session can be renewed for after the login that started
    /// it, in seconds; then the user must log in again.
    pub session_max_age_secs: u64,
    /// How long an OAuth client's access token lasts, in seconds.
    pub client_token_ttl_secs: u64,
    /// Longest life of an API token or an OAuth client, in days.
    pub max_token_days: u32,
    /// Life of an OAuth client created without one, in days (at most
    /// `max_token_days`).
    pub client_default_days: u32,
    /// API tokens a user may hold that are neither revoked nor expired.
    pub max_api_tokens: u32,
    /// Registrations one address (an IPv6 /64) may make before it is held
    /// off as failed logins are; every registration counts.
    pub registrations_per_address: u32,
    /// Whether anyone may register.
    pub registration: bool,
    /// Email domains allowed to register; empty allows every domain.
    pub registration_domains: Vec<String>,
    /// The HS256 key, for instances that share a database; at least 32
    /// characters. When unset, a random key is made once and kept in the
    /// database.
    pub jwt_secret: Option<String>,
    /// Brute-force protection.
    pub brute_force: brute::BruteConfig,
    /// Password hashes computed at once (argon2id, 19 MiB each); one per
    /// core when unset.
    pub password_slots: Option<usize>,
    /// Password checks waiting for a slot; past them, callers get
    /// `PasswordCheckBusy` (503). Eight per slot when unset.
    pub password_queue: Option<usize>,
    /// How often, in seconds, the directory is read again from the
    /// database, so that changes made elsewhere (the command line, another
    /// instance) reach this process's bearer checks.
    pub directory_refresh_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> AuthConfig {
        AuthConfig {
            session_ttl_secs: 3600,
            session_max_age_secs: 14 * 86_400,
            client_token_ttl_secs: 3600,
            max_token_days: 365,
            client_default_days: 90,
            max_api_tokens: 100,
            registrations_per_address: 10,
            registration: false,
            registration_domains: Vec::new(),
            jwt_secret: None,
            brute_force: brute::BruteConfig::default(),
            password_slots: None,
            password_queue: None,
            directory_refresh_secs: 5,
        }
    }
}

/// The identity domain over the server's database.
#[derive(Debug, Clone)]
pub struct Identity {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: SqlitePool,
    config: AuthConfig,
    signer: jwt::Signer,
    hasher: secret::SecretHasher,
    directory: RwLock<Arc<Directory>>,
    /// Serializes directory reloads, so an older snapshot never replaces a newer one.
    reloading: tokio::sync::Mutex<()>,
    /// API tokens used since the last flush, by id: `lastUsed` is written
    /// in batches, not on every request.
    used: Mutex<std::collections::HashMap<String, i64>>,
    /// Tokens whose signature was checked, by the hash of their text.
    verified: Mutex<VerifiedTokens>,
    /// Tokens refused for good (malformed, badly signed, expired), with the
    /// refusal, so a client retrying a dead token is answered from memory.
    refused: Mutex<RefusedTokens>,
    hash_state: std::hash::RandomState,
    mailer: mail::Mailer,
    /// Bounds the argon2 work running and waiting at once.
    passwords: password::Gate,
}

/// Verified tokens by the hash of their text, with the text.
type VerifiedTokens = lru::LruCache<u64, (Arc<str>, Arc<jwt::Claims>)>;

/// Refused tokens by the hash of their text, with the text and the refusal.
type RefusedTokens = lru::LruCache<u64, (Arc<str>, Error)>;

/// Refused tokens remembered.
const REFUSED_TOKENS: usize = 1024;

/// Verified tokens remembered, so that a client sending the same token
/// again costs a lookup instead of a signature check.
const VERIFIED_TOKENS: usize = 4096;

/// The id of the system group every administrator is in.
pub const ADMINISTRATORS: i64 = 1;
/// The id of the system group anonymous callers get.
pub const GUESTS: i64 = 2;
/// The id of the group new users join.
pub const USERS: i64 = 3;
/// The id of the guest account.
pub const GUEST_USER: i64 = 1;

impl Identity {
    /// Opens the domain over `pool` (already migrated): creates the system
    /// groups, the guest account and the keys on first use, and loads the
    /// directory. Mail goes to files in `data/mail`.
    pub async fn open(
        pool: SqlitePool,
        config: AuthConfig,
        data: &Path,
    ) -> Result<Identity, Error> {
        let db = |e: sqlx::Error| system::database_unavailable().with_source(e);
        seed(&pool).await.map_err(db)?;
        let jwt_key = match &config.jwt_secret {
            Some(secret) if secret.len() >= 32 => secret.as_bytes().to_vec(),
            Some(_) => {
                return Err(system::internal().with_source(std::io::Error::other(
                    "auth.jwt-secret must have at least 32 characters",
                )));
            }
            None => stored_key(&pool, "jwt").await.map_err(db)?,
        };
        let hash_key = stored_key(&pool, "secret-hash").await.map_err(db)?;
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let identity = Identity {
            inner: Arc::new(Inner {
                pool,
                signer: jwt::Signer::new(&jwt_key),
                hasher: secret::SecretHasher::new(&hash_key),
                directory: RwLock::new(Arc::new(Directory::default())),
                reloading: tokio::sync::Mutex::new(()),
                used: Mutex::new(std::collections::HashMap::new()),
                verified: Mutex::new(lru::LruCache::new(
                    std::num::NonZeroUsize::new(VERIFIED_TOKENS).expect("a constant above zero"),
                )),
                refused: Mutex::new(lru::LruCache::new(
                    std::num::NonZeroUsize::new(REFUSED_TOKENS).expect("a constant above zero"),
                )),
                hash_state: std::hash::RandomState::new(),
                mailer: mail::Mailer::new(data.join("mail")),
                passwords: password::Gate::new(
                    config.password_slots.unwrap_or(cores),
                    config.password_queue.unwrap_or(8 * cores),
                ),
                config,
            }),
        };
        identity.reload().await?;
        Ok(identity)
    }

    /// The settings.
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    fn pool(&self) -> &SqlitePool {
        &self.inner.pool
    }

    /// Runs argon2 work through the server-wide gate, off the async workers.
    pub(crate) async fn argon2<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        self.inner.passwords.run(work).await
    }

    /// The current directory snapshot.
    pub fn directory(&self) -> Arc<Directory> {
        Arc::clone(
            &self
                .inner
                .directory
                .read()
                .unwrap_or_else(|e| e.into_inner()),
        )
    }

    /// Reloads the directory from the database; every change calls it.
    pub async fn reload(&self) -> Result<(), Error> {
        let _guard = self.inner.reloading.lock().await;
        let fresh = Directory::load(self.pool())
            .await
            .map_err(|e| system::database_unavailable().with_source(e))?;
        *self
            .inner
            .directory
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
        Ok(())
    }

    /// Forgets what has expired: one-time tokens, failed-login counters
    /// older than the longest lockout, registrations never verified in
    /// time, and networks not seen for a year. The server calls it with
    /// every directory refresh, so none of these tables grows without end.
    pub async fn purge(&self) -> Result<(), Error> {
        let now = now();
        let window = i64::try_from(self.config().brute_force.max_wait_secs).unwrap_or(i64::MAX);
        let db = |e: sqlx::Error| system::database_unavailable().with_source(e);
        sqlx::query("DELETE FROM one_time_tokens WHERE expires_at <= ?")
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(db)?;
        sqlx::query(
            "DELETE FROM login_attempts WHERE locked_until <= ?1 AND last_failure <= ?1 - ?2",
        )
        .bind(now)
        .bind(window)
        .execute(self.pool())
        .await
        .map_err(db)?;
        sqlx::query("DELETE FROM known_networks WHERE last_seen <= ?")
            .bind(now - 365 * 86_400)
            .execute(self.pool())
            .await
            .map_err(db)?;
        let expired = sqlx::query(
            "DELETE FROM users WHERE is_verified = 0 AND is_system = 0 AND created_at <= ? \
             AND id NOT IN (SELECT owner_id FROM oauth_clients)",
        )
        .bind(now - users::VERIFY_TTL)
        .execute(self.pool())
        .await
        .map_err(db)?;
        if expired.rows_affected() > 0 {
            self.reload().await?;
        }
        Ok(())
    }

    /// Writes the `lastUsed` times gathered since the last call.
    pub async fn flush_last_used(&self) -> Result<(), Error> {
        let used = std::mem::take(&mut *self.inner.used.lock().unwrap_or_else(|e| e.into_inner()));
        for (id, at) in used {
            sqlx::query("UPDATE api_tokens SET last_used_at = MAX(COALESCE(last_used_at, 0), ?) WHERE id = ?")
                .bind(at)
                .bind(&id)
                .execute(self.pool())
                .await
                .map_err(|e| system::database_unavailable().with_source(e))?;
        }
        Ok(())
    }

    fn note_used(&self, token_id: &str) {
        let mut used = self.inner.used.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = used.get_mut(token_id) {
            *at = now();
        } else {
            used.insert(token_id.to_owned(), now());
        }
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The system groups and the guest account, once.
async fn seed(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    let now = now();
    let groups: [(i64, &str, &[&str]); 3] = [
        (ADMINISTRATORS, "Administrators", &["manage:system"]),
        (
            GUESTS,
            "Guests",
            &["read:pages", "read:assets", "read:comments"],
        ),
        (
            USERS,
            "Users",
            &[
                "read:pages",
                "read:source",
                "read:history",
                "read:assets",
                "read:comments",
                "write:comments",
            ],
        ),
    ];
    for (id, name, permissions) in groups {
        sqlx::query(
            "INSERT OR IGNORE INTO groups (id, name, permissions, page_rules, is_system, created_at, updated_at) VALUES (?, ?, ?, '[]', ?, ?, ?)",
        )
        .bind(id)
        .bind(name)
        .bind(serde_json::to_string(permissions).unwrap_or_default())
        .bind(id != USERS)
        .bind(now)
        .bind(now)
        .execute(pool)
        .await?;
    }
    sqlx::query(
        "INSERT OR IGNORE INTO users (id, email, name, provider, is_active, is_verified, is_system, created_at, updated_at) VALUES (?, 'guest@errata.invalid', 'Guest', 'local', 1, 1, 1, ?, ?)",
    )
    .bind(GUEST_USER)
    .bind(now)
    .bind(now)
    .execute(pool)
    .await?;
    sqlx::query("INSERT OR IGNORE INTO user_groups (user_id, group_id) VALUES (?, ?)")
        .bind(GUEST_USER)
        .bind(GUESTS)
        .execute(pool)
        .await?;
    Ok(())
}

/// A random 32-byte key kept in the database under `name`.
async fn stored_key(pool: &SqlitePool, name: &str) -> Result<Vec<u8>, sqlx::Error> {
    sqlx::query("INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)")
        .bind(name)
        .bind(secret::random_bytes::<32>().to_vec())
        .execute(pool)
        .await?;
    sqlx::query_scalar("SELECT value FROM secrets WHERE name = ?")
        .bind(name)
        .fetch_one(pool)
        .await
}
