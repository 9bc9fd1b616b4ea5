//! Versions: the state a page had before each change, kept when the page
//! is deleted, paged through by `history`, brought back by `restore`.

use errata_catalog::Error;
use errata_errors::pages;
use errata_identity::{Permission, Principal};
use errata_store::flag;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::access::PageRef;
use crate::store::Tx;
use crate::{History, HistoryEntry, Page, Pages, Version, failed};

const VERSION_COLUMNS: &str = "id, page_id, action, locale, path, title, description, is_private, \
     is_published, private_ns, publish_start, publish_end, content, content_type, editor, \
     script_css, script_js, tags, value_before, value_after, author_id, version_date, created_at";

/// Records `old`, the state a change replaces. Its author is the state's,
/// as in Wiki.js; the change's author is the next state's.
pub(crate) async fn record(
    tx: &mut Tx,
    old: &Page,
    action: &str,
    value_before: Option<String>,
    value_after: Option<String>,
    now: i64,
) -> Result<(), Error> {
    let tags: Vec<&str> = old.tags.iter().map(|t| t.tag.as_str()).collect();
    let tags = serde_json::to_string(&tags).map_err(|e| pages::generic_error().with_source(e))?;
    sqlx::query(
        "INSERT INTO page_history (page_id, action, locale, path, title, description, \
         is_private, is_published, private_ns, publish_start, publish_end, content, \
         content_type, editor, script_css, script_js, tags, value_before, value_after, \
         author_id, version_date, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
         $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)",
    )
    .bind(old.id)
    .bind(action)
    .bind(&old.locale)
    .bind(&old.path)
    .bind(&old.title)
    .bind(&old.description)
    .bind(i64::from(old.is_private))
    .bind(i64::from(old.is_published))
    .bind(&old.private_ns)
    .bind(old.publish_start)
    .bind(old.publish_end)
    .bind(&old.content)
    .bind(&old.content_type)
    .bind(&old.editor)
    .bind(&old.script_css)
    .bind(&old.script_js)
    .bind(tags)
    .bind(value_before)
    .bind(value_after)
    .bind(old.author_id)
    .bind(old.updated_at)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(failed)?;
    Ok(())
}

fn version_from(row: &AnyRow) -> Result<Version, sqlx::Error> {
    let tags: String = row.try_get("tags")?;
    Ok(Version {
        action: row.try_get("action")?,
        author_id: row.try_get("author_id")?,
        content: row.try_get("content")?,
        content_type: row.try_get("content_type")?,
        created_at: row.try_get("created_at")?,
        version_date: row.try_get("version_date")?,
        description: row.try_get("description")?,
        editor: row.try_get("editor")?,
        is_private: flag(row, "is_private")?,
        is_published: flag(row, "is_published")?,
        locale: row.try_get("locale")?,
        page_id: row.try_get("page_id")?,
        path: row.try_get("path")?,
        publish_end: row.try_get("publish_end")?,
        publish_start: row.try_get("publish_start")?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        title: row.try_get("title")?,
        version_id: row.try_get("id")?,
        script_css: row.try_get("script_css")?,
        script_js: row.try_get("script_js")?,
        private_ns: row.try_get("private_ns")?,
    })
}

async fn version_with<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    page_id: i64,
    version_id: i64,
) -> Result<Option<Version>, Error> {
    let row = sqlx::query(&format!(
        "SELECT {VERSION_COLUMNS} FROM page_history WHERE id = $1 AND page_id = $2"
    ))
    .bind(version_id)
    .bind(page_id)
    .fetch_optional(executor)
    .await
    .map_err(failed)?;
    row.map(|r| version_from(&r)).transpose().map_err(failed)
}

pub(crate) async fn version_in(
    tx: &mut Tx,
    page_id: i64,
    version_id: i64,
) -> Result<Option<Version>, Error> {
    version_with(&mut **tx, page_id, version_id).await
}

/// Who created a page that is gone: the author of its oldest version.
pub(crate) async fn creator_in(tx: &mut Tx, page_id: i64) -> Result<Option<i64>, Error> {
    sqlx::query_scalar("SELECT author_id FROM page_history WHERE page_id = $1 ORDER BY id LIMIT 1")
        .bind(page_id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(failed)
}

/// Longest page of history one request gets.
const MAX_HISTORY_PAGE: i64 = 100;

impl Pages {
    /// Where the page is, or was when last seen: its current place, or
    /// its newest version's when it is deleted; 6003 when it never was.
    async fn whereabouts(&self, page_id: i64) -> Result<PageRef, Error> {
        if let Some(page) = self.load(page_id).await? {
            return Ok(page.reference());
        }
        let row = sqlx::query(
            "SELECT locale, path, tags FROM page_history WHERE page_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(page_id)
        .fetch_optional(self.db.pool())
        .await
        .map_err(failed)?
        .ok_or_else(pages::not_found)?;
        let tags: String = row.try_get("tags").map_err(failed)?;
        Ok(PageRef {
            locale: row.try_get("locale").map_err(failed)?,
            path: row.try_get("path").map_err(failed)?,
            tags: serde_json::from_str(&tags).unwrap_or_default(),
        })
    }

    async fn check_history(&self, caller: &Principal, page_id: i64) -> Result<(), Error> {
        let at = self.whereabouts(page_id).await?;
        if !at.allows(caller, Permission::ReadHistory) {
            return Err(pages::history_forbidden());
        }
        Ok(())
    }

    /// A page of a page's history, newest first (6003, 6012).
    pub async fn history(
        &self,
        caller: &Principal,
        page_id: i64,
        offset_page: Option<i64>,
        offset_size: Option<i64>,
    ) -> Result<History, Error> {
        self.check_history(caller, page_id).await?;
        let size = offset_size.unwrap_or(MAX_HISTORY_PAGE);
        if !(1..=MAX_HISTORY_PAGE).contains(&size) {
            return Err(pages::argument_invalid(
                "offsetSize",
                format!("it must be between 1 and {MAX_HISTORY_PAGE}"),
            ));
        }
        let page = offset_page.unwrap_or(0);
        if !(0..=1_000_000).contains(&page) {
            return Err(pages::argument_invalid(
                "offsetPage",
                "it must be between 0 and 1000000",
            ));
        }
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM page_history WHERE page_id = $1")
            .bind(page_id)
            .fetch_one(self.db.pool())
            .await
            .map_err(failed)?;
        let rows = sqlx::query(
            "SELECT id, action, author_id, version_date, value_before, value_after \
             FROM page_history WHERE page_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3",
        )
        .bind(page_id)
        .bind(size)
        .bind(page * size)
        .fetch_all(self.db.pool())
        .await
        .map_err(failed)?;
        let trail = rows
            .iter()
            .map(|r| {
                Ok(HistoryEntry {
                    version_id: r.try_get("id")?,
                    version_date: r.try_get("version_date")?,
                    author_id: r.try_get("author_id")?,
                    action_type: r.try_get("action")?,
                    value_before: r.try_get("value_before")?,
                    value_after: r.try_get("value_after")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(failed)?;
        Ok(History { trail, total })
    }

    /// One version (6003, 6012).
    pub async fn version(
        &self,
        caller: &Principal,
        page_id: i64,
        version_id: i64,
    ) -> Result<Version, Error> {
        self.check_history(caller, page_id).await?;
        let version = version_with(self.db.pool(), page_id, version_id)
            .await?
            .ok_or_else(pages::not_found)?;
        // A version keeps where the page was when it was recorded: a page
        // moved out of a place the caller may not read the history of does
        // not take its versions from there along.
        let was = PageRef::at(&version.locale, &version.path, &version.tags);
        if !was.allows(caller, Permission::ReadHistory) {
            return Err(pages::history_forbidden());
        }
        Ok(version)
    }

    /// Drops versions recorded before `cutoff` (milliseconds); answers how
    /// many.
    pub async fn purge_history(&self, cutoff: i64) -> Result<u64, Error> {
        let done = sqlx::query("DELETE FROM page_history WHERE created_at < $1")
            .bind(cutoff)
            .execute(self.db.pool())
            .await
            .map_err(failed)?;
        Ok(done.rows_affected())
    }
}

/// An ISO 8601 duration (`P1D`, `P3M`, `PT12H`, `P1Y2M`), in milliseconds;
/// a month counts 30 days and a year 365. Wiki.js's client sends these to
/// `purgeHistory`.
pub fn parse_duration(text: &str) -> Option<i64> {
    let rest = text.strip_prefix('P')?;
    if rest.is_empty() {
        return None;
    }
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return None,
        None => (rest, None),
    };
    let mut total: i64 = 0;
    let mut add = |part: &str, units: &[(char, i64)]| -> Option<()> {
        let mut number = String::new();
        let mut last = 0usize;
        for c in part.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let position = units.iter().position(|(u, _)| *u == c)?;
            if number.is_empty() || position < last {
                return None;
            }
            last = position + 1;
            let n: i64 = number.parse().ok()?;
            total = total.checked_add(n.checked_mul(units[position].1)?)?;
            number.clear();
        }
        number.is_empty().then_some(())
    };
    const DAY: i64 = 86_400_000;
    add(
        date,
        &[
            ('Y', 365 * DAY),
            ('M', 30 * DAY),
            ('W', 7 * DAY),
            ('D', DAY),
        ],
    )?;
    if let Some(time) = time {
        add(time, &[('H', 3_600_000), ('M', 60_000), ('S', 1000)])?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("P1D"), Some(86_400_000));
        assert_eq!(parse_duration("P1Y2M"), Some((365 + 60) * 86_400_000));
        assert_eq!(parse_duration("PT1H30M"), Some(5_400_000));
        assert_eq!(parse_duration("P1W"), Some(7 * 86_400_000));
        for bad in [
            "",
            "P",
            "1D",
            "PT",
            "P1",
            "PD",
            "P1M1Y",
            "P1DT",
            "P-1D",
            "P99999999999999999999Y",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
