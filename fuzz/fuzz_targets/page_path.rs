//! A page path as a client writes it.
#![no_main]

use errata_pages::path::parse_path;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    if let Ok(path) = parse_path(input) {
        assert_eq!(
            parse_path(&path).ok().as_deref(),
            Some(path.as_str()),
            "a stored path is accepted unchanged"
        );
    }
});
