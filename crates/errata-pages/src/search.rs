//! Search engines: `db` (Wiki.js's basic engine, LIKE over title,
//! description and path), `sqlite` (FTS5, BM25) and `postgres` (a weighted
//! tsvector). The backend's own index is kept in the same transaction as
//! every page write whichever engine is active, so activating an engine
//! never finds it stale. User text reaches an engine only as quoted words
//! (`query.rs`), never as query syntax.

use errata_catalog::Error;
use errata_errors::search as errors;
use errata_identity::{Permission, Principal};
use errata_store::Backend;
use sqlx::Row;

use crate::access::PageRef;
use crate::query::{fts5_match, like_pattern, trigram_phrase, tsquery, without_prefixes, words};
use crate::store::Tx;
use crate::{Pages, failed, now_ms};

/// A search engine errata has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// LIKE over title, description and path.
    Db,
    /// SQLite's FTS5.
    Sqlite,
    /// PostgreSQL's full-text search.
    Postgres,
}

impl Engine {
    /// Every engine, in the order `searchEngines` lists them.
    pub const ALL: [Engine; 3] = [Engine::Db, Engine::Postgres, Engine::Sqlite];

    /// Its key.
    pub fn key(self) -> &'static str {
        match self {
            Engine::Db => "db",
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }

    /// The engine with this key.
    pub fn parse(key: &str) -> Option<Engine> {
        Engine::ALL.into_iter().find(|e| e.key() == key)
    }

    fn title(self) -> &'static str {
        match self {
            Engine::Db => "Database - Basic",
            Engine::Sqlite => "SQLite - FTS5",
            Engine::Postgres => "Database - PostgreSQL",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Engine::Db => {
                "Default basic database-based search engine: matches words in titles, descriptions and paths."
            }
            Engine::Sqlite => {
                "Full-text search with SQLite's FTS5: BM25 ranking, prefix matching and suggestions. SQLite only."
            }
            Engine::Postgres => {
                "Full-text search with PostgreSQL: a weighted tsvector (title, description, content) and pg_trgm suggestions. PostgreSQL only."
            }
        }
    }

    fn website(self) -> &'static str {
        match self {
            Engine::Db => "https://docs.requarks.io/search/db",
            Engine::Sqlite => "https://www.sqlite.org/fts5.html",
            Engine::Postgres => "https://www.postgresql.org/docs/current/textsearch.html",
        }
    }

    fn runs_on(self, backend: Backend) -> bool {
        match self {
            Engine::Db => true,
            Engine::Sqlite => backend == Backend::Sqlite,
            Engine::Postgres => backend == Backend::Postgres,
        }
    }
}

/// An engine as `searchEngines` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineInfo {
    /// Which.
    pub engine: Engine,
    /// Whether it is the active one.
    pub is_enabled: bool,
    /// Whether it can run on this database.
    pub is_available: bool,
    /// Title.
    pub title: &'static str,
    /// Description.
    pub description: &'static str,
    /// Website.
    pub website: &'static str,
    /// Its settings.
    pub config: Vec<(String, String)>,
}

/// What a search found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchHits {
    /// The pages, best first: (id, title, description, path, locale).
    pub results: Vec<SearchHit>,
    /// Words from the index near the query's, when it found little.
    pub suggestions: Vec<String>,
    /// How many pages matched that the caller may read.
    pub total_hits: i64,
}

/// One page a search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    /// Page id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Path.
    pub path: String,
    /// Locale.
    pub locale: String,
}

/// The `postgres` engine's dictionary, as a one-row table `dictionary`.
macro_rules! dictionary {
    () => {
        "SELECT COALESCE((SELECT CAST(config AS json)->>'dictionary' FROM search_engines \
         WHERE key = 'postgres'), 'english')::regconfig AS dictionary"
    };
}

/// A page's weighted tsvector: title A, description B, content C, in the
/// engine's dictionary; the page is `p`.
macro_rules! vector {
    () => {
        concat!(
            "SELECT p.id, setweight(to_tsvector(e.dictionary, p.title), 'A') \
             || setweight(to_tsvector(e.dictionary, p.description), 'B') \
             || setweight(to_tsvector(e.dictionary, p.content), 'C') FROM pages p, (",
            dictionary!(),
            ") e"
        )
    };
}

/// Pages a search answers, as Wiki.js's `maxHits`.
const MAX_RESULTS: usize = 100;
/// Matching pages an engine reads at once: the newest this many below the
/// window before, which the full-text engines rank among themselves. A
/// ranking over every match costs as much as the matches (a word on most
/// of 100,000 pages took 67 ms in FTS5); a window costs at most this many.
const WINDOW: i64 = 500;
/// Matching pages the `db` engine reads at once: unranked, newest first,
/// so a window of one answer's worth is enough when the caller may read
/// them all.
const DB_WINDOW: i64 = MAX_RESULTS as i64;
/// Pages the `postgres` engine reads newest first for a window before it
/// takes the GIN index instead.
const BLOCK: i64 = 5_000;
/// Ranked pages read from a window at once: a search that may answer them
/// all reads no more.
const PAGE: i64 = 100;
/// Most matching pages a search looks through, window after window, for
/// pages the caller may read.
const MAX_EXAMINED: i64 = 5_000;
/// Below this many hits, the full-text engines suggest words, at most
/// this many.
const SUGGEST_BELOW: usize = 5;
/// Words of the index near the query's that are weighed as suggestions,
/// each with one search for a page the caller may read that holds it.
const NEAR_WORDS: usize = 20;

/// A failed search is the engine's failure (4001), or the database's 503.
fn engine_failed(e: sqlx::Error) -> Error {
    if errata_store::is_unavailable(&e) {
        errata_errors::system::database_unavailable().with_source(e)
    } else {
        errors::generic_error().with_source(e)
    }
}

/// Indexes page `id` again in the backend's own engine (or drops it from
/// the index when it is unpublished or private).
pub(crate) async fn index(tx: &mut Tx, backend: Backend, id: i64) -> Result<(), Error> {
    remove(tx, backend, id).await?;
    let sql = match backend {
        Backend::Sqlite => {
            "INSERT INTO pages_fts (rowid, title, description, content) \
             SELECT id, title, description, content FROM pages \
             WHERE id = $1 AND is_published = 1 AND is_private = 0"
        }
        Backend::Postgres => {
            concat!(
                "INSERT INTO pages_vector (page_id, tokens) ",
                vector!(),
                " WHERE p.id = $1 AND p.is_published = 1 AND p.is_private = 0"
            )
        }
    };
    sqlx::query(sql)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(failed)?;
    if backend == Backend::Sqlite {
        sqlx::query(
            "INSERT INTO pages_trigrams (rowid, title, description, path) \
             SELECT id, title, description, path FROM pages \
             WHERE id = $1 AND is_published = 1 AND is_private = 0",
        )
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(failed)?;
    }
    if backend == Backend::Postgres {
        sqlx::query(
            "INSERT INTO pages_words (word) SELECT unnest(tsvector_to_array(tokens)) \
             FROM pages_vector WHERE page_id = $1 ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(failed)?;
    }
    Ok(())
}

/// Drops page `id` from the backend's index.
pub(crate) async fn remove(tx: &mut Tx, backend: Backend, id: i64) -> Result<(), Error> {
    let sql = match backend {
        Backend::Sqlite => "DELETE FROM pages_fts WHERE rowid = $1",
        Backend::Postgres => "DELETE FROM pages_vector WHERE page_id = $1",
    };
    sqlx::query(sql)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(failed)?;
    if backend == Backend::Sqlite {
        sqlx::query("DELETE FROM pages_trigrams WHERE rowid = $1")
            .bind(id)
            .execute(&mut **tx)
            .await
            .map_err(failed)?;
    }
    Ok(())
}

impl Pages {
    /// The active engine and its settings.
    async fn active_engine(&self) -> Result<(Engine, serde_json::Value), Error> {
        let row =
            sqlx::query("SELECT key, config FROM search_engines WHERE is_enabled = 1 LIMIT 1")
                .fetch_optional(self.db.pool())
                .await
                .map_err(engine_failed)?;
        let Some(row) = row else {
            return Ok((Engine::Db, serde_json::Value::Null));
        };
        let key: String = row.try_get("key").map_err(engine_failed)?;
        let config: String = row.try_get("config").map_err(engine_failed)?;
        let engine = Engine::parse(&key)
            .filter(|e| e.runs_on(self.db.backend()))
            .unwrap_or(Engine::Db);
        Ok((engine, serde_json::from_str(&config).unwrap_or_default()))
    }

    /// Searches published, public pages, leaving out those the caller may
    /// not read; `path` limits to pages under it, `locale` to one locale.
    pub async fn search(
        &self,
        caller: &Principal,
        query: &str,
        path: Option<&str>,
        locale: Option<&str>,
    ) -> Result<SearchHits, Error> {
        let query = query.trim();
        if query.is_empty() {
            return Err(errors::query_invalid("it is empty".to_owned()));
        }
        if query.chars().any(|c| c.is_control() && !c.is_whitespace()) {
            return Err(errors::query_invalid(
                "it holds control characters".to_owned(),
            ));
        }
        if query.chars().count() > self.limits.max_query {
            return Err(errors::query_invalid(format!(
                "it is longer than {} characters",
                self.limits.max_query
            )));
        }
        let locale = locale
            .filter(|l| !l.is_empty())
            .map(crate::path::parse_locale)
            .transpose()?;
        let under = path.map(|p| p.trim_matches('/')).filter(|p| !p.is_empty());
        let (engine, config) = self.active_engine().await?;
        let dictionary = config
            .get("dictionary")
            .and_then(|d| d.as_str())
            .unwrap_or("english");
        let expression = match engine {
            Engine::Db => Some(query.to_owned()),
            Engine::Sqlite => fts5_match(query),
            Engine::Postgres => tsquery(query),
        };
        let filters = Filters {
            locale: locale.as_deref(),
            under,
        };
        let mut results = Vec::new();
        if let Some(expression) = expression {
            let mut below = None;
            let mut examined = 0;
            // Window after window, newest first, until the caller may read
            // enough of what was found.
            'windows: loop {
                let next = match engine {
                    Engine::Db => {
                        let found = self.db_window(&expression, filters, below).await?;
                        results.extend(self.readable_hits(caller, found.hits).await?);
                        found.next
                    }
                    Engine::Sqlite | Engine::Postgres => {
                        let (span, next) = self
                            .span(engine, &expression, dictionary, below, Lexemes::Query)
                            .await?;
                        let mut offset = 0;
                        loop {
                            let (hits, fetched) = self.ranked_page(&span, filters, offset).await?;
                            results.extend(self.readable_hits(caller, hits).await?);
                            if results.len() >= MAX_RESULTS {
                                break 'windows;
                            }
                            if fetched < PAGE {
                                break;
                            }
                            offset += PAGE;
                        }
                        next
                    }
                };
                examined += window_size(engine);
                match next {
                    Some(next) if results.len() < MAX_RESULTS && examined < MAX_EXAMINED => {
                        below = Some(next);
                    }
                    _ => break,
                }
            }
        }
        results.truncate(MAX_RESULTS);
        let suggestions = if results.len() < SUGGEST_BELOW {
            let near = match engine {
                Engine::Db => Vec::new(),
                Engine::Sqlite => self.suggest_sqlite(query).await?,
                Engine::Postgres => self.suggest_postgres(query).await?,
            };
            // The index's words are those of every published page, and on
            // PostgreSQL of every page it ever held: a word is suggested
            // only when a page the caller may read now holds it, so that
            // no suggestion spells out a page a rule, a publish window or
            // a delete hides.
            let mut kept = Vec::new();
            for word in near {
                if self.word_is_readable(caller, engine, &word).await? {
                    kept.push(word);
                    if kept.len() == SUGGEST_BELOW {
                        break;
                    }
                }
            }
            kept
        } else {
            Vec::new()
        };
        Ok(SearchHits {
            total_hits: results.len() as i64,
            results,
            suggestions,
        })
    }

    /// The hits the caller may read now, in their order.
    async fn readable_hits(
        &self,
        caller: &Principal,
        candidates: Vec<(SearchHit, Window)>,
    ) -> Result<Vec<SearchHit>, Error> {
        let ids: Vec<i64> = candidates.iter().map(|(hit, _)| hit.id).collect();
        let tags = self.tags_for_rules(caller, &ids).await?;
        let now = now_ms();
        Ok(candidates
            .into_iter()
            .filter(|(hit, window)| {
                let at = PageRef::at(
                    &hit.locale,
                    &hit.path,
                    tags.get(&hit.id).map(Vec::as_slice).unwrap_or_default(),
                );
                at.allows(caller, Permission::ReadPages)
                    && (window.contains(now) || at.allows(caller, Permission::WritePages))
            })
            .map(|(hit, _)| hit)
            .collect())
    }

    /// Whether a page the caller may read holds `word`, a word of the
    /// engine's index, as it is (not as a prefix: a readable `planet` must
    /// not vouch for a hidden `plan`). Only the newest window of pages
    /// holding it is looked at: a word found only further back is not
    /// suggested, which can leave out a word, never show a hidden one.
    async fn word_is_readable(
        &self,
        caller: &Principal,
        engine: Engine,
        word: &str,
    ) -> Result<bool, Error> {
        let expression = match engine {
            Engine::Db => return Ok(false),
            Engine::Sqlite => format!("\"{}\"", word.replace('"', "\"\"")),
            // `pages_words` holds lexemes as the index stores them: they
            // are matched as they are, not stemmed again.
            Engine::Postgres => format!("'{}'", word.replace('\\', "\\\\").replace('\'', "''")),
        };
        let (span, _) = self
            .span(engine, &expression, "", None, Lexemes::Stored)
            .await?;
        let mut offset = 0;
        loop {
            let (hits, fetched) = self.ranked_page(&span, Filters::default(), offset).await?;
            if !self.readable_hits(caller, hits).await?.is_empty() {
                return Ok(true);
            }
            if fetched < PAGE {
                return Ok(false);
            }
            offset += PAGE;
        }
    }

    /// Wiki.js's basic engine: the query anywhere in a title, description
    /// or path, newest pages first. On SQLite a query of three characters
    /// or more is looked up in `pages_trigrams`; shorter ones, and every
    /// query on PostgreSQL, are matched page by page from the newest, which
    /// stops at a window of matches.
    async fn db_window(
        &self,
        query: &str,
        filters: Filters<'_>,
        below: Option<i64>,
    ) -> Result<Found, Error> {
        let backend = self.db.backend();
        let trigrams = match backend {
            Backend::Sqlite => trigram_phrase(query),
            Backend::Postgres => None,
        };
        let mut sql = String::from(
            "SELECT p.id, p.title, p.description, p.path, p.locale, p.publish_start, \
             p.publish_end FROM ",
        );
        match (&trigrams, backend) {
            (Some(_), _) => sql.push_str(
                "pages_trigrams t JOIN pages p ON p.id = t.rowid WHERE pages_trigrams MATCH $1",
            ),
            (None, Backend::Sqlite) => sql.push_str(
                "pages p WHERE p.is_published = 1 AND p.is_private = 0 AND (p.title LIKE $1 \
                 ESCAPE '\\' OR p.description LIKE $1 ESCAPE '\\' OR p.path LIKE $1 ESCAPE '\\')",
            ),
            (None, Backend::Postgres) => sql.push_str(
                "pages p WHERE p.is_published = 1 AND p.is_private = 0 AND (p.title ILIKE $1 \
                 ESCAPE '\\' OR p.description ILIKE $1 ESCAPE '\\' OR p.path ILIKE $1 ESCAPE '\\')",
            ),
        }
        let mut n = 1;
        let below_at = below.map(|_| {
            n += 1;
            n
        });
        // On the trigram index its own rowid, which it orders and bounds
        // without a sort.
        let key = if trigrams.is_some() {
            "t.rowid"
        } else {
            "p.id"
        };
        if let Some(at) = below_at {
            sql.push_str(&format!(" AND {key} < ${at}"));
        }
        filters.push_sql(&mut sql, &mut n);
        sql.push_str(&format!(" ORDER BY {key} DESC LIMIT {DB_WINDOW}"));
        let mut select = sqlx::query(&sql).bind(trigrams.unwrap_or_else(|| like_pattern(query)));
        if let Some(below) = below {
            select = select.bind(below);
        }
        let rows = filters
            .bind(select)
            .fetch_all(self.db.pool())
            .await
            .map_err(engine_failed)?;
        let hits = rows.iter().map(hit_from).collect::<Result<Vec<_>, _>>()?;
        let next = (hits.len() as i64 == DB_WINDOW)
            .then(|| hits.last().map(|(hit, _)| hit.id))
            .flatten();
        Ok(Found { hits, next })
    }

    /// A full-text engine's window below `below` (every page when `None`):
    /// its newest [`WINDOW`] matching pages, and the id the next window is
    /// below, when there are more. `dictionary` is the `postgres` engine's,
    /// for [`Lexemes::Query`].
    async fn span(
        &self,
        engine: Engine,
        expression: &str,
        dictionary: &str,
        below: Option<i64>,
        lexemes: Lexemes,
    ) -> Result<(Span, Option<i64>), Error> {
        let below = below.unwrap_or(i64::MAX);
        if engine == Engine::Postgres {
            let ids = self
                .postgres_window(expression, dictionary, below, lexemes)
                .await?;
            let next = (ids.len() as i64 == WINDOW)
                .then(|| ids.iter().copied().min())
                .flatten();
            let span = Span::Postgres {
                expression: expression.to_owned(),
                dictionary: dictionary.to_owned(),
                lexemes,
                ids,
            };
            return Ok((span, next));
        }
        // The lowest rowid of the window when the matches fill one: the
        // window is then the matches from it up.
        let bound = format!(
            "SELECT rowid FROM pages_fts WHERE pages_fts MATCH $1 AND rowid < $2 \
             ORDER BY rowid DESC LIMIT 1 OFFSET {}",
            WINDOW - 1
        );
        // The words whole first: when they fill the window, the prefixes'
        // extra matches are not read (see `without_prefixes`).
        if lexemes == Lexemes::Query {
            let whole = without_prefixes(expression);
            let low: Option<i64> = sqlx::query_scalar(&bound)
                .bind(&whole)
                .bind(below)
                .fetch_optional(self.db.pool())
                .await
                .map_err(engine_failed)?;
            if let Some(low) = low {
                let span = Span::Sqlite {
                    expression: whole,
                    low,
                    below,
                };
                return Ok((span, Some(low)));
            }
        }
        let low: Option<i64> = sqlx::query_scalar(&bound)
            .bind(expression)
            .bind(below)
            .fetch_optional(self.db.pool())
            .await
            .map_err(engine_failed)?;
        let span = Span::Sqlite {
            expression: expression.to_owned(),
            low: low.unwrap_or(i64::MIN),
            below,
        };
        Ok((span, low))
    }

    /// [`PAGE`] of a window's pages from `offset` on, best first (FTS5's
    /// BM25 with title, description and content weighed 10, 5 and 1;
    /// PostgreSQL's `ts_rank` over title A, description B, content C),
    /// those the filters pass, and how many were read.
    async fn ranked_page(
        &self,
        span: &Span,
        filters: Filters<'_>,
        offset: i64,
    ) -> Result<(Vec<(SearchHit, Window)>, i64), Error> {
        let rows = match span {
            Span::Sqlite {
                expression,
                low,
                below,
            } => sqlx::query(&format!(
                "SELECT p.id, p.title, p.description, p.path, p.locale, p.publish_start, \
                 p.publish_end FROM (SELECT rowid AS id, bm25(pages_fts, 10.0, 5.0, 1.0) AS score \
                 FROM pages_fts WHERE pages_fts MATCH $1 AND rowid < $2 AND rowid >= $3) f \
                 JOIN pages p ON p.id = f.id ORDER BY f.score, p.id DESC LIMIT {PAGE} OFFSET $4"
            ))
            .bind(expression.as_str())
            .bind(*below)
            .bind(*low)
            .bind(offset)
            .fetch_all(self.db.pool())
            .await
            .map_err(engine_failed)?,
            Span::Postgres {
                expression,
                dictionary,
                lexemes,
                ids,
            } => {
                if ids.is_empty() {
                    return Ok((Vec::new(), 0));
                }
                // The window's ids are the database's own integers, written
                // into the statement: a statement of its own, not cached.
                let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
                let rank = format!(
                    "SELECT p.id, p.title, p.description, p.path, p.locale, p.publish_start, \
                     p.publish_end, ts_rank(v.tokens, {}) AS score FROM pages_vector v \
                     JOIN pages p ON p.id = v.page_id WHERE v.page_id IN ({list}) \
                     ORDER BY score DESC, p.id DESC LIMIT {PAGE} OFFSET {offset}",
                    lexemes.tsquery(2)
                );
                let mut select = sqlx::query(&rank)
                    .persistent(false)
                    .bind(expression.as_str());
                if *lexemes == Lexemes::Query {
                    select = select.bind(dictionary.as_str());
                }
                select
                    .fetch_all(self.db.pool())
                    .await
                    .map_err(engine_failed)?
            }
        };
        let fetched = rows.len() as i64;
        let hits = rows.iter().map(hit_from).collect::<Result<Vec<_>, _>>()?;
        Ok((
            hits.into_iter()
                .filter(|(hit, _)| filters.admits(hit))
                .collect(),
            fetched,
        ))
    }

    /// The ids of the `postgres` engine's window below `below`, newest
    /// first. PostgreSQL cannot tell how many pages a prefix (`'word':*`)
    /// matches, so its planner picks between reading the index of ids
    /// newest first (quick for a common word, every page for a rare one)
    /// and the GIN index (every match, then a sort) blindly; both are
    /// tried here in that order, the first bounded to the newest
    /// [`BLOCK`] pages.
    async fn postgres_window(
        &self,
        expression: &str,
        dictionary: &str,
        below: i64,
        lexemes: Lexemes,
    ) -> Result<Vec<i64>, Error> {
        let q = lexemes.tsquery(3);
        let newest = format!(
            "SELECT w.page_id FROM (SELECT page_id, tokens FROM pages_vector WHERE page_id < $2 \
             ORDER BY page_id DESC LIMIT {BLOCK}) w WHERE w.tokens @@ {q} \
             ORDER BY w.page_id DESC LIMIT {WINDOW}"
        );
        // `page_id + 0` keeps the planner off the index of ids.
        let matching = format!(
            "SELECT page_id FROM pages_vector WHERE tokens @@ {q} AND page_id < $2 \
             ORDER BY page_id + 0 DESC LIMIT {WINDOW}"
        );
        let ids = self
            .window_ids(&newest, expression, dictionary, below, lexemes)
            .await?;
        if ids.len() as i64 == WINDOW {
            return Ok(ids);
        }
        self.window_ids(&matching, expression, dictionary, below, lexemes)
            .await
    }

    async fn window_ids(
        &self,
        sql: &str,
        expression: &str,
        dictionary: &str,
        below: i64,
        lexemes: Lexemes,
    ) -> Result<Vec<i64>, Error> {
        let mut select = sqlx::query_scalar(sql).bind(expression).bind(below);
        if lexemes == Lexemes::Query {
            select = select.bind(dictionary);
        }
        select
            .fetch_all(self.db.pool())
            .await
            .map_err(engine_failed)
    }

    /// Words of the index within two edits of the query's words.
    async fn suggest_sqlite(&self, query: &str) -> Result<Vec<String>, Error> {
        let mut found: Vec<(usize, i64, String)> = Vec::new();
        for word in words(query) {
            let Some(first) = word.chars().next() else {
                continue;
            };
            let len = word.chars().count();
            let mut upper = first.to_string();
            upper.push(char::MAX);
            let rows =
                sqlx::query("SELECT term, doc FROM pages_fts_words WHERE term >= $1 AND term < $2")
                    .bind(first.to_string())
                    .bind(&upper)
                    .fetch_all(self.db.pool())
                    .await
                    .map_err(engine_failed)?;
            for row in rows {
                let term: String = row.try_get("term").map_err(engine_failed)?;
                let docs: i64 = row.try_get("doc").map_err(engine_failed)?;
                if term == word || term.chars().count().abs_diff(len) > 2 {
                    continue;
                }
                let distance = strsim::levenshtein(&word, &term);
                if distance <= 2 {
                    found.push((distance, -docs, term));
                }
            }
        }
        found.sort();
        let mut out: Vec<String> = Vec::new();
        for (_, _, term) in found {
            if !out.contains(&term) {
                out.push(term);
            }
            if out.len() == NEAR_WORDS {
                break;
            }
        }
        Ok(out)
    }

    /// Words of the index similar to the query's (pg_trgm).
    async fn suggest_postgres(&self, query: &str) -> Result<Vec<String>, Error> {
        let mut out: Vec<String> = Vec::new();
        for word in words(query) {
            let rows: Vec<String> = sqlx::query_scalar(
                "SELECT word FROM pages_words WHERE word <> $1 AND similarity(word, $1) > 0.2 \
                 ORDER BY similarity(word, $1) DESC, word LIMIT 20",
            )
            .bind(&word)
            .fetch_all(self.db.pool())
            .await
            .map_err(engine_failed)?;
            for w in rows {
                if !out.contains(&w) && out.len() < NEAR_WORDS {
                    out.push(w);
                }
            }
        }
        Ok(out)
    }

    /// Every engine, with which is active and which can run here.
    pub async fn search_engines(&self) -> Result<Vec<EngineInfo>, Error> {
        let rows = sqlx::query("SELECT key, is_enabled, config FROM search_engines")
            .fetch_all(self.db.pool())
            .await
            .map_err(engine_failed)?;
        let (active, _) = self.active_engine().await?;
        let mut out = Vec::new();
        for engine in Engine::ALL {
            let mut config = Vec::new();
            if engine == Engine::Postgres {
                let stored = rows
                    .iter()
                    .find(|r| r.try_get::<String, _>("key").is_ok_and(|k| k == "postgres"))
                    .and_then(|r| r.try_get::<String, _>("config").ok())
                    .and_then(|c| serde_json::from_str::<serde_json::Value>(&c).ok());
                let dictionary = stored
                    .as_ref()
                    .and_then(|c| c.get("dictionary"))
                    .and_then(|d| d.as_str())
                    .unwrap_or("english");
                config.push(("dictionary".to_owned(), dictionary.to_owned()));
            }
            out.push(EngineInfo {
                engine,
                is_enabled: engine == active,
                is_available: engine.runs_on(self.db.backend()),
                title: engine.title(),
                description: engine.description(),
                website: engine.website(),
                config,
            });
        }
        Ok(out)
    }

    /// Activates `engine` with `config`: 4102 for an unknown engine, 4002
    /// when it cannot run here (another backend, pg_trgm missing, an unknown
    /// dictionary). On failure the active engine and its settings stay.
    pub async fn activate_engine(
        &self,
        key: &str,
        config: &[(String, String)],
    ) -> Result<(), Error> {
        let engine = Engine::parse(key).ok_or_else(|| errors::engine_unknown(key.to_owned()))?;
        let refuse = |reason: String| errors::activation_failed().with_detail("reason", reason);
        if !engine.runs_on(self.db.backend()) {
            return Err(refuse(format!(
                "the {} engine cannot run on {}",
                engine.key(),
                match self.db.backend() {
                    Backend::Sqlite => "SQLite",
                    Backend::Postgres => "PostgreSQL",
                }
            )));
        }
        let mut stored = serde_json::Map::new();
        for (k, v) in config {
            match (engine, k.as_str()) {
                (Engine::Postgres, "dictionary") => {
                    if v.is_empty()
                        || v.len() > 63
                        || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    {
                        return Err(refuse(format!("\"{v}\" is not a text search dictionary")));
                    }
                    stored.insert(k.clone(), serde_json::Value::String(v.clone()));
                }
                _ => {
                    return Err(refuse(format!(
                        "the {} engine has no setting \"{k}\"",
                        engine.key()
                    )));
                }
            }
        }
        if engine == Engine::Postgres {
            let dictionary = stored
                .get("dictionary")
                .and_then(|d| d.as_str())
                .unwrap_or("english")
                .to_owned();
            let known: Option<String> =
                sqlx::query_scalar("SELECT cfgname::text FROM pg_ts_config WHERE cfgname = $1")
                    .bind(&dictionary)
                    .fetch_optional(self.db.pool())
                    .await
                    .map_err(engine_failed)?;
            if known.is_none() {
                return Err(refuse(format!(
                    "\"{dictionary}\" is not a text search dictionary"
                )));
            }
            stored.insert(
                "dictionary".to_owned(),
                serde_json::Value::String(dictionary),
            );
            if let Err(e) = sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                .execute(self.db.pool())
                .await
            {
                tracing::warn!(error = %e, "pg_trgm could not be created");
                return Err(refuse("the pg_trgm extension is not available".to_owned()));
            }
            sqlx::query(
                "CREATE INDEX IF NOT EXISTS pages_words_trgm ON pages_words USING GIN (word gin_trgm_ops)",
            )
            .execute(self.db.pool())
            .await
            .map_err(|e| refuse_source(e, "the trigram index could not be built"))?;
        }
        let config = serde_json::Value::Object(stored).to_string();
        let mut tx = self
            .begin()
            .await
            .map_err(|_| refuse("the database did not answer".to_owned()))?;
        sqlx::query("UPDATE search_engines SET is_enabled = 0")
            .execute(&mut *tx)
            .await
            .map_err(engine_failed)?;
        sqlx::query(
            "INSERT INTO search_engines (key, is_enabled, config) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET is_enabled = 1, config = $2",
        )
        .bind(engine.key())
        .bind(&config)
        .execute(&mut *tx)
        .await
        .map_err(engine_failed)?;
        rebuild_in(&mut tx, self.db.backend()).await?;
        tx.commit().await.map_err(engine_failed)?;
        self.changed().await;
        Ok(())
    }

    /// Builds the backend's index again from the pages.
    pub async fn rebuild_index(&self) -> Result<(), Error> {
        let mut tx = self.begin().await?;
        rebuild_in(&mut tx, self.db.backend()).await?;
        tx.commit().await.map_err(engine_failed)?;
        self.changed().await;
        Ok(())
    }
}

fn refuse_source(e: sqlx::Error, reason: &str) -> Error {
    errors::activation_failed()
        .with_detail("reason", reason.to_owned())
        .with_source(e)
}

async fn rebuild_in(tx: &mut Tx, backend: Backend) -> Result<(), Error> {
    let statements: &[&str] = match backend {
        Backend::Sqlite => &[
            "DELETE FROM pages_fts",
            "INSERT INTO pages_fts (rowid, title, description, content) \
             SELECT id, title, description, content FROM pages \
             WHERE is_published = 1 AND is_private = 0",
            "DELETE FROM pages_trigrams",
            "INSERT INTO pages_trigrams (rowid, title, description, path) \
             SELECT id, title, description, path FROM pages \
             WHERE is_published = 1 AND is_private = 0",
        ],
        Backend::Postgres => &[
            "DELETE FROM pages_vector",
            "DELETE FROM pages_words",
            concat!(
                "INSERT INTO pages_vector (page_id, tokens) ",
                vector!(),
                " WHERE p.is_published = 1 AND p.is_private = 0"
            ),
            "INSERT INTO pages_words (word) SELECT DISTINCT unnest(tsvector_to_array(tokens)) \
             FROM pages_vector ON CONFLICT DO NOTHING",
        ],
    };
    for statement in statements {
        sqlx::query(statement)
            .execute(&mut **tx)
            .await
            .map_err(engine_failed)?;
    }
    Ok(())
}

/// Where a full-text engine's window is.
enum Span {
    /// FTS5: the matches of `expression` whose rowids are in `low..below`.
    Sqlite {
        expression: String,
        low: i64,
        below: i64,
    },
    /// PostgreSQL: the window's page ids, and how to rank them.
    Postgres {
        expression: String,
        dictionary: String,
        lexemes: Lexemes,
        ids: Vec<i64>,
    },
}

/// What a window of the `db` engine found, and where the next one starts.
struct Found {
    /// The window's pages that pass the filters, best first.
    hits: Vec<(SearchHit, Window)>,
    /// The ids of the next window are below this one; `None` when this
    /// window was the last.
    next: Option<i64>,
}

/// How a PostgreSQL expression is read: a query's words, stemmed in the
/// engine's dictionary, or lexemes of the index, as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lexemes {
    Query,
    Stored,
}

impl Lexemes {
    /// The tsquery of the expression `$1`, in the dictionary bound as
    /// `$dictionary`.
    fn tsquery(self, dictionary: usize) -> String {
        match self {
            Lexemes::Query => format!("to_tsquery(CAST(${dictionary} AS regconfig), $1)"),
            Lexemes::Stored => "CAST($1 AS tsquery)".to_owned(),
        }
    }
}

/// A search's filters: one locale, and paths under a path.
#[derive(Debug, Clone, Copy, Default)]
struct Filters<'a> {
    locale: Option<&'a str>,
    /// A path without its slashes at either end; pages whose path starts
    /// with it pass, as Wiki.js's `path LIKE 'under%'`.
    under: Option<&'a str>,
}

impl<'a> Filters<'a> {
    /// Appends the filters' conditions on `p`, numbering binds after `n`.
    fn push_sql(self, sql: &mut String, n: &mut usize) {
        if self.locale.is_some() {
            *n += 1;
            sql.push_str(&format!(" AND p.locale = ${n}"));
        }
        if self.under.is_some() {
            *n += 1;
            sql.push_str(&format!(" AND p.path LIKE ${n} ESCAPE '\\'"));
        }
    }

    /// Binds the filters' values, in [`Filters::push_sql`]'s order.
    fn bind<'q>(
        self,
        mut select: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>
    where
        'a: 'q,
    {
        if let Some(locale) = self.locale {
            select = select.bind(locale);
        }
        if let Some(under) = self.under {
            let pattern = like_pattern(under);
            select = select.bind(format!("{}%", &pattern[1..pattern.len() - 1]));
        }
        select
    }

    /// Whether `hit` passes, as the SQL of [`Filters::push_sql`] decides.
    fn admits(self, hit: &SearchHit) -> bool {
        self.locale.is_none_or(|l| hit.locale == l)
            && self.under.is_none_or(|u| hit.path.starts_with(u))
    }
}

/// The most matching pages one window of `engine` holds.
fn window_size(engine: Engine) -> i64 {
    match engine {
        Engine::Db => DB_WINDOW,
        Engine::Sqlite | Engine::Postgres => WINDOW,
    }
}

/// When a page is shown to readers: published, from and until.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window(pub(crate) Option<i64>, pub(crate) Option<i64>);

impl Window {
    pub(crate) fn contains(self, now: i64) -> bool {
        self.0.is_none_or(|s| s <= now) && self.1.is_none_or(|e| e > now)
    }
}

fn hit_from(row: &sqlx::any::AnyRow) -> Result<(SearchHit, Window), Error> {
    let get = || -> Result<(SearchHit, Window), sqlx::Error> {
        Ok((
            SearchHit {
                id: row.try_get("id")?,
                title: row.try_get("title")?,
                description: row.try_get("description")?,
                path: row.try_get("path")?,
                locale: row.try_get("locale")?,
            },
            Window(row.try_get("publish_start")?, row.try_get("publish_end")?),
        ))
    };
    get().map_err(engine_failed)
}
