//! Storage: the SQLite file in the data directory, created on first start,
//! with migrations applied.
//!
//! Migrations are embedded in the binary (`migrations/*.sql`), so a data
//! directory can be opened by the binary alone.
//!
//! The database holds the JWT signing key and the key that hashes client
//! secrets, so whoever reads it can sign in as anyone: the directory is
//! created 0700, a directory other users may read or enter is refused, and
//! the database's files are 0600.

use std::borrow::Cow;
use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use errata_catalog::Error;
use errata_errors::system;

/// The embedded migrations, in order.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "server", include_str!("../migrations/0001_server.sql")),
    (
        2,
        "identity",
        include_str!("../migrations/0002_identity.sql"),
    ),
    (
        3,
        "security",
        include_str!("../migrations/0003_security.sql"),
    ),
];

/// The database.
#[derive(Debug, Clone)]
pub struct Storage {
    pool: SqlitePool,
}

impl Storage {
    /// Opens (creating if needed) `DIR/errata.db` and migrates it. A
    /// directory open to group or others is refused with
    /// `system.data_dir_insecure` unless `insecure_dir` allows it.
    pub async fn open(dir: &Path, insecure_dir: bool) -> Result<Storage, Error> {
        private_directory(dir, insecure_dir)?;
        private_files(dir)?;
        let url = format!("sqlite://{}", dir.join(DATABASE).display());
        let options = SqliteConnectOptions::from_str(&url)
            .map_err(|e| system::database_unavailable().with_source(e))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5));
        migrate(options.clone()).await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|e| system::database_unavailable().with_source(e))?;
        sqlx::query(
            "INSERT OR IGNORE INTO server_info (key, value) VALUES ('created_at', datetime('now'))",
        )
        .execute(&pool)
        .await
        .map_err(|e| system::database_unavailable().with_source(e))?;
        Ok(Storage { pool })
    }

    /// Fails when the database cannot answer a trivial query.
    pub async fn ping(&self) -> Result<(), Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| system::database_unavailable().with_source(e))
    }

    /// When this data directory was first used.
    pub async fn created_at(&self) -> Result<String, Error> {
        sqlx::query_scalar("SELECT value FROM server_info WHERE key = 'created_at'")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| system::database_unavailable().with_source(e))
    }

    /// The connection pool, for the domains' own queries.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Applies the migrations on a connection of its own with foreign keys off,
/// as SQLite's procedure for rebuilding a table needs (with them on,
/// dropping the old table would cascade to every row that refers to it),
/// then checks that every reference still holds.
async fn migrate(options: SqliteConnectOptions) -> Result<(), Error> {
    use sqlx::Connection;
    let unavailable = |e: sqlx::Error| system::database_unavailable().with_source(e);
    let mut conn = sqlx::SqliteConnection::connect_with(&options.foreign_keys(false))
        .await
        .map_err(unavailable)?;
    Migrator::new(Embedded)
        .await
        .map_err(|e| system::database_unavailable().with_source(e))?
        .run(&mut conn)
        .await
        .map_err(|e| system::database_unavailable().with_source(e))?;
    let broken: Vec<sqlx::sqlite::SqliteRow> = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&mut conn)
        .await
        .map_err(unavailable)?;
    if !broken.is_empty() {
        return Err(
            system::database_unavailable().with_source(std::io::Error::other(format!(
                "{} rows refer to rows that do not exist after migrating",
                broken.len()
            ))),
        );
    }
    conn.close().await.map_err(unavailable)
}

/// The database's file name in the data directory.
const DATABASE: &str = "errata.db";
/// The database and the files SQLite keeps beside it in WAL mode, which
/// hold recent pages of it (the keys included).
const DATABASE_FILES: [&str; 3] = ["errata.db", "errata.db-wal", "errata.db-shm"];

/// Permission bits for group and others.
const GROUP_AND_OTHERS: u32 = 0o077;

fn unavailable(e: std::io::Error) -> Error {
    system::database_unavailable().with_source(e)
}

/// Creates `dir` (and missing parents) 0700, and refuses it when group or
/// others have any permission on it, unless `insecure_dir`.
fn private_directory(dir: &Path, insecure_dir: bool) -> Result<(), Error> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(unavailable)?;
    let mode = std::fs::metadata(dir)
        .map_err(unavailable)?
        .permissions()
        .mode()
        & 0o7777;
    if mode & GROUP_AND_OTHERS != 0 && !insecure_dir {
        return Err(system::data_dir_insecure(format!("{mode:04o}")));
    }
    Ok(())
}

/// Creates the database file 0600 before SQLite opens it: SQLite would
/// create it with the process's umask, usually 0644, and gives its `-wal`
/// and `-shm` files the database's mode. Files left by an older version
/// with group or other bits lose them.
fn private_files(dir: &Path) -> Result<(), Error> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(dir.join(DATABASE))
        .map_err(unavailable)?;
    for name in DATABASE_FILES {
        let path = dir.join(name);
        let mode = match std::fs::metadata(&path) {
            Ok(metadata) => metadata.permissions().mode(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(unavailable(e)),
        };
        if mode & GROUP_AND_OTHERS != 0 {
            std::fs::set_permissions(&path, Permissions::from_mode(mode & 0o700))
                .map_err(unavailable)?;
        }
    }
    Ok(())
}

/// The migrations compiled into the binary.
#[derive(Debug)]
struct Embedded;

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        let migrations = MIGRATIONS
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    Cow::Borrowed(*sql),
                    false,
                )
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("errata-storage-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[tokio::test]
    async fn opening_twice_keeps_the_data_and_migrations_run_once() {
        let dir = scratch("twice");
        let first = Storage::open(&dir, false).await.unwrap();
        let created = first.created_at().await.unwrap();
        first.close().await;
        let second = Storage::open(&dir, false).await.unwrap();
        assert_eq!(second.created_at().await.unwrap(), created);
        second.ping().await.unwrap();
    }

    #[tokio::test]
    async fn rebuilding_tables_keeps_every_row_that_refers_to_them() {
        let dir = std::env::temp_dir().join(format!("errata-storage-fk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, Permissions::from_mode(0o700)).unwrap();
        let options = SqliteConnectOptions::new()
            .filename(dir.join("errata.db"))
            .create_if_missing(true);
        {
            use sqlx::Connection;
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .unwrap();
            for (_, _, sql) in &MIGRATIONS[..2] {
                sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
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
            let migrator = Migrator::new(Embedded).await.unwrap();
            for m in migrator.iter().take(2) {
                sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (?, ?, TRUE, ?, 0)")
                    .bind(m.version)
                    .bind(&*m.description)
                    .bind(&*m.checksum)
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            conn.close().await.unwrap();
        }
        let storage = Storage::open(&dir, false).await.unwrap();
        let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).fetch_one(storage.pool());
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
            .execute(storage.pool())
            .await
            .unwrap_err();
        sqlx::query("DELETE FROM oauth_clients")
            .execute(storage.pool())
            .await
            .unwrap();
        sqlx::query("DELETE FROM users WHERE id = 10")
            .execute(storage.pool())
            .await
            .unwrap();
        let id: i64 = sqlx::query_scalar("INSERT INTO users (email, name, created_at, updated_at) VALUES ('c@x.io', 'C', 0, 0) RETURNING id")
            .fetch_one(storage.pool())
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
    async fn files_an_older_version_left_readable_lose_their_group_and_other_bits() {
        let dir = scratch("older");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, Permissions::from_mode(0o700)).unwrap();
        for name in DATABASE_FILES {
            std::fs::write(dir.join(name), b"").unwrap();
            std::fs::set_permissions(dir.join(name), Permissions::from_mode(0o644)).unwrap();
        }
        let storage = Storage::open(&dir, false).await.unwrap();
        for name in DATABASE_FILES {
            assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
        }
        storage.close().await;
    }

    #[tokio::test]
    async fn missing_parents_are_created_private_too() {
        let dir = scratch("parents");
        let nested = dir.join("a/b");
        let storage = Storage::open(&nested, false).await.unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&nested), 0o700);
        storage.close().await;
    }
}
