//! Limits on a GraphQL document, checked before it is validated or run:
//! tokens (while lexing, before parsing), depth, aliases, directives and
//! cost. Defaults follow graphql-armor's.
//!
//! Fragments are measured once each and memoised, so a document that spreads
//! fragments into each other many times cannot make the check itself slow;
//! cycles (a validation error) count as nothing here.

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
    pub fn check_tokens(&self, source: &str) -> Result<(), Error> {
        if count_tokens(source, self.max_tokens + 1) > self.max_tokens {
            return Err(errors::token_limit(self.max_tokens).with_detail("limit", self.max_tokens));
        }
        Ok(())
    }

    /// Fails when a parsed document exceeds a structural limit.
    pub fn check_document(&self, doc: &Document) -> Result<(), Error> {
        let fragments = doc.fragments();
        let mut measure = Measure {
            fragments: &fragments,
            memo: HashMap::new(),
        };
        let mut depth = 0;
        let mut cost = 0usize;
        let mut aliases = 0;
        let mut directives = 0;
        for definition in &doc.definitions {
            match definition {
                Definition::Operation(op) => {
                    let shape = measure.selection_set(&op.selection_set);
                    depth = depth.max(shape.depth);
                    cost = cost.saturating_add(shape.cost);
                    directives += op.directives.len();
                    directives += op
                        .variables
                        .iter()
                        .map(|v| v.directives.len())
                        .sum::<usize>();
                    let (a, d) = count_set(&op.selection_set);
                    aliases += a;
                    directives += d;
                }
                Definition::Fragment(f) => {
                    let (a, d) = count_set(&f.selection_set);
                    aliases += a;
                    directives += d + f.directives.len();
                }
                Definition::TypeSystem(_) => {}
            }
        }
        if depth > self.max_depth {
            return Err(
                errors::depth_limit(self.max_depth, depth).with_detail("limit", self.max_depth)
            );
        }
        if aliases > self.max_aliases {
            return Err(errors::alias_limit(self.max_aliases, aliases)
                .with_detail("limit", self.max_aliases));
        }
        if directives > self.max_directives {
            return Err(errors::directive_limit(self.max_directives, directives)
                .with_detail("limit", self.max_directives));
        }
        if cost > self.max_cost {
            return Err(errors::cost_limit(self.max_cost, cost).with_detail("limit", self.max_cost));
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Default)]
struct Shape {
    depth: usize,
    cost: usize,
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
                    // Introspection is exempt, as graphql-armor does by default.
                    if field.name.value.starts_with("__") {
                        continue;
                    }
                    let below = field
                        .selection_set
                        .as_ref()
                        .map_or(Shape::default(), |s| self.selection_set(s));
                    Shape {
                        depth: below.depth + 1,
                        cost: below.cost.saturating_add(1),
                    }
                }
                Selection::InlineFragment(fragment) => self.selection_set(&fragment.selection_set),
                Selection::FragmentSpread(spread) => self.fragment(&spread.name.value),
            };
            shape.depth = shape.depth.max(inner.depth);
            shape.cost = shape.cost.saturating_add(inner.cost);
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
        let shape = self.selection_set(&definition.selection_set);
        self.memo.insert(name, Some(shape));
        shape
    }
}

/// Aliases and directives written in a selection set, without expanding
/// fragment spreads (each fragment definition is counted once).
fn count_set(set: &SelectionSet) -> (usize, usize) {
    let mut aliases = 0;
    let mut directives = 0;
    for item in &set.items {
        match item {
            Selection::Field(field) => {
                aliases += usize::from(field.alias.is_some());
                directives += field.directives.len();
                if let Some(s) = &field.selection_set {
                    let (a, d) = count_set(s);
                    aliases += a;
                    directives += d;
                }
            }
            Selection::InlineFragment(fragment) => {
                directives += fragment.directives.len();
                let (a, d) = count_set(&fragment.selection_set);
                aliases += a;
                directives += d;
            }
            Selection::FragmentSpread(spread) => directives += spread.directives.len(),
        }
    }
    (aliases, directives)
}

/// Counts GraphQL lexical tokens as graphql-js's lexer does (punctuators,
/// names, numbers, strings; not whitespace, commas or comments), stopping
/// once `stop_at` is reached.
pub fn count_tokens(source: &str, stop_at: usize) -> usize {
    let bytes = source.as_bytes();
    let mut i = 0;
    let mut tokens = 0;
    while i < bytes.len() && tokens < stop_at {
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
    }
    tokens
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
            max_aliases: 100,
            ..Limits::default()
        };
        assert_eq!(check(limits, &q), Err("GraphqlCostLimit"));
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
