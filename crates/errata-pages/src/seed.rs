//! Made-up pages for benchmarks (`errata bench-seed`): many pages in a
//! tree of sections, with tags, links, words to search for, and a version
//! each, written in large transactions through the same writes as the API.

use errata_catalog::Error;

use crate::render::Editor;
use crate::store::Fields;
use crate::{Pages, failed, history, now_ms};

const WORDS: &[&str] = &[
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
    "install",
    "configure",
    "deploy",
    "backup",
    "restore",
    "upgrade",
    "network",
    "storage",
    "security",
    "search",
    "editor",
];

/// Where the `n`th seeded page is: 100 sections of 100 topics.
pub fn seeded_path(n: usize) -> String {
    format!("section-{}/topic-{}/page-{n}", n % 100, n / 100 % 100)
}

impl Pages {
    /// Adds `count` pages authored by user `author`, numbered from `first`,
    /// `batch` to a transaction; each has two tags, a link to its
    /// neighbour and one earlier version.
    pub async fn seed(
        &self,
        author: i64,
        first: usize,
        count: usize,
        batch: usize,
    ) -> Result<(), Error> {
        let batch = batch.max(1);
        let mut n = first;
        while n < first + count {
            let end = (n + batch).min(first + count);
            let mut tx = self.begin().await?;
            for i in n..end {
                let word = |k: usize| WORDS[(i * 7 + k * 13) % WORDS.len()];
                let fields = Fields {
                    title: format!("{} {} page {i}", word(0), word(1)),
                    description: format!("How to {} the {}", word(2), word(3)),
                    content: format!(
                        "# {title}\n\nThis page explains how to {a} and {b} with errata.\n\n\
                         ## Details\n\nSee [the next page](/{next}) for {c}.\n",
                        title = word(0),
                        a = word(4),
                        b = word(5),
                        c = word(6),
                        next = seeded_path(i + 1),
                    ),
                    editor: Editor::Markdown,
                    tags: vec![format!("tag-{}", i % 50), format!("topic-{}", i % 7)],
                    script_css: String::new(),
                    script_js: String::new(),
                    is_private: false,
                    is_published: true,
                    publish_start: None,
                    publish_end: None,
                };
                let path = seeded_path(i);
                let now = now_ms();
                let id = self
                    .insert(&mut tx, None, "en", &path, &fields, author, author, now)
                    .await?;
                let page = self
                    .load_in(&mut tx, id)
                    .await?
                    .ok_or_else(errata_errors::pages::generic_error)?;
                history::record(&mut tx, &page, "updated", None, None, now).await?;
            }
            tx.commit().await.map_err(failed)?;
            n = end;
        }
        if self.db.backend() == errata_store::Backend::Postgres {
            // After a bulk load, as autovacuum would soon: the planner's
            // estimates come from the statistics, and index-only scans
            // skip the table only for pages the visibility map marks.
            sqlx::query(
                "VACUUM ANALYZE pages, page_tags, page_tag_links, page_tree, page_history, \
                 pages_vector",
            )
            .execute(self.db.pool())
            .await
            .map_err(failed)?;
        }
        self.changed().await;
        Ok(())
    }
}
