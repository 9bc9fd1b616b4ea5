//! The table of contents and the links of sanitized HTML.

use std::collections::HashSet;
use std::iter::Peekable;

use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use super::Link;
use super::scan::{Token, decode, tokens};
use crate::path::{is_locale_shaped, parse_path};

/// The table of contents as JSON text, and the links to pages.
pub(super) fn read(html: &str, locale: &str) -> (String, Vec<Link>) {
    let mut headings = Vec::new();
    let mut open: Option<Heading> = None;
    let mut links = Vec::new();
    let mut seen = HashSet::new();
    for (token, _) in tokens(html) {
        match token {
            Token::Open { name, attributes } => {
                if let Some(level) = heading_level(name) {
                    open = Some(Heading {
                        level,
                        title: String::new(),
                        anchor: attribute(&attributes, "id").map(|id| format!("#{}", decode(id))),
                    });
                } else if name == "a"
                    && let Some(link) =
                        attribute(&attributes, "href").and_then(|h| link(&decode(h), locale))
                    && seen.insert(link.clone())
                {
                    links.push(link);
                }
            }
            Token::Text(text) => {
                if let Some(heading) = &mut open {
                    heading.title.push_str(&decode(text));
                }
            }
            Token::Close(name) => {
                if heading_level(name).is_some()
                    && let Some(heading) = open.take()
                {
                    headings.push(heading);
                }
            }
        }
    }
    // A heading without an id has nothing for the contents to point at.
    let mut anchored = headings
        .into_iter()
        .filter(|h| h.anchor.is_some())
        .peekable();
    let toc = Value::Array(nest(&mut anchored, 0)).to_string();
    (toc, links)
}

struct Heading {
    level: u8,
    title: String,
    anchor: Option<String>,
}

fn heading_level(name: &str) -> Option<u8> {
    match name {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

/// The headings deeper than `parent` that follow, each with the deeper
/// ones after it as its children. Levels only grow down the recursion, so
/// it is at most six calls deep.
fn nest(headings: &mut Peekable<impl Iterator<Item = Heading>>, parent: u8) -> Vec<Value> {
    let mut entries = Vec::new();
    while let Some(heading) = headings.next_if(|h| h.level > parent) {
        let children = nest(headings, heading.level);
        entries.push(json!({
            "title": heading.title.trim(),
            "anchor": heading.anchor.unwrap_or_default(),
            "children": children,
        }));
    }
    entries
}

/// The page an `href` names, if it names one: an absolute or relative path
/// without a scheme, host or bare fragment, its query and fragment
/// dropped; a first segment shaped like a locale is the link's locale.
fn link(href: &str, locale: &str) -> Option<Link> {
    if href.starts_with('#') || href.starts_with("//") {
        return None;
    }
    let path = href.split(['?', '#']).next().unwrap_or_default();
    if path
        .split('/')
        .next()
        .is_some_and(|first| first.contains(':'))
    {
        return None;
    }
    // The Markdown writer percent-encodes what is not ASCII.
    let path = percent_decode_str(path).decode_utf8().ok()?;
    let relative = path.strip_prefix('/').unwrap_or(&path);
    let (first, rest) = relative.split_once('/').unwrap_or((relative, ""));
    let (locale, path) = if is_locale_shaped(first) {
        (first.to_ascii_lowercase(), rest)
    } else {
        (locale.to_owned(), relative)
    };
    let path = parse_path(path).ok()?;
    Some(Link { locale, path })
}

fn attribute<'a>(attributes: &[(&str, &'a str)], name: &str) -> Option<&'a str> {
    attributes.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}
