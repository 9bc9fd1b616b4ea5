//! Message templates: text with named placeholders (`Page "{path}" does not
//! exist.`). `{{` and `}}` stand for literal braces.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::model::{List, Text};

/// A parsed message template.
///
/// Placeholders are numbered in order of first appearance, so a rendered
/// error only needs its arguments in that order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The template as written in the catalog.
    pub source: Text,
    /// The template cut into literal text and placeholders.
    pub segments: List<Segment>,
    /// Placeholder names, in order of first appearance, without repeats.
    pub placeholders: List<Text>,
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Literal text, with `{{`/`}}` already unescaped.
    Text(Text),
    /// The placeholder with this index in [`Template::placeholders`].
    Placeholder(usize),
}

/// A template syntax mistake, with its byte range inside the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// Byte range of the offending text, relative to the template.
    pub span: std::ops::Range<usize>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

impl Template {
    /// Parses a template.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let mut segments = Vec::new();
        let mut placeholders: Vec<Text> = Vec::new();
        let mut text = String::new();
        let bytes = source.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'{' if bytes.get(i + 1) == Some(&b'{') => {
                    text.push('{');
                    i += 2;
                }
                b'}' if bytes.get(i + 1) == Some(&b'}') => {
                    text.push('}');
                    i += 2;
                }
                b'{' => {
                    let close = source[i + 1..].find(['}', '{']).map(|off| i + 1 + off);
                    let Some(close) = close.filter(|&c| bytes[c] == b'}') else {
                        return Err(TemplateError {
                            span: i..i + 1,
                            message: "unclosed placeholder".into(),
                            help: "close it with `}`, or write `{{` for a literal brace".into(),
                        });
                    };
                    let name = &source[i + 1..close];
                    if let Err(why) = check_placeholder_name(name) {
                        return Err(TemplateError {
                            span: i..close + 1,
                            message: why,
                            help: "placeholder names are snake_case identifiers, like `{path}` or `{max_size}`".into(),
                        });
                    }
                    if !text.is_empty() {
                        segments.push(Segment::Text(Cow::Owned(std::mem::take(&mut text))));
                    }
                    let index = match placeholders.iter().position(|p| p == name) {
                        Some(index) => index,
                        None => {
                            placeholders.push(Cow::Owned(name.to_owned()));
                            placeholders.len() - 1
                        }
                    };
                    segments.push(Segment::Placeholder(index));
                    i = close + 1;
                }
                b'}' => {
                    return Err(TemplateError {
                        span: i..i + 1,
                        message: "unmatched `}`".into(),
                        help: "write `}}` for a literal brace".into(),
                    });
                }
                _ => {
                    let next = source[i..]
                        .find(['{', '}'])
                        .map_or(source.len(), |off| i + off);
                    text.push_str(&source[i..next]);
                    i = next;
                }
            }
        }
        if !text.is_empty() {
            segments.push(Segment::Text(Cow::Owned(text)));
        }
        Ok(Template {
            source: Cow::Owned(source.to_owned()),
            segments: Cow::Owned(segments),
            placeholders: Cow::Owned(placeholders),
        })
    }

    /// Parses a translation of `source`, numbering its placeholders as the
    /// source does. Fails when the two do not have the same placeholders.
    pub fn parse_translation(text: &str, source: &Template) -> Result<Template, TemplateError> {
        let own = Template::parse(text)?;
        let mut mine: Vec<&str> = own.placeholders.iter().map(|p| &**p).collect();
        let mut theirs: Vec<&str> = source.placeholders.iter().map(|p| &**p).collect();
        mine.sort_unstable();
        theirs.sort_unstable();
        if mine != theirs {
            return Err(TemplateError {
                span: 0..text.len(),
                message: format!(
                    "the translation has placeholders {} but its source message has {}",
                    list(&mine),
                    list(&theirs)
                ),
                help: "use exactly the placeholders of the source message".into(),
            });
        }
        let segments = own
            .segments
            .iter()
            .map(|segment| match segment {
                Segment::Text(t) => Segment::Text(t.clone()),
                Segment::Placeholder(i) => {
                    let name = &own.placeholders[*i];
                    let index = source
                        .placeholders
                        .iter()
                        .position(|p| p == name)
                        .expect("placeholder sets were compared above");
                    Segment::Placeholder(index)
                }
            })
            .collect();
        Ok(Template {
            source: own.source,
            segments: Cow::Owned(segments),
            placeholders: source.placeholders.clone(),
        })
    }

    /// True when the template has no placeholders, so rendering it borrows.
    pub fn is_static(&self) -> bool {
        self.placeholders.is_empty()
    }

    /// Renders the template with `args`, given in placeholder order.
    /// A missing argument renders as its `{name}`, which the typed API makes
    /// impossible and loaded catalogs only see in documentation.
    pub fn render<'a, A: std::fmt::Display>(&'a self, args: &[A]) -> Cow<'a, str> {
        match &*self.segments {
            [] => Cow::Borrowed(""),
            [Segment::Text(text)] => Cow::Borrowed(text),
            segments => {
                let mut out = String::with_capacity(self.source.len() + 16);
                for segment in segments {
                    match segment {
                        Segment::Text(text) => out.push_str(text),
                        Segment::Placeholder(i) => match args.get(*i) {
                            Some(arg) => {
                                let _ = write!(out, "{arg}");
                            }
                            None => {
                                let _ = write!(out, "{{{}}}", self.placeholders[*i]);
                            }
                        },
                    }
                }
                Cow::Owned(out)
            }
        }
    }
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        return "none".into();
    }
    names
        .iter()
        .map(|n| format!("`{{{n}}}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks that `name` can name a placeholder (and so a Rust parameter).
pub fn check_placeholder_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty placeholder `{}`".into());
    }
    if !is_snake_case(name) {
        return Err(format!("`{{{name}}}` is not a valid placeholder name"));
    }
    Ok(())
}

/// `[a-z][a-z0-9_]*`: the shape of ids, domain names and placeholder names.
pub fn is_snake_case(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn placeholders_are_numbered_by_first_appearance() {
        let t = Template::parse("{b} then {a}, and {b} again").unwrap();
        assert_eq!(t.placeholders.as_ref(), ["b", "a"]);
        assert_eq!(t.render(&["B", "A"]), "B then A, and B again");
    }

    #[test]
    fn doubled_braces_are_literal() {
        let t = Template::parse("use {{x}} for {name}").unwrap();
        assert_eq!(t.placeholders.as_ref(), ["name"]);
        assert_eq!(t.render(&["it"]), "use {x} for it");
    }

    #[test]
    fn static_template_renders_borrowed() {
        let t = Template::parse("This page does not exist.").unwrap();
        assert!(t.is_static());
        assert!(matches!(t.render::<&str>(&[]), Cow::Borrowed(_)));
    }

    #[test]
    fn syntax_mistakes_are_located() {
        let e = Template::parse("Page {path does not exist").unwrap_err();
        assert_eq!(e.span, 5..6);
        let e = Template::parse("Page {Path}").unwrap_err();
        assert_eq!(e.span, 5..11);
        let e = Template::parse("a } b").unwrap_err();
        assert_eq!(e.span, 2..3);
        let e = Template::parse("a {} b").unwrap_err();
        assert!(e.message.contains("empty"));
        let e = Template::parse("a {x{y}").unwrap_err();
        assert_eq!(e.span, 2..3);
    }

    #[test]
    fn translations_must_keep_the_placeholders() {
        let source = Template::parse("Page {path} of {user}").unwrap();
        let fr = Template::parse_translation("{user} : page {path}", &source).unwrap();
        assert_eq!(fr.render(&["/home", "ann"]), "ann : page /home");
        let err = Template::parse_translation("page {chemin}", &source).unwrap_err();
        assert!(err.message.contains("`{chemin}`"), "{}", err.message);
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in ".{0,64}") {
            let _ = Template::parse(&s);
        }

        #[test]
        fn text_without_braces_renders_itself(s in "[^{}]{0,64}") {
            let t = Template::parse(&s).unwrap();
            prop_assert_eq!(t.render::<&str>(&[]), s);
        }

        #[test]
        fn escaped_text_round_trips(s in ".{0,64}") {
            let escaped = s.replace('{', "{{").replace('}', "}}");
            let t = Template::parse(&escaped).unwrap();
            prop_assert!(t.is_static());
            prop_assert_eq!(t.render::<&str>(&[]), s);
        }
    }
}
