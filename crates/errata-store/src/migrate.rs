//! Applying the domains' migrations, and telling which are applied.
//!
//! Migrations are embedded in the binary, so a database can be opened by
//! the binary alone. sqlx's migrator records them in `_sqlx_migrations`
//! and, on PostgreSQL, holds an advisory lock while it runs, so instances
//! starting together migrate once. Versions are unique across domains.

use std::borrow::Cow;
use std::time::Duration;

use errata_catalog::Error;
use errata_errors::system;
use futures_util::future::BoxFuture;
use sqlx::Connection;
use sqlx::error::BoxDynError;
use sqlx::migrate::{MigrationSource, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

use crate::{Backend, Database, DatabaseUrl, Domain, Migration, error};

/// Where a database stands against this binary's migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The highest version applied to the database; 0 when none is.
    pub database: i64,
    /// The highest version this binary knows.
    pub binary: i64,
    /// Every migration the binary knows or the database has applied, in
    /// version order.
    pub migrations: Vec<MigrationState>,
}

/// One migration, and whether the database has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    /// Its version.
    pub version: i64,
    /// The domain it belongs to; empty when this binary does not know it.
    pub domain: &'static str,
    /// Its description; empty when this binary does not know it.
    pub description: &'static str,
    /// Whether the database has applied it.
    pub applied: bool,
}

impl Database {
    /// Applies the domains' migrations that the database lacks. A database
    /// a newer binary migrated is refused, with both versions named.
    pub async fn migrate(&self, domains: &[&Domain]) -> Result<(), Error> {
        let known = known(self.backend, domains);
        let status = self.status(domains).await?;
        if status.database > status.binary || status.migrations.iter().any(|m| m.domain.is_empty())
        {
            return Err(system::database_newer(status.database, status.binary));
        }
        let migrator = Migrator::new(Embedded(known))
            .await
            .map_err(|e| system::internal().with_source(e))?;
        let failed = |e: sqlx::migrate::MigrateError| match e {
            sqlx::migrate::MigrateError::Execute(e) => error(e),
            other => system::internal().with_source(other),
        };
        // `run_direct` rather than `run`: `run`'s future is not `Send` for
        // every lifetime, which a task that waits for the database needs
        // (sqlx documents `run_direct` as the way around it).
        match &*self.url {
            DatabaseUrl::Sqlite(path) => {
                let mut conn =
                    sqlx::SqliteConnection::connect_with(&sqlite_migration_options(path))
                        .await
                        .map_err(error)?;
                migrator.run_direct(&mut conn).await.map_err(failed)?;
                check_references(&mut conn).await?;
                conn.close().await.map_err(error)?;
            }
            DatabaseUrl::Postgres(url) => {
                let mut conn = tokio::time::timeout(
                    self.options.acquire_timeout,
                    sqlx::PgConnection::connect(url),
                )
                .await
                .map_err(|_| error(sqlx::Error::PoolTimedOut))?
                .map_err(error)?;
                migrator.run_direct(&mut conn).await.map_err(failed)?;
                conn.close().await.map_err(error)?;
            }
        }
        let stamp = match self.backend {
            Backend::Sqlite => {
                "INSERT INTO server_info (key, value) VALUES ('created_at', datetime('now')) ON CONFLICT (key) DO NOTHING"
            }
            Backend::Postgres => {
                "INSERT INTO server_info (key, value) VALUES ('created_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')) ON CONFLICT (key) DO NOTHING"
            }
        };
        sqlx::query(stamp)
            .execute(&self.pool)
            .await
            .map_err(error)?;
        Ok(())
    }

    /// Which of the domains' migrations the database has applied.
    pub async fn status(&self, domains: &[&Domain]) -> Result<Status, Error> {
        let exists = match self.backend {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = '_sqlx_migrations'"
            }
        };
        let applied: Vec<i64> = if sqlx::query_scalar::<_, i64>(exists)
            .fetch_one(&self.pool)
            .await
            .map_err(error)?
            > 0
        {
            sqlx::query_scalar(
                "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
            )
            .fetch_all(&self.pool)
            .await
            .map_err(error)?
        } else {
            Vec::new()
        };
        let mut migrations: Vec<MigrationState> = domains
            .iter()
            .flat_map(|d| {
                let list = match self.backend {
                    Backend::Sqlite => d.sqlite,
                    Backend::Postgres => d.postgres,
                };
                list.iter().map(|m| MigrationState {
                    version: m.version,
                    domain: d.name,
                    description: m.description,
                    applied: applied.contains(&m.version),
                })
            })
            .collect();
        for version in &applied {
            if !migrations.iter().any(|m| m.version == *version) {
                migrations.push(MigrationState {
                    version: *version,
                    domain: "",
                    description: "",
                    applied: true,
                });
            }
        }
        migrations.sort_by_key(|m| m.version);
        Ok(Status {
            database: applied.iter().copied().max().unwrap_or(0),
            binary: known(self.backend, domains)
                .iter()
                .map(|m| m.version)
                .max()
                .unwrap_or(0),
            migrations,
        })
    }
}

/// The domains' migrations for `backend`, in version order.
fn known(backend: Backend, domains: &[&Domain]) -> Vec<Migration> {
    let mut all: Vec<Migration> = domains
        .iter()
        .flat_map(|d| match backend {
            Backend::Sqlite => d.sqlite,
            Backend::Postgres => d.postgres,
        })
        .copied()
        .collect();
    all.sort_by_key(|m| m.version);
    all
}

/// Migrations run on a connection of their own with foreign keys off, as
/// SQLite's procedure for rebuilding a table needs (with them on, dropping
/// the old table would cascade to every row that refers to it). WAL is
/// set here once: it is a property of the file, which every later
/// connection inherits. Full sync makes an acknowledged write survive a
/// crash of the process or the machine.
fn sqlite_migration_options(path: &std::path::Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .foreign_keys(false)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(5))
}

/// After migrating, every reference must still hold.
async fn check_references(conn: &mut sqlx::SqliteConnection) -> Result<(), Error> {
    let broken: Vec<sqlx::sqlite::SqliteRow> = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&mut *conn)
        .await
        .map_err(error)?;
    if broken.is_empty() {
        return Ok(());
    }
    Err(
        system::internal().with_source(std::io::Error::other(format!(
            "{} rows refer to rows that do not exist after migrating",
            broken.len()
        ))),
    )
}

/// The migrations compiled into the binary, for one backend.
#[derive(Debug)]
struct Embedded(Vec<Migration>);

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<sqlx::migrate::Migration>, BoxDynError>> {
        let migrations = self
            .0
            .into_iter()
            .map(|m| {
                sqlx::migrate::Migration::new(
                    m.version,
                    Cow::Borrowed(m.description),
                    MigrationType::Simple,
                    Cow::Borrowed(m.sql),
                    false,
                )
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}
