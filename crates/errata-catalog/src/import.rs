//! Importing foreign catalogs. Today: Kuzzle's `kerror` JSON files, both the
//! 1.x layout (`subdomains`, files named `core.json`) and the 2.x one
//! (`subDomains`, files named `0-core.json`).
//!
//! Codes, classes (mapped onto errata's with Kuzzle's status), descriptions
//! and deprecations are kept. Positional `%s` placeholders become `{arg1}`,
//! `{arg2}`, ... and slugs, which Kuzzle lacks, are made from ids.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::class::{Scheme, kuzzle_class, pack};
use crate::model::{Catalog, Deprecation, Domain, ErrorDef, Subdomain, owned};
use crate::template::Template;

/// Why an import failed.
#[derive(Debug)]
pub struct ImportError {
    /// The file concerned.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl std::error::Error for ImportError {}

#[derive(Deserialize)]
struct KDomain {
    code: u32,
    #[serde(alias = "subDomains")]
    subdomains: BTreeMap<String, KSubdomain>,
}

#[derive(Deserialize)]
struct KSubdomain {
    code: u32,
    deprecated: Option<String>,
    errors: BTreeMap<String, KError>,
}

#[derive(Deserialize)]
struct KError {
    code: u32,
    message: String,
    class: String,
    description: Option<String>,
    deprecated: Option<String>,
}

/// Reads the Kuzzle catalog in `dir` (its `*.json` files).
pub fn kuzzle(dir: &Path, name: &str, version: &str) -> Result<Catalog, ImportError> {
    let fail = |file: &Path, message: String| ImportError {
        file: file.display().to_string(),
        message,
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| fail(dir, e.to_string()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(fail(dir, "no Kuzzle error files (*.json) here".into()));
    }
    let mut domains = Vec::new();
    let mut errors = Vec::new();
    for path in &paths {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        // 2.x prefixes the file with the domain number: `1-services.json`.
        let domain_name = stem
            .split_once('-')
            .map_or(stem, |(_, rest)| rest)
            .to_owned();
        let text = std::fs::read_to_string(path).map_err(|e| fail(path, e.to_string()))?;
        let raw: KDomain = serde_json::from_str(&text).map_err(|e| fail(path, e.to_string()))?;
        let mut subdomains = Vec::new();
        for (sub_name, sub) in raw.subdomains {
            for (error_name, e) in sub.errors {
                let id = format!("{domain_name}.{sub_name}.{error_name}");
                let class = kuzzle_class(&e.class).ok_or_else(|| {
                    fail(path, format!("`{id}` has the unknown class `{}`", e.class))
                })?;
                let message = Template::parse(&named_placeholders(&e.message))
                    .map_err(|err| fail(path, format!("`{id}`: {}", err.message)))?;
                let deprecated = e
                    .deprecated
                    .or_else(|| sub.deprecated.clone())
                    .map(|since| Deprecation {
                        since: Cow::Owned(since),
                        replacement: None,
                    });
                errors.push(ErrorDef {
                    slug: Cow::Owned(pascal_case(&id)),
                    domain: Cow::Owned(domain_name.clone()),
                    subdomain: Some(Cow::Owned(sub_name.clone())),
                    code: pack(raw.code, sub.code, e.code),
                    class,
                    message,
                    description: Cow::Owned(e.description.unwrap_or_default()),
                    advice: class.default_advice(),
                    since: None,
                    deprecated,
                    example: None,
                    translations: owned(Vec::new()),
                    id: Cow::Owned(id),
                });
            }
            subdomains.push(Subdomain {
                title: Cow::Owned(sub_name.clone()),
                name: Cow::Owned(sub_name),
                code: sub.code,
                description: Cow::Borrowed(""),
            });
        }
        subdomains.sort_by_key(|s| s.code);
        domains.push(Domain {
            title: Cow::Owned(domain_name.clone()),
            name: Cow::Owned(domain_name),
            code: raw.code,
            description: Cow::Borrowed(""),
            subdomains: owned(subdomains),
        });
    }
    domains.sort_by_key(|d| d.code);
    errors.sort_by_key(|e| e.code);
    Ok(Catalog {
        name: Cow::Owned(name.to_owned()),
        version: Cow::Owned(version.to_owned()),
        scheme: Scheme::Packed,
        locales: owned(Vec::new()),
        domains: owned(domains),
        errors: owned(errors),
    })
}

/// Turns `%s` into `{arg1}`, `{arg2}`, ... and escapes literal braces.
pub fn named_placeholders(message: &str) -> String {
    let mut out = String::with_capacity(message.len() + 8);
    let mut n = 0;
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '%' if chars.peek() == Some(&'s') => {
                chars.next();
                n += 1;
                out.push_str(&format!("{{arg{n}}}"));
            }
            '{' => out.push_str("{{"),
            '}' => out.push_str("}}"),
            c => out.push(c),
        }
    }
    out
}

/// `services.storage.not_found` → `ServicesStorageNotFound`.
pub fn pascal_case(id: &str) -> String {
    id.split(['.', '_'])
        .filter(|p| !p.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positional_placeholders_become_named() {
        assert_eq!(
            named_placeholders("max %s, received %s."),
            "max {arg1}, received {arg2}."
        );
        assert_eq!(
            named_placeholders("'%' is reserved: %s {x}"),
            "'%' is reserved: {arg1} {{x}}"
        );
    }

    #[test]
    fn slugs_come_from_ids() {
        assert_eq!(
            pascal_case("services.storage.not_found"),
            "ServicesStorageNotFound"
        );
        assert_eq!(
            pascal_case("core.fatal.unexpected_error"),
            "CoreFatalUnexpectedError"
        );
    }
}
