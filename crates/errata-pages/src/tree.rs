//! The folder tree: an entry for every path that is a page or has pages
//! below it, kept by every create, move and delete, so that a level of the
//! tree is one indexed read.

use errata_catalog::Error;
use errata_identity::{Permission, Principal};
use errata_store::flag;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::access::PageRef;
use crate::store::Tx;
use crate::{Pages, TreeItem, TreeMode, failed, now_ms};

/// Makes the transaction the only one changing the tree and tags until it
/// ends. A folder or a tag is kept or dropped by what its transaction sees
/// using it: on PostgreSQL a delete emptying a folder (or taking a tag off
/// its last page) and a create adding a page to it (or giving a page the
/// tag), side by side, would each miss the other's row, and the delete
/// drop the folder or tag (and, by its cascade, the new page's entry or
/// link). SQLite runs one writer at a time already. Every write takes it
/// after its page's row, and before anything else it shares.
pub(crate) async fn lock(tx: &mut Tx) -> Result<(), Error> {
    if tx.backend_name() == "PostgreSQL" {
        // The key is arbitrary, the same for every instance.
        sqlx::query("SELECT pg_advisory_xact_lock(7268590412)")
            .execute(&mut **tx)
            .await
            .map_err(failed)?;
    }
    Ok(())
}

/// Adds page `page_id` at `path`, and every folder above it.
pub(crate) async fn add(
    tx: &mut Tx,
    locale: &str,
    path: &str,
    page_id: i64,
    title: &str,
    is_private: bool,
) -> Result<(), Error> {
    lock(tx).await?;
    let segments: Vec<&str> = path.split('/').collect();
    let mut parent: Option<i64> = None;
    for depth in 1..=segments.len() {
        let here = segments[..depth].join("/");
        let is_page = depth == segments.len();
        let id: i64 = if is_page {
            sqlx::query_scalar(
                "INSERT INTO page_tree (locale, path, depth, title, is_folder, is_private, parent, page_id) \
                 VALUES ($1, $2, $3, $4, 0, $5, $6, $7) \
                 ON CONFLICT (locale, path) DO UPDATE SET title = $4, is_private = $5, page_id = $7 \
                 RETURNING id",
            )
            .bind(locale)
            .bind(&here)
            .bind(depth as i64)
            .bind(title)
            .bind(i64::from(is_private))
            .bind(parent)
            .bind(page_id)
            .fetch_one(&mut **tx)
            .await
        } else {
            sqlx::query_scalar(
                "INSERT INTO page_tree (locale, path, depth, title, is_folder, is_private, parent) \
                 VALUES ($1, $2, $3, $4, 1, 0, $5) \
                 ON CONFLICT (locale, path) DO UPDATE SET is_folder = 1 RETURNING id",
            )
            .bind(locale)
            .bind(&here)
            .bind(depth as i64)
            .bind(segments[depth - 1])
            .bind(parent)
            .fetch_one(&mut **tx)
            .await
        }
        .map_err(failed)?;
        parent = Some(id);
    }
    Ok(())
}

/// Removes the page at `path` from the tree, and the folders it leaves
/// empty.
pub(crate) async fn remove(tx: &mut Tx, locale: &str, path: &str) -> Result<(), Error> {
    lock(tx).await?;
    let segments: Vec<&str> = path.split('/').collect();
    for depth in (1..=segments.len()).rev() {
        let here = segments[..depth].join("/");
        let row = sqlx::query("SELECT id, page_id FROM page_tree WHERE locale = $1 AND path = $2")
            .bind(locale)
            .bind(&here)
            .fetch_optional(&mut **tx)
            .await
            .map_err(failed)?;
        let Some(row) = row else { continue };
        let id: i64 = row.try_get("id").map_err(failed)?;
        let is_leaf = depth == segments.len();
        let has_children: Option<i64> =
            sqlx::query_scalar("SELECT id FROM page_tree WHERE parent = $1 LIMIT 1")
                .bind(id)
                .fetch_optional(&mut **tx)
                .await
                .map_err(failed)?;
        if has_children.is_some() {
            if is_leaf {
                // The page goes; the folder it was stays, named by its segment.
                sqlx::query("UPDATE page_tree SET page_id = NULL, title = $2 WHERE id = $1")
                    .bind(id)
                    .bind(segments[depth - 1])
                    .execute(&mut **tx)
                    .await
                    .map_err(failed)?;
            }
            return Ok(());
        }
        let has_page = !is_leaf
            && row
                .try_get::<Option<i64>, _>("page_id")
                .map_err(failed)?
                .is_some();
        if has_page {
            sqlx::query("UPDATE page_tree SET is_folder = 0 WHERE id = $1")
                .bind(id)
                .execute(&mut **tx)
                .await
                .map_err(failed)?;
            return Ok(());
        }
        sqlx::query("DELETE FROM page_tree WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await
            .map_err(failed)?;
    }
    Ok(())
}

fn item_from(row: &AnyRow) -> Result<TreeItem, sqlx::Error> {
    Ok(TreeItem {
        id: row.try_get("id")?,
        path: row.try_get("path")?,
        depth: row.try_get("depth")?,
        title: row.try_get("title")?,
        is_private: flag(row, "is_private")?,
        is_folder: flag(row, "is_folder")?,
        private_ns: row.try_get("private_ns")?,
        parent: row.try_get("parent")?,
        page_id: row.try_get("page_id")?,
        locale: row.try_get("locale")?,
    })
}

const TREE_COLUMNS: &str =
    "id, path, depth, title, is_private, is_folder, private_ns, parent, page_id, locale";

/// `tree`'s arguments.
#[derive(Debug, Clone)]
pub struct TreeQuery {
    /// The entries beside this path (its parent's children).
    pub path: Option<String>,
    /// The entries below this entry; the top level when absent or below 1.
    pub parent: Option<i64>,
    /// Folders, pages or both.
    pub mode: TreeMode,
    /// Locale.
    pub locale: String,
    /// With the ancestors of `path`.
    pub include_ancestors: bool,
}

impl Pages {
    /// One level of the tree, as Wiki.js answers it: folders first, then by
    /// title; entries the caller may not read are left out.
    pub async fn tree(&self, caller: &Principal, query: TreeQuery) -> Result<Vec<TreeItem>, Error> {
        let locale = crate::path::parse_locale(&query.locale)?;
        let mut parent = query.parent.filter(|p| *p > 0);
        let mut ancestors: Vec<TreeItem> = Vec::new();
        if let (Some(path), None) = (&query.path, parent) {
            let path = path.trim_matches('/');
            if path.chars().count() > crate::path::MAX_PATH {
                // No page is there, and its prefixes would be many binds.
                return Ok(Vec::new());
            }
            // The entry and every entry above it, which are its path's
            // prefixes, in one read.
            let segments: Vec<&str> = path.split('/').collect();
            let prefixes: Vec<String> = (1..=segments.len())
                .map(|depth| segments[..depth].join("/"))
                .collect();
            let marks = (0..prefixes.len())
                .map(|i| format!("${}", i + 2))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT {TREE_COLUMNS} FROM page_tree WHERE locale = $1 AND path IN ({marks}) \
                 ORDER BY depth"
            );
            let mut select = sqlx::query(&sql).persistent(false).bind(&locale);
            for prefix in &prefixes {
                select = select.bind(prefix);
            }
            let mut found = select
                .fetch_all(self.db.pool())
                .await
                .map_err(failed)?
                .iter()
                .map(item_from)
                .collect::<Result<Vec<_>, _>>()
                .map_err(failed)?;
            let Some(entry) = found.pop().filter(|e| e.path == path) else {
                return Ok(Vec::new());
            };
            // An entry the caller would not see answers as a path where
            // nothing is: its siblings would tell that it exists.
            parent = entry.parent;
            if self.shown(caller, vec![entry]).await?.is_empty() {
                return Ok(Vec::new());
            }
            if query.include_ancestors {
                // Nearest first.
                found.reverse();
                ancestors = found;
            }
        }
        let mode = match query.mode {
            TreeMode::Folders => " AND is_folder = 1",
            TreeMode::Pages => " AND page_id IS NOT NULL",
            TreeMode::All => "",
        };
        let level = match parent {
            Some(_) => "parent = $2",
            None => "parent IS NULL",
        };
        let sql = format!(
            "SELECT {TREE_COLUMNS} FROM page_tree WHERE locale = $1 AND {level}{mode} \
             ORDER BY is_folder DESC, title"
        );
        let mut select = sqlx::query(&sql).bind(&locale);
        if let Some(parent) = parent {
            select = select.bind(parent);
        }
        let mut rows = select
            .fetch_all(self.db.pool())
            .await
            .map_err(failed)?
            .iter()
            .map(item_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed)?;
        rows.extend(ancestors);
        self.shown(caller, rows).await
    }

    /// The entries the caller may see, as they may see them: entries they
    /// may not read are left out, and a page not shown yet is left out, or
    /// only its folder stays.
    async fn shown(&self, caller: &Principal, rows: Vec<TreeItem>) -> Result<Vec<TreeItem>, Error> {
        let ids: Vec<i64> = rows.iter().filter_map(|r| r.page_id).collect();
        let tags = self.tags_for_rules(caller, &ids).await?;
        let windows = self.windows_of(&ids).await?;
        let now = now_ms();
        Ok(rows
            .into_iter()
            .filter_map(|mut r| {
                let tags = r
                    .page_id
                    .and_then(|id| tags.get(&id))
                    .cloned()
                    .unwrap_or_default();
                let at = PageRef::at(&r.locale, &r.path, &tags);
                if !at.allows(caller, Permission::ReadPages) {
                    return None;
                }
                let hidden = r.page_id.is_some_and(|id| {
                    !windows.get(&id).is_some_and(|w| w.contains(now))
                        && !at.allows(caller, Permission::WritePages)
                });
                if hidden {
                    // A page the caller may not see yet; its folder stays
                    // when it has entries below it.
                    if !r.is_folder {
                        return None;
                    }
                    r.page_id = None;
                    r.title = r.path.rsplit('/').next().unwrap_or_default().to_owned();
                }
                Some(r)
            })
            .collect())
    }

    /// Makes the tree again from the pages.
    pub async fn rebuild_tree(&self) -> Result<(), Error> {
        let mut tx = self.begin().await?;
        rebuild_in(&mut tx).await?;
        tx.commit().await.map_err(failed)?;
        self.changed().await;
        Ok(())
    }
}

/// Makes the tree again from the pages, inside `tx`.
pub(crate) async fn rebuild_in(tx: &mut Tx) -> Result<(), Error> {
    lock(tx).await?;
    sqlx::query("DELETE FROM page_tree")
        .execute(&mut **tx)
        .await
        .map_err(failed)?;
    let rows = sqlx::query("SELECT id, locale, path, title, is_private FROM pages ORDER BY id")
        .fetch_all(&mut **tx)
        .await
        .map_err(failed)?;
    for row in rows {
        add(
            tx,
            &row.try_get::<String, _>("locale").map_err(failed)?,
            &row.try_get::<String, _>("path").map_err(failed)?,
            row.try_get("id").map_err(failed)?,
            &row.try_get::<String, _>("title").map_err(failed)?,
            flag(&row, "is_private").map_err(failed)?,
        )
        .await?;
    }
    Ok(())
}
