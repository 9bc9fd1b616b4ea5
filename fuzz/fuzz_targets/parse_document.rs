//! A GraphQL document, as untrusted text: the parser, the token counter and
//! the limits must finish without panicking, whatever the nesting.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|source: &str| {
    let limits = errata_graphql::Limits::default();
    let _ = errata_graphql::limits::count_tokens(source, 10_000);
    if let Ok(doc) = errata_graphql::syntax::parse(source) {
        let _ = limits.check_document(&doc);
    }
});
