//! Two instances behind a real nginx, deployed as the README says: one
//! PostgreSQL database, one Redis (under a key prefix of their own),
//! `trusted-proxies = ["127.0.0.1"]`, and nginx running the repository's
//! `deploy/nginx/errata.conf` in round robin. Requests go through nginx,
//! whose access log tells which instance each went to; a check about one
//! instance in particular asks it directly.
//!
//! Two instances need PostgreSQL, so these tests use it whatever
//! `ERRATA_TEST_BACKEND` says. They need Redis (`ERRATA_TEST_REDIS`) and
//! nginx (`ERRATA_TEST_NGINX`, or the one `scripts/services` installs).

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use errata_server::forwarded::TrustedProxies;
use errata_server::{Config, RateLimit};
use errata_store::Backend;
use errata_store::testing::Scratch;
use errata_test_support::faults::{Fault, FaultProxy};
use errata_test_support::nginx::Nginx;
use errata_test_support::{
    ADMIN_EMAIL, ADMIN_PASSWORD, LOGIN, Reply, TestServer, data_dir, identity_config_for,
    result_of, with_users,
};
use redis::AsyncCommands;
use rusty_fork::rusty_fork_test;
use serde_json::{Value, json};

const USER: &str = "ada@example.com";
const PASSWORD: &str = "a long enough password";
const SMALL: &str = "{ catalog { name } }";
const CREATE_TOKEN: &str = "mutation($n: String!) { createApiToken(name: $n, permissions: [\"manage:users\"], expirationDays: 30) { responseResult { succeeded slug } token { id } secret } }";
const LIST_USERS: &str = "{ users { list { id } } }";

/// Which instance a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Instance {
    A,
    B,
}

/// nginx, and what tells its upstreams apart.
#[derive(Debug)]
struct Front {
    nginx: Nginx,
    a: SocketAddr,
    b: SocketAddr,
    next_id: AtomicUsize,
}

/// The deployment: nginx in front of A and B, on one database and one
/// Redis. Fields drop in order: nginx first, the database last.
#[derive(Debug)]
struct Deployment {
    front: Front,
    a: TestServer,
    b: TestServer,
    /// The instances' key prefix in Redis.
    prefix: String,
    _database: Scratch,
}

impl Deployment {
    /// Starts both instances and nginx, with the administrator and `USER`,
    /// after `tune` has changed what the test needs. The directory is not
    /// reread on a timer during a test: what one instance learns of the
    /// other's writes comes from change notices.
    async fn start(tune: impl FnOnce(&mut Config)) -> Deployment {
        Deployment::start_with(tune, |_| {}).await
    }

    /// As [`Deployment::start`], with what `tune_a` changes for A alone.
    async fn start_with(
        tune: impl FnOnce(&mut Config),
        tune_a: impl FnOnce(&mut Config),
    ) -> Deployment {
        let database = Scratch::new(Backend::Postgres).await;
        let prefix = errata_test_support::redis_prefix();
        let mut config = identity_config_for(Backend::Sqlite);
        config.database = database.url.to_string_unredacted();
        config.redis = Some(
            errata_test_support::redis_url()
                .parse()
                .expect("a Redis URL"),
        );
        config.redis_prefix = prefix.clone();
        // Generous, so that a loaded machine does not make Redis look down.
        config.redis_timeout_ms = 2000;
        config.trusted_proxies = TrustedProxies::parse("127.0.0.1").expect("an address");
        // As the recipe says: nginx replaces Forwarded with the hop it saw.
        config.trusted_proxy_header = errata_server::forwarded::ProxyHeader::Forwarded;
        config.auth.directory_refresh_secs = 3600;
        tune(&mut config);
        with_users(&config, &[(USER, PASSWORD, false)]).await;
        let mut config_a = config.clone();
        tune_a(&mut config_a);
        let a = TestServer::start(config_a).await;
        let b = TestServer::start(Config {
            data: data_dir(),
            ..config
        })
        .await;
        let nginx = Nginx::start(a.server.addr(), b.server.addr()).await;
        Deployment {
            front: Front {
                nginx,
                a: a.server.addr(),
                b: b.server.addr(),
                next_id: AtomicUsize::new(0),
            },
            a,
            b,
            prefix,
            _database: database,
        }
    }

    /// A GraphQL request through nginx's IPv4 address.
    async fn through(
        &self,
        client: &reqwest::Client,
        body: Value,
        headers: &[(&str, &str)],
        token: Option<&str>,
    ) -> (Reply, Instance) {
        let to = self.front.nginx.addr();
        self.front.send(client, to, body, headers, token).await
    }

    /// `SMALL` through nginx.
    async fn small(&self, client: &reqwest::Client, headers: &[(&str, &str)]) -> (Reply, Instance) {
        self.through(client, json!({ "query": SMALL }), headers, None)
            .await
    }

    /// A login through nginx.
    async fn login(&self, client: &reqwest::Client, password: &str) -> (Value, Instance) {
        let body = json!({ "query": LOGIN, "variables": { "u": USER, "p": password } });
        let (r, at) = self.through(client, body, &[], None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        (result_of(&r, "authentication.login").clone(), at)
    }
}

impl Front {
    /// A GraphQL request sent to nginx at `to`, with an id of its own, and
    /// the instance nginx sent it to.
    async fn send(
        &self,
        client: &reqwest::Client,
        to: SocketAddr,
        body: Value,
        headers: &[(&str, &str)],
        token: Option<&str>,
    ) -> (Reply, Instance) {
        let id = format!("nginx-test-{}", self.next_id.fetch_add(1, Ordering::SeqCst));
        let mut request = client
            .post(format!("http://{to}/graphql"))
            .header("content-type", "application/json")
            .header("accept", "application/graphql-response+json")
            .header("x-request-id", &id)
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let reply = Reply::read(request.send().await.expect("nginx answers")).await;
        let upstream = self.nginx.upstream_of(&id).await;
        (reply, self.instance(upstream))
    }

    fn instance(&self, upstream: SocketAddr) -> Instance {
        match upstream {
            a if a == self.a => Instance::A,
            b if b == self.b => Instance::B,
            other => panic!("nginx sent a request to {other}, neither instance"),
        }
    }
}

/// A client whose requests come from `ip` (127.x.y.z).
fn client_at(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from(ip))
        .build()
        .expect("a client")
}

/// Asserts that nginx sent consecutive requests to one instance, then the
/// other.
fn alternating(instances: &[Instance]) {
    assert!(
        instances.windows(2).all(|w| w[0] != w[1]),
        "round robin alternates between A and B: {instances:?}"
    );
}

#[tokio::test]
async fn a_client_alternating_between_the_instances_gets_one_allowance_not_two() {
    let d = Deployment::start(|c| {
        // The whole allowance is the burst: one request an hour adds
        // nothing while the test runs.
        c.rate_limit = RateLimit::parse("1/h").expect("a rate");
        c.rate_limit_burst = Some(4);
    })
    .await;
    let client = client_at([127, 0, 0, 2]);
    let mut statuses = Vec::new();
    let mut instances = Vec::new();
    let mut last = None;
    for _ in 0..8 {
        let (r, at) = d.small(&client, &[]).await;
        statuses.push(r.status);
        instances.push(at);
        last = Some(r);
    }
    alternating(&instances);
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 429, 429, 429, 429],
        "one allowance of 4 for both instances, not 4 each: {instances:?}"
    );
    let r = last.expect("eight replies");
    assert_eq!((r.status, r.slug()), (429, "HttpRateLimited"), "{}", r.body);
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(
        (3000..=3600).contains(&retry),
        "one hour per request: {retry}"
    );
    assert_eq!(
        r.header("ratelimit-policy"),
        Some("\"default\";q=4;w=14400")
    );
}

#[tokio::test]
async fn nginx_names_each_client_and_no_client_names_another_address() {
    let d = Deployment::start(|c| {
        c.rate_limit = RateLimit::parse("1/h").expect("a rate");
        c.rate_limit_burst = Some(2);
    })
    .await;
    let statuses = |replies: &[(Reply, Instance)]| -> Vec<u16> {
        replies.iter().map(|(r, _)| r.status).collect()
    };

    // A client naming another address in Forwarded and X-Forwarded-For is
    // still the address nginx saw: nginx replaces Forwarded, which errata
    // reads first (a client's own would otherwise pass through nginx and
    // be believed), and appends to X-Forwarded-For.
    let x = client_at([127, 0, 0, 2]);
    let mut replies = vec![d.small(&x, &[]).await, d.small(&x, &[]).await];
    let lie = [
        ("forwarded", "for=198.51.100.7"),
        ("x-forwarded-for", "198.51.100.7"),
    ];
    replies.push(d.small(&x, &lie).await);
    assert_eq!(
        statuses(&replies),
        [200, 200, 429],
        "naming 198.51.100.7 did not give 127.0.0.2 a new allowance"
    );

    // Another client has its own allowance: errata does not count every
    // client as nginx.
    let y = client_at([127, 0, 0, 3]);
    assert_eq!(
        d.small(&y, &[]).await.0.status,
        200,
        "127.0.0.3 is another client"
    );

    // A client on nginx's own address, which errata trusts, is that
    // address whatever it writes, because nginx replaces Forwarded and
    // errata reads only that (X-Forwarded-For, appended to, would carry
    // the address the client named).
    let on_proxy = client_at([127, 0, 0, 1]);
    let mut replies = Vec::new();
    for lie in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        let forwarded = format!("for={lie}");
        let lie = [("forwarded", forwarded.as_str()), ("x-forwarded-for", lie)];
        replies.push(d.small(&on_proxy, &lie).await);
    }
    assert_eq!(
        statuses(&replies),
        [200, 200, 429],
        "a client on the proxy's address is that address, whatever it names"
    );

    // An IPv6 client: nginx writes `for="[::1]"`, which errata reads, so
    // it is a client of its own, not nginx's 127.0.0.1 spent above.
    let v6 = reqwest::Client::new();
    let mut replies = Vec::new();
    for _ in 0..3 {
        replies.push(
            d.front
                .send(
                    &v6,
                    d.front.nginx.addr_v6(),
                    json!({ "query": SMALL }),
                    &[],
                    None,
                )
                .await,
        );
    }
    assert_eq!(
        statuses(&replies),
        [200, 200, 429],
        "::1 has an allowance of its own"
    );

    // The shared limit counted the addresses nginx saw, and none a
    // client wrote.
    let mut redis = redis::Client::open(errata_test_support::redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis.keys(format!("{}rl:*", d.prefix)).await.unwrap();
    let clients: BTreeSet<String> = keys
        .iter()
        .filter_map(|k| k.strip_prefix(&format!("{}rl:default:n:", d.prefix)))
        .map(str::to_owned)
        .collect();
    for ip in ["127.0.0.1", "127.0.0.2", "127.0.0.3"] {
        assert!(clients.contains(ip), "{ip} was counted: {keys:?}");
    }
    assert!(
        !keys.iter().any(|k| k.contains("198.51.100")),
        "no address a client wrote was counted: {keys:?}"
    );
}

#[tokio::test]
async fn failed_logins_spread_over_both_instances_lock_the_account_at_the_threshold() {
    // Three failures lock the account (identity_config_for).
    let d = Deployment::start(|_| {}).await;
    let client = client_at([127, 0, 0, 2]);
    let mut instances = Vec::new();
    for i in 0..3 {
        let (result, at) = d.login(&client, &format!("wrong password {i}")).await;
        assert_eq!(result["slug"], "AuthLoginFailed", "{result}");
        instances.push(at);
    }
    alternating(&instances);
    // Each instance saw fewer than three: only a count they share locks.
    let (result, _) = d.login(&client, PASSWORD).await;
    assert_eq!(result["slug"], "BruteTooManyAttempts", "{result}");
    for (name, s) in [("A", &d.a), ("B", &d.b)] {
        let locked = s.login(USER, PASSWORD).await;
        assert_eq!(
            locked["responseResult"]["slug"], "BruteTooManyAttempts",
            "{name}: {locked}"
        );
    }
}

#[tokio::test]
async fn a_token_revoked_on_one_instance_is_refused_by_the_other_within_a_second() {
    let d = Deployment::start(|_| {}).await;
    let admin = d.a.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let r =
        d.a.gql(CREATE_TOKEN, json!({"n": "reports"}), Some(&admin))
            .await;
    let created = &r.body["data"]["createApiToken"];
    assert_eq!(created["responseResult"]["succeeded"], true, "{}", r.body);
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["token"]["id"].as_str().unwrap().to_owned();

    let mut instances = Vec::new();
    for _ in 0..2 {
        let (r, at) = d
            .through(
                &reqwest::Client::new(),
                json!({ "query": LIST_USERS }),
                &[],
                Some(&secret),
            )
            .await;
        assert_eq!(r.status, 200, "{at:?} accepts the token: {}", r.body);
        instances.push(at);
    }
    alternating(&instances);

    let r =
        d.a.gql(
            "mutation($id: String!) { revokeApiToken(id: $id) { responseResult { succeeded } } }",
            json!({"id": id}),
            Some(&admin),
        )
        .await;
    assert_eq!(
        r.body["data"]["revokeApiToken"]["responseResult"]["succeeded"], true,
        "{}",
        r.body
    );
    // A correctness deadline, not a measurement: B hears A's notice within
    // a round trip, and its directory is not reread on a timer here.
    let revoked = Instant::now();
    loop {
        let r = d.b.gql(LIST_USERS, json!({}), Some(&secret)).await;
        if r.status == 401 {
            assert_eq!(r.slug(), "TokenRevoked", "{}", r.body);
            break;
        }
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            revoked.elapsed() < Duration::from_secs(1),
            "B still accepts a token A revoked {:?} ago",
            revoked.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(revoked.elapsed() < Duration::from_secs(1));
    let mut instances = Vec::new();
    for _ in 0..2 {
        let (r, at) = d
            .through(
                &reqwest::Client::new(),
                json!({ "query": LIST_USERS }),
                &[],
                Some(&secret),
            )
            .await;
        assert_eq!((r.status, r.slug()), (401, "TokenRevoked"), "{at:?}");
        instances.push(at);
    }
    alternating(&instances);
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_persisted_query_registered_on_one_instance_runs_on_the_other() {
    let d = Deployment::start(|_| {}).await;
    let client = reqwest::Client::new();
    let query = "query ThroughNginx { catalog { name } }";
    let hash = sha256_hex(query);
    let persisted = |document: Option<&str>| {
        let mut body = json!({
            "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } }
        });
        if let Some(document) = document {
            body["query"] = Value::from(document);
        }
        body
    };
    let (r, unknown_on) = d.through(&client, persisted(None), &[], None).await;
    assert_eq!(
        r.extensions()["code"],
        "PERSISTED_QUERY_NOT_FOUND",
        "{}",
        r.body
    );
    let (r, registered_on) = d.through(&client, persisted(Some(query)), &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (r, ran_on) = d.through(&client, persisted(None), &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["catalog"]["name"], "errata");
    alternating(&[unknown_on, registered_on, ran_on]);
}

#[tokio::test]
async fn a_request_nginx_sends_to_a_stopped_instance_fails_once_and_is_not_replayed() {
    let d = Deployment::start(|_| {}).await;
    d.b.server.shutdown().await.expect("B stops");
    let client = reqwest::Client::new();
    let mut seen = Vec::new();
    for _ in 0..6 {
        // `upstream_of` panics on a request nginx passed to both.
        let (r, at) = d
            .front
            .send(
                &client,
                d.front.nginx.addr(),
                json!({ "query": SMALL }),
                &[],
                None,
            )
            .await;
        seen.push((r.status, at));
    }
    let failed: Vec<_> = seen.iter().filter(|(status, _)| *status != 200).collect();
    assert_eq!(
        failed,
        [&(502, Instance::B)],
        "one request went to B and failed; nginx then sends every request to A: {seen:?}"
    );
    assert!(
        seen.iter()
            .all(|&(status, at)| status == 502 || at == Instance::A),
        "{seen:?}"
    );
}

/// `errata_response_cache_total` by result, process-wide.
async fn cache_counts(s: &TestServer) -> (u64, u64) {
    let text = s
        .client
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let find = |prefix: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (
        find("errata_response_cache_total{result=\"hit\"}"),
        find("errata_response_cache_total{result=\"miss\"}"),
    )
}

/// Whether `s` answered `SMALL` from its response cache. Only this call
/// asks a cacheable query in the process, so the counts are its own.
async fn from_cache(s: &TestServer) -> bool {
    let (hits, misses) = cache_counts(s).await;
    let r = s.query(SMALL).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (hits_after, misses_after) = cache_counts(s).await;
    match (hits_after - hits, misses_after - misses) {
        (1, 0) => true,
        (0, 1) => false,
        other => panic!("one answer, one hit or miss: {other:?}"),
    }
}

rusty_fork_test! {
    /// Metrics are process-wide, so this test runs in a process of its own
    /// (rusty-fork), where the hits and misses counted are B's. The
    /// catalog is the only cacheable data and never changes while the
    /// server runs, so what can be checked is that a change notice from A
    /// empties B's response cache.
    #[test]
    fn a_change_on_one_instance_empties_the_others_response_cache() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let d = Deployment::start(|_| {}).await;
            let admin = d.a.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
            // The first round may also see B's listener open its channel
            // (which empties the cache once); the second sees only A's notice.
            for round in 0..2 {
                // B keeps the answer and keeps serving it: three hits in a
                // row, a notice still on its way starting the count again.
                let deadline = Instant::now() + Duration::from_secs(10);
                let mut hits = 0;
                while hits < 3 {
                    hits = if from_cache(&d.b).await { hits + 1 } else { 0 };
                    assert!(Instant::now() < deadline, "round {round}: B kept nothing");
                }
                let r = d.a.gql(CREATE_TOKEN, json!({"n": format!("round {round}")}), Some(&admin)).await;
                assert_eq!(
                    r.body["data"]["createApiToken"]["responseResult"]["succeeded"], true,
                    "{}",
                    r.body
                );
                let changed = Instant::now();
                while from_cache(&d.b).await {
                    assert!(
                        changed.elapsed() < Duration::from_secs(1),
                        "round {round}: B still answers from its cache {:?} after A's change",
                        changed.elapsed()
                    );
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        });
    }
}

/// Where the tests' PostgreSQL listens, from `ERRATA_TEST_POSTGRES`.
fn postgres_addr() -> SocketAddr {
    let url = errata_store::testing::postgres_admin_url();
    url.rsplit_once('@')
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|host| host.parse().ok())
        .unwrap_or_else(|| panic!("the tests' PostgreSQL URL is postgres://user@ip:port/db: {url}"))
}

/// A guest's `SMALL` on `s`, with a bearer token when given.
async fn small_on(s: &TestServer, token: Option<&str>) -> Reply {
    s.gql(SMALL, json!({}), token).await
}

/// Asserts that `r` is the database's 503, which clients retry.
fn database_unavailable(r: &Reply, what: &str) {
    assert_eq!(
        (r.status, r.slug()),
        (503, "DatabaseUnavailable"),
        "{what}: {}",
        r.body
    );
}

#[tokio::test]
async fn postgres_unreachable_from_one_instance_is_its_503_until_it_is_back() {
    let upstream = postgres_addr();
    let proxy = FaultProxy::start(upstream).await;
    let d = Deployment::start_with(
        |_| {},
        |a| {
            a.database = a
                .database
                .replace(&upstream.to_string(), &proxy.addr().to_string());
            a.database_timeout_ms = 500;
        },
    )
    .await;
    let admin = d.b.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let client = client_at([127, 0, 0, 2]);
    // A bound on waiting for the database, not a measurement: 500 ms of
    // database-timeout-ms, and room for a loaded machine.
    let bound = Duration::from_secs(3);

    for fault in [Fault::Refuse, Fault::Blackhole] {
        let r =
            d.b.gql(
                CREATE_TOKEN,
                json!({"n": format!("{fault:?}")}),
                Some(&admin),
            )
            .await;
        let created = &r.body["data"]["createApiToken"];
        let secret = created["secret"].as_str().unwrap_or_default().to_owned();
        let id = created["token"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            small_on(&d.a, Some(&secret)).await.status,
            200,
            "{fault:?}: A knows the token: {}",
            r.body
        );

        proxy.set(fault);
        // On A, what needs the database is its 503, within the timeout.
        let started = Instant::now();
        let r = Reply::read(d.a.client.get(d.a.url("/readyz")).send().await.unwrap()).await;
        database_unavailable(&r, &format!("{fault:?}: /readyz"));
        assert!(
            started.elapsed() < bound,
            "{fault:?}: {:?}",
            started.elapsed()
        );
        let started = Instant::now();
        let r =
            d.a.gql(LOGIN, json!({"u": USER, "p": PASSWORD}), None)
                .await;
        database_unavailable(&r, &format!("{fault:?}: a login"));
        assert_eq!(r.header("retry-after"), Some("1"), "{fault:?}");
        assert!(
            started.elapsed() < bound,
            "{fault:?}: {:?}",
            started.elapsed()
        );
        let r = d.a.gql(LIST_USERS, json!({}), Some(&admin)).await;
        database_unavailable(&r, &format!("{fault:?}: a read"));
        // What needs none still works there: bearer checks read A's
        // snapshot, and the catalog is compiled in.
        let r = small_on(&d.a, Some(&admin)).await;
        assert_eq!(r.status, 200, "{fault:?}: {}", r.body);

        // B is untouched; nginx keeps sending requests to A, whose 503 is
        // an answer, not a failure to connect.
        let mut seen = Vec::new();
        for _ in 0..2 {
            let body = json!({ "query": LOGIN, "variables": { "u": USER, "p": PASSWORD } });
            let (r, at) = d.through(&client, body, &[], None).await;
            seen.push((at, r.status));
        }
        seen.sort();
        assert_eq!(seen, [(Instance::A, 503), (Instance::B, 200)], "{fault:?}");

        // A cannot hear B's writes meanwhile: it keeps its snapshot, so a
        // token B revokes is still accepted there...
        let r = d
            .b
            .gql(
                "mutation($id: String!) { revokeApiToken(id: $id) { responseResult { succeeded } } }",
                json!({"id": id}),
                Some(&admin),
            )
            .await;
        assert_eq!(
            r.body["data"]["revokeApiToken"]["responseResult"]["succeeded"], true,
            "{}",
            r.body
        );
        assert_eq!(
            small_on(&d.a, Some(&secret)).await.status,
            200,
            "{fault:?}: A's snapshot is as it was"
        );

        // ...until the database is back: a reopened channel rereads
        // everything, a held notice arrives. The channel is retried with
        // a backoff of at most 5 s.
        proxy.set(Fault::None);
        let back = Instant::now();
        loop {
            let r = small_on(&d.a, Some(&secret)).await;
            if r.status == 401 {
                assert_eq!(r.slug(), "TokenRevoked");
                break;
            }
            assert!(
                back.elapsed() < Duration::from_secs(10),
                "{fault:?}: A never learned of the revocation"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let login = d.a.login(USER, PASSWORD).await;
        assert_eq!(
            login["responseResult"]["succeeded"], true,
            "{fault:?}: {login}"
        );
        let r = d.a.client.get(d.a.url("/readyz")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{fault:?}");
    }
}

#[tokio::test]
async fn a_page_changed_on_one_instance_is_read_new_on_the_other_within_a_second() {
    let d = Deployment::start(|_| {}).await;
    let admin = d.a.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let r = d
        .a
        .gql(
            crate::pages::CREATE,
            json!({"content": "first", "path": "shared/page", "locale": "en", "title": "First", "tags": [], "pub": true}),
            Some(&admin),
        )
        .await;
    let id = r.body["data"]["pages"]["create"]["page"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{}", r.body));
    let read = "{ pages { singleByPath(path: \"shared/page\", locale: \"en\") { title } } }";
    // B reads it, and now keeps it.
    for _ in 0..2 {
        let r = d.b.gql(read, json!({}), None).await;
        assert_eq!(
            r.body["data"]["pages"]["singleByPath"]["title"], "First",
            "{}",
            r.body
        );
    }
    let r = d
        .a
        .gql(
            "mutation($id: Int!) { pages { update(id: $id, title: \"Second\") { responseResult { succeeded } } } }",
            json!({"id": id}),
            Some(&admin),
        )
        .await;
    assert_eq!(
        r.body["data"]["pages"]["update"]["responseResult"]["succeeded"], true,
        "{}",
        r.body
    );
    // A, which wrote, never answers the old title.
    let r = d.a.gql(read, json!({}), None).await;
    assert_eq!(
        r.body["data"]["pages"]["singleByPath"]["title"], "Second",
        "{}",
        r.body
    );
    let changed = Instant::now();
    loop {
        let r = d.b.gql(read, json!({}), None).await;
        if r.body["data"]["pages"]["singleByPath"]["title"] == "Second" {
            break;
        }
        assert!(
            changed.elapsed() < Duration::from_secs(1),
            "B still answers the old title after a second: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
