-- Pages: the pages themselves, their versions, tags, links between pages,
-- the folder tree and the search engines' settings and SQLite's full-text
-- index. Times are milliseconds since the epoch, flags 0 or 1. Pages name
-- their author and creator by user id only: users are identity's, and a
-- page outlives the account that wrote it.
CREATE TABLE pages (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    locale         TEXT NOT NULL,
    path           TEXT NOT NULL,
    hash           TEXT NOT NULL,
    title          TEXT NOT NULL,
    description    TEXT NOT NULL,
    is_private     INTEGER NOT NULL DEFAULT 0,
    is_published   INTEGER NOT NULL DEFAULT 1,
    private_ns     TEXT,
    publish_start  INTEGER,
    publish_end    INTEGER,
    content        TEXT NOT NULL,
    render         TEXT NOT NULL,
    toc            TEXT NOT NULL,
    content_type   TEXT NOT NULL,
    editor         TEXT NOT NULL,
    script_css     TEXT NOT NULL DEFAULT '',
    script_js      TEXT NOT NULL DEFAULT '',
    author_id      INTEGER NOT NULL,
    creator_id     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX pages_locale_path ON pages (locale, path);
CREATE INDEX pages_updated ON pages (updated_at);
CREATE INDEX pages_created ON pages (created_at);
CREATE INDEX pages_title ON pages (title);
CREATE INDEX pages_author ON pages (author_id);
CREATE INDEX pages_creator ON pages (creator_id);

CREATE TABLE page_tags (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tag         TEXT NOT NULL,
    title       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX page_tags_tag ON page_tags (tag);

CREATE TABLE page_tag_links (
    page_id  INTEGER NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
    tag_id   INTEGER NOT NULL REFERENCES page_tags (id) ON DELETE CASCADE,
    PRIMARY KEY (page_id, tag_id)
);
CREATE INDEX page_tag_links_tag ON page_tag_links (tag_id, page_id);

-- A version is the state a page had before a change; the action names the
-- change. Versions of a deleted page stay, so it can be restored.
CREATE TABLE page_history (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id        INTEGER NOT NULL,
    action         TEXT NOT NULL,
    locale         TEXT NOT NULL,
    path           TEXT NOT NULL,
    title          TEXT NOT NULL,
    description    TEXT NOT NULL,
    is_private     INTEGER NOT NULL,
    is_published   INTEGER NOT NULL,
    private_ns     TEXT,
    publish_start  INTEGER,
    publish_end    INTEGER,
    content        TEXT NOT NULL,
    content_type   TEXT NOT NULL,
    editor         TEXT NOT NULL,
    script_css     TEXT NOT NULL,
    script_js      TEXT NOT NULL,
    tags           TEXT NOT NULL,
    value_before   TEXT,
    value_after    TEXT,
    author_id      INTEGER NOT NULL,
    version_date   INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX page_history_page ON page_history (page_id, id);
CREATE INDEX page_history_created ON page_history (created_at);

CREATE TABLE page_links (
    page_id  INTEGER NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
    locale   TEXT NOT NULL,
    path     TEXT NOT NULL,
    PRIMARY KEY (page_id, locale, path)
);
CREATE INDEX page_links_target ON page_links (locale, path);

-- Every folder and page path, so that the tree is one indexed read.
CREATE TABLE page_tree (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    locale      TEXT NOT NULL,
    path        TEXT NOT NULL,
    depth       INTEGER NOT NULL,
    title       TEXT NOT NULL,
    is_folder   INTEGER NOT NULL DEFAULT 0,
    is_private  INTEGER NOT NULL DEFAULT 0,
    private_ns  TEXT,
    parent      INTEGER REFERENCES page_tree (id) ON DELETE CASCADE,
    page_id     INTEGER
);
CREATE UNIQUE INDEX page_tree_locale_path ON page_tree (locale, path);
CREATE INDEX page_tree_parent ON page_tree (locale, parent);

-- Engines' settings; no row enabled means the `db` engine, and the
-- `postgres` engine's dictionary is `english` until it is set.
CREATE TABLE search_engines (
    key         TEXT PRIMARY KEY NOT NULL,
    is_enabled  INTEGER NOT NULL DEFAULT 0,
    config      TEXT NOT NULL DEFAULT '{}'
);

-- The `sqlite` engine's index: published, public pages only, kept in the
-- same transaction as the page whichever engine is active, so that
-- switching engines never finds it stale.
CREATE VIRTUAL TABLE pages_fts USING fts5 (
    title, description, content,
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE pages_fts_words USING fts5vocab (pages_fts, row);
