//! A search box's text, as each engine receives it.
#![no_main]

use errata_pages::query::{fts5_match, like_pattern, tsquery};
use libfuzzer_sys::fuzz_target;

/// Whether every part of `expression` between `separator`s is `quote`, a
/// body whose every `quote` is doubled, then `close`.
fn quoted(expression: &str, separator: &str, quote: char, close: &str) -> bool {
    let doubled = format!("{quote}{quote}");
    expression.split(separator).all(|part| {
        part.strip_prefix(quote)
            .and_then(|p| p.strip_suffix(close))
            .is_some_and(|body| !body.replace(&doubled, "").contains(quote))
    })
}

/// Whether every `%`, `_` and `\` between the pattern's first and last
/// `%` is escaped.
fn escaped(pattern: &str) -> bool {
    let Some(body) = pattern.strip_prefix('%').and_then(|p| p.strip_suffix('%')) else {
        return false;
    };
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.next(), Some('%' | '_' | '\\')) => {}
            '%' | '_' | '\\' => return false,
            _ => {}
        }
    }
    true
}

fuzz_target!(|query: &str| {
    if let Some(expression) = fts5_match(query) {
        assert!(quoted(&expression, " AND ", '"', "\"*"), "{expression:?}");
    }
    if let Some(text) = tsquery(query) {
        assert!(quoted(&text, " & ", '\'', "':*"), "{text:?}");
        assert!(!text.replace("\\\\", "").contains('\\'), "{text:?}");
    }
    let pattern = like_pattern(query);
    assert!(escaped(&pattern), "{pattern:?}");
});
