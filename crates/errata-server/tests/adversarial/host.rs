//! Holes on the host and the wire: a data directory other local users can
//! read, token requests whose credentials or parameters read differently
//! from what the client sent, IPv6 clients that get around limits by
//! rotating through their /64.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::support::{self, Reply, TestServer, identity_config, result_of, with_users};

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

/// A server with an OAuth client; its id and secret.
async fn with_client() -> (TestServer, String, String) {
    let config = identity_config();
    with_users(&config, &[]).await;
    let admin = errata_server::admin::Admin::open(&config).await.unwrap();
    let created = admin
        .create_client("robot", &["read:pages".to_owned()], None, None)
        .await
        .unwrap();
    admin.close().await;
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    (TestServer::start(config).await, id, secret)
}

/// A token request with `credentials` as they are, Basic-encoded.
async fn basic(s: &TestServer, credentials: &str) -> Reply {
    let response = s
        .client
        .post(s.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "authorization",
            format!("Basic {}", STANDARD.encode(credentials)),
        )
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    Reply::read(response).await
}

/// Every byte as `%XX`.
fn percent_encode_all(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[tokio::test]
async fn basic_credentials_with_an_ampersand_and_anything_after_the_secret_get_a_token() {
    let (s, id, secret) = with_client().await;
    assert_eq!(basic(&s, &format!("{id}:{secret}")).await.status, 200);
    for appended in ["&anything", "&", "&x=y", "&client_secret=z"] {
        let r = basic(&s, &format!("{id}:{secret}{appended}")).await;
        assert_eq!(r.status, 401, "{appended}: {}", r.body);
        assert_eq!(r.body["error"], "invalid_client", "{}", r.body);
    }
    let r = basic(&s, &format!("{id}&anything:{secret}")).await;
    assert_eq!(r.status, 401, "{}", r.body);
    // Percent-encoded credentials are what RFC 6749 §2.3.1 asks clients to send.
    let encoded = format!(
        "{}:{}",
        percent_encode_all(&id),
        percent_encode_all(&secret)
    );
    let r = basic(&s, &encoded).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = basic(
        &s,
        &format!("{id}:{}%26anything", percent_encode_all(&secret)),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
}

async fn json_token_request(s: &TestServer, body: String) -> Reply {
    let response = s
        .client
        .post(s.url("/oauth/token"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    Reply::read(response).await
}

fn parameter_repeated(r: &Reply) {
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"], "invalid_request", "{}", r.body);
    assert_eq!(
        r.body["error_code"],
        errata_errors::oauth::invalid_request::parameter_repeated("x").code(),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn a_json_token_request_repeating_a_parameter_is_read_as_its_last_value() {
    let (s, id, secret) = with_client().await;
    let id = Value::String(id).to_string();
    let secret = Value::String(secret).to_string();
    let ok = json_token_request(
        &s,
        format!(
            r#"{{"grant_type":"client_credentials","client_id":{id},"client_secret":{secret}}}"#
        ),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    for body in [
        format!(
            r#"{{"grant_type":"client_credentials","client_id":{id},"client_secret":"wrong","client_secret":{secret}}}"#
        ),
        format!(
            r#"{{"grant_type":"client_credentials","grant_type":"x","client_id":{id},"client_secret":{secret}}}"#
        ),
        format!(
            r#"{{"grant_type":"client_credentials","client_id":{id},"client_id":{id},"client_secret":{secret}}}"#
        ),
        format!(
            r#"{{"grant_type":"client_credentials","client_id":{id},"client_secret":null,"client_secret":{secret}}}"#
        ),
    ] {
        parameter_repeated(&json_token_request(&s, body).await);
    }
    // The form body was already refused; the two agree.
    let r = Reply::read(
        s.client
            .post(s.url("/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&grant_type=x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    parameter_repeated(&r);
}
