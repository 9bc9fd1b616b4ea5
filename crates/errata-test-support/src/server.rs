//! Starting a real server on 127.0.0.1:0 for a test, and talking to it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use errata_server::{Config, RateLimit, Running};
use errata_store::Backend;
use errata_store::testing::Scratch;
use serde_json::{Value, json};

/// The backend the test servers store into: `ERRATA_TEST_BACKEND=postgres`
/// puts each on a PostgreSQL database of its own (created for it and
/// dropped after it); otherwise SQLite in its data directory. The test
/// command runs the suite once with each.
pub fn backend() -> Backend {
    match std::env::var("ERRATA_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("ERRATA_TEST_BACKEND is `{other}`: write sqlite or postgres"),
    }
}

/// Scratch databases made for configurations, by URL, until a server
/// started with one takes it (and drops it when it stops).
fn scratches() -> &'static Mutex<HashMap<String, Scratch>> {
    static SCRATCHES: OnceLock<Mutex<HashMap<String, Scratch>>> = OnceLock::new();
    SCRATCHES.get_or_init(Mutex::default)
}

/// A fresh PostgreSQL database's URL, made on a thread of its own: a
/// configuration is built synchronously, often inside a test's runtime.
fn fresh_postgres() -> String {
    let scratch = std::thread::spawn(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for making the database")
            .block_on(Scratch::new(Backend::Postgres))
    })
    .join()
    .expect("the scratch database is made");
    let url = scratch.url.to_string_unredacted();
    scratches()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(url.clone(), scratch);
    url
}

/// The Redis tests share limits through: `ERRATA_TEST_REDIS`, by default
/// the machine's.
pub fn redis_url() -> String {
    std::env::var("ERRATA_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A Redis key prefix no other test uses, so that tests running at once on
/// the one Redis never see each other's keys.
pub fn redis_prefix() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("random bytes");
    format!("errata-test:{:016x}:", u64::from_le_bytes(bytes))
}

/// A fresh data directory for one test server.
pub fn data_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("errata-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A configuration for tests: port 0, a fresh data directory, no rate limit.
pub fn config() -> Config {
    config_for(backend())
}

/// As [`config`], on `backend` whichever the run's: for tests about the
/// SQLite file itself, or run where PostgreSQL cannot be reached.
pub fn config_for(backend: Backend) -> Config {
    Config {
        addr: "127.0.0.1:0".parse().expect("valid address"),
        data: data_dir(),
        database: match backend {
            Backend::Sqlite => String::new(),
            Backend::Postgres => fresh_postgres(),
        },
        rate_limit: RateLimit::Off,
        ..Config::default()
    }
}

/// A started server and a client for it.
#[derive(Debug)]
pub struct TestServer {
    /// The server.
    pub server: Running,
    /// A client for it.
    pub client: reqwest::Client,
    /// Its data directory.
    pub data: PathBuf,
    /// Its database's URL (empty: SQLite in the data directory).
    pub database: String,
    /// Its PostgreSQL database, dropped after it.
    _scratch: Option<Scratch>,
}

impl TestServer {
    /// Starts a server with `config`.
    pub async fn start(config: Config) -> TestServer {
        let data = config.data.clone();
        let database = config.database.clone();
        let scratch = scratches()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&database);
        let server = errata_server::start(config)
            .await
            .expect("the server starts");
        TestServer {
            server,
            client: reqwest::Client::new(),
            data,
            database,
            _scratch: scratch,
        }
    }

    /// POSTs a GraphQL request with variables, and a bearer token when given.
    pub async fn gql(&self, query: &str, variables: Value, token: Option<&str>) -> Reply {
        self.gql_with(&self.client, query, variables, token).await
    }

    /// As `gql`, with another client (one bound to another local address).
    pub async fn gql_with(
        &self,
        client: &reqwest::Client,
        query: &str,
        variables: Value,
        token: Option<&str>,
    ) -> Reply {
        let mut request = client
            .post(self.url("/graphql"))
            .header("content-type", "application/json")
            .header("accept", "application/graphql-response+json")
            .body(serde_json::json!({ "query": query, "variables": variables }).to_string());
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        Reply::read(request.send().await.expect("the request is sent")).await
    }

    /// A server with the test configuration ([`config`]).
    pub async fn default() -> TestServer {
        TestServer::start(config()).await
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.addr())
    }

    /// POSTs a GraphQL request with the given Accept header.
    pub async fn post(&self, body: Value, accept: &str) -> Reply {
        let response = self
            .client
            .post(self.url("/graphql"))
            .header("content-type", "application/json")
            .header("accept", accept)
            .body(body.to_string())
            .send()
            .await
            .expect("the request is sent");
        Reply::read(response).await
    }

    /// POSTs `{ "query": query }` accepting application/graphql-response+json.
    pub async fn query(&self, query: &str) -> Reply {
        self.post(
            serde_json::json!({ "query": query }),
            "application/graphql-response+json",
        )
        .await
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body: JSON, or a string when it is not.
    pub body: Value,
}

impl Reply {
    /// Reads `response` whole; a body that is not JSON is kept as a string.
    pub async fn read(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A header's value, when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first error's extensions.
    pub fn extensions(&self) -> &Value {
        &self.body["errors"][0]["extensions"]
    }

    /// The first error's slug.
    pub fn slug(&self) -> &str {
        self.extensions()["slug"].as_str().unwrap_or("")
    }

    /// Whether the body has a `data` entry (request errors have none).
    pub fn has_data(&self) -> bool {
        self.body.get("data").is_some()
    }
}

/// The HS256 key test servers sign with, so tests can forge tokens.
pub const JWT_SECRET: &str = "errata-test-secret-with-more-than-32-bytes";
/// The administrator every identity test server has.
pub const ADMIN_EMAIL: &str = "admin@example.com";
/// Their password.
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// A test configuration with a known JWT key, registration on, a
/// brute-force policy small enough to reach in a test, and mail written
/// as `.eml` files into `DATA/mail` (the outbox's pickup directory).
pub fn identity_config() -> Config {
    identity_config_for(backend())
}

/// As [`identity_config`], on `backend` whichever the run's.
pub fn identity_config_for(backend: Backend) -> Config {
    let mut config = config_for(backend);
    config.auth.jwt_secret = Some(JWT_SECRET.to_owned());
    config.auth.registration = true;
    config.auth.brute_force.account_free_attempts = 3;
    config.auth.brute_force.ip_free_attempts = 1000;
    config.mail.pickup_dir = Some(config.data.join("mail"));
    config
}

/// Creates the administrator (and any other users, `(email, password, admin)`)
/// in the data directory before the server starts, as an operator would with
/// `errata users create`.
pub async fn with_users(config: &Config, users: &[(&str, &str, bool)]) {
    let admin = errata_server::admin::Admin::open(config)
        .await
        .expect("the data directory opens");
    admin
        .create_user(ADMIN_EMAIL, ADMIN_PASSWORD, Some("Admin"), true)
        .await
        .expect("the administrator is created");
    for (email, password, is_admin) in users {
        admin
            .create_user(email, password, None, *is_admin)
            .await
            .expect("the user is created");
    }
    admin.close().await;
}

/// The login mutation, with `$u` and `$p`.
pub const LOGIN: &str = "mutation($u: String!, $p: String!) { authentication { login(username: $u, password: $p) { responseResult { succeeded errorCode slug message retryAfter } jwt tfaRequired tfaLoginToken } } }";

impl TestServer {
    /// A server with the administrator and `users`.
    pub async fn identity(users: &[(&str, &str, bool)]) -> TestServer {
        let config = identity_config();
        with_users(&config, users).await;
        TestServer::start(config).await
    }

    /// The login mutation's result object.
    pub async fn login(&self, email: &str, password: &str) -> Value {
        let r = self
            .gql(LOGIN, serde_json::json!({"u": email, "p": password}), None)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["data"]["authentication"]["login"].clone()
    }

    /// A session token for a user who logs in without TFA.
    pub async fn session(&self, email: &str, password: &str) -> String {
        let login = self.login(email, password).await;
        login["jwt"]
            .as_str()
            .unwrap_or_else(|| panic!("login succeeds: {login}"))
            .to_owned()
    }

    /// The server's database, for tests that look into it or break it on
    /// purpose. Statements use `$N` placeholders, which both backends read.
    pub async fn database(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        let url = if self.database.is_empty() {
            format!("sqlite://{}", self.data.join("errata.db").display())
        } else {
            self.database.clone()
        };
        sqlx::AnyPool::connect(&url)
            .await
            .expect("the database opens")
    }

    /// Makes every insert into `table` fail with `message`, as a full disk
    /// or a broken table would, in the backend's own dialect.
    pub async fn break_inserts(&self, table: &str, message: &str) {
        let db = self.database().await;
        let statements = match backend() {
            Backend::Sqlite => vec![format!(
                "CREATE TRIGGER broken_{table} BEFORE INSERT ON {table} \
                 BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )],
            Backend::Postgres => vec![
                format!(
                    "CREATE FUNCTION broken_{table}() RETURNS trigger AS $$ \
                     BEGIN RAISE EXCEPTION '{message}'; END $$ LANGUAGE plpgsql"
                ),
                format!(
                    "CREATE TRIGGER broken_{table} BEFORE INSERT ON {table} \
                     FOR EACH ROW EXECUTE FUNCTION broken_{table}()"
                ),
            ],
        };
        for statement in statements {
            sqlx::query(&statement)
                .execute(&db)
                .await
                .expect("the trigger is made");
        }
        db.close().await;
    }
}

/// The `responseResult` of a mutation at `path` (`authentication.login`).
pub fn result_of<'a>(reply: &'a Reply, path: &str) -> &'a Value {
    let mut v = &reply.body["data"];
    for part in path.split('.') {
        v = &v[part];
    }
    &v["responseResult"]
}

/// Sets up TFA for `token`'s user and returns the secret.
pub async fn enable_tfa(s: &TestServer, token: &str, password: &str) -> String {
    let r = s
        .gql(
            "mutation($p: String!) { authentication { setupTFA(password: $p) { responseResult { succeeded } secret uri } } }",
            json!({"p": password}),
            Some(token),
        )
        .await;
    let setup = &r.body["data"]["authentication"]["setupTFA"];
    assert_eq!(setup["responseResult"]["succeeded"], true, "{}", r.body);
    assert!(
        setup["uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/errata:")
    );
    let secret = setup["secret"].as_str().unwrap().to_owned();
    // The previous step's code is accepted (clock drift, one step behind).
    let code = errata_identity::tfa::code_at(&secret, errata_identity::now() as u64 - 30).unwrap();
    let r = s
        .gql(
            "mutation($c: String!) { authentication { enableTFA(securityCode: $c) { responseResult { succeeded slug } } } }",
            json!({"c": code}),
            Some(token),
        )
        .await;
    assert_eq!(
        result_of(&r, "authentication.enableTFA")["succeeded"],
        true,
        "{}",
        r.body
    );
    secret
}

impl TestServer {
    /// Waits until the outbox has sent (or given up on) every mail queued
    /// so far; panics after 20 seconds.
    pub async fn outbox_drained(&self) {
        let db = self.database().await;
        let start = std::time::Instant::now();
        loop {
            let queued: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE state = 0")
                    .fetch_one(&db)
                    .await
                    .expect("the outbox is read");
            if queued == 0 {
                break;
            }
            if start.elapsed() > std::time::Duration::from_secs(20) {
                let errors: Vec<(i64, Option<String>)> =
                    sqlx::query_as("SELECT attempts, last_error FROM mail_outbox WHERE state = 0")
                        .fetch_all(&db)
                        .await
                        .unwrap_or_default();
                panic!("{queued} mails are still queued (attempts, last error): {errors:?}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        db.close().await;
    }
}

/// The verification token from the newest mail to `email` in the data
/// directory, once the outbox has delivered what was queued.
pub async fn mailed_token(s: &TestServer, email: &str) -> String {
    s.outbox_drained().await;
    let dir = s.data.join("mail");
    let mut newest: Option<(std::time::SystemTime, String)> = None;
    for entry in std::fs::read_dir(&dir).expect("mail was written") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "eml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let modified = path.metadata().unwrap().modified().unwrap();
            if text.contains(email) && newest.as_ref().is_none_or(|(t, _)| modified >= *t) {
                newest = Some((modified, text));
            }
        }
    }
    let text = newest.expect("a mail to the address").1;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("Verification token: "))
        .expect("the token is in the mail");
    line.trim().to_owned()
}
