//! Page paths and locale codes, as the API receives them.
//!
//! A path is stored without a leading or trailing slash (`docs/intro`).
//! Wiki.js 2.5 refuses `.`, spaces, `\` and `//`, then strips one slash at
//! each end; errata keeps that order and adds rules of its own. Where
//! Wiki.js's URL parser silently drops characters (`[\x00-\x1f\x80-\x9f\\"|<>:*?]`),
//! errata refuses them, so that the path a client writes is the path it
//! reads back; `#` and `%` are refused because they would change the
//! meaning of the page's URL. Wiki.js checks reserved first segments only
//! in its editor route; errata checks them on every write, so that no page
//! can hide behind a route or a locale prefix.

use errata_catalog::Error;
use errata_errors::pages;
use unicode_normalization::UnicodeNormalization;

/// Longest path, in characters.
pub const MAX_PATH: usize = 255;

/// First segments that Wiki.js 2.5 reserves (`isReservedPath`), then the
/// routes errata serves itself.
const RESERVED: &[&str] = &[
    "login", "logout", "register", "verify", "favicons", "fonts", "img", "js", "svg", "graphql",
    "errors", "oauth", "healthz", "readyz", "metrics", "assets", "uploads",
];

/// Characters Wiki.js's URL parser would strip, and those that would end
/// or escape a URL's path.
const UNSAFE: &[char] = &['"', '|', '<', '>', ':', '*', '?', '#', '%'];

fn illegal(rule: &'static str, reason: String) -> Error {
    pages::illegal_path()
        .with_detail("rule", rule)
        .with_detail("reason", reason)
}

/// Characters that show nothing, or change the direction of what follows
/// (zero-width spaces and joiners, direction marks, embeddings, overrides
/// and isolates, the word joiner, the byte order mark): a path holding one
/// looks like another path, and so would escape the page rules written for
/// it in readers' eyes.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{180E}' | '\u{061C}' | '\u{00AD}')
}

/// How a character is named in a reason: quoted when it prints, as a code
/// point when it does not.
fn describe(c: char) -> String {
    if c.is_control() || c.is_whitespace() || is_invisible(c) {
        format!("U+{:04X}", u32::from(c))
    } else {
        format!("\"{c}\"")
    }
}

/// The path as stored: `input` checked, with one leading and one trailing
/// slash removed.
///
/// Every refusal is `pages.illegal_path` (6005) with the details `rule`,
/// a stable kebab-case name, and `reason`, an English sentence.
pub fn parse_path(input: &str) -> Result<String, Error> {
    if input.contains('.') {
        return Err(illegal("no-dot", "the path contains \".\"".to_owned()));
    }
    if let Some(c) = input.chars().find(|c| c.is_whitespace()) {
        return Err(illegal(
            "no-whitespace",
            format!("the path contains whitespace ({})", describe(c)),
        ));
    }
    if input.contains('\\') {
        return Err(illegal(
            "no-backslash",
            "the path contains \"\\\"".to_owned(),
        ));
    }
    if input.contains("//") {
        return Err(illegal(
            "no-double-slash",
            "the path contains \"//\"".to_owned(),
        ));
    }
    let path = input.strip_prefix('/').unwrap_or(input);
    let path = path.strip_suffix('/').unwrap_or(path);
    if let Some(c) = path
        .chars()
        .find(|&c| c.is_control() || UNSAFE.contains(&c))
    {
        return Err(illegal(
            "unsafe-character",
            format!("the path contains {}", describe(c)),
        ));
    }
    if let Some(c) = path.chars().find(|&c| is_invisible(c)) {
        return Err(illegal(
            "invisible-character",
            format!("the path contains {}", describe(c)),
        ));
    }
    // One path, one spelling: the NFD spelling of `café` is the NFC one,
    // so that no page looks like another and escapes rules written for it.
    let path: String = path.nfc().collect();
    let path = path.as_str();
    // With `//` refused and one slash stripped at each end, no segment can
    // be empty: the only empty path is the empty one.
    if path.is_empty() {
        return Err(illegal("empty", "the path is empty".to_owned()));
    }
    let length = path.chars().count();
    if length > MAX_PATH {
        return Err(illegal(
            "too-long",
            format!("the path is {length} characters long, more than {MAX_PATH}"),
        ));
    }
    let first = path.split('/').next().unwrap_or(path);
    if first.chars().count() == 1 {
        return Err(illegal(
            "one-character-segment",
            format!("the first segment \"{first}\" is one character long"),
        ));
    }
    if is_locale_shaped(first) {
        return Err(illegal(
            "locale-segment",
            format!("the first segment \"{first}\" has the shape of a locale code"),
        ));
    }
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(first)) {
        return Err(illegal(
            "reserved-segment",
            format!("the first segment \"{first}\" is reserved"),
        ));
    }
    Ok(path.to_owned())
}

/// `^[a-z]{2}(-[a-z]{2})?$`, case-insensitive: the shape of a locale code.
pub(crate) fn is_locale_shaped(s: &str) -> bool {
    let letters = |p: &str| p.len() == 2 && p.bytes().all(|b| b.is_ascii_alphabetic());
    match s.split_once('-') {
        None => letters(s),
        Some((language, region)) => letters(language) && letters(region),
    }
}

/// A locale code, lower-cased (`en`, `pt-br`), or `pages.argument_invalid`
/// (6101) naming the argument `locale`.
pub fn parse_locale(input: &str) -> Result<String, Error> {
    if is_locale_shaped(input) {
        Ok(input.to_ascii_lowercase())
    } else {
        Err(pages::argument_invalid(
            "locale",
            "a locale is two letters, optionally followed by a hyphen and two more, such as \"en\" or \"pt-br\"",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule(input: &str) -> String {
        let err = parse_path(input).expect_err("the path is refused");
        assert_eq!(err.code(), 6005);
        let detail = |key: &str| {
            err.details()
                .iter()
                .find(|(k, _)| *k == key)
                .and_then(|(_, v)| v.as_str())
                .map(str::to_owned)
        };
        assert!(detail("reason").is_some(), "every refusal has a reason");
        detail("rule").unwrap_or_default()
    }

    fn reason(input: &str) -> String {
        let err = parse_path(input).expect_err("the path is refused");
        err.details()
            .iter()
            .find(|(k, _)| *k == "reason")
            .and_then(|(_, v)| v.as_str())
            .map(str::to_owned)
            .unwrap_or_default()
    }

    #[test]
    fn one_slash_is_stripped_at_each_end() {
        assert_eq!(parse_path("docs/intro").ok().as_deref(), Some("docs/intro"));
        assert_eq!(
            parse_path("/docs/intro/").ok().as_deref(),
            Some("docs/intro")
        );
        assert_eq!(
            parse_path("/Docs/Ünïcode_-~!").ok().as_deref(),
            Some("Docs/Ünïcode_-~!")
        );
    }

    #[test]
    fn wikijs_characters_are_refused_in_wikijs_order() {
        assert_eq!(rule("docs/a.md"), "no-dot");
        assert_eq!(rule("docs/a b"), "no-whitespace");
        assert_eq!(rule("docs/a\u{3000}b"), "no-whitespace");
        assert_eq!(rule("docs\\a"), "no-backslash");
        assert_eq!(rule("docs//a"), "no-double-slash");
        assert_eq!(rule("//docs"), "no-double-slash");
        assert_eq!(rule("docs//"), "no-double-slash");
        assert_eq!(rule("a b.c"), "no-dot", "the dot is checked first");
        assert_eq!(rule("a\\b c"), "no-whitespace");
    }

    #[test]
    fn characters_wikijs_would_strip_are_refused() {
        for c in [
            '"', '|', '<', '>', ':', '*', '?', '#', '%', '\u{0}', '\u{1f}', '\u{7f}', '\u{85}',
            '\u{9f}',
        ] {
            let path = format!("docs/a{c}b");
            assert_eq!(
                rule(&path),
                if c == '\u{85}' {
                    "no-whitespace"
                } else {
                    "unsafe-character"
                },
                "{path:?}"
            );
        }
        assert_eq!(reason("docs/a?b"), "the path contains \"?\"");
        assert_eq!(reason("docs/a\u{1}b"), "the path contains U+0001");
    }

    #[test]
    fn invisible_characters_are_refused_and_paths_are_nfc() {
        for c in [
            '\u{200B}', '\u{200D}', '\u{200F}', '\u{202E}', '\u{2066}', '\u{FEFF}', '\u{AD}',
        ] {
            assert_eq!(rule(&format!("docs/a{c}b")), "invisible-character", "{c:?}");
        }
        assert_eq!(reason("docs/a\u{200B}b"), "the path contains U+200B");
        assert_eq!(
            parse_path("cafe\u{301}/menu").ok().as_deref(),
            Some("caf\u{e9}/menu")
        );
    }

    #[test]
    fn empty_paths_are_refused() {
        assert_eq!(rule(""), "empty");
        assert_eq!(rule("/"), "empty");
    }

    #[test]
    fn paths_are_at_most_255_characters() {
        let longest = format!("abc/{}", "é".repeat(MAX_PATH - 4));
        assert_eq!(parse_path(&longest).ok(), Some(longest.clone()));
        assert_eq!(rule(&format!("{longest}x")), "too-long");
        assert_eq!(
            parse_path(&format!("/{longest}/")).ok(),
            Some(longest),
            "the slashes stripped do not count"
        );
    }

    #[test]
    fn the_first_segment_is_not_reserved() {
        assert_eq!(rule("a/intro"), "one-character-segment");
        assert_eq!(rule("/é"), "one-character-segment");
        assert_eq!(rule("en/intro"), "locale-segment");
        assert_eq!(rule("PT-br/intro"), "locale-segment");
        assert_eq!(
            rule("js"),
            "locale-segment",
            "two letters are a locale's shape first"
        );
        for word in [
            "login", "LOGOUT", "register", "verify", "favicons", "fonts", "img", "svg",
        ] {
            assert_eq!(rule(&format!("{word}/x")), "reserved-segment", "{word}");
        }
        for word in [
            "graphql", "errors", "OAuth", "healthz", "readyz", "metrics", "assets", "uploads",
        ] {
            assert_eq!(rule(&format!("/{word}")), "reserved-segment", "{word}");
        }
        assert_eq!(reason("login/x"), "the first segment \"login\" is reserved");
        assert!(
            parse_path("docs/login").is_ok(),
            "only the first segment is checked"
        );
        assert!(parse_path("eng/intro").is_ok());
        assert!(parse_path("en-gb-x/intro").is_ok());
        assert!(parse_path("loginx").is_ok());
    }

    #[test]
    fn locales_are_lower_cased() {
        assert_eq!(parse_locale("en").ok().as_deref(), Some("en"));
        assert_eq!(parse_locale("pt-BR").ok().as_deref(), Some("pt-br"));
        for bad in [
            "", "e", "eng", "en_gb", "en-", "-gb", "é1", "en-gb-x", " en",
        ] {
            let err = parse_locale(bad).expect_err("not a locale");
            assert_eq!(err.code(), 6101, "{bad:?}");
            assert!(err.message().contains("`locale`"), "{}", err.message());
        }
    }

    proptest! {
        #[test]
        fn accepted_paths_are_stable_and_safe(input in "/?[a-zA-Zé0-9/._ \\\\:%#?\"|<>*\u{0}-\u{1f}-]{0,300}/?") {
            if let Ok(path) = parse_path(&input) {
                prop_assert_eq!(parse_path(&path).ok(), Some(path.clone()));
                prop_assert!(path.chars().count() <= MAX_PATH);
                let refused = |c: char| {
                    c.is_control() || c.is_whitespace() || c == '.' || c == '\\' || UNSAFE.contains(&c)
                };
                prop_assert!(!path.chars().any(refused));
                prop_assert!(!path.contains("//") && !path.starts_with('/') && !path.ends_with('/'));
            }
        }

        #[test]
        fn any_text_is_parsed_without_panicking(input in any::<String>()) {
            if let Ok(path) = parse_path(&input) {
                prop_assert_eq!(parse_path(&path).ok(), Some(path));
            }
        }
    }
}
