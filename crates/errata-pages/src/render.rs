//! A page's content rendered once, when it is written: the HTML readers
//! get, its table of contents and the pages it links to.
//!
//! Every editor's output crosses the same sanitizer, and the table of
//! contents and links are read from what it let through, so that they
//! never name an anchor or a page the reader cannot see.

mod outline;
mod scan;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use errata_catalog::Error;

use ammonia::{Builder, UrlRelative};
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use scan::Token;

/// The editor a page is written with, by Wiki.js 2.5's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Editor {
    /// CommonMark with GitHub's tables, task lists, strikethrough and
    /// footnotes.
    Markdown,
    /// Source code, shown as it is.
    Code,
    /// HTML, as CKEditor writes it.
    Ckeditor,
}

impl Editor {
    /// The editor named `name` (`markdown`, `code`, `ckeditor`).
    pub fn parse(name: &str) -> Option<Editor> {
        match name {
            "markdown" => Some(Editor::Markdown),
            "code" => Some(Editor::Code),
            "ckeditor" => Some(Editor::Ckeditor),
            _ => None,
        }
    }

    /// Its name, as `parse` reads it.
    pub fn name(self) -> &'static str {
        match self {
            Editor::Markdown => "markdown",
            Editor::Code => "code",
            Editor::Ckeditor => "ckeditor",
        }
    }

    /// The page's `contentType`, as Wiki.js reports it.
    pub fn content_type(self) -> &'static str {
        match self {
            Editor::Markdown => "markdown",
            Editor::Code | Editor::Ckeditor => "html",
        }
    }
}

/// A page as readers get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Sanitized HTML.
    pub html: String,
    /// The table of contents in Wiki.js 2.5's shape, as JSON text:
    /// `[{"title":"Intro","anchor":"#intro","children":[...]}]`.
    pub toc: String,
    /// The pages this one links to, in document order, each once.
    pub links: Vec<Link>,
}

/// A link to a page.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Link {
    /// The locale the link names (`/fr/docs/a`), else the linking page's.
    pub locale: String,
    /// The path, as `parse_path` stores it.
    pub path: String,
}

/// Renders `content`, written with `editor`, for a page in `locale` (the
/// locale of links that name none).
pub fn render(editor: Editor, content: &str, locale: &str) -> Result<Rendered, Error> {
    let html = match editor {
        Editor::Markdown => Cow::Owned(markdown_html(content)),
        Editor::Code => Cow::Owned(code_html(content)),
        Editor::Ckeditor => Cow::Borrowed(content),
    };
    let html = sanitize(&html)?;
    let (toc, links) = outline::read(&html, locale);
    Ok(Rendered { html, toc, links })
}

/// The deepest nesting of elements a page may have. html5ever, under
/// ammonia, takes time quadratic in the depth of the elements it holds
/// open (a quarter of a megabyte of nested `<div>` took 28 s), so deeper
/// content is refused before it is parsed.
pub const MAX_DEPTH: usize = 256;

/// `html` sanitized, unless its elements nest deeper than [`MAX_DEPTH`].
fn sanitize(html: &str) -> Result<String, Error> {
    if nests_deeper_than(html, MAX_DEPTH) {
        return Err(errata_errors::pages::argument_invalid(
            "content",
            format!("its elements nest deeper than {MAX_DEPTH} levels"),
        ));
    }
    Ok(SANITIZER.clean(html).to_string())
}

/// Whether the elements of untrusted `html` may nest deeper than `limit`.
/// It errs towards yes: every start tag of a non-void element opens one
/// (html5ever closes some by itself; here only a `p`, `li`, `dt`, `dd`,
/// `tr`, `td`, `th` or `option` right inside its own kind is closed), and an
/// end tag closes only an element of its name that is open, as html5ever
/// ignores the others.
///
/// html5ever also opens elements no tag opens: a formatting element
/// (`<b>`, `<font>`, ...) closed by the end of an element around it stays
/// in its list of active formatting elements, and is opened again before
/// the next text or element. `<div>` with 200 `<font>`s, `</div>`, a
/// letter, repeated, nests 200 deeper each time. Such elements are counted
/// until their own end tag removes them, at most three alike, as the
/// parser keeps them (its "Noah's Ark" clause).
fn nests_deeper_than(html: &str, limit: usize) -> bool {
    const SELF_ENDING: [&str; 8] = ["p", "li", "dt", "dd", "tr", "td", "th", "option"];
    const FORMATTING: [&str; 14] = [
        "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt",
        "u",
    ];
    let bytes = html.as_bytes();
    // Each open element: its name, and its tag's text when it is a
    // formatting element (what the parser compares to keep three alike).
    let mut open: Vec<(String, Option<String>)> = Vec::new();
    // Formatting elements closed by another's end tag, that the parser may
    // open again: their names and tags' text.
    let mut reopened: Vec<(String, String)> = Vec::new();
    let mut at = 0;
    while let Some(found) = html[at..].find('<') {
        let start = at + found + 1;
        let closing = bytes.get(start) == Some(&b'/');
        let name_start = start + usize::from(closing);
        let name_len = bytes[name_start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        at = name_start + name_len;
        if name_len == 0 || !bytes[name_start].is_ascii_alphabetic() {
            continue;
        }
        let name = html[name_start..at].to_ascii_lowercase();
        if closing {
            if let Some(position) = open.iter().rposition(|(n, _)| *n == name) {
                for (closed, tag) in open.drain(position..).skip(1) {
                    if let Some(tag) = tag {
                        if reopened.iter().filter(|(_, t)| *t == tag).count() == 3
                            && let Some(first) = reopened.iter().position(|(_, t)| *t == tag)
                        {
                            reopened.remove(first);
                        }
                        reopened.push((closed, tag));
                    }
                }
            } else if let Some(position) = reopened.iter().rposition(|(n, _)| *n == name) {
                // An end tag of a formatting element that is not open
                // takes it off the parser's list.
                reopened.remove(position);
            }
        } else if !scan::is_void(&name) {
            if SELF_ENDING.contains(&name.as_str()) && open.last().is_some_and(|(n, _)| *n == name)
            {
                open.pop();
            }
            // The tag's text up to its end (or the next tag: the scan
            // stays linear).
            let tag = FORMATTING.contains(&name.as_str()).then(|| {
                let end = html[at..].find(['>', '<']).map_or(html.len(), |e| at + e);
                format!("{name}{}", html[at..end].to_ascii_lowercase())
            });
            open.push((name, tag));
            if open.len() + reopened.len() > limit {
                return true;
            }
        }
    }
    false
}

/// Markdown for a page moving from an HTML editor to the Markdown one.
/// The HTML is sanitized first, as it would be for readers.
pub fn to_markdown(html: &str) -> Result<String, Error> {
    let html = unwrap_deep(&sanitize(html)?);
    let converter = htmd::HtmlToMarkdown::builder()
        .options(htmd::options::Options {
            bullet_list_marker: htmd::options::BulletListMarker::Dash,
            ul_bullet_spacing: 1,
            ol_number_spacing: 1,
            ..Default::default()
        })
        .build();
    // htmd 0.5 parses a `&str` in one call and never returns its `Err`.
    Ok(converter.convert(&html).unwrap_or_default())
}

/// The deepest nesting `to_markdown` hands to htmd, which recurses once
/// per level: a thousand nested elements overflow a 2 MiB stack.
const MAX_CONVERTED_DEPTH: usize = 64;

/// Sanitized `html` without the tags of the elements nested deeper than
/// [`MAX_CONVERTED_DEPTH`]; their content stays, one level up.
fn unwrap_deep(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    // For each open element, whether its tags are kept.
    let mut open: Vec<bool> = Vec::new();
    let mut depth = 0;
    for (token, raw) in scan::tokens(html) {
        let keep = match token {
            Token::Open { name, .. } if !scan::is_void(name) => {
                let keep = depth < MAX_CONVERTED_DEPTH;
                depth += usize::from(keep);
                open.push(keep);
                keep
            }
            Token::Close(_) => {
                let keep = open.pop().unwrap_or(false);
                depth -= usize::from(keep);
                keep
            }
            Token::Open { .. } | Token::Text(_) => true,
        };
        if keep {
            out.push_str(raw);
        }
    }
    out
}

/// Sanitized HTML for a page moving from the Markdown editor to an HTML one.
pub fn to_html(markdown: &str) -> Result<String, Error> {
    sanitize(&markdown_html(markdown))
}

const MARKDOWN: Options = Options::ENABLE_TABLES
    .union(Options::ENABLE_TASKLISTS)
    .union(Options::ENABLE_STRIKETHROUGH)
    .union(Options::ENABLE_FOOTNOTES);

/// CommonMark's HTML, each heading with an `id` made from its text.
fn markdown_html(markdown: &str) -> String {
    let mut events: Vec<Event<'_>> = Parser::new_ext(markdown, MARKDOWN).collect();
    // Footnote definitions carry their label as their id: a heading must
    // not take it.
    let mut anchors = Anchors::default();
    for event in &events {
        if let Event::Start(Tag::FootnoteDefinition(label)) = event {
            anchors.used.insert(label.to_string());
        }
    }
    let mut heading: Option<(usize, String)> = None;
    for i in 0..events.len() {
        match &events[i] {
            Event::Start(Tag::Heading { .. }) => heading = Some((i, String::new())),
            Event::Text(text) | Event::Code(text) => {
                if let Some((_, title)) = &mut heading {
                    title.push_str(text);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((start, title)) = heading.take() {
                    let anchor = anchors.unique(slug(&title));
                    if let Event::Start(Tag::Heading { id, .. }) = &mut events[start] {
                        *id = Some(anchor.into());
                    }
                }
            }
            _ => {}
        }
    }
    let mut html = String::with_capacity(markdown.len() + markdown.len() / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    html
}

/// The content escaped into `<pre><code>`, by the same writer as Markdown.
fn code_html(code: &str) -> String {
    let events = [
        Event::Start(Tag::CodeBlock(CodeBlockKind::Indented)),
        Event::Text(code.into()),
        Event::End(TagEnd::CodeBlock),
    ];
    let mut html = String::with_capacity(code.len() + 24);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    html
}

/// A heading's anchor: its letters and digits lower-cased, each run of
/// spaces, hyphens and underscores one hyphen, everything else dropped.
fn slug(title: &str) -> String {
    let mut slug = String::with_capacity(title.len());
    let mut gap = false;
    for c in title.chars() {
        if c.is_alphanumeric() {
            if gap && !slug.is_empty() {
                slug.push('-');
            }
            gap = false;
            slug.extend(c.to_lowercase());
        } else if c.is_whitespace() || c == '-' || c == '_' {
            gap = true;
        }
    }
    if slug.is_empty() {
        slug.push_str("heading");
    }
    slug
}

/// The anchors a page has given out.
#[derive(Default)]
struct Anchors {
    used: HashSet<String>,
    /// The next suffix to try for each slug, so that a page of a thousand
    /// identical headings costs a thousand tries, not half a million.
    next: HashMap<String, usize>,
}

impl Anchors {
    /// `slug`, or the first of `slug-1`, `slug-2`, ... not yet given out.
    fn unique(&mut self, slug: String) -> String {
        if self.used.insert(slug.clone()) {
            return slug;
        }
        let n = self.next.entry(slug.clone()).or_insert(1);
        loop {
            let anchor = format!("{slug}-{n}");
            *n += 1;
            if self.used.insert(anchor.clone()) {
                return anchor;
            }
        }
    }
}

static SANITIZER: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let mut builder = Builder::default();
    builder
        .add_tags(["input"])
        // Task-list checkboxes, and nothing else a form could use. Only
        // `type` is forced: ammonia adds forced attributes in a hash map's
        // order, and the same page must render to the same HTML.
        .add_tag_attributes("input", ["type", "disabled", "checked"])
        .set_tag_attribute_value("input", "type", "checkbox")
        .add_tag_attributes("div", ["id", "class"])
        .add_tag_attributes("sup", ["class"])
        .add_tag_attributes("code", ["class"])
        .add_tag_attributes("th", ["style"])
        .add_tag_attributes("td", ["style"])
        .filter_style_properties(["text-align"].into())
        .url_schemes(["http", "https", "mailto"].into())
        .url_relative(UrlRelative::PassThrough)
        .link_rel(Some("noopener noreferrer"))
        .attribute_filter(keep_classes);
    for heading in ["h1", "h2", "h3", "h4", "h5", "h6"] {
        builder.add_tag_attributes(heading, ["id"]);
    }
    builder
});

/// Keeps the classes the Markdown writer gives footnotes and code blocks,
/// and no other, so that a page cannot borrow the application's styles.
fn keep_classes<'u>(element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    if attribute != "class" {
        return Some(Cow::Borrowed(value));
    }
    let kept: Vec<&str> = value
        .split_ascii_whitespace()
        .filter(|class| match element {
            "div" => *class == "footnote-definition",
            "sup" => matches!(*class, "footnote-reference" | "footnote-definition-label"),
            "code" => class.strip_prefix("language-").is_some_and(|language| {
                !language.is_empty()
                    && language.chars().all(|c| {
                        c.is_ascii_alphanumeric() || matches!(c, '+' | '#' | '-' | '_' | '.')
                    })
            }),
            _ => false,
        })
        .collect();
    (!kept.is_empty()).then(|| Cow::Owned(kept.join(" ")))
}

#[cfg(test)]
mod tests;
