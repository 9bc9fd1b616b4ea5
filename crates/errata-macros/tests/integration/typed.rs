//! The constructors generated from a catalog build the errors it defines.

mod errors {
    errata_macros::catalog!("../fixtures/catalog");
}

mod kuzzle {
    errata_macros::catalog!("../../../../catalogs/kuzzle-latest");
}

use errata_catalog::Class;

#[test]
fn a_constructor_per_error_with_its_placeholders_in_order() {
    let err = errors::pages::moved("/a", "/b");
    assert_eq!(err.message(), "Cannot move \"/a\" to \"/b\": /b exists.");
    assert_eq!(err.code(), 6006);
    assert_eq!(err.class(), Class::Conflict);
    assert!(err.is(errors::pages::MOVED));
    let names: Vec<&str> = err.named_args().map(|(name, _)| name).collect();
    assert_eq!(names, ["from", "to"]);
}

#[test]
fn subdomains_are_nested_modules() {
    let err = errors::pages::history::version_missing(3u32, "/home");
    assert_eq!(err.id(), "pages.history.version_missing");
    assert_eq!(err.message(), "Version 3 of /home does not exist.");
}

#[test]
fn keyword_names_become_raw_identifiers() {
    assert_eq!(
        errors::pages::r#type("wiki").message(),
        "Unknown page type wiki."
    );
}

#[test]
fn translations_are_compiled_in() {
    let err = errors::pages::moved("/a", "/b");
    assert_eq!(
        err.message_in(Some("fr")),
        "Impossible de déplacer « /a » vers « /b » : /b existe."
    );
    assert_eq!(
        errors::pages::not_found().message_in(Some("fr-FR")),
        "Cette page n'existe pas."
    );
    assert_eq!(errors::CATALOG.locales.as_ref(), ["fr"]);
}

#[test]
#[allow(deprecated)]
fn deprecated_errors_can_still_be_raised_on_purpose() {
    assert_eq!(errors::pages::renamed().slug(), "PageRenamed");
}

#[test]
fn the_compiled_catalog_equals_the_loaded_one() {
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let loaded = errata_catalog::load_dir(&base.join("tests/fixtures/catalog")).unwrap();
    assert_eq!(loaded, errors::CATALOG);
    let loaded = errata_catalog::load_dir(&base.join("../../catalogs/kuzzle-latest")).unwrap();
    assert_eq!(loaded, kuzzle::CATALOG);
}

#[test]
fn a_packed_catalog_compiles_to_its_packed_codes() {
    let err = kuzzle::services::storage::not_found("doc-1", "index", "collection");
    assert_eq!(err.code(), 0x0101000b);
    assert_eq!(kuzzle::CATALOG.errors.len(), 274);
}
