//! `catalog check`: every kind of mistake is found, located at its file,
//! line and column, and comes with a way to fix it.

use errata_catalog::load::FileText;
use errata_catalog::problem::render_plain;
use errata_catalog::{Files, Problem, ProblemKind, load};

const RANGES: &str = "name = \"t\"\nversion = \"1.0.0\"\nscheme = \"ranges\"\n";
const PACKED: &str = "name = \"t\"\nversion = \"1.0.0\"\nscheme = \"packed\"\n";

const PAGES: &str = r#"[domain]
code = 6
title = "Pages"

[errors.not_found]
code = 6003
slug = "PageNotFound"
class = "NotFound"
message = "Page \"{path}\" does not exist."
description = "No page at that path."
"#;

fn files(manifest: &str, domains: &[(&str, &str)], locales: &[(&str, &str)]) -> Files {
    let file = |path: String, text: &str| FileText {
        path,
        text: text.to_owned(),
    };
    Files {
        manifest: Some(file("cat/catalog.toml".into(), manifest)),
        domains: domains
            .iter()
            .map(|(n, t)| (n.to_string(), file(format!("cat/{n}.toml"), t)))
            .collect(),
        locales: locales
            .iter()
            .map(|(n, t)| (n.to_string(), file(format!("cat/locales/{n}.toml"), t)))
            .collect(),
    }
}

fn problems(manifest: &str, domains: &[(&str, &str)], locales: &[(&str, &str)]) -> Vec<Problem> {
    match load(&files(manifest, domains, locales)) {
        Ok(_) => Vec::new(),
        Err(p) => p.0,
    }
}

/// The only problem, which must be of `kind` and start at `line:col` of `file`.
fn only(found: Vec<Problem>, kind: ProblemKind, file: &str, line: usize, col: usize) -> Problem {
    assert_eq!(
        found.len(),
        1,
        "expected one problem, got:\n{}",
        render_plain(&found)
    );
    let p = found.into_iter().next().unwrap();
    assert_eq!(p.kind, kind, "{}", render_plain(std::slice::from_ref(&p)));
    assert_eq!(
        p.position(),
        Some((file.to_owned(), line, col)),
        "{}",
        render_plain(std::slice::from_ref(&p))
    );
    assert!(p.help.is_some(), "every problem says how to fix it");
    p
}

#[test]
fn a_valid_catalog_has_no_problems() {
    assert!(problems(RANGES, &[("pages", PAGES)], &[]).is_empty());
}

#[test]
fn duplicate_code_names_where_it_was_first_defined() {
    let pages = format!(
        "{PAGES}\n[errors.gone]\ncode = 6003\nslug = \"PageGone\"\nclass = \"NotFound\"\nmessage = \"Gone.\"\ndescription = \"d\"\n"
    );
    let p = only(
        problems(RANGES, &[("pages", &pages)], &[]),
        ProblemKind::DuplicateCode,
        "cat/pages.toml",
        13,
        8,
    );
    assert!(p.message.contains("6003"), "{}", p.message);
    let first = &p.related[0];
    assert_eq!(first.position(), Some(("cat/pages.toml".into(), 6, 8)));
    let text = render_plain(&[p]);
    assert!(text.contains("first defined here"), "{text}");
}

#[test]
fn duplicate_slug_across_files_points_at_both() {
    let users = "[domain]\ncode = 1\n\n[errors.not_found]\ncode = 1016\nslug = \"PageNotFound\"\nclass = \"NotFound\"\nmessage = \"m\"\ndescription = \"d\"\n";
    let p = only(
        problems(RANGES, &[("pages", PAGES), ("users", users)], &[]),
        ProblemKind::DuplicateSlug,
        "cat/users.toml",
        6,
        8,
    );
    assert_eq!(p.related[0].position().unwrap().0, "cat/pages.toml");
}

#[test]
fn duplicate_domain_numbers_are_found() {
    let other = "[domain]\ncode = 6\n";
    let found = problems(RANGES, &[("pages", PAGES), ("wiki", other)], &[]);
    only(
        found,
        ProblemKind::DuplicateGroupCode,
        "cat/wiki.toml",
        2,
        8,
    );
}

#[test]
fn a_code_outside_its_domain_range_is_found() {
    let pages = PAGES.replace("code = 6003", "code = 7003");
    let p = only(
        problems(RANGES, &[("pages", &pages)], &[]),
        ProblemKind::CodeOutOfRange,
        "cat/pages.toml",
        6,
        8,
    );
    assert!(p.help.unwrap().contains("6001..=6999"));
}

#[test]
fn packed_bounds_are_enforced() {
    let storage = |domain: i64, sub: i64, error: i64| {
        format!(
            "[domain]\ncode = {domain}\n\n[subdomains.storage]\ncode = {sub}\n\n[subdomains.storage.errors.not_found]\ncode = {error}\nslug = \"NotFound\"\nclass = \"NotFound\"\nmessage = \"m\"\ndescription = \"d\"\n"
        )
    };
    assert!(problems(PACKED, &[("services", &storage(1, 1, 11))], &[]).is_empty());
    only(
        problems(PACKED, &[("services", &storage(256, 1, 11))], &[]),
        ProblemKind::CodeOutOfRange,
        "cat/services.toml",
        2,
        8,
    );
    only(
        problems(PACKED, &[("services", &storage(1, 300, 11))], &[]),
        ProblemKind::CodeOutOfRange,
        "cat/services.toml",
        5,
        8,
    );
    only(
        problems(PACKED, &[("services", &storage(1, 1, 0))], &[]),
        ProblemKind::CodeOutOfRange,
        "cat/services.toml",
        8,
        8,
    );
    only(
        problems(PACKED, &[("services", &storage(1, 1, 65536))], &[]),
        ProblemKind::CodeOutOfRange,
        "cat/services.toml",
        8,
        8,
    );
}

#[test]
fn an_unknown_class_gets_a_suggestion() {
    let pages = PAGES.replace("class = \"NotFound\"", "class = \"NotFund\"");
    let p = only(
        problems(RANGES, &[("pages", &pages)], &[]),
        ProblemKind::UnknownClass,
        "cat/pages.toml",
        8,
        9,
    );
    assert!(p.help.unwrap().contains("did you mean `NotFound`?"));
    let pages = PAGES.replace("class = \"NotFound\"", "class = \"NotFoundError\"");
    let p = only(
        problems(RANGES, &[("pages", &pages)], &[]),
        ProblemKind::UnknownClass,
        "cat/pages.toml",
        8,
        9,
    );
    assert!(
        p.help
            .unwrap()
            .contains("Kuzzle's `NotFoundError` is `NotFound`")
    );
}

#[test]
fn empty_messages_are_found() {
    let pages = PAGES.replace(
        r#"message = "Page \"{path}\" does not exist.""#,
        "message = \"  \"",
    );
    only(
        problems(RANGES, &[("pages", &pages)], &[]),
        ProblemKind::EmptyMessage,
        "cat/pages.toml",
        9,
        11,
    );
}

#[test]
fn bad_placeholders_are_located_inside_the_message() {
    let pages = PAGES.replace("{path}", "{path");
    // The arrow points at the `{` itself, past the escaped quote: line 9, column 19.
    only(
        problems(RANGES, &[("pages", &pages)], &[]),
        ProblemKind::BadPlaceholder,
        "cat/pages.toml",
        9,
        19,
    );
    let pages = PAGES.replace("{path}", "{Path}");
    only(
        problems(RANGES, &[("pages", &pages)], &[]),
        ProblemKind::BadPlaceholder,
        "cat/pages.toml",
        9,
        19,
    );
}

#[test]
fn translations_must_keep_the_placeholders() {
    let ok = "[messages]\n\"pages.not_found\" = \"La page « {path} » n'existe pas.\"\n";
    assert!(problems(RANGES, &[("pages", PAGES)], &[("fr", ok)]).is_empty());
    let renamed = "[messages]\n\"pages.not_found\" = \"La page « {chemin} » n'existe pas.\"\n";
    let p = only(
        problems(RANGES, &[("pages", PAGES)], &[("fr", renamed)]),
        ProblemKind::TranslationMismatch,
        "cat/locales/fr.toml",
        2,
        22,
    );
    assert!(p.message.contains("{chemin}"), "{}", p.message);
    let unknown = "[messages]\n\"pages.nope\" = \"x\"\n";
    only(
        problems(RANGES, &[("pages", PAGES)], &[("fr", unknown)]),
        ProblemKind::UnknownTranslation,
        "cat/locales/fr.toml",
        2,
        1,
    );
}

#[test]
fn deprecated_needs_a_version() {
    for deprecated in [
        "deprecated = true",
        "deprecated = \"\"",
        "deprecated = { replacement = \"pages.not_found\" }",
    ] {
        let pages = format!("{PAGES}{deprecated}\n");
        only(
            problems(RANGES, &[("pages", &pages)], &[]),
            ProblemKind::DeprecatedWithoutVersion,
            "cat/pages.toml",
            11,
            14,
        );
    }
    let ok =
        format!("{PAGES}deprecated = {{ since = \"2.0.0\", replacement = \"pages.not_found\" }}\n");
    assert!(problems(RANGES, &[("pages", &ok)], &[]).is_empty());
    let unknown =
        format!("{PAGES}deprecated = {{ since = \"2.0.0\", replacement = \"pages.nope\" }}\n");
    only(
        problems(RANGES, &[("pages", &unknown)], &[]),
        ProblemKind::UnknownReplacement,
        "cat/pages.toml",
        11,
        14,
    );
}

#[test]
fn a_missing_description_is_found() {
    let pages = PAGES.replace("description = \"No page at that path.\"\n", "");
    only(
        problems(RANGES, &[("pages", &pages)], &[]),
        ProblemKind::MissingDescription,
        "cat/pages.toml",
        5,
        9,
    );
}

#[test]
fn missing_fields_and_bad_names_are_found() {
    let pages = PAGES.replace("slug = \"PageNotFound\"\n", "");
    only(
        problems(RANGES, &[("pages", &pages)], &[]),
        ProblemKind::MissingField,
        "cat/pages.toml",
        5,
        9,
    );
    let pages = PAGES.replace("PageNotFound", "page_not_found");
    only(
        problems(RANGES, &[("pages", &pages)], &[]),
        ProblemKind::BadSlug,
        "cat/pages.toml",
        7,
        8,
    );
    let pages = PAGES.replace("[errors.not_found]", "[errors.NotFound]");
    only(
        problems(RANGES, &[("pages", &pages)], &[]),
        ProblemKind::BadName,
        "cat/pages.toml",
        5,
        9,
    );
}

#[test]
fn toml_mistakes_and_unknown_fields_are_located() {
    let pages = PAGES.replace("code = 6003", "code = ");
    only(
        problems(RANGES, &[("pages", &pages)], &[]),
        ProblemKind::Syntax,
        "cat/pages.toml",
        6,
        8,
    );
    let pages = PAGES.replace("message =", "mesage =");
    let p = only(
        problems(RANGES, &[("pages", &pages)], &[]),
        ProblemKind::Syntax,
        "cat/pages.toml",
        9,
        1,
    );
    assert!(p.message.contains("mesage"), "{}", p.message);
}

#[test]
fn a_bad_manifest_is_found() {
    let p = only(
        problems(
            "name = \"t\"\nversion = \"1\"\nscheme = \"dense\"\n",
            &[],
            &[],
        ),
        ProblemKind::Manifest,
        "cat/catalog.toml",
        3,
        10,
    );
    assert!(p.help.unwrap().contains("ranges"));
    let found = problems("name = \"t\"\n", &[], &[]);
    assert_eq!(found.len(), 2, "version and scheme are both missing");
}

#[test]
fn every_problem_is_reported_at_once() {
    let pages = PAGES
        .replace("class = \"NotFound\"", "class = \"Nope\"")
        .replace("description = \"No page at that path.\"\n", "")
        + "\n[errors.other]\ncode = 9999\nslug = \"x\"\nclass = \"NotFound\"\nmessage = \"{\"\ndescription = \"d\"\n";
    let kinds: Vec<ProblemKind> = problems(RANGES, &[("pages", &pages)], &[])
        .iter()
        .map(|p| p.kind)
        .collect();
    for kind in [
        ProblemKind::UnknownClass,
        ProblemKind::MissingDescription,
        ProblemKind::CodeOutOfRange,
        ProblemKind::BadSlug,
        ProblemKind::BadPlaceholder,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} missing from {kinds:?}");
    }
}
