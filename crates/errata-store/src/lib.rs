//! The database every domain stores into: one handle over SQLite (the
//! embedded default, a file in the data directory) or PostgreSQL (several
//! instances sharing one database).
//!
//! Domains write their SQL once, in the dialect both backends accept:
//! `$N` placeholders (sqlx's SQLite driver reads them as numbered),
//! `INSERT ... ON CONFLICT ... RETURNING`, integers for times (seconds
//! since the epoch) and for flags, `BIGINT` ids. Where the two differ, a
//! domain asks [`Database::backend`]. Each domain brings its own
//! migrations for each backend as a [`Domain`]; the server lists the
//! domains in one place and this crate applies them, in version order,
//! under PostgreSQL's advisory lock.
//!
//! Failures are catalog errors: a database that cannot be reached (or
//! whose pool is exhausted past the acquire timeout) is
//! `system.database_unavailable`, a 503 the client retries; anything else
//! is `system.internal`, whose cause is logged, never sent.
//!
//! Must never depend on a domain (identity, pages, ...), nor on the HTTP or
//! GraphQL layers: domains depend on it, not the other way round.

mod changes;
mod copy;
mod migrate;
mod private;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod url;

use std::sync::Arc;
use std::time::Duration;

use errata_catalog::Error;
use errata_errors::system;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

pub use changes::{Changes, Notice};
pub use copy::copy;
pub use migrate::{MigrationState, Status};
pub use private::private_directory;
pub use url::DatabaseUrl;

/// Which database a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One file, one process.
    Sqlite,
    /// A server, shared by several instances.
    Postgres,
}

/// One migration of a domain, for one backend.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Unique across all domains; migrations run in version order.
    pub version: i64,
    /// A few words, shown by `errata migrate --status`.
    pub description: &'static str,
    /// The statements, run in one transaction.
    pub sql: &'static str,
}

/// A domain's storage: its migrations for each backend, and its tables in
/// the order rows can be copied (a table after those it refers to).
#[derive(Debug, Clone, Copy)]
pub struct Domain {
    /// The domain's name, as `errata migrate --status` shows it.
    pub name: &'static str,
    /// Migrations for SQLite.
    pub sqlite: &'static [Migration],
    /// Migrations for PostgreSQL.
    pub postgres: &'static [Migration],
    /// Tables, parents first.
    pub tables: &'static [&'static str],
    /// Columns whose values PostgreSQL generates from a sequence
    /// (`table`, `column`): after a copy the sequence moves past the
    /// highest value copied.
    pub generated: &'static [(&'static str, &'static str)],
}

/// The store's own table: facts about the database itself.
pub const STORE: Domain = Domain {
    name: "store",
    sqlite: &[Migration {
        version: 1,
        description: "server",
        sql: include_str!("../migrations/sqlite/0001_server.sql"),
    }],
    postgres: &[Migration {
        version: 1,
        description: "server",
        sql: include_str!("../migrations/postgres/0001_server.sql"),
    }],
    tables: &["server_info"],
    generated: &[],
};

/// How to connect.
#[derive(Debug, Clone)]
pub struct Options {
    /// The longest a request waits for a connection before it is answered
    /// `DatabaseUnavailable`.
    pub acquire_timeout: Duration,
    /// Connections kept open at most.
    pub max_connections: u32,
    /// Start even when the SQLite file's directory is open to other users.
    pub insecure_dir: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            acquire_timeout: Duration::from_secs(3),
            max_connections: 8,
            insecure_dir: false,
        }
    }
}

/// A connection pool to SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
    url: Arc<DatabaseUrl>,
    options: Arc<Options>,
}

impl Database {
    /// Connects to `url` and applies the domains' migrations.
    pub async fn open(
        url: &DatabaseUrl,
        options: &Options,
        domains: &[&Domain],
    ) -> Result<Database, Error> {
        let database = Database::connect(url, options)?;
        database.migrate(domains).await?;
        Ok(database)
    }

    /// A pool that connects when first used, so that a server can start
    /// while PostgreSQL is down and serve what needs no database. SQLite's
    /// directory and file are made private here.
    pub fn connect(url: &DatabaseUrl, options: &Options) -> Result<Database, Error> {
        sqlx::any::install_default_drivers();
        if let DatabaseUrl::Sqlite(path) = url {
            private::prepare(path, options.insecure_dir)?;
        }
        let sqlite = url.backend() == Backend::Sqlite;
        let pool = AnyPoolOptions::new()
            .max_connections(options.max_connections)
            .min_connections(0)
            .acquire_timeout(options.acquire_timeout)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        // Reads map the file instead of copying each page
                        // out of the kernel, and each connection keeps 16
                        // MiB of pages: search indexes are read a lot.
                        sqlx::Executor::execute(
                            &mut *conn,
                            "PRAGMA mmap_size = 268435456; PRAGMA cache_size = -16384",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_lazy(&url.connect_string())
            .map_err(error)?;
        Ok(Database {
            pool,
            backend: url.backend(),
            url: Arc::new(url.clone()),
            options: Arc::new(options.clone()),
        })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Where it is, with any password hidden.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// The connection pool, for the domains' queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Fails when the database cannot answer a trivial query.
    pub async fn ping(&self) -> Result<(), Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(error)
    }

    /// Tells every other instance that `domain`'s data changed, so that
    /// they reread what they keep of it. Only PostgreSQL has other
    /// instances; on SQLite this does nothing.
    pub async fn announce(&self, domain: &str) -> Result<(), Error> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(changes::CHANNEL)
                .bind(domain)
                .execute(&self.pool)
                .await
                .map_err(error)?;
        }
        Ok(())
    }

    /// The change notices other instances send, or `None` on SQLite,
    /// where no other instance writes.
    pub fn changes(&self) -> Option<Changes> {
        match &*self.url {
            DatabaseUrl::Postgres(url) => Some(Changes::new(url.clone())),
            DatabaseUrl::Sqlite(_) => None,
        }
    }

    /// When this database was first used, as the database's clock wrote it.
    pub async fn created_at(&self) -> Result<String, Error> {
        sqlx::query_scalar("SELECT value FROM server_info WHERE key = 'created_at'")
            .fetch_one(&self.pool)
            .await
            .map_err(error)
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The catalog error for a failed statement: `DatabaseUnavailable` (503,
/// retry) when the database could not be reached or was busy, otherwise
/// `Internal`. The cause is kept for the log.
pub fn error(e: sqlx::Error) -> Error {
    if is_unavailable(&e) {
        system::database_unavailable().with_source(e)
    } else {
        system::internal().with_source(e)
    }
}

/// Whether the statement failed because the database could not be
/// reached, was shutting down, or was too busy: what a retry can cure.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|code| {
            // PostgreSQL: connection exceptions (08), shutdown and
            // recovery (57P01-57P03), too many connections (53300),
            // serialization failures and deadlocks (40001, 40P01).
            // SQLite: BUSY (5) and LOCKED (6), with their extended codes.
            (code.len() == 5 && code.starts_with("08"))
                || matches!(
                    &*code,
                    "57P01"
                        | "57P02"
                        | "57P03"
                        | "53300"
                        | "40001"
                        | "40P01"
                        | "5"
                        | "261"
                        | "517"
                        | "773"
                        | "6"
                        | "262"
                        | "518"
                )
        }),
        _ => false,
    }
}

/// Whether the statement broke a unique constraint, as the driver reports
/// it (never by reading the message).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// A 0-or-1 column as a flag: both databases store flags as integers,
/// which sqlx's `Any` driver does not read as `bool`.
pub fn flag(row: &sqlx::any::AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    use sqlx::Row;
    row.try_get::<i64, _>(column).map(|v| v != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{BACKENDS, Scratch};

    /// A domain of the tests' own, after the store's.
    const NOTES: Domain = Domain {
        name: "notes",
        sqlite: &[Migration {
            version: 2,
            description: "notes",
            sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL UNIQUE, data BLOB, n INTEGER);",
        }],
        postgres: &[Migration {
            version: 2,
            description: "notes",
            sql: "CREATE TABLE notes (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, body TEXT NOT NULL UNIQUE, data BYTEA, n BIGINT);",
        }],
        tables: &["notes"],
        generated: &[("notes", "id")],
    };

    /// A row of `notes`: id, body, data, n.
    type Note = (i64, String, Option<Vec<u8>>, Option<i64>);

    async fn open(scratch: &Scratch, domains: &[&Domain]) -> Database {
        Database::open(&scratch.url, &Options::default(), domains)
            .await
            .unwrap_or_else(|e| panic!("{} opens: {e:?}", scratch.url))
    }

    #[tokio::test]
    async fn opening_twice_migrates_once_and_keeps_the_data() {
        for backend in BACKENDS {
            let scratch = Scratch::new(backend).await;
            let first = open(&scratch, &[&STORE, &NOTES]).await;
            let created = first.created_at().await.unwrap();
            sqlx::query("INSERT INTO notes (body) VALUES ($1)")
                .bind("kept")
                .execute(first.pool())
                .await
                .unwrap();
            first.close().await;
            let second = open(&scratch, &[&STORE, &NOTES]).await;
            assert_eq!(second.created_at().await.unwrap(), created, "{backend:?}");
            let status = second.status(&[&STORE, &NOTES]).await.unwrap();
            assert_eq!((status.database, status.binary), (2, 2), "{backend:?}");
            assert!(status.migrations.iter().all(|m| m.applied), "{backend:?}");
            let body: String = sqlx::query_scalar("SELECT body FROM notes")
                .fetch_one(second.pool())
                .await
                .unwrap();
            assert_eq!(body, "kept");
            second.close().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn instances_starting_together_migrate_once() {
        let scratch = Scratch::new(Backend::Postgres).await;
        let opening: Vec<_> = (0..4)
            .map(|_| {
                let url = scratch.url.clone();
                tokio::spawn(async move {
                    Database::open(&url, &Options::default(), &[&STORE, &NOTES]).await
                })
            })
            .collect();
        for opened in opening {
            opened.await.unwrap().expect("every instance opens");
        }
        let db = open(&scratch, &[&STORE, &NOTES]).await;
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(applied, 2, "each migration once");
        db.close().await;
    }

    #[tokio::test]
    async fn sqlite_connections_map_the_file_and_keep_more_pages() {
        let scratch = Scratch::new(Backend::Sqlite).await;
        let db = open(&scratch, &[&STORE]).await;
        let mmap: i64 = sqlx::query_scalar("PRAGMA mmap_size")
            .fetch_one(db.pool())
            .await
            .unwrap();
        let cache: i64 = sqlx::query_scalar("PRAGMA cache_size")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!((mmap, cache), (268_435_456, -16_384));
        db.close().await;
    }

    #[tokio::test]
    async fn a_database_a_newer_binary_migrated_is_refused_naming_both_versions() {
        for backend in BACKENDS {
            let scratch = Scratch::new(backend).await;
            open(&scratch, &[&STORE, &NOTES]).await.close().await;
            let older = Database::open(&scratch.url, &Options::default(), &[&STORE])
                .await
                .unwrap_err();
            assert_eq!(older.id(), "system.database_newer", "{backend:?}");
            let message = older.to_string();
            assert!(
                message.contains("version 2") && message.contains("up to 1"),
                "{message}"
            );
            let status = Database::connect(&scratch.url, &Options::default())
                .unwrap()
                .status(&[&STORE])
                .await
                .unwrap();
            assert!(
                status
                    .migrations
                    .iter()
                    .any(|m| m.version == 2 && m.domain.is_empty())
            );
        }
    }

    #[tokio::test]
    async fn unique_violations_are_recognised_through_the_driver() {
        for backend in BACKENDS {
            let scratch = Scratch::new(backend).await;
            let db = open(&scratch, &[&STORE, &NOTES]).await;
            let insert =
                || sqlx::query("INSERT INTO notes (body) VALUES ('same')").execute(db.pool());
            insert().await.unwrap();
            let e = insert().await.unwrap_err();
            assert!(is_unique_violation(&e), "{backend:?}: {e}");
            assert!(!is_unavailable(&e));
            assert_eq!(error(e).id(), "system.internal");
            db.close().await;
        }
    }

    #[tokio::test]
    async fn an_unreachable_postgres_is_unavailable_within_the_acquire_timeout() {
        // Nothing listens on port 9 of the loopback: connections are refused.
        let url = DatabaseUrl::Postgres("postgres://postgres@127.0.0.1:9/errata".into());
        let options = Options {
            acquire_timeout: std::time::Duration::from_millis(500),
            ..Options::default()
        };
        let db = Database::connect(&url, &options).expect("connecting is lazy");
        let started = std::time::Instant::now();
        let e = db.ping().await.unwrap_err();
        assert_eq!(e.id(), "system.database_unavailable");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let e = Database::open(&url, &options, &[&STORE]).await.unwrap_err();
        assert_eq!(e.id(), "system.database_unavailable");
    }

    #[tokio::test]
    async fn copying_moves_every_row_and_the_target_keeps_counting_after_them() {
        for (from, to) in [
            (Backend::Sqlite, Backend::Postgres),
            (Backend::Postgres, Backend::Sqlite),
        ] {
            let source = Scratch::new(from).await;
            let target = Scratch::new(to).await;
            let a = open(&source, &[&STORE, &NOTES]).await;
            for (body, data, n) in [
                ("one", Some(vec![0u8, 255]), Some(7i64)),
                ("two", None, None),
            ] {
                sqlx::query("INSERT INTO notes (body, data, n) VALUES ($1, $2, $3)")
                    .bind(body)
                    .bind(data)
                    .bind(n)
                    .execute(a.pool())
                    .await
                    .unwrap();
            }
            sqlx::query("DELETE FROM notes WHERE body = 'two'")
                .execute(a.pool())
                .await
                .unwrap();
            sqlx::query("INSERT INTO notes (body) VALUES ('three')")
                .execute(a.pool())
                .await
                .unwrap();
            // The highest id given is a deleted row's: the copy counts past it.
            for statement in [
                "INSERT INTO notes (body) VALUES ('gone')",
                "DELETE FROM notes WHERE body = 'gone'",
            ] {
                sqlx::query(statement).execute(a.pool()).await.unwrap();
            }
            let b = open(&target, &[&STORE, &NOTES]).await;
            let copied = copy(&a, &b, &[&STORE, &NOTES]).await.unwrap();
            assert_eq!(
                copied,
                vec![("server_info", 1), ("notes", 2)],
                "{from:?} -> {to:?}"
            );
            assert_eq!(b.created_at().await.unwrap(), a.created_at().await.unwrap());
            let rows: Vec<Note> = sqlx::query_as("SELECT id, body, data, n FROM notes ORDER BY id")
                .fetch_all(b.pool())
                .await
                .unwrap();
            assert_eq!(
                rows,
                vec![
                    (1, "one".into(), Some(vec![0, 255]), Some(7)),
                    (3, "three".into(), None, None)
                ]
            );
            let next: i64 =
                sqlx::query_scalar("INSERT INTO notes (body) VALUES ('four') RETURNING id")
                    .fetch_one(b.pool())
                    .await
                    .unwrap();
            assert!(
                next > 4,
                "{from:?} -> {to:?}: id {next} was given before, to a deleted row"
            );
            let again = copy(&a, &b, &[&STORE, &NOTES]).await.unwrap_err();
            assert_eq!(again.id(), "cli.copy_target_not_empty");
        }
    }
}
