//! A message template from a catalog file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|source: &str| {
    if let Ok(t) = errata_catalog::Template::parse(source) {
        let args: Vec<&str> = t.placeholders.iter().map(|_| "x").collect();
        let _ = t.render(&args);
    }
});
