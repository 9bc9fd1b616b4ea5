//! Holes on the host and the wire: a data directory other local users can
//! read, token requests whose credentials or parameters read differently
//! from what the client sent, IPv6 clients that get around limits by
//! rotating through their /64.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::json;

use crate::support::{self, TestServer, identity_config, result_of};

/// A file's permission bits, in octal.
fn mode(path: &Path) -> String {
    let bits = std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode();
    format!("{:04o}", bits & 0o7777)
}

/// Every `.eml` file in `dir`.
fn mails(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect()
}

async fn register(s: &TestServer, email: &str) {
    let r = s
        .gql(
            "mutation($e: String!) { authentication { register(email: $e, password: \"a long enough password\", name: \"New\") { responseResult { succeeded slug } } } }",
            json!({ "e": email }),
            None,
        )
        .await;
    assert_eq!(
        result_of(&r, "authentication.register")["succeeded"],
        true,
        "{}",
        r.body
    );
}

#[tokio::test]
async fn the_database_and_mail_holding_the_jwt_key_and_tokens_are_world_readable() {
    let config = identity_config();
    let data = config.data.clone();
    assert!(!data.exists());
    let s = TestServer::start(config).await;
    register(&s, "new@example.com").await;
    assert_eq!(mode(&data), "0700", "the data directory");
    for file in ["errata.db", "errata.db-wal", "errata.db-shm"] {
        assert_eq!(mode(&data.join(file)), "0600", "{file}");
    }
    assert_eq!(mode(&data.join("mail")), "0700", "the mail directory");
    let mails = mails(&data.join("mail"));
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mode(&mails[0]), "0600", "{}", mails[0].display());
}

#[tokio::test]
async fn a_data_directory_open_to_other_users_is_used_anyway() {
    for open in [0o755, 0o750, 0o705, 0o701, 0o710] {
        let config = support::config();
        std::fs::create_dir_all(&config.data).unwrap();
        std::fs::set_permissions(&config.data, std::fs::Permissions::from_mode(open)).unwrap();
        let refused = errata_server::start(config.clone())
            .await
            .expect_err("an open data directory is refused");
        let errata_server::StartError::Storage(error) = &refused else {
            panic!("{refused}");
        };
        assert_eq!(error.id(), "system.data_dir_insecure", "{refused}");
        assert_eq!(error.code(), 11006);
        assert!(
            error.message().contains(&format!("(mode {open:04o})")),
            "{open:o}: {}",
            error.message()
        );
        assert!(
            !config.data.join("errata.db").exists(),
            "nothing is written into a refused directory"
        );
        // The command line opens the data the same way.
        let refused = errata_server::admin::Admin::open(&config)
            .await
            .expect_err("the command line refuses it too");
        assert_eq!(refused.id(), "system.data_dir_insecure");
    }
}

#[tokio::test]
async fn insecure_data_dir_starts_on_an_open_directory_and_still_makes_private_files() {
    let mut config = support::config();
    std::fs::create_dir_all(&config.data).unwrap();
    std::fs::set_permissions(&config.data, std::fs::Permissions::from_mode(0o755)).unwrap();
    config.insecure_data_dir = true;
    let s = TestServer::start(config).await;
    assert_eq!(s.query("{ __typename }").await.status, 200);
    assert_eq!(mode(&s.data), "0755", "the operator's choice is kept");
    for file in ["errata.db", "errata.db-wal", "errata.db-shm"] {
        assert_eq!(mode(&s.data.join(file)), "0600", "{file}");
    }
}
