//! The `errata` command line, run as a user runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn errata(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_errata"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("errata-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn check_exits_0_on_every_committed_catalog() {
    for dir in [
        "catalog",
        "catalogs/wikijs",
        "catalogs/kuzzle-v1",
        "catalogs/kuzzle-latest",
    ] {
        let out = errata(&["catalog", "check", dir]);
        assert!(out.status.success(), "{dir}: {}", stderr(&out));
        assert!(stdout(&out).contains("is valid"), "{}", stdout(&out));
    }
}

#[test]
fn check_exits_1_with_located_diagnostics() {
    let dir = scratch("bad");
    std::fs::write(
        dir.join("catalog.toml"),
        "name = \"x\"\nversion = \"1\"\nscheme = \"ranges\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("pages.toml"),
        "[domain]\ncode = 6\n\n[errors.a]\ncode = 6001\nslug = \"A\"\nclass = \"Nope\"\nmessage = \"m\"\ndescription = \"d\"\n",
    )
    .unwrap();
    let out = errata(&["catalog", "check", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("catalog::unknown_class"), "{err}");
    assert!(err.contains("pages.toml:7:9"), "{err}");
    assert!(err.contains("1 problem found"), "{err}");
}

#[test]
fn check_of_a_missing_directory_exits_1() {
    let out = errata(&["catalog", "check", "does/not/exist"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("catalog::io"), "{}", stderr(&out));
}

#[test]
fn docs_render_every_format_and_write_files() {
    let dir = scratch("docs");
    for format in ["markdown", "html", "json", "typescript"] {
        let out_path = dir.join(format!("ref.{format}"));
        let out = errata(&[
            "catalog",
            "docs",
            "catalogs/wikijs",
            "--format",
            format,
            "--out",
            out_path.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{format}: {}", stderr(&out));
        let written = std::fs::read_to_string(&out_path).unwrap();
        let again = stdout(&errata(&[
            "catalog",
            "docs",
            "catalogs/wikijs",
            "--format",
            format,
        ]));
        assert_eq!(written, again, "{format} output is deterministic");
        assert!(written.contains("PageNotFound"), "{format}");
    }
}

#[test]
fn docs_refuse_an_unknown_format() {
    let out = errata(&["catalog", "docs", "catalogs/wikijs", "--format", "pdf"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("possible values"), "{}", stderr(&out));
}

#[test]
fn docs_report_an_unwritable_output_as_a_catalogued_error() {
    let out = errata(&[
        "catalog",
        "docs",
        "catalogs/wikijs",
        "--out",
        "/nonexistent-dir/x.md",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("CliOutputFailed"), "{err}");
    assert!(err.contains("errata explain 12002"), "{err}");
}

#[test]
fn diff_exits_1_on_breaking_changes_and_0_otherwise() {
    let out = errata(&[
        "catalog",
        "diff",
        "catalogs/kuzzle-v1",
        "catalogs/kuzzle-latest",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("code 0x01010016 meant `services.storage.index_reserved`"),
        "{}",
        stdout(&out)
    );

    let out = errata(&[
        "catalog",
        "diff",
        "catalogs/kuzzle-v1",
        "catalogs/kuzzle-latest",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["breaking"], true);

    let out = errata(&["catalog", "diff", "catalogs/wikijs", "catalog"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("0 breaking"));
}

#[test]
fn explain_accepts_a_code_a_slug_an_id_and_a_hex_code() {
    for key in ["6003", "PageNotFound", "pages.not_found"] {
        let out = errata(&["explain", key]);
        assert!(out.status.success(), "{key}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.starts_with("6003 PageNotFound (pages.not_found)"),
            "{text}"
        );
        assert!(text.contains("HTTP 404"), "{text}");
        assert!(text.contains("What to do"), "{text}");
    }
    for key in ["0x0101000b", "services.storage.not_found"] {
        let out = errata(&["explain", key, "--catalog", "catalogs/kuzzle-latest"]);
        assert!(out.status.success(), "{key}: {}", stderr(&out));
        assert!(
            stdout(&out).starts_with("0x0101000b ServicesStorageNotFound"),
            "{}",
            stdout(&out)
        );
    }
}

#[test]
fn explain_of_an_unknown_key_is_a_catalogued_error() {
    let out = errata(&["explain", "9999"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("No catalog entry matches \"9999\"."),
        "{}",
        stderr(&out)
    );
}

#[test]
fn import_writes_a_catalog_that_checks_and_matches_the_fixture() {
    let dir = scratch("import");
    let out = errata(&[
        "catalog",
        "import",
        "kuzzle",
        "fixtures/kuzzle/v1",
        "--out",
        dir.to_str().unwrap(),
        "--name",
        "kuzzle",
        "--catalog-version",
        "1.12.0",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("imported 209 errors in 8 domains"));
    let out = errata(&[
        "catalog",
        "diff",
        "catalogs/kuzzle-v1",
        dir.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["findings"].as_array().unwrap().len(), 0, "{json}");
}

#[test]
fn import_of_a_missing_directory_is_a_catalogued_error() {
    let dir = scratch("import-missing");
    let out = errata(&[
        "catalog",
        "import",
        "kuzzle",
        "nowhere",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("CliImportFailed"), "{}", stderr(&out));
}

#[test]
fn users_and_clients_are_administered_on_a_data_directory_with_json_answers() {
    // A directory the command creates itself, so private.
    let dir = scratch("admin").join("data");
    let data = dir.display().to_string();
    let out = errata(&[
        "users",
        "create",
        "--data",
        &data,
        "--email",
        "Ops@Example.com",
        "--password",
        "a long enough password",
        "--admin",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let user: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(user["email"], "ops@example.com");
    assert_eq!(user["groups"], serde_json::json!(["Administrators"]));

    let out = errata(&[
        "clients",
        "create",
        "--data",
        &data,
        "--name",
        "ci",
        "--scope",
        "read:pages",
        "--scope",
        "manage:users",
        "--expires-in-days",
        "30",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let client: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let id = client["client_id"].as_str().unwrap().to_owned();
    assert_eq!(client["client_secret"].as_str().unwrap().len(), 43);
    assert_eq!(
        client["scopes"],
        serde_json::json!(["read:pages", "manage:users"])
    );
    assert!(client["expires_at"].is_string());

    let out = errata(&["clients", "rotate", "--data", &data, &id]);
    let rotated: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_ne!(rotated["client_secret"], client["client_secret"]);
    let out = errata(&["clients", "expire", "--data", &data, &id]);
    let expired: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(expired["expired"], true);
    let out = errata(&["clients", "list", "--data", &data]);
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(list[0]["client_id"], id.as_str());
    assert!(
        !stdout(&out).contains("client_secret"),
        "secrets are shown once"
    );

    // Failures are catalogued, on stderr, with exit 1.
    let out = errata(&[
        "users",
        "create",
        "--data",
        &data,
        "--email",
        "ops@example.com",
        "--password",
        "a long enough password",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("error[AuthAccountAlreadyExists]"),
        "{}",
        stderr(&out)
    );
    let out = errata(&[
        "clients",
        "create",
        "--data",
        &data,
        "--name",
        "x",
        "--scope",
        "read:page",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("error[PermissionUnknown]"));
    assert!(
        stderr(&out).contains("didYouMean: \"read:pages\""),
        "{}",
        stderr(&out)
    );
    let out = errata(&["clients", "expire", "--data", &data, "nope"]);
    assert!(stderr(&out).contains("Credential not found"));
}

#[test]
fn a_data_directory_other_users_can_read_is_refused_unless_allowed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("open");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = dir.display().to_string();
    let create = |extra: &[&str]| {
        let mut args = vec![
            "users",
            "create",
            "--data",
            &data,
            "--email",
            "ops@example.com",
            "--password",
            "a long enough password",
        ];
        args.extend_from_slice(extra);
        errata(&args)
    };
    let out = create(&[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("error[DataDirInsecure]"), "{err}");
    assert!(err.contains("(mode 0755)"), "{err}");
    assert!(err.contains("errata explain 11006"), "{err}");
    let out = errata(&["clients", "list", "--data", &data]);
    assert!(
        stderr(&out).contains("error[DataDirInsecure]"),
        "{}",
        stderr(&out)
    );

    // An address no interface has: were the directory accepted, `serve`
    // would fail to listen rather than run on.
    let out = errata(&["serve", "--data", &data, "--addr", "192.0.2.1:9"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("The data directory is open to other users of this host (mode 0755)"),
        "{}",
        stderr(&out)
    );

    let out = create(&["--insecure-data-dir"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = Command::new(env!("CARGO_BIN_EXE_errata"))
        .args(["clients", "list", "--data", &data])
        .env("ERRATA_INSECURE_DATA_DIR", "true")
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn migrate_shows_and_applies_migrations_and_copy_fills_only_an_empty_database() {
    let dir = scratch("migrate");
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let data = dir.join("data");
    let data = data.to_str().unwrap();
    let status = errata(&["migrate", "--status", "--data", data]);
    assert!(status.status.success(), "{}", stderr(&status));
    let shown: serde_json::Value = serde_json::from_str(&stdout(&status)).unwrap();
    assert_eq!(shown["version"], 0, "{shown}");
    assert!(
        shown["migrations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["applied"] == false)
    );

    let applied = errata(&["migrate", "--data", data]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    let applied: serde_json::Value = serde_json::from_str(&stdout(&applied)).unwrap();
    assert_eq!(applied["version"], applied["binaryVersion"], "{applied}");
    assert!(
        applied["migrations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["applied"] == true)
    );

    let user = errata(&[
        "users",
        "create",
        "--email",
        "ada@example.com",
        "--password",
        "a long enough password",
        "--data",
        data,
    ]);
    assert!(user.status.success(), "{}", stderr(&user));
    let target = format!("sqlite:{}", dir.join("copy/errata.db").display());
    let copied = errata(&["copy", "--data", data, "--to", &target]);
    assert!(copied.status.success(), "{}", stderr(&copied));
    let copied: serde_json::Value = serde_json::from_str(&stdout(&copied)).unwrap();
    assert_eq!(copied["rows"]["users"], 2, "the guest and Ada: {copied}");
    let again = errata(&["copy", "--data", data, "--to", &target]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("CliCopyTargetNotEmpty"),
        "{}",
        stderr(&again)
    );

    let bad = errata(&[
        "migrate",
        "--status",
        "--database",
        "mysql://root:hunter2@db/x",
    ]);
    assert_ne!(bad.status.code(), Some(0));
    assert!(!stderr(&bad).contains("hunter2"), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("not a database errata can use"),
        "{}",
        stderr(&bad)
    );
}
