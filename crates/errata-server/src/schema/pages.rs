//! `pages { ... }`: Wiki.js 2.5's page API. Readers read through `single`
//! and `singleByPath` (errata is headless); editors' fields keep Wiki.js's
//! rules, checked on the page. Mutations answer domain failures in
//! `responseResult`; queries answer them in `errors[]` with their code.

use async_graphql::{
    Context, Enum, InputValueError, InputValueResult, Object, Result, Scalar, ScalarType,
    SimpleObject, Value,
};
use errata_catalog::Error;
use errata_errors::{pages as page_errors, security};
use errata_identity::Permission;
use errata_pages::date::{format_date, parse_date};
use errata_pages::{ListQuery, NewPage, OrderBy, PageChanges, Pages, TreeMode, TreeQuery};

use super::auth::DefaultResponse;
use super::context::{Needs, ResponseStatus, cache_control, caller, identity, requires, settle};

/// How long a page read's answer may be kept (seconds). Writes clear kept
/// answers at once, but time alone changes some: a page becomes readable
/// at its `publishStartDate` and stops at its `publishEndDate` with no
/// write, so a kept "forbidden" or "not found", or a list without the
/// page, must not outlive a short age. Author names are read from
/// identity, whose writes do not clear page answers on an instance
/// without change notices (SQLite): they too are at most this late.
const PAGES_MAX_AGE: i32 = 30;

/// Wiki.js's `Date`: RFC 3339 text. Input is checked by the resolver that
/// takes it, so that a bad date is a catalogued argument error naming the
/// argument; an empty string means "no date", as Wiki.js's editor sends.
#[derive(Debug, Clone)]
pub struct Date(Value);

#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(_) => Ok(Date(value)),
            other => Err(InputValueError::expected_type(other)),
        }
    }

    fn to_value(&self) -> Value {
        self.0.clone()
    }
}

impl Date {
    fn at(ms: i64) -> Date {
        Date(Value::String(format_date(ms)))
    }

    /// The date in milliseconds; `None` for an empty string.
    fn millis(&self, argument: &str) -> Result<Option<i64>, Error> {
        match &self.0 {
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => parse_date(s.trim()).map(Some).ok_or_else(|| {
                page_errors::argument_invalid(
                    argument,
                    "it is not an RFC 3339 date, such as 2026-11-28T12:00:00Z".to_owned(),
                )
            }),
            _ => Err(page_errors::argument_invalid(
                argument,
                "it is not a date".to_owned(),
            )),
        }
    }
}

/// The pages domain, once the database has been migrated.
pub(crate) fn domain<'a>(ctx: &'a Context<'_>) -> Result<&'a Pages, Error> {
    identity(ctx).map_err(|_| errata_errors::system::database_unavailable())?;
    Ok(&ctx
        .data::<super::ServerFacts>()
        .map_err(|_| errata_errors::system::internal())?
        .pages)
}

/// Refuses an editor's field unless the caller holds one of `needs` on the
/// page, naming the first.
fn editor_field(ctx: &Context<'_>, page: &errata_pages::Page, needs: &[Permission]) -> Result<()> {
    let caller = caller(ctx)?;
    if page.reference().allows_any(caller, needs) {
        return Ok(());
    }
    let names: Vec<&str> = needs.iter().map(|p| p.name()).collect();
    Err(if caller.is_guest() {
        security::authentication_required().with_detail("requiredPermissions", names)
    } else {
        security::permission_missing(needs[0].name()).with_detail("requiredPermissions", names)
    }
    .into())
}

const EDITORS: &[Permission] = &[Permission::WritePages, Permission::ManageSystem];
const SOURCE_READERS: &[Permission] = &[
    Permission::ReadSource,
    Permission::WritePages,
    Permission::ManageSystem,
];

/// A user's name and email, for the author fields; a deleted account is
/// "Unknown".
async fn someone(ctx: &Context<'_>, id: i64) -> Result<(String, String)> {
    match identity(ctx)?.user(id).await {
        Ok(user) => Ok((user.name, user.email)),
        Err(e) if e.is(errata_errors::auth::USER_NOT_FOUND) => {
            Ok(("Unknown".to_owned(), String::new()))
        }
        Err(e) => Err(e.into()),
    }
}

/// A page.
#[derive(Debug, Clone)]
pub struct Page(pub std::sync::Arc<errata_pages::Page>);

#[Object(directive = cache_control::apply(PAGES_MAX_AGE, None))]
impl Page {
    async fn id(&self) -> i64 {
        self.0.id
    }
    async fn path(&self) -> &str {
        &self.0.path
    }
    async fn hash(&self) -> &str {
        &self.0.hash
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    #[graphql(directive = requires::apply("write:pages".into()))]
    async fn is_private(&self, ctx: &Context<'_>) -> Result<bool> {
        editor_field(ctx, &self.0, EDITORS)?;
        Ok(self.0.is_private)
    }
    #[graphql(directive = requires::apply("write:pages".into()))]
    async fn is_published(&self, ctx: &Context<'_>) -> Result<bool> {
        editor_field(ctx, &self.0, EDITORS)?;
        Ok(self.0.is_published)
    }
    #[graphql(name = "privateNS", directive = requires::apply("write:pages".into()))]
    async fn private_ns(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        editor_field(ctx, &self.0, EDITORS)?;
        Ok(self.0.private_ns.as_deref())
    }
    /// When the page is published from; empty when not limited.
    #[graphql(directive = requires::apply("write:pages".into()))]
    async fn publish_start_date(&self, ctx: &Context<'_>) -> Result<Date> {
        editor_field(ctx, &self.0, EDITORS)?;
        Ok(optional_date(self.0.publish_start))
    }
    /// When the page is published until; empty when not limited.
    #[graphql(directive = requires::apply("write:pages".into()))]
    async fn publish_end_date(&self, ctx: &Context<'_>) -> Result<Date> {
        editor_field(ctx, &self.0, EDITORS)?;
        Ok(optional_date(self.0.publish_end))
    }
    async fn tags(&self) -> Vec<Option<PageTag>> {
        self.0
            .tags
            .iter()
            .cloned()
            .map(|t| Some(PageTag(t)))
            .collect()
    }
    /// The source: needs `read:source`, `write:pages` or `manage:system`
    /// on the page.
    #[graphql(directive = requires::apply("read:source".into()))]
    async fn content(&self, ctx: &Context<'_>) -> Result<&str> {
        editor_field(ctx, &self.0, SOURCE_READERS)?;
        Ok(&self.0.content)
    }
    /// The rendered, sanitized HTML, made when the page was written.
    async fn render(&self) -> Option<&str> {
        Some(&self.0.render)
    }
    /// The table of contents, as Wiki.js's JSON.
    async fn toc(&self) -> Option<&str> {
        Some(&self.0.toc)
    }
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }
    async fn created_at(&self) -> Date {
        Date::at(self.0.created_at)
    }
    async fn updated_at(&self) -> Date {
        Date::at(self.0.updated_at)
    }
    #[graphql(directive = requires::apply("write:pages".into()))]
    async fn editor(&self, ctx: &Context<'_>) -> Result<&str> {
        editor_field(ctx, &self.0, EDITORS)?;
        Ok(&self.0.editor)
    }
    async fn locale(&self) -> &str {
        &self.0.locale
    }
    async fn script_css(&self) -> Option<&str> {
        Some(&self.0.script_css)
    }
    async fn script_js(&self) -> Option<&str> {
        Some(&self.0.script_js)
    }
    #[graphql(directive = requires::apply("write:pages".into()))]
    async fn author_id(&self, ctx: &Context<'_>) -> Result<i64> {
        editor_field(ctx, &self.0, EDITORS)?;
        Ok(self.0.author_id)
    }
    #[graphql(directive = requires::apply("write:pages".into()))]
    async fn author_name(&self, ctx: &Context<'_>) -> Result<String> {
        editor_field(ctx, &self.0, EDITORS)?;
        Ok(someone(ctx, self.0.author_id).await?.0)
    }
    #[graphql(directive = requires::apply("write:pages".into()))]
    async fn author_email(&self, ctx: &Context<'_>) -> Result<String> {
        editor_field(ctx, &self.0, EDITORS)?;
        Ok(someone(ctx, self.0.author_id).await?.1)
    }
    #[graphql(directive = requires::apply("write:pages".into()))]
    async fn creator_id(&self, ctx: &Context<'_>) -> Result<i64> {
        editor_field(ctx, &self.0, EDITORS)?;
        Ok(self.0.creator_id)
    }
    #[graphql(directive = requires::apply("write:pages".into()))]
    async fn creator_name(&self, ctx: &Context<'_>) -> Result<String> {
        editor_field(ctx, &self.0, EDITORS)?;
        Ok(someone(ctx, self.0.creator_id).await?.0)
    }
    #[graphql(directive = requires::apply("write:pages".into()))]
    async fn creator_email(&self, ctx: &Context<'_>) -> Result<String> {
        editor_field(ctx, &self.0, EDITORS)?;
        Ok(someone(ctx, self.0.creator_id).await?.1)
    }
}

fn optional_date(ms: Option<i64>) -> Date {
    match ms {
        Some(ms) => Date::at(ms),
        None => Date(Value::String(String::new())),
    }
}

/// A tag.
#[derive(Debug, Clone)]
pub struct PageTag(pub errata_pages::Tag);

#[Object(directive = cache_control::apply(PAGES_MAX_AGE, None))]
impl PageTag {
    async fn id(&self) -> i64 {
        self.0.id
    }
    async fn tag(&self) -> &str {
        &self.0.tag
    }
    async fn title(&self) -> Option<&str> {
        Some(&self.0.title)
    }
    async fn created_at(&self) -> Date {
        Date::at(self.0.created_at)
    }
    async fn updated_at(&self) -> Date {
        Date::at(self.0.updated_at)
    }
}

/// One change in a page's history: the state before it.
#[derive(Debug, Clone)]
pub struct PageHistory(errata_pages::HistoryEntry);

#[Object(directive = cache_control::apply(PAGES_MAX_AGE, None))]
impl PageHistory {
    async fn version_id(&self) -> i64 {
        self.0.version_id
    }
    async fn version_date(&self) -> Date {
        Date::at(self.0.version_date)
    }
    async fn author_id(&self) -> i64 {
        self.0.author_id
    }
    async fn author_name(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(someone(ctx, self.0.author_id).await?.0)
    }
    async fn action_type(&self) -> &str {
        &self.0.action_type
    }
    async fn value_before(&self) -> Option<&str> {
        self.0.value_before.as_deref()
    }
    async fn value_after(&self) -> Option<&str> {
        self.0.value_after.as_deref()
    }
}

/// A page of history.
#[derive(Debug, SimpleObject)]
#[graphql(directive = cache_control::apply(PAGES_MAX_AGE, None))]
pub struct PageHistoryResult {
    trail: Option<Vec<Option<PageHistory>>>,
    total: i64,
}

/// A stored version of a page.
#[derive(Debug, Clone)]
pub struct PageVersion(errata_pages::Version);

#[Object(directive = cache_control::apply(PAGES_MAX_AGE, None))]
impl PageVersion {
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// As in Wiki.js, a string.
    async fn author_id(&self) -> String {
        self.0.author_id.to_string()
    }
    async fn author_name(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(someone(ctx, self.0.author_id).await?.0)
    }
    async fn content(&self) -> &str {
        &self.0.content
    }
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }
    async fn created_at(&self) -> Date {
        Date::at(self.0.created_at)
    }
    async fn version_date(&self) -> Date {
        Date::at(self.0.version_date)
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn editor(&self) -> &str {
        &self.0.editor
    }
    async fn is_private(&self) -> bool {
        self.0.is_private
    }
    async fn is_published(&self) -> bool {
        self.0.is_published
    }
    async fn locale(&self) -> &str {
        &self.0.locale
    }
    async fn page_id(&self) -> i64 {
        self.0.page_id
    }
    async fn path(&self) -> &str {
        &self.0.path
    }
    async fn publish_end_date(&self) -> Date {
        optional_date(self.0.publish_end)
    }
    async fn publish_start_date(&self) -> Date {
        optional_date(self.0.publish_start)
    }
    async fn tags(&self) -> Vec<Option<String>> {
        self.0.tags.iter().cloned().map(Some).collect()
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn version_id(&self) -> i64 {
        self.0.version_id
    }
}

/// What a search found.
#[derive(Debug, SimpleObject)]
#[graphql(directive = cache_control::apply(PAGES_MAX_AGE, None))]
pub struct PageSearchResponse {
    results: Vec<Option<PageSearchResult>>,
    suggestions: Vec<Option<String>>,
    total_hits: i64,
}

/// A page a search found.
#[derive(Debug, SimpleObject)]
#[graphql(directive = cache_control::apply(PAGES_MAX_AGE, None))]
pub struct PageSearchResult {
    /// As in Wiki.js, a string.
    id: String,
    title: String,
    description: String,
    path: String,
    locale: String,
}

/// A page in `list`.
#[derive(Debug, Clone)]
pub struct PageListItem(errata_pages::ListItem);

#[Object(directive = cache_control::apply(PAGES_MAX_AGE, None))]
impl PageListItem {
    async fn id(&self) -> i64 {
        self.0.id
    }
    async fn path(&self) -> &str {
        &self.0.path
    }
    async fn locale(&self) -> &str {
        &self.0.locale
    }
    async fn title(&self) -> Option<&str> {
        Some(&self.0.title)
    }
    async fn description(&self) -> Option<&str> {
        Some(&self.0.description)
    }
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }
    async fn is_published(&self) -> bool {
        self.0.is_published
    }
    async fn is_private(&self) -> bool {
        self.0.is_private
    }
    #[graphql(name = "privateNS")]
    async fn private_ns(&self) -> Option<&str> {
        self.0.private_ns.as_deref()
    }
    async fn created_at(&self) -> Date {
        Date::at(self.0.created_at)
    }
    async fn updated_at(&self) -> Date {
        Date::at(self.0.updated_at)
    }
    async fn tags(&self) -> Option<Vec<Option<String>>> {
        Some(self.0.tags.iter().cloned().map(Some).collect())
    }
}

/// An entry of the tree.
#[derive(Debug, Clone)]
pub struct PageTreeItem(errata_pages::TreeItem);

#[Object(directive = cache_control::apply(PAGES_MAX_AGE, None))]
impl PageTreeItem {
    async fn id(&self) -> i64 {
        self.0.id
    }
    async fn path(&self) -> &str {
        &self.0.path
    }
    async fn depth(&self) -> i64 {
        self.0.depth
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn is_private(&self) -> bool {
        self.0.is_private
    }
    async fn is_folder(&self) -> bool {
        self.0.is_folder
    }
    #[graphql(name = "privateNS")]
    async fn private_ns(&self) -> Option<&str> {
        self.0.private_ns.as_deref()
    }
    /// The parent entry; 0 at the top level, as in Wiki.js.
    async fn parent(&self) -> Option<i64> {
        Some(self.0.parent.unwrap_or(0))
    }
    async fn page_id(&self) -> Option<i64> {
        self.0.page_id
    }
    async fn locale(&self) -> &str {
        &self.0.locale
    }
}

/// A page and what it links to.
#[derive(Debug, SimpleObject)]
#[graphql(directive = cache_control::apply(PAGES_MAX_AGE, None))]
pub struct PageLinkItem {
    id: i64,
    path: String,
    title: String,
    links: Vec<Option<String>>,
}

/// The page as it is now, for an editor whose copy is older.
#[derive(Debug, Clone)]
pub struct PageConflictLatest(errata_pages::Page);

#[Object(directive = cache_control::apply(PAGES_MAX_AGE, None))]
impl PageConflictLatest {
    async fn id(&self) -> i64 {
        self.0.id
    }
    /// As in Wiki.js, a string.
    async fn author_id(&self) -> String {
        self.0.author_id.to_string()
    }
    async fn author_name(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(someone(ctx, self.0.author_id).await?.0)
    }
    async fn content(&self) -> &str {
        &self.0.content
    }
    async fn created_at(&self) -> Date {
        Date::at(self.0.created_at)
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn is_published(&self) -> bool {
        self.0.is_published
    }
    async fn locale(&self) -> &str {
        &self.0.locale
    }
    async fn path(&self) -> &str {
        &self.0.path
    }
    async fn tags(&self) -> Option<Vec<Option<String>>> {
        Some(self.0.tags.iter().map(|t| Some(t.tag.clone())).collect())
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn updated_at(&self) -> Date {
        Date::at(self.0.updated_at)
    }
}

/// `list`'s order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum PageOrderBy {
    Created,
    Id,
    Path,
    Title,
    Updated,
}

/// `list`'s direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum PageOrderByDirection {
    Asc,
    Desc,
}

/// Which entries `tree` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum PageTreeMode {
    Folders,
    Pages,
    All,
}

/// Page queries. Their answers are kept per permission set (`@requires`)
/// for [`PAGES_MAX_AGE`]; fields returning scalars take this type's hint.
#[derive(Debug)]
pub struct PageQuery;

#[Object(directive = cache_control::apply(PAGES_MAX_AGE, None))]
impl PageQuery {
    /// A page's history, newest first: 6003 for an unknown page, 6012
    /// without `read:history` on it.
    #[graphql(directive = requires::apply("read:history".into()))]
    async fn history(
        &self,
        ctx: &Context<'_>,
        id: i32,
        offset_page: Option<i32>,
        offset_size: Option<i32>,
    ) -> Result<Option<PageHistoryResult>> {
        let history = domain(ctx)?
            .history(
                caller(ctx)?,
                id.into(),
                offset_page.map(i64::from),
                offset_size.map(i64::from),
            )
            .await?;
        Ok(Some(PageHistoryResult {
            trail: Some(
                history
                    .trail
                    .into_iter()
                    .map(|e| Some(PageHistory(e)))
                    .collect(),
            ),
            total: history.total,
        }))
    }

    /// One version of a page (6003, 6012).
    #[graphql(directive = requires::apply("read:history".into()))]
    async fn version(
        &self,
        ctx: &Context<'_>,
        page_id: i32,
        version_id: i32,
    ) -> Result<Option<PageVersion>> {
        let version = domain(ctx)?
            .version(caller(ctx)?, page_id.into(), version_id.into())
            .await?;
        Ok(Some(PageVersion(version)))
    }

    /// Searches published pages with the active engine; pages the caller
    /// may not read are left out.
    #[graphql(
        guard = "Needs(Permission::ReadPages)",
        directive = requires::apply("read:pages".into())
    )]
    async fn search(
        &self,
        ctx: &Context<'_>,
        query: String,
        path: Option<String>,
        locale: Option<String>,
    ) -> Result<PageSearchResponse> {
        let hits = domain(ctx)?
            .search(caller(ctx)?, &query, path.as_deref(), locale.as_deref())
            .await?;
        Ok(PageSearchResponse {
            results: hits
                .results
                .into_iter()
                .map(|h| {
                    Some(PageSearchResult {
                        id: h.id.to_string(),
                        title: h.title,
                        description: h.description,
                        path: h.path,
                        locale: h.locale,
                    })
                })
                .collect(),
            suggestions: hits.suggestions.into_iter().map(Some).collect(),
            total_hits: hits.total_hits,
        })
    }

    /// Pages the caller may read, at most `limit` (1000 when not given).
    #[graphql(
        guard = "Needs(Permission::ReadPages)",
        directive = requires::apply("read:pages".into())
    )]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        ctx: &Context<'_>,
        limit: Option<i32>,
        order_by: Option<PageOrderBy>,
        order_by_direction: Option<PageOrderByDirection>,
        tags: Option<Vec<String>>,
        locale: Option<String>,
        creator_id: Option<i32>,
        author_id: Option<i32>,
    ) -> Result<Vec<PageListItem>> {
        let query = ListQuery {
            limit: limit.map(i64::from),
            order_by: match order_by.unwrap_or(PageOrderBy::Updated) {
                PageOrderBy::Created => OrderBy::Created,
                PageOrderBy::Id => OrderBy::Id,
                PageOrderBy::Path => OrderBy::Path,
                PageOrderBy::Title => OrderBy::Title,
                PageOrderBy::Updated => OrderBy::Updated,
            },
            descending: order_by_direction.unwrap_or(PageOrderByDirection::Desc)
                == PageOrderByDirection::Desc,
            tags: tags.unwrap_or_default(),
            locale,
            creator_id: creator_id.map(i64::from),
            author_id: author_id.map(i64::from),
            with_tags: ctx.look_ahead().field("tags").exists(),
        };
        Ok(domain(ctx)?
            .list(caller(ctx)?, query)
            .await?
            .into_iter()
            .map(PageListItem)
            .collect())
    }

    /// A page by id: 6003 when there is none, 6013 when the caller may not
    /// read it (`read:pages` on the page; unpublished pages need
    /// `write:pages` too).
    #[graphql(directive = requires::apply("read:pages".into()))]
    async fn single(&self, ctx: &Context<'_>, id: i32) -> Result<Option<Page>> {
        let page = domain(ctx)?.single(caller(ctx)?, id.into()).await?;
        Ok(Some(Page(page)))
    }

    /// A page by path and locale (6003, 6005, 6013).
    #[graphql(directive = requires::apply("read:pages".into()))]
    async fn single_by_path(
        &self,
        ctx: &Context<'_>,
        path: String,
        locale: String,
    ) -> Result<Option<Page>> {
        let page = domain(ctx)?.by_path(caller(ctx)?, &locale, &path).await?;
        Ok(Some(Page(page)))
    }

    /// Tags on pages the caller may read.
    #[graphql(
        guard = "Needs(Permission::ReadPages)",
        directive = requires::apply("read:pages".into())
    )]
    async fn tags(&self, ctx: &Context<'_>) -> Result<Vec<Option<PageTag>>> {
        Ok(domain(ctx)?
            .tags(caller(ctx)?)
            .await?
            .into_iter()
            .map(|t| Some(PageTag(t)))
            .collect())
    }

    /// At most five tags containing `query`.
    #[graphql(
        guard = "Needs(Permission::ReadPages)",
        directive = requires::apply("read:pages".into())
    )]
    async fn search_tags(&self, ctx: &Context<'_>, query: String) -> Result<Vec<Option<String>>> {
        Ok(domain(ctx)?
            .search_tags(caller(ctx)?, &query)
            .await?
            .into_iter()
            .map(Some)
            .collect())
    }

    /// One level of the folder tree, as Wiki.js answers it.
    #[graphql(
        guard = "Needs(Permission::ReadPages)",
        directive = requires::apply("read:pages".into())
    )]
    async fn tree(
        &self,
        ctx: &Context<'_>,
        path: Option<String>,
        parent: Option<i32>,
        mode: PageTreeMode,
        locale: String,
        include_ancestors: Option<bool>,
    ) -> Result<Option<Vec<Option<PageTreeItem>>>> {
        let query = TreeQuery {
            path,
            parent: parent.map(i64::from),
            mode: match mode {
                PageTreeMode::Folders => TreeMode::Folders,
                PageTreeMode::Pages => TreeMode::Pages,
                PageTreeMode::All => TreeMode::All,
            },
            locale,
            include_ancestors: include_ancestors.unwrap_or(false),
        };
        Ok(Some(
            domain(ctx)?
                .tree(caller(ctx)?, query)
                .await?
                .into_iter()
                .map(|i| Some(PageTreeItem(i)))
                .collect(),
        ))
    }

    /// Every page of a locale the caller may read, with its links.
    #[graphql(
        guard = "Needs(Permission::ReadPages)",
        directive = requires::apply("read:pages".into())
    )]
    async fn links(
        &self,
        ctx: &Context<'_>,
        locale: String,
    ) -> Result<Option<Vec<Option<PageLinkItem>>>> {
        Ok(Some(
            domain(ctx)?
                .links(caller(ctx)?, &locale)
                .await?
                .into_iter()
                .map(|l| {
                    Some(PageLinkItem {
                        id: l.id,
                        path: l.path,
                        title: l.title,
                        links: l.links.into_iter().map(Some).collect(),
                    })
                })
                .collect(),
        ))
    }

    /// Whether the page changed since the editor opened it (6003, 6009).
    #[graphql(directive = requires::apply("write:pages".into()))]
    async fn check_conflicts(
        &self,
        ctx: &Context<'_>,
        id: i32,
        checkout_date: Date,
    ) -> Result<bool> {
        let checkout = checkout_date.millis("checkoutDate")?.ok_or_else(|| {
            page_errors::argument_invalid("checkoutDate", "it is empty".to_owned())
        })?;
        Ok(domain(ctx)?
            .check_conflicts(caller(ctx)?, id.into(), checkout)
            .await?)
    }

    /// The page as it is now (6003, 6009).
    #[graphql(directive = requires::apply("write:pages".into()))]
    async fn conflict_latest(&self, ctx: &Context<'_>, id: i32) -> Result<PageConflictLatest> {
        Ok(PageConflictLatest(
            domain(ctx)?
                .conflict_latest(caller(ctx)?, id.into())
                .await?,
        ))
    }
}

/// A page mutation's status and the page.
#[derive(Debug, SimpleObject)]
pub struct PageResponse {
    response_result: ResponseStatus,
    page: Option<Page>,
}

/// How many pages moved to another locale.
#[derive(Debug, SimpleObject)]
pub struct PageMigrationResponse {
    response_result: ResponseStatus,
    count: Option<i64>,
}

fn page_response(
    ctx: &Context<'_>,
    result: Result<errata_pages::Page, Error>,
    success: &str,
) -> Result<Option<PageResponse>> {
    let (status, page) = settle(ctx, result, success)?;
    Ok(Some(PageResponse {
        response_result: status,
        page: page.map(|p| Page(std::sync::Arc::new(p))),
    }))
}

fn done(
    ctx: &Context<'_>,
    result: Result<(), Error>,
    success: &str,
) -> Result<Option<DefaultResponse>> {
    DefaultResponse::settle(ctx, result, success).map(Some)
}

/// Page mutations.
#[derive(Debug)]
pub struct PageMutation;

#[Object]
impl PageMutation {
    /// Creates a page: 6005 for an illegal path, 6008 without `write:pages`
    /// there, 6002 when a page is already there, 6004 for empty content.
    #[graphql(directive = requires::apply("write:pages".into()))]
    #[allow(clippy::too_many_arguments)]
    async fn create(
        &self,
        ctx: &Context<'_>,
        content: String,
        description: String,
        editor: String,
        is_published: bool,
        is_private: bool,
        locale: String,
        path: String,
        publish_end_date: Option<Date>,
        publish_start_date: Option<Date>,
        script_css: Option<String>,
        script_js: Option<String>,
        tags: Vec<Option<String>>,
        title: String,
    ) -> Result<Option<PageResponse>> {
        let who = caller(ctx)?;
        let result = async {
            let new = NewPage {
                content,
                description,
                editor,
                is_published,
                is_private,
                locale,
                path,
                publish_end: publish_end_date
                    .map(|d| d.millis("publishEndDate"))
                    .transpose()?
                    .flatten(),
                publish_start: publish_start_date
                    .map(|d| d.millis("publishStartDate"))
                    .transpose()?
                    .flatten(),
                script_css,
                script_js,
                tags: tags.into_iter().flatten().collect(),
                title,
            };
            domain(ctx)?.create(who, new).await
        }
        .await;
        page_response(ctx, result, "Page created")
    }

    /// Changes a page; what is not given stays. 6003, 6009; a new path or
    /// locale is a move (6005, 6007, 6006); 6004 for empty content.
    #[graphql(directive = requires::apply("write:pages".into()))]
    #[allow(clippy::too_many_arguments)]
    async fn update(
        &self,
        ctx: &Context<'_>,
        id: i32,
        content: Option<String>,
        description: Option<String>,
        editor: Option<String>,
        is_private: Option<bool>,
        is_published: Option<bool>,
        locale: Option<String>,
        path: Option<String>,
        publish_end_date: Option<Date>,
        publish_start_date: Option<Date>,
        script_css: Option<String>,
        script_js: Option<String>,
        tags: Option<Vec<Option<String>>>,
        title: Option<String>,
    ) -> Result<Option<PageResponse>> {
        let who = caller(ctx)?;
        let result = async {
            let changes = PageChanges {
                content,
                description,
                editor,
                is_private,
                is_published,
                locale,
                path,
                publish_end: publish_end_date
                    .map(|d| d.millis("publishEndDate"))
                    .transpose()?,
                publish_start: publish_start_date
                    .map(|d| d.millis("publishStartDate"))
                    .transpose()?,
                script_css,
                script_js,
                tags: tags.map(|t| t.into_iter().flatten().collect()),
                title,
            };
            domain(ctx)?.update(who, id.into(), changes).await
        }
        .await;
        page_response(ctx, result, "Page updated")
    }

    /// Converts a page's content for another editor (6003, 6009).
    #[graphql(directive = requires::apply("write:pages".into()))]
    async fn convert(
        &self,
        ctx: &Context<'_>,
        id: i32,
        editor: String,
    ) -> Result<Option<DefaultResponse>> {
        let result = domain(ctx)?.convert(caller(ctx)?, id.into(), &editor).await;
        done(ctx, result, "Page converted")
    }

    /// Moves a page: 6003, 6005, 6007 (without `manage:pages` on the page
    /// or `write:pages` at the destination), 6006.
    #[graphql(directive = requires::apply("manage:pages".into()))]
    async fn r#move(
        &self,
        ctx: &Context<'_>,
        id: i32,
        destination_path: String,
        destination_locale: String,
    ) -> Result<Option<DefaultResponse>> {
        let result = domain(ctx)?
            .move_page(
                caller(ctx)?,
                id.into(),
                &destination_path,
                &destination_locale,
            )
            .await;
        done(ctx, result, "Page moved")
    }

    /// Deletes a page (6003, 6010); its history stays, to restore it.
    #[graphql(directive = requires::apply("delete:pages".into()))]
    async fn delete(&self, ctx: &Context<'_>, id: i32) -> Result<Option<DefaultResponse>> {
        let result = domain(ctx)?.delete(caller(ctx)?, id.into()).await;
        done(ctx, result, "Page deleted")
    }

    /// Deletes a tag from every page (6102).
    #[graphql(
        guard = "Needs(Permission::ManageSystem)",
        directive = requires::apply("manage:system".into())
    )]
    async fn delete_tag(&self, ctx: &Context<'_>, id: i32) -> Result<Option<DefaultResponse>> {
        let result = domain(ctx)?.delete_tag(id.into()).await;
        done(ctx, result, "Tag deleted")
    }

    /// Renames a tag and sets its title (6102, 6101).
    #[graphql(
        guard = "Needs(Permission::ManageSystem)",
        directive = requires::apply("manage:system".into())
    )]
    async fn update_tag(
        &self,
        ctx: &Context<'_>,
        id: i32,
        tag: String,
        title: String,
    ) -> Result<Option<DefaultResponse>> {
        let result = domain(ctx)?.update_tag(id.into(), &tag, &title).await;
        done(ctx, result, "Tag updated")
    }

    /// Forgets every kept answer, on every instance.
    #[graphql(
        guard = "Needs(Permission::ManageSystem)",
        directive = requires::apply("manage:system".into())
    )]
    async fn flush_cache(&self, ctx: &Context<'_>) -> Result<Option<DefaultResponse>> {
        domain(ctx)?.flush().await;
        done(ctx, Ok(()), "Cache flushed")
    }

    /// Moves every page of a locale to another (6006 when a path is in both).
    #[graphql(
        guard = "Needs(Permission::ManageSystem)",
        directive = requires::apply("manage:system".into())
    )]
    async fn migrate_to_locale(
        &self,
        ctx: &Context<'_>,
        source_locale: String,
        target_locale: String,
    ) -> Result<Option<PageMigrationResponse>> {
        let result = domain(ctx)?
            .migrate_to_locale(&source_locale, &target_locale)
            .await;
        let (status, count) = settle(ctx, result, "Pages migrated")?;
        Ok(Some(PageMigrationResponse {
            response_result: status,
            count: count.map(|c| i64::try_from(c).unwrap_or(i64::MAX)),
        }))
    }

    /// Makes the folder tree again from the pages.
    #[graphql(
        guard = "Needs(Permission::ManageSystem)",
        directive = requires::apply("manage:system".into())
    )]
    async fn rebuild_tree(&self, ctx: &Context<'_>) -> Result<Option<DefaultResponse>> {
        let result = domain(ctx)?.rebuild_tree().await;
        done(ctx, result, "Page tree rebuilt")
    }

    /// Renders a page again from its source (6003).
    #[graphql(
        guard = "Needs(Permission::ManageSystem)",
        directive = requires::apply("manage:system".into())
    )]
    async fn render(&self, ctx: &Context<'_>, id: i32) -> Result<Option<DefaultResponse>> {
        let result = domain(ctx)?.rerender(id.into()).await;
        done(ctx, result, "Page rendered")
    }

    /// Brings a version back (6003, 6011).
    #[graphql(directive = requires::apply("write:pages".into()))]
    async fn restore(
        &self,
        ctx: &Context<'_>,
        page_id: i32,
        version_id: i32,
    ) -> Result<Option<DefaultResponse>> {
        let result = domain(ctx)?
            .restore(caller(ctx)?, page_id.into(), version_id.into())
            .await;
        done(ctx, result, "Page version restored")
    }

    /// Drops versions older than an ISO 8601 duration (`P1D`, `P1M`, ...).
    #[graphql(
        guard = "Needs(Permission::ManageSystem)",
        directive = requires::apply("manage:system".into())
    )]
    async fn purge_history(
        &self,
        ctx: &Context<'_>,
        older_than: String,
    ) -> Result<Option<DefaultResponse>> {
        let result = async {
            let age = errata_pages::parse_duration(&older_than).ok_or_else(|| {
                page_errors::argument_invalid(
                    "olderThan",
                    "it is not an ISO 8601 duration, such as P1D or P3M".to_owned(),
                )
            })?;
            domain(ctx)?
                .purge_history(errata_pages::now_ms().saturating_sub(age))
                .await
                .map(|_| ())
        }
        .await;
        done(ctx, result, "History purged")
    }
}
