use html5ever::tendril::TendrilSink;
use markup5ever_rcdom::{NodeData, RcDom};
use proptest::prelude::*;

use super::*;

fn markdown(content: &str) -> Rendered {
    render(Editor::Markdown, content, "en").unwrap()
}

fn link(locale: &str, path: &str) -> Link {
    Link {
        locale: locale.to_owned(),
        path: path.to_owned(),
    }
}

#[test]
fn editors_have_wikijs_names_and_content_types() {
    for editor in [Editor::Markdown, Editor::Code, Editor::Ckeditor] {
        assert_eq!(Editor::parse(editor.name()), Some(editor));
    }
    assert_eq!(Editor::parse("asciidoc"), None);
    assert_eq!(Editor::parse("Markdown"), None);
    assert_eq!(Editor::Markdown.content_type(), "markdown");
    assert_eq!(Editor::Code.content_type(), "html");
    assert_eq!(Editor::Ckeditor.content_type(), "html");
}

#[test]
fn gfm_tables_keep_their_alignment() {
    let r = markdown("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |\n");
    assert!(r.html.contains("<table>"), "{}", r.html);
    assert!(
        r.html.contains("<th style=\"text-align:left\">a</th>"),
        "{}",
        r.html
    );
    assert!(
        r.html.contains("<td style=\"text-align:right\">3</td>"),
        "{}",
        r.html
    );
}

#[test]
fn task_lists_are_disabled_checkboxes() {
    let r = markdown("- [x] done\n- [ ] to do\n");
    assert!(
        r.html
            .contains("<li><input disabled=\"\" type=\"checkbox\" checked=\"\">\ndone</li>"),
        "{}",
        r.html
    );
    assert!(
        r.html
            .contains("<li><input disabled=\"\" type=\"checkbox\">\nto do</li>"),
        "{}",
        r.html
    );
    let r = render(
        Editor::Ckeditor,
        "<input type=\"text\" name=\"q\" value=\"x\">",
        "en",
    )
    .unwrap();
    assert_eq!(
        r.html, "<input type=\"checkbox\">",
        "no form field survives"
    );
}

#[test]
fn footnotes_keep_their_anchors() {
    let r = markdown("# Note\n\nText[^note].\n\n[^note]: The note.\n");
    assert!(
        r.html.contains("<sup class=\"footnote-reference\"><a href=\"#note\" rel=\"noopener noreferrer\">1</a></sup>"),
        "{}",
        r.html
    );
    assert!(
        r.html.contains("<div class=\"footnote-definition\" id=\"note\"><sup class=\"footnote-definition-label\">1</sup>"),
        "{}",
        r.html
    );
    assert!(
        r.html.contains("<h1 id=\"note-1\">"),
        "a heading never takes a footnote's id: {}",
        r.html
    );
}

#[test]
fn strikethrough_is_del() {
    assert_eq!(markdown("~~gone~~").html, "<p><del>gone</del></p>\n");
}

#[test]
fn code_blocks_keep_their_language_class_only() {
    let r = markdown("```rust\nfn main() {}\n```\n");
    assert_eq!(
        r.html,
        "<pre><code class=\"language-rust\">fn main() {}\n</code></pre>\n"
    );
    let r = render(
        Editor::Ckeditor,
        "<code class=\"language-c++ app-admin\">x</code><p class=\"app-admin\">y</p>",
        "en",
    )
    .unwrap();
    assert_eq!(r.html, "<code class=\"language-c++\">x</code><p>y</p>");
}

#[test]
fn headings_get_unique_anchors_from_their_text() {
    let r = markdown("# Intro\n\n# Intro\n\n# Intro 1\n\n## `Code` & *more*_here!\n\n# ???\n");
    for id in ["intro", "intro-1", "intro-1-1", "code-more-here", "heading"] {
        assert!(
            r.html.contains(&format!(" id=\"{id}\"")),
            "{id}: {}",
            r.html
        );
    }
    let r = markdown("# Été Ünïcode\n");
    assert!(r.html.contains("<h1 id=\"été-ünïcode\">"), "{}", r.html);
}

#[test]
fn the_toc_nests_deeper_headings_under_shallower_ones() {
    let r = markdown("## Before\n\n# A\n\n## B\n\n#### C\n\n### D\n\n# E\n");
    assert_eq!(
        r.toc,
        concat!(
            r##"[{"title":"Before","anchor":"#before","children":[]},"##,
            r##"{"title":"A","anchor":"#a","children":["##,
            r##"{"title":"B","anchor":"#b","children":["##,
            r##"{"title":"C","anchor":"#c","children":[]},"##,
            r##"{"title":"D","anchor":"#d","children":[]}]}]},"##,
            r##"{"title":"E","anchor":"#e","children":[]}]"##,
        )
    );
    assert_eq!(markdown("no headings").toc, "[]");
    assert_eq!(
        markdown("# Tom & \"Jerry\" <3\n").toc,
        r##"[{"title":"Tom & \"Jerry\" <3","anchor":"#tom-jerry-3","children":[]}]"##
    );
}

#[test]
fn html_headings_count_when_they_have_an_id() {
    let r = render(
        Editor::Ckeditor,
        "<h2 id=\"a\">A <em>b</em></h2><h3>No id</h3><h3 id=\"c\">C</h3>",
        "en",
    )
    .unwrap();
    assert_eq!(
        r.toc,
        r##"[{"title":"A b","anchor":"#a","children":[{"title":"C","anchor":"#c","children":[]}]}]"##
    );
}

#[test]
fn links_name_pages_with_their_locale() {
    let r = markdown(concat!(
        "[a](/fr/docs/a) [b](/docs/b?x=1#y) [c](docs/c/) [b again](/en/docs/b)\n",
        "[web](https://example.com/docs/a) [top](#top) [host](//example.com/a)\n",
        "[mail](mailto:a@example.com) [reserved](/login) [dot](/docs/a.md)\n",
        "[locale only](/fr) [unicode](/docs/été) [PT](/PT-BR/guia)\n",
        "<a href=\"/docs/raw\">raw</a>\n",
    ));
    assert_eq!(
        r.links,
        vec![
            link("fr", "docs/a"),
            link("en", "docs/b"),
            link("en", "docs/c"),
            link("en", "docs/été"),
            link("pt-br", "guia"),
            link("en", "docs/raw"),
        ]
    );
    let r = render(Editor::Ckeditor, "<a href=\"/guide\">x</a>", "de").unwrap();
    assert_eq!(r.links, vec![link("de", "guide")]);
}

#[test]
fn links_get_noopener_noreferrer() {
    let r = render(
        Editor::Ckeditor,
        "<a href=\"https://example.com\" rel=\"opener\">x</a>",
        "en",
    )
    .unwrap();
    assert_eq!(
        r.html,
        "<a href=\"https://example.com\" rel=\"noopener noreferrer\">x</a>"
    );
}

#[test]
fn code_is_escaped_whole() {
    let r = render(
        Editor::Code,
        "<script>alert(\"x\")</script>\n# not a heading",
        "en",
    )
    .unwrap();
    assert_eq!(
        r.html,
        "<pre><code>&lt;script&gt;alert(\"x\")&lt;/script&gt;\n# not a heading</code></pre>\n"
    );
    assert_eq!(r.toc, "[]");
    assert!(r.links.is_empty());
}

#[test]
fn html_is_only_sanitized() {
    let r = render(
        Editor::Ckeditor,
        "<h2 id=\"x\" onclick=\"y()\">T</h2><script>alert(1)</script><p>**not markdown**</p>",
        "en",
    )
    .unwrap();
    assert_eq!(r.html, "<h2 id=\"x\">T</h2><p>**not markdown**</p>");
}

#[test]
fn editors_convert_both_ways() {
    assert_eq!(
        to_markdown(
            "<h1>Title</h1><ul><li>one</li><li><strong>two</strong></li></ul><p><a href=\"/docs\">docs</a></p>"
        )
        .unwrap(),
        "# Title\n\n- one\n- **two**\n\n[docs](/docs)"
    );
    assert_eq!(
        to_markdown(
            "<script>alert(1)</script><p onclick=\"y()\"><a href=\"javascript:x\">x</a></p>"
        )
        .unwrap(),
        "x",
        "what is converted is sanitized first"
    );
    assert_eq!(
        to_html("# Title\n\n<script>x</script>\n\n[a](javascript:alert(1))").unwrap(),
        "<h1 id=\"title\">Title</h1>\n\n<p><a rel=\"noopener noreferrer\">a</a></p>\n"
    );
}

/// Why `html` would be unsafe in a browser, read as a browser reads it.
fn unsafe_because(html: &str) -> Option<String> {
    let lower = html.to_lowercase();
    for tag in ["<script", "<iframe", "<style", "<object", "<embed"] {
        if lower.contains(tag) {
            return Some(format!("it contains {tag}"));
        }
    }
    let dom = html5ever::parse_document(RcDom::default(), Default::default()).one(html);
    // The root stays owned by `dom`: an rcdom node that is dropped empties
    // its descendants, even those still on the stack.
    let mut stack = vec![dom.document.clone()];
    while let Some(node) = stack.pop() {
        if let NodeData::Element { name, attrs, .. } = &node.data {
            if matches!(
                &*name.local,
                "script" | "iframe" | "style" | "object" | "embed"
            ) {
                return Some(format!("it has a <{}> element", &*name.local));
            }
            for attr in attrs.borrow().iter() {
                let key = attr.name.local.to_ascii_lowercase().to_string();
                if key.starts_with("on") {
                    return Some(format!("it has an {key} attribute"));
                }
                // Browsers ignore whitespace and control characters in a
                // URL's scheme; entities were decoded by the parser.
                let value: String = attr
                    .value
                    .chars()
                    .filter(|c| !c.is_whitespace() && !c.is_control())
                    .collect::<String>()
                    .to_lowercase();
                for scheme in ["javascript:", "vbscript:", "data:"] {
                    let found = match key.as_str() {
                        "title" | "alt" => false,
                        "style" => value.contains(scheme),
                        _ => value.starts_with(scheme),
                    };
                    if found {
                        return Some(format!("its {key} holds {scheme}"));
                    }
                }
            }
        }
        stack.extend(node.children.borrow().iter().cloned());
    }
    None
}

const ADVERSARIAL: &[&str] = &[
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//example.com/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=\"javascript:alert(1)\">",
    "<img src=\"data:image/svg+xml;base64,PHN2Zz4=\">",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=\"JaVaScRiPt&#58;alert(1)\">x</a>",
    "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">x</a>",
    "<a href=\"&#x6A;avascript&colon;alert(1)\">x</a>",
    "<a href=\" \u{1}javascript:alert(1)\">x</a>",
    "<a href=\"java\tscript:alert(1)\">x</a>",
    "<a href=\"vbscript:msgbox(1)\">x</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD4=\">x</a>",
    "<svg><script>alert(1)</script></svg>",
    "<svg onload=alert(1)>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>",
    "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<iframe srcdoc=\"<script>alert(1)</script>\">",
    "<style>body { background: red }</style>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<table><tr><td style=\"text-align:center;background:url(javascript:alert(1))\">x</td></tr></table>",
    "<input type=text onfocus=alert(1) autofocus>",
    "<form action=\"javascript:alert(1)\"><button formaction=\"javascript:alert(1)\">x</button></form>",
    "<object data=\"javascript:alert(1)\"></object>",
    "<embed src=\"javascript:alert(1)\">",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<!--<script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<details open ontoggle=alert(1)>",
    "<xmp><script>alert(1)</script></xmp>",
    "<textarea><script>alert(1)</script></textarea>",
    "<template><script>alert(1)</script></template>",
    "<select><style></style><script>alert(1)</script></select>",
    "<plaintext><script>alert(1)</script>",
    "<h2 id=\"x\" onclick=\"y()\">H</h2>",
    "<base href=\"javascript:alert(1)//\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt&#58;alert(1))",
    "[x](<java script:alert(1)>)",
    "<javascript:alert(1)>",
    "![x](data:image/svg+xml;base64,PHN2Zz4=)",
    "[x]: javascript:alert(1)\n\n[x]",
    "```\n<script>alert(1)</script>\n```",
    "`<script>`",
    "\"",
    "'",
    "<",
    ">",
    "</",
    "&",
    "\n",
    "\n\n",
    "    ",
    "# ",
    "| a |\n|---|\n| <script> |",
    "- [x] <img src=x onerror=alert(1)>",
    "[^1]\n\n[^1]: <script>alert(1)</script>",
];

fn adversarial() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(ADVERSARIAL).prop_map(str::to_owned),
            1 => "[a-zA-Z0-9 <>\"'=/:&#;]{0,12}",
        ],
        0..8,
    )
    .prop_map(|parts| parts.concat())
}

#[test]
fn every_adversarial_fragment_is_defused() {
    for fragment in ADVERSARIAL {
        for editor in [Editor::Markdown, Editor::Code, Editor::Ckeditor] {
            let html = render(editor, fragment, "en").unwrap().html;
            assert_eq!(
                unsafe_because(&html),
                None,
                "{editor:?} {fragment:?} gave {html:?}"
            );
        }
    }
}

#[test]
fn the_oracle_sees_what_a_browser_runs() {
    assert!(unsafe_because("<p>&lt;script&gt;</p>").is_none());
    assert!(unsafe_because("<svg><script>x</script></svg>").is_some());
    assert!(unsafe_because("<img src=x ONERROR=y>").is_some());
    assert!(unsafe_because("<a href=\"JaVaScRiPt&#58;x\">").is_some());
    assert!(unsafe_because("<a href=\"java&#9;script:x\">").is_some());
}

proptest! {
    #[test]
    fn adversarial_html_never_renders_unsafe(content in adversarial()) {
        for editor in [Editor::Markdown, Editor::Code, Editor::Ckeditor] {
            let Ok(rendered) = render(editor, &content, "en") else { continue };
            let html = rendered.html;
            prop_assert_eq!(unsafe_because(&html), None, "{:?}: {:?}", editor, html);
        }
    }

    #[test]
    fn any_text_renders_safe_html_and_valid_toc(content in any::<String>()) {
        for editor in [Editor::Markdown, Editor::Code, Editor::Ckeditor] {
            let Ok(rendered) = render(editor, &content, "en") else { continue };
            prop_assert_eq!(unsafe_because(&rendered.html), None, "{:?}: {:?}", editor, rendered.html);
            prop_assert!(serde_json::from_str::<serde_json::Value>(&rendered.toc).is_ok_and(|v| v.is_array()));
            for link in &rendered.links {
                let again = crate::path::parse_path(&link.path).ok();
                prop_assert_eq!(again.as_ref(), Some(&link.path));
            }
        }
    }

    #[test]
    fn markdown_and_html_convert_without_panicking(content in adversarial()) {
        if let Ok(markdown) = to_markdown(&content) {
            let _ = to_html(&markdown);
        }
    }
}

#[test]
fn deep_html_converts_without_overflowing_the_stack() {
    let nested = "<blockquote>".repeat(70) + "quoted";
    assert_eq!(
        to_markdown(&nested).unwrap().matches('>').count(),
        MAX_CONVERTED_DEPTH
    );
}

#[test]
fn content_nested_deeper_than_the_limit_is_refused_before_it_is_parsed() {
    let deep =
        |n: usize, open: &str, close: &str| format!("{}text{}", open.repeat(n), close.repeat(n));
    for editor in [Editor::Markdown, Editor::Ckeditor] {
        let refused = render(editor, &deep(20_000, "<div>", "</div>"), "en").unwrap_err();
        assert_eq!(refused.id(), "pages.argument_invalid");
        assert!(render(editor, &deep(MAX_DEPTH, "<div>", "</div>"), "en").is_ok());
    }
    // Stray end tags do not hide depth: html5ever ignores them.
    let hidden = "<div></span>".repeat(MAX_DEPTH + 1);
    assert!(render(Editor::Ckeditor, &hidden, "en").is_err());
    // Formatting elements left open nest too.
    let formatting: String = (0..=MAX_DEPTH)
        .map(|n| format!("<b id=\"{n}\">x"))
        .collect();
    assert!(render(Editor::Ckeditor, &formatting, "en").is_err());
    // Markdown's own nesting is counted after rendering.
    assert!(render(Editor::Markdown, &">".repeat(MAX_DEPTH + 10), "en").is_err());
    // Paragraphs and list items that end themselves do not add up.
    let items = "<ul>".to_owned() + &"<li>item".repeat(5000) + "</ul>";
    assert!(render(Editor::Ckeditor, &items, "en").is_ok());
    assert!(to_markdown(&deep(20_000, "<span>", "</span>")).is_err());
    // Code is escaped: its angle brackets are text.
    assert!(render(Editor::Code, &deep(20_000, "<div>", "</div>"), "en").is_ok());
}

#[test]
fn formatting_elements_the_parser_opens_again_count_towards_the_depth() {
    // `</div>` closes the fonts, the parser opens them again before `x`:
    // 200 deeper each round, while no more than 201 tags are ever open.
    let reopened: String = (0..3)
        .map(|round| {
            let fonts: String = (0..200)
                .map(|n| format!("<font size=\"{}\">", round * 200 + n))
                .collect();
            format!("<div>{fonts}</div>x")
        })
        .collect();
    assert!(render(Editor::Ckeditor, &reopened, "en").is_err());
    assert!(to_markdown(&reopened).is_err());
    // The parser keeps three alike at most, and an end tag takes one off.
    let alike = "<p><b>bold</p>".repeat(5000);
    assert!(render(Editor::Ckeditor, &alike, "en").is_ok());
    let closed = "<div><i id=\"1\"><i id=\"2\"></div></i></i>".repeat(5000);
    assert!(render(Editor::Ckeditor, &closed, "en").is_ok());
    // An unclosed tag does not make the scan quadratic.
    let started = std::time::Instant::now();
    let _ = render(Editor::Ckeditor, &"<b".repeat(200_000), "en");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
