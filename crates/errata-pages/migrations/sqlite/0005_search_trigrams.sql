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

-- FTS5 answers a prefix (`"secu"*`) by merging the lists of every word
-- that starts with it, which reads every page they are on before the
-- newest can be answered; prefix indexes of 2 to 4 characters answer the
-- prefixes people type first from one list.
DROP TABLE pages_fts_words;
DROP TABLE pages_fts;
CREATE VIRTUAL TABLE pages_fts USING fts5 (
    title, description, content,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3 4'
);
INSERT INTO pages_fts (rowid, title, description, content)
    SELECT id, title, description, content FROM pages
    WHERE is_published = 1 AND is_private = 0;
CREATE VIRTUAL TABLE pages_fts_words USING fts5vocab (pages_fts, row);
