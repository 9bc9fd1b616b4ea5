//! `catalog diff` classifies every kind of change by what it does to
//! clients written against the old catalog.

use errata_catalog::diff::{Severity, diff};
use errata_catalog::load::FileText;
use errata_catalog::{Catalog, Files, load};

const BASE: &str = r#"[domain]
code = 6

[errors.not_found]
code = 6003
slug = "PageNotFound"
class = "NotFound"
message = "Page \"{path}\" does not exist."
description = "No page at that path."

[errors.empty_content]
code = 6004
slug = "PageEmptyContent"
class = "BadRequest"
message = "Page content cannot be empty."
description = "Empty content."
"#;

fn catalog(version: &str, pages: &str) -> Catalog {
    let file = |path: &str, text: String| FileText {
        path: path.into(),
        text,
    };
    let files = Files {
        manifest: Some(file(
            "catalog.toml",
            format!("name = \"t\"\nversion = \"{version}\"\nscheme = \"ranges\"\n"),
        )),
        domains: [("pages".to_owned(), file("pages.toml", pages.to_owned()))].into(),
        locales: Default::default(),
    };
    load(&files).unwrap_or_else(|p| panic!("{p}"))
}

/// The (severity, change, id) of every finding between BASE and `pages`.
fn changes(pages: &str) -> Vec<(Severity, &'static str, String)> {
    diff(&catalog("1", BASE), &catalog("2", pages))
        .findings
        .into_iter()
        .map(|f| (f.kind, f.change, f.id))
        .collect()
}

fn one(pages: &str, severity: Severity, change: &str) {
    let found = changes(pages);
    assert!(
        found.iter().any(|(s, c, _)| *s == severity && *c == change),
        "expected {severity:?} {change}, got {found:?}"
    );
}

#[test]
fn identical_catalogs_have_no_findings() {
    assert!(changes(BASE).is_empty());
}

#[test]
fn removing_an_error_without_deprecation_is_breaking() {
    let pages = BASE.split("[errors.empty_content]").next().unwrap();
    one(pages, Severity::Breaking, "removed");
}

#[test]
fn renumbering_is_breaking() {
    one(
        &BASE.replace("code = 6004", "code = 6005"),
        Severity::Breaking,
        "code-renumbered",
    );
}

#[test]
fn reusing_a_code_for_another_id_is_breaking() {
    let pages = BASE.replace("[errors.empty_content]", "[errors.blank_content]");
    let found = changes(&pages);
    assert!(
        found.contains(&(
            Severity::Breaking,
            "code-reused",
            "pages.blank_content".into()
        )),
        "{found:?}"
    );
    assert!(
        found.contains(&(Severity::Breaking, "removed", "pages.empty_content".into())),
        "{found:?}"
    );
}

#[test]
fn changing_the_class_or_status_is_breaking() {
    let pages = BASE.replace("class = \"BadRequest\"", "class = \"Precondition\"");
    let report = diff(&catalog("1", BASE), &catalog("2", &pages));
    let finding = report
        .findings
        .iter()
        .find(|f| f.change == "class-changed")
        .unwrap();
    assert_eq!(finding.kind, Severity::Breaking);
    assert_eq!(finding.old["status"], 400);
    assert_eq!(finding.new["status"], 412);
}

#[test]
fn removing_or_renaming_a_placeholder_is_breaking() {
    one(
        &BASE.replace("{path}", "{page}"),
        Severity::Breaking,
        "placeholder-removed",
    );
    one(
        &BASE.replace("Page \\\"{path}\\\" does", "This page does"),
        Severity::Breaking,
        "placeholder-removed",
    );
}

#[test]
fn changing_a_slug_is_breaking() {
    one(
        &BASE.replace("PageEmptyContent", "PageContentEmpty"),
        Severity::Breaking,
        "slug-changed",
    );
}

#[test]
fn rewording_a_message_is_dangerous() {
    let found = changes(&BASE.replace("cannot be empty", "must not be empty"));
    assert_eq!(
        found,
        vec![(
            Severity::Dangerous,
            "message-changed",
            "pages.empty_content".to_owned()
        )]
    );
}

#[test]
fn adding_deprecating_and_redescribing_are_safe() {
    let added = format!(
        "{BASE}\n[errors.illegal_path]\ncode = 6005\nslug = \"PageIllegalPath\"\nclass = \"BadRequest\"\nmessage = \"m\"\ndescription = \"d\"\n"
    );
    assert_eq!(
        changes(&added),
        vec![(Severity::Safe, "added", "pages.illegal_path".to_owned())]
    );
    let deprecated = format!("{BASE}deprecated = \"2\"\n");
    assert_eq!(
        changes(&deprecated),
        vec![(
            Severity::Safe,
            "deprecated",
            "pages.empty_content".to_owned()
        )]
    );
    let redescribed = BASE.replace("Empty content.", "The content is empty.");
    assert_eq!(
        changes(&redescribed),
        vec![(
            Severity::Safe,
            "description-changed",
            "pages.empty_content".to_owned()
        )]
    );
}

#[test]
fn removing_a_deprecated_error_is_safe() {
    let old = catalog("1", &format!("{BASE}deprecated = \"2\"\n"));
    let new = catalog("2", BASE.split("[errors.empty_content]").next().unwrap());
    let report = diff(&old, &new);
    assert!(!report.is_breaking(), "{}", report.to_text());
    assert_eq!(report.findings[0].change, "removed-after-deprecation");
}
