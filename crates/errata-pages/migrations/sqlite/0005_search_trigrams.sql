-- The `db` engine's index: every three-character sequence of the titles,
-- descriptions and paths of published, public pages, so that its substring
-- search (Wiki.js's basic engine matches `%words%`) reads the pages that
-- hold the words instead of every page. Kept like `pages_fts`.
CREATE VIRTUAL TABLE pages_trigrams USING fts5 (
    title, description, path,
    tokenize = 'trigram'
);
INSERT INTO pages_trigrams (rowid, title, description, path)
    SELECT id, title, description, path FROM pages
    WHERE is_published = 1 AND is_private = 0;

-- `list(orderBy: PATH)` across locales reads pages in path order.
CREATE INDEX pages_path ON pages (path);
