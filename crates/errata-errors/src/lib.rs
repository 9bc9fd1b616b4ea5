//! errata's own error catalog, compiled in.
//!
//! The TOML files of `catalog/` at the repository root become one
//! constructor per error, such as `errata_errors::pages::not_found()`, and
//! [`CATALOG`], from which the server renders its references. Editing the
//! catalog changes this crate's API: removing an error that code still
//! raises, or changing its placeholders, fails the build where it is used.
//!
//! Architecture invariant: this crate is only the compiled catalog. It holds
//! no logic and depends on nothing but `errata-catalog` and `errata-macros`.

errata_macros::catalog!("../../../catalog");

#[cfg(test)]
mod tests {
    #[test]
    fn constructors_build_catalogued_errors() {
        let err = crate::pages::not_found();
        assert_eq!(err.code(), 6003);
        assert_eq!(err.slug(), "PageNotFound");
        assert!(err.is(crate::pages::NOT_FOUND));
        let err = crate::cli::entry_not_found("nope");
        assert_eq!(err.message(), "No catalog entry matches \"nope\".");
    }

    #[test]
    fn every_message_ships_in_english_and_french() {
        let missing: Vec<&str> = crate::CATALOG
            .errors
            .iter()
            .filter(|e| !e.translations.iter().any(|t| t.locale == "fr"))
            .map(|e| &*e.id)
            .collect();
        assert!(missing.is_empty(), "no French message for {missing:?}");
    }

    #[test]
    fn the_compiled_catalog_is_the_loaded_one() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalog");
        let loaded = errata_catalog::load_dir(&dir).expect("the server catalog is valid");
        assert_eq!(&loaded, &crate::CATALOG);
    }
}
