//! A third review, with a fresh eye, of what several instances brought:
//! PostgreSQL behind one store, `errata copy`, change notices and the
//! fresh-token reload, `trusted-proxies`, and what instances share through
//! Redis. Each test is named after the hole it demonstrates, and fails
//! while the hole is open.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use errata_server::forwarded::TrustedProxies;
use errata_server::{Config, RateLimit};
use errata_store::testing::Scratch;
use errata_store::{Backend, DatabaseUrl};
use errata_test_support::{
    ADMIN_EMAIL, ADMIN_PASSWORD, TestServer, config, identity_config_for, result_of, with_users,
};
use redis::AsyncCommands;
use serde_json::json;

use super::world::{PASSWORD, api_token};

/// A guest's `{ __typename }` with `headers`; the status.
async fn status_with(s: &TestServer, headers: &[(&str, String)]) -> u16 {
    let mut request = s
        .client
        .post(s.url("/graphql"))
        .header("content-type", "application/json")
        .body(json!({"query": "{ __typename }"}).to_string());
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    request.send().await.unwrap().status().as_u16()
}

/// Behind a proxy that appends the client's address to `X-Forwarded-For`
/// and passes the client's other headers on (nginx with
/// `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for`, HAProxy's
/// `option forwardfor`, most cloud load balancers), the client adds a
/// `Forwarded` header of its own: errata preferred `Forwarded` whenever there
/// was one, so the client named any address it liked, and got a fresh
/// rate-limit allowance (and per-address lockout budget, and registration
/// budget) for each.
#[tokio::test]
async fn a_client_behind_an_x_forwarded_for_proxy_names_its_own_address_in_forwarded() {
    // The peer, 127.0.0.1, is the proxy; a client gets two requests.
    let s = TestServer::start(Config {
        rate_limit: RateLimit::PerSecond(1.0 / 3600.0),
        rate_limit_burst: Some(2),
        trusted_proxies: TrustedProxies::parse("127.0.0.1").unwrap(),
        ..config()
    })
    .await;
    let mut admitted = 0;
    for i in 1..=20 {
        // What the proxy forwards for the client at 198.51.100.9: the
        // X-Forwarded-For it wrote, and the client's own Forwarded.
        let status = status_with(
            &s,
            &[
                ("x-forwarded-for", "198.51.100.9".to_owned()),
                ("forwarded", format!("for=203.0.113.{i}")),
            ],
        )
        .await;
        if status == 200 {
            admitted += 1;
        }
    }
    assert!(
        admitted <= 2,
        "the client at 198.51.100.9 has two requests, and got {admitted} of 20 by naming \
         another address in a Forwarded header its proxy did not write"
    );
}

/// A persisted query was written to Redis (up to 64 KiB, for a day) before
/// it was parsed, validated or checked against the limits: anyone, without
/// an account, stores 64 KiB in Redis with every request their rate limit
/// admits (at the default 15/s, some 80 GB a day from one address), and
/// none of it could ever run. Redis's memory is every instance's: a full
/// Redis (`maxmemory` with `noeviction`) refuses the rate-limit script's
/// writes, and every instance falls back to its own allowance.
#[tokio::test]
async fn anyone_fills_redis_with_persisted_documents_that_never_parse() {
    let url = errata_test_support::redis_url();
    let prefix = errata_test_support::redis_prefix();
    let s = TestServer::start(Config {
        redis: Some(url.parse().expect("a Redis URL")),
        redis_prefix: prefix.clone(),
        redis_timeout_ms: 2000,
        ..config()
    })
    .await;
    const SENT: usize = 8;
    for i in 0..SENT {
        // Not GraphQL at all: 60 KiB of braces, different each time.
        let document = format!("{i} {}", "{".repeat(60 * 1024));
        let hash = {
            use sha2::Digest;
            sha2::Sha256::digest(document.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        let r = s
            .post(
                json!({
                    "query": document,
                    "extensions": {"persistedQuery": {"version": 1, "sha256Hash": hash}},
                }),
                "application/json",
            )
            .await;
        assert!(
            !r.has_data(),
            "the document is refused as it should be: {}",
            r.body
        );
    }
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis.keys(format!("{prefix}apq:*")).await.unwrap();
    let mut stored = 0usize;
    let mut ttl = 0i64;
    for key in &keys {
        stored += redis.strlen::<_, usize>(key).await.unwrap();
        ttl = ttl.max(redis.ttl::<_, i64>(key).await.unwrap());
    }
    if !keys.is_empty() {
        let _: () = redis.del(&keys).await.unwrap();
    }
    assert!(
        keys.is_empty(),
        "{} documents that never parsed hold {stored} bytes of Redis for another {ttl} s",
        keys.len()
    );
}

/// Seconds since the epoch, and the milliseconds into the current one.
fn wall_clock() -> (u64, u32) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    (now.as_secs(), now.subsec_millis())
}

/// Sequential scans of `groups` so far: every directory reload reads the
/// whole table once. PostgreSQL publishes a backend's counts when it
/// exits (an idle one only every ten seconds), so this is read with no
/// server connected.
async fn group_scans(url: &str) -> i64 {
    tokio::time::sleep(Duration::from_millis(1000)).await;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let scans =
        sqlx::query_scalar("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'groups'")
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    scans
}

/// `authenticate_fresh` rechecked a token refused as revoked against a
/// fresh snapshot whenever the token was issued no earlier than the second
/// the snapshot began. A reload that runs during that second begins in
/// it too, so the next request with the token reloaded again, and again:
/// every request carrying a token revoked in the second it was issued
/// (an API token created and revoked at once, a session that signs out
/// everywhere) reads every user, group, token and client, one after the
/// other under the reload lock, before the rate limiter is asked (a
/// refused bearer token is only counted after). An account that creates
/// and revokes an API token each second keeps an instance reloading its
/// whole directory back to back; every other reload (a write's, a
/// notice's, a fresh token's) queues behind them.
#[tokio::test]
async fn a_token_revoked_in_its_first_second_reloads_the_directory_on_every_request() {
    let mut config = identity_config_for(Backend::Postgres);
    config.auth.directory_refresh_secs = 3600;
    // Tight limits: they refuse most of the flood, and do not stop it.
    config.rate_limit = RateLimit::parse("1/h").unwrap();
    config.rate_limit_burst = Some(5);
    with_users(&config, &[("storm@example.com", PASSWORD, false)]).await;
    let url = config.database.clone();
    let before = group_scans(&url).await;
    let s = TestServer::start(config).await;
    let session = s.session("storm@example.com", PASSWORD).await;

    // At the start of a second: create an API token, revoke it, and send
    // it along with 40 requests.
    let (_, ms) = wall_clock();
    tokio::time::sleep(Duration::from_millis(u64::from(1005 - ms.min(1000)))).await;
    let (second, _) = wall_clock();
    let (token, id) = api_token(&s, &session, &[]).await;
    let revoked = s
        .gql(
            "mutation($id: String!) { revokeApiToken(id: $id) { responseResult { succeeded slug } } }",
            json!({"id": id}),
            Some(&session),
        )
        .await;
    assert_eq!(
        result_of(&revoked, "revokeApiToken")["succeeded"],
        true,
        "{}",
        revoked.body
    );
    let flood: Vec<_> = (0..40)
        .map(|_| {
            let request = s
                .client
                .post(s.url("/graphql"))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(json!({"query": "{ __typename }"}).to_string())
                .send();
            async move { request.await.unwrap().status().as_u16() }
        })
        .collect();
    let statuses = futures_util::future::join_all(flood).await;
    let (after_second, _) = wall_clock();
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "the revoked token is refused: {statuses:?}"
    );

    s.server.shutdown().await.unwrap();
    let reloads = group_scans(&url).await - before;
    // Starting reads the directory, and so does the notice channel once
    // open; creating and revoking reload, and their notices too; and the
    // revoked token may be checked once against a fresh snapshot.
    assert!(
        reloads <= 10,
        "40 requests with one revoked token (created at {second}, flood ended at \
         {after_second}) made {reloads} full reads of the directory"
    );
}

/// `errata copy` moves PostgreSQL's sequences past the largest id copied,
/// not past the largest id the source ever gave: a user deleted before
/// the copy (the last one created) has their id given to the next user
/// created after it. "Ids are never reused, so a token names one row for
/// ever" holds on the source and not on the copy; what is keyed by the
/// id outside the row (the `user:ID` lockout counters, the shared rate
/// limit in Redis, a lockout on the user's `changePassword` key) passes
/// to the new user, and only the random generation still tells the
/// deleted user's tokens apart.
#[tokio::test]
async fn a_copy_gives_a_deleted_users_id_to_the_next_user() {
    let config = identity_config_for(Backend::Sqlite);
    with_users(
        &config,
        &[
            ("ada@example.com", PASSWORD, false),
            ("gone@example.com", PASSWORD, false),
        ],
    )
    .await;
    let sqlite = TestServer::start(config.clone()).await;
    let admin = sqlite.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let gone_session = sqlite.session("gone@example.com", PASSWORD).await;
    let profile = sqlite
        .gql(
            "{ users { profile { id } } }",
            json!({}),
            Some(&gone_session),
        )
        .await;
    let gone = profile.body["data"]["users"]["profile"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{}", profile.body));
    let deleted = sqlite
        .gql(
            "mutation($id: Int!) { users { delete(id: $id) { responseResult { succeeded slug } } } }",
            json!({"id": gone}),
            Some(&admin),
        )
        .await;
    assert_eq!(
        result_of(&deleted, "users.delete")["succeeded"],
        true,
        "{}",
        deleted.body
    );
    sqlite.server.shutdown().await.unwrap();

    let target = Scratch::new(Backend::Postgres).await;
    let DatabaseUrl::Postgres(url) = &target.url else {
        unreachable!("a PostgreSQL scratch")
    };
    errata_server::admin::copy(&config, "sqlite:", url)
        .await
        .unwrap();
    let mut moved = config.clone();
    moved.database = url.clone();
    moved.data = errata_test_support::data_dir();
    let postgres = TestServer::start(moved).await;
    let created = postgres
        .gql(
            "mutation($e: String!, $p: String!) { users { create(email: $e, passwordRaw: $p) { responseResult { succeeded slug } user { id } } } }",
            json!({"e": "next@example.com", "p": PASSWORD}),
            Some(&admin),
        )
        .await;
    let id = created.body["data"]["users"]["create"]["user"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{}", created.body));
    assert!(
        id > gone,
        "the user created after the copy got id {id}, the id of the user deleted before it ({gone})"
    );
}

/// Group names are unique whatever their case: on SQLite through `NOCASE`,
/// which folds ASCII letters only, on PostgreSQL through a unique index on
/// `lower(name)`, which folds every letter. A SQLite wiki may hold
/// `Équipe` and `équipe`, and then `errata copy` cannot move it to
/// PostgreSQL at all: the copy fails on the index, with an internal error
/// that names neither the table nor the rows.
#[tokio::test]
async fn group_names_differing_only_in_accented_case_make_the_copy_to_postgres_fail() {
    let config = identity_config_for(Backend::Sqlite);
    with_users(&config, &[]).await;
    let sqlite = TestServer::start(config.clone()).await;
    let admin = sqlite.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for name in ["Équipe", "équipe"] {
        let r = sqlite
            .gql(
                "mutation($n: String!) { groups { create(name: $n) { responseResult { succeeded slug } } } }",
                json!({"n": name}),
                Some(&admin),
            )
            .await;
        assert_eq!(
            result_of(&r, "groups.create")["succeeded"],
            true,
            "SQLite takes {name}: {}",
            r.body
        );
    }
    sqlite.server.shutdown().await.unwrap();
    let target = Scratch::new(Backend::Postgres).await;
    let DatabaseUrl::Postgres(url) = &target.url else {
        unreachable!("a PostgreSQL scratch")
    };
    let copied = errata_server::admin::copy(&config, "sqlite:", url).await;
    assert!(
        copied.is_ok(),
        "the copy fails: {:?}",
        copied.map_err(|e| (e.id(), e.to_string()))
    );
}
