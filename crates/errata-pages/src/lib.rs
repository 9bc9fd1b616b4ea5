//! The wiki's pages: their paths and the rules a path must follow,
//! Markdown rendered and sanitized when a page is written, versions
//! (history), the folder tree, tags, links between pages, and the search
//! engines that index them.
//!
//! Every failure is a catalog error (`errata-errors`). Permissions are
//! asked of identity's `Principal`; pages never read identity's tables.
//!
//! Must never depend on the HTTP or GraphQL layers (axum, async-graphql,
//! `errata-graphql`, `errata-server`): the API and the command line make
//! the same calls.

mod access;
mod cache;
pub mod date;
mod history;
mod list;
mod model;
pub mod path;
pub mod query;
pub mod render;
mod search;
mod seed;
mod store;
mod tags;
mod tree;

use errata_catalog::Error;
use errata_store::{Database, Domain, Migration};

pub use access::PageRef;
pub use history::parse_duration;
pub use model::*;
pub use search::{Engine, EngineInfo, SearchHit, SearchHits};
pub use seed::seeded_path;
pub use tree::TreeQuery;

/// Pages' tables and their migrations, for each backend.
pub const STORAGE: Domain = Domain {
    name: "pages",
    sqlite: &[
        Migration {
            version: 4,
            description: "pages",
            sql: include_str!("../migrations/sqlite/0004_pages.sql"),
        },
        Migration {
            version: 5,
            description: "search: trigrams, prefixes, pages by path",
            sql: include_str!("../migrations/sqlite/0005_search_trigrams.sql"),
        },
    ],
    postgres: &[
        Migration {
            version: 4,
            description: "pages",
            sql: include_str!("../migrations/postgres/0004_pages.sql"),
        },
        Migration {
            version: 5,
            description: "search: trigrams, prefixes, pages by path",
            sql: include_str!("../migrations/postgres/0005_search_trigrams.sql"),
        },
    ],
    // Search indexes are not copied: `rebuild_index` makes them again from
    // the pages, in the target database's own engine.
    tables: &[
        "pages",
        "page_tags",
        "page_tag_links",
        "page_history",
        "page_links",
        "page_tree",
        "search_engines",
    ],
    generated: &[
        ("pages", "id"),
        ("page_tags", "id"),
        ("page_history", "id"),
        ("page_tree", "id"),
    ],
};

/// The name change notices about pages carry (`Database::announce`).
pub const CHANNEL: &str = "pages";

/// The pages domain: every operation on pages, their history, tree, tags,
/// links and search, over one database.
#[derive(Debug, Clone)]
pub struct Pages {
    db: Database,
    limits: Limits,
    changes: tokio::sync::broadcast::Sender<()>,
    cache: std::sync::Arc<cache::PageCache>,
}

impl Pages {
    /// Pages stored in `db`, whose migrations have run.
    pub fn new(db: Database, limits: Limits) -> Pages {
        Pages {
            db,
            limits,
            changes: tokio::sync::broadcast::channel(16).0,
            cache: std::sync::Arc::new(cache::PageCache::new(4096, 64 << 20)),
        }
    }

    /// Hears every change this process makes to pages, once committed:
    /// what keeps answers about pages (the response cache) drops them.
    /// Other instances' changes arrive as change notices instead.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<()> {
        self.changes.subscribe()
    }

    /// Drops the pages this process keeps: another instance changed some.
    pub fn forget(&self) {
        self.cache.clear();
    }

    /// Tells everyone keeping answers about pages to drop them.
    pub async fn flush(&self) {
        self.changed().await;
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The limits arguments are held to.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Tells other instances that pages changed, once the change committed.
    async fn changed(&self) {
        self.cache.clear();
        // No one listening is fine: nothing is kept.
        let _ = self.changes.send(());
        if let Err(e) = self.db.announce(CHANNEL).await {
            tracing::warn!(error = %e, "could not announce a change to pages");
        }
    }
}

/// The limits every argument is held to (`[pages]` in the configuration).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Limits {
    /// Longest title, in characters.
    pub max_title: usize,
    /// Longest description, in characters.
    pub max_description: usize,
    /// Largest content, in bytes.
    pub max_content_bytes: usize,
    /// Most tags on one page.
    pub max_tags: usize,
    /// Longest tag, in characters.
    pub max_tag: usize,
    /// Largest `scriptCss` or `scriptJs`, in bytes.
    pub max_script_bytes: usize,
    /// Longest search query, in characters.
    pub max_query: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_title: 255,
            max_description: 1024,
            max_content_bytes: 1024 * 1024,
            max_tags: 50,
            max_tag: 64,
            max_script_bytes: 64 * 1024,
            max_query: 256,
        }
    }
}

/// A store failure inside a page operation: unreachable or busy databases
/// are the system's 503, anything else a page operation that failed for a
/// reason with no code of its own (6001); the cause goes to the log only.
fn failed(e: sqlx::Error) -> Error {
    if errata_store::is_unavailable(&e) {
        errata_errors::system::database_unavailable().with_source(e)
    } else {
        errata_errors::pages::generic_error().with_source(e)
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    errata_identity::now_ms()
}

#[cfg(test)]
mod tests {
    //! The store on both backends: concurrent writers, and the tree kept by
    //! writes equal to the tree made again from the pages.

    use std::sync::Arc;

    use errata_identity::{Grant, Permissions, Principal, PrincipalKind};
    use errata_store::testing::{BACKENDS, Scratch};
    use errata_store::{Backend, Database};

    use super::*;

    async fn store(backend: Backend) -> (Pages, Scratch) {
        let scratch = Scratch::new(backend).await;
        let db = Database::open(
            &scratch.url,
            &errata_store::Options::default(),
            &[&errata_store::STORE, &STORAGE],
        )
        .await
        .unwrap();
        (Pages::new(db, Limits::default()), scratch)
    }

    fn writer() -> Principal {
        Principal::new(
            PrincipalKind::Session,
            1,
            Permissions::all(),
            None,
            Arc::from([Grant::new(Permissions::all(), Arc::from([]))]),
            0,
        )
    }

    fn page(path: &str) -> NewPage {
        NewPage {
            content: format!("# {path}\n\ntext"),
            editor: "markdown".to_owned(),
            is_published: true,
            locale: "en".to_owned(),
            path: path.to_owned(),
            title: path.to_owned(),
            tags: vec!["t".to_owned()],
            ..NewPage::default()
        }
    }

    /// A reader of one section only: every page is denied but those under
    /// `/section-1`.
    fn one_section_reader() -> Principal {
        use errata_identity::{PageRule, RuleMatch};
        let rule = |path: &str, deny: bool| {
            PageRule {
                permissions: vec!["read:pages".to_owned()],
                matching: RuleMatch::Start,
                path: path.to_owned(),
                deny,
                ..PageRule::default()
            }
            .check(0)
            .unwrap()
        };
        let permissions = Permissions::parse(&["read:pages"]).unwrap();
        Principal::new(
            PrincipalKind::Session,
            2,
            permissions,
            None,
            Arc::from([Grant::new(
                permissions,
                Arc::from([rule("/", true), rule("/section-1", false)]),
            )]),
            0,
        )
    }

    #[tokio::test]
    async fn searches_look_past_windows_the_caller_may_not_read() {
        for backend in BACKENDS {
            let (pages, _scratch) = store(backend).await;
            // Seeded page n is at section-{n % 100}/...: of 700 pages, the
            // reader may read 7, spread over every window of every engine.
            pages.seed(1, 0, 700, 700).await.unwrap();
            let engines = match backend {
                Backend::Sqlite => ["db", "sqlite"],
                Backend::Postgres => ["db", "postgres"],
            };
            for engine in engines {
                pages.activate_engine(engine, &[]).await.unwrap();
                for query in ["page", "pag", "section-1/"] {
                    let found = pages
                        .search(&one_section_reader(), query, None, None)
                        .await
                        .unwrap();
                    let mut ids: Vec<i64> = found
                        .results
                        .iter()
                        .map(|hit| hit.path.rsplit('-').next().unwrap().parse().unwrap())
                        .collect();
                    ids.sort();
                    if engine != "db" && query == "section-1/" {
                        // Paths are not in the full-text index.
                        continue;
                    }
                    assert_eq!(
                        ids,
                        [1, 101, 201, 301, 401, 501, 601],
                        "{backend:?} {engine} {query:?}"
                    );
                    assert_eq!(found.total_hits, 7);
                }
                // The writer reads every page: a search answers at most a
                // hundred, best first within each window.
                let all = pages.search(&writer(), "page", None, None).await.unwrap();
                assert_eq!(all.results.len(), 100, "{backend:?} {engine}");
                let under = pages
                    .search(&writer(), "page", Some("/section-12/"), Some("en"))
                    .await
                    .unwrap();
                assert_eq!(under.results.len(), 7, "{backend:?} {engine}");
                assert!(
                    under
                        .results
                        .iter()
                        .all(|h| h.path.starts_with("section-12/")),
                    "{backend:?} {engine}"
                );
            }
        }
    }

    #[tokio::test]
    async fn lists_by_a_rare_tag_and_by_a_common_one_agree_with_the_pages() {
        for backend in BACKENDS {
            let (pages, _scratch) = store(backend).await;
            // Seeded page n has the tags tag-{n % 50} and topic-{n % 7}.
            pages.seed(1, 0, 700, 700).await.unwrap();
            for (tag, limit, every, of) in [("topic-3", 5, 7, 3), ("tag-7", 50, 50, 7)] {
                let listed = pages
                    .list(
                        &writer(),
                        ListQuery {
                            limit: Some(limit),
                            order_by: OrderBy::Id,
                            descending: true,
                            tags: vec![tag.to_owned()],
                            with_tags: true,
                            ..ListQuery::default()
                        },
                    )
                    .await
                    .unwrap();
                let got: Vec<String> = listed.iter().map(|i| i.path.clone()).collect();
                let want: Vec<String> = (0..700)
                    .rev()
                    .filter(|n| n % every == of)
                    .take(limit as usize)
                    .map(seed::seeded_path)
                    .collect();
                assert_eq!(got, want, "{backend:?} {tag}");
                assert!(listed.iter().all(|i| i.tags.iter().any(|t| t == tag)));
            }
        }
    }

    #[tokio::test]
    async fn concurrent_updates_each_leave_a_version() {
        for backend in BACKENDS {
            let (pages, _scratch) = store(backend).await;
            let id = pages.create(&writer(), page("docs/hot")).await.unwrap().id;
            let mut tasks = Vec::new();
            for n in 0..8 {
                let pages = pages.clone();
                tasks.push(tokio::spawn(async move {
                    let changes = PageChanges {
                        content: Some(format!("version {n}")),
                        ..PageChanges::default()
                    };
                    pages.update(&writer(), id, changes).await
                }));
            }
            for task in tasks {
                task.await.unwrap().unwrap();
            }
            let history = pages.history(&writer(), id, None, None).await.unwrap();
            assert_eq!(history.total, 8, "{backend:?}");
            let now = pages.load(id).await.unwrap().unwrap();
            assert!(now.content.starts_with("version "), "{backend:?}");
        }
    }

    #[tokio::test]
    async fn concurrent_creates_at_one_path_make_one_page() {
        for backend in BACKENDS {
            let (pages, _scratch) = store(backend).await;
            let mut tasks = Vec::new();
            for _ in 0..6 {
                let pages = pages.clone();
                tasks.push(tokio::spawn(async move {
                    pages.create(&writer(), page("docs/race")).await
                }));
            }
            let mut made = 0;
            for task in tasks {
                match task.await.unwrap() {
                    Ok(_) => made += 1,
                    Err(e) => assert_eq!(e.id(), "pages.duplicate_create", "{backend:?}"),
                }
            }
            assert_eq!(made, 1, "{backend:?}");
        }
    }

    #[tokio::test]
    async fn the_kept_tree_is_the_rebuilt_tree() {
        for backend in BACKENDS {
            let (pages, _scratch) = store(backend).await;
            let who = writer();
            let mut ids = Vec::new();
            for path in [
                "alpha",
                "alpha/b",
                "alpha/b/c",
                "alpha/d",
                "echo/f/g",
                "echo/h",
            ] {
                ids.push(pages.create(&who, page(path)).await.unwrap().id);
            }
            pages.delete(&who, ids[1]).await.unwrap();
            pages
                .move_page(&who, ids[4], "alpha/g", "en")
                .await
                .unwrap();
            pages.delete(&who, ids[5]).await.unwrap();
            let kept = all_entries(&pages).await;
            pages.rebuild_tree().await.unwrap();
            let rebuilt = all_entries(&pages).await;
            assert_eq!(kept, rebuilt, "{backend:?}");
            assert!(
                !kept.iter().any(|(p, _, _)| p.starts_with("echo")),
                "{kept:?}"
            );
        }
    }

    async fn all_entries(pages: &Pages) -> Vec<(String, bool, Option<i64>)> {
        use sqlx::Row;
        let mut out: Vec<(String, bool, Option<i64>)> =
            sqlx::query("SELECT path, is_folder, page_id FROM page_tree")
                .fetch_all(pages.database().pool())
                .await
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r.get::<String, _>("path"),
                        r.get::<i64, _>("is_folder") != 0,
                        r.get::<Option<i64>, _>("page_id"),
                    )
                })
                .collect();
        out.sort();
        out
    }
}
