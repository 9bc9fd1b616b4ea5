//! Limits on a GraphQL document, checked before it is validated or run:
//! tokens (while lexing, before parsing), depth, aliases, directives and
//! cost. Defaults follow graphql-armor's.
//!
//! A fragment counts at every place it is spread, as many times as it is
//! spread there. Each is measured once and memoised, so a document that
//! spreads fragments into each other many times cannot make the check
//! itself slow; cycles (a validation error) count as nothing here.

use std::collections::HashMap;

use errata_catalog::Error;
use errata_errors::graphql as errors;
use serde::Deserialize;

use crate::syntax::ast::{Definition, Document, FragmentDefinition, Selection, SelectionSet};

/// The limits a document must stay within.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Limits {
    /// Lexical tokens in the document (graphql-armor: 1000).
    pub max_tokens: usize,
    /// Nesting of fields (graphql-armor: 6).
    pub max_depth: usize,
    /// Aliased fields (graphql-armor: 15).
    pub max_aliases: usize,
    /// Directive uses (graphql-armor: 50).
    pub max_directives: usize,
    /// Fields selected, fragments expanded (graphql-armor: 5000).
    pub max_cost: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_tokens: 1000,
            max_depth: 6,
            max_aliases: 15,
            max_directives: 50,
            max_cost: 5000,
        }
    }
}

impl Limits {
    /// Fails when the document has more tokens than allowed. Stops counting
    /// at the limit, so a huge document costs no more than a small one.
    /// What it counted tells how much a parse of the document will hold.
    pub fn check_tokens(&self, source: &str) -> Result<Lexed, Error> {
        let lexed = lex(source, self.max_tokens.saturating_add(1));
        if lexed.tokens > self.max_tokens {
            return Err(errors::token_limit(self.max_tokens).with_detail("limit", self.max_tokens));
        }
        Ok(lexed)
    }

    /// Fails when a parsed document exceeds a structural limit.
    ///
    /// Everything is counted where it runs: a fragment's aliases,
    /// directives, fields and depth count at each place it is spread, as
    /// graphql-armor counts them, so that spreading a fragment cannot
    /// multiply what the limits see once.
    pub fn check_document(&self, doc: &Document) -> Result<(), Error> {
        let fragments = doc.fragments();
        let mut measure = Measure {
            fragments: &fragments,
            memo: HashMap::new(),
        };
        let mut total = Shape::default();
        for definition in &doc.definitions {
            if let Definition::Operation(op) = definition {
                let mut shape = measure.selection_set(&op.selection_set);
                shape.directives = shape
                    .directives
                    .saturating_add(op.directives.len())
                    .saturating_add(op.variables.iter().map(|v| v.directives.len()).sum());
                total = total.beside(shape);
            }
        }
        if total.depth > self.max_depth {
            return Err(errors::depth_limit(self.max_depth, total.depth)
                .with_detail("limit", self.max_depth));
        }
        if total.aliases > self.max_aliases {
            return Err(errors::alias_limit(self.max_aliases, total.aliases)
                .with_detail("limit", self.max_aliases));
        }
        if total.directives > self.max_directives {
            return Err(
                errors::directive_limit(self.max_directives, total.directives)
                    .with_detail("limit", self.max_directives),
            );
        }
        if total.cost > self.max_cost {
            return Err(
                errors::cost_limit(self.max_cost, total.cost).with_detail("limit", self.max_cost)
            );
        }
        Ok(())
    }
}

/// What a selection set adds up to once its fragments are expanded. Counts
/// saturate: a fan-out of fragments can describe more than `usize` holds.
#[derive(Clone, Copy, Default)]
struct Shape {
    depth: usize,
    cost: usize,
    aliases: usize,
    directives: usize,
}

impl Shape {
    /// Two selections side by side: the deeper depth, the sum of the rest.
    fn beside(self, other: Shape) -> Shape {
        Shape {
            depth: self.depth.max(other.depth),
            cost: self.cost.saturating_add(other.cost),
            aliases: self.aliases.saturating_add(other.aliases),
            directives: self.directives.saturating_add(other.directives),
        }
    }
}

struct Measure<'a> {
    fragments: &'a HashMap<&'a str, &'a FragmentDefinition>,
    /// `None` while a fragment is being measured, to cut cycles.
    memo: HashMap<&'a str, Option<Shape>>,
}

impl<'a> Measure<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet) -> Shape {
        let mut shape = Shape::default();
        for item in &set.items {
            let inner = match item {
                Selection::Field(field) => {
                    let below = field
                        .selection_set
                        .as_ref()
                        .map_or(Shape::default(), |s| self.selection_set(s));
                    let written = Shape {
                        aliases: usize::from(field.alias.is_some()),
                        directives: field.directives.len(),
                        ..Shape::default()
                    };
                    // Introspection is exempt from depth and cost, as
                    // graphql-armor has it by default; not from aliases.
                    if field.name.value.starts_with("__") {
                        Shape {
                            depth: 0,
                            cost: 0,
                            ..below.beside(written)
                        }
                    } else {
                        Shape {
                            depth: below.depth + 1,
                            cost: below.cost.saturating_add(1),
                            ..below.beside(written)
                        }
                    }
                }
                Selection::InlineFragment(fragment) => {
                    let mut inner = self.selection_set(&fragment.selection_set);
                    inner.directives = inner.directives.saturating_add(fragment.directives.len());
                    inner
                }
                Selection::FragmentSpread(spread) => {
                    let mut inner = self.fragment(&spread.name.value);
                    inner.directives = inner.directives.saturating_add(spread.directives.len());
                    inner
                }
            };
            shape = shape.beside(inner);
        }
        shape
    }

    fn fragment(&mut self, name: &'a str) -> Shape {
        match self.memo.get(name) {
            Some(Some(shape)) => return *shape,
            Some(None) => return Shape::default(),
            None => {}
        }
        let Some(definition) = self.fragments.get(name).copied() else {
            return Shape::default();
        };
        self.memo.insert(name, None);
        let mut shape = self.selection_set(&definition.selection_set);
        shape.directives = shape.directives.saturating_add(definition.directives.len());
        self.memo.insert(name, Some(shape));
        shape
    }
}

/// Counts GraphQL lexical tokens as graphql-js's lexer does (punctuators,
/// names, numbers, strings; not whitespace, commas or comments), stopping
/// once `stop_at` is reached.
pub fn count_tokens(source: &str, stop_at: usize) -> usize {
    lex(source, stop_at).tokens
}

/// A document's tokens, as [`count_tokens`] counts them, and the bytes
/// they span: a parsed document holds a node per token and a copy of
/// every name and string, but nothing of its comments and spacing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lexed {
    /// Lexical tokens.
    pub tokens: usize,
    /// Bytes inside them.
    pub bytes: usize,
}

fn lex(source: &str, stop_at: usize) -> Lexed {
    let bytes = source.as_bytes();
    let mut i = 0;
    let mut tokens = 0;
    let mut spanned = 0;
    while i < bytes.len() && tokens < stop_at {
        let (start, counted) = (i, tokens);
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            0xEF if bytes[i..].starts_with(&[0xEF, 0xBB, 0xBF]) => i += 3,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'.' if bytes[i..].starts_with(b"...") => {
                tokens += 1;
                i += 3;
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                tokens += 1;
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 3;
            }
            b'"' => {
                tokens += 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                tokens += 1;
                while i < bytes.len()
                    && matches!(bytes[i], b'_' | b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9')
                {
                    i += 1;
                }
            }
            b'-' | b'0'..=b'9' => {
                tokens += 1;
                i += 1;
                while i < bytes.len()
                    && matches!(bytes[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                {
                    i += 1;
                }
            }
            _ => {
                tokens += 1;
                i += source[i..].chars().next().map_or(1, char::len_utf8);
            }
        }
        if tokens > counted {
            spanned += i.min(bytes.len()) - start;
        }
    }
    Lexed {
        tokens,
        bytes: spanned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse as parse_query;
    use proptest::prelude::*;

    fn check(limits: Limits, query: &str) -> Result<(), &'static str> {
        limits.check_tokens(query).map_err(|e| e.slug())?;
        let doc = parse_query(query).unwrap();
        limits.check_document(&doc).map_err(|e| e.slug())
    }

    #[test]
    fn tokens_are_counted_like_graphql_js() {
        assert_eq!(count_tokens("{ a }", 100), 3);
        assert_eq!(
            count_tokens(
                "query Q($x: Int = -1.5e3) { a(b: \"s\\\"t\", c: \"\"\"x\"\"\") ...F } # c",
                100
            ),
            23
        );
        assert_eq!(count_tokens("{ a }", 2), 2, "counting stops at the limit");
        assert_eq!(
            lex("# a comment\n{ name(x: \"str\") }, # more", 100),
            Lexed {
                tokens: 8,
                bytes: 1 + 4 + 1 + 1 + 1 + 5 + 1 + 1
            },
            "comments, spaces and commas span nothing"
        );
    }

    #[test]
    fn each_limit_has_its_own_error_and_names_the_limit() {
        let deep = "{ a { b { c { d { e { f { g } } } } } } }";
        assert_eq!(check(Limits::default(), deep), Err("GraphqlDepthLimit"));
        assert_eq!(
            check(Limits::default(), "{ a { b { c { d { e { f } } } } } }"),
            Ok(())
        );
        let aliases: String = (0..16).map(|i| format!("a{i}: a ")).collect();
        assert_eq!(
            check(Limits::default(), &format!("{{ {aliases} }}")),
            Err("GraphqlAliasLimit")
        );
        let directives = "{ a @skip(if: false) @skip(if: false) @skip(if: false) }";
        assert_eq!(
            check(
                Limits {
                    max_directives: 2,
                    ..Limits::default()
                },
                directives
            ),
            Err("GraphqlDirectiveLimit")
        );
        assert_eq!(
            check(
                Limits {
                    max_cost: 2,
                    ..Limits::default()
                },
                "{ a b c }"
            ),
            Err("GraphqlCostLimit")
        );
        assert_eq!(
            check(
                Limits {
                    max_tokens: 4,
                    ..Limits::default()
                },
                "{ a b c }"
            ),
            Err("GraphqlTokenLimit")
        );
        let err = Limits::default()
            .check_document(&parse_query(deep).unwrap())
            .unwrap_err();
        assert_eq!(err.details(), &[("limit", serde_json::json!(6))]);
        assert_eq!(err.message(), "Query depth limit of 6 exceeded, found 7.");
    }

    #[test]
    fn fragments_count_where_they_are_spread_and_introspection_is_exempt() {
        let q = "{ a { ...F } } fragment F on T { b { c { d { e { f { g } } } } } }";
        assert_eq!(check(Limits::default(), q), Err("GraphqlDepthLimit"));
        let introspection =
            "{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }";
        assert_eq!(check(Limits::default(), introspection), Ok(()));
    }

    #[test]
    fn fragment_fan_out_is_measured_without_blowing_up() {
        let mut q = String::from("{ ...F0 }\n");
        for i in 0..30 {
            q.push_str(&format!(
                "fragment F{i} on T {{ a: x {{ ...F{} }} b: x {{ ...F{} }} }}\n",
                i + 1,
                i + 1
            ));
        }
        q.push_str("fragment F30 on T { y }\n");
        let limits = Limits {
            max_tokens: 100_000,
            max_depth: 100,
            max_aliases: usize::MAX,
            ..Limits::default()
        };
        assert_eq!(check(limits, &q), Err("GraphqlCostLimit"));
        let err = Limits {
            max_aliases: 100,
            ..limits
        }
        .check_document(&parse_query(&q).unwrap())
        .unwrap_err();
        assert_eq!(
            err.message(),
            format!("Aliases limit of 100 exceeded, found {}.", (1u64 << 31) - 2),
            "each level doubles the aliases below it"
        );
    }

    fn found(limits: Limits, query: &str) -> String {
        match limits.check_document(&parse_query(query).unwrap()) {
            Ok(()) => "ok".to_owned(),
            Err(e) => e.message().into_owned(),
        }
    }

    #[test]
    fn aliases_and_directives_count_at_each_spread() {
        let strict = Limits {
            max_aliases: 2,
            max_directives: 2,
            ..Limits::default()
        };
        let once = "{ ...F } fragment F on T { a: x b: x }";
        assert_eq!(found(strict, once), "ok");
        let twice = "{ ...F p: y { ...F } } fragment F on T { a: x b: x }";
        assert_eq!(
            found(strict, twice),
            "Aliases limit of 2 exceeded, found 5."
        );
        let nested = "{ ...G } fragment G on T { ...F ...F } fragment F on T { a: x }";
        assert_eq!(found(strict, nested), "ok");
        let deeper = "{ ...H } fragment H on T { ...G ...G } fragment G on T { ...F ...F } fragment F on T { a: x }";
        assert_eq!(
            found(strict, deeper),
            "Aliases limit of 2 exceeded, found 4."
        );
        let inline = "{ ... on T { ...F } ... { ...F } } fragment F on T { a: x }";
        assert_eq!(found(strict, inline), "ok");
        let three = "{ ... on T { ...F } ... { ...F } q: y } fragment F on T { a: x }";
        assert_eq!(
            found(strict, three),
            "Aliases limit of 2 exceeded, found 3."
        );
        let directives = "{ ...F @skip(if: false) ...F } fragment F on T @include(if: true) { x }";
        assert_eq!(
            found(strict, directives),
            "Directives limit of 2 exceeded, found 3."
        );
        let introspection = "{ a: __typename b: __typename c: __typename }";
        assert_eq!(
            found(strict, introspection),
            "Aliases limit of 2 exceeded, found 3."
        );
    }

    #[test]
    fn fragment_cycles_terminate() {
        let q = "{ ...A } fragment A on T { x { ...B } } fragment B on T { y { ...A } }";
        assert_eq!(check(Limits::default(), q), Ok(()));
    }

    proptest! {
        #[test]
        fn token_counting_never_panics(s in ".{0,200}") {
            let _ = count_tokens(&s, 1000);
        }
    }
}
