//! The error catalog as GraphQL: the errors this server raises, by page,
//! filter or key.

use async_graphql::{Enum, InputObject, Object, Result, SimpleObject};
use errata_catalog::{Catalog, Class, ErrorDef};
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
        let matching: Vec<&'static ErrorDef> = catalog
            .errors
            .iter()
            .filter(|e| filter.matches(e))
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
    /// Words that must all appear in the id, slug, message or description.
    search: Option<String>,
}

impl ErrorFilter {
    fn matches(&self, e: &ErrorDef) -> bool {
        if self.domain.as_deref().is_some_and(|d| d != e.domain) {
            return false;
        }
        if self.class.is_some_and(|c| Class::from(c) != e.class) {
            return false;
        }
        match &self.search {
            None => true,
            Some(words) => {
                let haystack = format!(
                    "{} {} {} {} {}",
                    e.code, e.id, e.slug, e.message.source, e.description
                )
                .to_lowercase();
                words
                    .to_lowercase()
                    .split_whitespace()
                    .all(|w| haystack.contains(w))
            }
        }
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
