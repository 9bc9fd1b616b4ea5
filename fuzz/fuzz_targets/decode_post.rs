//! A POST body and a Content-Type, as untrusted bytes: decoding must answer
//! with parameters or a catalogued error, never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &[u8])| {
    let (content_type, body) = input;
    let _ = errata_graphql::decode_post(Some(content_type), body);
    let _ = errata_graphql::decode_post(Some("application/json"), body);
    let _ = errata_graphql::negotiate(Some(content_type));
});
