//! Pages themselves: reading them, and every write, each in one
//! transaction that also keeps the history, tags, links, tree and search
//! index in step.

use std::collections::HashMap;
use std::sync::Arc;

use errata_catalog::Error;
use errata_errors::pages;
use errata_identity::{Permission, Principal};
use errata_store::{Backend, flag};
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::access::PageRef;
use crate::path::{parse_locale, parse_path};
use crate::render::{self, Editor};
use crate::{NewPage, Page, PageChanges, Pages, Tag, failed, history, now_ms, search, tags, tree};

pub(crate) type Tx = Transaction<'static, Any>;

pub(crate) const PAGE_COLUMNS: &str = "id, locale, path, hash, title, description, is_private, \
     is_published, private_ns, publish_start, publish_end, content, render, toc, content_type, \
     editor, script_css, script_js, author_id, creator_id, created_at, updated_at";

/// A page as stored, without its tags.
pub(crate) fn page_from(row: &AnyRow) -> Result<Page, sqlx::Error> {
    Ok(Page {
        id: row.try_get("id")?,
        locale: row.try_get("locale")?,
        path: row.try_get("path")?,
        hash: row.try_get("hash")?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        is_private: flag(row, "is_private")?,
        is_published: flag(row, "is_published")?,
        private_ns: row.try_get("private_ns")?,
        publish_start: row.try_get("publish_start")?,
        publish_end: row.try_get("publish_end")?,
        content: row.try_get("content")?,
        render: row.try_get("render")?,
        toc: row.try_get("toc")?,
        content_type: row.try_get("content_type")?,
        editor: row.try_get("editor")?,
        script_css: row.try_get("script_css")?,
        script_js: row.try_get("script_js")?,
        author_id: row.try_get("author_id")?,
        creator_id: row.try_get("creator_id")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        tags: Vec::new(),
    })
}

/// Wiki.js's page hash: a digest of where the page is, 40 hex digits.
fn page_hash(locale: &str, path: &str, private_ns: Option<&str>) -> String {
    let digest = Sha256::digest(format!("{locale}|{path}|{}", private_ns.unwrap_or("")));
    digest.iter().take(20).map(|b| format!("{b:02x}")).collect()
}

/// Everything a write stores besides where the page is, checked.
pub(crate) struct Fields {
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) content: String,
    pub(crate) editor: Editor,
    pub(crate) tags: Vec<String>,
    pub(crate) script_css: String,
    pub(crate) script_js: String,
    pub(crate) is_private: bool,
    pub(crate) is_published: bool,
    pub(crate) publish_start: Option<i64>,
    pub(crate) publish_end: Option<i64>,
}

fn invalid(argument: &str, reason: impl Into<String>) -> Error {
    pages::argument_invalid(argument, reason.into())
}

impl Pages {
    fn check_text(&self, argument: &str, value: &str, max: usize) -> Result<String, Error> {
        if value.chars().count() > max {
            return Err(invalid(
                argument,
                format!("it is longer than {max} characters"),
            ));
        }
        if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
        {
            return Err(invalid(argument, "it holds a control character"));
        }
        Ok(value.trim().to_owned())
    }

    fn check_script(&self, argument: &str, value: &str) -> Result<String, Error> {
        let max = self.limits.max_script_bytes;
        if value.len() > max {
            return Err(invalid(argument, format!("it is larger than {max} bytes")));
        }
        Ok(value.to_owned())
    }

    /// Tags as stored: trimmed, lower case, each once, in the given order.
    pub(crate) fn check_tags(&self, given: &[String]) -> Result<Vec<String>, Error> {
        let mut out: Vec<String> = Vec::new();
        for raw in given {
            let tag = raw.trim().to_lowercase();
            if tag.is_empty() {
                continue;
            }
            if tag.chars().count() > self.limits.max_tag {
                return Err(invalid(
                    "tags",
                    format!("a tag is longer than {} characters", self.limits.max_tag),
                ));
            }
            if tag.chars().any(char::is_control) {
                return Err(invalid("tags", "a tag holds a control character"));
            }
            if !out.contains(&tag) {
                out.push(tag);
            }
        }
        if out.len() > self.limits.max_tags {
            return Err(invalid(
                "tags",
                format!("a page has at most {} tags", self.limits.max_tags),
            ));
        }
        Ok(out)
    }

    fn check_content(&self, content: &str) -> Result<(), Error> {
        let max = self.limits.max_content_bytes;
        if content.len() > max {
            return Err(invalid("content", format!("it is larger than {max} bytes")));
        }
        Ok(())
    }

    fn check_window(start: Option<i64>, end: Option<i64>) -> Result<(), Error> {
        match (start, end) {
            (Some(s), Some(e)) if e <= s => Err(invalid(
                "publishEndDate",
                "it must be later than publishStartDate",
            )),
            _ => Ok(()),
        }
    }

    fn check_fields(&self, new: &NewPage) -> Result<Fields, Error> {
        let editor = Editor::parse(&new.editor).ok_or_else(|| {
            invalid(
                "editor",
                "it must be \"markdown\", \"code\" or \"ckeditor\"",
            )
        })?;
        self.check_content(&new.content)?;
        Self::check_window(new.publish_start, new.publish_end)?;
        Ok(Fields {
            title: self.check_text("title", &new.title, self.limits.max_title)?,
            description: self.check_text(
                "description",
                &new.description,
                self.limits.max_description,
            )?,
            content: new.content.clone(),
            editor,
            tags: self.check_tags(&new.tags)?,
            script_css: self.check_script("scriptCss", new.script_css.as_deref().unwrap_or(""))?,
            script_js: self.check_script("scriptJs", new.script_js.as_deref().unwrap_or(""))?,
            is_private: new.is_private,
            is_published: new.is_published,
            publish_start: new.publish_start,
            publish_end: new.publish_end,
        })
    }

    /// Creates a page. Checks, in Wiki.js's order: the path (6005), who
    /// may write there (6008), a page already there (6002), empty content
    /// (6004); arguments out of their limits are 6101.
    pub async fn create(&self, caller: &Principal, new: NewPage) -> Result<Page, Error> {
        let path = parse_path(&new.path)?;
        let locale = parse_locale(&new.locale)?;
        let given_tags = self.check_tags(&new.tags)?;
        if !PageRef::at(&locale, &path, &given_tags).allows(caller, Permission::WritePages) {
            return Err(pages::create_forbidden());
        }
        let author = caller.user()?;
        let fields = self.check_fields(&new)?;
        let at = PageRef::at(&locale, &path, &fields.tags);
        if !may_script(caller, &at, "", &fields.script_css, Permission::WriteStyles)
            || !may_script(caller, &at, "", &fields.script_js, Permission::WriteScripts)
        {
            return Err(pages::create_forbidden());
        }
        if fields.content.trim().is_empty() {
            return Err(if self.exists(&locale, &path).await? {
                pages::duplicate_create()
            } else {
                pages::empty_content()
            });
        }
        // The insert is the transaction's first statement, so that SQLite
        // takes its write lock at once; a page already there is its unique
        // violation.
        let mut tx = self.begin().await?;
        let id = self
            .insert(
                &mut tx,
                None,
                &locale,
                &path,
                &fields,
                author,
                author,
                now_ms(),
            )
            .await?;
        let page = self
            .load_in(&mut tx, id)
            .await?
            .ok_or_else(pages::generic_error)?;
        tx.commit().await.map_err(failed)?;
        self.changed().await;
        Ok(page)
    }

    /// Writes a new page row and everything that follows it; `id` keeps a
    /// restored page's id.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn insert(
        &self,
        tx: &mut Tx,
        id: Option<i64>,
        locale: &str,
        path: &str,
        fields: &Fields,
        author: i64,
        creator: i64,
        now: i64,
    ) -> Result<i64, Error> {
        let rendered = rendered(fields.editor, &fields.content, locale).await?;
        let hash = page_hash(locale, path, None);
        let columns = "locale, path, hash, title, description, is_private, is_published, \
             private_ns, publish_start, publish_end, content, render, toc, content_type, editor, \
             script_css, script_js, author_id, creator_id, created_at, updated_at";
        let sql = match id {
            Some(_) => format!(
                "INSERT INTO pages (id, {columns}) VALUES ($22, $1, $2, $3, $4, $5, $6, $7, $8, \
                 $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) RETURNING id"
            ),
            None => format!(
                "INSERT INTO pages ({columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                 $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) RETURNING id"
            ),
        };
        let mut query = sqlx::query(&sql)
            .bind(locale)
            .bind(path)
            .bind(&hash)
            .bind(&fields.title)
            .bind(&fields.description)
            .bind(i64::from(fields.is_private))
            .bind(i64::from(fields.is_published))
            .bind(None::<String>)
            .bind(fields.publish_start)
            .bind(fields.publish_end)
            .bind(&fields.content)
            .bind(&rendered.html)
            .bind(&rendered.toc)
            .bind(fields.editor.content_type())
            .bind(fields.editor.name())
            .bind(&fields.script_css)
            .bind(&fields.script_js)
            .bind(author)
            .bind(creator)
            .bind(now)
            .bind(now);
        if let Some(id) = id {
            query = query.bind(id);
        }
        let row = query.fetch_one(&mut **tx).await.map_err(|e| {
            if errata_store::is_unique_violation(&e) {
                pages::duplicate_create()
            } else {
                failed(e)
            }
        })?;
        let id: i64 = row.try_get("id").map_err(failed)?;
        tags::set(tx, id, &fields.tags, now).await?;
        self.set_links(tx, id, &rendered.links).await?;
        tree::add(tx, locale, path, id, &fields.title, fields.is_private).await?;
        search::index(tx, self.db.backend(), id).await?;
        Ok(id)
    }

    /// Updates a page. Checks: the page exists (6003), the caller may write
    /// it (6009); a changed path or locale goes through `move`'s checks
    /// (6005, 6007, 6006); content, when given, is not empty (6004).
    pub async fn update(
        &self,
        caller: &Principal,
        id: i64,
        changes: PageChanges,
    ) -> Result<Page, Error> {
        let author = caller.user()?;
        let mut tx = self.begin_for(id).await?;
        let old = self
            .load_in(&mut tx, id)
            .await?
            .ok_or_else(pages::not_found)?;
        if !old.reference().allows(caller, Permission::WritePages) {
            return Err(pages::update_forbidden());
        }
        let locale = match &changes.locale {
            Some(l) => parse_locale(l)?,
            None => old.locale.clone(),
        };
        let path = match &changes.path {
            Some(p) => parse_path(p)?,
            None => old.path.clone(),
        };
        let moved = locale != old.locale || path != old.path;
        let tags = match &changes.tags {
            Some(t) => self.check_tags(t)?,
            None => old.tags.iter().map(|t| t.tag.clone()).collect(),
        };
        if moved {
            self.check_move(caller, &old, &locale, &path, &tags, &mut tx)
                .await?;
        } else if !PageRef::at(&locale, &path, &tags).allows(caller, Permission::WritePages) {
            // Tags are part of where a page is for TAG rules: as `create`
            // does, the caller must be allowed to write the page as it
            // will be, not only as it is.
            return Err(pages::update_forbidden());
        }
        let editor = match &changes.editor {
            Some(e) => Editor::parse(e).ok_or_else(|| {
                invalid(
                    "editor",
                    "it must be \"markdown\", \"code\" or \"ckeditor\"",
                )
            })?,
            None => Editor::parse(&old.editor).unwrap_or(Editor::Markdown),
        };
        let content = changes
            .content
            .clone()
            .unwrap_or_else(|| old.content.clone());
        self.check_content(&content)?;
        let publish_start = changes.publish_start.unwrap_or(old.publish_start);
        let publish_end = changes.publish_end.unwrap_or(old.publish_end);
        Self::check_window(publish_start, publish_end)?;
        let fields = Fields {
            title: match &changes.title {
                Some(t) => self.check_text("title", t, self.limits.max_title)?,
                None => old.title.clone(),
            },
            description: match &changes.description {
                Some(d) => self.check_text("description", d, self.limits.max_description)?,
                None => old.description.clone(),
            },
            content,
            editor,
            tags,
            script_css: match &changes.script_css {
                Some(s) => self.check_script("scriptCss", s)?,
                None => old.script_css.clone(),
            },
            script_js: match &changes.script_js {
                Some(s) => self.check_script("scriptJs", s)?,
                None => old.script_js.clone(),
            },
            is_private: changes.is_private.unwrap_or(old.is_private),
            is_published: changes.is_published.unwrap_or(old.is_published),
            publish_start,
            publish_end,
        };
        let at = PageRef::at(&locale, &path, &fields.tags);
        if !may_script(
            caller,
            &at,
            &old.script_css,
            &fields.script_css,
            Permission::WriteStyles,
        ) || !may_script(
            caller,
            &at,
            &old.script_js,
            &fields.script_js,
            Permission::WriteScripts,
        ) {
            return Err(pages::update_forbidden());
        }
        if fields.content.trim().is_empty() {
            return Err(pages::empty_content());
        }
        let now = now_ms().max(old.updated_at + 1);
        let (before, after) = if moved {
            (
                Some(format!("{}/{}", old.locale, old.path)),
                Some(format!("{locale}/{path}")),
            )
        } else {
            (None, None)
        };
        history::record(
            &mut tx,
            &old,
            if moved { "moved" } else { "updated" },
            before,
            after,
            now,
        )
        .await?;
        self.rewrite(&mut tx, &old, &locale, &path, &fields, author, now)
            .await?;
        let page = self
            .load_in(&mut tx, id)
            .await?
            .ok_or_else(pages::generic_error)?;
        tx.commit().await.map_err(failed)?;
        self.changed().await;
        Ok(page)
    }

    /// Replaces a page's row and everything that follows from it.
    #[allow(clippy::too_many_arguments)]
    async fn rewrite(
        &self,
        tx: &mut Tx,
        old: &Page,
        locale: &str,
        path: &str,
        fields: &Fields,
        author: i64,
        now: i64,
    ) -> Result<(), Error> {
        let rendered = rendered(fields.editor, &fields.content, locale).await?;
        let hash = page_hash(locale, path, old.private_ns.as_deref());
        sqlx::query(
            "UPDATE pages SET locale = $1, path = $2, hash = $3, title = $4, description = $5, \
             is_private = $6, is_published = $7, publish_start = $8, publish_end = $9, \
             content = $10, render = $11, toc = $12, content_type = $13, editor = $14, \
             script_css = $15, script_js = $16, author_id = $17, updated_at = $18 WHERE id = $19",
        )
        .bind(locale)
        .bind(path)
        .bind(&hash)
        .bind(&fields.title)
        .bind(&fields.description)
        .bind(i64::from(fields.is_private))
        .bind(i64::from(fields.is_published))
        .bind(fields.publish_start)
        .bind(fields.publish_end)
        .bind(&fields.content)
        .bind(&rendered.html)
        .bind(&rendered.toc)
        .bind(fields.editor.content_type())
        .bind(fields.editor.name())
        .bind(&fields.script_css)
        .bind(&fields.script_js)
        .bind(author)
        .bind(now)
        .bind(old.id)
        .execute(&mut **tx)
        .await
        .map_err(|e| {
            if errata_store::is_unique_violation(&e) {
                pages::path_collision()
            } else {
                failed(e)
            }
        })?;
        let old_tags: Vec<String> = old.tags.iter().map(|t| t.tag.clone()).collect();
        if old_tags != fields.tags {
            tags::set(tx, old.id, &fields.tags, now).await?;
        }
        self.set_links(tx, old.id, &rendered.links).await?;
        if locale != old.locale
            || path != old.path
            || fields.title != old.title
            || fields.is_private != old.is_private
        {
            tree::remove(tx, &old.locale, &old.path).await?;
            tree::add(tx, locale, path, old.id, &fields.title, fields.is_private).await?;
        }
        search::index(tx, self.db.backend(), old.id).await?;
        Ok(())
    }

    /// The checks of a move, in Wiki.js's order after the path's:
    /// `manage:pages` on the source and `write:pages` on the destination
    /// (6007), then a page already there (6006).
    async fn check_move(
        &self,
        caller: &Principal,
        page: &Page,
        locale: &str,
        path: &str,
        tags: &[String],
        tx: &mut Tx,
    ) -> Result<(), Error> {
        if !page.reference().allows(caller, Permission::ManagePages)
            || !PageRef::at(locale, path, tags).allows(caller, Permission::WritePages)
        {
            return Err(pages::move_forbidden());
        }
        if self.find_id(tx, locale, path).await?.is_some() {
            return Err(pages::path_collision());
        }
        Ok(())
    }

    /// Moves a page. Checks: it exists (6003), the destination (6005), the
    /// permissions (6007), a page already there (6006).
    pub async fn move_page(
        &self,
        caller: &Principal,
        id: i64,
        destination_path: &str,
        destination_locale: &str,
    ) -> Result<(), Error> {
        let author = caller.user()?;
        let mut tx = self.begin_for(id).await?;
        let old = self
            .load_in(&mut tx, id)
            .await?
            .ok_or_else(pages::not_found)?;
        let path = parse_path(destination_path)?;
        let locale = parse_locale(destination_locale)?;
        if path == old.path && locale == old.locale {
            return Err(pages::path_collision());
        }
        let tags: Vec<String> = old.tags.iter().map(|t| t.tag.clone()).collect();
        self.check_move(caller, &old, &locale, &path, &tags, &mut tx)
            .await?;
        let now = now_ms().max(old.updated_at + 1);
        history::record(
            &mut tx,
            &old,
            "moved",
            Some(format!("{}/{}", old.locale, old.path)),
            Some(format!("{locale}/{path}")),
            now,
        )
        .await?;
        let fields = Self::fields_of(&old, tags);
        self.rewrite(&mut tx, &old, &locale, &path, &fields, author, now)
            .await?;
        tx.commit().await.map_err(failed)?;
        self.changed().await;
        Ok(())
    }

    fn fields_of(page: &Page, tags: Vec<String>) -> Fields {
        Fields {
            title: page.title.clone(),
            description: page.description.clone(),
            content: page.content.clone(),
            editor: Editor::parse(&page.editor).unwrap_or(Editor::Markdown),
            tags,
            script_css: page.script_css.clone(),
            script_js: page.script_js.clone(),
            is_private: page.is_private,
            is_published: page.is_published,
            publish_start: page.publish_start,
            publish_end: page.publish_end,
        }
    }

    /// Converts a page's content to another editor's format (6003, 6009).
    pub async fn convert(&self, caller: &Principal, id: i64, editor: &str) -> Result<(), Error> {
        let author = caller.user()?;
        let target = Editor::parse(editor).ok_or_else(|| {
            invalid(
                "editor",
                "it must be \"markdown\", \"code\" or \"ckeditor\"",
            )
        })?;
        let mut tx = self.begin_for(id).await?;
        let old = self
            .load_in(&mut tx, id)
            .await?
            .ok_or_else(pages::not_found)?;
        if !old.reference().allows(caller, Permission::WritePages) {
            return Err(pages::update_forbidden());
        }
        let from = Editor::parse(&old.editor).unwrap_or(Editor::Markdown);
        let content = match (from.content_type(), target.content_type()) {
            ("markdown", "html") => off_the_workers(&old.content, render::to_html).await?,
            ("html", "markdown") => off_the_workers(&old.content, render::to_markdown).await?,
            _ => old.content.clone(),
        };
        self.check_content(&content)?;
        let now = now_ms().max(old.updated_at + 1);
        history::record(&mut tx, &old, "converted", None, None, now).await?;
        let mut fields = Self::fields_of(&old, old.tags.iter().map(|t| t.tag.clone()).collect());
        fields.editor = target;
        fields.content = content;
        self.rewrite(&mut tx, &old, &old.locale, &old.path, &fields, author, now)
            .await?;
        tx.commit().await.map_err(failed)?;
        self.changed().await;
        Ok(())
    }

    /// Deletes a page (6003, 6010); its versions stay, so it can be
    /// restored.
    pub async fn delete(&self, caller: &Principal, id: i64) -> Result<(), Error> {
        let mut tx = self.begin_for(id).await?;
        let old = self
            .load_in(&mut tx, id)
            .await?
            .ok_or_else(pages::not_found)?;
        if !old.reference().allows(caller, Permission::DeletePages) {
            return Err(pages::delete_forbidden());
        }
        let now = now_ms().max(old.updated_at + 1);
        history::record(&mut tx, &old, "deleted", None, None, now).await?;
        search::remove(&mut tx, self.db.backend(), id).await?;
        tags::set(&mut tx, id, &[], now).await?;
        sqlx::query("DELETE FROM pages WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        tree::remove(&mut tx, &old.locale, &old.path).await?;
        tx.commit().await.map_err(failed)?;
        self.changed().await;
        Ok(())
    }

    /// Brings a version back (6003 for an unknown page or version, 6011
    /// without `write:pages`). The state it replaces is itself recorded. A
    /// deleted page comes back with its id, where the version was.
    pub async fn restore(
        &self,
        caller: &Principal,
        page_id: i64,
        version_id: i64,
    ) -> Result<(), Error> {
        let author = caller.user()?;
        let mut tx = self.begin_for(page_id).await?;
        let version = history::version_in(&mut tx, page_id, version_id)
            .await?
            .ok_or_else(pages::not_found)?;
        let current = self.load_in(&mut tx, page_id).await?;
        let editor = Editor::parse(&version.editor).unwrap_or(Editor::Markdown);
        let fields = Fields {
            title: version.title.clone(),
            description: version.description.clone(),
            content: version.content.clone(),
            editor,
            tags: version.tags.clone(),
            script_css: version.script_css.clone(),
            script_js: version.script_js.clone(),
            is_private: version.is_private,
            is_published: version.is_published,
            publish_start: version.publish_start,
            publish_end: version.publish_end,
        };
        match current {
            Some(old) => {
                // The page as the version makes it: its place, with the
                // version's tags, which TAG rules see.
                let at = PageRef::at(&old.locale, &old.path, &fields.tags);
                if !old.reference().allows(caller, Permission::WritePages)
                    || !at.allows(caller, Permission::WritePages)
                    || !may_script(
                        caller,
                        &at,
                        &old.script_css,
                        &fields.script_css,
                        Permission::WriteStyles,
                    )
                    || !may_script(
                        caller,
                        &at,
                        &old.script_js,
                        &fields.script_js,
                        Permission::WriteScripts,
                    )
                {
                    return Err(pages::restore_forbidden());
                }
                let now = now_ms().max(old.updated_at + 1);
                history::record(&mut tx, &old, "restored", None, None, now).await?;
                self.rewrite(&mut tx, &old, &old.locale, &old.path, &fields, author, now)
                    .await?;
            }
            None => {
                let at = PageRef::at(&version.locale, &version.path, &version.tags);
                if !at.allows(caller, Permission::WritePages)
                    || !may_script(caller, &at, "", &fields.script_css, Permission::WriteStyles)
                    || !may_script(caller, &at, "", &fields.script_js, Permission::WriteScripts)
                {
                    return Err(pages::restore_forbidden());
                }
                if self
                    .find_id(&mut tx, &version.locale, &version.path)
                    .await?
                    .is_some()
                {
                    return Err(pages::path_collision());
                }
                let creator = history::creator_in(&mut tx, page_id)
                    .await?
                    .unwrap_or(author);
                self.insert(
                    &mut tx,
                    Some(page_id),
                    &version.locale,
                    &version.path,
                    &fields,
                    author,
                    creator,
                    now_ms(),
                )
                .await?;
            }
        }
        tx.commit().await.map_err(failed)?;
        self.changed().await;
        Ok(())
    }

    /// Renders a page again from its source (6003).
    pub async fn rerender(&self, id: i64) -> Result<(), Error> {
        let mut tx = self.begin_for(id).await?;
        let page = self
            .load_in(&mut tx, id)
            .await?
            .ok_or_else(pages::not_found)?;
        let editor = Editor::parse(&page.editor).unwrap_or(Editor::Markdown);
        let rendered = rendered(editor, &page.content, &page.locale).await?;
        sqlx::query("UPDATE pages SET render = $1, toc = $2, content_type = $3 WHERE id = $4")
            .bind(&rendered.html)
            .bind(&rendered.toc)
            .bind(editor.content_type())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        self.set_links(&mut tx, id, &rendered.links).await?;
        tx.commit().await.map_err(failed)?;
        self.changed().await;
        Ok(())
    }

    /// A page by id, if the caller may read it: 6003 when there is none,
    /// 6013 when the caller may not read it.
    pub async fn single(&self, caller: &Principal, id: i64) -> Result<Arc<Page>, Error> {
        let page = self.load(id).await?.map(Arc::new);
        Self::readable(caller, page)
    }

    /// A page by locale and path (6003, 6013).
    pub async fn by_path(
        &self,
        caller: &Principal,
        locale: &str,
        path: &str,
    ) -> Result<Arc<Page>, Error> {
        let path = parse_path(path)?;
        let locale = parse_locale(locale)?;
        if !caller.has(Permission::ReadPages) {
            return Err(pages::view_forbidden());
        }
        if let Some(page) = self.cache.get(&locale, &path) {
            return Self::readable(caller, Some(page));
        }
        let since = self.cache.generation();
        let row = sqlx::query(&format!(
            "SELECT {PAGE_COLUMNS} FROM pages WHERE locale = $1 AND path = $2"
        ))
        .bind(&locale)
        .bind(&path)
        .fetch_optional(self.db.pool())
        .await
        .map_err(failed)?;
        let page = match row {
            Some(row) => {
                let mut page = page_from(&row).map_err(failed)?;
                page.tags = tags::of(self.db.pool(), page.id).await?;
                let page = Arc::new(page);
                self.cache.put(since, Arc::clone(&page));
                Some(page)
            }
            None => None,
        };
        Self::readable(caller, page)
    }

    fn readable(caller: &Principal, page: Option<Arc<Page>>) -> Result<Arc<Page>, Error> {
        if !caller.has(Permission::ReadPages) {
            return Err(pages::view_forbidden());
        }
        let page = page.ok_or_else(pages::not_found)?;
        if !page.readable_by(caller, now_ms()) {
            return Err(pages::view_forbidden());
        }
        Ok(page)
    }

    /// Whether the page changed since `checkout` (milliseconds): 6003 when
    /// there is no such page, 6009 when the caller may not write it.
    pub async fn check_conflicts(
        &self,
        caller: &Principal,
        id: i64,
        checkout: i64,
    ) -> Result<bool, Error> {
        let page = self.editable(caller, id).await?;
        Ok(page.updated_at > checkout)
    }

    /// The page as it is now, for an editor whose copy is older (6003, 6009).
    pub async fn conflict_latest(&self, caller: &Principal, id: i64) -> Result<Page, Error> {
        self.editable(caller, id).await
    }

    async fn editable(&self, caller: &Principal, id: i64) -> Result<Page, Error> {
        let page = self.load(id).await?.ok_or_else(pages::not_found)?;
        if !page.reference().allows(caller, Permission::WritePages) {
            return Err(pages::update_forbidden());
        }
        Ok(page)
    }

    /// How many pages there are.
    pub async fn count(&self) -> Result<usize, Error> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pages")
            .fetch_one(self.db.pool())
            .await
            .map_err(failed)?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// A page with its tags, whoever asks.
    pub async fn load(&self, id: i64) -> Result<Option<Page>, Error> {
        let row = sqlx::query(&format!("SELECT {PAGE_COLUMNS} FROM pages WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await
            .map_err(failed)?;
        match row {
            Some(row) => {
                let mut page = page_from(&row).map_err(failed)?;
                page.tags = tags::of(self.db.pool(), id).await?;
                Ok(Some(page))
            }
            None => Ok(None),
        }
    }

    pub(crate) async fn load_in(&self, tx: &mut Tx, id: i64) -> Result<Option<Page>, Error> {
        let row = sqlx::query(&format!("SELECT {PAGE_COLUMNS} FROM pages WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(failed)?;
        match row {
            Some(row) => {
                let mut page = page_from(&row).map_err(failed)?;
                page.tags = tags::of(&mut **tx, id).await?;
                Ok(Some(page))
            }
            None => Ok(None),
        }
    }

    async fn exists(&self, locale: &str, path: &str) -> Result<bool, Error> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM pages WHERE locale = $1 AND path = $2")
                .bind(locale)
                .bind(path)
                .fetch_optional(self.db.pool())
                .await
                .map_err(failed)?;
        Ok(found.is_some())
    }

    async fn find_id(&self, tx: &mut Tx, locale: &str, path: &str) -> Result<Option<i64>, Error> {
        sqlx::query_scalar("SELECT id FROM pages WHERE locale = $1 AND path = $2")
            .bind(locale)
            .bind(path)
            .fetch_optional(&mut **tx)
            .await
            .map_err(failed)
    }

    async fn set_links(&self, tx: &mut Tx, id: i64, links: &[render::Link]) -> Result<(), Error> {
        sqlx::query("DELETE FROM page_links WHERE page_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await
            .map_err(failed)?;
        for link in links {
            sqlx::query(
                "INSERT INTO page_links (page_id, locale, path) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(&link.locale)
            .bind(&link.path)
            .execute(&mut **tx)
            .await
            .map_err(failed)?;
        }
        Ok(())
    }

    pub(crate) async fn begin(&self) -> Result<Tx, Error> {
        self.db.pool().begin().await.map_err(failed)
    }

    /// A transaction that holds the write lock on page `id` from its first
    /// statement: on PostgreSQL the row's lock, on SQLite the database's
    /// (a deferred transaction that reads first could not take it later
    /// while another writer holds it).
    pub(crate) async fn begin_for(&self, id: i64) -> Result<Tx, Error> {
        let mut tx = self.begin().await?;
        let lock = match self.db.backend() {
            Backend::Postgres => "SELECT id FROM pages WHERE id = $1 FOR UPDATE",
            Backend::Sqlite => "UPDATE pages SET id = id WHERE id = $1",
        };
        sqlx::query(lock)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        Ok(tx)
    }

    /// When each of these pages is shown to readers; unpublished pages are
    /// left out.
    pub(crate) async fn windows_of(
        &self,
        ids: &[i64],
    ) -> Result<HashMap<i64, search::Window>, Error> {
        let mut out = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        // Ids are integers formatted here, never caller text; the statement
        // is not kept (see `tags::of_many`).
        let rows = sqlx::query(&format!(
            "SELECT id, publish_start, publish_end FROM pages WHERE is_published = 1 AND id IN ({list})"
        ))
        .persistent(false)
        .fetch_all(self.db.pool())
        .await
        .map_err(failed)?;
        for row in rows {
            out.insert(
                row.try_get("id").map_err(failed)?,
                search::Window(
                    row.try_get("publish_start").map_err(failed)?,
                    row.try_get("publish_end").map_err(failed)?,
                ),
            );
        }
        Ok(out)
    }

    /// Tags of many pages at once, by page id.
    pub(crate) async fn tags_of_many(
        &self,
        ids: &[i64],
    ) -> Result<HashMap<i64, Vec<String>>, Error> {
        tags::of_many(self.db.pool(), ids).await
    }

    /// The tags `caller`'s page rules need to decide about these pages:
    /// none when no rule of theirs matches by tag, which spares the read.
    pub(crate) async fn tags_for_rules(
        &self,
        caller: &Principal,
        ids: &[i64],
    ) -> Result<HashMap<i64, Vec<String>>, Error> {
        if caller.reads_tags() {
            self.tags_of_many(ids).await
        } else {
            Ok(HashMap::new())
        }
    }
}

/// Whether `caller` may change a page's CSS or script from `old` to `new`:
/// they run in readers' browsers, so, as in Wiki.js 2.5, they need
/// `write:styles` and `write:scripts` on the page.
fn may_script(caller: &Principal, at: &PageRef, old: &str, new: &str, p: Permission) -> bool {
    old == new || new.is_empty() || at.allows(caller, p)
}

/// Renders on the blocking pool: a large page takes milliseconds of CPU,
/// which would stall the requests sharing an async worker.
async fn rendered(editor: Editor, content: &str, locale: &str) -> Result<render::Rendered, Error> {
    let locale = locale.to_owned();
    off_the_workers(content, move |c| render::render(editor, c, &locale)).await
}

async fn off_the_workers<T: Send + 'static>(
    content: &str,
    work: impl FnOnce(&str) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let content = content.to_owned();
    tokio::task::spawn_blocking(move || work(&content))
        .await
        .map_err(|e| pages::generic_error().with_source(e))?
}

/// A tag as the API shows it.
pub(crate) fn tag_from(row: &AnyRow) -> Result<Tag, sqlx::Error> {
    Ok(Tag {
        id: row.try_get("id")?,
        tag: row.try_get("tag")?,
        title: row.try_get("title")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
