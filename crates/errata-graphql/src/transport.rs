//! GraphQL over HTTP: which media type to answer with, and how a GraphQL
//! request is read from a GET query string or a POST body.
//!
//! Every failure is a catalogued `http.*` error; nothing here panics on
//! input, whatever its bytes.

use serde_json::{Map, Value};

use errata_catalog::Error;
use errata_errors::http as errors;

/// The media type of a GraphQL response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    /// `application/graphql-response+json`: status codes tell request errors apart.
    GraphqlResponseJson,
    /// `application/json`: every well-formed GraphQL request gets 200.
    Json,
}

impl Media {
    /// The `Content-Type` header value.
    pub const fn content_type(self) -> &'static str {
        match self {
            Media::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        }
    }
}

/// Chooses the response media type from an `Accept` header. No header, or
/// `*/*`, means `application/json`; a tie prefers
/// `application/graphql-response+json`.
pub fn negotiate(accept: Option<&str>) -> Result<Media, Error> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(Media::Json);
    };
    let mut best: Option<(u16, u8, Media)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut quality = 1000u16;
        for param in parts {
            if let Some((key, value)) = param.split_once('=')
                && key.trim().eq_ignore_ascii_case("q")
            {
                quality = parse_quality(value.trim()).unwrap_or(0);
            }
        }
        let candidate = match media.as_str() {
            "application/graphql-response+json" => (2, Media::GraphqlResponseJson),
            "application/json" => (1, Media::Json),
            "application/*" | "*/*" => (0, Media::Json),
            _ => continue,
        };
        if quality == 0 {
            continue;
        }
        if best.is_none_or(|(q, rank, _)| (quality, candidate.0) > (q, rank)) {
            best = Some((quality, candidate.0, candidate.1));
        }
    }
    best.map(|(_, _, media)| media)
        .ok_or_else(errors::not_acceptable)
}

/// A q-value in thousandths: `0.8` is 800.
fn parse_quality(value: &str) -> Option<u16> {
    let q: f32 = value.parse().ok()?;
    (0.0..=1.0)
        .contains(&q)
        .then(|| (q * 1000.0).round() as u16)
}

/// The parameters of a GraphQL request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GraphqlRequest {
    /// The document; empty when only a persisted query hash was sent.
    pub query: String,
    /// The operation to run, when the document has several.
    pub operation_name: Option<String>,
    /// Variable values.
    pub variables: Map<String, Value>,
    /// Protocol extensions, such as `persistedQuery`.
    pub extensions: Map<String, Value>,
}

/// Reads a GET request's parameters from its query string.
pub fn decode_get(query_string: &str) -> Result<GraphqlRequest, Error> {
    let mut request = GraphqlRequest::default();
    for (key, value) in form_urlencoded::parse(query_string.as_bytes()) {
        match &*key {
            "query" => request.query = value.into_owned(),
            "operationName" if !value.is_empty() => {
                request.operation_name = Some(value.into_owned())
            }
            "variables" if !value.is_empty() => request.variables = json_map(&value, "variables")?,
            "extensions" if !value.is_empty() => {
                request.extensions = json_map(&value, "extensions")?
            }
            _ => {}
        }
    }
    require_query(request)
}

fn json_map(text: &str, parameter: &'static str) -> Result<Map<String, Value>, Error> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Null) => Ok(Map::new()),
        _ => Err(errors::parameter_invalid(parameter, "a JSON-encoded map")),
    }
}

/// Checks that a POST body is JSON in UTF-8, as its `Content-Type` says.
pub fn check_content_type(content_type: Option<&str>) -> Result<(), Error> {
    let Some(content_type) = content_type else {
        return Err(errors::unsupported_media_type("none"));
    };
    let mut parts = content_type.split(';');
    let essence = parts.next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(errors::unsupported_media_type(truncate(content_type)));
    }
    for param in parts {
        if let Some((key, value)) = param.split_once('=')
            && key.trim().eq_ignore_ascii_case("charset")
            && !value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        {
            return Err(errors::unsupported_media_type(truncate(content_type)));
        }
    }
    Ok(())
}

/// Reads a POST request's parameters from its body.
pub fn decode_post(content_type: Option<&str>, body: &[u8]) -> Result<GraphqlRequest, Error> {
    check_content_type(content_type)?;
    if std::str::from_utf8(body).is_err() {
        return Err(errors::body_not_utf8());
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(errors::query_missing());
    }
    // The parameters straight into their fields: a map of the whole body
    // first would cost a hash table per request. Anything but an object is
    // read as a value, so that it gets the same error as before.
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        serde_json::from_slice::<serde::de::IgnoredAny>(body)
            .map_err(|e| errors::json_invalid(json_problem(&e)))?;
        return Err(errors::parameter_invalid("body", "a JSON object"));
    }
    let params: PostParams =
        serde_json::from_slice(body).map_err(|e| errors::json_invalid(json_problem(&e)))?;
    let request = GraphqlRequest {
        query: match params.query {
            Some(Value::String(q)) => q,
            None | Some(Value::Null) => String::new(),
            Some(_) => return Err(errors::parameter_invalid("query", "a string")),
        },
        operation_name: match params.operation_name {
            Some(Value::String(name)) if !name.is_empty() => Some(name),
            None | Some(Value::Null) | Some(Value::String(_)) => None,
            Some(_) => return Err(errors::parameter_invalid("operationName", "a string")),
        },
        variables: map_param(params.variables, "variables")?,
        extensions: map_param(params.extensions, "extensions")?,
    };
    require_query(request)
}

/// The parameters of a POST body; other members are ignored, as the
/// GraphQL-over-HTTP specification allows.
#[derive(serde::Deserialize)]
struct PostParams {
    #[serde(default)]
    query: Option<Value>,
    #[serde(default, rename = "operationName")]
    operation_name: Option<Value>,
    #[serde(default)]
    variables: Option<Value>,
    #[serde(default)]
    extensions: Option<Value>,
}

fn map_param(value: Option<Value>, parameter: &'static str) -> Result<Map<String, Value>, Error> {
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(errors::parameter_invalid(parameter, "a map")),
    }
}

fn require_query(request: GraphqlRequest) -> Result<GraphqlRequest, Error> {
    let persisted = request.extensions.get("persistedQuery").is_some();
    if request.query.trim().is_empty() && !persisted {
        return Err(errors::query_missing());
    }
    Ok(request)
}

/// serde_json's message without its position suffix, which means nothing
/// to a client that did not write the JSON by hand; the position is kept
/// as line and column words.
fn json_problem(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Eof => "it ends too early",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Io => "unreadable",
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

/// Keeps a client-supplied value short enough to echo back.
fn truncate(text: &str) -> String {
    const MAX: usize = 64;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accept_chooses_the_media_type() {
        assert_eq!(negotiate(None).unwrap(), Media::Json);
        assert_eq!(negotiate(Some("*/*")).unwrap(), Media::Json);
        assert_eq!(negotiate(Some("application/json")).unwrap(), Media::Json);
        assert_eq!(
            negotiate(Some(
                "application/graphql-response+json, application/json;q=0.9"
            ))
            .unwrap(),
            Media::GraphqlResponseJson
        );
        assert_eq!(
            negotiate(Some("application/json, application/graphql-response+json")).unwrap(),
            Media::GraphqlResponseJson
        );
        assert_eq!(
            negotiate(Some(
                "application/graphql-response+json;q=0.5, application/json"
            ))
            .unwrap(),
            Media::Json
        );
        let err = negotiate(Some("text/html")).unwrap_err();
        assert_eq!(err.slug(), "HttpNotAcceptable");
        assert!(negotiate(Some("application/json;q=0")).is_err());
    }

    #[test]
    fn post_bodies_are_decoded() {
        let r = decode_post(
            Some("application/json; charset=utf-8"),
            br#"{"query":"{ a }","operationName":"A","variables":{"x":1},"extensions":{"e":true}}"#,
        )
        .unwrap();
        assert_eq!(r.query, "{ a }");
        assert_eq!(r.operation_name.as_deref(), Some("A"));
        assert_eq!(r.variables["x"], 1);
        assert_eq!(r.extensions["e"], true);
    }

    #[test]
    fn bad_post_bodies_get_their_own_errors() {
        let slug = |ct: Option<&str>, body: &[u8]| decode_post(ct, body).unwrap_err().slug();
        assert_eq!(slug(None, b"{}"), "HttpUnsupportedMediaType");
        assert_eq!(slug(Some("text/plain"), b"{}"), "HttpUnsupportedMediaType");
        assert_eq!(
            slug(Some("application/json; charset=latin1"), b"{}"),
            "HttpUnsupportedMediaType"
        );
        assert_eq!(
            slug(Some("application/json"), b"{ \"not a JSON"),
            "HttpJsonInvalid"
        );
        assert_eq!(slug(Some("application/json"), b""), "HttpQueryMissing");
        assert_eq!(
            slug(Some("application/json"), b"{\"qeury\":\"{a}\"}"),
            "HttpQueryMissing"
        );
        assert_eq!(
            slug(Some("application/json"), b"{\"query\":{\"obj\":1}}"),
            "HttpParameterInvalid"
        );
        assert_eq!(
            slug(
                Some("application/json"),
                b"{\"query\":\"{a}\",\"variables\":[1]}"
            ),
            "HttpParameterInvalid"
        );
        assert_eq!(
            slug(Some("application/json"), b"[1]"),
            "HttpParameterInvalid"
        );
        assert_eq!(
            slug(Some("application/json"), b"{\"query\":\"\xff\"}"),
            "HttpBodyNotUtf8"
        );
    }

    #[test]
    fn get_parameters_are_decoded() {
        let r =
            decode_get("query=%7B%20a%20%7D&variables=%7B%22x%22%3A1%7D&operationName=A").unwrap();
        assert_eq!(r.query, "{ a }");
        assert_eq!(r.variables["x"], 1);
        assert_eq!(
            decode_get("query=%7Ba%7D&variables=nope")
                .unwrap_err()
                .slug(),
            "HttpParameterInvalid"
        );
        assert_eq!(decode_get("").unwrap_err().slug(), "HttpQueryMissing");
    }

    #[test]
    fn echoed_content_types_are_truncated() {
        let long = format!("text/{}", "x".repeat(500));
        let err = decode_post(Some(&long), b"{}").unwrap_err();
        assert!(err.message().chars().count() < 150, "{}", err.message());
    }

    #[test]
    fn a_parameter_given_twice_is_refused_rather_than_guessed() {
        let err = decode_post(
            Some("application/json"),
            br#"{"query":"{ a }","query":"{ b }"}"#,
        )
        .unwrap_err();
        assert_eq!(err.slug(), "HttpJsonInvalid");
        for body in [&b"[1]"[..], b"null", b" \"q\"", b"12"] {
            let err = decode_post(Some("application/json"), body).unwrap_err();
            assert_eq!(err.slug(), "HttpParameterInvalid", "{body:?}");
        }
        let err = decode_post(Some("application/json"), b"nul").unwrap_err();
        assert_eq!(err.slug(), "HttpJsonInvalid");
    }

    proptest! {
        #[test]
        fn parameters_are_what_the_json_object_holds(
            query in ".{0,40}",
            name in proptest::option::of("[A-Za-z]{0,8}"),
            var in any::<i64>(),
            extra in "x_[a-z]{1,6}",
            spaces in "[ \t\r\n]{0,3}",
        ) {
            let mut object = serde_json::json!({"query": query, "variables": {"v": var}});
            object[&extra] = serde_json::json!([1, {"query": 2}]);
            if let Some(n) = &name {
                object["operationName"] = serde_json::json!(n);
            }
            let body = format!("{spaces}{object}{spaces}");
            match decode_post(Some("application/json"), body.as_bytes()) {
                Ok(r) => {
                    prop_assert_eq!(&r.query, &query);
                    prop_assert_eq!(r.operation_name, name.filter(|n| !n.is_empty()));
                    prop_assert_eq!(&r.variables["v"], &serde_json::json!(var));
                    prop_assert!(r.extensions.is_empty());
                }
                Err(e) => {
                    prop_assert!(query.trim().is_empty());
                    prop_assert_eq!(e.slug(), "HttpQueryMissing");
                }
            }
        }

        #[test]
        fn decoding_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256), ct in ".{0,40}") {
            let _ = decode_post(Some(&ct), &body);
            let _ = decode_post(Some("application/json"), &body);
        }

        #[test]
        fn query_strings_never_panic(qs in ".{0,200}") {
            let _ = decode_get(&qs);
        }

        #[test]
        fn accept_headers_never_panic(accept in ".{0,120}") {
            let _ = negotiate(Some(&accept));
        }
    }
}
