//! Behind proxies (`trusted-proxies`): from a trusted peer, the client is
//! the address the proxies name in `Forwarded` or `X-Forwarded-For`, and
//! rate limits and lockouts count that address; from any other peer, the
//! headers change nothing, so a client cannot choose its own key.

use errata_server::forwarded::{ProxyHeader, TrustedProxies};
use errata_server::{Config, RateLimit};
use errata_test_support::{LOGIN, TestServer, config, identity_config, result_of, with_users};
use serde_json::json;

/// Two requests at once per client, and then nothing for an hour.
fn limited(trusted: &str) -> Config {
    Config {
        rate_limit: RateLimit::PerSecond(1.0 / 3600.0),
        rate_limit_burst: Some(2),
        trusted_proxies: TrustedProxies::parse(trusted).unwrap(),
        ..config()
    }
}

/// As [`limited`], behind proxies that write `Forwarded`.
fn limited_forwarded(trusted: &str) -> Config {
    Config {
        trusted_proxy_header: ProxyHeader::Forwarded,
        ..limited(trusted)
    }
}

/// The status of a guest's query carrying `headers`.
async fn status(s: &TestServer, headers: &[(&str, &str)]) -> u16 {
    let mut request = s
        .client
        .post(s.url("/graphql"))
        .header("content-type", "application/json")
        .body(json!({"query": "{ __typename }"}).to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn spoofed_headers_from_an_untrusted_peer_share_one_budget() {
    for trusted in ["", "10.0.0.0/8"] {
        let s = TestServer::start(limited(trusted)).await;
        assert_eq!(
            status(&s, &[("x-forwarded-for", "198.51.100.1")]).await,
            200
        );
        assert_eq!(status(&s, &[("forwarded", "for=198.51.100.2")]).await, 200);
        assert_eq!(
            status(
                &s,
                &[
                    ("x-forwarded-for", "198.51.100.3"),
                    ("forwarded", "for=\"[2001:db8::3]\"")
                ]
            )
            .await,
            429,
            "trusting {trusted:?}: the peer 127.0.0.1 is the key, whatever it claims"
        );
    }
}

#[tokio::test]
async fn a_trusted_proxy_gives_each_forwarded_client_its_own_budget() {
    let s = TestServer::start(limited("127.0.0.1")).await;
    let a = [("x-forwarded-for", "198.51.100.1")];
    assert_eq!(status(&s, &a).await, 200);
    assert_eq!(status(&s, &a).await, 200);
    assert_eq!(status(&s, &a).await, 429);
    assert_eq!(
        status(&s, &[("x-forwarded-for", "198.51.100.2")]).await,
        200
    );
    // The proxies write X-Forwarded-For: a Forwarded header is the
    // client's own, passed through, and names nobody.
    assert_eq!(status(&s, &[("forwarded", "for=198.51.100.3")]).await, 200);
    let both = [
        ("forwarded", "for=198.51.100.4"),
        ("x-forwarded-for", "198.51.100.1"),
    ];
    assert_eq!(status(&s, &both).await, 429);
    // A client prepending another address is still the address its proxy saw.
    assert_eq!(
        status(&s, &[("x-forwarded-for", "203.0.113.77, 198.51.100.1")]).await,
        429
    );
    // A header that does not parse counts for nothing: the peer is the key.
    assert_eq!(
        status(&s, &[("x-forwarded-for", "not an address")]).await,
        200
    );
    assert_eq!(
        status(&s, &[]).await,
        429,
        "three requests from the peer itself"
    );
}

#[tokio::test]
async fn behind_proxies_that_write_forwarded_the_client_s_x_forwarded_for_is_ignored() {
    let s = TestServer::start(limited_forwarded("127.0.0.1")).await;
    let a = [("forwarded", "for=198.51.100.3")];
    assert_eq!(status(&s, &a).await, 200);
    let both = [
        ("forwarded", "for=198.51.100.3"),
        ("x-forwarded-for", "198.51.100.1"),
    ];
    assert_eq!(status(&s, &both).await, 200);
    assert_eq!(status(&s, &both).await, 429, "198.51.100.3 again");
    assert_eq!(status(&s, &[("forwarded", "for=[2001:db8::1]")]).await, 200);
    assert_eq!(
        status(&s, &[("x-forwarded-for", "198.51.100.9")]).await,
        200,
        "the peer's second request"
    );
    assert_eq!(status(&s, &[]).await, 429, "the peer's third");
}

#[tokio::test]
async fn a_chain_of_two_trusted_proxies_is_walked_to_the_client() {
    let s = TestServer::start(limited("127.0.0.1, 10.0.0.0/8")).await;
    let chain = [("x-forwarded-for", "198.51.100.1, 10.1.1.1")];
    assert_eq!(status(&s, &chain).await, 200);
    // The same client reaching the second proxy through the first: one key.
    let lines = [
        ("x-forwarded-for", "203.0.113.9, 198.51.100.1"),
        ("x-forwarded-for", "10.2.2.2"),
    ];
    assert_eq!(status(&s, &lines).await, 200);
    assert_eq!(status(&s, &chain).await, 429);
    let s = TestServer::start(limited_forwarded("127.0.0.1, 10.0.0.0/8")).await;
    let forwarded = [(
        "forwarded",
        "for=198.51.100.1;proto=https, for=10.1.1.1;by=10.2.2.2",
    )];
    assert_eq!(status(&s, &forwarded).await, 200);
    assert_eq!(status(&s, &forwarded).await, 200);
    assert_eq!(status(&s, &forwarded).await, 429);
    assert_eq!(
        status(&s, &[("forwarded", "for=198.51.100.2, for=10.1.1.1")]).await,
        200,
        "another client behind the same proxies"
    );
}

#[tokio::test]
async fn forwarded_ipv6_clients_count_by_their_64() {
    let s = TestServer::start(limited("127.0.0.1")).await;
    assert_eq!(
        status(&s, &[("x-forwarded-for", "2001:db8:1:2::1")]).await,
        200
    );
    assert_eq!(
        status(&s, &[("x-forwarded-for", "2001:db8:1:2::9")]).await,
        200
    );
    assert_eq!(
        status(&s, &[("x-forwarded-for", "[2001:db8:1:2:ffff::1]:443")]).await,
        429
    );
    assert_eq!(
        status(&s, &[("x-forwarded-for", "2001:db8:1:3::1")]).await,
        200
    );
    let s = TestServer::start(limited_forwarded("127.0.0.1")).await;
    for _ in 0..2 {
        assert_eq!(
            status(&s, &[("forwarded", "for=\"[2001:db8:1:2::1]:4711\"")]).await,
            200
        );
    }
    assert_eq!(
        status(&s, &[("forwarded", "for=\"[2001:db8:1:2:ffff::7]\"")]).await,
        429
    );
    assert_eq!(
        status(&s, &[("forwarded", "for=\"[2001:db8:1:3::1]\"")]).await,
        200
    );
}

/// A failed login for `user` as the client `forwarded_for`: its slug.
async fn failed_login(s: &TestServer, user: &str, forwarded_for: &str) -> String {
    let response = s
        .client
        .post(s.url("/graphql"))
        .header("content-type", "application/json")
        .header("x-forwarded-for", forwarded_for)
        .body(json!({"query": LOGIN, "variables": {"u": user, "p": "wrong password"}}).to_string())
        .send()
        .await
        .unwrap();
    let reply = errata_test_support::Reply::read(response).await;
    result_of(&reply, "authentication.login")["slug"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_login_lockout_by_address_follows_the_forwarded_client() {
    let mut config = identity_config();
    config.auth.brute_force.ip_free_attempts = 2;
    config.trusted_proxies = TrustedProxies::parse("127.0.0.1").unwrap();
    with_users(&config, &[]).await;
    let s = TestServer::start(config).await;
    let mut slugs = Vec::new();
    for i in 0..3 {
        slugs.push(failed_login(&s, &format!("user{i}@example.com"), "198.51.100.1").await);
    }
    assert_eq!(
        slugs,
        ["AuthLoginFailed", "AuthLoginFailed", "BruteTooManyAttempts"]
    );
    assert_eq!(
        failed_login(&s, "user9@example.com", "203.0.113.5, 198.51.100.1").await,
        "BruteTooManyAttempts",
        "the address the proxy saw stays locked whatever the client prepends"
    );
    assert_eq!(
        failed_login(&s, "user9@example.com", "198.51.100.2").await,
        "AuthLoginFailed",
        "another client behind the same proxy is not locked out"
    );
}

#[tokio::test]
async fn an_untrusted_peer_cannot_dodge_the_login_lockout_with_headers() {
    let mut config = identity_config();
    config.auth.brute_force.ip_free_attempts = 2;
    with_users(&config, &[]).await;
    let s = TestServer::start(config).await;
    let mut slugs = Vec::new();
    for i in 0..3u8 {
        slugs.push(
            failed_login(
                &s,
                &format!("user{i}@example.com"),
                &format!("198.51.100.{i}"),
            )
            .await,
        );
    }
    assert_eq!(
        slugs,
        ["AuthLoginFailed", "AuthLoginFailed", "BruteTooManyAttempts"]
    );
}
