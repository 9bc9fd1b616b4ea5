//! What the pages domain answers with, and what its writes take.

/// A page, as readers and editors see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Id, never reused.
    pub id: i64,
    /// Locale code, lower case (`en`).
    pub locale: String,
    /// Path without leading or trailing slash (`docs/intro`).
    pub path: String,
    /// A digest of locale, path and private namespace (Wiki.js's `hash`).
    pub hash: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Private (Wiki.js keeps the flag; errata shows it only to editors).
    pub is_private: bool,
    /// Published.
    pub is_published: bool,
    /// Private namespace.
    pub private_ns: Option<String>,
    /// Published from (milliseconds), when limited.
    pub publish_start: Option<i64>,
    /// Published until (milliseconds), when limited.
    pub publish_end: Option<i64>,
    /// The source.
    pub content: String,
    /// The rendered, sanitized HTML.
    pub render: String,
    /// The table of contents, as Wiki.js's JSON.
    pub toc: String,
    /// `markdown` or `html`.
    pub content_type: String,
    /// The editor the content is written for.
    pub editor: String,
    /// The page's own CSS.
    pub script_css: String,
    /// The page's own script (shown to clients; never rendered by errata).
    pub script_js: String,
    /// Last author's user id.
    pub author_id: i64,
    /// Creator's user id.
    pub creator_id: i64,
    /// Created (milliseconds).
    pub created_at: i64,
    /// Last changed (milliseconds).
    pub updated_at: i64,
    /// Tags, sorted.
    pub tags: Vec<Tag>,
}

impl Page {
    /// Whether readers see it now: published, and inside its window.
    pub fn is_visible_at(&self, now: i64) -> bool {
        self.is_published
            && self.publish_start.is_none_or(|s| s <= now)
            && self.publish_end.is_none_or(|e| e > now)
    }
}

/// A tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Id.
    pub id: i64,
    /// The tag, lower case.
    pub tag: String,
    /// Its title.
    pub title: String,
    /// Created (milliseconds).
    pub created_at: i64,
    /// Last changed (milliseconds).
    pub updated_at: i64,
}

/// A new page (`pages.create`).
#[derive(Debug, Clone, Default)]
pub struct NewPage {
    /// Source.
    pub content: String,
    /// Description.
    pub description: String,
    /// Editor: `markdown`, `code` or `ckeditor`.
    pub editor: String,
    /// Published.
    pub is_published: bool,
    /// Private.
    pub is_private: bool,
    /// Locale code.
    pub locale: String,
    /// Path, as the caller wrote it.
    pub path: String,
    /// Published until (milliseconds).
    pub publish_end: Option<i64>,
    /// Published from (milliseconds).
    pub publish_start: Option<i64>,
    /// CSS.
    pub script_css: Option<String>,
    /// Script.
    pub script_js: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Title.
    pub title: String,
}

/// Changes to a page (`pages.update`): what is `None` stays.
#[derive(Debug, Clone, Default)]
pub struct PageChanges {
    /// Source.
    pub content: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Editor.
    pub editor: Option<String>,
    /// Private.
    pub is_private: Option<bool>,
    /// Published.
    pub is_published: Option<bool>,
    /// Locale: a change moves the page.
    pub locale: Option<String>,
    /// Path: a change moves the page.
    pub path: Option<String>,
    /// Published until; `Some(None)` removes the limit.
    pub publish_end: Option<Option<i64>>,
    /// Published from; `Some(None)` removes the limit.
    pub publish_start: Option<Option<i64>>,
    /// CSS.
    pub script_css: Option<String>,
    /// Script.
    pub script_js: Option<String>,
    /// Tags, replacing the page's.
    pub tags: Option<Vec<String>>,
    /// Title.
    pub title: Option<String>,
}

/// How `list` orders pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderBy {
    /// Creation time.
    Created,
    /// Id.
    Id,
    /// Path.
    Path,
    /// Title.
    Title,
    /// Last change.
    #[default]
    Updated,
}

/// `list`'s arguments.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// At most this many (and never more than 1000).
    pub limit: Option<i64>,
    /// Order.
    pub order_by: OrderBy,
    /// Descending.
    pub descending: bool,
    /// Pages with every one of these tags.
    pub tags: Vec<String>,
    /// Only this locale.
    pub locale: Option<String>,
    /// Only pages this user created.
    pub creator_id: Option<i64>,
    /// Only pages this user last changed.
    pub author_id: Option<i64>,
    /// Whether the items carry their tags; without them, tags are read
    /// only when the caller's page rules need them.
    pub with_tags: bool,
}

/// A page in `list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListItem {
    /// Id.
    pub id: i64,
    /// Path.
    pub path: String,
    /// Locale.
    pub locale: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// `markdown` or `html`.
    pub content_type: String,
    /// Published.
    pub is_published: bool,
    /// Private.
    pub is_private: bool,
    /// Private namespace.
    pub private_ns: Option<String>,
    /// Created (milliseconds).
    pub created_at: i64,
    /// Changed (milliseconds).
    pub updated_at: i64,
    /// Tags.
    pub tags: Vec<String>,
}

/// Which entries `tree` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeMode {
    /// Folders only.
    Folders,
    /// Pages only.
    Pages,
    /// Both.
    All,
}

/// An entry of the tree: a folder, a page, or a page that is also a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeItem {
    /// Id of the entry (not of the page).
    pub id: i64,
    /// Path.
    pub path: String,
    /// Depth, 1 for the top level.
    pub depth: i64,
    /// The page's title, or the folder's last segment.
    pub title: String,
    /// Private.
    pub is_private: bool,
    /// Has entries below it.
    pub is_folder: bool,
    /// Private namespace.
    pub private_ns: Option<String>,
    /// The parent entry.
    pub parent: Option<i64>,
    /// The page at this path, if any.
    pub page_id: Option<i64>,
    /// Locale.
    pub locale: String,
}

/// A page and the pages it links to (`links`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkItem {
    /// Page id.
    pub id: i64,
    /// Path.
    pub path: String,
    /// Title.
    pub title: String,
    /// Targets, as `locale/path`.
    pub links: Vec<String>,
}

/// One entry of a page's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The version's id.
    pub version_id: i64,
    /// When this version was the page's state (milliseconds).
    pub version_date: i64,
    /// Who made the change.
    pub author_id: i64,
    /// `initial`, `updated`, `moved`, `deleted`, `restored`, `converted`.
    pub action_type: String,
    /// For a move: where from.
    pub value_before: Option<String>,
    /// For a move: where to.
    pub value_after: Option<String>,
}

/// A page of a page's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    /// The entries, newest first.
    pub trail: Vec<HistoryEntry>,
    /// How many entries there are in all.
    pub total: i64,
}

/// A stored version of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The change that replaced this state.
    pub action: String,
    /// Who made the change.
    pub author_id: i64,
    /// Source.
    pub content: String,
    /// `markdown` or `html`.
    pub content_type: String,
    /// When the version was recorded (milliseconds).
    pub created_at: i64,
    /// When this version was the page's state (milliseconds).
    pub version_date: i64,
    /// Description.
    pub description: String,
    /// Editor.
    pub editor: String,
    /// Private.
    pub is_private: bool,
    /// Published.
    pub is_published: bool,
    /// Locale.
    pub locale: String,
    /// Page id.
    pub page_id: i64,
    /// Path.
    pub path: String,
    /// Published until.
    pub publish_end: Option<i64>,
    /// Published from.
    pub publish_start: Option<i64>,
    /// Tags.
    pub tags: Vec<String>,
    /// Title.
    pub title: String,
    /// Version id.
    pub version_id: i64,
    /// CSS.
    pub script_css: String,
    /// Script.
    pub script_js: String,
    /// Private namespace.
    pub private_ns: Option<String>,
}
