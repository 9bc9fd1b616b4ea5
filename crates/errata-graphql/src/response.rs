//! The GraphQL response as it goes on the wire.
//!
//! Every entry of `errors[]` has the same `extensions` whatever made it:
//! `code` (from the class), `errorCode`, `slug`, `id`, `requestId`, then the
//! error's own details (`rule`, `limit`, `retryAfter`, ...). The response
//! itself carries `extensions.requestId`, as GraphCMS does.

use serde::Serialize;
use serde_json::Value;

use errata_catalog::Error;
use errata_catalog::error::Details;

/// A position in the document, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

/// One entry of `errors[]`, ready to serialize.
#[derive(Debug, Serialize)]
pub struct WireError {
    message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<Value>,
    extensions: WireExtensions,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct WireExtensions {
    code: &'static str,
    error_code: u32,
    slug: &'static str,
    id: &'static str,
    request_id: String,
    #[serde(flatten)]
    details: OwnedDetails,
}

#[derive(Debug)]
struct OwnedDetails(Vec<(&'static str, Value)>);

impl Serialize for OwnedDetails {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Details(&self.0).serialize(serializer)
    }
}

impl WireError {
    /// Renders a catalogued error in `locale`.
    pub fn new(
        error: &Error,
        locale: Option<&str>,
        request_id: &str,
        locations: Vec<Location>,
        path: Option<Value>,
    ) -> WireError {
        let def = error.def();
        WireError {
            message: error.message_in(locale).into_owned(),
            locations,
            path,
            extensions: WireExtensions {
                code: def.class.graphql_code(),
                error_code: def.code,
                slug: &def.slug,
                id: &def.id,
                request_id: request_id.to_owned(),
                details: OwnedDetails(error.details().to_vec()),
            },
        }
    }

    /// The numeric code, for metrics.
    pub fn error_code(&self) -> u32 {
        self.extensions.error_code
    }
}

/// A whole response body.
#[derive(Debug, Serialize)]
pub struct Body<'a> {
    /// Absent for request errors (GraphQL spec §7.1.1), present otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<&'a async_graphql::Value>,
    /// Absent when there are none.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub errors: &'a [WireError],
    /// `{"requestId": ...}`.
    pub extensions: BodyExtensions<'a>,
}

/// The response-level extensions.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BodyExtensions<'a> {
    /// The request id, also in the `x-request-id` header.
    pub request_id: &'a str,
}

impl Body<'_> {
    /// The body as JSON bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a response is plain data")
    }
}

/// A body with only errors, for failures before any GraphQL is read.
pub fn error_body(error: &Error, locale: Option<&str>, request_id: &str) -> Vec<u8> {
    let errors = [WireError::new(error, locale, request_id, Vec::new(), None)];
    Body {
        data: None,
        errors: &errors,
        extensions: BodyExtensions { request_id },
    }
    .to_vec()
}
