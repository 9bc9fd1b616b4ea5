//! References rendered from a catalog: Markdown, one self-contained HTML
//! page, JSON, and TypeScript for clients.
//!
//! Every renderer is a pure function of the catalog, and iterates only over
//! its sorted lists, so the same catalog always gives byte-identical output.

mod html;
mod json;
mod markdown;
mod typescript;

use std::collections::HashMap;

use crate::model::{Catalog, Domain, ErrorDef, Subdomain};

pub use html::{SCRIPT as HTML_SCRIPT, STYLE as HTML_STYLE};
pub use json::to_json_value;

/// A reference format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A heading and a table per domain and subdomain, like the seeds.
    Markdown,
    /// One page with no external assets, searchable, with an anchor per code.
    Html,
    /// Machine-readable, one object per error.
    Json,
    /// A const object and union types for clients.
    Typescript,
}

impl Format {
    /// Every format.
    pub const ALL: &'static [Format] = &[
        Format::Markdown,
        Format::Html,
        Format::Json,
        Format::Typescript,
    ];

    /// The name used on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Json => "json",
            Format::Typescript => "typescript",
        }
    }

    /// Looks a format up by its command-line name.
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.iter().copied().find(|f| f.name() == name)
    }
}

/// Renders `catalog` in `format`.
pub fn render(catalog: &Catalog, format: Format) -> String {
    match format {
        Format::Markdown => markdown::render(catalog),
        Format::Html => html::render(catalog),
        Format::Json => json::render(catalog),
        Format::Typescript => typescript::render(catalog),
    }
}

/// The errors of one domain, or of one subdomain, in code order.
pub(crate) struct Section<'a> {
    pub domain: &'a Domain,
    pub subdomain: Option<&'a Subdomain>,
    pub errors: Vec<&'a ErrorDef>,
}

/// Cuts the catalog into sections: each domain's own errors, then each of
/// its subdomains'. Empty sections are left out, except a domain heading
/// whose errors are all in subdomains.
pub(crate) fn sections(catalog: &Catalog) -> Vec<Section<'_>> {
    let mut groups: HashMap<(&str, Option<&str>), Vec<&ErrorDef>> = HashMap::new();
    for error in catalog.errors.iter() {
        groups
            .entry((&error.domain, error.subdomain.as_deref()))
            .or_default()
            .push(error);
    }
    let mut out = Vec::new();
    for domain in catalog.domains.iter() {
        out.push(Section {
            domain,
            subdomain: None,
            errors: groups.remove(&(&*domain.name, None)).unwrap_or_default(),
        });
        for sub in domain.subdomains.iter() {
            if let Some(errors) = groups.remove(&(&*domain.name, Some(&*sub.name))) {
                out.push(Section {
                    domain,
                    subdomain: Some(sub),
                    errors,
                });
            }
        }
    }
    out
}

/// A note on a deprecated error, for human-readable references.
pub(crate) fn deprecation_note(error: &ErrorDef) -> Option<String> {
    let dep = error.deprecated.as_ref()?;
    Some(match &dep.replacement {
        Some(r) => format!("Deprecated since {}; use `{r}`.", dep.since),
        None => format!("Deprecated since {}.", dep.since),
    })
}
