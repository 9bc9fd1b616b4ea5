//! Storage: the SQLite file in the data directory, created on first start,
//! with migrations applied.
//!
//! Migrations are embedded in the binary (`migrations/*.sql`), so a data
//! directory can be opened by the binary alone.

use std::borrow::Cow;
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
];

/// The database.
#[derive(Debug, Clone)]
pub struct Storage {
    pool: SqlitePool,
}

impl Storage {
    /// Opens (creating if needed) `DIR/errata.db` and migrates it.
    pub async fn open(dir: &Path) -> Result<Storage, Error> {
        std::fs::create_dir_all(dir).map_err(|e| system::database_unavailable().with_source(e))?;
        let url = format!("sqlite://{}", dir.join("errata.db").display());
        let options = SqliteConnectOptions::from_str(&url)
            .map_err(|e| system::database_unavailable().with_source(e))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|e| system::database_unavailable().with_source(e))?;
        Migrator::new(Embedded)
            .await
            .map_err(|e| system::database_unavailable().with_source(e))?
            .run(&pool)
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

    #[tokio::test]
    async fn opening_twice_keeps_the_data_and_migrations_run_once() {
        let dir = std::env::temp_dir().join(format!("errata-storage-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = Storage::open(&dir).await.unwrap();
        let created = first.created_at().await.unwrap();
        first.close().await;
        let second = Storage::open(&dir).await.unwrap();
        assert_eq!(second.created_at().await.unwrap(), created);
        second.ping().await.unwrap();
    }
}
