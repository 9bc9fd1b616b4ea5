//! The catalog as data.
//!
//! Every string and list is a `Cow<'static, _>`, so the same types describe
//! a catalog loaded from files at run time (owned) and one compiled into a
//! binary by `errata-macros` (borrowed from statics, built at compile time).

use std::borrow::Cow;

use crate::class::{Advice, Class, Scheme};
use crate::template::Template;

/// A string that is either compiled in or loaded.
pub type Text = Cow<'static, str>;
/// A list that is either compiled in or loaded.
pub type List<T> = Cow<'static, [T]>;

/// A whole catalog: its manifest, its domains and its errors.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    /// The catalog's name, from the manifest.
    pub name: Text,
    /// The catalog's version, from the manifest.
    pub version: Text,
    /// How codes are numbered.
    pub scheme: Scheme,
    /// The locales that have translations, sorted.
    pub locales: List<Text>,
    /// Domains, sorted by code.
    pub domains: List<Domain>,
    /// Every error, sorted by code.
    pub errors: List<ErrorDef>,
}

/// A top-level group of errors (`pages`, `services`).
#[derive(Debug, Clone, PartialEq)]
pub struct Domain {
    /// The name, which is the first part of every id in the domain.
    pub name: Text,
    /// The domain's number: `N` of `N001..N999`, or the top byte of packed codes.
    pub code: u32,
    /// A heading for references.
    pub title: Text,
    /// A paragraph for references; may be empty.
    pub description: Text,
    /// Subdomains, sorted by code.
    pub subdomains: List<Subdomain>,
}

/// A group of errors inside a domain (`services.storage`).
#[derive(Debug, Clone, PartialEq)]
pub struct Subdomain {
    /// The name, the second part of every id in the subdomain.
    pub name: Text,
    /// The subdomain's number: the second byte of packed codes.
    pub code: u32,
    /// A heading for references.
    pub title: Text,
    /// A paragraph for references; may be empty.
    pub description: Text,
}

/// One catalogued error.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorDef {
    /// Stable dotted id, derived from where the error is defined
    /// (`pages.not_found`, `services.storage.not_found`).
    pub id: Text,
    /// The domain the error belongs to.
    pub domain: Text,
    /// The subdomain, when the error is in one.
    pub subdomain: Option<Text>,
    /// The full numeric code (`6003`, `0x0101000b`).
    pub code: u32,
    /// PascalCase name for programs (`PageNotFound`).
    pub slug: Text,
    /// Fixes the HTTP status and the GraphQL `extensions.code`.
    pub class: Class,
    /// The message, in the catalog's source language.
    pub message: Template,
    /// When the error happens.
    pub description: Text,
    /// What the client should do.
    pub advice: Advice,
    /// The catalog version that introduced the error.
    pub since: Option<Text>,
    /// Set once the error is on its way out.
    pub deprecated: Option<Deprecation>,
    /// An example of the situation, for references.
    pub example: Option<Text>,
    /// Message overrides per locale, sorted by locale.
    pub translations: List<Translation>,
}

/// When and why an error was deprecated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deprecation {
    /// The catalog version that deprecated the error.
    pub since: Text,
    /// The id of the error to use instead.
    pub replacement: Option<Text>,
}

/// A message in another locale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    /// A BCP 47 language tag (`fr`, `pt-BR`).
    pub locale: Text,
    /// The translated message, with the source message's placeholders.
    pub message: Template,
}

impl Catalog {
    /// Formats a code as this catalog's references do.
    pub fn format_code(&self, code: u32) -> String {
        self.scheme.format_code(code)
    }

    /// Finds an error by id.
    pub fn by_id(&self, id: &str) -> Option<&ErrorDef> {
        self.errors.iter().find(|e| e.id == id)
    }

    /// Finds an error by its numeric code.
    pub fn by_code(&self, code: u32) -> Option<&ErrorDef> {
        self.errors
            .binary_search_by_key(&code, |e| e.code)
            .ok()
            .map(|i| &self.errors[i])
    }

    /// Finds an error by slug.
    pub fn by_slug(&self, slug: &str) -> Option<&ErrorDef> {
        self.errors.iter().find(|e| e.slug == slug)
    }

    /// Finds an error by id, slug, decimal code or `0x` hexadecimal code.
    pub fn lookup(&self, key: &str) -> Option<&ErrorDef> {
        let key = key.trim();
        if let Some(hex) = key.strip_prefix("0x").or_else(|| key.strip_prefix("0X")) {
            return u32::from_str_radix(hex, 16)
                .ok()
                .and_then(|c| self.by_code(c));
        }
        if let Ok(code) = key.parse::<u32>() {
            return self.by_code(code);
        }
        self.by_id(key).or_else(|| self.by_slug(key))
    }

    /// The domain called `name`.
    pub fn domain(&self, name: &str) -> Option<&Domain> {
        self.domains.iter().find(|d| d.name == name)
    }
}

impl Domain {
    /// The subdomain called `name`.
    pub fn subdomain(&self, name: &str) -> Option<&Subdomain> {
        self.subdomains.iter().find(|s| s.name == name)
    }
}

impl ErrorDef {
    /// The message template for `locale`, falling back to the source message.
    /// A tag matches its language too: `fr-CA` finds `fr`.
    pub fn message_for(&self, locale: Option<&str>) -> &Template {
        let Some(locale) = locale else {
            return &self.message;
        };
        let exact = self
            .translations
            .iter()
            .find(|t| t.locale.eq_ignore_ascii_case(locale));
        let language = || {
            let lang = locale.split('-').next().unwrap_or(locale);
            self.translations
                .iter()
                .find(|t| t.locale.eq_ignore_ascii_case(lang))
        };
        exact
            .or_else(language)
            .map_or(&self.message, |t| &t.message)
    }

    /// True when the error is deprecated.
    pub fn is_deprecated(&self) -> bool {
        self.deprecated.is_some()
    }
}

/// Builds an owned list; a shorthand for loaders.
pub(crate) fn owned<T: Clone>(items: Vec<T>) -> List<T> {
    Cow::Owned(items)
}
