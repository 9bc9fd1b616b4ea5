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
pub mod page_rules;
pub mod password;
pub mod permissions;
pub mod principal;
pub mod secret;
pub mod tfa;
pub mod tokens;
pub mod users;

use std::sync::{Arc, Mutex, RwLock};

use errata_catalog::Error;
use errata_errors::system;
use errata_store::{Backend, Database, Domain, Migration};
use serde::Deserialize;
use sqlx::AnyPool;

pub use directory::Directory;
pub use page_rules::{Grant, PageRule, PageTarget, RuleMatch};
pub use permissions::{Permission, Permissions};
pub use principal::{Principal, PrincipalKind};

/// Identity's tables and their migrations, for each backend.
pub const STORAGE: Domain = Domain {
    name: "identity",
    sqlite: &[
        Migration {
            version: 2,
            description: "identity",
            sql: include_str!("../migrations/sqlite/0002_identity.sql"),
        },
        Migration {
            version: 3,
            description: "security",
            sql: include_str!("../migrations/sqlite/0003_security.sql"),
        },
    ],
    postgres: &[Migration {
        version: 2,
        description: "identity",
        sql: include_str!("../migrations/postgres/0002_identity.sql"),
    }],
    tables: &[
        "secrets",
        "groups",
        "users",
        "user_groups",
        "one_time_tokens",
        "login_attempts",
        "api_tokens",
        "oauth_clients",
        "known_networks",
    ],
    generated: &[("groups", "id"), ("users", "id")],
};

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
    db: Database,
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
    /// Tokens already rechecked against a fresh snapshot, by the hash of
    /// their text.
    rechecked: Mutex<lru::LruCache<u64, Arc<tokio::sync::OnceCell<()>>>>,
    /// Tokens refused for good (malformed, badly signed, expired), with the
    /// refusal, so a client retrying a dead token is answered from memory.
    refused: Mutex<RefusedTokens>,
    hash_state: std::hash::RandomState,
    /// Outgoing mail: verification mails go through its outbox.
    mail: errata_mail::Mail,
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
    /// Opens the domain over `db` (already migrated with [`STORAGE`]):
    /// creates the system groups, the guest account and the keys on first
    /// use, and loads the directory. Mail is queued in `mail`'s outbox.
    pub async fn open(
        db: Database,
        config: AuthConfig,
        mail: errata_mail::Mail,
    ) -> Result<Identity, Error> {
        let pool = db.pool().clone();
        let db_error = errata_store::error;
        seed(&db).await.map_err(db_error)?;
        let jwt_key = match &config.jwt_secret {
            Some(secret) if secret.len() >= 32 => secret.as_bytes().to_vec(),
            Some(_) => {
                return Err(system::internal().with_source(std::io::Error::other(
                    "auth.jwt-secret must have at least 32 characters",
                )));
            }
            None => stored_key(&pool, "jwt").await.map_err(db_error)?,
        };
        let hash_key = stored_key(&pool, "secret-hash").await.map_err(db_error)?;
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let identity = Identity {
            inner: Arc::new(Inner {
                db,
                signer: jwt::Signer::new(&jwt_key),
                hasher: secret::SecretHasher::new(&hash_key),
                directory: RwLock::new(Arc::new(Directory::default())),
                reloading: tokio::sync::Mutex::new(()),
                used: Mutex::new(std::collections::HashMap::new()),
                verified: Mutex::new(lru::LruCache::new(
                    std::num::NonZeroUsize::new(VERIFIED_TOKENS).expect("a constant above zero"),
                )),
                rechecked: Mutex::new(lru::LruCache::new(
                    std::num::NonZeroUsize::new(VERIFIED_TOKENS).expect("a constant above zero"),
                )),
                refused: Mutex::new(lru::LruCache::new(
                    std::num::NonZeroUsize::new(REFUSED_TOKENS).expect("a constant above zero"),
                )),
                hash_state: std::hash::RandomState::new(),
                mail,
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

    fn pool(&self) -> &AnyPool {
        self.inner.db.pool()
    }

    /// The database, for what needs to know its backend.
    fn store(&self) -> &Database {
        &self.inner.db
    }

    /// After a write: this process's directory is reloaded, and other
    /// instances are told to reload theirs. The write has committed, so a
    /// notice that cannot be sent is logged, not returned: the others
    /// catch up at their next periodic reload.
    async fn changed(&self) -> Result<(), Error> {
        self.reload().await?;
        if let Err(e) = self.store().announce("identity").await {
            tracing::warn!(error = %e, "other instances could not be told of an identity change");
        }
        Ok(())
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
            .map_err(errata_store::error)?;
        *self
            .inner
            .directory
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
        Ok(())
    }

    /// Reloads the directory unless its snapshot began at or after
    /// `since_ms` (milliseconds since the epoch). Callers waiting together
    /// share one reload.
    pub(crate) async fn reload_since(&self, since_ms: i64) -> Result<(), Error> {
        let _guard = self.inner.reloading.lock().await;
        if self.directory().loaded_at_ms >= since_ms {
            return Ok(());
        }
        let fresh = Directory::load(self.pool())
            .await
            .map_err(errata_store::error)?;
        *self
            .inner
            .directory
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
        Ok(())
    }

    /// The recheck of `token` against a fresh snapshot: one per token,
    /// which every request carrying it awaits, so each token costs at most
    /// one reload and requests sent together with a fresh token all see
    /// it. A token still refused after its recheck is refused for good.
    pub(crate) fn recheck_of(&self, token: &str) -> Arc<tokio::sync::OnceCell<()>> {
        use std::hash::BuildHasher;
        let key = self.inner.hash_state.hash_one(token);
        let mut rechecked = self
            .inner
            .rechecked
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        Arc::clone(rechecked.get_or_insert(key, || Arc::new(tokio::sync::OnceCell::new())))
    }

    /// Forgets what has expired: one-time tokens, failed-login counters
    /// older than the longest lockout, registrations never verified in
    /// time, and networks not seen for a year. The server calls it with
    /// every directory refresh, so none of these tables grows without end.
    pub async fn purge(&self) -> Result<(), Error> {
        let now = now();
        let window = i64::try_from(self.config().brute_force.max_wait_secs).unwrap_or(i64::MAX);
        let db = errata_store::error;
        sqlx::query("DELETE FROM one_time_tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(db)?;
        sqlx::query(
            "DELETE FROM login_attempts WHERE locked_until <= $1 AND last_failure <= $1 - $2",
        )
        .bind(now)
        .bind(window)
        .execute(self.pool())
        .await
        .map_err(db)?;
        sqlx::query("DELETE FROM known_networks WHERE last_seen <= $1")
            .bind(now - 365 * 86_400)
            .execute(self.pool())
            .await
            .map_err(db)?;
        let expired = sqlx::query(
            "DELETE FROM users WHERE is_verified = 0 AND is_system = 0 AND created_at <= $1 \
             AND id NOT IN (SELECT owner_id FROM oauth_clients)",
        )
        .bind(now - users::VERIFY_TTL)
        .execute(self.pool())
        .await
        .map_err(db)?;
        if expired.rows_affected() > 0 {
            self.changed().await?;
        }
        Ok(())
    }

    /// Writes the `lastUsed` times gathered since the last call.
    pub async fn flush_last_used(&self) -> Result<(), Error> {
        let used = std::mem::take(&mut *self.inner.used.lock().unwrap_or_else(|e| e.into_inner()));
        for (id, at) in used {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND COALESCE(last_used_at, 0) < $1")
                .bind(at)
                .bind(&id)
                .execute(self.pool())
                .await
                .map_err(errata_store::error)?;
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

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The system groups and the guest account, once.
async fn seed(db: &Database) -> Result<(), sqlx::Error> {
    let pool = db.pool();
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
    let mut seeded = 0;
    for (id, name, permissions) in groups {
        seeded += sqlx::query(
            "INSERT INTO groups (id, name, permissions, page_rules, is_system, created_at, updated_at) VALUES ($1, $2, $3, '[]', $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(name)
        .bind(serde_json::to_string(permissions).unwrap_or_default())
        .bind(i64::from(id != USERS))
        .bind(now)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected();
    }
    seeded += sqlx::query(
        "INSERT INTO users (id, email, name, provider, is_active, is_verified, is_system, created_at, updated_at) VALUES ($1, 'guest@errata.invalid', 'Guest', 'local', 1, 1, 1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(GUEST_USER)
    .bind(now)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected();
    sqlx::query(
        "INSERT INTO user_groups (user_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(GUEST_USER)
    .bind(GUESTS)
    .execute(pool)
    .await?;
    if db.backend() == Backend::Postgres && seeded > 0 {
        // The rows above name their ids, which PostgreSQL's sequences do
        // not see. They are only inserted into a new database, whose
        // sequences have given nothing yet; afterwards the sequences are
        // never set again, so they never move back (a copy sets them past
        // every id the source gave).
        for (table, column) in STORAGE.generated {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), \
                 GREATEST(COALESCE(MAX({column}), 1), 1)) FROM {table}"
            ))
            .execute(pool)
            .await?;
        }
    }
    Ok(())
}

/// A random 32-byte key kept in the database under `name`.
async fn stored_key(pool: &AnyPool, name: &str) -> Result<Vec<u8>, sqlx::Error> {
    sqlx::query("INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(name)
        .bind(secret::random_bytes::<32>().to_vec())
        .execute(pool)
        .await?;
    sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use errata_store::testing::Scratch;
    use sqlx::Connection;

    /// SQLite's migration 3 rebuilds `users` and `groups` (for
    /// AUTOINCREMENT) with foreign keys off; every row that refers to them
    /// must survive it, and cascades must still work after.
    #[tokio::test]
    async fn rebuilding_tables_keeps_every_row_that_refers_to_them() {
        let scratch = Scratch::new(Backend::Sqlite).await;
        let errata_store::DatabaseUrl::Sqlite(file) = &scratch.url else {
            unreachable!("a SQLite scratch")
        };
        std::fs::create_dir_all(&scratch.dir).unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&scratch.dir, std::fs::Permissions::from_mode(0o700)).unwrap();
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(file)
                .create_if_missing(true);
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .unwrap();
            let earlier = [&errata_store::STORE.sqlite[0], &STORAGE.sqlite[0]];
            for m in earlier {
                sqlx::raw_sql(m.sql).execute(&mut conn).await.unwrap();
            }
            sqlx::raw_sql(
                "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB NOT NULL, execution_time BIGINT NOT NULL);
                 INSERT INTO groups (id, name, created_at, updated_at) VALUES (7, 'Editors', 0, 0);
                 INSERT INTO users (id, email, name, created_at, updated_at) VALUES (9, 'a@x.io', 'A', 0, 0), (10, 'b@x.io', 'B', 0, 0);
                 INSERT INTO user_groups (user_id, group_id) VALUES (9, 7), (10, 7);
                 INSERT INTO api_tokens (id, user_id, name, permissions, created_at, expires_at) VALUES ('t', 9, 'n', '[]', 0, 1);
                 INSERT INTO oauth_clients (id, name, secret_hash, scopes, owner_id, created_at) VALUES ('c', 10, 'h', '[]', 10, 0);",
            )
            .execute(&mut conn)
            .await
            .unwrap();
            for m in earlier {
                let migration = sqlx::migrate::Migration::new(
                    m.version,
                    m.description.into(),
                    sqlx::migrate::MigrationType::Simple,
                    m.sql.into(),
                    false,
                );
                sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES ($1, $2, TRUE, $3, 0)")
                    .bind(migration.version)
                    .bind(&*migration.description)
                    .bind(&*migration.checksum)
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            conn.close().await.unwrap();
        }
        let db = Database::open(
            &scratch.url,
            &errata_store::Options::default(),
            &[&errata_store::STORE, &STORAGE],
        )
        .await
        .unwrap();
        let pool = db.pool();
        let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).fetch_one(pool);
        assert_eq!(count("SELECT COUNT(*) FROM user_groups").await.unwrap(), 2);
        assert_eq!(count("SELECT COUNT(*) FROM api_tokens").await.unwrap(), 1);
        assert_eq!(
            count("SELECT COUNT(*) FROM oauth_clients WHERE lifetime_days = 365")
                .await
                .unwrap(),
            1
        );
        assert!(count("SELECT MIN(generation) FROM users").await.unwrap() > 0);
        sqlx::query("DELETE FROM users WHERE id = 10")
            .execute(pool)
            .await
            .unwrap_err();
        sqlx::query("DELETE FROM oauth_clients")
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("DELETE FROM users WHERE id = 10")
            .execute(pool)
            .await
            .unwrap();
        let id: i64 = sqlx::query_scalar("INSERT INTO users (email, name, created_at, updated_at) VALUES ('c@x.io', 'C', 0, 0) RETURNING id")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(id, 11, "the deleted highest id is not given again");
        assert_eq!(
            count("SELECT COUNT(*) FROM user_groups WHERE user_id = 9")
                .await
                .unwrap(),
            1,
            "foreign keys still cascade after the rebuild"
        );
    }

    #[tokio::test]
    async fn emails_and_group_names_are_unique_whatever_their_ascii_case_on_both_backends() {
        for backend in errata_store::testing::BACKENDS {
            let scratch = Scratch::new(backend).await;
            let db = Database::open(
                &scratch.url,
                &errata_store::Options::default(),
                &[&errata_store::STORE, &STORAGE],
            )
            .await
            .unwrap();
            let insert = |email: &'static str| {
                sqlx::query("INSERT INTO users (email, name, created_at, updated_at) VALUES ($1, 'x', 0, 0)")
                    .bind(email)
                    .execute(db.pool())
            };
            insert("Ada@Example.com").await.unwrap();
            let e = insert("ada@example.COM").await.unwrap_err();
            assert!(errata_store::is_unique_violation(&e), "{backend:?}: {e}");
            let group = |name: &'static str| {
                sqlx::query("INSERT INTO groups (name, created_at, updated_at) VALUES ($1, 0, 0)")
                    .bind(name)
                    .execute(db.pool())
            };
            group("Editors").await.unwrap();
            let e = group("EDITORS").await.unwrap_err();
            assert!(errata_store::is_unique_violation(&e), "{backend:?}: {e}");
            // Both fold ASCII letters only, as SQLite's NOCASE does, so that
            // a database moves from one to the other whole.
            group("Équipe").await.unwrap();
            group("équipe").await.unwrap();
            db.close().await;
        }
    }
}
