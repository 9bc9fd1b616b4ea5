//! Scratch databases for tests: a SQLite file in a fresh directory, or a
//! PostgreSQL database created for the test and dropped after it, so that
//! runs never see each other's data.
//!
//! The PostgreSQL server is `ERRATA_TEST_POSTGRES` (a URL to a database
//! the test may create databases from), by default the machine's
//! `postgres://postgres@127.0.0.1:5432/postgres`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::Connection;

use crate::{Backend, DatabaseUrl};

/// Where tests create their PostgreSQL databases.
pub fn postgres_admin_url() -> String {
    std::env::var("ERRATA_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The prefix of every scratch database's name, which the test command
/// uses to drop those a killed run left behind.
pub const PREFIX: &str = "errata_test_";

/// A database that exists while it lives.
#[derive(Debug)]
pub struct Scratch {
    /// Where it is.
    pub url: DatabaseUrl,
    /// The directory the test may use for everything else it keeps.
    pub dir: PathBuf,
    dropped: Option<String>,
}

impl Scratch {
    /// A fresh, empty database on `backend`. Panics when PostgreSQL cannot
    /// be reached: the test command starts it, and a store test that
    /// silently skipped a backend would prove nothing.
    pub async fn new(backend: Backend) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let mut random = [0u8; 4];
        getrandom::fill(&mut random).expect("the system's random source works");
        let tag = format!(
            "{}_{n}_{:08x}",
            std::process::id(),
            u32::from_le_bytes(random)
        );
        let dir = std::env::temp_dir().join(format!("errata-test-{tag}"));
        let _ = std::fs::remove_dir_all(&dir);
        match backend {
            Backend::Sqlite => Scratch {
                url: DatabaseUrl::Sqlite(dir.join(crate::url::SQLITE_FILE)),
                dir,
                dropped: None,
            },
            Backend::Postgres => {
                let name = format!("{PREFIX}{tag}");
                let admin = postgres_admin_url();
                let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL at {admin} is needed by this test ({e}); start it with \
                         `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` \
                         or set ERRATA_TEST_POSTGRES"
                    )
                });
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("a scratch database can be created");
                let _ = conn.close().await;
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                Scratch {
                    url: DatabaseUrl::Postgres(format!("{base}/{name}")),
                    dir,
                    dropped: Some(name),
                }
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        let Some(name) = self.dropped.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot be blocked on;
        // a thread of its own with its own runtime drops the database.
        let admin = postgres_admin_url();
        let dropping = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                    let _ = conn.close().await;
                }
            });
        });
        let _ = dropping.join();
    }
}

/// Both backends, for tests that must pass on each.
pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];
