//! The committed fixture catalogs reproduce the seed documents, and the
//! Kuzzle fixtures are exactly what the importer makes of Kuzzle's files.

use std::path::{Path, PathBuf};

use errata_catalog::diff::{Severity, diff};
use errata_catalog::render::{Format, render, to_json_value};
use errata_catalog::{Catalog, class::kuzzle_class, import, load_dir, write};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn catalog(name: &str) -> Catalog {
    load_dir(&root().join("catalogs").join(name)).unwrap_or_else(|p| panic!("{name}: {p}"))
}

fn seed(name: &str) -> String {
    std::fs::read_to_string(root().join("fixtures/seeds").join(name)).unwrap()
}

/// `(code, slug, message)` of every table row of the Wiki.js seed.
fn wikijs_rows() -> Vec<(String, String, String)> {
    seed("000_c8e6c22d01696660.txt")
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line
                .strip_prefix('|')?
                .strip_suffix('|')?
                .split('|')
                .map(str::trim)
                .collect();
            match cells.as_slice() {
                [code, slug, message] if code.len() == 4 && code.parse::<u32>().is_ok() => {
                    Some((code.to_string(), slug.to_string(), message.to_string()))
                }
                _ => None,
            }
        })
        .collect()
}

/// `(id, hex code, Kuzzle class, status, message column)` of every row of the Kuzzle seed.
fn kuzzle_rows() -> Vec<(String, String, String, u16, String)> {
    let text = seed("004_5e8523b0a47b9f72.txt");
    let cells: Vec<&str> = text.split('|').map(str::trim).collect();
    let mut rows = Vec::new();
    for window in cells.windows(3) {
        let id_and_code: Vec<&str> = window[0].split_whitespace().collect();
        let [id, hex] = id_and_code.as_slice() else {
            continue;
        };
        if !hex.starts_with("0x") || id.matches('.').count() != 2 {
            continue;
        }
        let class_and_status: Vec<&str> = window[1].split_whitespace().collect();
        let [class, status] = class_and_status.as_slice() else {
            continue;
        };
        let status = status.trim_matches(['(', ')']).parse().unwrap();
        rows.push((
            id.to_string(),
            hex.to_string(),
            class.to_string(),
            status,
            window[2].to_string(),
        ));
    }
    rows
}

#[test]
fn wikijs_markdown_reproduces_every_seed_row() {
    let rows = wikijs_rows();
    assert_eq!(rows.len(), 45);
    let markdown = render(&catalog("wikijs"), Format::Markdown);
    for (code, slug, message) in &rows {
        let row = format!("| {code} | {slug} | {message} |");
        assert!(markdown.lines().any(|l| l == row), "missing row: {row}");
    }
    for heading in [
        "## Authentication / Users",
        "## Assets",
        "## Mail",
        "## Search",
        "## Localization",
        "## Pages",
    ] {
        assert!(
            markdown.lines().any(|l| l == heading),
            "missing heading {heading}"
        );
    }
    assert!(markdown.contains("| Code | Slug | Message |"));
}

#[test]
fn wikijs_json_holds_every_seed_row() {
    let json = to_json_value(&catalog("wikijs"));
    assert_eq!(json["catalog"], "wikijs");
    assert_eq!(json["scheme"], "ranges");
    let errors = json["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 45);
    for (code, slug, message) in wikijs_rows() {
        let entry = errors
            .iter()
            .find(|e| e["code"] == code.parse::<u32>().unwrap())
            .unwrap_or_else(|| panic!("no entry for {code}"));
        assert_eq!(entry["slug"], slug.as_str());
        assert_eq!(entry["message"], message.as_str());
        for field in [
            "id",
            "class",
            "status",
            "graphqlCode",
            "description",
            "advice",
        ] {
            assert!(!entry[field].is_null(), "{code} has no {field}");
        }
        assert!(
            entry.get("codeHex").is_none(),
            "ranges catalogs have no hex codes"
        );
    }
}

#[test]
fn kuzzle_v1_json_reproduces_every_seed_row() {
    let rows = kuzzle_rows();
    assert_eq!(rows.len(), 209);
    let json = to_json_value(&catalog("kuzzle-v1"));
    assert_eq!(json["scheme"], "packed");
    let errors = json["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 209);
    for (id, hex, kuzzle, status, message) in rows {
        let entry = errors
            .iter()
            .find(|e| e["id"] == id.as_str())
            .unwrap_or_else(|| panic!("no {id}"));
        assert_eq!(entry["codeHex"], hex.as_str(), "{id}");
        assert_eq!(
            entry["code"],
            u32::from_str_radix(&hex[2..], 16).unwrap(),
            "{id}"
        );
        let class =
            kuzzle_class(&kuzzle).unwrap_or_else(|| panic!("unmapped Kuzzle class {kuzzle}"));
        assert_eq!(entry["class"], class.name(), "{id}");
        assert_eq!(entry["status"], status, "{id}");
        assert_eq!(
            entry["description"],
            message.as_str(),
            "{id}: the seed's Message column is the description"
        );
    }
}

#[test]
fn kuzzle_v1_markdown_has_the_packed_table() {
    let markdown = render(&catalog("kuzzle-v1"), Format::Markdown);
    assert!(markdown.contains("| Id | Code | Class (Status) | Message |"));
    assert!(markdown.contains("### 0x0101: storage"));
    assert!(markdown.contains("| services.storage.not_found | 0x0101000b | NotFound (404) |"));
}

#[test]
fn kuzzle_latest_has_every_error_of_kuzzle_2() {
    let latest = catalog("kuzzle-latest");
    assert_eq!(latest.errors.len(), 274);
    assert_eq!(latest.domains.len(), 9);
    let deprecated = latest
        .errors
        .iter()
        .filter(|e| e.deprecated.is_some())
        .count();
    assert!(
        deprecated >= 9,
        "Kuzzle's deprecations are kept ({deprecated})"
    );
    let sandbox = latest.by_id("core.sandbox.timeout").unwrap();
    assert_eq!(
        sandbox.deprecated.as_ref().unwrap().since,
        "2.0.0",
        "a subdomain's deprecation reaches its errors"
    );
}

#[test]
fn committed_kuzzle_catalogs_are_what_the_importer_makes() {
    for (fixture, anchor, version) in [
        ("kuzzle-v1", "v1", "1.12.0"),
        ("kuzzle-latest", "latest", "2.56.0"),
    ] {
        let imported = import::kuzzle(
            &root().join("fixtures/kuzzle").join(anchor),
            "kuzzle",
            version,
        )
        .unwrap();
        let committed_dir = root().join("catalogs").join(fixture);
        for (path, text) in write::to_files(&imported) {
            let committed = std::fs::read_to_string(committed_dir.join(&path)).unwrap_or_default();
            assert!(
                committed == text,
                "catalogs/{fixture}/{path} differs from a fresh import"
            );
        }
        assert_eq!(
            catalog(fixture),
            imported,
            "{fixture} loads back as imported"
        );
    }
}

#[test]
fn kuzzle_1_to_2_has_the_real_breaking_changes() {
    let report = diff(&catalog("kuzzle-v1"), &catalog("kuzzle-latest"));
    assert!(report.is_breaking());
    let has = |change: &str, id: &str| {
        report
            .findings
            .iter()
            .any(|f| f.kind == Severity::Breaking && f.change == change && f.id == id)
    };
    // 0x01010016 meant index_reserved in 1.x and collection_reserved in 2.x.
    assert!(
        has("code-reused", "services.storage.collection_reserved"),
        "{}",
        report.to_text()
    );
    assert!(has("removed", "services.storage.index_reserved"));
    assert!(has("removed", "services.storage.incomplete_fetch"));
    assert!(has(
        "placeholder-removed",
        "services.storage.get_limit_exceeded"
    ));
    let reused = report
        .findings
        .iter()
        .find(|f| f.change == "code-reused")
        .unwrap();
    assert_eq!(reused.old["code"], "0x01010016");
    assert_eq!(reused.old["id"], "services.storage.index_reserved");
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["breaking"], true);
    assert!(
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["kind"].is_string() && f["id"].is_string())
    );
}

#[test]
fn the_server_catalog_is_a_compatible_superset_of_wikijs() {
    let report = diff(
        &catalog("wikijs"),
        &load_dir(&root().join("catalog")).unwrap(),
    );
    assert!(!report.is_breaking(), "{}", report.to_text());
    assert_eq!(report.count(Severity::Dangerous), 0, "{}", report.to_text());
}

#[test]
fn rendering_is_deterministic() {
    for name in ["wikijs", "kuzzle-v1", "kuzzle-latest"] {
        for format in Format::ALL {
            let first = render(&catalog(name), *format);
            let second = render(&catalog(name), *format);
            assert!(
                first == second,
                "{name} {format:?} differs between two renders"
            );
        }
    }
}

#[test]
fn html_is_self_contained_searchable_and_anchored() {
    let html = render(&catalog("wikijs"), Format::Html);
    assert!(html.contains("<tr id=\"6003\""), "an anchor per code");
    assert!(html.contains("id=\"pages.not_found\""), "an anchor per id");
    assert!(html.contains("<input id=\"q\""), "a search box");
    assert!(html.contains("<script>"), "an inline script");
    assert!(
        html.contains("<strong>6xxx</strong>") && !html.contains("**"),
        "descriptions are rendered Markdown"
    );
    for external in ["src=\"http", "href=\"http", "<link", "@import", "url("] {
        assert!(!html.contains(external), "external asset: {external}");
    }
    let latest = render(&catalog("kuzzle-latest"), Format::Html);
    assert!(latest.contains("<tr id=\"services.storage.not_found\""));
    assert!(latest.contains("id=\"0x0101000b\""));
    assert!(
        latest.contains("class=\"deprecated\""),
        "deprecated entries are marked"
    );
}

#[test]
fn typescript_lists_every_code_and_slug() {
    let ts = render(&catalog("wikijs"), Format::Typescript);
    assert!(ts.contains("export const errors = {"));
    assert!(ts.contains(
        "PageNotFound: { code: 6003, id: \"pages.not_found\", class: \"NotFound\", status: 404"
    ));
    assert!(ts.contains("export type ErrorCode ="));
    assert!(ts.contains("  | 6003\n"));
    assert!(ts.contains("  | \"PageNotFound\"\n"));
    assert!(ts.contains("| { readonly code: 6003; readonly slug: \"PageNotFound\"; readonly id: \"pages.not_found\"; readonly class: \"NotFound\" }"));
}
