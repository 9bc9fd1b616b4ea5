//! Holes on the host and the wire: a data directory other local users can
//! read, token requests whose credentials or parameters read differently
//! from what the client sent, IPv6 clients that get around limits by
//! rotating through their /64.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use errata_test_support::{LOGIN, Reply, TestServer, identity_config, result_of, with_users};

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
    // About the SQLite file in the data directory, whichever the run's backend.
    let config = errata_test_support::identity_config_for(errata_store::Backend::Sqlite);
    let data = config.data.clone();
    assert!(!data.exists());
    let s = TestServer::start(config).await;
    register(&s, "new@example.com").await;
    s.outbox_drained().await;
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
        let config = errata_test_support::config();
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
    let mut config = errata_test_support::config_for(errata_store::Backend::Sqlite);
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

/// Tells a test binary re-executed inside a network namespace that it is there.
const INSIDE: &str = "ERRATA_TEST_NETNS";
/// The /64 whose addresses `fd00:e77a::1` to `::5` the namespace's loopback holds.
const PREFIX: &str = "fd00:e77a::";

/// A network namespace whose loopback holds five addresses of one /64,
/// deleted when dropped, even after a failure.
struct Namespace {
    name: String,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("`ip` (iproute2) cannot run: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Namespace {
    fn create() -> Namespace {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "errata-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        if let Err(e) = ip(&["netns", "add", &name]) {
            panic!(
                "this test needs its own network namespace and could not make one ({e}); \
                 run it as root with iproute2 installed"
            );
        }
        let namespace = Namespace { name };
        let set_up = ip(&["-n", &namespace.name, "link", "set", "lo", "up"]).and_then(|()| {
            (1..=5).try_for_each(|i| {
                ip(&[
                    "-n",
                    &namespace.name,
                    "addr",
                    "add",
                    &format!("{PREFIX}{i}/64"),
                    "dev",
                    "lo",
                    "nodad",
                ])
            })
        });
        if let Err(e) = set_up {
            panic!("the namespace {} could not be set up: {e}", namespace.name);
        }
        namespace
    }

    /// Runs the test `name` of this binary again, inside the namespace.
    fn run(&self, name: &str) {
        let exe = std::env::current_exe().expect("the test binary's path");
        let out = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .arg(exe)
            .args(["--exact", name])
            .env(INSIDE, &self.name)
            .output()
            .expect("`ip netns exec` runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // A name matching no test would run nothing and exit 0.
        assert!(
            out.status.success() && stdout.contains(&format!("test {name} ... ok")),
            "inside {}: {}\n{stdout}\n{stderr}",
            self.name,
            out.status
        );
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        if let Err(e) = ip(&["netns", "del", &self.name]) {
            eprintln!("{e}");
        }
    }
}

/// Runs `body` inside a fresh network namespace: this test, `name`,
/// creates it and runs again in it, and the run inside calls `body`.
fn in_namespace<F: Future<Output = ()>>(name: &str, body: impl FnOnce() -> F) {
    let path = match module_path!().split_once("::") {
        Some((_, module)) => format!("{module}::{name}"),
        None => name.to_owned(),
    };
    if std::env::var_os(INSIDE).is_some() {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(body());
    } else {
        Namespace::create().run(&path);
    }
}

fn address(i: u8) -> std::net::IpAddr {
    format!("{PREFIX}{i}").parse().expect("an IPv6 address")
}

/// A client whose connections come from `PREFIX` `i`.
fn client_from(i: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address(i))
        .build()
        .expect("a client")
}

/// A test configuration listening on the namespace's first address. The
/// namespace has its own loopback, where the machine's PostgreSQL is not:
/// these tests are about addresses, and store into SQLite.
fn namespace_config() -> errata_server::Config {
    errata_server::Config {
        addr: std::net::SocketAddr::new(address(1), 0),
        ..errata_test_support::identity_config_for(errata_store::Backend::Sqlite)
    }
}

/// Two requests an hour, two at once: a third within the test is refused
/// unless it counts against someone else.
const SLOW: errata_server::RateLimit = errata_server::RateLimit::PerSecond(2.0 / 3600.0);

#[test]
fn ipv6_clients_rotating_through_their_64_get_past_the_rate_limits() {
    in_namespace(
        "ipv6_clients_rotating_through_their_64_get_past_the_rate_limits",
        || async {
            let mut config = namespace_config();
            config.rate_limit = SLOW;
            config.rate_limit_burst = Some(2);
            let s = TestServer::start(config).await;
            for i in [2, 3] {
                let r = s
                    .gql_with(&client_from(i), "{ __typename }", json!({}), None)
                    .await;
                assert_eq!(r.status, 200, "from {}: {}", address(i), r.body);
            }
            let r = s
                .gql_with(&client_from(4), "{ __typename }", json!({}), None)
                .await;
            assert_eq!(
                (r.status, r.slug()),
                (429, "HttpRateLimited"),
                "a third address of the /64 is the same client: {}",
                r.body
            );
            // The token endpoint counts against the same key.
            let r = Reply::read(
                client_from(5)
                    .post(s.url("/oauth/token"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("grant_type=client_credentials")
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(r.status, 429, "{}", r.body);
            assert_eq!(r.body["error"], "temporarily_unavailable", "{}", r.body);

            // Per-operation limits too (one login an hour, one at once).
            let mut config = namespace_config();
            config
                .operation_limits
                .insert("authentication.login".to_owned(), SLOW);
            let s = TestServer::start(config).await;
            let login = |i: u8| {
                let s = &s;
                async move {
                    s.gql_with(
                        &client_from(i),
                        LOGIN,
                        json!({"u": "nobody@example.com", "p": "a wrong password"}),
                        None,
                    )
                    .await
                }
            };
            assert_eq!(login(2).await.status, 200);
            let r = login(3).await;
            assert_eq!((r.status, r.slug()), (429, "HttpRateLimited"), "{}", r.body);
        },
    );
}

#[test]
fn ipv6_clients_rotating_through_their_64_get_past_the_login_lockout_by_address() {
    in_namespace(
        "ipv6_clients_rotating_through_their_64_get_past_the_login_lockout_by_address",
        || async {
            let mut config = namespace_config();
            config.auth.brute_force.ip_free_attempts = 3;
            let s = TestServer::start(config).await;
            let mut slugs = Vec::new();
            for i in 2..=5 {
                let r = s
                    .gql_with(
                        &client_from(i),
                        LOGIN,
                        json!({"u": format!("user{i}@example.com"), "p": "a wrong password"}),
                        None,
                    )
                    .await;
                slugs.push(result_of(&r, "authentication.login")["slug"].clone());
            }
            assert_eq!(
                slugs,
                [
                    "AuthLoginFailed",
                    "AuthLoginFailed",
                    "AuthLoginFailed",
                    "BruteTooManyAttempts"
                ],
                "the fourth address of the /64 is the same attacker"
            );
        },
    );
}

#[tokio::test]
async fn ipv6_loopback_is_rate_limited_as_one_client() {
    let mut config = errata_test_support::config();
    config.addr = "[::1]:0".parse().unwrap();
    config.rate_limit = SLOW;
    config.rate_limit_burst = Some(2);
    let s = TestServer::start(config).await;
    let client = reqwest::Client::builder()
        .local_address("::1".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    for _ in 0..2 {
        let r = s.gql_with(&client, "{ __typename }", json!({}), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = s.gql_with(&client, "{ __typename }", json!({}), None).await;
    assert_eq!((r.status, r.slug()), (429, "HttpRateLimited"), "{}", r.body);
}
