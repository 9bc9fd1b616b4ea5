-- The `db` engine's indexes: trigrams of titles, descriptions and paths,
-- so that its substring search (Wiki.js's basic engine matches
-- `ILIKE '%words%'`) reads the pages that hold the words instead of every
-- page. They need pg_trgm, from PostgreSQL's contrib (a trusted extension
-- since 13, which a database's owner may create). Where it cannot be
-- created the engine still answers the same, by reading pages newest
-- first, and the migration warns why.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX pages_title_trigrams ON pages USING GIN (title gin_trgm_ops);
    CREATE INDEX pages_description_trigrams ON pages USING GIN (description gin_trgm_ops);
    CREATE INDEX pages_path_trigrams ON pages USING GIN (path gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'pg_trgm is not available (%): the db search engine reads pages without an index', SQLERRM;
END
$$;

-- `list(orderBy: PATH)` across locales reads pages in path order.
CREATE INDEX pages_path ON pages (path);
