//! Several instances on one database: moving a single-node SQLite instance
//! up to PostgreSQL, and what one instance's writes do to another's view.

use errata_store::testing::Scratch;
use errata_store::{Backend, DatabaseUrl};
use errata_test_support::{
    ADMIN_EMAIL, ADMIN_PASSWORD, TestServer, identity_config, identity_config_for, with_users,
};
use serde_json::json;

const PROFILE: &str = "{ users { profile { id email } } }";

#[tokio::test]
async fn a_sqlite_instance_copied_to_postgres_keeps_its_sessions_users_and_lockouts() {
    let config = identity_config_for(Backend::Sqlite);
    with_users(
        &config,
        &[("ada@example.com", "a long enough password", false)],
    )
    .await;
    let sqlite = TestServer::start(config.clone()).await;
    let session = sqlite.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let before = sqlite.gql(PROFILE, json!({}), Some(&session)).await;
    assert_eq!(before.status, 200, "{}", before.body);
    for _ in 0..3 {
        sqlite.login("ada@example.com", "wrong password").await;
    }
    sqlite.server.shutdown().await.unwrap();

    let target = Scratch::new(Backend::Postgres).await;
    let DatabaseUrl::Postgres(url) = &target.url else {
        unreachable!("a PostgreSQL scratch")
    };
    let report = errata_server::admin::copy(&config, "sqlite:", url)
        .await
        .unwrap();
    assert_eq!(report["rows"]["users"], 3, "{report}");
    assert!(!report.to_string().contains("password="), "{report}");

    let mut moved = config.clone();
    moved.database = url.clone();
    moved.data = errata_test_support::data_dir();
    let postgres = TestServer::start(moved).await;
    let after = postgres.gql(PROFILE, json!({}), Some(&session)).await;
    assert_eq!(after.status, 200, "{}", after.body);
    assert_eq!(after.body["data"], before.body["data"]);
    let locked = postgres
        .login("ada@example.com", "a long enough password")
        .await;
    assert_eq!(
        locked["responseResult"]["slug"], "BruteTooManyAttempts",
        "the lockout came along: {locked}"
    );
    let created = postgres
        .gql(
            "mutation($e: String!) { users { create(email: $e, passwordRaw: \"a long enough password\") { responseResult { succeeded slug } user { id } } } }",
            json!({"e": "new@example.com"}),
            Some(&session),
        )
        .await;
    let id = created.body["data"]["users"]["create"]["user"]["id"].as_i64();
    assert!(
        id.is_some_and(|id| id > 3),
        "new ids come after the copied ones: {}",
        created.body
    );
}

#[tokio::test]
async fn copying_into_a_database_that_holds_data_is_refused() {
    let config = identity_config_for(Backend::Sqlite);
    with_users(&config, &[]).await;
    let target = Scratch::new(Backend::Postgres).await;
    let DatabaseUrl::Postgres(url) = &target.url else {
        unreachable!("a PostgreSQL scratch")
    };
    errata_server::admin::copy(&config, "sqlite:", url)
        .await
        .unwrap();
    let again = errata_server::admin::copy(&config, "sqlite:", url)
        .await
        .unwrap_err();
    assert_eq!(again.id(), "cli.copy_target_not_empty");
}

#[tokio::test]
async fn a_user_the_command_line_creates_while_the_server_runs_works_at_once() {
    let mut config = identity_config();
    // A snapshot that would stay stale for the whole test without the fix.
    config.auth.directory_refresh_secs = 3600;
    with_users(&config, &[]).await;
    let s = TestServer::start(config.clone()).await;
    let admin = errata_server::admin::Admin::open(&config).await.unwrap();
    admin
        .create_user("late@example.com", "a long enough password", None, false)
        .await
        .unwrap();
    let client = admin
        .create_client("late client", &[], None, None)
        .await
        .unwrap();
    admin.close().await;
    let session = s
        .session("late@example.com", "a long enough password")
        .await;
    let profile = s.gql(PROFILE, json!({}), Some(&session)).await;
    assert_eq!(profile.status, 200, "{}", profile.body);
    assert_eq!(
        profile.body["data"]["users"]["profile"]["email"],
        "late@example.com"
    );
    let token = s
        .client
        .post(s.url("/oauth/token"))
        .basic_auth(
            client["client_id"].as_str().unwrap(),
            client["client_secret"].as_str(),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);
    let token: serde_json::Value = token.json().await.unwrap();
    let used = s
        .gql("{ __typename }", json!({}), token["access_token"].as_str())
        .await;
    assert_eq!(used.status, 200, "{}", used.body);
}
