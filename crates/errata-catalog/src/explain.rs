//! One entry, explained for a person, as `rustc --explain` does.

use std::fmt::Write as _;

use crate::model::{Catalog, ErrorDef};

/// The explanation of `error`, an entry of `catalog`.
pub fn explain(catalog: &Catalog, error: &ErrorDef) -> String {
    let mut out = String::new();
    let code = catalog.format_code(error.code);
    let _ = writeln!(out, "{code} {} ({})", error.slug, error.id);
    let _ = writeln!(
        out,
        "{}\n",
        "=".repeat(code.len() + error.slug.len() + error.id.len() + 4)
    );
    let _ = writeln!(out, "Message:  {}", error.message.source);
    let _ = writeln!(
        out,
        "Class:    {}: HTTP {}, extensions.code {}",
        error.class,
        error.class.status(),
        error.class.graphql_code()
    );
    if !error.message.placeholders.is_empty() {
        let names: Vec<String> = error
            .message
            .placeholders
            .iter()
            .map(|p| format!("{{{p}}}"))
            .collect();
        let _ = writeln!(out, "Fills in: {}", names.join(", "));
    }
    if let Some(since) = &error.since {
        let _ = writeln!(out, "Since:    {since}");
    }
    if let Some(dep) = &error.deprecated {
        let _ = match &dep.replacement {
            Some(r) => writeln!(out, "DEPRECATED since {}: use {r} instead.", dep.since),
            None => writeln!(out, "DEPRECATED since {}.", dep.since),
        };
    }
    let _ = writeln!(out, "\nWhen it happens\n\n{}\n", wrap(&error.description));
    let _ = writeln!(out, "What to do\n\n{}", wrap(error.advice.text()));
    if let Some(example) = &error.example {
        let _ = writeln!(out, "\nExample\n\n{}", wrap(example));
    }
    for t in error.translations.iter() {
        let _ = writeln!(out, "\nMessage [{}]: {}", t.locale, t.message.source);
    }
    let _ = writeln!(out, "\nCatalog: {} {}", catalog.name, catalog.version);
    out
}

/// Wraps prose at 80 columns.
fn wrap(text: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for word in text.split_whitespace() {
        if width > 0 && width + 1 + word.chars().count() > 80 {
            out.push('\n');
            width = 0;
        } else if width > 0 {
            out.push(' ');
            width += 1;
        }
        out.push_str(word);
        width += word.chars().count();
    }
    out
}
