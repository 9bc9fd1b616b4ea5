//! The error catalog as GraphQL: the errors this server raises, by page,
//! filter or key.

use std::sync::OnceLock;

use async_graphql::{Enum, InputObject, Object, Result, SimpleObject};
use errata_catalog::{Catalog, Class, Error, ErrorDef};
use errata_errors::system;

use super::context::{CATALOG_MAX_AGE, cache_control};

/// Queries over the error catalog.
#[derive(Debug)]
pub struct CatalogQuery;

/// The most errors one page returns.
const MAX_PAGE: i32 = 100;

#[Object(directive = cache_control::apply(CATALOG_MAX_AGE, None))]
impl CatalogQuery {
    /// The catalog's name.
    async fn name(&self) -> &'static str {
        &errata_errors::CATALOG.name
    }

    /// The catalog's version.
    async fn version(&self) -> &'static str {
        &errata_errors::CATALOG.version
    }

    /// Errors matching `filter`, by code, `first` at a time after the cursor `after`.
    async fn errors(
        &self,
        filter: Option<ErrorFilter>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> Result<ErrorPage> {
        if !(1..=MAX_PAGE).contains(&first) {
            return Err(system::argument_out_of_range("first", 1, MAX_PAGE).into());
        }
        let catalog: &'static Catalog = &errata_errors::CATALOG;
        let start = match after {
            None => 0,
            Some(cursor) => decode_cursor(&cursor).ok_or_else(|| system::cursor_invalid(cursor))?,
        };
        let filter = filter.unwrap_or_default();
        let words = filter.search.as_deref().map(search_words).transpose()?;
        let matching: Vec<&'static ErrorDef> = catalog
            .errors
            .iter()
            .zip(haystacks())
            .filter(|(e, haystack)| filter.matches(e, haystack, words.as_deref()))
            .map(|(e, _)| e)
            .collect();
        let from = matching.partition_point(|e| e.code < start);
        let page: Vec<CatalogError> = matching[from..]
            .iter()
            .take(first as usize)
            .map(|e| CatalogError(e))
            .collect();
        let end_cursor = page.last().map(|e| encode_cursor(e.0.code + 1));
        Ok(ErrorPage {
            total_count: matching.len(),
            has_next_page: from + page.len() < matching.len(),
            end_cursor,
            nodes: page,
        })
    }

    /// One error, by id (`pages.not_found`), slug (`PageNotFound`) or code
    /// (`6003`). An unknown key is a NOT_FOUND error, and the field is null.
    async fn error(&self, key: String) -> Result<Option<CatalogError>> {
        match errata_errors::CATALOG.lookup(&key) {
            Some(def) => Ok(Some(CatalogError(def))),
            None => Err(system::catalog_entry_not_found(key).into()),
        }
    }
}

/// Cursors are opaque to clients; inside, the next code to list.
fn encode_cursor(code: u32) -> String {
    format!("c{code:x}")
}

fn decode_cursor(cursor: &str) -> Option<u32> {
    u32::from_str_radix(cursor.strip_prefix('c')?, 16).ok()
}

/// Which errors to list.
#[derive(Debug, Default, InputObject)]
pub struct ErrorFilter {
    /// Only this domain (`pages`).
    domain: Option<String>,
    /// Only this class.
    class: Option<ErrorClass>,
    /// Words that must all appear in the id, slug, message or description:
    /// at most 256 characters and 16 words.
    search: Option<String>,
}

/// The longest search, in characters and in words. Matching costs the
/// search's length for every entry of the catalog, so the length is
/// bounded before anything else is done with the text.
const MAX_SEARCH_CHARS: usize = 256;
const MAX_SEARCH_WORDS: usize = 16;

/// A search's words, lower-cased once for the whole catalog.
fn search_words(search: &str) -> Result<Vec<String>, Error> {
    let too_long = || system::search_too_long(MAX_SEARCH_CHARS, MAX_SEARCH_WORDS);
    if search.chars().nth(MAX_SEARCH_CHARS).is_some() {
        return Err(too_long());
    }
    let words: Vec<String> = search
        .to_lowercase()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if words.len() > MAX_SEARCH_WORDS {
        return Err(too_long());
    }
    Ok(words)
}

/// What a search looks in, for each entry of the catalog in order: made
/// once, as the catalog is compiled in.
fn haystacks() -> &'static [String] {
    static HAYSTACKS: OnceLock<Vec<String>> = OnceLock::new();
    HAYSTACKS.get_or_init(|| {
        errata_errors::CATALOG
            .errors
            .iter()
            .map(|e| {
                format!(
                    "{} {} {} {} {}",
                    e.code, e.id, e.slug, e.message.source, e.description
                )
                .to_lowercase()
            })
            .collect()
    })
}

impl ErrorFilter {
    /// Whether `e`, whose search text is `haystack`, passes; `words` are the
    /// search's, from [`search_words`].
    fn matches(&self, e: &ErrorDef, haystack: &str, words: Option<&[String]>) -> bool {
        if self.domain.as_deref().is_some_and(|d| d != e.domain) {
            return false;
        }
        if self.class.is_some_and(|c| Class::from(c) != e.class) {
            return false;
        }
        words.is_none_or(|words| words.iter().all(|w| haystack.contains(w.as_str())))
    }
}

/// One page of errors.
#[derive(Debug, SimpleObject)]
#[graphql(directive = cache_control::apply(CATALOG_MAX_AGE, None))]
pub struct ErrorPage {
    /// The errors of this page.
    nodes: Vec<CatalogError>,
    /// How many errors match, over all pages.
    total_count: usize,
    /// Whether another page follows.
    has_next_page: bool,
    /// Pass as `after` to get the next page.
    end_cursor: Option<String>,
}

/// One catalogued error.
#[derive(Debug)]
pub struct CatalogError(&'static ErrorDef);

#[Object(directive = cache_control::apply(CATALOG_MAX_AGE, None))]
impl CatalogError {
    /// Stable dotted id.
    async fn id(&self) -> &str {
        &self.0.id
    }
    /// Numeric code.
    async fn code(&self) -> u32 {
        self.0.code
    }
    /// PascalCase name.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// The class, which fixes status and extensions.code.
    async fn class(&self) -> ErrorClass {
        ErrorClass::from(self.0.class)
    }
    /// The HTTP status of the class.
    async fn status(&self) -> u16 {
        self.0.class.status()
    }
    /// The GraphQL extensions.code of the class.
    async fn graphql_code(&self) -> &str {
        self.0.class.graphql_code()
    }
    /// The message template, in `locale` when it has a translation.
    async fn message(&self, locale: Option<String>) -> &str {
        &self.0.message_for(locale.as_deref()).source
    }
    /// When it happens.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// What a client should do.
    async fn advice(&self) -> &str {
        self.0.advice.text()
    }
    /// The version that deprecated it, if any.
    async fn deprecated_since(&self) -> Option<&str> {
        self.0.deprecated.as_ref().map(|d| &*d.since)
    }
}

macro_rules! error_class {
    ($($variant:ident),* $(,)?) => {
        /// The class of an error.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
        pub enum ErrorClass { $($variant,)* }

        impl From<Class> for ErrorClass {
            fn from(c: Class) -> ErrorClass {
                match c { $(Class::$variant => ErrorClass::$variant,)* }
            }
        }

        impl From<ErrorClass> for Class {
            fn from(c: ErrorClass) -> Class {
                match c { $(ErrorClass::$variant => Class::$variant,)* }
            }
        }
    };
}

error_class!(
    BadRequest,
    Unauthenticated,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    NotAcceptable,
    Conflict,
    Precondition,
    SizeLimit,
    UnsupportedMediaType,
    TooManyRequests,
    Partial,
    Internal,
    ExternalService,
    ServiceUnavailable,
    GatewayTimeout,
    GraphqlParseFailed,
    GraphqlValidationFailed,
    PersistedQueryNotFound,
    OperationResolutionFailure,
);
