//! Tags: each page's, and the tag list readers may see.

use std::collections::{BTreeMap, HashMap};

use errata_catalog::Error;
use errata_errors::pages;
use errata_identity::{Permission, Principal};
use sqlx::{Any, Executor, Row};

use crate::access::PageRef;
use crate::store::{Tx, tag_from};
use crate::{Pages, Tag, failed, now_ms};

/// Gives page `id` exactly `tags`, creating the tags that are new and
/// dropping those no page has any more.
pub(crate) async fn set(tx: &mut Tx, id: i64, tags: &[String], now: i64) -> Result<(), Error> {
    crate::tree::lock(tx).await?;
    let before: Vec<i64> =
        sqlx::query_scalar("SELECT tag_id FROM page_tag_links WHERE page_id = $1")
            .bind(id)
            .fetch_all(&mut **tx)
            .await
            .map_err(failed)?;
    sqlx::query("DELETE FROM page_tag_links WHERE page_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(failed)?;
    for tag in tags {
        sqlx::query(
            "INSERT INTO page_tags (tag, title, created_at, updated_at) VALUES ($1, $1, $2, $2) \
             ON CONFLICT (tag) DO NOTHING",
        )
        .bind(tag)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(failed)?;
        sqlx::query(
            "INSERT INTO page_tag_links (page_id, tag_id) \
             SELECT $1, id FROM page_tags WHERE tag = $2 ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(tag)
        .execute(&mut **tx)
        .await
        .map_err(failed)?;
    }
    for tag_id in before {
        sqlx::query(
            "DELETE FROM page_tags WHERE id = $1 \
             AND NOT EXISTS (SELECT 1 FROM page_tag_links WHERE tag_id = $1)",
        )
        .bind(tag_id)
        .execute(&mut **tx)
        .await
        .map_err(failed)?;
    }
    Ok(())
}

/// A page's tags, sorted.
pub(crate) async fn of<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
) -> Result<Vec<Tag>, Error> {
    let rows = sqlx::query(
        "SELECT t.id, t.tag, t.title, t.created_at, t.updated_at FROM page_tags t \
         JOIN page_tag_links l ON l.tag_id = t.id WHERE l.page_id = $1 ORDER BY t.tag",
    )
    .bind(id)
    .fetch_all(executor)
    .await
    .map_err(failed)?;
    rows.iter()
        .map(tag_from)
        .collect::<Result<_, _>>()
        .map_err(failed)
}

/// Tags of many pages, by page id.
pub(crate) async fn of_many<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<String>>, Error> {
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    // Ids are integers formatted here, never caller text. The statement is
    // one of its own: kept, it would push the shared ones out of the
    // connection's cache.
    let rows = sqlx::query(&format!(
        "SELECT l.page_id, t.tag FROM page_tag_links l JOIN page_tags t ON t.id = l.tag_id \
         WHERE l.page_id IN ({list}) ORDER BY t.tag"
    ))
    .persistent(false)
    .fetch_all(executor)
    .await
    .map_err(failed)?;
    for row in rows {
        let id: i64 = row.try_get("page_id").map_err(failed)?;
        out.entry(id)
            .or_default()
            .push(row.try_get("tag").map_err(failed)?);
    }
    Ok(out)
}

/// Most tags `searchTags` answers.
const MAX_TAG_HITS: usize = 5;

impl Pages {
    /// Every tag on a page the caller may read.
    pub async fn tags(&self, caller: &Principal) -> Result<Vec<Tag>, Error> {
        let all = sqlx::query(
            "SELECT id, tag, title, created_at, updated_at FROM page_tags ORDER BY tag",
        )
        .fetch_all(self.db.pool())
        .await
        .map_err(failed)?
        .iter()
        .map(tag_from)
        .collect::<Result<Vec<_>, _>>()
        .map_err(failed)?;
        let readable = self.readable_tag_ids(caller).await?;
        Ok(all
            .into_iter()
            .filter(|t| readable.contains_key(&t.id))
            .collect())
    }

    /// Up to five tags containing `query`, on pages the caller may read.
    pub async fn search_tags(&self, caller: &Principal, query: &str) -> Result<Vec<String>, Error> {
        let query = query.trim().to_lowercase();
        if query.chars().count() > self.limits.max_tag {
            return Err(pages::argument_invalid(
                "query",
                format!("it is longer than {} characters", self.limits.max_tag),
            ));
        }
        let readable = self.readable_tag_ids(caller).await?;
        let rows =
            sqlx::query("SELECT id, tag FROM page_tags WHERE tag LIKE $1 ESCAPE '\\' ORDER BY tag")
                .bind(crate::query::like_pattern(&query))
                .fetch_all(self.db.pool())
                .await
                .map_err(failed)?;
        let mut out = Vec::new();
        for row in rows {
            let id: i64 = row.try_get("id").map_err(failed)?;
            if readable.contains_key(&id) {
                out.push(row.try_get("tag").map_err(failed)?);
                if out.len() == MAX_TAG_HITS {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Ids of tags on at least one page the caller may read now.
    async fn readable_tag_ids(&self, caller: &Principal) -> Result<BTreeMap<i64, ()>, Error> {
        let rows = sqlx::query(
            "SELECT p.id AS page_id, p.locale, p.path, p.is_published, p.publish_start, \
             p.publish_end, t.id AS tag_id, t.tag FROM pages p \
             JOIN page_tag_links l ON l.page_id = p.id JOIN page_tags t ON t.id = l.tag_id \
             ORDER BY p.id",
        )
        .fetch_all(self.db.pool())
        .await
        .map_err(failed)?;
        let now = now_ms();
        let mut out = BTreeMap::new();
        let mut start = 0;
        while start < rows.len() {
            let page_id: i64 = rows[start].try_get("page_id").map_err(failed)?;
            let mut end = start;
            let mut tags = Vec::new();
            let mut ids = Vec::new();
            while end < rows.len()
                && rows[end].try_get::<i64, _>("page_id").map_err(failed)? == page_id
            {
                tags.push(rows[end].try_get::<String, _>("tag").map_err(failed)?);
                ids.push(rows[end].try_get::<i64, _>("tag_id").map_err(failed)?);
                end += 1;
            }
            let row = &rows[start];
            let at = PageRef {
                locale: row.try_get("locale").map_err(failed)?,
                path: row.try_get("path").map_err(failed)?,
                tags,
            };
            let visible = errata_store::flag(row, "is_published").map_err(failed)?
                && row
                    .try_get::<Option<i64>, _>("publish_start")
                    .map_err(failed)?
                    .is_none_or(|s| s <= now)
                && row
                    .try_get::<Option<i64>, _>("publish_end")
                    .map_err(failed)?
                    .is_none_or(|e| e > now);
            if at.allows(caller, Permission::ReadPages)
                && (visible || at.allows(caller, Permission::WritePages))
            {
                for id in ids {
                    out.insert(id, ());
                }
            }
            start = end;
        }
        Ok(out)
    }

    /// Deletes a tag from every page (6102 when there is none).
    pub async fn delete_tag(&self, id: i64) -> Result<(), Error> {
        let done = sqlx::query("DELETE FROM page_tags WHERE id = $1")
            .bind(id)
            .execute(self.db.pool())
            .await
            .map_err(failed)?;
        if done.rows_affected() == 0 {
            return Err(pages::tag_not_found());
        }
        self.changed().await;
        Ok(())
    }

    /// Renames a tag and sets its title (6102, 6101; 6002-like clashes
    /// with another tag are 6101).
    pub async fn update_tag(&self, id: i64, tag: &str, title: &str) -> Result<(), Error> {
        let tags = self.check_tags(&[tag.to_owned()])?;
        let Some(tag) = tags.first() else {
            return Err(pages::argument_invalid("tag", "it is empty".to_owned()));
        };
        let title = title.trim();
        if title.chars().count() > self.limits.max_title || title.chars().any(char::is_control) {
            return Err(pages::argument_invalid(
                "title",
                format!(
                    "it must be at most {} characters, with no control character",
                    self.limits.max_title
                ),
            ));
        }
        let done =
            sqlx::query("UPDATE page_tags SET tag = $1, title = $2, updated_at = $3 WHERE id = $4")
                .bind(tag)
                .bind(title)
                .bind(now_ms())
                .bind(id)
                .execute(self.db.pool())
                .await
                .map_err(|e| {
                    if errata_store::is_unique_violation(&e) {
                        pages::argument_invalid("tag", "another tag has this name".to_owned())
                    } else {
                        failed(e)
                    }
                })?;
        if done.rows_affected() == 0 {
            return Err(pages::tag_not_found());
        }
        self.changed().await;
        Ok(())
    }
}
