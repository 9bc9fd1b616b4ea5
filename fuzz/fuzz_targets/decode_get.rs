//! A GET query string, as untrusted text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|query_string: &str| {
    let _ = errata_graphql::decode_get(query_string);
});
