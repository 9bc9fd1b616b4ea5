//! A page's content, rendered by each editor.
#![no_main]

use errata_pages::render::{Editor, render};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|content: &str| {
    for editor in [Editor::Markdown, Editor::Code, Editor::Ckeditor] {
        // Content nested too deep is refused, which is fine.
        let Ok(rendered) = render(editor, content, "en") else {
            continue;
        };
        assert!(
            !rendered.html.to_ascii_lowercase().contains("<script"),
            "{editor:?} let a script through: {:?}",
            rendered.html
        );
    }
});
