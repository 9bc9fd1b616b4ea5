//! `POST /oauth/token`: the OAuth 2.0 client credentials grant (RFC 6749
//! §4.4), with errors in OAuth's own format (§5.2), not GraphQL's.
//!
//! The body is a form, as the RFC says; JSON is accepted too. Clients
//! authenticate with HTTP Basic (§2.3.1) or with body parameters, not both.
//! Every answer carries `Cache-Control: no-store`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use errata_catalog::{Class, Error};
use errata_errors::oauth::{invalid_client, invalid_request, unsupported_grant_type};
use errata_identity::clients::{MAX_CLIENT_ID, MAX_CLIENT_SECRET};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

use crate::metrics::count_error;
use crate::ratelimit::Client;
use crate::request::{ClientAddr, RequestMeta};
use crate::state::AppState;

/// Largest token request body.
const MAX_BODY: usize = 16 * 1024;
/// Longest scope parameter.
const MAX_SCOPE: usize = 1024;

/// The token endpoint.
pub async fn token(
    State(state): State<Arc<AppState>>,
    axum::extract::Extension(ClientAddr(client)): axum::extract::Extension<ClientAddr>,
    axum::extract::Extension(meta): axum::extract::Extension<RequestMeta>,
    request: Request,
) -> Response {
    if let Some(limiter) = &state.limiter
        && let Err(refusal) = limiter.check(&Client::address(client)).await
    {
        let error =
            errata_errors::http::rate_limited().with_detail("retryAfter", refusal.retry_after);
        let mut response = oauth_error(&error, &meta, false);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(refusal.retry_after));
        return response;
    }
    let (parts, body) = request.into_parts();
    let basic = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("basic")
                .then(|| rest.trim().to_owned())
        });
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(_) => {
            let error =
                errata_errors::http::body_too_large(MAX_BODY).with_detail("limit", MAX_BODY);
            return oauth_error(&error, &meta, false);
        }
    };
    match grant(&state, &parts.headers, basic.as_deref(), &body).await {
        Ok(issued) => {
            let body = serde_json::json!({
                "access_token": issued.access_token,
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
                "scope": issued.scope,
            });
            let mut response = (StatusCode::OK, body.to_string()).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            no_store(headers);
            response
        }
        Err(error) => {
            if let Some(cause) = error.cause() {
                tracing::warn!(id = error.id(), cause = %cause, "token request failed");
            }
            oauth_error(&error, &meta, basic.is_some())
        }
    }
}

/// Anything but POST.
pub async fn method_not_allowed(
    axum::extract::Extension(meta): axum::extract::Extension<RequestMeta>,
) -> Response {
    let mut response = oauth_error(&invalid_request::method_not_allowed(), &meta, false);
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

async fn grant(
    state: &AppState,
    headers: &HeaderMap,
    basic: Option<&str>,
    body: &Bytes,
) -> Result<errata_identity::clients::IssuedToken, Error> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let params = parameters(content_type, body)?;
    let get = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let grant_type = get("grant_type").ok_or_else(invalid_request::grant_type_missing)?;
    if grant_type != "client_credentials" {
        let shown: String = grant_type.chars().take(64).collect();
        return Err(unsupported_grant_type::unsupported(shown));
    }
    let (client_id, client_secret) = match basic {
        Some(credentials) => {
            if get("client_secret").is_some() {
                return Err(invalid_request::multiple_authentications());
            }
            let (id, secret) = decode_basic(credentials)?;
            if get("client_id").is_some_and(|body_id| body_id != id) {
                return Err(invalid_request::multiple_authentications());
            }
            (id, secret)
        }
        None => (
            get("client_id")
                .ok_or_else(invalid_request::client_id_missing)?
                .to_owned(),
            get("client_secret")
                .ok_or_else(invalid_request::client_secret_missing)?
                .to_owned(),
        ),
    };
    if client_id.is_empty() {
        return Err(invalid_request::client_id_missing());
    }
    if client_secret.is_empty() {
        return Err(invalid_request::client_secret_missing());
    }
    for (name, value, max) in [
        ("client_id", client_id.as_str(), MAX_CLIENT_ID),
        ("client_secret", client_secret.as_str(), MAX_CLIENT_SECRET),
        ("scope", get("scope").unwrap_or(""), MAX_SCOPE),
    ] {
        if value.len() > max {
            return Err(invalid_request::parameter_too_long(name, max));
        }
    }
    state
        .identity()?
        .issue_client_token(&client_id, &client_secret, get("scope"))
        .await
}

/// The request's parameters, from a form or a JSON object of strings.
/// A repeated parameter is refused (RFC 6749 §3.2), in JSON too, where a
/// parser keeping the last value would let a later member override what
/// an earlier check read.
pub fn parameters(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<HashMap<String, String>, Error> {
    let media = content_type.map(|v| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    let mut params = HashMap::new();
    // A JSON null is an absent parameter, but still counts as given once.
    let mut seen = HashSet::new();
    let mut add = |name: String, value: Option<String>| {
        if !seen.insert(name.clone()) {
            let shown: String = name.chars().take(64).collect();
            return Err(invalid_request::parameter_repeated(shown));
        }
        if let Some(value) = value {
            params.insert(name, value);
        }
        Ok(())
    };
    match media.as_deref() {
        None | Some("application/x-www-form-urlencoded") => {
            let form = "application/x-www-form-urlencoded";
            if std::str::from_utf8(body).is_err() {
                return Err(invalid_request::body_invalid(form));
            }
            for (name, value) in form_urlencoded::parse(body) {
                add(name.into_owned(), Some(value.into_owned()))?;
            }
        }
        Some("application/json") => {
            let invalid = || invalid_request::body_invalid("JSON");
            let JsonMembers(members) = serde_json::from_slice(body).map_err(|_| invalid())?;
            for (name, value) in members {
                match value {
                    serde_json::Value::String(s) => add(name, Some(s))?,
                    serde_json::Value::Null => add(name, None)?,
                    _ => return Err(invalid()),
                }
            }
        }
        Some(_) => return Err(invalid_request::media_type_unsupported()),
    }
    Ok(params)
}

/// A JSON object's members in order, repeated names kept: a map type would
/// keep only one value of each.
struct JsonMembers(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for JsonMembers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<JsonMembers, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = JsonMembers;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonMembers, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(JsonMembers(members))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

/// `client_id:client_secret` from HTTP Basic credentials, as RFC 6749
/// §2.3.1 has clients send them: base64, split at the first `:`, each part
/// encoded with the application/x-www-form-urlencoded algorithm. Each part
/// is decoded whole, so no byte of it (`&` and `=` included) can end it
/// early and leave the rest of the secret unchecked.
pub fn decode_basic(credentials: &str) -> Result<(String, String), Error> {
    if credentials.len() > 2 * (MAX_CLIENT_ID + MAX_CLIENT_SECRET) {
        return Err(invalid_request::parameter_too_long(
            "client_secret",
            MAX_CLIENT_SECRET,
        ));
    }
    let bytes = STANDARD
        .decode(credentials)
        .map_err(|_| invalid_client::basic_malformed())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid_client::basic_malformed())?;
    let (id, secret) = text
        .split_once(':')
        .ok_or_else(invalid_client::basic_malformed)?;
    Ok((form_decode(id)?, form_decode(secret)?))
}

/// One value of the application/x-www-form-urlencoded format: `+` is a
/// space, `%XX` the octet XX, and every other byte itself (a `%` without two
/// hex digits after it too, as the WHATWG URL standard decodes it). Octets
/// that are not UTF-8 make the credentials malformed rather than being
/// replaced, so that two different secrets cannot decode to the same text.
fn form_decode(text: &str) -> Result<String, Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = match (b, bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&high), Some(&low)) => hex(high).zip(hex(low)).map(|(h, l)| h << 4 | l),
            _ => None,
        };
        if let Some(octet) = escaped {
            out.push(octet);
            i += 3;
        } else {
            out.push(if b == b'+' { b' ' } else { b });
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| invalid_client::basic_malformed())
}

fn hex(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// An error in OAuth's format: `error` is the catalog subdomain for
/// `oauth.*` errors, otherwise the nearest RFC 6749 code. The catalog's
/// code and the request id come along for support. Descriptions are not
/// translated: the RFC limits them to ASCII.
fn oauth_error(error: &Error, meta: &RequestMeta, basic: bool) -> Response {
    let def = error.def();
    count_error(def.code, def.class);
    let code = match def.id.split('.').collect::<Vec<_>>()[..] {
        ["oauth", subdomain, _] => subdomain.to_owned(),
        _ => match def.class {
            Class::TooManyRequests | Class::ServiceUnavailable => {
                "temporarily_unavailable".to_owned()
            }
            Class::Internal | Class::ExternalService | Class::GatewayTimeout => {
                "server_error".to_owned()
            }
            _ => "invalid_request".to_owned(),
        },
    };
    // RFC 6749 §5.2 allows only printable ASCII but `"` and `\` here, so
    // the description is the English message, and anything else a client
    // put into it becomes `?`.
    let description: String = error
        .message()
        .chars()
        .map(|c| match c {
            '"' => '\'',
            ' ' | '!' | '#'..='[' | ']'..='~' => c,
            _ => '?',
        })
        .collect();
    let body = serde_json::json!({
        "error": code,
        "error_description": description,
        "error_code": def.code,
        "request_id": &*meta.id,
    });
    let status =
        StatusCode::from_u16(def.class.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    no_store(headers);
    if basic && status == StatusCode::UNAUTHORIZED {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"errata\", charset=\"UTF-8\""),
        );
    }
    response
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
    const JSON: Option<&str> = Some("application/json; charset=utf-8");

    #[test]
    fn forms_and_json() {
        let p = parameters(
            FORM,
            b"grant_type=client_credentials&scope=read%3Apages+write%3Apages",
        )
        .unwrap();
        assert_eq!(p["scope"], "read:pages write:pages");
        let e = parameters(FORM, b"a=1&a=2").unwrap_err();
        assert_eq!(e.id(), "oauth.invalid_request.parameter_repeated");
        for body in [
            &br#"{"a":"1","a":"2"}"#[..],
            br#"{"a":null,"a":"2"}"#,
            br#"{"a":"1","b":"2","a\u0000":"3","a":"4"}"#,
        ] {
            let e = parameters(JSON, body).unwrap_err();
            assert_eq!(e.id(), "oauth.invalid_request.parameter_repeated");
        }
        let p = parameters(JSON, br#"{"a":"1","b":null}"#).unwrap();
        assert_eq!((p["a"].as_str(), p.get("b")), ("1", None));

        assert_eq!(
            parameters(JSON, br#"{"grant_type":"client_credentials"}"#).unwrap()["grant_type"],
            "client_credentials"
        );
        assert_eq!(
            parameters(JSON, br#"{"grant_type":1}"#).unwrap_err().id(),
            "oauth.invalid_request.body_invalid"
        );
        assert_eq!(
            parameters(JSON, b"[").unwrap_err().id(),
            "oauth.invalid_request.body_invalid"
        );

        assert_eq!(
            parameters(Some("text/xml"), b"").unwrap_err().id(),
            "oauth.invalid_request.media_type_unsupported"
        );
        assert_eq!(
            parameters(FORM, b"\xff=1").unwrap_err().id(),
            "oauth.invalid_request.body_invalid"
        );
    }

    #[test]
    fn basic_credentials() {
        let encoded = STANDARD.encode("my%20id:s%3Acret+x");
        assert_eq!(
            decode_basic(&encoded).unwrap(),
            ("my id".to_owned(), "s:cret x".to_owned())
        );
        for (credentials, secret) in [
            ("id:a&b=c", "a&b=c"),
            ("id:a%26b%3Dc", "a&b=c"),
            ("id:50%", "50%"),
            ("id:%zz%4", "%zz%4"),
            ("id:%e2%82%AC", "\u{20ac}"),
            ("id:a:b", "a:b"),
            ("id:", ""),
        ] {
            assert_eq!(
                decode_basic(&STANDARD.encode(credentials)).unwrap(),
                ("id".to_owned(), secret.to_owned()),
                "{credentials}"
            );
        }
        assert_eq!(
            decode_basic("!!!").unwrap_err().id(),
            "oauth.invalid_client.basic_malformed"
        );
        assert_eq!(
            decode_basic(&STANDARD.encode("no-colon")).unwrap_err().id(),
            "oauth.invalid_client.basic_malformed"
        );
        assert_eq!(
            decode_basic(&STANDARD.encode("id:%ff")).unwrap_err().id(),
            "oauth.invalid_client.basic_malformed",
            "not UTF-8 once decoded"
        );
    }

    proptest! {
        #[test]
        fn any_body_parses_or_is_refused_cleanly(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parameters(FORM, &body);

            let _ = parameters(JSON, &body);
        }

        #[test]
        fn any_basic_credentials_decode_or_are_refused(text in ".{0,200}") {
            let _ = decode_basic(&text);
            let _ = decode_basic(&STANDARD.encode(&text));
        }

        #[test]
        fn any_id_and_secret_encoded_as_rfc_6749_says_decode_back_to_themselves(
            id in proptest::collection::vec(any::<char>(), 0..20).prop_map(String::from_iter),
            secret in proptest::collection::vec(any::<char>(), 0..20).prop_map(String::from_iter),
            every_byte in any::<bool>(),
        ) {
            // Two encoders RFC 6749 allows: the WHATWG serializer (`+` for a
            // space, a few bytes left as they are) and `%XX` for every byte.
            let encode = |text: &str| -> String {
                if every_byte {
                    text.bytes().map(|b| format!("%{b:02x}")).collect()
                } else {
                    form_urlencoded::byte_serialize(text.as_bytes()).collect()
                }
            };
            let credentials = STANDARD.encode(format!("{}:{}", encode(&id), encode(&secret)));
            prop_assert_eq!(decode_basic(&credentials).unwrap(), (id, secret));
        }
    }
}
