//! A search box's text made safe for each engine: user text reaches an
//! engine only as quoted words or escaped literals, never as query syntax,
//! so that no input can make a query fail to parse or match differently
//! from the words it holds.

/// Most words a query keeps; the rest are ignored.
pub const MAX_WORDS: usize = 16;
/// Most characters a word keeps; the rest are cut.
pub const MAX_WORD: usize = 64;

/// The query's words: runs of Unicode letters and digits, lower-cased, at
/// most [`MAX_WORDS`] of at most [`MAX_WORD`] characters each.
pub fn words(query: &str) -> Vec<String> {
    query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .take(MAX_WORDS)
        .map(|word| word.to_lowercase().chars().take(MAX_WORD).collect())
        .collect()
}

/// An FTS5 `MATCH` expression: every word as a quoted prefix phrase
/// (`"word"*`), all of them required; `None` when there is no word.
pub fn fts5_match(query: &str) -> Option<String> {
    let words = words(query);
    (!words.is_empty()).then(|| {
        words
            .iter()
            .map(|word| format!("\"{}\"*", word.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" AND ")
    })
}

/// An [`fts5_match`] expression with its words matched whole rather than
/// as prefixes: FTS5 reads every page a prefix matches before it can
/// answer any, a whole word's newest pages first.
pub fn without_prefixes(expression: &str) -> String {
    // The words are letters and digits only: `"*` ends a phrase.
    expression.replace("\"*", "\"")
}

/// A `to_tsquery` text: every word as a quoted lexeme matched by prefix
/// (`'word':*`), all of them required; `None` when there is no word.
pub fn tsquery(query: &str) -> Option<String> {
    let words = words(query);
    (!words.is_empty()).then(|| {
        words
            .iter()
            .map(|word| format!("'{}':*", word.replace('\\', "\\\\").replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(" & ")
    })
}

/// The whole query as one FTS5 string for a trigram index, where it
/// matches wherever the text holds it, as `LIKE '%query%'` does; `None`
/// below three characters, which a trigram index cannot look up, and for
/// a query holding NUL, which ends an FTS5 string.
pub fn trigram_phrase(query: &str) -> Option<String> {
    (query.chars().count() >= 3 && !query.contains('\0'))
        .then(|| format!("\"{}\"", query.replace('"', "\"\"")))
}

/// A `LIKE ... ESCAPE '\'` pattern matching the query anywhere, its `%`,
/// `_` and `\` taken literally.
pub fn like_pattern(query: &str) -> String {
    let mut pattern = String::with_capacity(query.len() + 2);
    pattern.push('%');
    for c in query.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests;
