//! The JSON reference.
//!
//! Shape: `{"catalog", "version", "scheme", "errors": [...]}`, each error
//! `{"id", "code", "codeHex" (packed only), "slug", "class", "status",
//! "graphqlCode", "message", "description", "advice", "deprecated"?}` plus
//! the optional fields below. Fields are only ever added.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::class::Scheme;
use crate::model::Catalog;

#[derive(Serialize)]
struct Reference<'a> {
    catalog: &'a str,
    version: &'a str,
    scheme: &'a str,
    locales: Vec<&'a str>,
    errors: Vec<Entry<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry<'a> {
    id: &'a str,
    domain: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    subdomain: Option<&'a str>,
    code: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    code_hex: Option<String>,
    slug: &'a str,
    class: &'a str,
    status: u16,
    graphql_code: &'a str,
    message: &'a str,
    placeholders: Vec<&'a str>,
    description: &'a str,
    advice: &'a str,
    advice_text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    since: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deprecated: Option<Deprecated<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    example: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    translations: BTreeMap<&'a str, &'a str>,
}

#[derive(Serialize)]
struct Deprecated<'a> {
    since: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    replacement: Option<&'a str>,
}

/// The JSON reference as a value.
pub fn to_json_value(catalog: &Catalog) -> serde_json::Value {
    serde_json::to_value(reference(catalog)).expect("the reference is plain data")
}

pub(super) fn render(catalog: &Catalog) -> String {
    let mut out =
        serde_json::to_string_pretty(&reference(catalog)).expect("the reference is plain data");
    out.push('\n');
    out
}

fn reference(catalog: &Catalog) -> Reference<'_> {
    Reference {
        catalog: &catalog.name,
        version: &catalog.version,
        scheme: catalog.scheme.name(),
        locales: catalog.locales.iter().map(|l| &**l).collect(),
        errors: catalog
            .errors
            .iter()
            .map(|e| Entry {
                id: &e.id,
                domain: &e.domain,
                subdomain: e.subdomain.as_deref(),
                code: e.code,
                code_hex: (catalog.scheme == Scheme::Packed).then(|| catalog.format_code(e.code)),
                slug: &e.slug,
                class: e.class.name(),
                status: e.class.status(),
                graphql_code: e.class.graphql_code(),
                message: &e.message.source,
                placeholders: e.message.placeholders.iter().map(|p| &**p).collect(),
                description: &e.description,
                advice: e.advice.name(),
                advice_text: e.advice.text(),
                since: e.since.as_deref(),
                deprecated: e.deprecated.as_ref().map(|d| Deprecated {
                    since: &d.since,
                    replacement: d.replacement.as_deref(),
                }),
                example: e.example.as_deref(),
                translations: e
                    .translations
                    .iter()
                    .map(|t| (&*t.locale, &*t.message.source))
                    .collect(),
            })
            .collect(),
    }
}
