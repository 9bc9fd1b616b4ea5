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

    /// Puts `request_id` in place of the one it was rendered with.
    pub fn set_request_id(&mut self, request_id: &str) {
        request_id.clone_into(&mut self.extensions.request_id);
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

/// What stands in for the request id while a body is rendered once and
/// reused: a control character, which no sane request id contains and which
/// JSON writes as `\u0002`.
pub const REQUEST_ID_MARK: &str = "\u{2}";
const REQUEST_ID_HOLE: &str = "\\u0002";
/// What stands in for a number: a string detail, written `"\u0003"`.
pub const NUMBER_MARK: &str = "\u{3}";
const NUMBER_HOLE: &str = "\"\\u0003\"";

/// A body rendered once, with holes for what changes per request: the
/// request id and, for some errors, one number (`retryAfter`). Filling it
/// costs a copy, where rendering costs the message, the extensions and
/// serde for every response.
#[derive(Debug, Clone)]
pub struct Template {
    /// Text, then the hole after it; the last piece has none.
    pieces: Vec<(Box<str>, Option<Hole>)>,
    len: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hole {
    RequestId,
    Number,
}

impl Template {
    /// Cuts a body rendered with [`REQUEST_ID_MARK`] as the request id and
    /// [`NUMBER_MARK`] as string details. `None` when the marks appear a
    /// number of times other than `request_ids` and `numbers`, which would
    /// mean the data itself holds them, or when `rendered` is not UTF-8.
    pub fn cut(rendered: &[u8], request_ids: usize, numbers: usize) -> Option<Template> {
        let mut pieces = Vec::new();
        let mut rest = std::str::from_utf8(rendered).ok()?;
        let (mut ids, mut nums) = (0, 0);
        loop {
            let id = rest.find(REQUEST_ID_HOLE);
            let num = rest.find(NUMBER_HOLE);
            let (at, hole, width) = match (id, num) {
                (Some(i), Some(n)) if n < i => (n, Hole::Number, NUMBER_HOLE.len()),
                (Some(i), _) => (i, Hole::RequestId, REQUEST_ID_HOLE.len()),
                (None, Some(n)) => (n, Hole::Number, NUMBER_HOLE.len()),
                (None, None) => break,
            };
            match hole {
                Hole::RequestId => ids += 1,
                Hole::Number => nums += 1,
            }
            pieces.push((Box::from(&rest[..at]), Some(hole)));
            rest = &rest[at + width..];
        }
        pieces.push((Box::from(rest), None));
        (ids == request_ids && nums == numbers).then(|| Template {
            len: pieces.iter().map(|(p, _): &(Box<str>, _)| p.len()).sum(),
            pieces,
        })
    }

    /// The heap bytes it holds: its text, and the list of its pieces.
    pub fn weight(&self) -> usize {
        self.len + self.pieces.len() * std::mem::size_of::<(Box<str>, Option<Hole>)>()
    }

    /// The body for one response.
    pub fn fill(&self, request_id: &str, number: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len + 4 * request_id.len() + 20);
        for (text, hole) in &self.pieces {
            out.extend_from_slice(text.as_bytes());
            match hole {
                // Request ids are checked to be plain ASCII, which JSON
                // needs no escape for; an id made here is base32.
                Some(Hole::RequestId) => out.extend_from_slice(request_id.as_bytes()),
                Some(Hole::Number) => out.extend_from_slice(number.to_string().as_bytes()),
                None => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use errata_errors::http;

    #[test]
    fn a_template_fills_to_what_rendering_gives() {
        let error = http::rate_limited().with_detail("retryAfter", NUMBER_MARK);
        let rendered = error_body(&error, Some("fr"), REQUEST_ID_MARK);
        let template = Template::cut(&rendered, 2, 1).expect("two ids and one number");
        let direct = error_body(
            &http::rate_limited().with_detail("retryAfter", 17),
            Some("fr"),
            "abc-1",
        );
        assert_eq!(template.fill("abc-1", 17), direct);
        assert!(Template::cut(&rendered, 1, 1).is_none());
        assert!(Template::cut(&rendered, 2, 0).is_none());
    }
}
