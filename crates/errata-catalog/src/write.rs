//! Writing a catalog back to a directory of TOML files, in the layout
//! [`crate::load`] reads. Used by importers.

use std::fmt::Write as _;
use std::path::Path;

use crate::class::Scheme;
use crate::load::{LOCALES, MANIFEST};
use crate::model::{Catalog, ErrorDef};

/// The files of a catalog directory: relative path and contents, sorted.
pub fn to_files(catalog: &Catalog) -> Vec<(String, String)> {
    let mut files = Vec::new();
    files.push((
        MANIFEST.to_owned(),
        format!(
            "name = {}\nversion = {}\nscheme = {}\n",
            string(&catalog.name),
            string(&catalog.version),
            string(catalog.scheme.name())
        ),
    ));
    for domain in catalog.domains.iter() {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "[domain]\ncode = {}\ntitle = {}",
            domain.code,
            string(&domain.title)
        );
        if !domain.description.is_empty() {
            let _ = writeln!(out, "description = {}", string(&domain.description));
        }
        let own = catalog
            .errors
            .iter()
            .filter(|e| e.domain == domain.name && e.subdomain.is_none());
        for error in own {
            error_table(&mut out, catalog.scheme, "errors", error);
        }
        for sub in domain.subdomains.iter() {
            let _ = writeln!(
                out,
                "\n[subdomains.{}]\ncode = {}\ntitle = {}",
                sub.name,
                sub.code,
                string(&sub.title)
            );
            if !sub.description.is_empty() {
                let _ = writeln!(out, "description = {}", string(&sub.description));
            }
            let errors = catalog
                .errors
                .iter()
                .filter(|e| e.domain == domain.name && e.subdomain.as_deref() == Some(&*sub.name));
            for error in errors {
                error_table(
                    &mut out,
                    catalog.scheme,
                    &format!("subdomains.{}.errors", sub.name),
                    error,
                );
            }
        }
        files.push((format!("{}.toml", domain.name), out));
    }
    for locale in catalog.locales.iter() {
        let mut out = String::from("[messages]\n");
        for error in catalog.errors.iter() {
            if let Some(t) = error.translations.iter().find(|t| t.locale == *locale) {
                let _ = writeln!(out, "{} = {}", string(&error.id), string(&t.message.source));
            }
        }
        files.push((format!("{LOCALES}/{locale}.toml"), out));
    }
    files.sort();
    files
}

/// Writes the catalog's files under `dir`, creating it.
pub fn write_dir(catalog: &Catalog, dir: &Path) -> std::io::Result<()> {
    for (path, text) in to_files(catalog) {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)?;
    }
    Ok(())
}

fn error_table(out: &mut String, scheme: Scheme, prefix: &str, e: &ErrorDef) {
    let name = e.id.rsplit('.').next().unwrap_or(&e.id);
    let code = match scheme {
        Scheme::Ranges => e.code,
        Scheme::Packed => e.code & 0xffff,
    };
    let _ = writeln!(
        out,
        "\n[{prefix}.{name}]\ncode = {code}\nslug = {}\nclass = {}",
        string(&e.slug),
        string(e.class.name())
    );
    let _ = writeln!(out, "message = {}", string(&e.message.source));
    let _ = writeln!(out, "description = {}", string(&e.description));
    if e.advice != e.class.default_advice() {
        let _ = writeln!(out, "advice = {}", string(e.advice.name()));
    }
    if let Some(since) = &e.since {
        let _ = writeln!(out, "since = {}", string(since));
    }
    if let Some(dep) = &e.deprecated {
        match &dep.replacement {
            Some(r) => {
                let _ = writeln!(
                    out,
                    "deprecated = {{ since = {}, replacement = {} }}",
                    string(&dep.since),
                    string(r)
                );
            }
            None => {
                let _ = writeln!(out, "deprecated = {}", string(&dep.since));
            }
        }
    }
    if let Some(example) = &e.example {
        let _ = writeln!(out, "example = {}", string(example));
    }
}

/// A TOML basic string.
fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
