//! Instances sharing Redis: two servers in one process, with the same
//! `redis` and key prefix, share one rate limit per client, one limit per
//! operation, and their persisted queries; with Redis broken (through a
//! proxy the test breaks), requests still succeed, each instance limits on
//! its own, and sharing comes back without a restart.
//!
//! Needs Redis at 127.0.0.1:6379, or where `ERRATA_TEST_REDIS` says. Each
//! test writes under a random key prefix, so tests running at once never
//! see each other's keys.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use errata_server::{Config, RateLimit};
use errata_test_support::faults::{Fault, FaultProxy};
use errata_test_support::{Reply, TestServer, config, redis_prefix, redis_url};
use redis::AsyncCommands;
use serde_json::{Value, json};

/// A configuration sharing Redis at `url` under `prefix`, with a timeout
/// generous enough that a loaded machine does not make Redis look down.
fn shared(url: &str, prefix: &str) -> Config {
    Config {
        redis: Some(url.parse().expect("a Redis URL")),
        redis_prefix: prefix.to_owned(),
        redis_timeout_ms: 2000,
        ..config()
    }
}

/// A configuration whose whole allowance is `burst` requests (the rate,
/// one an hour, adds nothing during a test).
fn limited(mut config: Config, burst: u32) -> Config {
    config.rate_limit = RateLimit::parse("1/h").expect("a rate");
    config.rate_limit_burst = Some(burst);
    config
}

/// A client whose requests come from `ip` (127.x.y.z): a client of its own
/// for the rate limits.
fn client_at(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from(ip))
        .build()
        .expect("a client")
}

const SMALL: &str = "{ catalog { name } }";

async fn small(s: &TestServer, client: &reqwest::Client) -> Reply {
    s.gql_with(client, SMALL, json!({}), None).await
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A persisted query from `client`: its hash, and its document when given.
async fn persisted(
    s: &TestServer,
    client: &reqwest::Client,
    query: Option<&str>,
    hash: &str,
) -> Reply {
    let mut body = json!({
        "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } }
    });
    if let Some(query) = query {
        body["query"] = Value::from(query);
    }
    let response = client
        .post(s.url("/graphql"))
        .header("content-type", "application/json")
        .header("accept", "application/graphql-response+json")
        .body(body.to_string())
        .send()
        .await
        .expect("the request is sent");
    Reply::read(response).await
}

#[tokio::test]
async fn requests_alternating_between_two_instances_share_one_allowance() {
    let prefix = redis_prefix();
    let a = TestServer::start(limited(shared(&redis_url(), &prefix), 4)).await;
    let b = TestServer::start(limited(shared(&redis_url(), &prefix), 4)).await;
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for i in 0..8 {
        let server = if i % 2 == 0 { &a } else { &b };
        statuses.push(small(server, &client).await.status);
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 429, 429, 429, 429],
        "one allowance of 4 for both instances, not 4 each"
    );
    let r = small(&b, &client).await;
    assert_eq!((r.status, r.slug()), (429, "HttpRateLimited"));
    assert_eq!(r.extensions()["code"], "TOO_MANY_REQUESTS");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(
        (3000..=3600).contains(&retry),
        "one hour per request: {retry}"
    );
    assert_eq!(r.extensions()["retryAfter"], retry);
    assert_eq!(
        r.header("ratelimit-policy"),
        Some("\"default\";q=4;w=14400")
    );
    assert_eq!(
        r.header("ratelimit"),
        Some(format!("\"default\";r=0;t={retry}").as_str())
    );
    let other = client_at([127, 0, 0, 2]);
    assert_eq!(
        small(&a, &other).await.status,
        200,
        "another client has its own allowance"
    );
}

#[tokio::test]
async fn an_operation_limit_is_shared_too_even_through_a_persisted_query() {
    let prefix = redis_prefix();
    let with_limit = || {
        let mut limits = BTreeMap::new();
        limits.insert("catalog.error".to_owned(), RateLimit::parse("1/h").unwrap());
        Config {
            operation_limits: limits,
            ..shared(&redis_url(), &prefix)
        }
    };
    let a = TestServer::start(with_limit()).await;
    let b = TestServer::start(with_limit()).await;
    let lookup = "{ catalog { error(key: \"6003\") { slug } } }";
    assert_eq!(a.query(lookup).await.status, 200);
    let r = b.query(lookup).await;
    assert_eq!(
        (r.status, r.slug()),
        (429, "HttpRateLimited"),
        "the one lookup an hour was spent on A"
    );
    assert_eq!(
        r.header("ratelimit-policy"),
        Some("\"catalog.error\";q=1;w=3600")
    );

    // A document registered on A, run by its hash on B from another
    // address: B charges it to the operation's limit as A would.
    let hash = sha256_hex(lookup);
    let registering = client_at([127, 0, 0, 4]);
    let r = persisted(&a, &registering, Some(lookup), &hash).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let other = client_at([127, 0, 0, 3]);
    let r = persisted(&b, &other, None, &hash).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["catalog"]["error"]["slug"], "PageNotFound");
    let r = persisted(&a, &other, None, &hash).await;
    assert_eq!(
        (r.status, r.slug()),
        (429, "HttpRateLimited"),
        "a hash run on B was charged like its document: {}",
        r.body
    );
}

#[tokio::test]
async fn a_persisted_query_registered_on_one_instance_runs_on_another() {
    let prefix = redis_prefix();
    let a = TestServer::start(shared(&redis_url(), &prefix)).await;
    let b = TestServer::start(shared(&redis_url(), &prefix)).await;
    let alone = TestServer::default().await;
    let client = reqwest::Client::new();
    let query = "query Shared { catalog { name } }";
    let hash = sha256_hex(query);
    let r = persisted(&b, &client, None, &hash).await;
    assert_eq!(
        r.extensions()["code"],
        "PERSISTED_QUERY_NOT_FOUND",
        "{}",
        r.body
    );
    let r = persisted(&a, &client, Some(query), &hash).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = persisted(&b, &client, None, &hash).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["catalog"]["name"], "errata");
    let r = persisted(&alone, &client, None, &hash).await;
    assert_eq!(
        r.extensions()["code"],
        "PERSISTED_QUERY_NOT_FOUND",
        "an instance without Redis knows its own documents only"
    );

    // Whatever else writes the key, B runs only the document the hash names.
    let mut redis = redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let planted = "{ catalog { name } }";
    let named = sha256_hex("{ __typename }");
    let _: () = redis
        .set(format!("{prefix}apq:{named}"), planted)
        .await
        .unwrap();
    let r = persisted(&b, &client, None, &named).await;
    assert_eq!(
        (r.status, &r.extensions()["code"]),
        (400, &json!("PERSISTED_QUERY_NOT_FOUND")),
        "{}",
        r.body
    );
}

/// `errata_redis_errors_total` in `s`'s metrics.
async fn redis_errors(s: &TestServer) -> u64 {
    let text = s
        .client
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("errata_redis_up ")),
        "whether Redis answers is a metric too"
    );
    text.lines()
        .find_map(|l| l.strip_prefix("errata_redis_errors_total "))
        .map_or(0, |v| v.trim().parse::<f64>().unwrap_or(0.0) as u64)
}

/// Sends `n` small queries from `client` to `s`, each within a second,
/// and returns how many passed.
async fn flood(s: &TestServer, client: &reqwest::Client, n: usize, what: &str) -> usize {
    let mut passed = 0;
    for _ in 0..n {
        let started = Instant::now();
        let r = small(s, client).await;
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(1),
            "{what}: a request took {took:?}"
        );
        match r.status {
            200 => passed += 1,
            429 => {}
            other => panic!("{what}: {other} {}", r.body),
        }
    }
    passed
}

#[tokio::test]
async fn with_redis_broken_requests_succeed_limited_per_instance_and_sharing_comes_back() {
    let upstream: SocketAddr = redis_url()
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .expect("the tests' Redis URL is redis://ip:port");
    let proxy = FaultProxy::start(upstream).await;
    let prefix = redis_prefix();
    let through_proxy = |url: &str| Config {
        redis_timeout_ms: 250,
        ..limited(shared(url, &prefix), 3)
    };
    let a = TestServer::start(through_proxy(&format!("redis://{}", proxy.addr()))).await;
    let b = TestServer::start(limited(shared(&redis_url(), &prefix), 3)).await;
    let mut connection = redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let query = "query Faulty { catalog { name } }";
    let hash = sha256_hex(query);
    let mut fresh = 0u8;
    let mut client = || {
        fresh += 1;
        (fresh, client_at([127, 0, 1, fresh]))
    };

    for fault in [Fault::Blackhole, Fault::Refuse, Fault::Reset] {
        let what = format!("{fault:?}");
        let errors_before = redis_errors(&a).await;
        proxy.set(fault);
        let passed = flood(&a, &client().1, 6, &what).await;
        assert!(
            (1..=3).contains(&passed),
            "{what}: A limits on its own: {passed} of 6 passed"
        );
        let errors = redis_errors(&a).await - errors_before;
        assert!(
            (1..=3).contains(&errors),
            "{what}: the first request finds Redis down, the others do not \
             ask it until a probe answers: {errors} errors for 6 requests"
        );
        let (_, registering) = client();
        let started = Instant::now();
        let r = persisted(&a, &registering, Some(query), &hash).await;
        assert_eq!(r.status, 200, "{what}: {}", r.body);
        assert!(started.elapsed() < Duration::from_secs(1), "{what}");
        let r = persisted(&a, &registering, None, &hash).await;
        assert_eq!(r.status, 200, "{what}: A knows its own documents");

        proxy.set(Fault::None);
        // A probes Redis again within a second or so; until then it
        // limits on its own, and its requests write nothing under the prefix.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (n, probe) = client();
            assert_eq!(small(&a, &probe).await.status, 200);
            let key = format!("{prefix}rl:default:n:127.0.1.{n}");
            let written: bool = connection.exists(&key).await.unwrap();
            if written {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: A never used Redis again"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (_, shared_again) = client();
        let mut statuses = Vec::new();
        for i in 0..6 {
            let server = if i % 2 == 0 { &a } else { &b };
            statuses.push(small(server, &shared_again).await.status);
        }
        assert_eq!(
            statuses,
            [200, 200, 200, 429, 429, 429],
            "{what}: shared again, without a restart"
        );
    }
    let r = persisted(&b, &client().1, None, &hash).await;
    assert_eq!(
        r.extensions()["code"],
        "PERSISTED_QUERY_NOT_FOUND",
        "what A registered while Redis was down stayed on A"
    );
}
