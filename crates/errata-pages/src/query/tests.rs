use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use sqlx::{Connection, PgConnection, Row, SqliteConnection};

use super::*;

#[test]
fn words_are_unicode_letters_and_digits_lower_cased() {
    assert_eq!(
        words("Hello, WÖRLD! x_y 42 \"quoted\" it's"),
        ["hello", "wörld", "x", "y", "42", "quoted", "it", "s"]
    );
    assert!(words(" ,;:\"'*()^-+ ").is_empty());
    let many = (0..20)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(words(&many).len(), MAX_WORDS);
    assert_eq!(words(&"é".repeat(100)), ["é".repeat(MAX_WORD)]);
}

#[test]
fn fts5_gets_quoted_prefix_phrases() {
    assert_eq!(
        fts5_match("title:foo OR NEAR(bar*)").as_deref(),
        Some("\"title\"* AND \"foo\"* AND \"or\"* AND \"near\"* AND \"bar\"*")
    );
    assert_eq!(fts5_match("\"*^-"), None);
}

#[test]
fn whole_words_are_the_prefix_phrases_without_their_stars() {
    assert_eq!(
        without_prefixes(&fts5_match("Wörld 42 it's").unwrap()),
        "\"wörld\" AND \"42\" AND \"it\" AND \"s\""
    );
}

#[test]
fn tsquery_gets_quoted_prefix_lexemes() {
    assert_eq!(
        tsquery("Rock & !roll | it's").as_deref(),
        Some("'rock':* & 'roll':* & 'it':* & 's':*")
    );
    assert_eq!(tsquery("& | ! <-> :*"), None);
}

#[test]
fn like_patterns_take_wildcards_literally() {
    assert_eq!(like_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    assert_eq!(like_pattern(""), "%%");
}

/// `expression` as quoted parts joined by `separator`: each part is
/// `open`, a body whose every `quote` is doubled, then `close`.
fn quoted_parts(expression: &str, separator: &str, quote: char, close: &str) -> bool {
    let doubled = format!("{quote}{quote}");
    expression.split(separator).all(|part| {
        part.strip_prefix(quote)
            .and_then(|p| p.strip_suffix(close))
            .is_some_and(|body| !body.replace(&doubled, "").contains(quote))
    })
}

fn queries() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\"'*:^(){}+\\-\\\\&|!<> a-zA-Z0-9_%]{0,40}",
        prop::collection::vec(
            prop::sample::select(&[
                "AND",
                "OR",
                "NOT",
                "NEAR(",
                ")",
                "title:",
                "^",
                "\"",
                "'",
                "*",
                ":*",
                "\\",
                "&",
                "|",
                "!",
                "<->",
                "İstanbul",
                "ǅ",
                "x\u{301}",
                "\u{0}",
                "٣",
                "ß",
            ]),
            0..8,
        )
        .prop_map(|parts| parts.join(" ")),
    ]
}

/// `cases` cases, with failures reported rather than saved: these runners
/// are not `proptest!` tests and have no source file to save them beside.
fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a test runtime")
}

#[test]
fn quotes_are_always_doubled() {
    let mut runner = TestRunner::new(config(256));
    runner
        .run(&queries(), |query| {
            if let Some(e) = fts5_match(&query) {
                prop_assert!(quoted_parts(&e, " AND ", '"', "\"*"), "{}", e);
            }
            if let Some(t) = tsquery(&query) {
                prop_assert!(quoted_parts(&t, " & ", '\'', "':*"), "{}", t);
            }
            let like = like_pattern(&query);
            prop_assert!(like.starts_with('%') && like.ends_with('%'));
            Ok(())
        })
        .expect("every quote is doubled");
}

#[test]
fn sqlite_fts5_accepts_every_expression() {
    let runtime = runtime();
    let db = runtime.block_on(async {
        let mut db = SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("an in-memory SQLite");
        sqlx::query("CREATE VIRTUAL TABLE pages USING fts5(title, content)")
            .execute(&mut db)
            .await
            .expect("FTS5 is compiled into the bundled SQLite");
        for (title, content) in [
            ("Hello wörld", "Grüße aus İstanbul"),
            ("Rock & roll", "it's 50% off, \"quoted\""),
        ] {
            sqlx::query("INSERT INTO pages (title, content) VALUES ($1, $2)")
                .bind(title)
                .bind(content)
                .execute(&mut db)
                .await
                .expect("a row");
        }
        db
    });
    let db = tokio::sync::Mutex::new(db);
    let count = |expression: String| {
        runtime.block_on(async {
            let mut db = db.lock().await;
            sqlx::query("SELECT count(*) FROM pages WHERE pages MATCH $1")
                .bind(expression)
                .fetch_one(&mut *db)
                .await
                .map(|row| row.get::<i64, _>(0))
        })
    };
    assert_eq!(
        count(fts5_match("WÖR hell").unwrap_or_default()).ok(),
        Some(1)
    );
    assert_eq!(
        count(fts5_match("it's QUOTED 50").unwrap_or_default()).ok(),
        Some(1)
    );
    assert_eq!(
        count(fts5_match("roll hello").unwrap_or_default()).ok(),
        Some(0)
    );
    let mut runner = TestRunner::new(config(300));
    runner
        .run(&queries(), |query| {
            if let Some(expression) = fts5_match(&query) {
                let result = count(expression.clone());
                prop_assert!(
                    result.is_ok(),
                    "{:?} gave {:?}: {:?}",
                    query,
                    expression,
                    result
                );
            }
            Ok(())
        })
        .expect("FTS5 accepts every expression");
}

#[test]
fn postgres_to_tsquery_accepts_every_text() {
    let url = errata_store::testing::postgres_admin_url();
    let runtime = runtime();
    let Ok(db) = runtime.block_on(PgConnection::connect(&url)) else {
        eprintln!("PostgreSQL is not reachable at {url}: to_tsquery is not checked");
        return;
    };
    let db = tokio::sync::Mutex::new(db);
    let parse = |text: String| {
        runtime.block_on(async {
            let mut db = db.lock().await;
            sqlx::query("SELECT to_tsquery('simple', $1)::text")
                .bind(text)
                .fetch_one(&mut *db)
                .await
                .map(|row| row.get::<String, _>(0))
        })
    };
    assert_eq!(
        parse(tsquery("Rock & it's\\").unwrap_or_default())
            .ok()
            .as_deref(),
        Some("'rock':* & 'it':* & 's':*")
    );
    let mut runner = TestRunner::new(config(300));
    runner
        .run(&queries(), |query| {
            if let Some(text) = tsquery(&query) {
                let result = parse(text.clone());
                prop_assert!(result.is_ok(), "{:?} gave {:?}: {:?}", query, text, result);
            }
            Ok(())
        })
        .expect("to_tsquery accepts every text");
}

#[test]
fn trigram_phrases_need_three_characters_and_quote_their_quotes() {
    assert_eq!(trigram_phrase("ab"), None);
    assert_eq!(trigram_phrase("é\"x").as_deref(), Some("\"é\"\"x\""));
    assert_eq!(trigram_phrase("50%").as_deref(), Some("\"50%\""));
    assert_eq!(trigram_phrase("a\0bc"), None);
}

/// The `db` engine looks queries of three characters or more up in a
/// trigram index on SQLite, and matches the others with `LIKE`: both
/// must find the same rows, whatever the query holds.
#[test]
fn sqlite_trigram_lookups_find_what_like_finds() {
    let runtime = runtime();
    let texts = [
        "Install the backup agent",
        "50% off: \"quoted\" text_with_underscores",
        "Grüße aus Köln",
        "a\\b path/with/slashes",
        "MiXeD CaSe Words",
        "",
    ];
    let db = runtime.block_on(async {
        let mut db = SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("an in-memory SQLite");
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
            .execute(&mut db)
            .await
            .expect("a table");
        sqlx::query("CREATE VIRTUAL TABLE g USING fts5 (body, tokenize = 'trigram')")
            .execute(&mut db)
            .await
            .expect("the trigram tokenizer is compiled into the bundled SQLite");
        for (id, body) in texts.iter().enumerate() {
            for table in ["t (id, body)", "g (rowid, body)"] {
                sqlx::query(&format!("INSERT INTO {table} VALUES ($1, $2)"))
                    .bind(id as i64)
                    .bind(*body)
                    .execute(&mut db)
                    .await
                    .expect("a row");
            }
        }
        db
    });
    let db = tokio::sync::Mutex::new(db);
    let found = |sql: &'static str, value: String| {
        runtime.block_on(async {
            let mut db = db.lock().await;
            sqlx::query_scalar::<_, i64>(sql)
                .bind(value)
                .fetch_all(&mut *db)
                .await
        })
    };
    let mut runner = TestRunner::new(config(300));
    let queries = prop_oneof![
        queries(),
        // Pieces of the texts, in any case, so that most queries match.
        (0..texts.len(), 0usize..30, 3usize..12, any::<bool>()).prop_map(
            move |(i, start, len, upper)| {
                let piece: String = texts[i].chars().skip(start).take(len).collect();
                if upper {
                    piece.to_ascii_uppercase()
                } else {
                    piece
                }
            }
        ),
    ];
    runner
        .run(&queries, |query| {
            let like = found(
                "SELECT id FROM t WHERE body LIKE $1 ESCAPE '\\' ORDER BY id",
                like_pattern(&query),
            );
            prop_assert!(like.is_ok(), "{:?}: {:?}", query, like);
            if let Some(phrase) = trigram_phrase(&query) {
                let trigrams = found(
                    "SELECT rowid FROM g WHERE g MATCH $1 ORDER BY rowid",
                    phrase,
                );
                prop_assert!(trigrams.is_ok(), "{:?}: {:?}", query, trigrams);
                // LIKE folds the case of ASCII letters only, the index
                // every letter's.
                if query.is_ascii() {
                    prop_assert_eq!(trigrams.ok(), like.ok(), "{:?}", query);
                }
            }
            Ok(())
        })
        .expect("the trigram index finds what LIKE finds");
}
