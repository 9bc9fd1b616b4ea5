//! Lists of pages: `list`, `links`, and moving a locale's pages.

use errata_catalog::Error;
use errata_errors::pages;
use errata_identity::{Permission, Principal};
use sqlx::Row;

use crate::access::PageRef;
use crate::{LinkItem, ListItem, ListQuery, OrderBy, Pages, failed, now_ms};

/// Most pages `list` answers.
pub const MAX_LIST: i64 = 1000;

impl Pages {
    /// Pages the caller may read, filtered and ordered as asked.
    pub async fn list(&self, caller: &Principal, query: ListQuery) -> Result<Vec<ListItem>, Error> {
        let limit = query.limit.unwrap_or(MAX_LIST);
        if !(1..=MAX_LIST).contains(&limit) {
            return Err(pages::argument_invalid(
                "limit",
                format!("it must be between 1 and {MAX_LIST}"),
            ));
        }
        let tags = self.check_tags(&query.tags)?;
        let locale = query
            .locale
            .as_deref()
            .filter(|l| !l.is_empty())
            .map(crate::path::parse_locale)
            .transpose()?;
        let mut sql = String::from(
            "SELECT p.id, p.path, p.locale, p.title, p.description, p.content_type, \
             p.is_published, p.is_private, p.private_ns, p.publish_start, p.publish_end, \
             p.created_at, p.updated_at FROM pages p WHERE 1 = 1",
        );
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        if locale.is_some() {
            sql.push_str(&format!(" AND p.locale = ${}", next()));
        }
        if query.creator_id.is_some() {
            sql.push_str(&format!(" AND p.creator_id = ${}", next()));
        }
        if query.author_id.is_some() {
            sql.push_str(&format!(" AND p.author_id = ${}", next()));
        }
        // Pages are read in the asked order and each is checked for the
        // tags, which reads about `limit` / (the tag's share of pages)
        // pages: for a rare tag that is most of the wiki, and its pages
        // are read and sorted instead.
        let rare = self.rare_tag(&tags, limit).await?;
        for tag in &tags {
            let at = next();
            if rare.as_deref() == Some(tag.as_str()) {
                sql.push_str(&format!(
                    " AND p.id IN (SELECT l.page_id FROM page_tag_links l \
                     JOIN page_tags t ON t.id = l.tag_id WHERE t.tag = ${at})"
                ));
            } else {
                sql.push_str(&format!(
                    " AND EXISTS (SELECT 1 FROM page_tag_links l JOIN page_tags t ON t.id = l.tag_id \
                     WHERE l.page_id = p.id AND t.tag = ${at})"
                ));
            }
        }
        let column = match query.order_by {
            OrderBy::Created => "p.created_at",
            OrderBy::Id => "p.id",
            OrderBy::Path => "p.path",
            OrderBy::Title => "p.title",
            OrderBy::Updated => "p.updated_at",
        };
        let direction = if query.descending { "DESC" } else { "ASC" };
        let limit_at = next();
        let offset_at = next();
        sql.push_str(&format!(
            " ORDER BY {column} {direction}, p.id {direction} LIMIT ${limit_at} OFFSET ${offset_at}"
        ));
        let now = now_ms();
        let mut out: Vec<ListItem> = Vec::new();
        let mut offset = 0i64;
        // Pages the caller may not read are left out; reading in batches
        // keeps going until `limit` readable pages are found.
        loop {
            // A short list reads a few more, so that one hidden page does
            // not cost another round trip.
            let batch = limit.max(20);
            // PostgreSQL plans a kept statement once for any tag, as if
            // every tag were on as many pages; planned with its values,
            // it walks pages in order for a common tag and reads a rare
            // tag's pages instead.
            let mut select =
                sqlx::query(&sql).persistent(self.db.backend() == errata_store::Backend::Sqlite);
            if let Some(locale) = &locale {
                select = select.bind(locale);
            }
            if let Some(id) = query.creator_id {
                select = select.bind(id);
            }
            if let Some(id) = query.author_id {
                select = select.bind(id);
            }
            for tag in &tags {
                select = select.bind(tag);
            }
            let rows = select
                .bind(batch)
                .bind(offset)
                .fetch_all(self.db.pool())
                .await
                .map_err(failed)?;
            let fetched = rows.len() as i64;
            let ids: Vec<i64> = rows
                .iter()
                .map(|r| r.try_get("id"))
                .collect::<Result<_, _>>()
                .map_err(failed)?;
            let mut page_tags = if query.with_tags {
                self.tags_of_many(&ids).await?
            } else {
                self.tags_for_rules(caller, &ids).await?
            };
            for row in rows {
                let item = list_item(&row, &mut page_tags).map_err(failed)?;
                let start: Option<i64> = row.try_get("publish_start").map_err(failed)?;
                let end: Option<i64> = row.try_get("publish_end").map_err(failed)?;
                let visible = item.is_published
                    && start.is_none_or(|s| s <= now)
                    && end.is_none_or(|e| e > now);
                let at = PageRef::at(&item.locale, &item.path, &item.tags);
                if at.allows(caller, Permission::ReadPages)
                    && (visible || at.allows(caller, Permission::WritePages))
                {
                    out.push(item);
                    if out.len() as i64 == limit {
                        return Ok(out);
                    }
                }
            }
            if fetched < batch {
                return Ok(out);
            }
            offset += batch;
        }
    }

    /// The rarest of `tags` when reading its pages and sorting them costs
    /// less than walking pages in order until `limit` carry it: when its
    /// pages are fewer than the square root of `limit` times all pages.
    /// Each tag's pages are counted only up to that bound.
    async fn rare_tag(&self, tags: &[String], limit: i64) -> Result<Option<String>, Error> {
        if tags.is_empty() {
            return Ok(None);
        }
        // The highest id stands for the number of pages: deletes leave
        // gaps, which only make a tag look rarer.
        let total: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM pages")
            .fetch_one(self.db.pool())
            .await
            .map_err(failed)?;
        let bound = ((limit.max(1) as f64) * (total.unwrap_or(0) as f64))
            .sqrt()
            .ceil() as i64;
        let mut rarest: Option<(i64, &String)> = None;
        for tag in tags {
            let pages: i64 = sqlx::query_scalar(&format!(
                "SELECT count(*) FROM (SELECT 1 FROM page_tag_links l \
                 JOIN page_tags t ON t.id = l.tag_id WHERE t.tag = $1 LIMIT {}) c",
                bound + 1
            ))
            .persistent(false)
            .bind(tag)
            .fetch_one(self.db.pool())
            .await
            .map_err(failed)?;
            if pages <= bound && rarest.is_none_or(|(fewest, _)| pages < fewest) {
                rarest = Some((pages, tag));
            }
        }
        Ok(rarest.map(|(_, tag)| tag.clone()))
    }

    /// Every page of a locale the caller may read, with the pages it links
    /// to (as `locale/path`).
    pub async fn links(&self, caller: &Principal, locale: &str) -> Result<Vec<LinkItem>, Error> {
        let locale = crate::path::parse_locale(locale)?;
        let rows = sqlx::query(
            "SELECT p.id, p.path, p.title, l.locale AS link_locale, l.path AS link_path \
             FROM pages p LEFT JOIN page_links l ON l.page_id = p.id \
             WHERE p.locale = $1 ORDER BY p.id, l.locale, l.path",
        )
        .bind(&locale)
        .fetch_all(self.db.pool())
        .await
        .map_err(failed)?;
        let mut items: Vec<LinkItem> = Vec::new();
        for row in rows {
            let id: i64 = row.try_get("id").map_err(failed)?;
            if items.last().is_none_or(|i| i.id != id) {
                items.push(LinkItem {
                    id,
                    path: row.try_get("path").map_err(failed)?,
                    title: row.try_get("title").map_err(failed)?,
                    links: Vec::new(),
                });
            }
            let link_locale: Option<String> = row.try_get("link_locale").map_err(failed)?;
            let link_path: Option<String> = row.try_get("link_path").map_err(failed)?;
            if let (Some(l), Some(p), Some(item)) = (link_locale, link_path, items.last_mut()) {
                item.links.push(format!("{l}/{p}"));
            }
        }
        let ids: Vec<i64> = items.iter().map(|i| i.id).collect();
        let tags = self.tags_for_rules(caller, &ids).await?;
        let windows = self.windows_of(&ids).await?;
        let now = now_ms();
        Ok(items
            .into_iter()
            .filter(|i| {
                let at = PageRef::at(
                    &locale,
                    &i.path,
                    tags.get(&i.id).map(Vec::as_slice).unwrap_or_default(),
                );
                at.allows(caller, Permission::ReadPages)
                    && (windows.get(&i.id).is_some_and(|w| w.contains(now))
                        || at.allows(caller, Permission::WritePages))
            })
            .collect())
    }

    /// Moves every page of `source` to `target` (6006 when a path exists in
    /// both); answers how many moved.
    pub async fn migrate_to_locale(&self, source: &str, target: &str) -> Result<u64, Error> {
        let source = crate::path::parse_locale(source)?;
        let target = crate::path::parse_locale(target)?;
        if source == target {
            return Ok(0);
        }
        let mut tx = self.begin().await?;
        let done = sqlx::query("UPDATE pages SET locale = $1 WHERE locale = $2")
            .bind(&target)
            .bind(&source)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if errata_store::is_unique_violation(&e) {
                    pages::path_collision()
                } else {
                    failed(e)
                }
            })?;
        // Links to the moved pages follow them.
        sqlx::query("UPDATE page_links SET locale = $1 WHERE locale = $2")
            .bind(&target)
            .bind(&source)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        crate::tree::rebuild_in(&mut tx).await?;
        tx.commit().await.map_err(failed)?;
        self.changed().await;
        Ok(done.rows_affected())
    }
}

fn list_item(
    row: &sqlx::any::AnyRow,
    tags: &mut std::collections::HashMap<i64, Vec<String>>,
) -> Result<ListItem, sqlx::Error> {
    let id: i64 = row.try_get("id")?;
    Ok(ListItem {
        id,
        path: row.try_get("path")?,
        locale: row.try_get("locale")?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        content_type: row.try_get("content_type")?,
        is_published: errata_store::flag(row, "is_published")?,
        is_private: errata_store::flag(row, "is_private")?,
        private_ns: row.try_get("private_ns")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        tags: tags.remove(&id).unwrap_or_default(),
    })
}
