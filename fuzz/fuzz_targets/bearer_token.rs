//! An `Authorization` header value, parsed and, when it holds a bearer
//! token, verified as a JWT.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static SIGNER: LazyLock<errata_identity::jwt::Signer> =
    LazyLock::new(|| errata_identity::jwt::Signer::new(b"fuzzing-key-fuzzing-key-fuzzing-key"));

fuzz_target!(|header: &str| {
    if let Ok(token) = errata_identity::login::bearer_token(header) {
        assert!(SIGNER.verify(token).is_err(), "nothing unsigned verifies");
    }
    let _ = SIGNER.verify(header);
});
