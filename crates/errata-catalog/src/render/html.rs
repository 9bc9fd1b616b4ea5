//! The HTML reference: one self-contained page (no external assets), an
//! anchor for every code and id, deprecated entries marked, and a small
//! inline script that filters by code, slug, id or words.

use std::fmt::Write as _;

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use super::{deprecation_note, sections};
use crate::class::{Class, Scheme};
use crate::model::{Catalog, ErrorDef};

/// The page's only style sheet, inline; a server names its digest in its
/// Content-Security-Policy.
pub const STYLE: &str = r#"
:root { color-scheme: light dark; --fg: #1d1d1f; --muted: #5f6368; --line: #d0d4d9; --hi: #fff4c2; --bg: #fff; }
@media (prefers-color-scheme: dark) { :root { --fg: #e8eaed; --muted: #9aa0a6; --line: #3c4043; --hi: #4d4213; --bg: #151618; } }
body { font: 15px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 78rem; padding: 1rem 2rem 4rem; color: var(--fg); background: var(--bg); }
header { position: sticky; top: 0; background: var(--bg); padding: .5rem 0; border-bottom: 1px solid var(--line); z-index: 1; }
h1 { margin: .2rem 0; font-size: 1.5rem; }
.meta { color: var(--muted); margin: 0 0 .4rem; }
#q { width: 100%; box-sizing: border-box; font-size: 1rem; padding: .45rem .6rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); }
#count { color: var(--muted); font-size: .85rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1.5rem; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid var(--line); }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
td code { font-size: .9em; }
tr:target, tr.anchored { background: var(--hi); }
.anchor { color: inherit; text-decoration: none; font-weight: 600; }
.desc { color: var(--muted); font-size: .9rem; margin-top: .2rem; }
.badge { display: inline-block; font-size: .75rem; padding: 0 .4rem; border-radius: 4px; border: 1px solid currentColor; margin-left: .3rem; }
tr.deprecated td:not(:last-child) { text-decoration: line-through; text-decoration-color: var(--muted); }
.deprecated .badge { color: #b3261e; }
section[hidden], tr[hidden] { display: none; }
html { scroll-padding-top: 7rem; }
.about p { margin: .2rem 0 .6rem; }
.desc p { margin: .2rem 0 0; }
td { overflow-wrap: break-word; }
@media (max-width: 48rem) {
  body { padding: .5rem 1rem 3rem; }
  thead { display: none; }
  table, tbody, tr, td { display: block; }
  tr { border-bottom: 1px solid var(--line); padding: .4rem 0; }
  td { border: 0; padding: .1rem 0; overflow-wrap: anywhere; }
  tbody td:nth-child(-n+3) { display: inline-block; margin-right: .8rem; }
}
"#;

/// The page's only script, inline; a server names its digest in its
/// Content-Security-Policy.
pub const SCRIPT: &str = r#"
(function () {
  var q = document.getElementById('q');
  var count = document.getElementById('count');
  var header = document.querySelector('header');
  var rows = Array.prototype.slice.call(document.querySelectorAll('tr[data-search]'));
  function apply() {
    var words = q.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    rows.forEach(function (row) {
      var text = row.getAttribute('data-search');
      var hit = words.every(function (w) { return text.indexOf(w) !== -1; });
      row.hidden = !hit;
      if (hit) shown++;
    });
    document.querySelectorAll('main section').forEach(function (s) {
      s.hidden = s.querySelector('tr[data-search]') !== null && s.querySelector('tr[data-search]:not([hidden])') === null;
    });
    count.textContent = shown + ' of ' + rows.length + ' errors';
  }
  function clearance() {
    document.documentElement.style.scrollPaddingTop = (header.offsetHeight + 8) + 'px';
  }
  function highlight() {
    document.querySelectorAll('.anchored').forEach(function (r) { r.classList.remove('anchored'); });
    var id;
    try { id = decodeURIComponent(location.hash.slice(1)); } catch (e) { return; }
    var el = id && document.getElementById(id);
    var row = el && el.closest('tr[data-search]');
    if (!row) return;
    if (row.hidden) { q.value = ''; apply(); }
    row.classList.add('anchored');
    row.scrollIntoView();
  }
  q.hidden = false;
  // Results start at the top, wherever the page was scrolled to.
  q.addEventListener('input', function () { apply(); window.scrollTo(0, 0); });
  window.addEventListener('hashchange', highlight);
  apply();
  // The header grows with the search box and the count, and wraps on narrow
  // screens; an entry scrolled to must land below it.
  clearance();
  if (window.ResizeObserver) new ResizeObserver(clearance).observe(header);
  highlight();
  if (!location.hash) q.focus();
})();
"#;

pub(super) fn render(catalog: &Catalog) -> String {
    let mut out = String::with_capacity(catalog.errors.len() * 700 + 8192);
    let title = format!("{} error reference", catalog.name);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{}</title>", esc(&title));
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>\n<header>");
    let _ = writeln!(out, "<h1>{}</h1>", esc(&title));
    let _ = writeln!(
        out,
        "<p class=\"meta\">Version {} &middot; {} errors &middot; generated by errata from the catalog</p>",
        esc(&catalog.version),
        catalog.errors.len()
    );
    // Hidden until the script runs: without it the box would filter nothing,
    // and every entry is shown anyway.
    out.push_str("<input id=\"q\" type=\"search\" placeholder=\"Search by code, slug, id or words\" aria-label=\"Search errors\" hidden>\n");
    out.push_str("<div id=\"count\" aria-live=\"polite\"></div>\n</header>\n<main>\n");

    // A domain's section holds its subdomains' sections, so that filtering
    // hides a domain heading once nothing under it matches.
    let mut domain_open = false;
    for section in sections(catalog) {
        if section.subdomain.is_none() && domain_open {
            out.push_str("</section>\n");
        }
        domain_open = true;
        let (level, heading, text) = match (catalog.scheme, section.subdomain) {
            (Scheme::Ranges, None) => (
                2,
                section.domain.title.to_string(),
                &section.domain.description,
            ),
            (Scheme::Ranges, Some(sub)) => (3, sub.title.to_string(), &sub.description),
            (Scheme::Packed, None) => (
                2,
                format!("{:#04x}: {}", section.domain.code, section.domain.name),
                &section.domain.description,
            ),
            (Scheme::Packed, Some(sub)) => (
                3,
                format!(
                    "{:#06x}: {}",
                    (section.domain.code << 8) | sub.code,
                    sub.name
                ),
                &sub.description,
            ),
        };
        out.push_str("<section>\n");
        let _ = writeln!(out, "<h{level}>{}</h{level}>", esc(&heading));
        if !text.trim().is_empty() {
            let _ = writeln!(out, "<div class=\"about\">{}</div>", prose(text));
        }
        if !section.errors.is_empty() {
            table(&mut out, catalog, &section.errors);
        }
        if section.subdomain.is_some() {
            out.push_str("</section>\n");
        }
    }
    if domain_open {
        out.push_str("</section>\n");
    }

    out.push_str("<section>\n<h2>Classes</h2>\n<p>The class of an error fixes its HTTP status and its GraphQL <code>extensions.code</code>.</p>\n");
    out.push_str("<table>\n<thead><tr><th>Class</th><th>HTTP status</th><th>extensions.code</th><th>When</th></tr></thead>\n<tbody>\n");
    for class in Class::ALL {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            class.name(),
            class.status(),
            class.graphql_code(),
            esc(class.summary())
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n</main>\n");
    let _ = writeln!(out, "<script>{SCRIPT}</script>\n</body>\n</html>");
    out
}

fn table(out: &mut String, catalog: &Catalog, errors: &[&ErrorDef]) {
    out.push_str("<table>\n<thead><tr><th>Code</th><th>Id</th><th>Slug</th><th>Class (Status)</th><th>Message</th></tr></thead>\n<tbody>\n");
    for e in errors {
        let code = catalog.format_code(e.code);
        let (primary, secondary) = match catalog.scheme {
            Scheme::Ranges => (code.clone(), e.id.to_string()),
            Scheme::Packed => (e.id.to_string(), code.clone()),
        };
        // Everything the row shows, so that any word a person reads in it
        // finds it.
        let mut search = format!(
            "{} {} {} {} {} {} {} {} {} {}",
            e.code,
            code,
            e.id,
            e.slug,
            e.class,
            e.class.status(),
            e.class.graphql_code(),
            e.message.source,
            plain(&e.description),
            e.advice.text()
        );
        let note = deprecation_note(e);
        if let Some(note) = &note {
            search.push(' ');
            search.push_str(&plain(note));
        }
        if let Some(example) = &e.example {
            search.push_str(" Example: ");
            search.push_str(example);
        }
        let search = search.to_lowercase();
        let class_attr = if e.deprecated.is_some() {
            " class=\"deprecated\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<tr id=\"{}\"{class_attr} data-search=\"{}\">",
            esc(&primary),
            esc(&search)
        );
        let _ = writeln!(
            out,
            "<td><a class=\"anchor\" href=\"#{}\">{}</a><span id=\"{}\"></span></td>",
            esc(&primary),
            esc(&code),
            esc(&secondary)
        );
        let _ = writeln!(out, "<td><code>{}</code></td>", esc(&e.id));
        let _ = writeln!(out, "<td><code>{}</code></td>", esc(&e.slug));
        let _ = writeln!(
            out,
            "<td>{} ({})<br><code>{}</code></td>",
            e.class,
            e.class.status(),
            e.class.graphql_code()
        );
        let _ = write!(out, "<td>{}", esc(&e.message.source));
        if let Some(note) = &note {
            let _ = write!(out, "<span class=\"badge\">{}</span>", inline(note));
        }
        out.push_str("<div class=\"desc\">");
        out.push_str(&prose(&e.description));
        let _ = write!(out, "<p><em>{}</em></p>", esc(e.advice.text()));
        if let Some(example) = &e.example {
            let _ = write!(out, "<p>Example: {}</p>", esc(example));
        }
        out.push_str("</div></td>\n</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// Catalog prose (descriptions, which are Markdown) as HTML. Raw HTML in it
/// is shown as the text it is, never interpreted: catalogs are also imported
/// (Kuzzle's JSON), and there `<index>` means a word. Images become their
/// alt text, so the page loads nothing from anywhere; links keep only
/// http, https, mailto and relative targets, the rest becomes plain text.
fn prose(text: &str) -> String {
    markdown(text, false)
}

/// Catalog prose in a line, as [`prose`] without paragraphs.
fn inline(text: &str) -> String {
    markdown(text, true)
}

fn markdown(text: &str, inline: bool) -> String {
    let mut links = Vec::new();
    let events = Parser::new(text.trim()).filter_map(|event| match event {
        Event::Start(Tag::Paragraph) | Event::End(TagEnd::Paragraph) if inline => None,
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => None,
        Event::Start(Tag::Link { ref dest_url, .. }) => {
            let keep = safe_link(dest_url);
            links.push(keep);
            keep.then_some(event)
        }
        Event::End(TagEnd::Link) => links.pop().unwrap_or(false).then_some(event),
        other => Some(other),
    });
    let mut html = String::with_capacity(text.len() + 16);
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// Whether a link's target may stay a link: a scheme on the allowlist, or
/// none at all (relative, such as `#6003` or `/errors.json`).
fn safe_link(dest: &str) -> bool {
    match dest.find([':', '/', '?', '#']) {
        Some(i) if dest[i..].starts_with(':') => {
            let scheme = dest[..i].to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https" | "mailto")
        }
        _ => true,
    }
}

/// The words of catalog prose, without its Markdown, for the search.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for event in Parser::new(text) {
        match event {
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                out.push_str(&t)
            }
            Event::SoftBreak
            | Event::HardBreak
            | Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::HtmlBlock
                | TagEnd::TableCell,
            ) => out.push(' '),
            _ => {}
        }
    }
    out
}

/// Escapes text for HTML content and double-quoted attributes.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{inline, plain, prose};

    #[test]
    fn descriptions_are_markdown() {
        assert_eq!(
            prose("Codes in the **1xxx** range, see `extensions.code`."),
            "<p>Codes in the <strong>1xxx</strong> range, see <code>extensions.code</code>.</p>\n"
        );
        assert_eq!(
            inline("Deprecated since 2; use `x.y`."),
            "Deprecated since 2; use <code>x.y</code>."
        );
    }

    #[test]
    fn html_in_a_description_is_shown_as_text() {
        let html = prose("The <index> is <b>bad</b>.\n\n<script>alert(1)</script>\n");
        assert!(!html.contains("<index>") && !html.contains("<b>") && !html.contains("<script"));
        assert!(html.contains("&lt;index&gt;") && html.contains("&lt;script&gt;alert(1)"));
    }

    #[test]
    fn links_keep_safe_targets_only_and_images_are_their_alt_text() {
        assert_eq!(
            prose("[spec](https://spec.graphql.org/) and [6003](#6003)"),
            "<p><a href=\"https://spec.graphql.org/\">spec</a> and <a href=\"#6003\">6003</a></p>\n"
        );
        for evil in [
            "[x](javascript:alert(1))",
            "[x](JavaScript:alert(1))",
            "[x](data:text/html,hi)",
            "[x](vbscript:x)",
            "<javascript:alert(1)>",
            "[x](javascript&#58;alert(1))",
            "[x](<java\tscript:alert(1)>)",
            "[x](\u{1}javascript:alert(1))",
            "[x][r]\n\n[r]: javascript:alert(1)",
        ] {
            let html = prose(evil);
            assert!(!html.contains("href"), "{evil} -> {html}");
        }
        let html = prose("![a tracking pixel](https://example.com/p.gif)");
        assert_eq!(html, "<p>a tracking pixel</p>\n");
        let html = prose("[![logo](https://example.com/l.png)](https://example.com/)");
        assert_eq!(html, "<p><a href=\"https://example.com/\">logo</a></p>\n");
    }

    #[test]
    fn search_text_has_the_words_and_not_the_markup() {
        assert_eq!(
            plain("Codes in the **1xxx** range: `Bearer <token>`.").trim(),
            "Codes in the 1xxx range: Bearer <token>."
        );
    }
}
