//! A fourth review, with a fresh eye, of review 3's fixes and of outages:
//! persisted queries registered once they prepare, the one recheck per
//! fresh token, starting while PostgreSQL is down, and what an outage is
//! answered. Each test is named after the hole it demonstrates, and fails
//! while the hole is open.

use std::time::Duration;

use errata_server::Config;
use errata_store::Backend;
use errata_test_support::{TestServer, config, identity_config_for, with_users};
use redis::AsyncCommands;
use serde_json::json;

use super::world::PASSWORD;

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Review 3's finding 2 was fixed by registering a persisted query only
/// once it parses, passes the limits and validates. A comment is not a
/// token, so `# <60 KiB>` before `{ __typename }` passes all three: anyone,
/// without an account, still stores 60 KiB in Redis for a day with each
/// request the rate limit admits, every one of them different.
#[tokio::test]
async fn anyone_still_fills_redis_with_persisted_documents_padded_with_a_comment() {
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
        let document = format!("# {i} {}\n{{ __typename }}", "x".repeat(60 * 1024));
        let hash = sha256_hex(&document);
        let r = s
            .post(
                json!({
                    "query": document,
                    "extensions": {"persistedQuery": {"version": 1, "sha256Hash": hash}},
                }),
                "application/json",
            )
            .await;
        assert!(r.has_data(), "the document runs: {}", r.body);
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
    // What one guest can still store is bounded: documents over 16 KiB
    // stay on the instance, and what is shared lives an hour.
    assert!(
        stored <= SENT * 16 * 1024 && ttl <= 3600,
        "{SENT} requests from a guest made {} documents, {stored} bytes of comments, that \
         Redis keeps for another {ttl} s",
        keys.len()
    );
}

/// `authenticate_fresh` marks a token as rechecked before its reload has
/// run, and a token already marked is refused at once. A user created by
/// another process (`errata users create`, another instance) who signs in
/// and sends a few requests at once gets `TokenRevoked` (401) for every
/// request but the one that reloads: the answer that tells a client to
/// throw its session away, for a session that is valid.
#[tokio::test]
async fn a_fresh_tokens_requests_sent_together_are_refused_as_revoked_but_one() {
    let mut config = identity_config_for(Backend::Sqlite);
    config.auth.directory_refresh_secs = 3600;
    with_users(&config, &[]).await;
    let s = TestServer::start(config.clone()).await;
    let mut refused = Vec::new();
    for round in 0..3 {
        // Made by another process, which this one hears of at its next
        // periodic reload (on SQLite, there is no notice).
        let email = format!("late{round}@example.com");
        let admin = errata_server::admin::Admin::open(&config).await.unwrap();
        admin
            .create_user(&email, PASSWORD, None, false)
            .await
            .unwrap();
        admin.close().await;
        let session = s.session(&email, PASSWORD).await;
        let together: Vec<_> = (0..16)
            .map(|_| {
                let request = s
                    .client
                    .post(s.url("/graphql"))
                    .bearer_auth(&session)
                    .header("content-type", "application/json")
                    .body(json!({"query": "{ __typename }"}).to_string())
                    .send();
                async move {
                    let r = request.await.unwrap();
                    (r.status().as_u16(), r.text().await.unwrap())
                }
            })
            .collect();
        for (status, body) in futures_util::future::join_all(together).await {
            if status != 200 {
                refused.push((round, status, body));
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        // Once the one reload is done, the session is good.
        let later = s.gql("{ __typename }", json!({}), Some(&session)).await;
        assert_eq!(later.status, 200, "{}", later.body);
    }
    assert!(
        refused.is_empty(),
        "a valid session, sent 16 times at once, was refused {} times: {:?}",
        refused.len(),
        refused.first()
    );
}

/// A server started while PostgreSQL was down, which then comes back as a
/// database a newer errata migrated, never becomes ready, as it should
/// not; but `/readyz` (what an orchestrator and an operator read) answers
/// `DatabaseUnavailable`, "the database is unreachable": an outage to wait
/// out, for a database that answers and that this binary will never use
/// (only the log, at each retry, names the cause). Started with the
/// database up, the same server refuses to start with `DatabaseNewer`.
#[tokio::test]
async fn readyz_calls_a_database_a_newer_errata_migrated_unreachable() {
    use errata_store::DatabaseUrl;
    use errata_store::testing::Scratch;
    use errata_test_support::faults::{Fault, FaultProxy};

    let scratch = Scratch::new(Backend::Postgres).await;
    let DatabaseUrl::Postgres(direct) = &scratch.url else {
        unreachable!("a PostgreSQL scratch")
    };
    let mut config = identity_config_for(Backend::Sqlite);
    config.database = direct.clone();
    with_users(&config, &[]).await;
    // A newer errata migrates it further.
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(direct).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99, 'from the future', TRUE, '\\x00'::bytea, 0)",
    )
    .execute(&db)
    .await
    .unwrap();
    db.close().await;
    let proxy = FaultProxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let name = direct.rsplit('/').next().unwrap();
    config.database = format!("postgres://postgres@{}/{name}", proxy.addr());
    config.database_timeout_ms = 500;
    proxy.set(Fault::Refuse);
    let s = TestServer::start(config).await;
    proxy.set(Fault::None);
    // bring_up has tried again (200 ms, 400 ms, 800 ms, ...).
    tokio::time::sleep(Duration::from_secs(4)).await;
    let ready = s.client.get(s.url("/readyz")).send().await.unwrap();
    let status = ready.status().as_u16();
    let body = ready.text().await.unwrap();
    assert_ne!(status, 200, "{body}");
    assert!(
        body.contains("DatabaseNewer"),
        "the database answers, at a schema this binary refuses; /readyz says {status}: {body}"
    );
}
