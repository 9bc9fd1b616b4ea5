//! A token endpoint request: its body under each content type, and HTTP
//! Basic credentials, as untrusted bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for content_type in [
        None,
        Some("application/x-www-form-urlencoded"),
        Some("application/json"),
        Some("text/plain"),
    ] {
        let _ = errata_server::oauth::parameters(content_type, data);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = errata_server::oauth::decode_basic(text);
    }
});
